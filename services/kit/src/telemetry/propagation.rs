//! W3C trace context across process boundaries.
//!
//! [`ServerTraceLayer`] opens one span per gRPC call, parented on the
//! caller's `traceparent`; [`ClientTraceLayer`] opens a client span for each
//! outgoing call and writes its context into the request headers. With both
//! on every hop, one REST call is one trace across every service it touches.
//! [`extract`] serves HTTP servers (the gateway) the same way.

use std::{
    fmt,
    task::{Context, Poll},
};

use opentelemetry::propagation::{Extractor, Injector};
use tracing::{Instrument as _, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::future::BoxFuture;

/// Reads trace context from HTTP headers.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Writes trace context into HTTP headers.
struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(key.as_bytes()), http::HeaderValue::from_str(&value))
        {
            self.0.insert(name, value);
        }
    }
}

/// The remote parent context carried by `headers`, if any.
pub fn extract(headers: &http::HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Writes the context of `span` into `headers`.
pub fn inject(span: &tracing::Span, headers: &mut http::HeaderMap) {
    let cx = span.context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut HeaderInjector(headers));
    });
}

/// Splits `/pkg.Service/Method` into its two halves.
pub(crate) fn rpc_parts(path: &str) -> (&str, &str) {
    let path = path.trim_start_matches('/');
    path.split_once('/').unwrap_or((path, ""))
}

/// The gRPC status a response carries in its headers (trailers-only
/// responses, which is how tonic answers errors); 0 when absent.
pub(crate) fn grpc_status<B>(response: &http::Response<B>) -> i32 {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Records the gRPC status of a finished call on the current span (marked
/// as an error when it is not OK).
fn record_status<R, E>(result: &Result<http::Response<R>, E>) {
    if let Ok(response) = result {
        let code = grpc_status(response);
        let span = tracing::Span::current();
        span.record("rpc.grpc.status_code", code);
        if code != 0 {
            span.record("otel.status_code", "ERROR");
        }
    }
}

// === ServerTraceLayer ===

/// Opens a server span for every gRPC call (health checks excepted),
/// continuing the caller's trace.
#[derive(Clone, Copy, Debug)]
pub struct ServerTraceLayer {
    service: &'static str,
}

impl ServerTraceLayer {
    /// Spans will carry `paymesh.service = service`.
    pub fn new(service: &'static str) -> Self {
        Self { service }
    }
}

impl<S> tower::Layer<S> for ServerTraceLayer {
    type Service = ServerTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerTrace { inner, service: self.service }
    }
}

/// The service [`ServerTraceLayer`] produces.
#[derive(Clone)]
pub struct ServerTrace<S> {
    inner: S,
    service: &'static str,
}

impl<S> fmt::Debug for ServerTrace<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTrace").field("service", &self.service).finish_non_exhaustive()
    }
}

impl<S, B, R> tower::Service<http::Request<B>> for ServerTrace<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        if path.starts_with("/grpc.health.v1.Health/") {
            return Box::pin(self.inner.call(request));
        }
        let (rpc_service, rpc_method) = rpc_parts(&path);
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = rpc_service,
            rpc.method = rpc_method,
            rpc.grpc.status_code = Empty,
            paymesh.service = self.service,
            request_id = Empty,
            partner_id = Empty,
        );
        if let Some(id) = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()) {
            span.record("request_id", id);
        }
        let _ = span.set_parent(extract(request.headers()));
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Box::pin(
            async move {
                let result = future.await;
                record_status(&result);
                result
            }
            .instrument(span),
        )
    }
}

// === ClientTraceLayer ===

/// Opens a client span for every outgoing gRPC call and propagates its
/// context in the `traceparent` header.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientTraceLayer;

impl<S> tower::Layer<S> for ClientTraceLayer {
    type Service = ClientTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientTrace { inner }
    }
}

/// The service [`ClientTraceLayer`] produces.
#[derive(Clone, Debug)]
pub struct ClientTrace<S> {
    inner: S,
}

impl<S, B, R> tower::Service<http::Request<B>> for ClientTrace<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let (rpc_service, rpc_method) = rpc_parts(&path);
        let span = tracing::info_span!(
            "grpc.client",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "client",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = rpc_service,
            rpc.method = rpc_method,
            rpc.grpc.status_code = Empty,
        );
        inject(&span, request.headers_mut());
        let future = self.inner.call(request);
        Box::pin(
            async move {
                let result = future.await;
                record_status(&result);
                result
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_paths_split_into_service_and_method() {
        assert_eq!(
            rpc_parts("/paymesh.identity.v1.AccountService/GetAccount"),
            ("paymesh.identity.v1.AccountService", "GetAccount")
        );
        assert_eq!(rpc_parts("/odd"), ("odd", ""));
    }

    #[test]
    fn a_traceparent_round_trips_through_headers() {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            http::HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        let cx = extract(&headers);
        use opentelemetry::trace::TraceContextExt as _;
        let span = cx.span();
        let sc = span.span_context();
        assert_eq!(sc.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(sc.is_remote());
    }
}
