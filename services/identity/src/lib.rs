//! # paymesh-identity — who is who
//!
//! The identity service owns the `identity` schema: partners (the tenants)
//! and their API keys; accounts — customers (payers, with their KYC) and
//! processing accounts (payees, with their payout and activation), plus the
//! curated biller directory; legal entities and owners (KYB); identity
//! documents; access tokens. It serves `paymesh.identity.v1` on port 50051:
//!
//! - `AuthService.Authenticate` resolves a credential (API key or merchant
//!   token) to its principal for every other service (through the kit's
//!   cached, remote authenticator);
//! - `AccountService`, `LegalEntityService`, `DocumentService`,
//!   `ApiKeyService`, `AccessTokenService`: the resources, with the full
//!   query language on every list.
//!
//! Layout, the shape of every service: `domain` holds the rules with no
//! I/O (valid values, the activation lifecycle and its assessment, KYC
//! from documents, key and token formats); `store` the SQL, the sealing of
//! sensitive values and the outbox events; `convert` the one mapping
//! between wire and domain; no `peers`, since identity calls no other
//! service (the events service reads its outbox); `service` the operations
//! and the authenticator; `grpc` the thin handlers; [`admin`] the operator
//! commands (`paymesh partner create`, `paymesh document review`).

pub mod admin;
mod config;
mod convert;
pub mod domain;
mod grpc;
mod service;
mod store;

use std::future::Future;

use anyhow::Context as _;
use paymesh_kit::{clock::Clock, config::CommonConfig, db, grpc::GrpcServer, idempotency::IdempotencyKeys};
use paymesh_proto::identity::v1::{
    access_token_service_server::AccessTokenServiceServer, account_service_server::AccountServiceServer,
    api_key_service_server::ApiKeyServiceServer, auth_service_server::AuthServiceServer,
    document_service_server::DocumentServiceServer, legal_entity_service_server::LegalEntityServiceServer,
};
use sqlx::{PgPool, migrate::Migrator};
use tokio::net::TcpListener;

pub use config::{Config, ENV_IDENTITY_ADDR, ENV_MERCHANT_TOKEN_SECRET, ENV_SESSION_TOKEN_TTL_MS};
pub use service::keys::CreatedPartner;

use crate::{
    domain::token::MerchantSigner,
    grpc::{
        accounts::AccountApi, auth::AuthApi, documents::DocumentApi, keys::ApiKeyApi, kyb::LegalEntityApi,
        tokens::AccessTokenApi,
    },
    service::{
        accounts::Accounts, auth::authenticator, documents::Documents, keys::ApiKeys, kyb::LegalEntities,
        tokens::AccessTokens,
    },
};

/// The schema identity owns.
pub const SCHEMA: &str = "identity";

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Connects to the identity schema, creating the database and applying
/// migrations as needed.
pub async fn open_database(config: &CommonConfig) -> anyhow::Result<PgPool> {
    db::open(&config.database, SCHEMA, &MIGRATIONS).await
}

/// Serves identity's gRPC API on `listener` until `shutdown` completes.
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
    if common.keyring.is_development() {
        tracing::warn!(
            "identity seals SSNs, EINs, bank account numbers and documents with the public development \
             key-encryption key; set PAYMESH_KEKS for any real data"
        );
    }
    let signer = match &config.merchant_token_secret {
        Some(secret) => MerchantSigner::new(secret.expose().clone()).map_err(|why| anyhow::anyhow!(why))?,
        None => {
            tracing::warn!(
                "PAYMESH_MERCHANT_TOKEN_SECRET is not set: merchant tokens are signed with a random secret \
                 and stop working when this process stops"
            );
            MerchantSigner::random().context("the OS random source failed")?
        }
    };
    let keys = IdempotencyKeys::new(pool.clone(), common.idempotency);
    let store = store::Store::new(pool.clone(), common.keyring.clone());
    let cache = authenticator(store.clone(), clock.clone(), signer.clone(), common.auth);
    let limits = common.list;
    let accounts = Accounts {
        store: store.clone(),
        clock: clock.clone(),
        limits,
        keys: keys.clone(),
        cache: cache.clone(),
    };
    let legal_entities =
        LegalEntities { store: store.clone(), clock: clock.clone(), limits, keys: keys.clone() };
    let documents = Documents {
        store: store.clone(),
        clock: clock.clone(),
        limits,
        max_bytes: common.max_document_bytes,
        keys,
    };
    let api_keys = ApiKeys { store: store.clone(), clock: clock.clone(), limits, cache: cache.clone() };
    let access_tokens = AccessTokens {
        store,
        clock,
        limits,
        signer,
        session_ttl: config.session_token_ttl,
        cache: cache.clone(),
    };
    // A document travels base64-free over gRPC, with room for its metadata.
    let max_message = common.max_document_bytes + 64 * 1024;
    GrpcServer::new(SCHEMA, cache, common.service_keys.clone(), common.request_timeout)
        .database(pool)
        .resources(grpc::RESOURCES)
        .add_service(AuthServiceServer::new(AuthApi))
        .add_service(AccountServiceServer::new(AccountApi(accounts)))
        .add_service(LegalEntityServiceServer::new(LegalEntityApi(legal_entities)))
        .add_service(
            DocumentServiceServer::new(DocumentApi(documents))
                .max_decoding_message_size(max_message)
                .max_encoding_message_size(max_message),
        )
        .add_service(ApiKeyServiceServer::new(ApiKeyApi(api_keys)))
        .add_service(AccessTokenServiceServer::new(AccessTokenApi(access_tokens)))
        .serve(listener, shutdown)
        .await
}
