//! Who is calling the REST API.
//!
//! The middleware reads the API key (HTTP Basic user name, as `curl -u
//! KEY:` and the SDKs send it, or `Bearer KEY`), resolves it through
//! identity with the kit's short cache, takes one request from the key's
//! rate limit, and hands handlers a [`Caller`].
//! The key is forwarded on every gRPC call, where each service checks it
//! again: the gateway is not trusted to have done so.
//!
//! A restricted key's permissions are REST paths (`GET /transactions`), so
//! the gateway checks them against the exact method and path here, before
//! any service is called; the services check them again against the REST
//! resources their RPCs serve.

use std::time::Duration;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse as _, Response},
};
use paymesh_kit::{
    auth::{ApiKey, AuthError, KeyKind, Principal, Verb, key_from_headers},
    wire::{self, IDEMPOTENCY_KEY},
};
use tonic::metadata::MetadataValue;

use crate::{error::ApiError, state::AppState};

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    key: ApiKey,
    request_id: Option<String>,
    /// The `Idempotency-Key` of a POST, carried to the service.
    idempotency_key: Option<String>,
    timeout: Duration,
}

impl Caller {
    /// A caller presenting `key`, its calls bounded by `timeout`, outside
    /// any HTTP request (a socket.io connection).
    pub(crate) const fn new(key: ApiKey, timeout: Duration) -> Self {
        Self { key, request_id: None, idempotency_key: None, timeout }
    }

    /// A gRPC request carrying the caller's key, the request id and the
    /// request's deadline.
    pub(crate) fn grpc<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.timeout);
        let metadata = request.metadata_mut();
        if let Ok(value) = MetadataValue::try_from(self.key.bearer()) {
            metadata.insert("authorization", value);
        }
        if let Some(value) = self.request_id.as_deref().and_then(|id| MetadataValue::try_from(id).ok()) {
            metadata.insert("x-request-id", value);
        }
        if let Some(value) = self.idempotency_key.as_deref().and_then(|k| MetadataValue::try_from(k).ok()) {
            metadata.insert(IDEMPOTENCY_KEY, value);
        }
        request
    }
}

/// Rejects requests without a valid key; attaches the [`Caller`].
pub(crate) async fn require_key(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let outcome = match key_from_headers(request.headers()) {
        Ok(key) => state.authenticator.authenticate(&key).await.map(|principal| (key, principal)),
        Err(e) => Err(e),
    };
    match outcome {
        Ok((_, principal)) if !principal.permits(verb(request.method()), request.uri().path()) => {
            ApiError::forbidden(format!(
                "This key's permissions do not allow {} {}",
                request.method(),
                request.uri().path()
            ))
            .into_response()
        }
        Ok((key, principal)) => {
            let origin = crate::cors::origin(request.headers()).map(str::to_owned);
            let host = request.headers().get(http::header::HOST).and_then(|h| h.to_str().ok());
            let own_page = origin.as_deref().zip(host).is_some_and(|(origin, host)| same_host(origin, host));
            if let Err(refused) = admit(&state, &principal, origin.as_deref(), own_page) {
                return refused.into_response();
            }
            let idempotency_key = match idempotency_key(&request) {
                Ok(found) => found,
                Err(error) => return error.into_response(),
            };
            tracing::Span::current().record("partner_id", tracing::field::display(principal.partner_id));
            let request_id =
                request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
            request.extensions_mut().insert(Caller {
                key,
                request_id,
                idempotency_key,
                timeout: state.request_timeout,
            });
            let mut response = next.run(request).await;
            if let Some(origin) = &origin {
                crate::cors::allow_origin(response.headers_mut(), origin);
            }
            response
        }
        Err(AuthError::Unavailable(_)) => {
            ApiError::unavailable("Authentication is unavailable; retry shortly").into_response()
        }
        Err(refusal) => ApiError::unauthorized(refusal.to_string()).into_response(),
    }
}

/// Whether `origin` (`http://host:port`) is the gateway's own, reached at
/// `host`: a page the gateway serves (the merchant portal).
fn same_host(origin: &str, host: &str) -> bool {
    origin.split_once("://").is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

/// Whether the holder of `principal` may be served now, from a browser
/// page of `origin` if it names one: a browser must hold a client key or
/// a merchant token (made for merchant portals), from an allowed origin or
/// from the gateway's own pages (`own_page`: the merchant portal, the
/// toolkit's frames); the key's rate limit must have room. REST requests
/// and socket.io connections are held to these same rules.
pub(crate) fn admit(
    state: &AppState,
    principal: &Principal,
    origin: Option<&str>,
    own_page: bool,
) -> Result<(), ApiError> {
    if let Some(origin) = origin {
        if !matches!(principal.key_kind, KeyKind::Client | KeyKind::Merchant) {
            return Err(ApiError::forbidden(
                "Only client keys may be used from a browser; keep secret keys on your server",
            ));
        }
        // The gateway's own pages: the merchant portal (merchant tokens)
        // and the browser toolkit's frames (client keys), which only the
        // allowed origins may frame.
        let portal = own_page && matches!(principal.key_kind, KeyKind::Merchant | KeyKind::Client);
        if !portal && !state.config.cors_origins.allows(origin) {
            return Err(ApiError::forbidden(format!("Pages of {origin} may not call paymesh")));
        }
    }
    state
        .rate_limiter
        .take(principal.key_id, std::time::Instant::now())
        .map_err(|wait| ApiError::too_many_requests(wait.as_secs_f64().ceil().max(1.0) as u64))
}

/// The `Idempotency-Key` of a POST (see [`wire::idempotency_key`]). Other
/// methods are idempotent already and ignore it.
fn idempotency_key(request: &Request) -> Result<Option<String>, ApiError> {
    if request.method() != http::Method::POST {
        return Ok(None);
    }
    let Some(value) = request.headers().get(IDEMPOTENCY_KEY) else { return Ok(None) };
    // A header that is not even text fails the same rule.
    let raw = String::from_utf8_lossy(value.as_bytes());
    wire::idempotency_key(&raw).map(|key| Some(key.to_owned())).map_err(ApiError::bad_request)
}

/// The permission method an HTTP method needs.
fn verb(method: &http::Method) -> Verb {
    match *method {
        http::Method::GET | http::Method::HEAD => Verb::Get,
        http::Method::PUT | http::Method::PATCH => Verb::Put,
        http::Method::DELETE => Verb::Delete,
        _ => Verb::Post,
    }
}
