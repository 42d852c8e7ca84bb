//! # paymesh-events — the event log, webhooks and their deliveries
//!
//! The events service owns the `events` schema and serves
//! `paymesh.events.v1` on port 50056:
//!
//! - **The event log** — every service records its domain events in its
//!   own `outbox`, in the transaction of each change; the kit's relay
//!   ([`paymesh_kit::relay`]) publishes them here at least once, and event
//!   ids make that exactly once in the log. `/events` lists them with the
//!   query language; `Subscribe` streams them as they arrive (the gateway
//!   serves it as Server-Sent Events). Events are kept 30 days by default.
//! - **Webhooks** — a partner's endpoints, each with one of Payload's
//!   triggers (or `*`) and a signing secret, rotatable with a grace period.
//! - **Deliveries** — each event that fires a trigger is posted to the
//!   webhooks that hear it, signed as Standard Webhooks says, on the
//!   Standard Webhooks retry schedule; every attempt is a webhook log. The
//!   SSRF guard checks each URL at creation and each address at delivery,
//!   and the delivery connects to the address it checked.
//!
//! Layout, the shape of every service: `domain` holds the rules with no
//! I/O; `store` the SQL; `convert` the one mapping between wire and
//! stored values; `service` the operations (and the delivery worker);
//! `grpc` the thin handlers.

mod config;
mod convert;
mod deliver;
pub mod domain;
mod grpc;
mod service;
mod store;

use std::{future::Future, sync::Arc, time::Duration};

use paymesh_kit::{
    auth::{CachedAuthenticator, RemoteAuthenticator},
    clock::Clock,
    config::CommonConfig,
    db,
    grpc::{self as kit_grpc, GrpcServer},
    idempotency::IdempotencyKeys,
};
use paymesh_proto::events::v1::{
    event_service_server::EventServiceServer, webhook_log_service_server::WebhookLogServiceServer,
    webhook_service_server::WebhookServiceServer,
};
use sqlx::{PgPool, migrate::Migrator};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{
    Config, ENV_DELIVERY_INTERVAL_MS, ENV_EVENT_RETENTION_DAYS, ENV_EVENTS_ADDR, ENV_WEBHOOK_ALLOW_PRIVATE,
    ENV_WEBHOOK_CA_FILE,
};

/// The schema the events service owns.
pub const SCHEMA: &str = "events";

/// How often what passed retention is removed.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Connects to the events schema, creating the database and applying
/// migrations as needed.
pub async fn open_database(config: &CommonConfig) -> anyhow::Result<PgPool> {
    db::open(&config.database, SCHEMA, &MIGRATIONS).await
}

/// Serves the events gRPC API on `listener` until `shutdown` completes.
pub async fn serve(
    common: &CommonConfig,
    config: &Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = open_database(common).await?;
    serve_with(common, config, pool, Clock::system(), listener, shutdown).await
}

/// Like [`serve`], with the pool and clock given (tests move the clock).
pub async fn serve_with(
    common: &CommonConfig,
    config: &Config,
    pool: PgPool,
    clock: Clock,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let identity = kit_grpc::connect(common.services.get("identity")?, common.request_timeout)?;
    let authenticator = Arc::new(CachedAuthenticator::new(RemoteAuthenticator::new(identity), common.auth));
    if config.allow_private {
        tracing::warn!(
            "webhooks may reach loopback and private addresses ({ENV_WEBHOOK_ALLOW_PRIVATE}): never in production"
        );
    }
    let events = service::Events {
        store: store::Store::new(pool.clone()),
        keys: IdempotencyKeys::new(pool.clone(), common.idempotency),
        clock,
        keyring: common.keyring.clone(),
        config: config.clone(),
        limits: common.list,
        http: Arc::new(deliver::Poster::new(config.ca_file.as_deref())?),
    };
    let stop = CancellationToken::new();
    let workers = tokio::spawn(work_until(events.clone(), config.delivery_interval, stop.clone()));
    let served = GrpcServer::new(SCHEMA, authenticator, common.service_keys.clone(), common.request_timeout)
        .database(pool)
        .resources(grpc::RESOURCES)
        .add_service(EventServiceServer::new(grpc::EventApi(events.clone())))
        .add_service(WebhookServiceServer::new(grpc::WebhookApi(events.clone())))
        .add_service(WebhookLogServiceServer::new(grpc::WebhookLogApi(events)))
        .serve(listener, shutdown)
        .await;
    stop.cancel();
    let _ = workers.await;
    served
}

/// Delivers what is due every `interval`, and removes what passed
/// retention every hour, until `stop`.
async fn work_until(events: service::Events, interval: Duration, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retention = tokio::time::interval(RETENTION_EVERY);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {
                if let Err(e) = events.deliver_due().await {
                    tracing::warn!(error = %e, "webhook delivery pass failed; will retry");
                }
            }
            _ = retention.tick() => {
                match events.forget_old().await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, "events and webhook logs past retention removed"),
                    Err(e) => tracing::warn!(error = %e, "removing old events failed; will retry"),
                }
            }
        }
    }
}
