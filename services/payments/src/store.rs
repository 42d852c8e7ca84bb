//! The SQL of the payments schema: transactions, their ledger links, the
//! double-entry journal with its balances, and idempotency records.
//!
//! Every money movement is one database transaction that writes the
//! transaction row, its journal posting (and balances) and its outbox event.
//! Changes to a payment lock its row first (`FOR UPDATE`), so concurrent
//! refunds, captures and voids of one payment run one after another.

use chrono::{DateTime, Utc};
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

use crate::domain::{FundingStatus, Kind, MethodKind, Posting, Status};

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
     settles_at, created_at, modified_at";

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

fn read_transaction(row: &PgRow) -> Result<Transaction, Error> {
    let currency = currency_of(row)?;
    let money = |column: &str| -> Result<Money, Error> {
        let amount: Decimal = row.try_get(column)?;
        Ok(Money::new(amount, currency))
    };
    let word = |column: &str| -> Result<String, Error> { Ok(row.try_get::<String, _>(column)?) };
    let attrs: sqlx::types::Json<Map<String, Value>> = row.try_get("attrs")?;
    let method_kind: Option<String> = row.try_get("method_kind")?;
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

/// What a stored idempotency key says about a new request with it.
#[derive(Debug)]
pub(crate) enum Claim {
    /// The key is new (or expired): this request goes ahead.
    Fresh,
    /// The first request with the key was answered: this is its answer.
    Answered(Answer),
    /// The key was used for a different request.
    Mismatch,
    /// The first request with the key is still in flight.
    InFlight,
}

/// A stored answer: the encoded response, or an error status.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The encoded `CreateTransactionResponse`.
    Response(Vec<u8>),
    /// An error: gRPC code, message and encoded details.
    Error { code: i32, message: String, details: Vec<u8> },
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
    pub(crate) async fn insert(
        &self,
        scope: Scope,
        transaction: &Transaction,
        posting: Option<&Posting>,
        event: &str,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        insert_row(&mut tx, scope, transaction).await?;
        if let Some(posting) = posting {
            post(&mut tx, scope, transaction.id, posting, transaction.modified_at).await?;
        }
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
        let (mut changed, posting, event) = change(current)?;
        update_row(&mut tx, scope, &changed).await?;
        if let Some(posting) = posting {
            post(&mut tx, scope, changed.id, &posting, changed.modified_at).await?;
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
        let c = refund.amount.currency;
        let refund_link = LedgerLink {
            id: Uuid::now_v7(),
            livemode: scope.livemode,
            transaction_id: refund.id,
            assoc_transaction_id: payment.id,
            entry_type: Kind::Payment.as_str().to_owned(),
            amount: payment.amount,
            attrs: Map::new(),
            created_at: at,
        };
        let payment_link = LedgerLink {
            id: Uuid::now_v7(),
            livemode: scope.livemode,
            transaction_id: payment.id,
            assoc_transaction_id: refund.id,
            entry_type: Kind::Refund.as_str().to_owned(),
            amount: Money::new(-refund.amount.amount, c),
            attrs: Map::new(),
            created_at: at,
        };
        refund.ledger = vec![refund_link.clone()];
        insert_row(&mut tx, scope, &refund).await?;
        payment.refunded += refund.amount.amount;
        payment.funding = crate::domain::funding_after_refund(payment.amount.amount, payment.refunded);
        payment.modified_at = at;
        update_row(&mut tx, scope, &payment).await?;
        for link in [&refund_link, &payment_link] {
            insert_link(&mut tx, scope, link).await?;
        }
        post(&mut tx, scope, refund.id, &Posting::refund(processing, refund.amount), at).await?;
        record(&mut tx, scope, &refund, "refund").await?;
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
            let scope = Scope { partner_id: row.try_get("partner_id")?, livemode: row.try_get("livemode")? };
            let mut transaction = read_transaction(row)?;
            transaction.status = Status::Processed;
            transaction.status_code = "settled".to_owned();
            transaction.status_message = "The bank payment settled.".to_owned();
            transaction.modified_at = now;
            update_row(&mut tx, scope, &transaction).await?;
            record(&mut tx, scope, &transaction, "settled").await?;
            settled += 1;
        }
        tx.commit().await?;
        Ok(settled)
    }

    /// Claims idempotency `key` for a request whose fingerprint is `hash`.
    /// Keys older than `since` are forgotten first.
    pub(crate) async fn claim(
        &self,
        scope: Scope,
        key: &str,
        hash: &[u8],
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<Claim, Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE partner_id = $1 AND livemode = $2 AND key = $3 AND created_at < $4")
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(key)
            .bind(since)
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (partner_id, livemode, key, request_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(key)
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let claim = if inserted.rows_affected() == 1 {
            Claim::Fresh
        } else {
            let row = sqlx::query(
                "SELECT request_hash, response, error_code, error_message FROM idempotency_keys \
                 WHERE partner_id = $1 AND livemode = $2 AND key = $3",
            )
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            let stored: Vec<u8> = row.try_get("request_hash")?;
            let response: Option<Vec<u8>> = row.try_get("response")?;
            let code: Option<i32> = row.try_get("error_code")?;
            match (stored == hash, response, code) {
                (false, ..) => Claim::Mismatch,
                (true, None, _) => Claim::InFlight,
                (true, Some(bytes), None) => Claim::Answered(Answer::Response(bytes)),
                (true, Some(details), Some(code)) => Claim::Answered(Answer::Error {
                    code,
                    message: row.try_get::<Option<String>, _>("error_message")?.unwrap_or_default(),
                    details,
                }),
            }
        };
        tx.commit().await?;
        Ok(claim)
    }

    /// Records the answer to the request that claimed `key`.
    pub(crate) async fn answer(&self, scope: Scope, key: &str, answer: &Answer) -> Result<(), Error> {
        let (bytes, code, message) = match answer {
            Answer::Response(bytes) => (bytes.as_slice(), None, None),
            Answer::Error { code, message, details } => {
                (details.as_slice(), Some(*code), Some(message.as_str()))
            }
        };
        sqlx::query(
            "UPDATE idempotency_keys SET response = $4, error_code = $5, error_message = $6 \
             WHERE partner_id = $1 AND livemode = $2 AND key = $3",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(key)
        .bind(bytes)
        .bind(code)
        .bind(message)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets `key` (its request changed nothing, so it may be retried).
    pub(crate) async fn release(&self, scope: Scope, key: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM idempotency_keys WHERE partner_id = $1 AND livemode = $2 AND key = $3")
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
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
         connector, authorization_ref, settles_at, created_at, modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
         $22, $23, $24, $25, $26, $27, $28)",
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
         modified_at = $13 WHERE id = $1 AND partner_id = $2 AND livemode = $3",
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
    .bind(t.modified_at)
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
