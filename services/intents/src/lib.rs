//! # paymesh-intents — payment intents and pricing
//!
//! The intents service owns the `intents` schema and serves
//! `paymesh.intents.v1` on port 50053:
//!
//! - **Payment intents** — drafted payments that may name any subset of
//!   payer, recipient, payment method and amount. Each change prices the
//!   intent again: fee lines, source amount, delivery options with their
//!   cut-off times, the chosen delivery date and the expiry. The status is
//!   `CAPTURABLE` once every piece is there and usable, `INCOMPLETE` with
//!   a reason per problem otherwise; `EXPIRED` past the expiry; `CAPTURED`
//!   once the payments service used it; `CANCELED`.
//! - **Pricing** — processing settings per processing account, falling
//!   back to the partner's and then the platform's, and quotes.
//! - **Delivery** — per payout method the speeds with their cut-off
//!   times, over the business days of the kit's calendar (the Federal
//!   Reserve's and Payments Canada's holiday rules).
//!
//! Layout, the shape of every service: `domain` holds the rules with no
//! I/O; `store` the SQL; `convert` the one mapping between wire and
//! domain; `peers` the clients of identity and the methods service;
//! `service` the operations; `grpc` the thin handlers.

mod config;
mod convert;
pub mod domain;
mod grpc;
mod peers;
mod service;
mod store;

use std::future::Future;

use paymesh_kit::{
    auth::{CachedAuthenticator, RemoteAuthenticator},
    clock::Clock,
    config::CommonConfig,
    db,
    grpc::{self as kit_grpc, GrpcServer},
    idempotency::IdempotencyKeys,
};
use paymesh_proto::intents::v1::{
    payment_intent_service_server::PaymentIntentServiceServer, pricing_service_server::PricingServiceServer,
};
use sqlx::{PgPool, migrate::Migrator};
use tokio::net::TcpListener;

pub use config::{
    Config, ENV_DELIVERY_SPEEDS, ENV_DRAFT_LIFETIME, ENV_INTENTS_ADDR, ENV_KYC_THRESHOLD, ENV_MAX_AMOUNT,
};

/// The schema the intents service owns.
pub const SCHEMA: &str = "intents";

/// The name the intents service presents to other services.
pub const SERVICE_NAME: &str = "intents";

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Connects to the intents schema, creating the database and applying
/// migrations as needed.
pub async fn open_database(config: &CommonConfig) -> anyhow::Result<PgPool> {
    db::open(&config.database, SCHEMA, &MIGRATIONS).await
}

/// Serves the intents gRPC API on `listener` until `shutdown` completes.
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
    let authenticator = std::sync::Arc::new(CachedAuthenticator::new(
        RemoteAuthenticator::new(identity.clone()),
        common.auth,
    ));
    let intents = service::Intents {
        keys: IdempotencyKeys::new(pool.clone(), common.idempotency),
        store: store::Store::new(pool.clone()),
        peers: peers::Peers::new(identity, methods, common.service_keys.token(SERVICE_NAME)),
        config: config.clone(),
        clock,
        limits: common.list,
    };
    GrpcServer::new(SCHEMA, authenticator, common.service_keys.clone(), common.request_timeout)
        .database(pool)
        .resources(grpc::RESOURCES)
        .add_service(PaymentIntentServiceServer::new(grpc::PaymentIntentApi(intents.clone())))
        .add_service(PricingServiceServer::new(grpc::PricingApi(intents)))
        .serve(listener, shutdown)
        .await
}
