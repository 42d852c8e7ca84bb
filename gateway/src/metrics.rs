//! Counts and times every HTTP request by method, route template and status
//! (the route, not the path: `/customers/{id}`, so ids never become labels).

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};

/// The route of a request that matched none.
pub(crate) const UNMATCHED: &str = "unmatched";

/// Records the request in the process's metrics.
pub(crate) async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, MatchedPath::as_str).to_owned();
    let response = next.run(request).await;
    paymesh_kit::metrics::metrics().record_http(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
