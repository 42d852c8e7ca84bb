//! # paymesh-gateway — the REST surface of the mesh
//!
//! An axum server that speaks the Payload wire format to partners (their
//! own code, or the official SDKs pointed at it) and gRPC to the services.
//! Every object carries `id`, `object`, `created_at`, `modified_at` and
//! `attrs`; lists are `{"object": "list", "values": […]}`; errors are
//! `{"object": "error", "error_type", "description", "details"}`.
//!
//! The gateway holds no resource of its own: [`rest`] derives every route,
//! body, answer and the OpenAPI description from the annotated contracts
//! (see its documentation for how a resource is described). Around it:
//! [`query`] parses the query language into the `ListQuery` the services
//! compile; [`body`] reads JSON or form bodies; `auth` resolves the API
//! key and forwards it; [`error`] is the REST error object; `state` holds
//! what handlers share; `docs` serves `/openapi.json` and `/docs`; `cors`
//! lets browsers tokenize with client keys; `pages` serves the hosted pay
//! page of payment links; `portal` the merchant portal; `health` answers
//! orchestrators; `trace` opens the request span that every gRPC hop
//! joins.
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
mod health;
mod limits;
mod metrics;
mod pages;
mod portal;
pub mod query;
pub mod rest;
mod socket;
mod state;
mod stream;
mod toolkit;
mod trace;

use std::future::Future;

use axum::{Router, extract::Request, middleware, response::IntoResponse, routing::get, serve::ListenerExt};
pub use config::{
    Config, ENV_CORS_ORIGINS, ENV_GATEWAY_ADDR, ENV_MAX_BODY_BYTES, ENV_RATE_LIMIT_BURST,
    ENV_RATE_LIMIT_PER_SEC, Origins,
};
use error::ApiError;
use paymesh_kit::config::CommonConfig;
use serde_json::json;
pub use state::AppState;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

/// The whole REST surface, with its description at `/openapi.json` and
/// `/docs`.
pub fn router(state: AppState) -> Router {
    let health = json!({"type": "object", "properties": {
        "status": {"type": "string"},
        "services": {"type": "object", "additionalProperties": {"type": "string"}},
        "outbox_lag_seconds": {"type": "object", "additionalProperties": {"type": "number"}},
    }});
    let public = [
        ("/healthz", "healthz", "Liveness", health.clone()),
        ("/readyz", "readyz", "Readiness: 503 until every service the gateway calls serves", health),
        ("/openapi.json", "openapi", "This description (OpenAPI 3.1)", json!({"type": "object"})),
        ("/docs", "docs", "The API reference, as a page", json!({"type": "string"})),
    ];
    let served = std::sync::Arc::new(docs::Served::new(&rest::openapi::describe(&state.surface, &public)));
    let (spec, page) = (served.clone(), served);
    rest::router(&state)
        .route("/events/stream", get(stream::events))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_key))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(move || std::future::ready(spec.spec())))
        .route("/docs", get(move || std::future::ready(page.page())))
        .merge(pages::router())
        .merge(portal::router())
        .merge(toolkit::router())
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
        // Payload's Event Model on socket.io, in front of every route.
        .layer(socket::layer(state.clone()))
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
