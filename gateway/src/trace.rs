//! One span per HTTP request, continuing the caller's W3C trace if it sent
//! a `traceparent`; every gRPC call made while handling the request is a
//! child of it, so one REST call is one trace across the mesh.

use axum::{extract::MatchedPath, http::Request};
use paymesh_kit::telemetry::propagation;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Builds the span of a request (for `tower_http::trace::TraceLayer`).
pub(crate) fn make_span<B>(request: &Request<B>) -> tracing::Span {
    // The route template keeps span names low in cardinality.
    let route =
        request.extensions().get::<MatchedPath>().map_or(crate::metrics::UNMATCHED, MatchedPath::as_str);
    let span = tracing::info_span!(
        "http.request",
        otel.name = %format!("{} {route}", request.method()),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %request.method(),
        http.route = %route,
        http.response.status_code = Empty,
        paymesh.service = "gateway",
        request_id = Empty,
        partner_id = Empty,
    );
    if let Some(id) = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()) {
        span.record("request_id", id);
    }
    let _ = span.set_parent(propagation::extract(request.headers()));
    span
}

/// Records the response status on the request span.
pub(crate) fn on_response<B>(
    response: &axum::http::Response<B>,
    latency: std::time::Duration,
    span: &tracing::Span,
) {
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    tracing::info!(parent: span, status = status.as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "request finished");
}
