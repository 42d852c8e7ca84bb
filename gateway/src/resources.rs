//! The REST resources, one module each, and what they share: the list
//! envelope and timestamps.

pub(crate) mod accounts;

use axum::Json;
use prost_types::Timestamp;
use serde_json::{Value, json};

/// `{"object": "list", "values": […]}`.
pub(crate) fn list_response(values: impl Iterator<Item = Value>) -> Json<Value> {
    Json(json!({"object": "list", "values": values.collect::<Vec<_>>()}))
}

/// A timestamp as RFC 3339 in UTC (`2026-11-21T19:27:00.123456Z`), or null.
pub(crate) fn timestamp(at: Option<Timestamp>) -> Value {
    at.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map_or(Value::Null, |t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
}
