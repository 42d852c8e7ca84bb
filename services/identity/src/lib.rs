//! # paymesh-identity — who is who
//!
//! The identity service owns the `identity` schema: partners (the tenants),
//! their API keys, and accounts — in this slice, the partners' payers
//! (`customer` accounts). It serves `paymesh.identity.v1` on port 50051:
//!
//! - `AuthService.Authenticate` resolves an API key to its principal for
//!   every other service (through the kit's cached, remote authenticator);
//! - `AccountService` creates, reads, lists (with the full query language),
//!   updates and deletes accounts, one at a time, in batches, or by query.
//!
//! Layout: `domain` holds the rules (valid names, emails, phones, custom
//! attributes, merge patches, key format) with no I/O; `store` the SQL;
//! `convert` the one mapping between wire and domain; `grpc` the thin
//! handlers. [`admin`] serves operator commands (`paymesh partner create`).

pub mod admin;
mod config;
mod convert;
pub mod domain;
mod grpc;
mod store;

use std::future::Future;

use anyhow::Context as _;
use paymesh_kit::{clock::Clock, config::CommonConfig, db, grpc::GrpcServer};
use paymesh_proto::identity::v1::{
    account_service_server::AccountServiceServer, auth_service_server::AuthServiceServer,
};
use sqlx::{PgPool, migrate::Migrator};
use tokio::net::TcpListener;

pub use config::{Config, ENV_IDENTITY_ADDR};
pub use store::CreatedPartner;

/// The schema identity owns.
pub const SCHEMA: &str = "identity";

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Connects to the identity schema, creating the database and applying
/// migrations as needed.
pub async fn open_database(config: &CommonConfig) -> anyhow::Result<PgPool> {
    db::ensure_database(config.database.url.expose()).await?;
    let pool = db::connect(&config.database, SCHEMA).await?;
    db::migrate(&pool, SCHEMA, &MIGRATIONS).await.context("identity migrations")?;
    Ok(pool)
}

/// Serves identity's gRPC API on `listener` until `shutdown` completes.
pub async fn serve(
    config: &CommonConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = open_database(config).await?;
    serve_with(config, pool, Clock::system(), listener, shutdown).await
}

/// Like [`serve`], with the pool and clock given (tests move the clock).
pub async fn serve_with(
    config: &CommonConfig,
    pool: PgPool,
    clock: Clock,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = store::Store::new(pool);
    let authenticator = grpc::authenticator(store.clone(), clock.clone(), config.auth);
    GrpcServer::new(SCHEMA, authenticator, config.request_timeout)
        .add_service(AuthServiceServer::new(grpc::AuthApi))
        .add_service(AccountServiceServer::new(grpc::AccountApi::new(store, clock, config.list)))
        .serve(listener, shutdown)
        .await
}
