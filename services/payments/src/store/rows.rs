//! The tables of the payments schema as callers may query them, and their
//! rows read into the domain.

use chrono::{DateTime, NaiveDate, Utc};
use paymesh_kit::{
    Error,
    auth::Scope,
    money::{Currency, Money},
    query::{Column, ColumnType, Resource},
};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use sqlx::{FromRow, postgres::PgRow, types::Json};
use uuid::Uuid;

use crate::{
    connector::{Risk, RiskFlag},
    domain::{Allocation, FundingStatus, Kind, LedgerLink, MethodKind, PayoutMethod, Status, Transaction},
};

pub(super) static TRANSACTIONS: Resource = Resource {
    name: "transaction",
    table: "transactions",
    select: TRANSACTION_COLUMNS,
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "type", sql: "type", ty: ColumnType::Enum(Kind::WORDS) },
        Column { name: "status", sql: "status", ty: ColumnType::Enum(Status::WORDS) },
        Column { name: "status_code", sql: "status_code", ty: ColumnType::Text },
        Column { name: "amount", sql: "amount", ty: ColumnType::Decimal },
        Column { name: "fee", sql: "fee", ty: ColumnType::Decimal },
        Column { name: "cust_conv_fee", sql: "cust_conv_fee", ty: ColumnType::Decimal },
        Column { name: "delivery_fee", sql: "delivery_fee", ty: ColumnType::Decimal },
        Column { name: "delivery_date", sql: "delivery_date", ty: ColumnType::Date },
        Column { name: "rejected_on", sql: "rejected_on", ty: ColumnType::Date },
        Column { name: "initiator", sql: "initiator", ty: ColumnType::Enum(&["api", "automatic_billing"]) },
        Column { name: "settlement_held", sql: "settlement_held", ty: ColumnType::Bool },
        Column { name: "payout_method", sql: "payout_method", ty: ColumnType::Enum(PayoutMethod::NAMES) },
        Column { name: "refunded_amount", sql: "refunded_amount", ty: ColumnType::Decimal },
        Column { name: "currency", sql: "currency", ty: ColumnType::Enum(Currency::CODES) },
        Column { name: "funding_status", sql: "funding_status", ty: ColumnType::Enum(FundingStatus::WORDS) },
        Column { name: "risk_flag", sql: "risk_flag", ty: ColumnType::Enum(RiskFlag::WORDS) },
        // The name the Payload reference's queries give it.
        Column { name: "risk_status", sql: "risk_flag", ty: ColumnType::Enum(RiskFlag::WORDS) },
        Column { name: "risk_score", sql: "risk_score", ty: ColumnType::Decimal },
        Column { name: "customer_id", sql: "customer_id", ty: ColumnType::Id },
        Column { name: "payment_method_id", sql: "payment_method_id", ty: ColumnType::Id },
        Column { name: "processing_id", sql: "processing_id", ty: ColumnType::Id },
        // The account a transaction is filed under, as the Payload
        // reference's deposit query names it: the processing account for
        // what paymesh pays it (deposits, reversals), else the customer.
        Column {
            name: "account_id",
            sql: "CASE WHEN type IN ('deposit', 'reversal') THEN processing_id ELSE customer_id END",
            ty: ColumnType::Id,
        },
        // When it completed (settled), as the reference's reports name it.
        Column { name: "completed_date", sql: "settled_at", ty: ColumnType::Timestamp },
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

pub(super) const TRANSACTION_COLUMNS: &str = "id, livemode, type, status, status_code, status_message, currency, amount, fee, \
     cust_conv_fee, refunded_amount, funding_status, risk_score, risk_flag, customer_id, payment_method_id, \
     method_kind, processing_id, payment_intent_id, description, order_number, attrs, connector, authorization_ref, \
     settles_at, settled_at, rejected_on, prior_attempt_ids, delivery_fee, delivery_date, payout_method, created_at, \
     modified_at, allocations, initiator, settlement_held";

/// What callers may filter ledger links by.
pub(super) static LEDGERS: Resource = Resource {
    name: "transaction_ledger",
    table: "transaction_ledgers",
    select: LEDGER_COLUMNS,
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "transaction_id", sql: "transaction_id", ty: ColumnType::Id },
        Column { name: "assoc_transaction_id", sql: "assoc_transaction_id", ty: ColumnType::Id },
        Column { name: "entry_type", sql: "entry_type", ty: ColumnType::Enum(Kind::WORDS) },
        Column { name: "amount", sql: "amount", ty: ColumnType::Decimal },
        Column { name: "currency", sql: "currency", ty: ColumnType::Enum(Currency::CODES) },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

pub(super) const LEDGER_COLUMNS: &str =
    "id, livemode, transaction_id, assoc_transaction_id, entry_type, currency, amount, attrs, created_at";

pub(super) fn corrupt(what: &str) -> Error {
    Error::Internal(anyhow::anyhow!("unreadable {what} stored in the payments schema"))
}

/// The stored word of `column`, read as a `T`.
pub(super) fn word<T>(parse: impl FnOnce(&str) -> Option<T>, stored: &str, column: &str) -> Result<T, Error> {
    parse(stored).ok_or_else(|| corrupt(column))
}

/// A row of `transactions`.
#[derive(FromRow)]
struct TransactionRow {
    id: Uuid,
    livemode: bool,
    r#type: String,
    status: String,
    status_code: String,
    status_message: String,
    currency: String,
    amount: Decimal,
    fee: Decimal,
    cust_conv_fee: Decimal,
    refunded_amount: Decimal,
    funding_status: String,
    risk_score: Option<Decimal>,
    risk_flag: Option<String>,
    customer_id: Option<Uuid>,
    payment_method_id: Option<Uuid>,
    method_kind: Option<String>,
    processing_id: Option<Uuid>,
    payment_intent_id: Option<Uuid>,
    description: Option<String>,
    order_number: Option<String>,
    attrs: Json<Map<String, Value>>,
    connector: String,
    authorization_ref: Option<String>,
    settles_at: Option<DateTime<Utc>>,
    settled_at: Option<DateTime<Utc>>,
    rejected_on: Option<NaiveDate>,
    prior_attempt_ids: Vec<Uuid>,
    delivery_fee: Decimal,
    delivery_date: Option<NaiveDate>,
    payout_method: Option<String>,
    created_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
    allocations: Json<Value>,
    initiator: String,
    settlement_held: bool,
}

impl TryFrom<TransactionRow> for Transaction {
    type Error = Error;

    fn try_from(row: TransactionRow) -> Result<Self, Error> {
        let currency = Currency::parse(&row.currency).map_err(|_| corrupt("currency"))?;
        let money = |amount: Decimal| Money::new(amount, currency);
        let risk = match (row.risk_score, row.risk_flag) {
            (Some(score), Some(flag)) => {
                Some(Risk { score, flag: word(RiskFlag::parse, &flag, "risk_flag")? })
            }
            _ => None,
        };
        Ok(Self {
            id: row.id,
            livemode: row.livemode,
            kind: word(Kind::parse, &row.r#type, "type")?,
            status: word(Status::parse, &row.status, "status")?,
            status_code: row.status_code,
            status_message: row.status_message,
            amount: money(row.amount),
            fee: money(row.fee),
            cust_conv_fee: money(row.cust_conv_fee),
            delivery_fee: money(row.delivery_fee),
            refunded: row.refunded_amount,
            funding: word(FundingStatus::parse, &row.funding_status, "funding_status")?,
            risk,
            customer_id: row.customer_id,
            payment_method_id: row.payment_method_id,
            method_kind: row.method_kind.map(|k| word(MethodKind::parse, &k, "method_kind")).transpose()?,
            processing_id: row.processing_id,
            payment_intent_id: row.payment_intent_id,
            description: row.description,
            order_number: row.order_number,
            attrs: row.attrs.0,
            connector: row.connector,
            authorization_ref: row.authorization_ref,
            settles_at: row.settles_at,
            settled_at: row.settled_at,
            rejected_on: row.rejected_on,
            prior_attempts: row.prior_attempt_ids,
            delivery_date: row.delivery_date,
            payout_method: row
                .payout_method
                .map(|m| word(PayoutMethod::parse, &m, "payout_method"))
                .transpose()?,
            created_at: row.created_at,
            modified_at: row.modified_at,
            ledger: Vec::new(),
            allocations: Allocation::from_json(&row.allocations.0).ok_or_else(|| corrupt("allocations"))?,
            automatic_billing: row.initiator == "automatic_billing",
            settlement_held: row.settlement_held,
        })
    }
}

/// A row of `transaction_ledgers`.
#[derive(FromRow)]
struct LedgerRow {
    id: Uuid,
    livemode: bool,
    transaction_id: Uuid,
    assoc_transaction_id: Uuid,
    entry_type: String,
    currency: String,
    amount: Decimal,
    attrs: Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<LedgerRow> for LedgerLink {
    type Error = Error;

    fn try_from(row: LedgerRow) -> Result<Self, Error> {
        Ok(Self {
            id: row.id,
            livemode: row.livemode,
            transaction_id: row.transaction_id,
            assoc_transaction_id: row.assoc_transaction_id,
            entry_type: word(Kind::parse, &row.entry_type, "entry_type")?,
            amount: Money::new(row.amount, Currency::parse(&row.currency).map_err(|_| corrupt("currency"))?),
            attrs: row.attrs.0,
            created_at: row.created_at,
        })
    }
}

pub(super) fn read_transaction(row: &PgRow) -> Result<Transaction, Error> {
    TransactionRow::from_row(row)?.try_into()
}

pub(super) fn read_link(row: &PgRow) -> Result<LedgerLink, Error> {
    LedgerRow::from_row(row)?.try_into()
}

/// The partner and mode of a row read across partners (the sweep's).
#[derive(FromRow)]
struct ScopeRow {
    partner_id: Uuid,
    livemode: bool,
}

pub(super) fn scope_of(row: &PgRow) -> Result<Scope, sqlx::Error> {
    let ScopeRow { partner_id, livemode } = ScopeRow::from_row(row)?;
    Ok(Scope { partner_id, livemode })
}
