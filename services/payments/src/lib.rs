//! # paymesh-payments — transactions, connectors and the ledger
//!
//! The payments service owns the `payments` schema and serves
//! `paymesh.payments.v1` on port 50054:
//!
//! - **Transactions** — payments (charged now, or authorized and captured
//!   later), voids, refunds (never more than was captured, under the
//!   payment's row lock), with the seeds' statuses, decline codes and risk
//!   flags. A payment names a payment method, a customer (its default
//!   method) or a capturable payment intent; fees come from intents'
//!   pricing.
//! - **Ledger** — Payload's transaction ledger (links between a payment
//!   and its refunds) and, underneath, a double-entry journal: every money
//!   movement posts entries that sum to zero, in the same database
//!   transaction as the change and its outbox event; entries are
//!   append-only; balances are kept beside them. [`invariants::check`]
//!   proves the books.
//! - **Idempotency** — `CreateTransaction` honours an `idempotency-key`
//!   header: a retry returns the first answer.
//! - **Connectors** — the [`connector::Connector`] seam; test mode uses the
//!   built-in [`connector::test_processor::TestProcessor`]; live mode has
//!   no connector until an operator configures one, and refuses to charge.
//!
//! Layout, the shape of every service: `domain` holds the rules with no
//! I/O; `store` the SQL; `convert` the one mapping between wire and
//! domain; `peers` the clients of identity, the methods service and
//! intents; `service` the operations; `grpc` the thin handlers.

mod config;
pub mod connector;
mod convert;
pub mod domain;
mod grpc;
pub mod invariants;
mod peers;
mod service;
mod store;

use std::{future::Future, sync::Arc};

use paymesh_kit::{
    auth::{CachedAuthenticator, RemoteAuthenticator},
    clock::Clock,
    config::CommonConfig,
    db,
    grpc::{self as kit_grpc, GrpcServer},
    idempotency::IdempotencyKeys,
};
use paymesh_proto::payments::v1::transaction_service_server::TransactionServiceServer;
use sqlx::{PgPool, migrate::Migrator};
use tokio::net::TcpListener;

pub use config::{Config, ENV_PAYMENTS_ADDR, ENV_SETTLE_INTERVAL_MS};

/// The schema the payments service owns.
pub const SCHEMA: &str = "payments";

/// The name the payments service presents to other services.
pub const SERVICE_NAME: &str = "payments";

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Connects to the payments schema, creating the database and applying
/// migrations as needed.
pub async fn open_database(config: &CommonConfig) -> anyhow::Result<PgPool> {
    db::open(&config.database, SCHEMA, &MIGRATIONS).await
}

/// Serves the payments gRPC API on `listener` until `shutdown` completes.
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
    let methods = kit_grpc::connect(common.services.get("methods")?, common.request_timeout)?;
    let intents = kit_grpc::connect(common.services.get("intents")?, common.request_timeout)?;
    let billing = kit_grpc::connect(common.services.get("billing")?, common.request_timeout)?;
    let authenticator =
        Arc::new(CachedAuthenticator::new(RemoteAuthenticator::new(identity.clone()), common.auth));
    let payments = service::Payments {
        keys: IdempotencyKeys::new(pool.clone(), common.idempotency),
        lease: chrono::TimeDelta::from_std(common.idempotency.lease)
            .unwrap_or(chrono::TimeDelta::seconds(10)),
        store: store::Store::new(pool.clone()),
        peers: peers::Peers::new(
            (identity, methods, intents, billing),
            common.service_keys.token(SERVICE_NAME),
        ),
        test: Arc::new(connector::test_processor::TestProcessor),
        live: None,
        clock,
        limits: common.list,
    };
    let sweeper = tokio::spawn(sweep_forever(payments.clone(), config.settle_interval));
    let served = GrpcServer::new(SCHEMA, authenticator, common.service_keys.clone(), common.request_timeout)
        .database(pool)
        .resources(grpc::RESOURCES)
        .add_service(TransactionServiceServer::new(grpc::TransactionApi(payments)))
        .serve(listener, shutdown)
        .await;
    sweeper.abort();
    served
}

/// Runs the clock's work (settlement, bank returns and chargebacks, daily
/// deposits) every `interval`, until aborted.
async fn sweep_forever(payments: service::Payments, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match payments.sweep().await {
            Ok(swept) if swept == service::Swept::default() => {}
            Ok(swept) => tracing::info!(
                attempts = swept.attempts,
                settled = swept.settled,
                aftermaths = swept.aftermaths,
                deposits = swept.deposits,
                released = swept.released,
                "payments sweep"
            ),
            Err(e) => tracing::warn!(error = %e, "the payments sweep failed; will retry"),
        }
    }
}
