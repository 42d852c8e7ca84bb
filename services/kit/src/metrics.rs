//! Prometheus metrics: rate, latency and errors of every RPC and every
//! HTTP route.
//!
//! One registry per process ([`metrics`]), so `paymesh all` exposes every
//! service at once. [`MetricsLayer`] sits in the gRPC server stack of every
//! service; the gateway records its routes with [`Metrics::record_http`].
//! [`serve`] exposes `/metrics` on its own listener (`PAYMESH_METRICS_ADDR`),
//! never on the public gateway port.
//!
//! Labels are bounded: RPC and route names come from the code, never from
//! what a caller writes. A call to a service the server does not serve, or
//! to a method it does not have, is counted as `unknown`.

use std::{
    fmt,
    future::Future,
    sync::{Arc, OnceLock},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::{Family, MetricConstructor},
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use tokio::net::TcpListener;

use crate::future::BoxFuture;

/// Labels of an RPC's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcOutcome {
    service: String,
    method: String,
    code: &'static str,
}

/// Labels of an RPC.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Rpc {
    service: String,
    method: String,
}

/// Labels of an HTTP response.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpOutcome {
    method: String,
    route: String,
    status: u16,
}

/// Labels of an HTTP route.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    method: String,
    route: String,
}

/// Latency buckets from 0.5 ms to about 16 s.
#[derive(Clone, Copy, Debug)]
struct Buckets;

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(exponential_buckets(0.0005, 2.0, 16))
    }
}

/// A service schema whose outbox is relayed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outbox {
    schema: String,
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    outbox_lag: Family<Outbox, Gauge<f64, std::sync::atomic::AtomicU64>>,
    outbox_published: Family<Outbox, Counter>,
    /// The last lag of each schema's relay in this process, for `/readyz`.
    outbox_lags: std::sync::Mutex<std::collections::BTreeMap<String, f64>>,
    rpc_requests: Family<RpcOutcome, Counter>,
    rpc_duration: Family<Rpc, Histogram, Buckets>,
    http_requests: Family<HttpOutcome, Counter>,
    http_duration: Family<Route, Histogram, Buckets>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The metrics of this process.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut registry = Registry::with_prefix("paymesh");
        let rpc_requests = Family::default();
        let rpc_duration = Family::new_with_constructor(Buckets);
        let http_requests = Family::default();
        let http_duration = Family::new_with_constructor(Buckets);
        let outbox_lag = Family::default();
        let outbox_published = Family::default();
        registry.register(
            "outbox_lag_seconds",
            "Age of the oldest event of a service's outbox not yet published to the events service",
            outbox_lag.clone(),
        );
        registry.register(
            "outbox_published",
            "Events a service's outbox relay published to the events service",
            outbox_published.clone(),
        );
        registry.register(
            "grpc_server_requests",
            "gRPC calls served, by service, method and status code",
            rpc_requests.clone(),
        );
        registry.register(
            "grpc_server_request_duration_seconds",
            "Time to answer a gRPC call",
            rpc_duration.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests served by the gateway, by method, route and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            http_duration.clone(),
        );
        Metrics {
            registry,
            outbox_lag,
            outbox_published,
            outbox_lags: std::sync::Mutex::default(),
            rpc_requests,
            rpc_duration,
            http_requests,
            http_duration,
        }
    })
}

impl Metrics {
    /// Records one gRPC call of `service`/`method` that ended with `code`.
    pub fn record_rpc(&self, service: &str, method: &str, code: i32, elapsed: Duration) {
        let rpc = Rpc { service: service.to_owned(), method: method.to_owned() };
        self.rpc_duration.get_or_create(&rpc).observe(elapsed.as_secs_f64());
        let Rpc { service, method } = rpc;
        let code = code_name(code);
        self.rpc_requests.get_or_create(&RpcOutcome { service, method, code }).inc();
    }

    /// Records one HTTP request to `route` (the route template, e.g.
    /// `/customers/{id}`) that answered `status`. Methods outside the
    /// standard set are counted as `other`.
    pub fn record_http(&self, method: &http::Method, route: &str, status: u16, elapsed: Duration) {
        let method = match *method {
            http::Method::GET
            | http::Method::POST
            | http::Method::PUT
            | http::Method::DELETE
            | http::Method::PATCH
            | http::Method::HEAD
            | http::Method::OPTIONS => method.as_str(),
            _ => "other",
        };
        let labels = Route { method: method.to_owned(), route: route.to_owned() };
        self.http_duration.get_or_create(&labels).observe(elapsed.as_secs_f64());
        let Route { method, route } = labels;
        self.http_requests.get_or_create(&HttpOutcome { method, route, status }).inc();
    }

    /// Records the outbox of `schema`: its oldest unpublished event is
    /// `lag` old (zero when all are published), and `published` more were
    /// published.
    pub fn record_outbox(&self, schema: &str, lag: Duration, published: u64) {
        let labels = Outbox { schema: schema.to_owned() };
        self.outbox_lag.get_or_create(&labels).set(lag.as_secs_f64());
        self.outbox_published.get_or_create(&labels).inc_by(published);
        self.outbox_lags
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(schema.to_owned(), lag.as_secs_f64());
    }

    /// The lag, in seconds, of each outbox relay running in this process
    /// (by schema), as last measured: empty where none runs here (a
    /// gateway deployed on its own reads them from the metrics instead).
    pub fn outbox_lags(&self) -> std::collections::BTreeMap<String, f64> {
        self.outbox_lags.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        out
    }
}

fn code_name(code: i32) -> &'static str {
    match tonic::Code::from_i32(code) {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

// === MetricsLayer ===

/// The label of calls to services or methods a server does not have.
const UNKNOWN: &str = "unknown";

/// Counts and times every gRPC call a server answers (health checks and
/// reflection excepted).
#[derive(Clone, Debug)]
pub struct MetricsLayer {
    services: Arc<[&'static str]>,
}

impl MetricsLayer {
    /// Counts calls to `services` by name; calls to anything else as
    /// `unknown`, so callers cannot grow the label set.
    pub fn new(services: &[&'static str]) -> Self {
        Self { services: services.into() }
    }
}

impl<S> tower::Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService { inner, services: self.services.clone() }
    }
}

/// The service [`MetricsLayer`] produces.
#[derive(Clone, Debug)]
pub struct MetricsService<S> {
    inner: S,
    services: Arc<[&'static str]>,
}

impl<S, B, R> tower::Service<http::Request<B>> for MetricsService<S>
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

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        if path.starts_with("/grpc.") {
            return Box::pin(self.inner.call(request));
        }
        let (service, method) = crate::telemetry::propagation::rpc_parts(path);
        let (service, method) = match self.services.iter().find(|known| **known == service) {
            Some(known) => (*known, method.to_owned()),
            None => (UNKNOWN, UNKNOWN.to_owned()),
        };
        let future = self.inner.call(request);
        let started = Instant::now();
        Box::pin(async move {
            let result = future.await;
            let code = match &result {
                Ok(response) => crate::telemetry::propagation::grpc_status(response),
                Err(_) => tonic::Code::Unknown as i32,
            };
            // A method the service does not have is answered UNIMPLEMENTED.
            let method = if code == tonic::Code::Unimplemented as i32 { UNKNOWN } else { &method };
            metrics().record_rpc(service, method, code, started.elapsed());
            result
        })
    }
}

// === Exposition ===

/// Serves `GET /metrics` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            (
                [(http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                metrics().render(),
            )
        }),
    );
    tracing::info!(address = %listener.local_addr()?, "metrics listening");
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpcs_and_routes_are_counted_by_outcome() {
        let m = metrics();
        m.record_rpc("paymesh.identity.v1.AccountService", "GetAccount", 0, Duration::from_millis(2));
        m.record_rpc("paymesh.identity.v1.AccountService", "GetAccount", 5, Duration::from_millis(3));
        m.record_http(&http::Method::GET, "/customers/{id}", 404, Duration::from_millis(4));
        m.record_http(
            &http::Method::from_bytes(b"BREW").unwrap(),
            "unmatched",
            404,
            Duration::from_millis(1),
        );
        let text = m.render();
        assert!(text.contains(
            r#"paymesh_grpc_server_requests_total{service="paymesh.identity.v1.AccountService",method="GetAccount",code="NOT_FOUND"} 1"#
        ), "{text}");
        assert!(text.contains(
            r#"paymesh_grpc_server_request_duration_seconds_count{service="paymesh.identity.v1.AccountService",method="GetAccount"} 2"#
        ), "{text}");
        assert!(
            text.contains(
                r#"paymesh_http_requests_total{method="GET",route="/customers/{id}",status="404"} 1"#
            ),
            "{text}"
        );
    }

    #[tokio::test]
    async fn callers_cannot_grow_the_label_set() {
        use tower::{Layer as _, Service as _, ServiceExt as _};
        // Like tonic: a method the service lacks is answered UNIMPLEMENTED.
        let inner = tower::service_fn(|request: http::Request<()>| async move {
            let code = if request.uri().path() == "/pkg.Svc/Known" { "0" } else { "12" };
            let response = http::Response::builder().header("grpc-status", code).body(()).unwrap();
            Ok::<_, std::convert::Infallible>(response)
        });
        let mut service = MetricsLayer::new(&["pkg.Svc"]).layer(inner);
        for path in ["/pkg.Svc/Known", "/pkg.Svc/Random1", "/evil.Svc/X", "/evil2/Y"] {
            let request = http::Request::builder().uri(path).body(()).unwrap();
            service.ready().await.unwrap().call(request).await.unwrap();
        }
        let text = metrics().render();
        for line in [
            r#"paymesh_grpc_server_requests_total{service="pkg.Svc",method="Known",code="OK"} 1"#,
            r#"paymesh_grpc_server_requests_total{service="pkg.Svc",method="unknown",code="UNIMPLEMENTED"} 1"#,
            r#"paymesh_grpc_server_requests_total{service="unknown",method="unknown",code="UNIMPLEMENTED"} 2"#,
        ] {
            assert!(text.contains(line), "missing {line} in {text}");
        }
        assert!(!text.contains("evil") && !text.contains("Random1"), "{text}");
    }
}
