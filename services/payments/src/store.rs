//! The SQL of the payments schema: transactions, their ledger links, the
//! double-entry journal with its balances, deposits and aftermaths.
//!
//! Every money movement is one database transaction that writes the
//! transaction row, its journal posting (and balances) and its outbox event.
//! Changes to a payment lock its row first (`FOR UPDATE`), so concurrent
//! refunds, captures and voids of one payment run one after another.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use paymesh_kit::{
    Error,
    auth::Scope,
    config::ListLimits,
    money::{Currency, Money},
    outbox,
    query::{Column, ColumnType, Listing, Resource, list},
};
use paymesh_proto::common::v1::ListQuery;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use sqlx::{PgPool, Postgres, Row, Transaction as DbTransaction, postgres::PgRow};
use uuid::Uuid;

use crate::{
    connector::{AchReturn, Aftermath},
    domain::{
        FundingStatus, Kind, MethodKind, PayoutMethod, Posting, Status, deposit_share, pays_out_on,
        returned_at,
    },
};

/// A transaction as stored.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Transaction {
    pub(crate) id: Uuid,
    pub(crate) livemode: bool,
    pub(crate) kind: Kind,
    pub(crate) status: Status,
    pub(crate) status_code: String,
    pub(crate) status_message: String,
    pub(crate) amount: Money,
    pub(crate) fee: Money,
    pub(crate) cust_conv_fee: Money,
    /// Intent payments: the expedited-delivery fees the payer paid.
    pub(crate) delivery_fee: Money,
    pub(crate) refunded: Decimal,
    pub(crate) funding: FundingStatus,
    pub(crate) risk_score: Option<Decimal>,
    pub(crate) risk_flag: Option<String>,
    pub(crate) customer_id: Option<Uuid>,
    pub(crate) payment_method_id: Option<Uuid>,
    pub(crate) method_kind: Option<MethodKind>,
    pub(crate) processing_id: Option<Uuid>,
    pub(crate) payment_intent_id: Option<Uuid>,
    pub(crate) description: Option<String>,
    pub(crate) order_number: Option<String>,
    pub(crate) attrs: Map<String, Value>,
    pub(crate) connector: String,
    pub(crate) authorization_ref: Option<String>,
    pub(crate) settles_at: Option<DateTime<Utc>>,
    /// When it became processed (deposits take what settled before the day).
    pub(crate) settled_at: Option<DateTime<Utc>>,
    /// Bank payments: the day the bank returned the debit.
    pub(crate) rejected_on: Option<NaiveDate>,
    /// A cascaded payment: the declined attempts before this one.
    pub(crate) prior_attempts: Vec<Uuid>,
    /// Intent payments: the day the recipient is paid; deposits: the day
    /// paid out.
    pub(crate) delivery_date: Option<NaiveDate>,
    /// Intent payments and deposits: how the recipient is paid.
    pub(crate) payout_method: Option<PayoutMethod>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) modified_at: DateTime<Utc>,
    /// The ledger links, oldest first (read with the transaction).
    pub(crate) ledger: Vec<LedgerLink>,
}

/// A link between two transactions, seen from `transaction_id`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LedgerLink {
    pub(crate) id: Uuid,
    pub(crate) livemode: bool,
    pub(crate) transaction_id: Uuid,
    pub(crate) assoc_transaction_id: Uuid,
    pub(crate) entry_type: String,
    pub(crate) amount: Money,
    pub(crate) attrs: Map<String, Value>,
    pub(crate) created_at: DateTime<Utc>,
}

impl Transaction {
    /// A new processed transaction of `kind` for `amount` at `now`, handled
    /// by `connector`: no fees, parties, labels or links; nothing refunded.
    /// The caller sets what applies.
    pub(crate) fn new(
        livemode: bool,
        kind: Kind,
        amount: Money,
        connector: &str,
        now: DateTime<Utc>,
    ) -> Self {
        let zero = Money::zero(amount.currency);
        Self {
            id: Uuid::now_v7(),
            livemode,
            kind,
            status: Status::Processed,
            status_code: String::new(),
            status_message: String::new(),
            amount,
            fee: zero,
            cust_conv_fee: zero,
            delivery_fee: zero,
            refunded: Decimal::ZERO,
            funding: FundingStatus::Captured,
            risk_score: None,
            risk_flag: None,
            customer_id: None,
            payment_method_id: None,
            method_kind: None,
            processing_id: None,
            payment_intent_id: None,
            description: None,
            order_number: None,
            attrs: Map::new(),
            connector: connector.to_owned(),
            authorization_ref: None,
            settles_at: None,
            settled_at: Some(now),
            rejected_on: None,
            prior_attempts: Vec::new(),
            delivery_date: None,
            payout_method: None,
            created_at: now,
            modified_at: now,
            ledger: Vec::new(),
        }
    }

    /// A new processed transaction of `kind` for `amount` that follows
    /// `from` (a refund, reversal or chargeback of a payment): the same
    /// customer, method and processing account.
    fn following(
        from: &Self,
        kind: Kind,
        amount: Money,
        (code, message): (&str, &str),
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            status_code: code.to_owned(),
            status_message: message.to_owned(),
            customer_id: from.customer_id,
            payment_method_id: from.payment_method_id,
            method_kind: from.method_kind,
            processing_id: from.processing_id,
            ..Self::new(from.livemode, kind, amount, &from.connector, now)
        }
    }

    /// What the payer paid on top of the recipient's amount, which the
    /// platform keeps: the convenience fee and any delivery fee.
    pub(crate) fn payer_fees(&self) -> Money {
        Money::new(self.cust_conv_fee.amount + self.delivery_fee.amount, self.amount.currency)
    }

    /// What a deposit pays out for this transaction (see [`deposit_share`]).
    fn deposit_share(&self, netted: bool) -> Decimal {
        deposit_share(
            self.kind,
            self.amount.amount,
            self.refunded,
            self.fee.amount,
            self.payer_fees().amount,
            netted,
        )
    }

    /// The processing account of a payment (every stored payment has one).
    pub(crate) fn processing(&self) -> Result<Uuid, Error> {
        self.processing_id.ok_or_else(|| {
            Error::Internal(anyhow::anyhow!("transaction {} has no processing account", self.id))
        })
    }
}

const STATUS_WORDS: &[&str] = &["authorized", "processing", "processed", "declined", "voided", "rejected"];
const KIND_WORDS: &[&str] =
    &["payment", "refund", "deposit", "reversal", "chargeback", "chargeback_reversal"];

/// What callers may filter, order, select and group transactions by.
static TRANSACTIONS: Resource = Resource {
    name: "transaction",
    table: "transactions",
    select: TRANSACTION_COLUMNS,
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "type", sql: "type", ty: ColumnType::Enum(KIND_WORDS) },
        Column { name: "status", sql: "status", ty: ColumnType::Enum(STATUS_WORDS) },
        Column { name: "status_code", sql: "status_code", ty: ColumnType::Text },
        Column { name: "amount", sql: "amount", ty: ColumnType::Decimal },
        Column { name: "fee", sql: "fee", ty: ColumnType::Decimal },
        Column { name: "cust_conv_fee", sql: "cust_conv_fee", ty: ColumnType::Decimal },
        Column { name: "delivery_fee", sql: "delivery_fee", ty: ColumnType::Decimal },
        Column { name: "delivery_date", sql: "delivery_date", ty: ColumnType::Date },
        Column { name: "rejected_on", sql: "rejected_on", ty: ColumnType::Date },
        Column {
            name: "payout_method",
            sql: "payout_method",
            ty: ColumnType::Enum(&["ach", "wire", "check", "eft"]),
        },
        Column { name: "refunded_amount", sql: "refunded_amount", ty: ColumnType::Decimal },
        Column { name: "currency", sql: "currency", ty: ColumnType::Enum(&["USD", "CAD"]) },
        Column {
            name: "funding_status",
            sql: "funding_status",
            ty: ColumnType::Enum(&["pending", "captured", "batched", "refunded", "reversed"]),
        },
        Column {
            name: "risk_flag",
            sql: "risk_flag",
            ty: ColumnType::Enum(&["allowed", "in_review", "denied"]),
        },
        Column { name: "risk_score", sql: "risk_score", ty: ColumnType::Decimal },
        Column { name: "customer_id", sql: "customer_id", ty: ColumnType::Id },
        Column { name: "payment_method_id", sql: "payment_method_id", ty: ColumnType::Id },
        Column { name: "processing_id", sql: "processing_id", ty: ColumnType::Id },
        Column { name: "payment_intent_id", sql: "payment_intent_id", ty: ColumnType::Id },
        Column { name: "description", sql: "description", ty: ColumnType::Text },
        Column { name: "order_number", sql: "order_number", ty: ColumnType::Text },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

const TRANSACTION_COLUMNS: &str = "id, livemode, type, status, status_code, status_message, currency, amount, fee, \
     cust_conv_fee, refunded_amount, funding_status, risk_score, risk_flag, customer_id, payment_method_id, \
     method_kind, processing_id, payment_intent_id, description, order_number, attrs, connector, authorization_ref, \
     settles_at, settled_at, rejected_on, prior_attempt_ids, delivery_fee, delivery_date, payout_method, created_at, \
     modified_at";

/// What callers may filter ledger links by.
static LEDGERS: Resource = Resource {
    name: "transaction_ledger",
    table: "transaction_ledgers",
    select: LEDGER_COLUMNS,
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "transaction_id", sql: "transaction_id", ty: ColumnType::Id },
        Column { name: "assoc_transaction_id", sql: "assoc_transaction_id", ty: ColumnType::Id },
        Column { name: "entry_type", sql: "entry_type", ty: ColumnType::Enum(KIND_WORDS) },
        Column { name: "amount", sql: "amount", ty: ColumnType::Decimal },
        Column { name: "currency", sql: "currency", ty: ColumnType::Enum(&["USD", "CAD"]) },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

const LEDGER_COLUMNS: &str =
    "id, livemode, transaction_id, assoc_transaction_id, entry_type, currency, amount, attrs, created_at";

fn corrupt(what: &str) -> Error {
    Error::Internal(anyhow::anyhow!("unreadable {what} stored in the payments schema"))
}

fn currency_of(row: &PgRow) -> Result<Currency, Error> {
    let code: String = row.try_get("currency")?;
    Currency::parse(&code).map_err(|_| corrupt("currency"))
}

/// The partner and mode of a row read across partners (the sweep's).
fn scope_of(row: &PgRow) -> Result<Scope, sqlx::Error> {
    Ok(Scope { partner_id: row.try_get("partner_id")?, livemode: row.try_get("livemode")? })
}

fn read_transaction(row: &PgRow) -> Result<Transaction, Error> {
    let currency = currency_of(row)?;
    let money = |column: &str| -> Result<Money, Error> {
        let amount: Decimal = row.try_get(column)?;
        Ok(Money::new(amount, currency))
    };
    let word = |column: &str| -> Result<String, Error> { Ok(row.try_get::<String, _>(column)?) };
    let attrs: sqlx::types::Json<Map<String, Value>> = row.try_get("attrs")?;
    let method_kind: Option<String> = row.try_get("method_kind")?;
    let payout_method: Option<String> = row.try_get("payout_method")?;
    Ok(Transaction {
        id: row.try_get("id")?,
        livemode: row.try_get("livemode")?,
        kind: Kind::parse(&word("type")?).ok_or_else(|| corrupt("type"))?,
        status: Status::parse(&word("status")?).ok_or_else(|| corrupt("status"))?,
        status_code: row.try_get("status_code")?,
        status_message: row.try_get("status_message")?,
        amount: money("amount")?,
        fee: money("fee")?,
        cust_conv_fee: money("cust_conv_fee")?,
        delivery_fee: money("delivery_fee")?,
        refunded: row.try_get("refunded_amount")?,
        funding: FundingStatus::parse(&word("funding_status")?).ok_or_else(|| corrupt("funding_status"))?,
        risk_score: row.try_get("risk_score")?,
        risk_flag: row.try_get("risk_flag")?,
        customer_id: row.try_get("customer_id")?,
        payment_method_id: row.try_get("payment_method_id")?,
        method_kind: method_kind
            .map(|k| MethodKind::parse(&k).ok_or_else(|| corrupt("method_kind")))
            .transpose()?,
        processing_id: row.try_get("processing_id")?,
        payment_intent_id: row.try_get("payment_intent_id")?,
        description: row.try_get("description")?,
        order_number: row.try_get("order_number")?,
        attrs: attrs.0,
        connector: row.try_get("connector")?,
        authorization_ref: row.try_get("authorization_ref")?,
        settles_at: row.try_get("settles_at")?,
        settled_at: row.try_get("settled_at")?,
        rejected_on: row.try_get("rejected_on")?,
        prior_attempts: row.try_get("prior_attempt_ids")?,
        delivery_date: row.try_get("delivery_date")?,
        payout_method: payout_method
            .map(|m| PayoutMethod::parse(&m).ok_or_else(|| corrupt("payout_method")))
            .transpose()?,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
        ledger: Vec::new(),
    })
}

fn read_link(row: &PgRow) -> Result<LedgerLink, Error> {
    let attrs: sqlx::types::Json<Map<String, Value>> = row.try_get("attrs")?;
    Ok(LedgerLink {
        id: row.try_get("id")?,
        livemode: row.try_get("livemode")?,
        transaction_id: row.try_get("transaction_id")?,
        assoc_transaction_id: row.try_get("assoc_transaction_id")?,
        entry_type: row.try_get("entry_type")?,
        amount: Money::new(row.try_get("amount")?, currency_of(row)?),
        attrs: attrs.0,
        created_at: row.try_get("created_at")?,
    })
}

/// The event data of a transaction: amounts, status and ids, nothing of
/// the payment method's numbers.
fn event_data(t: &Transaction) -> Value {
    serde_json::json!({
        "id": t.id,
        "type": t.kind.as_str(),
        "status": t.status.as_str(),
        "status_code": t.status_code,
        "amount": t.amount.to_proto().amount,
        "fee": t.fee.to_proto().amount,
        "cust_conv_fee": t.cust_conv_fee.to_proto().amount,
        "delivery_fee": t.delivery_fee.to_proto().amount,
        "delivery_date": t.delivery_date.map(|d| d.to_string()),
        "payout_method": t.payout_method.map(PayoutMethod::as_str),
        "currency": t.amount.currency.code(),
        "funding_status": t.funding.as_str(),
        "customer_id": t.customer_id,
        "payment_method_id": t.payment_method_id,
        "processing_id": t.processing_id,
        "payment_intent_id": t.payment_intent_id,
        "ledger": t.ledger.iter().map(|l| serde_json::json!({
            "assoc_transaction_id": l.assoc_transaction_id,
            "entry_type": l.entry_type,
            "amount": l.amount.to_proto().amount,
        })).collect::<Vec<_>>(),
    })
}

/// The payments schema.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pool: PgPool,
}

impl Store {
    pub(crate) const fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Transaction `id` of the partner and mode, with its ledger.
    pub(crate) async fn get(&self, scope: Scope, id: Uuid) -> Result<Transaction, Error> {
        let sql = format!(
            "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE id = $1 AND partner_id = $2 AND livemode = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .fetch_optional(&self.pool)
            .await?;
        let mut transaction = row
            .as_ref()
            .map(read_transaction)
            .transpose()?
            .ok_or(Error::NotFound { resource: "Transaction" })?;
        transaction.ledger = self.links(&[id]).await?;
        Ok(transaction)
    }

    /// The ledger links of `ids`, oldest first (one query for a page).
    async fn links(&self, ids: &[Uuid]) -> Result<Vec<LedgerLink>, Error> {
        let sql = format!(
            "SELECT {LEDGER_COLUMNS} FROM transaction_ledgers WHERE transaction_id = ANY($1) ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids).fetch_all(&self.pool).await?;
        rows.iter().map(read_link).collect()
    }

    /// Transactions matching `query`, with their ledgers if asked.
    pub(crate) async fn list(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
        include_ledger: bool,
    ) -> Result<Listing<Transaction>, Error> {
        let mut listing =
            list(&self.pool, &TRANSACTIONS, scope, query, limits, |_| {}, read_transaction).await?;
        if include_ledger && !listing.items.is_empty() {
            let ids: Vec<Uuid> = listing.items.iter().map(|t| t.id).collect();
            let mut links = self.links(&ids).await?;
            for transaction in &mut listing.items {
                let (mine, rest): (Vec<_>, Vec<_>) =
                    links.into_iter().partition(|l| l.transaction_id == transaction.id);
                transaction.ledger = mine;
                links = rest;
            }
        }
        Ok(listing)
    }

    /// Ledger link `id` of the partner and mode.
    pub(crate) async fn ledger_link(&self, scope: Scope, id: Uuid) -> Result<LedgerLink, Error> {
        let sql = format!(
            "SELECT {LEDGER_COLUMNS} FROM transaction_ledgers WHERE id = $1 AND partner_id = $2 AND livemode = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(read_link).transpose()?.ok_or(Error::NotFound { resource: "TransactionLedger" })
    }

    /// Ledger links matching `query`.
    pub(crate) async fn list_links(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<LedgerLink>, Error> {
        list(&self.pool, &LEDGERS, scope, query, limits, |_| {}, read_link).await
    }

    /// Stores a new transaction with its posting (if money moved) and its
    /// event (`transaction.<event>`), in one database transaction.
    /// What the connector said will follow an approved payment
    /// (`aftermath`) is scheduled with it.
    pub(crate) async fn insert(
        &self,
        scope: Scope,
        transaction: &Transaction,
        posting: Option<&Posting>,
        event: &str,
        aftermath: Aftermath,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        insert_row(&mut tx, scope, transaction).await?;
        if let Some(posting) = posting {
            post(&mut tx, scope, transaction.id, posting, transaction.modified_at).await?;
        }
        insert_aftermath(&mut tx, scope, transaction, aftermath).await?;
        record(&mut tx, scope, transaction, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes payment `id` under a row lock: `change` sees it as it is
    /// and returns it as it becomes, with the posting the change makes and
    /// its event name.
    pub(crate) async fn change(
        &self,
        scope: Scope,
        id: Uuid,
        change: impl FnOnce(Transaction) -> Result<(Transaction, Option<Posting>, &'static str), Error>,
    ) -> Result<Transaction, Error> {
        let mut tx = self.pool.begin().await?;
        let current = lock(&mut tx, scope, id).await?;
        let was = current.status;
        let (mut changed, posting, event) = change(current)?;
        update_row(&mut tx, scope, &changed).await?;
        if let Some(posting) = posting {
            post(&mut tx, scope, changed.id, &posting, changed.modified_at).await?;
        }
        match changed.status {
            Status::Voided => {
                sqlx::query("DELETE FROM aftermaths WHERE payment_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            Status::Processed if was != Status::Processed => {
                schedule_aftermath(&mut tx, id, (changed.modified_at, changed.amount.currency)).await?;
            }
            _ => {}
        }
        record(&mut tx, scope, &changed, event).await?;
        tx.commit().await?;
        changed.ledger = self.links(&[id]).await?;
        Ok(changed)
    }

    /// Refunds payment `payment_id` with `refund`, under the payment's row
    /// lock: `check` sees the payment as it is and says why it cannot be
    /// refunded that much. Writes the refund, the payment's new refunded
    /// total, the links both ways, the posting and the event.
    pub(crate) async fn refund(
        &self,
        scope: Scope,
        payment_id: Uuid,
        mut refund: Transaction,
        check: impl FnOnce(&Transaction) -> Result<Uuid, Error>,
    ) -> Result<Transaction, Error> {
        let mut tx = self.pool.begin().await?;
        let mut payment = lock(&mut tx, scope, payment_id).await?;
        let processing = check(&payment)?;
        refund.customer_id = payment.customer_id;
        refund.payment_method_id = payment.payment_method_id;
        refund.method_kind = payment.method_kind;
        refund.processing_id = Some(processing);
        let at = refund.modified_at;
        let amount = refund.amount;
        insert_row(&mut tx, scope, &refund).await?;
        let (refund_link, _) =
            link_both(&mut tx, scope, &refund, &payment, payment.amount, amount, at).await?;
        refund.ledger = vec![refund_link];
        let was_batched = payment.funding == FundingStatus::Batched;
        payment.refunded += amount.amount;
        payment.funding =
            crate::domain::funding_after_refund(payment.funding, payment.amount.amount, payment.refunded);
        payment.modified_at = at;
        update_row(&mut tx, scope, &payment).await?;
        post(&mut tx, scope, refund.id, &Posting::debit_account(processing, amount), at).await?;
        record(&mut tx, scope, &refund, "refund").await?;
        if was_batched {
            reverse(&mut tx, scope, &payment, amount, at).await?;
        }
        tx.commit().await?;
        Ok(refund)
    }

    /// Bank payments due to settle by `now`: processing → processed.
    /// Returns how many settled.
    pub(crate) async fn settle_due(&self, now: DateTime<Utc>) -> Result<u64, Error> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "SELECT {TRANSACTION_COLUMNS}, partner_id FROM transactions \
             WHERE status = 'processing' AND settles_at <= $1 ORDER BY settles_at LIMIT 500 \
             FOR UPDATE SKIP LOCKED"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).fetch_all(&mut *tx).await?;
        let mut settled = 0;
        for row in &rows {
            let scope = scope_of(row)?;
            let mut transaction = read_transaction(row)?;
            transaction.status = Status::Processed;
            transaction.status_code = "settled".to_owned();
            transaction.status_message = "The bank payment settled.".to_owned();
            transaction.modified_at = now;
            transaction.settled_at = Some(now);
            update_row(&mut tx, scope, &transaction).await?;
            schedule_aftermath(&mut tx, transaction.id, (now, transaction.amount.currency)).await?;
            record(&mut tx, scope, &transaction, "settled").await?;
            settled += 1;
        }
        tx.commit().await?;
        Ok(settled)
    }

    /// Applies the aftermaths due by `now` (bank returns, chargebacks and
    /// their reversals), each in its own database transaction under the
    /// payment's row lock. Returns how many were applied.
    pub(crate) async fn apply_aftermaths(&self, now: DateTime<Utc>, at_most: u32) -> Result<u32, Error> {
        let mut applied = 0;
        while applied < at_most {
            let mut tx = self.pool.begin().await?;
            let due = sqlx::query(
                "SELECT payment_id, partner_id, livemode, kind, return_code, reverse_after_days, chargeback_id \
                 FROM aftermaths WHERE due_at <= $1 ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED",
            )
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(due) = due else { break };
            let scope = Scope { partner_id: due.try_get("partner_id")?, livemode: due.try_get("livemode")? };
            let payment_id: Uuid = due.try_get("payment_id")?;
            let mut payment = lock(&mut tx, scope, payment_id).await?;
            let kind: String = due.try_get("kind")?;
            let next = match kind.as_str() {
                "bank_reject" => {
                    let code: Option<String> = due.try_get("return_code")?;
                    let code =
                        code.as_deref().and_then(AchReturn::parse).ok_or_else(|| corrupt("return code"))?;
                    bank_reject(&mut tx, scope, &mut payment, code, now).await?;
                    None
                }
                "chargeback" => {
                    let reverse_after: Option<i32> = due.try_get("reverse_after_days")?;
                    let chargeback = charge_back(&mut tx, scope, &mut payment, now).await?;
                    chargeback.zip(reverse_after)
                }
                "chargeback_reversal" => {
                    let chargeback_id: Option<Uuid> = due.try_get("chargeback_id")?;
                    let chargeback =
                        lock(&mut tx, scope, chargeback_id.ok_or_else(|| corrupt("chargeback"))?).await?;
                    overturn(&mut tx, scope, &chargeback, now).await?;
                    None
                }
                _ => return Err(corrupt("aftermath")),
            };
            match next {
                Some((chargeback, days)) => {
                    sqlx::query(
                        "UPDATE aftermaths SET kind = 'chargeback_reversal', chargeback_id = $2, \
                         reverse_after_days = NULL, due_at = $3 WHERE payment_id = $1",
                    )
                    .bind(payment_id)
                    .bind(chargeback)
                    .bind(now + TimeDelta::days(i64::from(days)))
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM aftermaths WHERE payment_id = $1")
                        .bind(payment_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            applied += 1;
        }
        Ok(applied)
    }

    /// The processing accounts (with partner, mode and currency) that have
    /// transactions for the daily deposit settled before `before` and not
    /// yet paid out.
    pub(crate) async fn depositable(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<(Scope, Uuid, Currency)>, Error> {
        let rows = sqlx::query(
            "SELECT DISTINCT partner_id, livemode, processing_id, currency FROM transactions \
             WHERE status = 'processed' AND funding_status = 'captured' \
               AND type IN ('payment', 'chargeback_reversal') AND settled_at < $1 AND processing_id IS NOT NULL \
               AND delivery_date IS NULL \
             LIMIT 100",
        )
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let scope = scope_of(row)?;
                Ok((scope, row.try_get("processing_id")?, currency_of(row)?))
            })
            .collect()
    }

    /// Pays out to `processing` what settled before `before` in `currency`
    /// by `payout` (the account's payout method), dated `now`'s day: one
    /// deposit whose ledger lists what it takes, each marked batched, fees
    /// withheld when `netted`. Payments of intents wait for their own
    /// payout ([`Store::pay_out`]). `None` when nothing is due, or what is
    /// due does not add up to more than zero (it waits for more).
    pub(crate) async fn deposit(
        &self,
        scope: Scope,
        (processing, currency, payout): (Uuid, Currency, Option<PayoutMethod>),
        before: DateTime<Utc>,
        netted: bool,
        (connector, now): (&str, DateTime<Utc>),
    ) -> Result<Option<Transaction>, Error> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "SELECT {TRANSACTION_COLUMNS} FROM transactions \
             WHERE partner_id = $1 AND livemode = $2 AND processing_id = $3 AND currency = $4 \
               AND status = 'processed' AND funding_status = 'captured' \
               AND type IN ('payment', 'chargeback_reversal') AND settled_at < $5 AND delivery_date IS NULL \
             ORDER BY id FOR UPDATE"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(processing)
            .bind(currency.code())
            .bind(before)
            .fetch_all(&mut *tx)
            .await?;
        let items = rows.iter().map(read_transaction).collect::<Result<Vec<_>, Error>>()?;
        let payout = Payout { processing, method: payout, date: now.date_naive(), netted };
        write_deposit(tx, scope, items, &payout, (connector, now)).await
    }

    /// The payments of payment intents whose delivery date has come by
    /// `today` and that are settled and not yet paid out, at most
    /// `at_most`: (partner and mode, payment, processing account).
    pub(crate) async fn payouts_due(
        &self,
        today: NaiveDate,
        at_most: u32,
    ) -> Result<Vec<(Scope, Uuid, Uuid)>, Error> {
        let rows = sqlx::query(
            "SELECT partner_id, livemode, id, processing_id FROM transactions \
             WHERE status = 'processed' AND funding_status = 'captured' AND type = 'payment' \
               AND delivery_date <= $1 \
             ORDER BY delivery_date, id LIMIT $2",
        )
        .bind(today)
        .bind(i64::from(at_most))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let scope = scope_of(row)?;
                Ok((scope, row.try_get("id")?, row.try_get("processing_id")?))
            })
            .collect()
    }

    /// Pays out payment `id` of an intent on its own, on its delivery date
    /// and by its payout method: a deposit of the recipient's share, fees
    /// withheld when `netted`. `None` if it is no longer due (paid out,
    /// refunded, returned or charged back meanwhile) or its share is not
    /// more than zero.
    pub(crate) async fn pay_out(
        &self,
        scope: Scope,
        id: Uuid,
        netted: bool,
        (connector, now): (&str, DateTime<Utc>),
    ) -> Result<Option<Transaction>, Error> {
        let mut tx = self.pool.begin().await?;
        let payment = lock(&mut tx, scope, id).await?;
        let due = payment.status == Status::Processed && payment.funding == FundingStatus::Captured;
        let today = now.date_naive();
        let rail = payment.payout_method.unwrap_or(PayoutMethod::for_currency(payment.amount.currency));
        let Some(date) = payment.delivery_date.filter(|d| due && *d <= today && pays_out_on(today, rail))
        else {
            return Ok(None);
        };
        let payout =
            Payout { processing: payment.processing()?, method: payment.payout_method, date, netted };
        write_deposit(tx, scope, vec![payment], &payout, (connector, now)).await
    }
}

/// Where and how a deposit pays out.
struct Payout {
    processing: Uuid,
    method: Option<PayoutMethod>,
    date: NaiveDate,
    netted: bool,
}

/// Writes a deposit of `items` (locked by the caller in `tx`, in one
/// currency) as `payout` says and commits `tx`: its ledger lists what each
/// pays, each is marked batched, the account is debited and the event
/// recorded. `None` (and `tx` rolled back) when there are no items or they
/// do not add up to more than zero.
async fn write_deposit(
    mut tx: DbTransaction<'_, Postgres>,
    scope: Scope,
    items: Vec<Transaction>,
    payout: &Payout,
    (connector, now): (&str, DateTime<Utc>),
) -> Result<Option<Transaction>, Error> {
    let Some(currency) = items.first().map(|t| t.amount.currency) else { return Ok(None) };
    let total: Decimal = items.iter().map(|t| t.deposit_share(payout.netted)).sum();
    if total <= Decimal::ZERO {
        return Ok(None);
    }
    let withheld: Decimal = if payout.netted {
        items.iter().filter(|t| t.kind == Kind::Payment).map(|t| t.fee.amount).sum()
    } else {
        Decimal::ZERO
    };
    let mut deposit = Transaction {
        status_code: "deposited".to_owned(),
        status_message: if payout.netted {
            "Paid out to the processing account, fees withheld.".to_owned()
        } else {
            "Paid out to the processing account in full; fees are billed monthly.".to_owned()
        },
        fee: Money::new(withheld, currency),
        funding: FundingStatus::Batched,
        processing_id: Some(payout.processing),
        delivery_date: Some(payout.date),
        payout_method: payout.method,
        ..Transaction::new(scope.livemode, Kind::Deposit, Money::new(total, currency), connector, now)
    };
    insert_row(&mut tx, scope, &deposit).await?;
    for mut item in items {
        let amount = Money::new(item.deposit_share(payout.netted), currency);
        let (link, _) = link_both(&mut tx, scope, &deposit, &item, amount, amount, now).await?;
        deposit.ledger.push(link);
        item.funding = FundingStatus::Batched;
        item.modified_at = now;
        update_row(&mut tx, scope, &item).await?;
    }
    post(&mut tx, scope, deposit.id, &Posting::debit_account(payout.processing, deposit.amount), now).await?;
    record(&mut tx, scope, &deposit, "deposit").await?;
    tx.commit().await?;
    Ok(Some(deposit))
}

/// Transaction `id` of the scope, locked for the rest of `tx`.
async fn lock(tx: &mut DbTransaction<'_, Postgres>, scope: Scope, id: Uuid) -> Result<Transaction, Error> {
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

async fn insert_row(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    t: &Transaction,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO transactions (id, partner_id, livemode, type, status, status_code, status_message, currency, \
         amount, fee, cust_conv_fee, refunded_amount, funding_status, risk_score, risk_flag, customer_id, \
         payment_method_id, method_kind, processing_id, payment_intent_id, description, order_number, attrs, \
         connector, authorization_ref, settles_at, settled_at, prior_attempt_ids, delivery_fee, delivery_date, \
         payout_method, created_at, modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
         $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33)",
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
    .bind(t.risk_score)
    .bind(t.risk_flag.as_deref())
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
/// descriptive fields.
async fn update_row(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    t: &Transaction,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE transactions SET status = $4, status_code = $5, status_message = $6, refunded_amount = $7, \
         funding_status = $8, description = $9, order_number = $10, attrs = $11, settles_at = $12, \
         settled_at = $13, modified_at = $14, rejected_on = $15 WHERE id = $1 AND partner_id = $2 AND livemode = $3",
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
    .bind(&l.entry_type)
    .bind(l.amount.currency.code())
    .bind(l.amount.amount)
    .bind(sqlx::types::Json(&l.attrs))
    .bind(l.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes a posting's entries and moves the balances of its accounts.
async fn post(
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

async fn record(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    transaction: &Transaction,
    event: &str,
) -> Result<(), Error> {
    let data = event_data(transaction);
    outbox::record_change(tx, scope, "transaction", event, transaction.id, data, transaction.modified_at)
        .await
}

/// Schedules what the connector said will follow an approved `payment`;
/// due at once counted from now if it is already processed.
async fn insert_aftermath(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    payment: &Transaction,
    aftermath: Aftermath,
) -> Result<(), Error> {
    let (kind, code, delay, reverse_after) = match aftermath {
        Aftermath::None => return Ok(()),
        Aftermath::BankReject { code, after_business_days } => {
            ("bank_reject", Some(code.code()), after_business_days, None)
        }
        Aftermath::Chargeback { after_days, reversed_after_days } => {
            ("chargeback", None, after_days, reversed_after_days)
        }
    };
    let days =
        |d: u32| i32::try_from(d).map_err(|_| Error::Internal(anyhow::anyhow!("aftermath delay too long")));
    sqlx::query(
        "INSERT INTO aftermaths (payment_id, partner_id, livemode, kind, return_code, delay_days, \
         reverse_after_days) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(payment.id)
    .bind(scope.partner_id)
    .bind(scope.livemode)
    .bind(kind)
    .bind(code)
    .bind(days(delay)?)
    .bind(reverse_after.map(days).transpose()?)
    .execute(&mut **tx)
    .await?;
    if payment.status == Status::Processed {
        schedule_aftermath(tx, payment.id, (payment.modified_at, payment.amount.currency)).await?;
    }
    Ok(())
}

/// Sets when payment `id`'s aftermath (if it has one) comes, now that it
/// settled at `settled`.
async fn schedule_aftermath(
    tx: &mut DbTransaction<'_, Postgres>,
    id: Uuid,
    (settled, currency): (DateTime<Utc>, Currency),
) -> Result<(), Error> {
    let row = sqlx::query("SELECT kind, delay_days FROM aftermaths WHERE payment_id = $1 AND due_at IS NULL")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(()) };
    let kind: String = row.try_get("kind")?;
    let delay = u32::try_from(row.try_get::<i32, _>("delay_days")?).map_err(|_| corrupt("delay"))?;
    let due = match kind.as_str() {
        // Banks return in business days; card networks count calendar days.
        "bank_reject" => returned_at(settled, delay, currency),
        _ => settled + TimeDelta::days(i64::from(delay)),
    };
    sqlx::query("UPDATE aftermaths SET due_at = $2 WHERE payment_id = $1")
        .bind(id)
        .bind(due)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Links `from` and `to` both ways at `at`: `from`'s link to `to` carries
/// `to_amount`, `to`'s link back the negative of `from_amount`. Answers
/// both links (from's, to's).
async fn link_both(
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
        entry_type: assoc.kind.as_str().to_owned(),
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
async fn reverse(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    payment: &Transaction,
    amount: Money,
    at: DateTime<Utc>,
) -> Result<Transaction, Error> {
    let mut reversal = Transaction {
        funding: FundingStatus::Reversed,
        ..Transaction::following(
            payment,
            Kind::Reversal,
            amount,
            ("reversed", "Debited from the processing account: the payment was already paid out."),
            at,
        )
    };
    insert_row(tx, scope, &reversal).await?;
    // The payment sees the reversal as money coming back (positive).
    let negative = Money::new(-amount.amount, amount.currency);
    let (link, _) = link_both(tx, scope, &reversal, payment, negative, negative, at).await?;
    reversal.ledger = vec![link];
    post(tx, scope, reversal.id, &Posting::credit_account(payment.processing()?, amount), at).await?;
    record(tx, scope, &reversal, "reversal").await?;
    Ok(reversal)
}

/// The bank returned `payment`'s debit with `code`: the payment becomes
/// rejected, the processing account bears the whole amount (and, if it was
/// paid out, a reversal takes it back). A payment no longer processed
/// (voided meanwhile) is left alone.
async fn bank_reject(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    payment: &mut Transaction,
    code: AchReturn,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if payment.kind != Kind::Payment || payment.status != Status::Processed {
        return Ok(());
    }
    let was_batched = payment.funding == FundingStatus::Batched;
    payment.status = Status::Rejected;
    payment.status_code = code.code().to_owned();
    payment.status_message = format!("The bank returned the payment: {}.", code.message());
    payment.funding = FundingStatus::Reversed;
    payment.rejected_on = Some(now.date_naive());
    payment.modified_at = now;
    update_row(tx, scope, payment).await?;
    post(tx, scope, payment.id, &Posting::debit_account(payment.processing()?, payment.amount), now).await?;
    record(tx, scope, payment, "bank_account_reject").await?;
    if was_batched {
        reverse(tx, scope, payment, payment.amount, now).await?;
    }
    Ok(())
}

/// The payer disputed `payment`: a `chargeback` of what was not refunded,
/// borne by the processing account (and taken back if it was paid out).
/// Answers the chargeback's id; `None` when nothing was left to dispute.
async fn charge_back(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    payment: &mut Transaction,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, Error> {
    let disputed = payment.amount.amount - payment.refunded;
    let open = matches!(payment.funding, FundingStatus::Captured | FundingStatus::Batched);
    if payment.kind != Kind::Payment
        || payment.status != Status::Processed
        || !open
        || disputed <= Decimal::ZERO
    {
        return Ok(None);
    }
    let amount = Money::new(disputed, payment.amount.currency);
    let chargeback = Transaction {
        funding: FundingStatus::Reversed,
        ..Transaction::following(
            payment,
            Kind::Chargeback,
            amount,
            ("chargeback", "The payer disputed the payment; the card network returned the funds to them."),
            now,
        )
    };
    insert_row(tx, scope, &chargeback).await?;
    link_both(tx, scope, &chargeback, payment, payment.amount, amount, now).await?;
    let was_batched = payment.funding == FundingStatus::Batched;
    payment.funding = FundingStatus::Reversed;
    payment.modified_at = now;
    update_row(tx, scope, payment).await?;
    post(tx, scope, chargeback.id, &Posting::debit_account(payment.processing()?, amount), now).await?;
    record(tx, scope, &chargeback, "chargeback").await?;
    if was_batched {
        reverse(tx, scope, payment, amount, now).await?;
    }
    Ok(Some(chargeback.id))
}

/// The dispute behind `chargeback` was decided for the processing account:
/// a `chargeback_reversal` returns the amount to it (paid out with the
/// next deposit).
async fn overturn(
    tx: &mut DbTransaction<'_, Postgres>,
    scope: Scope,
    chargeback: &Transaction,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let reversal = Transaction::following(
        chargeback,
        Kind::ChargebackReversal,
        chargeback.amount,
        (
            "chargeback_reversed",
            "The dispute was decided for the processing account; the funds are returned.",
        ),
        now,
    );
    insert_row(tx, scope, &reversal).await?;
    link_both(tx, scope, &reversal, chargeback, chargeback.amount, chargeback.amount, now).await?;
    post(tx, scope, reversal.id, &Posting::credit_account(chargeback.processing()?, reversal.amount), now)
        .await?;
    record(tx, scope, &reversal, "chargeback_reversal").await
}
