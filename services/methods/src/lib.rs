//! # paymesh-methods — the payment-method vault
//!
//! The methods service owns the `methods` schema and serves
//! `paymesh.methods.v1` on port 50052: cards and bank accounts of a
//! partner's accounts, tokenized.
//!
//! - Numbers are parsed once into domain types (Luhn, brand and length,
//!   ABA checksum, Canadian institution and transit numbers), sealed with
//!   AES-256-GCM under a data key of their own wrapped by a key-encryption
//!   key (`paymesh_kit::crypto`), and never returned: a method is shown by
//!   its description (`Visa x-4242`), masked number and last four digits.
//! - A card's security code is checked and dropped, never stored.
//! - A keyed fingerprint (HMAC-SHA256, per partner) spots the same number
//!   twice without revealing it.
//! - Card types (credit, debit, prepaid) come from the BIN table.
//! - `VaultService.Detokenize` releases numbers to the payments service
//!   alone, and audits every call.
//!
//! Layout, the shape of every service: `domain` holds the rules with no
//! I/O; `store` the SQL and the sealing; `convert` the one mapping between
//! wire and domain; `peers` the client of identity; `service` the
//! operations (who may, in which order, identity kept in step); `grpc` the
//! thin handlers. [`admin`] serves `paymesh vault rotate-kek`.

pub mod admin;
mod config;
mod convert;
pub mod domain;
mod grpc;
mod peers;
mod service;
mod store;

use std::{future::Future, time::Duration};

use paymesh_kit::{
    auth::{CachedAuthenticator, RemoteAuthenticator},
    clock::Clock,
    config::CommonConfig,
    db,
    grpc::{self as kit_grpc, GrpcServer},
    idempotency::IdempotencyKeys,
};
use paymesh_proto::methods::v1::{
    payment_method_service_server::PaymentMethodServiceServer, vault_service_server::VaultServiceServer,
};
use sqlx::{PgPool, migrate::Migrator};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{Config, ENV_FINGERPRINT_KEY, ENV_METHODS_ADDR};
pub use store::SEALED_COLUMNS;

use crate::domain::method::Fingerprinter;

/// The schema the methods service owns.
pub const SCHEMA: &str = "methods";

/// The name the methods service presents to other services.
pub const SERVICE_NAME: &str = "methods";

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Connects to the methods schema, creating the database and applying
/// migrations as needed.
pub async fn open_database(config: &CommonConfig) -> anyhow::Result<PgPool> {
    db::open(&config.database, SCHEMA, &MIGRATIONS).await
}

/// Serves the methods service's gRPC API on `listener` until `shutdown` completes.
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
/// Beside the server, a task delivers the customers' defaults identity has
/// yet to learn, every few seconds, until `shutdown`.
pub async fn serve_with(
    common: &CommonConfig,
    config: &Config,
    pool: PgPool,
    clock: Clock,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if common.keyring.is_development() {
        tracing::warn!(
            "the methods service seals card and bank account numbers with the public development key-encryption key; \
             live mode is refused — set PAYMESH_KEKS for any real data"
        );
    }
    let identity = kit_grpc::connect(common.services.get("identity")?, common.request_timeout)?;
    let authenticator = std::sync::Arc::new(CachedAuthenticator::new(
        RemoteAuthenticator::new(identity.clone()),
        common.auth,
    ));
    let methods = methods(common, config, pool.clone(), clock, identity).await?;
    let stop = CancellationToken::new();
    let syncing = tokio::spawn(sweep_until(methods.clone(), stop.clone()));
    let result = GrpcServer::new(SCHEMA, authenticator, common.service_keys.clone(), common.request_timeout)
        .database(pool)
        .resources(grpc::RESOURCES)
        .add_service(PaymentMethodServiceServer::new(grpc::PaymentMethodApi(methods.clone())))
        .add_service(VaultServiceServer::new(grpc::VaultApi(methods)))
        .serve(listener, shutdown)
        .await;
    stop.cancel();
    syncing.await.ok();
    result
}

/// How often the vault's sweep runs: queued defaults are delivered to
/// identity again, stale single-use methods erased.
const SWEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Delivers queued defaults, and erases stale single-use methods, every
/// [`SWEEP_INTERVAL`] until `stop`.
async fn sweep_until(vault: service::Methods, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(SWEEP_INTERVAL) => {}
        }
        if let Err(e) = vault.sync_pending_defaults().await {
            tracing::warn!(error = %e, "delivering defaults to identity failed; will retry");
        }
        if let Err(e) = vault.erase_stale_single_use().await {
            tracing::warn!(error = %e, "erasing stale single-use methods failed; will retry");
        }
    }
}

/// The methods service's operations over `pool`, talking to identity on `identity`.
async fn methods(
    common: &CommonConfig,
    config: &Config,
    pool: PgPool,
    clock: Clock,
    identity: kit_grpc::Channel,
) -> anyhow::Result<service::Methods> {
    let fingerprints = match &config.fingerprint_key {
        Some(key) => Fingerprinter::new(key.expose().clone()),
        None => {
            tracing::warn!(
                "PAYMESH_FINGERPRINT_KEY is not set: fingerprints use a public development key and live mode \
                 is refused"
            );
            Fingerprinter::development()
        }
    };
    let keys = IdempotencyKeys::new(pool.clone(), common.idempotency);
    let store = store::Store::new(pool, common.keyring.clone());
    let bins = store.bins().await.map_err(|e| anyhow::anyhow!("cannot load the BIN table: {e}"))?;
    tracing::info!(prefixes = bins.len(), "BIN table loaded");
    Ok(service::Methods {
        store,
        accounts: peers::Accounts::new(identity, common.service_keys.token(SERVICE_NAME)),
        fingerprints,
        bins,
        keys,
        clock,
        limits: common.list,
    })
}
