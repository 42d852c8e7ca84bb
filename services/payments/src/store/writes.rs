//! The statements every change is made of, inside the caller's database
//! transaction: row locks, transaction and link rows, journal postings
//! with their balances, outbox events, and the reversal that takes money
//! back from an account already paid.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error,
    auth::Scope,
    money::{Currency, Money},
    outbox,
};
use rust_decimal::Decimal;
use serde_json::Map;
use sqlx::{PgConnection, Postgres, Transaction as DbTransaction};
use uuid::Uuid;

use super::rows::{TRANSACTION_COLUMNS, read_transaction};
use crate::{
    convert,
    domain::{Allocation, LedgerLink, MethodKind, PayoutMethod, Posting, Status, Transaction},
};

/// Transaction `id` of the scope, locked for the rest of `tx`.
pub(super) async fn lock(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    id: Uuid,
) -> Result<Transaction, Error> {
    let sql = format!(
        "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE id = $1 AND partner_id = $2 AND livemode = $3 FOR UPDATE"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(read_transaction).transpose()?.ok_or(Error::NotFound { resource: "Transaction" })
}

pub(super) async fn insert_row(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    t: &Transaction,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO transactions (id, partner_id, livemode, type, status, status_code, status_message, currency, \
         amount, fee, cust_conv_fee, refunded_amount, funding_status, risk_score, risk_flag, customer_id, \
         payment_method_id, method_kind, processing_id, payment_intent_id, description, order_number, attrs, \
         connector, authorization_ref, settles_at, settled_at, prior_attempt_ids, delivery_fee, delivery_date, \
         payout_method, created_at, modified_at, allocations, initiator) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
         $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35)",
    )
    .bind(t.id)
    .bind(scope.partner_id)
    .bind(scope.livemode)
    .bind(t.kind.as_str())
    .bind(t.status.as_str())
    .bind(&t.status_code)
    .bind(&t.status_message)
    .bind(t.amount.currency.code())
    .bind(t.amount.amount)
    .bind(t.fee.amount)
    .bind(t.cust_conv_fee.amount)
    .bind(t.refunded)
    .bind(t.funding.as_str())
    .bind(t.risk.map(|r| r.score))
    .bind(t.risk.map(|r| r.flag.as_str()))
    .bind(t.customer_id)
    .bind(t.payment_method_id)
    .bind(t.method_kind.map(MethodKind::as_str))
    .bind(t.processing_id)
    .bind(t.payment_intent_id)
    .bind(t.description.as_deref())
    .bind(t.order_number.as_deref())
    .bind(sqlx::types::Json(&t.attrs))
    .bind(&t.connector)
    .bind(t.authorization_ref.as_deref())
    .bind(t.settles_at)
    .bind(t.settled_at)
    .bind(&t.prior_attempts)
    .bind(t.delivery_fee.amount)
    .bind(t.delivery_date)
    .bind(t.payout_method.map(PayoutMethod::as_str))
    .bind(t.created_at)
    .bind(t.modified_at)
    .bind(Allocation::to_json(&t.allocations))
    .bind(if t.automatic_billing { "automatic_billing" } else { "api" })
    .execute(&mut **tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("transactions_one_charge_per_intent") => {
            Error::Conflict("The payment intent was already charged".to_owned())
        }
        _ => e.into(),
    })?;
    Ok(())
}

/// Writes what may change of a transaction: status, funding, refunds,
/// descriptive fields, and what a pending payment learns when it finishes
/// (its fees, risk and authorization).
pub(super) async fn update_row(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    t: &Transaction,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE transactions SET status = $4, status_code = $5, status_message = $6, refunded_amount = $7, \
         funding_status = $8, description = $9, order_number = $10, attrs = $11, settles_at = $12, \
         settled_at = $13, modified_at = $14, rejected_on = $15, fee = $16, cust_conv_fee = $17, \
         delivery_fee = $18, risk_score = $19, risk_flag = $20, authorization_ref = $21, allocations = $22, \
         settlement_held = $23 WHERE id = $1 AND partner_id = $2 AND livemode = $3",
    )
    .bind(t.id)
    .bind(scope.partner_id)
    .bind(scope.livemode)
    .bind(t.status.as_str())
    .bind(&t.status_code)
    .bind(&t.status_message)
    .bind(t.refunded)
    .bind(t.funding.as_str())
    .bind(t.description.as_deref())
    .bind(t.order_number.as_deref())
    .bind(sqlx::types::Json(&t.attrs))
    .bind(t.settles_at)
    .bind(t.settled_at)
    .bind(t.modified_at)
    .bind(t.rejected_on)
    .bind(t.fee.amount)
    .bind(t.cust_conv_fee.amount)
    .bind(t.delivery_fee.amount)
    .bind(t.risk.map(|r| r.score))
    .bind(t.risk.map(|r| r.flag.as_str()))
    .bind(t.authorization_ref.as_deref())
    .bind(Allocation::to_json(&t.allocations))
    .bind(t.settlement_held)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_link(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    l: &LedgerLink,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO transaction_ledgers (id, partner_id, livemode, transaction_id, assoc_transaction_id, \
         entry_type, currency, amount, attrs, created_at, modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(l.id)
    .bind(scope.partner_id)
    .bind(scope.livemode)
    .bind(l.transaction_id)
    .bind(l.assoc_transaction_id)
    .bind(l.entry_type.as_str())
    .bind(l.amount.currency.code())
    .bind(l.amount.amount)
    .bind(sqlx::types::Json(&l.attrs))
    .bind(l.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes a posting's entries and moves the balances of its accounts.
pub(super) async fn post(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    transaction: Uuid,
    posting: &Posting,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    let posting_id = Uuid::now_v7();
    for entry in posting.entries() {
        let account = entry.account.name();
        let currency = entry.amount.currency.code();
        sqlx::query(
            "INSERT INTO ledger_entries (posting_id, partner_id, livemode, transaction_id, account, currency, \
             amount, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(posting_id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(transaction)
        .bind(&account)
        .bind(currency)
        .bind(entry.amount.amount)
        .bind(at)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO ledger_balances (partner_id, livemode, account, currency, balance, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (partner_id, livemode, account, currency) \
             DO UPDATE SET balance = ledger_balances.balance + EXCLUDED.balance, modified_at = EXCLUDED.modified_at",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(&account)
        .bind(currency)
        .bind(entry.amount.amount)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(super) async fn record(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    transaction: &Transaction,
    event: &str,
) -> Result<(), Error> {
    let data = convert::event_data(transaction);
    outbox::record_change(tx, scope, "transaction", event, transaction.id, data, transaction.modified_at)
        .await
}
/// Links `from` and `to` both ways at `at`: `from`'s link to `to` carries
/// `to_amount`, `to`'s link back the negative of `from_amount`. Answers
/// both links (from's, to's).
pub(super) async fn link_both(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    from: &Transaction,
    to: &Transaction,
    to_amount: Money,
    from_amount: Money,
    at: DateTime<Utc>,
) -> Result<(LedgerLink, LedgerLink), Error> {
    let link = |transaction: &Transaction, assoc: &Transaction, amount: Money| LedgerLink {
        id: Uuid::now_v7(),
        livemode: scope.livemode,
        transaction_id: transaction.id,
        assoc_transaction_id: assoc.id,
        entry_type: assoc.kind,
        amount,
        attrs: Map::new(),
        created_at: at,
    };
    let forth = link(from, to, to_amount);
    let back = link(to, from, Money::new(-from_amount.amount, from_amount.currency));
    for l in [&forth, &back] {
        insert_link(tx, scope, l).await?;
    }
    Ok((forth, back))
}

/// Takes `amount` back from the processing account of `payment`, which was
/// already paid out: a `reversal` linked to the payment, posted and
/// recorded.
pub(super) async fn reverse(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    payment: &Transaction,
    amount: Money,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    let (mut reversal, posting) = payment.reversal(amount, at)?;
    insert_row(tx, scope, &reversal).await?;
    // The payment sees the reversal as money coming back (positive).
    let negative = Money::new(-amount.amount, amount.currency);
    let (link, _) = link_both(tx, scope, &reversal, payment, negative, negative, at).await?;
    reversal.ledger = vec![link];
    post(tx, scope, reversal.id, &posting, at).await?;
    record(tx, scope, &reversal, "reversal").await
}

// === Billing notices (read and delivered in `notices`) ===

/// What becomes of a payment's allocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Settlement {
    /// The payment was approved: they pay their invoices.
    Apply,
    /// The payment was declined, voided before anything moved, or never
    /// made: they are released.
    Release,
    /// Money of the payment went back: that much is owed again (`None`:
    /// all of it).
    Reverse(Option<Decimal>),
    /// A chargeback of the payment was overturned: that much of what went
    /// back is paid again.
    Reapply(Decimal),
}

/// The settlement of a payment's allocations once its attempt finished.
pub(crate) fn of_outcome(payment: &Transaction) -> Settlement {
    match payment.status {
        Status::Declined | Status::Voided => Settlement::Release,
        _ => Settlement::Apply,
    }
}

/// Writes the notice of `settlement` for `payment` (which took the money
/// back: `reversing`) through `conn`, if the payment pays invoices.
pub(super) async fn notify(
    conn: &mut PgConnection,
    scope: Scope,
    payment: &Transaction,
    settlement: Settlement,
    reversing: Option<Uuid>,
) -> Result<(), Error> {
    if payment.allocations.is_empty() {
        return Ok(());
    }
    insert_notice(conn, scope, (payment.id, payment.amount.currency), settlement, reversing).await
}

/// Writes the notice of `settlement` for payment `transaction` (in
/// `currency`) through `conn`.
pub(super) async fn insert_notice(
    conn: &mut PgConnection,
    scope: Scope,
    (transaction, currency): (Uuid, Currency),
    settlement: Settlement,
    reversing: Option<Uuid>,
) -> Result<(), Error> {
    let (word, amount) = match settlement {
        Settlement::Apply => ("apply", None),
        Settlement::Release => ("release", None),
        Settlement::Reverse(amount) => ("reverse", amount),
        Settlement::Reapply(amount) => ("reapply", Some(amount)),
    };
    sqlx::query(
        "INSERT INTO billing_notices (id, partner_id, livemode, transaction_id, settlement, amount, currency, \
         reversing_transaction_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())",
    )
    .bind(Uuid::now_v7())
    .bind(scope.partner_id)
    .bind(scope.livemode)
    .bind(transaction)
    .bind(word)
    .bind(amount)
    .bind(currency.code())
    .bind(reversing)
    .execute(conn)
    .await?;
    Ok(())
}
