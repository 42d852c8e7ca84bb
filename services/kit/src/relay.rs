//! The outbox relay: every service forwards the events it recorded in its
//! `outbox` (in the transaction of each change, see [`crate::outbox`]) to
//! the events service's `Publish`, outside any request.
//!
//! - **At least once.** Rows are marked published only after `Publish`
//!   answered; a process that dies in between publishes them again, and
//!   the events service skips ids it has (event ids are the key).
//! - **In order per object.** One relay at a time drains a schema (a
//!   transaction-scoped advisory lock, so any number of replicas is safe),
//!   oldest first, and a batch is published in that order, one call per
//!   partner and mode (the scope the service token presents).
//! - **Off the write path.** Changes only insert their row; the relay
//!   wakes every `interval` and drains what is there.
//!
//! The age of the oldest unpublished row is the metric
//! `paymesh_outbox_lag_seconds{schema}`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use paymesh_proto::events::v1::{PublishRequest, PublishedEvent, event_service_client::EventServiceClient};
use sqlx::{PgPool, Row as _};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    Error,
    auth::{Scope, ServiceToken},
    channel::Channel,
    faults,
    json::{timestamp, to_struct},
    metrics::metrics,
};

/// The most rows one pass publishes.
pub const BATCH: i64 = 500;

/// A relay of one service schema's outbox.
#[derive(Clone, Debug)]
pub struct Relay {
    schema: &'static str,
    pool: PgPool,
    events: EventServiceClient<Channel>,
    token: ServiceToken,
}

impl Relay {
    /// The relay of `schema`'s outbox in `pool`, publishing to the events
    /// service at `events` with the service's `token`.
    pub fn new(schema: &'static str, pool: PgPool, events: Channel, token: ServiceToken) -> Self {
        Self { schema, pool, events: EventServiceClient::new(events), token }
    }

    /// Drains the outbox every `interval` until `stop` is cancelled; a
    /// failed pass (the events service or the database away) is retried
    /// on the next tick.
    pub async fn run(self, interval: Duration, stop: CancellationToken) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // An outage is said once when it starts and once when it ends, not
        // on every tick.
        let mut failing = false;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            loop {
                match self.pass().await {
                    Ok(published) => {
                        if failing {
                            tracing::info!(schema = self.schema, "outbox relay publishing again");
                            failing = false;
                        }
                        // A full batch: more may be waiting.
                        if published < BATCH as usize {
                            break;
                        }
                    }
                    Err(e) => {
                        if !failing {
                            tracing::warn!(schema = self.schema, error = %e, "outbox relay cannot publish; retrying");
                            failing = true;
                        }
                        self.record_lag().await;
                        break;
                    }
                }
            }
        }
    }

    /// Records the age of the oldest unpublished event (after a failed
    /// pass, while events wait).
    async fn record_lag(&self) {
        let oldest: Result<Option<DateTime<Utc>>, sqlx::Error> =
            sqlx::query_scalar("SELECT min(created_at) FROM outbox WHERE published_at IS NULL")
                .fetch_one(&self.pool)
                .await;
        if let Ok(Some(oldest)) = oldest {
            metrics().record_outbox(self.schema, (Utc::now() - oldest).to_std().unwrap_or_default(), 0);
        }
    }

    /// Publishes the oldest unpublished rows, at most [`BATCH`], and marks
    /// them; answers how many. Another relay draining the same schema makes
    /// this pass publish nothing.
    pub async fn pass(&self) -> Result<usize, Error> {
        let mut tx = self.pool.begin().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext($1))")
            .bind(format!("paymesh.outbox.relay.{}", self.schema))
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            return Ok(0);
        }
        let rows = sqlx::query(
            "SELECT id, partner_id, livemode, event_type, resource, resource_id, data, created_at FROM outbox \
             WHERE published_at IS NULL ORDER BY created_at, id LIMIT $1",
        )
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let oldest: Option<DateTime<Utc>> = rows.first().map(|r| r.try_get("created_at")).transpose()?;
        let mut batches: Vec<(Scope, Vec<PublishedEvent>)> = Vec::new();
        let mut ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let scope = Scope { partner_id: row.try_get("partner_id")?, livemode: row.try_get("livemode")? };
            let id: Uuid = row.try_get("id")?;
            let data = match row.try_get::<serde_json::Value, _>("data")? {
                serde_json::Value::Object(map) => map,
                other => serde_json::Map::from_iter([("value".to_owned(), other)]),
            };
            let event = PublishedEvent {
                id: id.to_string(),
                partner_id: scope.partner_id.to_string(),
                livemode: scope.livemode,
                r#type: row.try_get("event_type")?,
                resource: row.try_get("resource")?,
                resource_id: row.try_get::<Uuid, _>("resource_id")?.to_string(),
                data: Some(to_struct(data)),
                create_time: Some(timestamp(row.try_get("created_at")?)),
            };
            ids.push(id);
            match batches.last_mut() {
                Some((last, events)) if *last == scope => events.push(event),
                _ => batches.push((scope, vec![event])),
            }
        }
        for (scope, events) in batches {
            let request = self.token.request(scope, PublishRequest { events });
            self.events
                .clone()
                .publish(request)
                .await
                .map_err(|status| Error::from_peer("events", &status))?;
        }
        // A process that dies here has published what it has not marked:
        // the next pass publishes it again, and the log keeps it once.
        faults::check("relay.before_mark").await?;
        sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let lag = oldest
            .filter(|_| rows.len() == BATCH as usize)
            .and_then(|at| (Utc::now() - at).to_std().ok())
            .unwrap_or_default();
        metrics().record_outbox(self.schema, lag, ids.len() as u64);
        Ok(ids.len())
    }
}
