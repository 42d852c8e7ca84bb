//! Recording domain events in the same transaction as the change.
//!
//! A service calls [`record`] with the transaction that changes its tables;
//! the event row commits or rolls back with the change, so there is never a
//! change without its event nor an event without its change. The events
//! service (and its relay) publishes rows from each service's `outbox`
//! table at least once; consumers deduplicate by [`OutboxEvent::id`].

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth::Scope;

/// A domain event about to be recorded.
#[derive(Clone, Debug)]
pub struct OutboxEvent {
    /// Unique and stable: the deduplication key downstream.
    pub id: Uuid,
    /// The partner and mode the event belongs to.
    pub scope: Scope,
    /// Dotted name, `<resource>.<change>`, e.g. `account.created`.
    pub event_type: String,
    /// The kind of object that changed, e.g. `account`.
    pub resource: &'static str,
    /// The object that changed.
    pub resource_id: Uuid,
    /// The object after the change (before it, for deletions). Never holds
    /// card or bank account numbers, keys or other secrets.
    pub data: serde_json::Value,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
}

impl OutboxEvent {
    /// An event `<resource>.<change>` about `resource_id`.
    pub fn new(
        scope: Scope,
        resource: &'static str,
        change: &str,
        resource_id: Uuid,
        data: serde_json::Value,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            scope,
            event_type: format!("{resource}.{change}"),
            resource,
            resource_id,
            data,
            occurred_at,
        }
    }
}

/// Records the event `<resource>.<change>` about `id`, as it was `at`,
/// through `conn` (the transaction of the change).
pub async fn record_change(
    conn: &mut PgConnection,
    scope: Scope,
    resource: &'static str,
    change: &str,
    id: Uuid,
    data: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), crate::Error> {
    record(conn, &OutboxEvent::new(scope, resource, change, id, data, at)).await?;
    Ok(())
}

/// Writes `event` through `conn`, which should be the open transaction of the
/// change it describes.
#[tracing::instrument(skip_all, fields(event_type = %event.event_type, resource_id = %event.resource_id))]
pub async fn record(conn: &mut PgConnection, event: &OutboxEvent) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (id, partner_id, livemode, event_type, resource, resource_id, data, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(event.id)
    .bind(event.scope.partner_id)
    .bind(event.scope.livemode)
    .bind(&event.event_type)
    .bind(event.resource)
    .bind(event.resource_id)
    .bind(&event.data)
    .bind(event.occurred_at)
    .execute(conn)
    .await?;
    Ok(())
}
