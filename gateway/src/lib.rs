//! # paymesh-gateway — the REST surface of the mesh
//!
//! An axum server that speaks the Payload wire format to partners (their
//! own code, or the official SDKs pointed at it) and gRPC to the services.
//! Every object carries `id`, `object`, `created_at`, `modified_at` and
//! `attrs`; lists are `{"object": "list", "values": […]}`; errors are
//! `{"object": "error", "error_type", "description", "details"}`.
//!
//! Layout: [`query`] parses the query language into the `ListQuery` the
//! services compile; [`body`] reads JSON or form bodies; `auth` resolves the
//! API key and forwards it; [`error`] maps gRPC statuses to REST errors;
//! `resources` holds one module per resource; `openapi` adds every route
//! together with its description, which `docs` serves as `/openapi.json`
//! and `/docs`; `cors` lets browsers tokenize with client keys; `health`
//! answers orchestrators; `trace` opens the request span that every gRPC
//! hop joins.
//!
//! The tower stack, outermost first: request id (set, then echoed), the
//! request span, metrics per route, CORS preflights, then per route the
//! API key check (which also holds browser requests to client keys).

mod auth;
pub mod body;
mod config;
mod cors;
mod docs;
pub mod error;
mod fields;
mod health;
mod limits;
mod metrics;
mod openapi;
pub mod query;
mod resources;
mod rest;
mod trace;

use std::{
    future::Future,
    sync::{Arc, OnceLock},
};

use axum::{Router, extract::Request, middleware, response::IntoResponse, routing::get, serve::ListenerExt};
use http::Method;
use openapi::{Operation, Routes};
use paymesh_kit::{
    auth::{Authenticator, CachedAuthenticator, RemoteAuthenticator},
    config::CommonConfig,
    grpc::{self, Channel},
};
use paymesh_proto::{
    identity::v1::{
        access_token_service_client::AccessTokenServiceClient, account_service_client::AccountServiceClient,
        api_key_service_client::ApiKeyServiceClient, document_service_client::DocumentServiceClient,
        legal_entity_service_client::LegalEntityServiceClient,
    },
    intents::v1::{
        payment_intent_service_client::PaymentIntentServiceClient,
        pricing_service_client::PricingServiceClient,
    },
    methods::v1::payment_method_service_client::PaymentMethodServiceClient,
    payments::v1::transaction_service_client::TransactionServiceClient,
};
use serde_json::json;
use tokio::net::TcpListener;
use tonic_health::pb::health_client::HealthClient;
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

pub use config::{
    Config, ENV_CORS_ORIGINS, ENV_GATEWAY_ADDR, ENV_MAX_BODY_BYTES, ENV_RATE_LIMIT_BURST,
    ENV_RATE_LIMIT_PER_SEC,
};
pub use cors::Origins;
use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The deadline of one request, carried to every gRPC call.
    request_timeout: std::time::Duration,
    /// The largest identity document accepted.
    max_document_bytes: usize,
    config: Config,
    authenticator: Arc<dyn Authenticator>,
    /// Per-key request rates.
    rate_limiter: Arc<limits::RateLimiter>,
    accounts: AccountServiceClient<Channel>,
    legal_entities: LegalEntityServiceClient<Channel>,
    documents: DocumentServiceClient<Channel>,
    api_keys: ApiKeyServiceClient<Channel>,
    access_tokens: AccessTokenServiceClient<Channel>,
    payment_methods: PaymentMethodServiceClient<Channel>,
    payment_intents: PaymentIntentServiceClient<Channel>,
    pricing: PricingServiceClient<Channel>,
    transactions: TransactionServiceClient<Channel>,
    /// The gRPC health of every service the gateway calls, by name.
    health: Vec<(&'static str, HealthClient<Channel>)>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("config", &self.config).finish_non_exhaustive()
    }
}

impl AppState {
    /// Clients for every service the gateway calls (connecting lazily).
    pub fn new(common: &CommonConfig, config: Config) -> anyhow::Result<Self> {
        let identity = grpc::connect(&common.identity_url, common.request_timeout)?;
        let methods = grpc::connect(&common.methods_url, common.request_timeout)?;
        let intents = grpc::connect(&common.intents_url, common.request_timeout)?;
        let payments = grpc::connect(&common.payments_url, common.request_timeout)?;
        let authenticator: Arc<dyn Authenticator> =
            Arc::new(CachedAuthenticator::new(RemoteAuthenticator::new(identity.clone()), common.auth));
        Ok(Self {
            request_timeout: common.request_timeout,
            max_document_bytes: common.max_document_bytes,
            rate_limiter: Arc::new(limits::RateLimiter::new(
                config.rate_limit_per_sec,
                config.rate_limit_burst,
            )),
            config,
            authenticator,
            accounts: AccountServiceClient::new(identity.clone()),
            legal_entities: LegalEntityServiceClient::new(identity.clone()),
            documents: DocumentServiceClient::new(identity.clone())
                .max_decoding_message_size(common.max_document_bytes + 64 * 1024)
                .max_encoding_message_size(common.max_document_bytes + 64 * 1024),
            api_keys: ApiKeyServiceClient::new(identity.clone()),
            access_tokens: AccessTokenServiceClient::new(identity.clone()),
            payment_methods: PaymentMethodServiceClient::new(methods.clone()),
            payment_intents: PaymentIntentServiceClient::new(intents.clone()),
            pricing: PricingServiceClient::new(intents.clone()),
            transactions: TransactionServiceClient::new(payments.clone()),
            health: vec![
                ("identity", HealthClient::new(identity)),
                ("methods", HealthClient::new(methods)),
                ("intents", HealthClient::new(intents)),
                ("payments", HealthClient::new(payments)),
            ],
        })
    }
}

/// The whole REST surface, with its description at `/openapi.json` and
/// `/docs`.
pub fn router(state: AppState) -> Router {
    let served: Arc<OnceLock<docs::Served>> = Arc::new(OnceLock::new());
    let (spec_json, docs_page) = (served.clone(), served.clone());
    let api = resources::routes(state.max_document_bytes)
        .map_router(|r| r.route_layer(middleware::from_fn_with_state(state.clone(), auth::require_key)));
    let health = json!({"type": "object", "properties": {
        "status": {"type": "string"},
        "services": {"type": "object", "additionalProperties": {"type": "string"}},
    }});
    let (routes, spec) = Routes::new()
        .route(
            "/healthz",
            get(health::healthz),
            [Operation::new(Method::GET, "healthz", "Liveness").tag("health").public().reply(health.clone())],
        )
        .route(
            "/readyz",
            get(health::readyz),
            [Operation::new(Method::GET, "readyz", "Readiness")
                .tag("health")
                .describe("503 until every service the gateway calls serves.")
                .public()
                .reply(health)],
        )
        .route(
            "/openapi.json",
            get(move || std::future::ready(docs::answer(&spec_json, docs::Served::spec))),
            [Operation::new(Method::GET, "openapi", "This description (OpenAPI 3.1)")
                .tag("docs")
                .public()
                .reply(json!({"type": "object"}))],
        )
        .route(
            "/docs",
            get(move || std::future::ready(docs::answer(&docs_page, docs::Served::page))),
            [Operation::new(Method::GET, "docs", "The API reference, as a page")
                .tag("docs")
                .public()
                .reply_of("text/html", json!({"type": "string"}))],
        )
        .merge(api)
        .schema("Error", openapi::error_schema())
        .finish();
    let _ = served.set(docs::Served::new(&spec));
    routes
        .fallback(|request: Request| async move {
            ApiError::not_found(format!("No such path: {} {}", request.method(), request.uri().path()))
                .into_response()
        })
        .method_not_allowed_fallback(|request: Request| async move {
            ApiError::method_not_allowed(format!(
                "{} is not allowed on {}",
                request.method(),
                request.uri().path()
            ))
            .into_response()
        })
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(trace::make_span)
                        .on_response(trace::on_response),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(middleware::from_fn(metrics::track))
                .layer(middleware::from_fn_with_state(state.clone(), cors::preflight)),
        )
        .with_state(state)
}

/// Serves the REST API on `listener` until `shutdown` completes, then
/// finishes the requests in flight.
pub async fn serve(
    common: &CommonConfig,
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::new(common, config)?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "gateway listening");
    // TCP_NODELAY: an answer's last small segment goes out at once, not
    // after the client's delayed ACK (tens of milliseconds per request).
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::warn!(%error, "could not set TCP_NODELAY on a connection");
        }
    });
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await?;
    tracing::info!("gateway stopped");
    Ok(())
}
