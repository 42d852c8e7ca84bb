//! # paymesh-events — events and webhooks
//!
//! This crate will own the `events` schema and the `paymesh.events.v1`
//! gRPC service (default port 50056): the event log fed by every service's
//! transactional outbox (at-least-once, deduplicated by event id), webhook
//! subscriptions, signed deliveries with retries, and delivery logs.
//!
//! It holds no code yet: events arrive with their own issue; until then each
//! service records its events in its own `outbox` table through
//! `paymesh_kit::outbox`.
