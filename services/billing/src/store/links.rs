//! The SQL of payment links, their messages and their pages' payment
//! attempts.

use chrono::{DateTime, NaiveDate, Utc};
use paymesh_kit::{
    Error,
    auth::Scope,
    config::ListLimits,
    query::{Column, ColumnType, Listing, Resource, one},
};
use paymesh_proto::common::v1::ListQuery;
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::{FromRow, PgConnection, Row as _, postgres::PgRow, types::Json};
use uuid::Uuid;

use super::{ATTACHMENTS, AttachmentRow, Store};
use crate::domain::link::{LinkStatus, LinkType};

/// `/payment_links`: the queryable attributes of payment links (never
/// their token).
pub(crate) static LINKS: Resource = Resource {
    name: "payment_link",
    table: "payment_links",
    select: "id, livemode, token, type, description, amount, currency, processing_id, customer_id, invoice_id, \
             additional_datafields, status, expires_at, transaction_id, payment_count, amount_paid, redirect_url, \
             due_date, reminders, attrs, created_at, modified_at",
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "type", sql: "type", ty: ColumnType::Enum(LinkType::WORDS) },
        Column { name: "description", sql: "description", ty: ColumnType::Text },
        Column { name: "amount", sql: "amount", ty: ColumnType::Decimal },
        Column { name: "currency", sql: "currency", ty: ColumnType::Text },
        Column { name: "processing_id", sql: "processing_id", ty: ColumnType::Id },
        Column { name: "customer_id", sql: "customer_id", ty: ColumnType::Id },
        Column { name: "invoice_id", sql: "invoice_id", ty: ColumnType::Id },
        Column { name: "status", sql: "status", ty: ColumnType::Enum(LinkStatus::WORDS) },
        Column { name: "expires_at", sql: "expires_at", ty: ColumnType::Timestamp },
        Column { name: "transaction_id", sql: "transaction_id", ty: ColumnType::Id },
        Column { name: "payment_count", sql: "payment_count", ty: ColumnType::Integer },
        Column { name: "amount_paid", sql: "amount_paid", ty: ColumnType::Decimal },
        Column { name: "due_date", sql: "due_date", ty: ColumnType::Date },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

/// A payment link as stored.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct LinkRow {
    pub(crate) id: Uuid,
    pub(crate) livemode: bool,
    pub(crate) token: String,
    #[sqlx(rename = "type")]
    pub(crate) kind: String,
    pub(crate) description: String,
    pub(crate) amount: Option<Decimal>,
    pub(crate) currency: String,
    pub(crate) processing_id: Uuid,
    pub(crate) customer_id: Option<Uuid>,
    pub(crate) invoice_id: Option<Uuid>,
    pub(crate) additional_datafields: Json<Value>,
    pub(crate) status: String,
    pub(crate) expires_at: Option<DateTime<Utc>>,
    pub(crate) transaction_id: Option<Uuid>,
    pub(crate) payment_count: i32,
    pub(crate) amount_paid: Decimal,
    pub(crate) redirect_url: Option<String>,
    pub(crate) due_date: Option<NaiveDate>,
    pub(crate) reminders: Json<Value>,
    pub(crate) attrs: Json<Value>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) modified_at: DateTime<Utc>,
}

impl LinkRow {
    /// The link's type.
    pub(crate) fn kind(&self) -> LinkType {
        LinkType::parse(&self.kind)
    }

    /// The link's status at `now`.
    pub(crate) fn status_at(&self, now: DateTime<Utc>) -> LinkStatus {
        LinkStatus::at(&self.status, self.expires_at, now)
    }
}

/// What a link's answer shows besides its row: the messages sent about it
/// and the files attached to it, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Related {
    /// The messages sent about it.
    pub(crate) messages: Vec<MessageRow>,
    /// Its files.
    pub(crate) attachments: Vec<AttachmentRow>,
}

/// A message about a link.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct MessageRow {
    pub(crate) id: Uuid,
    pub(crate) link_id: Uuid,
    pub(crate) channel: String,
    pub(crate) kind: String,
    pub(crate) recipient: String,
    pub(crate) subject: String,
    pub(crate) body: String,
    pub(crate) status: String,
    pub(crate) attempts: i16,
    pub(crate) error: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) sent_at: Option<DateTime<Utc>>,
}

const MESSAGE_COLUMNS: &str =
    "id, link_id, channel, kind, recipient, subject, body, status, attempts, error, created_at, sent_at";

/// A message to record.
#[derive(Clone, Debug)]
pub(crate) struct NewMessage {
    pub(crate) channel: &'static str,
    pub(crate) reminder_on: Option<NaiveDate>,
    pub(crate) recipient: String,
    pub(crate) subject: String,
    pub(crate) body: String,
    /// `queued` for the relay, or already `sent` (webhook) / `recorded`.
    pub(crate) status: &'static str,
}

/// One submission of a link's page.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct AttemptRow {
    pub(crate) id: Uuid,
    pub(crate) link_id: Uuid,
    pub(crate) partner_id: Uuid,
    pub(crate) livemode: bool,
    pub(crate) amount: Decimal,
    pub(crate) customer_id: Uuid,
    pub(crate) status: String,
    pub(crate) transaction_id: Option<Uuid>,
    pub(crate) message: Option<String>,
    /// What the payment charged (with any convenience fee).
    pub(crate) charged: Option<Decimal>,
}

const ATTEMPT_COLUMNS: &str =
    "id, link_id, partner_id, livemode, amount, customer_id, status, transaction_id, message, charged";

impl AttemptRow {
    /// The attempt's scope.
    pub(crate) const fn scope(&self) -> Scope {
        Scope { partner_id: self.partner_id, livemode: self.livemode }
    }
}

/// A link read with its `partner_id`.
fn with_partner(row: &PgRow) -> Result<(Uuid, LinkRow), Error> {
    Ok((row.try_get("partner_id")?, LinkRow::from_row(row)?))
}

impl Store {
    /// Link `id` of `scope`, locked with `lock`.
    pub(crate) async fn link(
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        lock: bool,
    ) -> Result<LinkRow, Error> {
        one(conn, &LINKS, scope, (id, "Payment link"), lock).await
    }

    /// The link whose page's token is `token`, with its scope; locked with
    /// `lock`.
    pub(crate) async fn link_by_token(
        conn: &mut PgConnection,
        token: &str,
        lock: bool,
    ) -> Result<(LinkRow, Scope), Error> {
        let lock = if lock { " FOR UPDATE" } else { "" };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT partner_id, {} FROM payment_links WHERE token = $1{lock}",
            LINKS.select
        )))
        .bind(token)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| with_partner(&row))
        .transpose()?;
        let (partner_id, link) = row.ok_or(Error::NotFound { resource: "Payment link" })?;
        let scope = Scope { partner_id, livemode: link.livemode };
        Ok((link, scope))
    }

    /// The links of `scope` that `query` matches.
    pub(crate) async fn links(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<LinkRow>, Error> {
        self.listed(&LINKS, scope, query, limits).await
    }

    /// Stores a new link.
    pub(crate) async fn insert_link(
        conn: &mut PgConnection,
        scope: Scope,
        row: &LinkRow,
    ) -> Result<LinkRow, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO payment_links (id, partner_id, livemode, token, type, description, amount, currency, \
             processing_id, customer_id, invoice_id, additional_datafields, status, expires_at, redirect_url, \
             due_date, reminders, attrs, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) \
             RETURNING {}",
            LINKS.select
        )))
        .bind(row.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(&row.token)
        .bind(&row.kind)
        .bind(&row.description)
        .bind(row.amount)
        .bind(&row.currency)
        .bind(row.processing_id)
        .bind(row.customer_id)
        .bind(row.invoice_id)
        .bind(&row.additional_datafields)
        .bind(&row.status)
        .bind(row.expires_at)
        .bind(&row.redirect_url)
        .bind(row.due_date)
        .bind(&row.reminders)
        .bind(&row.attrs)
        .bind(row.created_at)
        .fetch_one(conn)
        .await?)
    }

    /// Saves what a link's owner or its payments change.
    pub(crate) async fn save_link(
        conn: &mut PgConnection,
        row: &LinkRow,
        now: DateTime<Utc>,
    ) -> Result<LinkRow, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE payment_links SET description = $2, amount = $3, additional_datafields = $4, status = $5, \
             expires_at = $6, transaction_id = $7, payment_count = $8, amount_paid = $9, redirect_url = $10, \
             due_date = $11, reminders = $12, attrs = $13, modified_at = $14 \
             WHERE id = $1 RETURNING {}",
            LINKS.select
        )))
        .bind(row.id)
        .bind(&row.description)
        .bind(row.amount)
        .bind(&row.additional_datafields)
        .bind(&row.status)
        .bind(row.expires_at)
        .bind(row.transaction_id)
        .bind(row.payment_count)
        .bind(row.amount_paid)
        .bind(&row.redirect_url)
        .bind(row.due_date)
        .bind(&row.reminders)
        .bind(&row.attrs)
        .bind(now)
        .fetch_one(conn)
        .await?)
    }

    /// Cancels the active links of invoice `invoice` (it is being deleted).
    pub(crate) async fn cancel_invoice_links(
        conn: &mut PgConnection,
        invoice: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<LinkRow>, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE payment_links SET status = 'canceled', modified_at = $2 \
             WHERE invoice_id = $1 AND status = 'active' RETURNING {}",
            LINKS.select
        )))
        .bind(invoice)
        .bind(now)
        .fetch_all(conn)
        .await?)
    }

    /// The messages of `links`, oldest first.
    pub(crate) async fn link_messages(&self, links: &[Uuid]) -> Result<Vec<MessageRow>, Error> {
        if links.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM payment_link_messages WHERE link_id = ANY($1) ORDER BY created_at, id"
        )))
        .bind(links)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The files attached to `links`, oldest first.
    pub(crate) async fn link_attachments(&self, links: &[Uuid]) -> Result<Vec<AttachmentRow>, Error> {
        if links.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM invoice_attachments WHERE payment_link_id = ANY($1) ORDER BY created_at, id",
            ATTACHMENTS.select
        )))
        .bind(links)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records a message about `link`; `None` when a reminder of that day
    /// is already recorded.
    pub(crate) async fn insert_message(
        conn: &mut PgConnection,
        scope: Scope,
        link: Uuid,
        new: &NewMessage,
        now: DateTime<Utc>,
    ) -> Result<Option<MessageRow>, Error> {
        let sent_at = (new.status == "sent").then_some(now);
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO payment_link_messages (id, link_id, partner_id, livemode, channel, kind, reminder_on, \
             recipient, subject, body, status, created_at, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (link_id, reminder_on) DO NOTHING RETURNING {MESSAGE_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(link)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(new.channel)
        .bind(if new.reminder_on.is_some() { "reminder" } else { "link" })
        .bind(new.reminder_on)
        .bind(&new.recipient)
        .bind(&new.subject)
        .bind(&new.body)
        .bind(new.status)
        .bind(now)
        .bind(sent_at)
        .fetch_optional(conn)
        .await?)
    }

    /// Up to `limit` queued messages, locked for one sender (others skip
    /// them).
    pub(crate) async fn queued_messages(
        conn: &mut PgConnection,
        limit: i64,
    ) -> Result<Vec<MessageRow>, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM payment_link_messages WHERE status = 'queued' \
             ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED"
        )))
        .bind(limit)
        .fetch_all(conn)
        .await?)
    }

    /// Records how handing message `id` over went.
    pub(crate) async fn message_handed(
        conn: &mut PgConnection,
        id: Uuid,
        status: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE payment_link_messages SET status = $2, error = $3, attempts = attempts + 1, \
             sent_at = CASE WHEN $2 = 'sent' THEN $4 ELSE sent_at END WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(error)
        .bind(now)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Active links of every partner whose expiry has come, marked expired.
    pub(crate) async fn expire_links(
        conn: &mut PgConnection,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(Uuid, LinkRow)>, Error> {
        let rows: Vec<PgRow> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE payment_links SET status = 'expired', modified_at = $1 WHERE id IN \
             (SELECT id FROM payment_links WHERE status = 'active' AND expires_at <= $1 \
              ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING partner_id, {}",
            LINKS.select
        )))
        .bind(now)
        .bind(limit)
        .fetch_all(conn)
        .await?;
        rows.iter().map(with_partner).collect()
    }

    /// Active links of every partner with reminders and a due date within
    /// reach of `today` (60 days either side), with their partner.
    pub(crate) async fn reminding_links(
        &self,
        today: NaiveDate,
        limit: i64,
    ) -> Result<Vec<(Uuid, LinkRow)>, Error> {
        let rows: Vec<PgRow> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT partner_id, {} FROM payment_links WHERE status = 'active' AND due_date IS NOT NULL \
             AND reminders <> '{{}}' AND due_date BETWEEN $1::date - 60 AND $1::date + 60 \
             AND NOT EXISTS (SELECT 1 FROM payment_link_messages m WHERE m.link_id = payment_links.id \
                             AND m.reminder_on = $1::date) \
             ORDER BY due_date, id LIMIT $2",
            LINKS.select
        )))
        .bind(today)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(with_partner).collect()
    }

    /// The submission `submission` of link `link`, locked.
    pub(crate) async fn attempt(
        conn: &mut PgConnection,
        link: Uuid,
        submission: &str,
    ) -> Result<Option<AttemptRow>, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTEMPT_COLUMNS} FROM payment_link_attempts WHERE link_id = $1 AND submission_id = $2 FOR UPDATE"
        )))
        .bind(link)
        .bind(submission)
        .fetch_optional(conn)
        .await?)
    }

    /// Whether another submission of `link` is being charged, sent since
    /// `since`.
    pub(crate) async fn charging_elsewhere(
        conn: &mut PgConnection,
        link: Uuid,
        submission: &str,
        since: DateTime<Utc>,
    ) -> Result<bool, Error> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM payment_link_attempts WHERE link_id = $1 AND submission_id <> $2 \
             AND status = 'charging' AND modified_at > $3)",
        )
        .bind(link)
        .bind(submission)
        .bind(since)
        .fetch_one(conn)
        .await?)
    }

    /// Records a submission about to be charged.
    pub(crate) async fn insert_attempt(
        conn: &mut PgConnection,
        scope: Scope,
        (link, submission): (Uuid, &str),
        amount: Decimal,
        customer: Uuid,
        now: DateTime<Utc>,
    ) -> Result<AttemptRow, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO payment_link_attempts (id, link_id, partner_id, livemode, submission_id, amount, \
             customer_id, status, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'charging', $8, $8) RETURNING {ATTEMPT_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(link)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(submission)
        .bind(amount)
        .bind(customer)
        .bind(now)
        .fetch_one(conn)
        .await?)
    }

    /// Records how a submission's charge ended.
    pub(crate) async fn finish_attempt(
        conn: &mut PgConnection,
        id: Uuid,
        status: &str,
        (transaction, message, charged): (Option<Uuid>, Option<&str>, Option<Decimal>),
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE payment_link_attempts SET status = $2, transaction_id = $3, message = $4, modified_at = $5, \
             charged = $6 WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(transaction)
        .bind(message)
        .bind(now)
        .bind(charged)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Submissions still `charging` since before `before`: cut short.
    pub(crate) async fn stale_attempts(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AttemptRow>, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTEMPT_COLUMNS} FROM payment_link_attempts WHERE status = 'charging' AND modified_at < $1 \
             ORDER BY modified_at LIMIT $2"
        )))
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Attempt `id`.
    pub(crate) async fn attempt_by_id(conn: &mut PgConnection, id: Uuid) -> Result<AttemptRow, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTEMPT_COLUMNS} FROM payment_link_attempts WHERE id = $1"
        )))
        .bind(id)
        .fetch_one(conn)
        .await?)
    }

    /// Attempt `id`, locked, if it is still charging.
    pub(crate) async fn charging_attempt(
        conn: &mut PgConnection,
        id: Uuid,
    ) -> Result<Option<AttemptRow>, Error> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTEMPT_COLUMNS} FROM payment_link_attempts WHERE id = $1 AND status = 'charging' FOR UPDATE"
        )))
        .bind(id)
        .fetch_optional(conn)
        .await?)
    }
}
