//! The SQL of the events service: the event log, webhooks, their
//! deliveries and the logs of every attempt. Every statement is scoped by
//! partner and mode, except the delivery worker's queue, which serves every
//! partner and reads each delivery's scope from its row.

use chrono::{DateTime, TimeDelta, Utc};
use paymesh_kit::{
    Error,
    auth::Scope,
    config::ListLimits,
    query::{self, Column, ColumnType, Listing, Resource, list},
};
use paymesh_proto::common::v1::ListQuery;
use serde_json::Value;
use sqlx::{FromRow, PgPool, Postgres, Transaction, postgres::PgRow, types::Json};
use uuid::Uuid;

use crate::domain::{
    address::MAX_URL_CHARS,
    trigger::{Change, Trigger},
};

/// Trigger words a webhook may hold.
const TRIGGERS: &[&str] = Trigger::WORDS;

/// `/events`: the queryable attributes of the event log.
pub(crate) static EVENTS: Resource = Resource {
    name: "event",
    table: "events",
    select: "id, partner_id, livemode, type, resource, resource_id, change, data, created_at",
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "type", sql: "type", ty: ColumnType::Text },
        Column { name: "resource", sql: "resource", ty: ColumnType::Text },
        Column { name: "resource_id", sql: "resource_id", ty: ColumnType::Id },
        Column { name: "change", sql: "change", ty: ColumnType::Enum(Change::WORDS) },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: None,
    soft_delete: false,
    shared_rows: false,
};

/// `/webhooks`: the queryable attributes of webhooks.
pub(crate) static WEBHOOKS: Resource = Resource {
    name: "webhook",
    table: "webhooks",
    select: WEBHOOK_COLUMNS,
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "url", sql: "url", ty: ColumnType::Text },
        Column { name: "trigger", sql: "trigger", ty: ColumnType::Enum(TRIGGERS) },
        Column { name: "status", sql: "status", ty: ColumnType::Enum(&["enabled", "disabled"]) },
        Column {
            name: "disabled_reason",
            sql: "disabled_reason",
            ty: ColumnType::Enum(&["requested", "gone", "failing"]),
        },
        Column { name: "disabled_at", sql: "disabled_at", ty: ColumnType::Timestamp },
        Column { name: "failing_since", sql: "failing_since", ty: ColumnType::Timestamp },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: true,
    shared_rows: false,
};

/// `/webhook_logs`: the queryable attributes of delivery attempts.
pub(crate) static WEBHOOK_LOGS: Resource = Resource {
    name: "webhook_log",
    table: "webhook_logs",
    select: "id, partner_id, livemode, webhook_id, event_id, trigger, triggered_on_id, triggered_on_object, \
             triggered_on_type, url, attempt, outcome, http_status, duration_ms, response, error, next_attempt_at, \
             created_at",
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "webhook_id", sql: "webhook_id", ty: ColumnType::Id },
        Column { name: "event_id", sql: "event_id", ty: ColumnType::Id },
        Column { name: "trigger", sql: "trigger", ty: ColumnType::Enum(TRIGGERS) },
        Column { name: "triggered_on.id", sql: "triggered_on_id", ty: ColumnType::Id },
        // As the other objects' `payer.id` is filtered by `payer_id`.
        Column { name: "triggered_on_id", sql: "triggered_on_id", ty: ColumnType::Id },
        Column { name: "triggered_on.object", sql: "triggered_on_object", ty: ColumnType::Text },
        Column { name: "url", sql: "url", ty: ColumnType::Text },
        Column { name: "attempt", sql: "attempt", ty: ColumnType::Integer },
        Column { name: "outcome", sql: "outcome", ty: ColumnType::Enum(&["succeeded", "failed", "gave_up"]) },
        Column { name: "http_status", sql: "http_status", ty: ColumnType::Integer },
        Column { name: "duration_ms", sql: "duration_ms", ty: ColumnType::Integer },
        Column { name: "next_attempt_at", sql: "next_attempt_at", ty: ColumnType::Timestamp },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: None,
    soft_delete: false,
    shared_rows: false,
};

const WEBHOOK_COLUMNS: &str = "id, partner_id, livemode, url, trigger, status, disabled_reason, disabled_at, \
     previous_secret_expires_at, failing_since, attrs, created_at, modified_at";

/// An event as stored.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct EventRow {
    pub(crate) id: Uuid,
    pub(crate) livemode: bool,
    #[sqlx(rename = "type")]
    pub(crate) kind: String,
    pub(crate) resource: String,
    pub(crate) resource_id: Uuid,
    pub(crate) change: String,
    pub(crate) data: Json<Value>,
    pub(crate) created_at: DateTime<Utc>,
}

/// An event to record.
#[derive(Clone, Debug)]
pub(crate) struct NewEvent {
    pub(crate) id: Uuid,
    pub(crate) kind: String,
    pub(crate) resource: String,
    pub(crate) resource_id: Uuid,
    pub(crate) change: Change,
    pub(crate) data: Value,
    pub(crate) created_at: DateTime<Utc>,
    /// The triggers it fires.
    pub(crate) fired: Vec<Trigger>,
}

/// A webhook as stored.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct WebhookRow {
    pub(crate) id: Uuid,
    pub(crate) livemode: bool,
    pub(crate) url: String,
    pub(crate) trigger: String,
    pub(crate) status: String,
    pub(crate) disabled_reason: Option<String>,
    pub(crate) disabled_at: Option<DateTime<Utc>>,
    pub(crate) previous_secret_expires_at: Option<DateTime<Utc>>,
    pub(crate) failing_since: Option<DateTime<Utc>>,
    pub(crate) attrs: Json<Value>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) modified_at: DateTime<Utc>,
}

/// A webhook log as stored.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct LogRow {
    pub(crate) id: Uuid,
    pub(crate) livemode: bool,
    pub(crate) webhook_id: Uuid,
    pub(crate) event_id: Uuid,
    pub(crate) trigger: String,
    pub(crate) triggered_on_id: Uuid,
    pub(crate) triggered_on_object: String,
    pub(crate) triggered_on_type: Option<String>,
    pub(crate) url: String,
    pub(crate) attempt: i16,
    pub(crate) outcome: String,
    pub(crate) http_status: Option<i16>,
    pub(crate) duration_ms: i32,
    pub(crate) response: String,
    pub(crate) error: Option<String>,
    pub(crate) next_attempt_at: Option<DateTime<Utc>>,
    pub(crate) created_at: DateTime<Utc>,
}

/// A delivery that is due, with what its attempt needs.
#[derive(Clone, Debug, FromRow)]
pub(crate) struct Due {
    pub(crate) id: Uuid,
    pub(crate) partner_id: Uuid,
    pub(crate) livemode: bool,
    pub(crate) webhook_id: Uuid,
    pub(crate) event_id: Uuid,
    pub(crate) trigger: String,
    pub(crate) attempts: i16,
    pub(crate) url: String,
    pub(crate) secret_sealed: Vec<u8>,
    pub(crate) previous_secret_sealed: Option<Vec<u8>>,
    pub(crate) previous_secret_expires_at: Option<DateTime<Utc>>,
    pub(crate) failing_since: Option<DateTime<Utc>>,
    #[sqlx(rename = "type")]
    pub(crate) kind: String,
    pub(crate) resource_id: Uuid,
    pub(crate) data: Json<Value>,
    pub(crate) created_at: DateTime<Utc>,
}

/// How an attempt ended, to store.
#[derive(Clone, Debug)]
pub(crate) struct Attempted {
    pub(crate) outcome: &'static str,
    pub(crate) http_status: Option<u16>,
    pub(crate) duration_ms: u32,
    pub(crate) response: String,
    pub(crate) error: Option<String>,
    pub(crate) next_attempt_at: Option<DateTime<Utc>>,
    /// Whether the attempt succeeded (ends the webhook's failure streak).
    pub(crate) delivered: bool,
    /// Why to disable the webhook now, if at all (`gone`, `failing`).
    pub(crate) disable: Option<&'static str>,
    /// The object the event is about.
    pub(crate) triggered_on: (Uuid, String, Option<String>),
    pub(crate) at: DateTime<Utc>,
}

/// A webhook's new values, to store.
#[derive(Clone, Debug, Default)]
pub(crate) struct WebhookChange {
    pub(crate) url: Option<String>,
    pub(crate) trigger: Option<Trigger>,
    /// `Some(true)` enables, `Some(false)` disables (reason `requested`).
    pub(crate) enabled: Option<bool>,
    pub(crate) attrs: Option<Value>,
}

/// The events service's database.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pool: PgPool,
}

impl Store {
    /// The store over `pool` (the `events` schema).
    pub(crate) const fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Records `events` of `scope` (skipping ids already recorded) and
    /// schedules their deliveries to the webhooks that hear them, in one
    /// transaction; answers the ids recorded now.
    pub(crate) async fn publish(
        &self,
        scope: Scope,
        events: &[NewEvent],
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, Error> {
        let mut tx = self.pool.begin().await?;
        let mut recorded = Vec::new();
        for event in events {
            let inserted = sqlx::query(
                "INSERT INTO events (id, partner_id, livemode, type, resource, resource_id, change, data, created_at, \
                 recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
            )
            .bind(event.id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(&event.kind)
            .bind(&event.resource)
            .bind(event.resource_id)
            .bind(event.change.as_str())
            .bind(Json(&event.data))
            .bind(event.created_at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                continue;
            }
            recorded.push(event.id);
            for trigger in &event.fired {
                schedule(&mut tx, scope, None, event.id, *trigger, false, now).await?;
            }
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// One event of `scope`.
    pub(crate) async fn event(&self, scope: Scope, id: Uuid) -> Result<EventRow, Error> {
        self.one(&EVENTS, scope, id, "Event").await
    }

    /// The events of `scope` that `query` matches.
    pub(crate) async fn events(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<EventRow>, Error> {
        self.listed(&EVENTS, scope, query, limits).await
    }

    /// The row `id` of `scope` in `resource`'s table (not deleted), or
    /// `NotFound` naming `name`.
    async fn one<T: for<'r> FromRow<'r, PgRow> + Send + Unpin>(
        &self,
        resource: &Resource,
        scope: Scope,
        id: Uuid,
        name: &'static str,
    ) -> Result<T, Error> {
        query::one(&mut *self.pool.acquire().await?, resource, scope, (id, name), false).await
    }

    /// The rows of `scope` in `resource`'s table that `query` matches.
    async fn listed<T: for<'r> FromRow<'r, PgRow>>(
        &self,
        resource: &Resource,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<T>, Error> {
        list(&self.pool, resource, scope, query, limits, |_| {}, read::<T>).await
    }

    /// The position (`seq`) of event `id` of `scope`.
    pub(crate) async fn position(&self, scope: Scope, id: Uuid) -> Result<i64, Error> {
        sqlx::query_scalar("SELECT seq FROM events WHERE id = $1 AND partner_id = $2 AND livemode = $3")
            .bind(id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound { resource: "Event" })
    }

    /// The latest position of `scope`'s events (0 when it has none).
    pub(crate) async fn latest_position(&self, scope: Scope) -> Result<i64, Error> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT max(seq) FROM events WHERE partner_id = $1 AND livemode = $2")
                .bind(scope.partner_id)
                .bind(scope.livemode)
                .fetch_one(&self.pool)
                .await?;
        Ok(seq.unwrap_or(0))
    }

    /// At most `limit` events of `scope` after position `after`, in order,
    /// with their positions.
    pub(crate) async fn events_after(
        &self,
        scope: Scope,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, EventRow)>, Error> {
        let rows = sqlx::query(
            "SELECT seq, id, livemode, type, resource, resource_id, change, data, created_at FROM events \
             WHERE partner_id = $1 AND livemode = $2 AND seq > $3 ORDER BY seq LIMIT $4",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let seq: i64 = sqlx::Row::try_get(row, "seq")?;
                Ok((seq, EventRow::from_row(row)?))
            })
            .collect()
    }

    /// Stores a new webhook.
    pub(crate) async fn insert_webhook(
        &self,
        scope: Scope,
        (id, url, trigger): (Uuid, &str, Trigger),
        enabled: bool,
        secret_sealed: &[u8],
        attrs: &Value,
        now: DateTime<Utc>,
    ) -> Result<WebhookRow, Error> {
        debug_assert!(url.chars().count() <= MAX_URL_CHARS);
        let (status, reason, at) =
            if enabled { ("enabled", None, None) } else { ("disabled", Some("requested"), Some(now)) };
        let sql = format!(
            "INSERT INTO webhooks (id, partner_id, livemode, url, trigger, status, disabled_reason, disabled_at, \
             secret_sealed, attrs, created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
             RETURNING {WEBHOOK_COLUMNS}"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(url)
            .bind(trigger.as_str())
            .bind(status)
            .bind(reason)
            .bind(at)
            .bind(secret_sealed)
            .bind(Json(attrs))
            .bind(now)
            .fetch_one(&self.pool)
            .await?)
    }

    /// One webhook of `scope` (not deleted).
    pub(crate) async fn webhook(&self, scope: Scope, id: Uuid) -> Result<WebhookRow, Error> {
        self.one(&WEBHOOKS, scope, id, "Webhook").await
    }

    /// The webhooks of `scope` that `query` matches.
    pub(crate) async fn webhooks(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<WebhookRow>, Error> {
        self.listed(&WEBHOOKS, scope, query, limits).await
    }

    /// Applies `change` to webhook `id`. Enabling clears its reason and its
    /// failure streak; disabling gives up its pending deliveries.
    pub(crate) async fn update_webhook(
        &self,
        scope: Scope,
        id: Uuid,
        change: &WebhookChange,
        now: DateTime<Utc>,
    ) -> Result<WebhookRow, Error> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "UPDATE webhooks SET url = coalesce($4, url), trigger = coalesce($5, trigger), \
             attrs = coalesce($6, attrs), \
             status = CASE WHEN $7::boolean IS NULL THEN status WHEN $7 THEN 'enabled' ELSE 'disabled' END, \
             disabled_reason = CASE WHEN $7::boolean IS NULL THEN disabled_reason WHEN $7 THEN NULL \
                 WHEN status = 'disabled' THEN disabled_reason ELSE 'requested' END, \
             disabled_at = CASE WHEN $7::boolean IS NULL THEN disabled_at WHEN $7 THEN NULL \
                 WHEN status = 'disabled' THEN disabled_at ELSE $8 END, \
             failing_since = CASE WHEN $7 THEN NULL ELSE failing_since END, \
             modified_at = $8 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL RETURNING {WEBHOOK_COLUMNS}"
        );
        let row: WebhookRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(change.url.as_deref())
            .bind(change.trigger.map(Trigger::as_str))
            .bind(change.attrs.as_ref().map(Json))
            .bind(change.enabled)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::NotFound { resource: "Webhook" })?;
        if row.status == "disabled" {
            give_up(&mut tx, id, now).await?;
        }
        tx.commit().await?;
        Ok(row)
    }

    /// Deletes webhook `id` (kept for its logs, never shown again) and
    /// gives up its pending deliveries; answers it as it was.
    pub(crate) async fn delete_webhook(
        &self,
        scope: Scope,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<WebhookRow, Error> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "UPDATE webhooks SET deleted_at = $4, modified_at = $4 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL RETURNING {WEBHOOK_COLUMNS}"
        );
        let row: WebhookRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::NotFound { resource: "Webhook" })?;
        give_up(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Replaces webhook `id`'s secret with `sealed`; the current one signs
    /// too until `previous_until` (not at all when that is `now`).
    pub(crate) async fn rotate_secret(
        &self,
        scope: Scope,
        id: Uuid,
        sealed: &[u8],
        previous_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<WebhookRow, Error> {
        let sql = format!(
            "UPDATE webhooks SET \
             previous_secret_sealed = CASE WHEN $5 > $6 THEN secret_sealed END, \
             previous_secret_expires_at = CASE WHEN $5 > $6 THEN $5 END, \
             secret_sealed = $4, modified_at = $6 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL RETURNING {WEBHOOK_COLUMNS}"
        );
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(sealed)
            .bind(previous_until)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound { resource: "Webhook" })
    }

    /// Schedules webhook `webhook`'s deliveries again: of `event`, or of
    /// every event of `scope` since `since` that fires its trigger (`fires`
    /// says which triggers an event type fires). Answers how many.
    pub(crate) async fn redeliver(
        &self,
        scope: Scope,
        webhook: &WebhookRow,
        (event, since): (Option<Uuid>, Option<DateTime<Utc>>),
        fires: impl Fn(&str) -> Vec<Trigger>,
        now: DateTime<Utc>,
    ) -> Result<u32, Error> {
        let Some(listens) = Trigger::parse(&webhook.trigger) else {
            return Err(Error::Internal(anyhow::anyhow!(
                "webhook {} has trigger {}",
                webhook.id,
                webhook.trigger
            )));
        };
        let rows: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT id, type FROM events WHERE partner_id = $1 AND livemode = $2 \
             AND ($3::uuid IS NULL OR id = $3) AND ($4::timestamptz IS NULL OR created_at >= $4) ORDER BY seq",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(event)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        if event.is_some() && rows.is_empty() {
            return Err(Error::invalid("event_id", "No such event"));
        }
        let mut tx = self.pool.begin().await?;
        let mut scheduled = 0;
        for (id, kind) in rows {
            let heard = fires(&kind).into_iter().find(|fired| listens.hears(*fired));
            match heard {
                Some(trigger) => {
                    let made = schedule(&mut tx, scope, Some(webhook.id), id, trigger, true, now).await?;
                    scheduled += u32::from(made > 0);
                }
                None if event.is_some() => {
                    return Err(Error::invalid(
                        "event_id",
                        format!(
                            "The event ({kind}) is not one the webhook's trigger ({}) hears",
                            webhook.trigger
                        ),
                    ));
                }
                None => {}
            }
        }
        tx.commit().await?;
        Ok(scheduled)
    }

    /// The webhook logs of `scope` that `query` matches.
    pub(crate) async fn logs(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<LogRow>, Error> {
        self.listed(&WEBHOOK_LOGS, scope, query, limits).await
    }

    /// One webhook log of `scope`.
    pub(crate) async fn log(&self, scope: Scope, id: Uuid) -> Result<LogRow, Error> {
        self.one(&WEBHOOK_LOGS, scope, id, "Webhook log").await
    }

    /// Takes at most `at_most` deliveries due at `now`, each held until
    /// `until` by the caller, oldest first.
    pub(crate) async fn due(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        at_most: i64,
    ) -> Result<Vec<Due>, Error> {
        Ok(sqlx::query_as(
            "WITH taken AS ( \
                 UPDATE deliveries SET locked_until = $2 WHERE id IN ( \
                     SELECT id FROM deliveries WHERE status IN ('pending', 'failed') AND next_attempt_at <= $1 \
                     AND (locked_until IS NULL OR locked_until <= $1) \
                     ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, partner_id, livemode, webhook_id, event_id, trigger, attempts) \
             SELECT taken.*, w.url, w.secret_sealed, w.previous_secret_sealed, w.previous_secret_expires_at, \
                    w.failing_since, e.type, e.resource_id, e.data, e.created_at \
             FROM taken JOIN webhooks w ON w.id = taken.webhook_id JOIN events e ON e.id = taken.event_id",
        )
        .bind(now)
        .bind(until)
        .bind(at_most)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stores how `due`'s attempt ended: the delivery's new state, its log,
    /// the webhook's failure streak, and — when the webhook is disabled by
    /// it — its other deliveries given up and a `webhook.disabled` event.
    pub(crate) async fn attempted(&self, due: &Due, attempted: &Attempted) -> Result<(), Error> {
        let at = attempted.at;
        let mut tx = self.pool.begin().await?;
        let attempt = due.attempts + 1;
        let status = match attempted.outcome {
            "succeeded" => "succeeded",
            "failed" => "failed",
            _ => "gave_up",
        };
        sqlx::query(
            "UPDATE deliveries SET status = $2, attempts = $3, next_attempt_at = $4, locked_until = NULL, \
             modified_at = $5 WHERE id = $1",
        )
        .bind(due.id)
        .bind(status)
        .bind(attempt)
        .bind(attempted.next_attempt_at)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let (on_id, on_object, on_type) = &attempted.triggered_on;
        sqlx::query(
            "INSERT INTO webhook_logs (id, partner_id, livemode, webhook_id, delivery_id, event_id, trigger, \
             triggered_on_id, triggered_on_object, triggered_on_type, url, attempt, outcome, http_status, \
             duration_ms, response, error, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        )
        .bind(Uuid::now_v7())
        .bind(due.partner_id)
        .bind(due.livemode)
        .bind(due.webhook_id)
        .bind(due.id)
        .bind(due.event_id)
        .bind(&due.trigger)
        .bind(on_id)
        .bind(on_object)
        .bind(on_type.as_deref())
        .bind(&due.url)
        .bind(attempt)
        .bind(attempted.outcome)
        .bind(attempted.http_status.and_then(|s| i16::try_from(s).ok()))
        .bind(i32::try_from(attempted.duration_ms).unwrap_or(i32::MAX))
        .bind(&attempted.response)
        .bind(attempted.error.as_deref())
        .bind(attempted.next_attempt_at)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let streak = if attempted.delivered { None } else { Some(due.failing_since.unwrap_or(at)) };
        sqlx::query("UPDATE webhooks SET failing_since = $2 WHERE id = $1")
            .bind(due.webhook_id)
            .bind(streak)
            .execute(&mut *tx)
            .await?;
        if let Some(reason) = attempted.disable {
            let disabled = sqlx::query(
                "UPDATE webhooks SET status = 'disabled', disabled_reason = $2, disabled_at = $3, modified_at = $3 \
                 WHERE id = $1 AND status = 'enabled'",
            )
            .bind(due.webhook_id)
            .bind(reason)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            give_up(&mut tx, due.webhook_id, at).await?;
            if disabled.rows_affected() == 1 {
                let data = serde_json::json!({
                    "object": "webhook", "id": due.webhook_id.to_string(), "url": due.url,
                    "status": "disabled", "disabled_reason": reason,
                });
                sqlx::query(
                    "INSERT INTO events (id, partner_id, livemode, type, resource, resource_id, change, data, \
                     created_at, recorded_at) VALUES ($1, $2, $3, 'webhook.disabled', 'webhook', $4, 'update', $5, $6, $6)",
                )
                .bind(Uuid::now_v7())
                .bind(due.partner_id)
                .bind(due.livemode)
                .bind(due.webhook_id)
                .bind(Json(data))
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes events and webhook logs older than `before`, and the
    /// previous secrets whose grace period ended; answers how many rows.
    pub(crate) async fn forget_before(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, Error> {
        let mut tx = self.pool.begin().await?;
        let logs = sqlx::query("DELETE FROM webhook_logs WHERE created_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        // A delivery still under way keeps its event.
        let events = sqlx::query(
            "DELETE FROM events e WHERE created_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status IN ('pending', 'failed'))",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhooks SET previous_secret_sealed = NULL, previous_secret_expires_at = NULL \
             WHERE previous_secret_expires_at <= $1",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(logs.rows_affected() + events.rows_affected())
    }
}

/// Reads a listed row.
fn read<T: for<'r> FromRow<'r, PgRow>>(row: &PgRow) -> Result<T, Error> {
    Ok(T::from_row(row)?)
}

/// Schedules the delivery of `event` (firing `trigger`) to the enabled
/// webhooks of `scope` that hear it — or to `webhook` alone; answers how
/// many were scheduled (a live delivery of the same event is not doubled).
async fn schedule(
    tx: &mut Transaction<'_, Postgres>,
    scope: Scope,
    webhook: Option<Uuid>,
    event: Uuid,
    trigger: Trigger,
    redelivery: bool,
    now: DateTime<Utc>,
) -> Result<u64, Error> {
    let scheduled = sqlx::query(
        "INSERT INTO deliveries (id, partner_id, livemode, webhook_id, event_id, trigger, status, attempts, \
         next_attempt_at, redelivery, created_at, modified_at) \
         SELECT gen_random_uuid(), $1, $2, w.id, $3, $4, 'pending', 0, $5, $6, $5, $5 FROM webhooks w \
         WHERE w.partner_id = $1 AND w.livemode = $2 AND w.status = 'enabled' AND w.deleted_at IS NULL \
         AND (w.trigger = $4 OR w.trigger = '*') AND ($7::uuid IS NULL OR w.id = $7) \
         ON CONFLICT (webhook_id, event_id) WHERE status IN ('pending', 'failed') DO NOTHING",
    )
    .bind(scope.partner_id)
    .bind(scope.livemode)
    .bind(event)
    .bind(trigger.as_str())
    .bind(now)
    .bind(redelivery)
    .bind(webhook)
    .execute(&mut **tx)
    .await?;
    Ok(scheduled.rows_affected())
}

/// Gives up webhook `id`'s deliveries that are still to be attempted.
async fn give_up(tx: &mut Transaction<'_, Postgres>, id: Uuid, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "UPDATE deliveries SET status = 'gave_up', next_attempt_at = NULL, locked_until = NULL, modified_at = $2 \
         WHERE webhook_id = $1 AND status IN ('pending', 'failed')",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How long a worker holds the deliveries it took.
pub(crate) const HOLD: TimeDelta = TimeDelta::seconds(60);
