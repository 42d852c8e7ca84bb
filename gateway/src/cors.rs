//! Cross-origin requests, for client keys only.
//!
//! A partner's checkout page tokenizes cards in the browser with its client
//! key: `POST /payment_methods`, and `POST /access_tokens/redeem` on hosted
//! pages. Those two routes answer CORS preflights from the allowed origins
//! (`PAYMESH_CORS_ORIGINS`: `*`, the default, or a comma-separated list).
//! Any request that carries an `Origin` is a browser's: it must hold a
//! client key (a secret key in a web page is a leaked key, and is refused
//! with 403 before anything is done), and its answer names the origin so
//! the page may read it. Requests without an `Origin` (servers, the SDKs,
//! curl) are not affected.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse as _, Response},
};

use crate::{error::ApiError, state::AppState};

/// The routes a browser may call, with the only method each takes.
pub(crate) const BROWSER_ROUTES: &[(&str, Method)] =
    &[("/payment_methods", Method::POST), ("/access_tokens/redeem", Method::POST)];

/// The headers a browser may send on those routes.
const ALLOWED_HEADERS: &str =
    "authorization, content-type, idempotency-key, x-request-id, x-connectfi-jwtoken";
/// The headers a page may read from the answer.
const EXPOSED_HEADERS: &str = "x-request-id, retry-after";

/// The request's `Origin`, if it came from a browser.
pub(crate) fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Answers preflights (`OPTIONS` with `Access-Control-Request-Method`)
/// before routing; everything else passes.
pub(crate) async fn preflight(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let (Some(origin), Some(asked)) = (origin(headers), headers.get(header::ACCESS_CONTROL_REQUEST_METHOD))
    else {
        return next.run(request).await;
    };
    if request.method() != Method::OPTIONS {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let Some((_, method)) = BROWSER_ROUTES.iter().find(|(p, _)| *p == path) else {
        return refused(format!("Browsers may not call {path}; call it from your server with a secret key"));
    };
    if asked.as_bytes() != method.as_str().as_bytes() || !state.config.cors_origins.allows(origin) {
        return refused(format!(
            "{origin} may not send {} {path}",
            String::from_utf8_lossy(asked.as_bytes())
        ));
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    allow_origin(h, origin);
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(method.as_str()));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

fn refused(why: String) -> Response {
    ApiError::forbidden(why).into_response()
}

/// Lets the page of `origin` read the answer.
pub(crate) fn allow_origin(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
        headers.append(header::VARY, HeaderValue::from_static("origin"));
    }
}
