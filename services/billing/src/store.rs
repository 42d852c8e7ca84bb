//! The SQL of the billing service: billing schedules and their charges,
//! invoices and their line items, payment links (in `links`). Every
//! statement is scoped by partner and mode, except the sweeps' queues and
//! a pay page's lookup by its token, which serve every partner and read
//! each row's scope from it.

use chrono::{DateTime, NaiveDate, Utc};
use paymesh_kit::{
    Error,
    auth::Scope,
    config::ListLimits,
    files::{self, CONTENT_TYPES},
    outbox,
    query::{Column, ColumnType, Listing, Resource, list, one},
};
use paymesh_proto::common::v1::ListQuery;
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::{
    FromRow, PgConnection, PgPool, Postgres, Transaction, pool::PoolConnection, postgres::PgRow, types::Json,
};
use uuid::Uuid;

pub(crate) mod links;

use crate::domain::{
    invoice::{AcceptedPaymentState, Entry, Status, Totals},
    payers::{self, Kind, Paid, Payer, Share},
    schedule::Frequency,
};

/// `/invoices`: the queryable attributes of invoices.
pub(crate) static INVOICES: Resource = Resource {
    name: "invoice",
    table: "invoices",
    select: "id, livemode, type, description, due_date, status, customer_id, processing_id, billing_schedule_id, \
             billing_contact, currency, total_due, total_paid, amount_due, paid_at, attrs, created_at, modified_at, \
             payers, accepted_payment_state, amount_unallocated",
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "type", sql: "type", ty: ColumnType::Text },
        Column { name: "description", sql: "description", ty: ColumnType::Text },
        Column { name: "due_date", sql: "due_date", ty: ColumnType::Date },
        Column { name: "status", sql: "status", ty: ColumnType::Enum(Status::WORDS) },
        Column { name: "customer_id", sql: "customer_id", ty: ColumnType::Id },
        Column { name: "processing_id", sql: "processing_id", ty: ColumnType::Id },
        Column { name: "billing_schedule_id", sql: "billing_schedule_id", ty: ColumnType::Id },
        Column { name: "currency", sql: "currency", ty: ColumnType::Text },
        Column { name: "total_due", sql: "total_due", ty: ColumnType::Decimal },
        Column { name: "total_paid", sql: "total_paid", ty: ColumnType::Decimal },
        Column { name: "amount_due", sql: "amount_due", ty: ColumnType::Decimal },
        Column { name: "paid_timestamp", sql: "paid_at", ty: ColumnType::Timestamp },
        Column {
            name: "accepted_payment_state",
            sql: "accepted_payment_state",
            ty: ColumnType::Enum(AcceptedPaymentState::WORDS),
        },
        Column { name: "amount_unallocated", sql: "amount_unallocated", ty: ColumnType::Decimal },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

/// `/line_items`: the queryable attributes of line items.
pub(crate) static LINE_ITEMS: Resource = Resource {
    name: "line_item",
    table: "line_items",
    select: ITEM_COLUMNS,
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "invoice_id", sql: "invoice_id", ty: ColumnType::Id },
        Column { name: "entry_type", sql: "entry_type", ty: ColumnType::Enum(Entry::WORDS) },
        Column { name: "type", sql: "type", ty: ColumnType::Text },
        Column { name: "description", sql: "description", ty: ColumnType::Text },
        Column { name: "amount", sql: "amount", ty: ColumnType::Decimal },
        Column { name: "qty", sql: "qty", ty: ColumnType::Integer },
        Column { name: "total", sql: "total", ty: ColumnType::Decimal },
        Column { name: "incurred_date", sql: "incurred_date", ty: ColumnType::Date },
        Column { name: "transaction_id", sql: "transaction_id", ty: ColumnType::Id },
        Column { name: "payer_id", sql: "payer_id", ty: ColumnType::Id },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

/// `/invoice_attachments`: the queryable attributes of attachments (their
/// content is read apart).
pub(crate) static ATTACHMENTS: Resource = Resource {
    name: "invoice_attachment",
    table: "invoice_attachments",
    select: "id, livemode, invoice_id, payment_link_id, file_name, content_type, size_bytes, sha256, attrs, \
             created_at",
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "invoice_id", sql: "invoice_id", ty: ColumnType::Id },
        Column { name: "payment_link_id", sql: "payment_link_id", ty: ColumnType::Id },
        Column { name: "file_name", sql: "file_name", ty: ColumnType::Text },
        Column { name: "content_type", sql: "content_type", ty: ColumnType::Enum(CONTENT_TYPES) },
        Column { name: "size_bytes", sql: "size_bytes", ty: ColumnType::Integer },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

/// `/billing_schedules`: the queryable attributes of billing schedules.
pub(crate) static SCHEDULES: Resource = Resource {
    name: "billing_schedule",
    table: "billing_schedules",
    select: "id, livemode, type, description, customer_id, processing_id, currency, start_date, end_date, \
             recurring_frequency, billing_days, billed_from, next_billing_date, prorated, attrs, created_at, \
             modified_at, payers, accepted_payment_state",
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "type", sql: "type", ty: ColumnType::Text },
        Column { name: "description", sql: "description", ty: ColumnType::Text },
        Column { name: "customer_id", sql: "customer_id", ty: ColumnType::Id },
        Column { name: "processing_id", sql: "processing_id", ty: ColumnType::Id },
        Column { name: "currency", sql: "currency", ty: ColumnType::Text },
        Column { name: "start_date", sql: "start_date", ty: ColumnType::Date },
        Column { name: "end_date", sql: "end_date", ty: ColumnType::Date },
        Column {
            name: "recurring_frequency",
            sql: "recurring_frequency",
            ty: ColumnType::Enum(Frequency::WORDS),
        },
        Column { name: "next_billing_date", sql: "next_billing_date", ty: ColumnType::Date },
        Column { name: "prorated", sql: "prorated", ty: ColumnType::Bool },
        Column {
            name: "accepted_payment_state",
            sql: "accepted_payment_state",
            ty: ColumnType::Enum(AcceptedPaymentState::WORDS),
        },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

/// `/billing_charges`: the queryable attributes of billing charges.
pub(crate) static CHARGES: Resource = Resource {
    name: "billing_charge",
    table: "billing_charges",
    select: CHARGE_COLUMNS,
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "billing_schedule_id", sql: "billing_schedule_id", ty: ColumnType::Id },
        Column { name: "type", sql: "type", ty: ColumnType::Text },
        Column { name: "description", sql: "description", ty: ColumnType::Text },
        Column { name: "amount", sql: "amount", ty: ColumnType::Decimal },
        Column { name: "qty", sql: "qty", ty: ColumnType::Integer },
        Column { name: "total", sql: "total", ty: ColumnType::Decimal },
        Column { name: "start_date", sql: "start_date", ty: ColumnType::Date },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

/// `/autopay_enrollments`: the queryable attributes of enrollments.
pub(crate) static ENROLLMENTS: Resource = Resource {
    name: "autopay_enrollment",
    table: "autopay_enrollments",
    select: "id, livemode, customer_id, payment_method_id, billing_schedule_id, currency, upper_limit, status, \
             last_payment_status, last_payment_at, last_transaction_id, attrs, created_at, modified_at",
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "customer_id", sql: "customer_id", ty: ColumnType::Id },
        Column { name: "payment_method_id", sql: "payment_method_id", ty: ColumnType::Id },
        Column { name: "billing_schedule_id", sql: "billing_schedule_id", ty: ColumnType::Id },
        Column { name: "upper_limit", sql: "upper_limit", ty: ColumnType::Decimal },
        Column { name: "status", sql: "status", ty: ColumnType::Enum(&["active", "canceled"]) },
        Column {
            name: "last_payment_status",
            sql: "last_payment_status",
            ty: ColumnType::Enum(&["processed", "declined", "failed", "over_limit"]),
        },
        Column { name: "last_payment_timestamp", sql: "last_payment_at", ty: ColumnType::Timestamp },
        Column { name: "last_transaction_id", sql: "last_transaction_id", ty: ColumnType::Id },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

const ITEM_COLUMNS: &str = "id, livemode, invoice_id, entry_type, type, description, currency, amount, qty, total, \
     incurred_date, transaction_id, attrs, created_at, modified_at, allocations, payer_id";
const CHARGE_COLUMNS: &str = "id, livemode, billing_schedule_id, type, description, currency, amount, qty, total, attrs, created_at, \
     modified_at, start_date";

/// An invoice as stored.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct InvoiceRow {
    pub(crate) id: Uuid,
    pub(crate) livemode: bool,
    #[sqlx(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) due_date: NaiveDate,
    pub(crate) status: String,
    pub(crate) customer_id: Uuid,
    pub(crate) processing_id: Uuid,
    pub(crate) billing_schedule_id: Option<Uuid>,
    pub(crate) billing_contact: Option<Json<Value>>,
    pub(crate) currency: String,
    pub(crate) total_due: Decimal,
    pub(crate) total_paid: Decimal,
    pub(crate) amount_due: Decimal,
    pub(crate) paid_at: Option<DateTime<Utc>>,
    pub(crate) attrs: Json<Value>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) modified_at: DateTime<Utc>,
    pub(crate) payers: Json<Vec<Payer>>,
    pub(crate) accepted_payment_state: String,
    pub(crate) amount_unallocated: Decimal,
}

impl InvoiceRow {
    /// Its status (a stored word is always one).
    pub(crate) fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Pending)
    }

    /// Its payer `id`, if it has one.
    pub(crate) fn payer(&self, id: Uuid) -> Option<&Payer> {
        self.payers.0.iter().find(|p| p.id == id)
    }
}

/// A line item as stored.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct ItemRow {
    pub(crate) id: Uuid,
    pub(crate) livemode: bool,
    pub(crate) invoice_id: Uuid,
    pub(crate) entry_type: String,
    #[sqlx(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) currency: String,
    pub(crate) amount: Decimal,
    pub(crate) qty: i32,
    pub(crate) total: Decimal,
    pub(crate) incurred_date: Option<NaiveDate>,
    pub(crate) transaction_id: Option<Uuid>,
    pub(crate) attrs: Json<Value>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) modified_at: DateTime<Utc>,
    /// Charge items: each payer's part.
    pub(crate) allocations: Json<Vec<Share>>,
    /// Payment items: the payer that paid.
    pub(crate) payer_id: Option<Uuid>,
}

impl ItemRow {
    /// The parts the partner gave, by payer.
    pub(crate) fn custom_parts(&self) -> Vec<(Uuid, Decimal)> {
        self.allocations.0.iter().filter(|s| s.kind == Kind::Custom).map(|s| (s.payer_id, s.amount)).collect()
    }
}

/// A billing schedule as stored.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct ScheduleRow {
    pub(crate) id: Uuid,
    pub(crate) livemode: bool,
    #[sqlx(rename = "type")]
    pub(crate) kind: String,
    pub(crate) description: Option<String>,
    pub(crate) customer_id: Uuid,
    pub(crate) processing_id: Uuid,
    pub(crate) currency: String,
    pub(crate) start_date: NaiveDate,
    pub(crate) end_date: Option<NaiveDate>,
    pub(crate) recurring_frequency: String,
    pub(crate) billing_days: Option<Json<Value>>,
    pub(crate) billed_from: NaiveDate,
    pub(crate) next_billing_date: Option<NaiveDate>,
    pub(crate) prorated: bool,
    pub(crate) attrs: Json<Value>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) modified_at: DateTime<Utc>,
    /// The payers' customer accounts; empty: the customer alone.
    pub(crate) payers: Json<Vec<Uuid>>,
    pub(crate) accepted_payment_state: String,
}

impl ScheduleRow {
    /// The customer accounts paying its invoices: those stored, or its
    /// customer alone.
    pub(crate) fn invoice_payers(&self) -> Vec<Uuid> {
        if self.payers.0.is_empty() { vec![self.customer_id] } else { self.payers.0.clone() }
    }
}

/// A billing charge as stored.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct ChargeRow {
    pub(crate) id: Uuid,
    pub(crate) livemode: bool,
    pub(crate) billing_schedule_id: Uuid,
    #[sqlx(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) currency: String,
    pub(crate) amount: Decimal,
    pub(crate) qty: i32,
    pub(crate) total: Decimal,
    pub(crate) attrs: Json<Value>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) modified_at: DateTime<Utc>,
    /// The first day it covers; none: the schedule's start.
    pub(crate) start_date: Option<NaiveDate>,
}

/// A schedule whose billing date has come, with its scope.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct DueSchedule {
    pub(crate) partner_id: Uuid,
    #[sqlx(flatten)]
    pub(crate) row: ScheduleRow,
}

/// The billing service's database.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pool: PgPool,
}

impl Store {
    /// The store over `pool` (the `billing` schema).
    pub(crate) const fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// A transaction for a change.
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Postgres>, Error> {
        Ok(self.pool.begin().await?)
    }

    /// A connection for reads that need no transaction (one statement, or
    /// statements that need not agree with each other).
    pub(crate) async fn conn(&self) -> Result<PoolConnection<Postgres>, Error> {
        Ok(self.pool.acquire().await?)
    }

    /// The rows of `scope` in `resource`'s table that `query` matches.
    async fn listed<T: for<'r> FromRow<'r, PgRow>>(
        &self,
        resource: &Resource,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<T>, Error> {
        list(&self.pool, resource, scope, query, limits, |_| {}, |row| Ok(T::from_row(row)?)).await
    }

    /// A read-only transaction that sees one snapshot: an object and its
    /// parts (an invoice and its items) read in it agree.
    pub(crate) async fn snapshot(&self) -> Result<Transaction<'static, Postgres>, Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
        Ok(tx)
    }

    /// The invoices of `scope` that `query` matches, read through `conn`.
    pub(crate) async fn invoices_in(
        conn: &mut PgConnection,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<InvoiceRow>, Error> {
        list(conn, &INVOICES, scope, query, limits, |_| {}, |row| Ok(InvoiceRow::from_row(row)?)).await
    }

    /// The schedules of `scope` that `query` matches, read through `conn`.
    pub(crate) async fn schedules_in(
        conn: &mut PgConnection,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<ScheduleRow>, Error> {
        list(conn, &SCHEDULES, scope, query, limits, |_| {}, |row| Ok(ScheduleRow::from_row(row)?)).await
    }

    // === Invoices ===

    /// Invoice `id` of `scope`; `lock` takes it for update.
    pub(crate) async fn invoice(
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        lock: bool,
    ) -> Result<InvoiceRow, Error> {
        one(conn, &INVOICES, scope, (id, "Invoice"), lock).await
    }

    /// Stores a new invoice (its totals follow from its items, stored
    /// after it by [`Store::insert_item`] and [`Store::refresh`]).
    pub(crate) async fn insert_invoice(
        conn: &mut PgConnection,
        scope: Scope,
        invoice: &NewInvoice,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let inserted = sqlx::query(
            "INSERT INTO invoices (id, partner_id, livemode, type, description, due_date, status, customer_id, \
             processing_id, billing_schedule_id, billing_contact, currency, total_due, total_paid, amount_due, \
             attrs, created_at, modified_at, payers, accepted_payment_state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, 0, 0, $13, $14, $14, $15, $16) \
             ON CONFLICT (billing_schedule_id, due_date) WHERE billing_schedule_id IS NOT NULL DO NOTHING",
        )
        .bind(invoice.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(invoice.kind.as_deref())
        .bind(invoice.description.as_deref())
        .bind(invoice.due_date)
        .bind(invoice.status.as_str())
        .bind(invoice.customer_id)
        .bind(invoice.processing_id)
        .bind(invoice.billing_schedule_id)
        .bind(invoice.billing_contact.as_ref().map(Json))
        .bind(&invoice.currency)
        .bind(Json(&invoice.attrs))
        .bind(now)
        .bind(Json(&invoice.payers))
        .bind(invoice.accepted.as_str())
        .execute(conn)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Recomputes invoice `id`'s totals from its items, each charge item's
    /// division among the payers, the payers' standings and the invoice's
    /// status as `status` says, given the row as it was; answers the row
    /// and its items as they are.
    pub(crate) async fn refresh(
        conn: &mut PgConnection,
        before: &InvoiceRow,
        status: impl FnOnce(Totals) -> Status,
        now: DateTime<Utc>,
    ) -> Result<(InvoiceRow, Vec<ItemRow>), Error> {
        let mut items = Self::items_of_in(conn, &[before.id]).await?;
        let totals = crate::domain::invoice::totals(
            items.iter().map(|i| (Entry::parse(&i.entry_type).unwrap_or(Entry::Charge), i.total)),
        );
        let payers = &before.payers.0;
        let mut shares = Vec::new();
        let mut paid = Vec::new();
        for item in &mut items {
            if item.entry_type == Entry::Payment.as_str() {
                paid.push(Paid { payer_id: item.payer_id, total: item.total, at: item.created_at });
                continue;
            }
            let divided = payers::divide(item.total, payers, &item.custom_parts());
            if divided != item.allocations.0 {
                sqlx::query("UPDATE line_items SET allocations = $2 WHERE id = $1")
                    .bind(item.id)
                    .bind(Json(&divided))
                    .execute(&mut *conn)
                    .await?;
                item.allocations = Json(divided);
            }
            shares.extend(item.allocations.0.iter().cloned());
        }
        let (payers, unallocated) = payers::standings(payers, &shares, &paid, totals.total_due);
        let status = status(totals);
        let paid_at = match (status, before.paid_at) {
            (Status::Paid, Some(at)) => Some(at),
            (Status::Paid, None) => Some(now),
            _ => None,
        };
        let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE invoices SET total_due = $2, total_paid = $3, amount_due = $4, status = $5, paid_at = $6, \
             modified_at = $7, payers = $8, amount_unallocated = $9 WHERE id = $1 RETURNING {}",
            INVOICES.select
        )))
        .bind(before.id)
        .bind(totals.total_due)
        .bind(totals.total_paid)
        .bind(totals.amount_due())
        .bind(status.as_str())
        .bind(paid_at)
        .bind(now)
        .bind(Json(&payers))
        .bind(unallocated)
        .fetch_one(conn)
        .await?;
        Ok((row, items))
    }

    /// The invoice that payer `payer` of `scope` belongs to, if any (the
    /// caller locks the invoice afterwards).
    pub(crate) async fn invoice_of_payer(
        conn: &mut PgConnection,
        scope: Scope,
        payer: Uuid,
    ) -> Result<Option<Uuid>, Error> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM invoices WHERE partner_id = $1 AND livemode = $2 AND payers @> $3",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(Json(serde_json::json!([{ "id": payer }])))
        .fetch_optional(conn)
        .await?)
    }

    /// Saves an invoice's own attributes (not its totals or status).
    pub(crate) async fn save_invoice(conn: &mut PgConnection, row: &InvoiceRow) -> Result<(), Error> {
        sqlx::query(
            "UPDATE invoices SET type = $2, description = $3, due_date = $4, billing_contact = $5, attrs = $6, \
             status = $7, paid_at = $8, modified_at = $9 WHERE id = $1",
        )
        .bind(row.id)
        .bind(row.kind.as_deref())
        .bind(row.description.as_deref())
        .bind(row.due_date)
        .bind(row.billing_contact.as_ref())
        .bind(&row.attrs)
        .bind(&row.status)
        .bind(row.paid_at)
        .bind(row.modified_at)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Deletes invoice `id` and its items.
    pub(crate) async fn delete_invoice(conn: &mut PgConnection, id: Uuid) -> Result<(), Error> {
        // What released allocations remember of it goes with it.
        sqlx::query("DELETE FROM allocations WHERE invoice_id = $1 AND status = 'released'")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM invoices WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    }

    /// Whether a payment in flight holds part of invoice `id`, or one paid
    /// it (its allocations reserved or applied).
    pub(crate) async fn allocated(conn: &mut PgConnection, id: Uuid) -> Result<bool, Error> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM allocations WHERE invoice_id = $1 AND status IN ('reserved', 'applied'))",
        )
        .bind(id)
        .fetch_one(conn)
        .await?)
    }

    /// Marks overdue at most `at_most` issued invoices of every partner with
    /// something left to pay after their due date, as of `today`; answers
    /// them with their partner.
    pub(crate) async fn mark_overdue(
        conn: &mut PgConnection,
        today: NaiveDate,
        at_most: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, InvoiceRow)>, Error> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH late AS (SELECT id FROM invoices WHERE status IN ('pending', 'partially_paid') \
                 AND due_date < $1 AND amount_due > 0 ORDER BY due_date LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE invoices i SET status = 'overdue', modified_at = $3 FROM late WHERE i.id = late.id \
             RETURNING i.partner_id, {}",
            INVOICES.select.split(", ").map(|c| format!("i.{c}")).collect::<Vec<_>>().join(", ")
        )))
        .bind(today)
        .bind(at_most)
        .bind(now)
        .fetch_all(conn)
        .await?;
        rows.iter()
            .map(|row| {
                use sqlx::Row as _;
                Ok((row.try_get("partner_id")?, InvoiceRow::from_row(row)?))
            })
            .collect()
    }

    // === Line items ===

    /// Line item `id` of `scope`; `lock` takes it for update.
    pub(crate) async fn item(
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        lock: bool,
    ) -> Result<ItemRow, Error> {
        one(conn, &LINE_ITEMS, scope, (id, "Line item"), lock).await
    }

    /// Line item `id` of `scope`, read outside a transaction.
    pub(crate) async fn read_item(&self, scope: Scope, id: Uuid) -> Result<ItemRow, Error> {
        Self::item(&mut *self.pool.acquire().await?, scope, id, false).await
    }

    /// The line items of `scope` that `query` matches.
    pub(crate) async fn items(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<ItemRow>, Error> {
        self.listed(&LINE_ITEMS, scope, query, limits).await
    }

    /// The items of `invoices`, each invoice's in the order they were added.
    pub(crate) async fn items_of_in(
        conn: &mut PgConnection,
        invoices: &[Uuid],
    ) -> Result<Vec<ItemRow>, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ITEM_COLUMNS} FROM line_items WHERE invoice_id = ANY($1) ORDER BY invoice_id, id"
        )))
        .bind(invoices)
        .fetch_all(conn)
        .await?)
    }

    /// Stores a line item of `invoice`, a charge divided among the
    /// invoice's `payers` (its custom parts kept, the rest split) as
    /// [`Store::refresh`] would divide it.
    pub(crate) async fn insert_item(
        conn: &mut PgConnection,
        scope: Scope,
        (invoice, payers): (Uuid, &[Payer]),
        item: &NewItem,
        now: DateTime<Utc>,
    ) -> Result<ItemRow, Error> {
        let allocations = match item.entry {
            Entry::Charge => {
                let custom: Vec<(Uuid, Decimal)> =
                    item.parts.iter().map(|s| (s.payer_id, s.amount)).collect();
                payers::divide(item.total, payers, &custom)
            }
            Entry::Payment => Vec::new(),
        };
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO line_items (id, partner_id, livemode, invoice_id, entry_type, type, description, amount, \
             qty, total, incurred_date, attrs, created_at, modified_at, currency, transaction_id, allocations, \
             payer_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, \
             (SELECT currency FROM invoices WHERE id = $4), $14, $15, $16) RETURNING {ITEM_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(invoice)
        .bind(item.entry.as_str())
        .bind(item.kind.as_deref())
        .bind(item.description.as_deref())
        .bind(item.amount)
        .bind(item.qty)
        .bind(item.total)
        .bind(item.incurred_date)
        .bind(Json(&item.attrs))
        .bind(now)
        .bind(item.transaction_id)
        .bind(Json(&allocations))
        .bind(item.payer_id)
        .fetch_one(conn)
        .await?)
    }

    /// Saves a line item's attributes.
    pub(crate) async fn save_item(conn: &mut PgConnection, row: &ItemRow) -> Result<(), Error> {
        sqlx::query(
            "UPDATE line_items SET type = $2, description = $3, amount = $4, qty = $5, total = $6, \
             incurred_date = $7, attrs = $8, modified_at = $9, allocations = $10 WHERE id = $1",
        )
        .bind(row.id)
        .bind(row.kind.as_deref())
        .bind(row.description.as_deref())
        .bind(row.amount)
        .bind(row.qty)
        .bind(row.total)
        .bind(row.incurred_date)
        .bind(&row.attrs)
        .bind(row.modified_at)
        .bind(&row.allocations)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Deletes line item `id`.
    pub(crate) async fn delete_item(conn: &mut PgConnection, id: Uuid) -> Result<(), Error> {
        sqlx::query("DELETE FROM line_items WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    }

    // === Billing schedules ===

    /// Schedule `id` of `scope`; `lock` takes it for update.
    pub(crate) async fn schedule(
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        lock: bool,
    ) -> Result<ScheduleRow, Error> {
        one(conn, &SCHEDULES, scope, (id, "Billing schedule"), lock).await
    }

    /// Schedule `id` of `scope`, read outside a transaction.
    pub(crate) async fn read_schedule(&self, scope: Scope, id: Uuid) -> Result<ScheduleRow, Error> {
        Self::schedule(&mut *self.pool.acquire().await?, scope, id, false).await
    }

    /// Stores a new schedule as `row` says.
    pub(crate) async fn insert_schedule(
        conn: &mut PgConnection,
        scope: Scope,
        row: &ScheduleRow,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO billing_schedules (id, partner_id, livemode, type, description, customer_id, processing_id, \
             currency, start_date, end_date, recurring_frequency, billing_days, billed_from, next_billing_date, \
             attrs, created_at, modified_at, prorated, payers, accepted_payment_state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18, $19)",
        )
        .bind(row.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(&row.kind)
        .bind(row.description.as_deref())
        .bind(row.customer_id)
        .bind(row.processing_id)
        .bind(&row.currency)
        .bind(row.start_date)
        .bind(row.end_date)
        .bind(&row.recurring_frequency)
        .bind(row.billing_days.as_ref())
        .bind(row.billed_from)
        .bind(row.next_billing_date)
        .bind(&row.attrs)
        .bind(row.created_at)
        .bind(row.prorated)
        .bind(&row.payers)
        .bind(&row.accepted_payment_state)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Saves a schedule's attributes and where its billing stands.
    pub(crate) async fn save_schedule(conn: &mut PgConnection, row: &ScheduleRow) -> Result<(), Error> {
        sqlx::query(
            "UPDATE billing_schedules SET type = $2, description = $3, start_date = $4, end_date = $5, \
             recurring_frequency = $6, billing_days = $7, billed_from = $8, next_billing_date = $9, attrs = $10, \
             modified_at = $11, prorated = $12 WHERE id = $1",
        )
        .bind(row.id)
        .bind(&row.kind)
        .bind(row.description.as_deref())
        .bind(row.start_date)
        .bind(row.end_date)
        .bind(&row.recurring_frequency)
        .bind(row.billing_days.as_ref())
        .bind(row.billed_from)
        .bind(row.next_billing_date)
        .bind(&row.attrs)
        .bind(row.modified_at)
        .bind(row.prorated)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Deletes schedule `id` and its charges.
    pub(crate) async fn delete_schedule(conn: &mut PgConnection, id: Uuid) -> Result<(), Error> {
        sqlx::query("DELETE FROM billing_schedules WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    }

    /// Takes at most `at_most` schedules of every partner whose next
    /// billing date is on or before `today`, each locked (others' sweeps
    /// skip them) until `conn`'s transaction ends.
    pub(crate) async fn due_schedules(
        conn: &mut PgConnection,
        today: NaiveDate,
        at_most: i64,
    ) -> Result<Vec<DueSchedule>, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT partner_id, {} FROM billing_schedules WHERE next_billing_date <= $1 \
             ORDER BY next_billing_date LIMIT $2 FOR UPDATE SKIP LOCKED",
            SCHEDULES.select
        )))
        .bind(today)
        .bind(at_most)
        .fetch_all(conn)
        .await?)
    }

    // === Billing charges ===

    /// Charge `id` of `scope`; `lock` takes it for update.
    pub(crate) async fn charge(
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        lock: bool,
    ) -> Result<ChargeRow, Error> {
        one(conn, &CHARGES, scope, (id, "Billing charge"), lock).await
    }

    /// Charge `id` of `scope`, read outside a transaction.
    pub(crate) async fn read_charge(&self, scope: Scope, id: Uuid) -> Result<ChargeRow, Error> {
        Self::charge(&mut *self.pool.acquire().await?, scope, id, false).await
    }

    /// The charges of `scope` that `query` matches.
    pub(crate) async fn charges(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<ChargeRow>, Error> {
        self.listed(&CHARGES, scope, query, limits).await
    }

    /// The charges of `schedules`, each schedule's in the order they were
    /// added.
    pub(crate) async fn charges_of_in(
        conn: &mut PgConnection,
        schedules: &[Uuid],
    ) -> Result<Vec<ChargeRow>, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CHARGE_COLUMNS} FROM billing_charges WHERE billing_schedule_id = ANY($1) \
             ORDER BY billing_schedule_id, id"
        )))
        .bind(schedules)
        .fetch_all(conn)
        .await?)
    }

    /// Stores a charge of `schedule`.
    pub(crate) async fn insert_charge(
        conn: &mut PgConnection,
        scope: Scope,
        schedule: Uuid,
        charge: &NewItem,
        now: DateTime<Utc>,
    ) -> Result<ChargeRow, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO billing_charges (id, partner_id, livemode, billing_schedule_id, type, description, amount, \
             qty, total, attrs, created_at, modified_at, currency, start_date) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, \
             (SELECT currency FROM billing_schedules WHERE id = $4), $12) RETURNING {CHARGE_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(schedule)
        .bind(charge.kind.as_deref())
        .bind(charge.description.as_deref())
        .bind(charge.amount)
        .bind(charge.qty)
        .bind(charge.total)
        .bind(Json(&charge.attrs))
        .bind(now)
        .bind(charge.incurred_date)
        .fetch_one(conn)
        .await?)
    }

    /// Saves a charge's attributes.
    pub(crate) async fn save_charge(conn: &mut PgConnection, row: &ChargeRow) -> Result<(), Error> {
        sqlx::query(
            "UPDATE billing_charges SET type = $2, description = $3, amount = $4, qty = $5, total = $6, attrs = $7, \
             modified_at = $8, start_date = $9 WHERE id = $1",
        )
        .bind(row.id)
        .bind(row.kind.as_deref())
        .bind(row.description.as_deref())
        .bind(row.amount)
        .bind(row.qty)
        .bind(row.total)
        .bind(&row.attrs)
        .bind(row.modified_at)
        .bind(row.start_date)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Deletes charge `id`.
    pub(crate) async fn delete_charge(conn: &mut PgConnection, id: Uuid) -> Result<(), Error> {
        sqlx::query("DELETE FROM billing_charges WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    }

    // === Autopay ===

    /// Enrollment `id` of `scope`; `lock` takes it for update.
    pub(crate) async fn enrollment(
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        lock: bool,
    ) -> Result<EnrollmentRow, Error> {
        one(conn, &ENROLLMENTS, scope, (id, "Autopay enrollment"), lock).await
    }

    /// Enrollment `id` of `scope`, read outside a transaction.
    pub(crate) async fn read_enrollment(&self, scope: Scope, id: Uuid) -> Result<EnrollmentRow, Error> {
        Self::enrollment(&mut *self.pool.acquire().await?, scope, id, false).await
    }

    /// The enrollments of `scope` that `query` matches.
    pub(crate) async fn enrollments(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<EnrollmentRow>, Error> {
        self.listed(&ENROLLMENTS, scope, query, limits).await
    }

    /// Stores enrollment `row` (new) or saves it (changed).
    pub(crate) async fn put_enrollment(
        conn: &mut PgConnection,
        scope: Scope,
        row: &EnrollmentRow,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO autopay_enrollments (id, partner_id, livemode, customer_id, payment_method_id, \
             billing_schedule_id, currency, upper_limit, status, last_payment_status, last_payment_at, \
             last_transaction_id, attrs, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (id) DO UPDATE SET payment_method_id = $5, upper_limit = $8, status = $9, \
             last_payment_status = $10, last_payment_at = $11, last_transaction_id = $12, attrs = $13, \
             modified_at = $15",
        )
        .bind(row.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(row.customer_id)
        .bind(row.payment_method_id)
        .bind(row.billing_schedule_id)
        .bind(&row.currency)
        .bind(row.upper_limit)
        .bind(&row.status)
        .bind(row.last_payment_status.as_deref())
        .bind(row.last_payment_at)
        .bind(row.last_transaction_id)
        .bind(&row.attrs)
        .bind(row.created_at)
        .bind(row.modified_at)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Deletes enrollment `id` and its attempts.
    pub(crate) async fn delete_enrollment(conn: &mut PgConnection, id: Uuid) -> Result<(), Error> {
        sqlx::query("DELETE FROM autopay_enrollments WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    }

    /// Takes the next invoice of any partner that autopay should charge
    /// on `today` — issued, due, something left to pay, its customer
    /// enrolled, never tried or declined and due again — with its
    /// enrollment and its last attempt; locked (other sweeps skip it)
    /// until `conn`'s transaction ends.
    pub(crate) async fn next_autopay(
        conn: &mut PgConnection,
        today: NaiveDate,
        after: Option<Uuid>,
    ) -> Result<Option<Autopay>, Error> {
        Ok(sqlx::query_as(
            "SELECT i.id AS invoice_id, i.partner_id, i.livemode, i.customer_id, i.processing_id, i.currency, \
                    o.amount, e.id AS enrollment_id, e.payment_method_id, e.upper_limit, \
                    a.attempt AS last_attempt, a.status AS last_status \
             FROM invoices i \
             CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_array_length(i.payers) <= 1 THEN i.amount_due \
                 ELSE LEAST(i.amount_due, GREATEST(0, COALESCE((SELECT (p->>'amount_allocated')::numeric \
                     - (p->>'amount_paid')::numeric FROM jsonb_array_elements(i.payers) p \
                     WHERE (p->>'account_id')::uuid = i.customer_id), 0))) END AS amount) o \
             JOIN LATERAL (SELECT * FROM autopay_enrollments e WHERE e.partner_id = i.partner_id \
                 AND e.livemode = i.livemode AND e.customer_id = i.customer_id AND e.status = 'active' \
                 AND (e.billing_schedule_id IS NULL OR e.billing_schedule_id = i.billing_schedule_id) \
                 AND (e.upper_limit IS NULL OR e.currency = i.currency) \
                 ORDER BY e.billing_schedule_id IS NULL, e.created_at LIMIT 1) e ON true \
             LEFT JOIN LATERAL (SELECT * FROM autopay_attempts a WHERE a.invoice_id = i.id \
                 ORDER BY a.attempt DESC LIMIT 1) a ON true \
             WHERE i.status IN ('pending', 'partially_paid', 'overdue') AND i.due_date <= $1 AND o.amount > 0 \
               AND ($2::uuid IS NULL OR i.id > $2) \
               AND (a.id IS NULL OR (a.status = 'declined' AND a.next_attempt_on <= $1)) \
             ORDER BY i.id LIMIT 1 FOR UPDATE OF i SKIP LOCKED",
        )
        .bind(today)
        .bind(after)
        .fetch_optional(conn)
        .await?)
    }

    /// Takes an attempt of any partner that was sent and never ended (its
    /// sweep was cut short) at or before `stale`, to send again as it was
    /// — whatever became of the invoice or the enrollment since; locked
    /// until `conn`'s transaction ends.
    pub(crate) async fn unended_autopay(
        conn: &mut PgConnection,
        stale: DateTime<Utc>,
    ) -> Result<Option<Autopay>, Error> {
        Ok(sqlx::query_as(
            "SELECT i.id AS invoice_id, i.partner_id, i.livemode, i.customer_id, i.processing_id, i.currency, \
                    a.amount, a.enrollment_id, a.payment_method_id, NULL::numeric AS upper_limit, \
                    a.attempt AS last_attempt, a.status AS last_status \
             FROM autopay_attempts a JOIN invoices i ON i.id = a.invoice_id \
             WHERE a.status = 'charging' AND a.modified_at <= $1 \
             ORDER BY a.modified_at LIMIT 1 FOR UPDATE OF a SKIP LOCKED",
        )
        .bind(stale)
        .fetch_optional(conn)
        .await?)
    }

    /// Records attempt `attempt` to charge an invoice as sent, with what it
    /// asks for (or marks it sent again).
    pub(crate) async fn charging(
        conn: &mut PgConnection,
        due: &Autopay,
        attempt: i16,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO autopay_attempts (id, partner_id, livemode, invoice_id, enrollment_id, attempt, status, \
             amount, payment_method_id, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'charging', $7, $8, $9, $9) \
             ON CONFLICT (invoice_id, attempt) DO UPDATE SET modified_at = $9",
        )
        .bind(Uuid::now_v7())
        .bind(due.partner_id)
        .bind(due.livemode)
        .bind(due.invoice_id)
        .bind(due.enrollment_id)
        .bind(attempt)
        .bind(due.amount)
        .bind(due.payment_method_id)
        .bind(now)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Records how an attempt ended, and shows it on its enrollment.
    pub(crate) async fn attempted(
        &self,
        due: &Autopay,
        attempt: i16,
        ended: &Attempted,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE autopay_attempts SET status = $3, transaction_id = $4, next_attempt_on = $5, reason = $6, \
             modified_at = $7 WHERE invoice_id = $1 AND attempt = $2",
        )
        .bind(due.invoice_id)
        .bind(attempt)
        .bind(ended.status)
        .bind(ended.transaction_id)
        .bind(ended.next_attempt_on)
        .bind(ended.reason.as_deref())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE autopay_enrollments SET last_payment_status = $2, last_payment_at = $3, \
             last_transaction_id = $4, modified_at = $3 WHERE id = $1",
        )
        .bind(due.enrollment_id)
        .bind(ended.status)
        .bind(now)
        .bind(ended.transaction_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // === Allocations ===

    /// The allocations of payment `transaction`, in the order given, locked.
    pub(crate) async fn allocations_of(
        conn: &mut PgConnection,
        scope: Scope,
        transaction: Uuid,
    ) -> Result<Vec<AllocationRow>, Error> {
        Ok(sqlx::query_as(
            "SELECT id, invoice_id, amount, status, reversed, payer_id FROM allocations \
             WHERE transaction_id = $1 AND partner_id = $2 AND livemode = $3 ORDER BY position FOR UPDATE",
        )
        .bind(transaction)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_all(conn)
        .await?)
    }

    /// What payments in flight have reserved of invoice `invoice`.
    pub(crate) async fn reserved_on(conn: &mut PgConnection, invoice: Uuid) -> Result<Decimal, Error> {
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(sum(amount), 0) FROM allocations WHERE invoice_id = $1 AND status = 'reserved'",
        )
        .bind(invoice)
        .fetch_one(conn)
        .await?)
    }

    /// Reserves `amount` of invoice `invoice` for payment `transaction`.
    pub(crate) async fn insert_allocation(
        conn: &mut PgConnection,
        scope: Scope,
        (transaction, invoice, position): (Uuid, Uuid, i16),
        (amount, payer): (Decimal, Option<Uuid>),
        now: DateTime<Utc>,
    ) -> Result<AllocationRow, Error> {
        Ok(sqlx::query_as(
            "INSERT INTO allocations (id, partner_id, livemode, transaction_id, invoice_id, position, amount, \
             status, created_at, modified_at, payer_id) VALUES ($1, $2, $3, $4, $5, $6, $7, 'reserved', $8, $8, $9) \
             RETURNING id, invoice_id, amount, status, reversed, payer_id",
        )
        .bind(Uuid::now_v7())
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(transaction)
        .bind(invoice)
        .bind(position)
        .bind(amount)
        .bind(now)
        .bind(payer)
        .fetch_one(conn)
        .await?)
    }

    /// Whether payment `transaction` pays an invoice that accepts payments
    /// in full only.
    pub(crate) async fn holds_settlement(conn: &mut PgConnection, transaction: Uuid) -> Result<bool, Error> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM allocations a JOIN invoices i ON i.id = a.invoice_id \
             WHERE a.transaction_id = $1 AND i.accepted_payment_state = 'full')",
        )
        .bind(transaction)
        .fetch_one(conn)
        .await?)
    }

    /// What payments in flight have reserved of payer `payer`'s part.
    pub(crate) async fn reserved_for(conn: &mut PgConnection, payer: Uuid) -> Result<Decimal, Error> {
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(sum(amount), 0) FROM allocations WHERE payer_id = $1 AND status = 'reserved'",
        )
        .bind(payer)
        .fetch_one(conn)
        .await?)
    }

    /// Of `transactions` of `scope`, those no full-settlement invoice holds:
    /// every such invoice they pay (reserved, or applied and not all gone
    /// back) is paid or closed.
    pub(crate) async fn releasable(&self, scope: Scope, transactions: &[Uuid]) -> Result<Vec<Uuid>, Error> {
        Ok(sqlx::query_scalar(
            "SELECT t FROM unnest($1::uuid[]) AS t WHERE NOT EXISTS ( \
                 SELECT 1 FROM allocations a JOIN invoices i ON i.id = a.invoice_id \
                 WHERE a.transaction_id = t AND a.partner_id = $2 AND a.livemode = $3 \
                   AND (a.status = 'reserved' OR (a.status = 'applied' AND a.reversed < a.amount)) \
                   AND i.accepted_payment_state = 'full' AND i.status NOT IN ('paid', 'closed'))",
        )
        .bind(transactions)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Saves where allocation `row` stands.
    pub(crate) async fn save_allocation(
        conn: &mut PgConnection,
        row: &AllocationRow,
        line_item: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE allocations SET status = $2, reversed = $3, line_item_id = COALESCE($4, line_item_id), \
             modified_at = $5 WHERE id = $1",
        )
        .bind(row.id)
        .bind(&row.status)
        .bind(row.reversed)
        .bind(line_item)
        .bind(now)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Records notice `id` as settled; `false` if it was before.
    pub(crate) async fn settle_notice(
        conn: &mut PgConnection,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let inserted = sqlx::query(
            "INSERT INTO settled_notices (id, settled_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    // === Attachments ===

    /// Attachment `id` of `scope`, without its content.
    pub(crate) async fn attachment(&self, scope: Scope, id: Uuid) -> Result<AttachmentRow, Error> {
        one(&mut *self.pool.acquire().await?, &ATTACHMENTS, scope, (id, "Invoice attachment"), false).await
    }

    /// The attachments of `scope` that `query` matches; with `merchant`,
    /// only those of its processing account's invoices and links.
    pub(crate) async fn attachments(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
        merchant: Option<Uuid>,
    ) -> Result<Listing<AttachmentRow>, Error> {
        let Some(merchant) = merchant else { return self.listed(&ATTACHMENTS, scope, query, limits).await };
        list(
            &self.pool,
            &ATTACHMENTS,
            scope,
            query,
            limits,
            |b| {
                b.push(" AND (invoice_id IN (SELECT id FROM invoices WHERE processing_id = ")
                    .push_bind(merchant)
                    .push(") OR payment_link_id IN (SELECT id FROM payment_links WHERE processing_id = ")
                    .push_bind(merchant)
                    .push("))");
            },
            |row| Ok(AttachmentRow::from_row(row)?),
        )
        .await
    }

    /// The attachments of `owner` (an invoice or a payment link), oldest
    /// first.
    pub(crate) async fn attachments_of(
        &self,
        scope: Scope,
        owner: Owner,
    ) -> Result<Vec<AttachmentRow>, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM invoice_attachments WHERE partner_id = $1 AND livemode = $2 AND {} = $3 \
             ORDER BY created_at, id",
            ATTACHMENTS.select,
            owner.column()
        )))
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(owner.id())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Attachment `id`'s content (the attachment is `scope`'s: read it first).
    pub(crate) async fn attachment_content(&self, id: Uuid) -> Result<Vec<u8>, Error> {
        Ok(sqlx::query_scalar("SELECT content FROM invoice_attachments WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Stores an attachment with its `content`.
    pub(crate) async fn insert_attachment(
        conn: &mut PgConnection,
        scope: Scope,
        new: &NewAttachment,
        content: &[u8],
        now: DateTime<Utc>,
    ) -> Result<AttachmentRow, Error> {
        let (invoice, link) = match new.owner {
            Owner::Invoice(id) => (Some(id), None),
            Owner::Link(id) => (None, Some(id)),
        };
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO invoice_attachments (id, partner_id, livemode, invoice_id, payment_link_id, file_name, \
             content_type, size_bytes, sha256, content, attrs, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {}",
            ATTACHMENTS.select
        )))
        .bind(Uuid::now_v7())
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(invoice)
        .bind(link)
        .bind(&new.file_name)
        .bind(new.content_type)
        .bind(i64::try_from(content.len()).unwrap_or(i64::MAX))
        .bind(files::sha256_hex(content))
        .bind(content)
        .bind(Json(&new.attrs))
        .bind(now)
        .fetch_one(conn)
        .await?)
    }

    /// Deletes attachment `id`.
    pub(crate) async fn delete_attachment(conn: &mut PgConnection, id: Uuid) -> Result<(), Error> {
        sqlx::query("DELETE FROM invoice_attachments WHERE id = $1").bind(id).execute(conn).await?;
        Ok(())
    }

    /// Records the event `<resource>.<change>` about `id` in `conn`'s
    /// transaction.
    pub(crate) async fn record(
        conn: &mut PgConnection,
        scope: Scope,
        (resource, change): (&'static str, &str),
        id: Uuid,
        data: Value,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        outbox::record_change(conn, scope, resource, change, id, data, at).await
    }
}

/// An invoice attachment as stored (without its content).
#[derive(Clone, Debug, FromRow)]
pub(crate) struct AttachmentRow {
    pub(crate) id: Uuid,
    pub(crate) livemode: bool,
    pub(crate) invoice_id: Option<Uuid>,
    pub(crate) payment_link_id: Option<Uuid>,
    pub(crate) file_name: String,
    pub(crate) content_type: String,
    pub(crate) size_bytes: i64,
    pub(crate) sha256: String,
    pub(crate) attrs: Json<Value>,
    pub(crate) created_at: DateTime<Utc>,
}

/// What a file is attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// An invoice.
    Invoice(Uuid),
    /// A payment link.
    Link(Uuid),
}

impl Owner {
    /// The column that names it.
    const fn column(self) -> &'static str {
        match self {
            Self::Invoice(_) => "invoice_id",
            Self::Link(_) => "payment_link_id",
        }
    }

    /// Its id.
    const fn id(self) -> Uuid {
        match self {
            Self::Invoice(id) | Self::Link(id) => id,
        }
    }
}

/// An attachment to store.
#[derive(Clone, Debug)]
pub(crate) struct NewAttachment {
    pub(crate) owner: Owner,
    pub(crate) file_name: String,
    pub(crate) content_type: &'static str,
    pub(crate) attrs: Value,
}

/// An autopay enrollment as stored.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct EnrollmentRow {
    pub(crate) id: Uuid,
    pub(crate) livemode: bool,
    pub(crate) customer_id: Uuid,
    pub(crate) payment_method_id: Uuid,
    pub(crate) billing_schedule_id: Option<Uuid>,
    pub(crate) currency: String,
    pub(crate) upper_limit: Option<Decimal>,
    pub(crate) status: String,
    pub(crate) last_payment_status: Option<String>,
    pub(crate) last_payment_at: Option<DateTime<Utc>>,
    pub(crate) last_transaction_id: Option<Uuid>,
    pub(crate) attrs: Json<Value>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) modified_at: DateTime<Utc>,
}

/// An invoice autopay should charge now.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct Autopay {
    pub(crate) invoice_id: Uuid,
    pub(crate) partner_id: Uuid,
    pub(crate) livemode: bool,
    pub(crate) customer_id: Uuid,
    pub(crate) processing_id: Uuid,
    pub(crate) currency: String,
    /// What to charge: what is left to pay, or what a sent attempt asked.
    pub(crate) amount: Decimal,
    pub(crate) enrollment_id: Uuid,
    pub(crate) payment_method_id: Uuid,
    pub(crate) upper_limit: Option<Decimal>,
    /// Its last attempt's number and status, if any.
    pub(crate) last_attempt: Option<i16>,
    pub(crate) last_status: Option<String>,
}

/// How an autopay attempt ended.
#[derive(Clone, Debug)]
pub(crate) struct Attempted {
    pub(crate) status: &'static str,
    pub(crate) transaction_id: Option<Uuid>,
    pub(crate) next_attempt_on: Option<NaiveDate>,
    pub(crate) reason: Option<String>,
}

/// An allocation as stored.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct AllocationRow {
    pub(crate) id: Uuid,
    pub(crate) invoice_id: Uuid,
    pub(crate) amount: Decimal,
    pub(crate) status: String,
    pub(crate) reversed: Decimal,
    pub(crate) payer_id: Option<Uuid>,
}

/// An invoice to store.
#[derive(Clone, Debug)]
pub(crate) struct NewInvoice {
    pub(crate) id: Uuid,
    pub(crate) kind: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) due_date: NaiveDate,
    pub(crate) status: Status,
    pub(crate) customer_id: Uuid,
    pub(crate) processing_id: Uuid,
    pub(crate) billing_schedule_id: Option<Uuid>,
    pub(crate) billing_contact: Option<Value>,
    pub(crate) currency: String,
    pub(crate) attrs: Value,
    pub(crate) payers: Vec<Payer>,
    pub(crate) accepted: AcceptedPaymentState,
}

/// A line item or billing charge to store.
#[derive(Clone, Debug)]
pub(crate) struct NewItem {
    pub(crate) entry: Entry,
    pub(crate) kind: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) amount: Decimal,
    pub(crate) qty: i32,
    pub(crate) total: Decimal,
    pub(crate) incurred_date: Option<NaiveDate>,
    pub(crate) attrs: Value,
    /// The transaction a payment item records.
    pub(crate) transaction_id: Option<Uuid>,
    /// Charge items: the custom parts of payers (the auto ones follow).
    pub(crate) parts: Vec<Share>,
    /// Payment items: the payer that paid.
    pub(crate) payer_id: Option<Uuid>,
}
