//! One REST call is one trace across the mesh: the gateway's spans and
//! identity's spans share one trace id, as received by a real OTLP
//! receiver.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use opentelemetry_proto::tonic::{common::v1::any_value::Value as AnyValue, trace::v1::Span};
use paymesh_kit::{
    config::{LogFormat, TelemetryConfig},
    telemetry,
    testing::OtlpReceiver,
};
use paymesh_tests::{Mesh, test_key};

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_rest_call_is_one_trace_across_gateway_and_identity() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let telemetry = telemetry::init(
        "paymesh-test",
        &TelemetryConfig {
            log_format: LogFormat::Pretty,
            log_filter: "info,sqlx=warn".to_owned(),
            otlp_endpoint: Some(receiver.endpoint.clone()),
        },
    )
    .unwrap();
    let mesh = Mesh::start().await;
    let http = mesh.http();

    let reply = http.get("/customers?name=Matt", test_key(&mesh.acme)).await;
    assert_eq!(reply.status, 200);

    // Export happens in the background: flush, then wait for the receiver.
    let telemetry = tokio::task::spawn_blocking(move || {
        telemetry.flush();
        telemetry
    })
    .await
    .unwrap();
    let mut spans = Vec::new();
    for _ in 0..100 {
        spans = receiver.spans();
        if spans.iter().any(|s| s.name == "GET /customers")
            && spans.iter().any(|s| s.name.ends_with("AccountService/ListAccounts"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let root = spans.iter().find(|s| s.name == "GET /customers").expect("the gateway's request span");
    assert_eq!(attribute(root, "paymesh.service"), Some("gateway"));
    let trace: Vec<&Span> = spans.iter().filter(|s| s.trace_id == root.trace_id).collect();
    let served_by = |service: &str, rpc: &str| {
        trace.iter().any(|s| attribute(s, "paymesh.service") == Some(service) && s.name.ends_with(rpc))
    };
    assert!(served_by("identity", "paymesh.identity.v1.AuthService/Authenticate"), "{:#?}", names(&trace));
    assert!(served_by("identity", "paymesh.identity.v1.AccountService/ListAccounts"), "{:#?}", names(&trace));
    assert!(
        trace.iter().any(|s| s.name == "paymesh.identity.v1.AccountService/ListAccounts"
            && attribute(s, "rpc.system") == Some("grpc")
            && s.kind == 3),
        "a client span"
    );
    // Every span of the trace hangs off another span of the same trace.
    for span in &trace {
        if span.span_id != root.span_id {
            assert!(trace.iter().any(|p| p.span_id == span.parent_span_id), "orphan span {}", span.name);
        }
    }
    drop(telemetry);
}

fn names(spans: &[&Span]) -> Vec<String> {
    spans.iter().map(|s| format!("{} {:?}", s.name, attribute(s, "paymesh.service"))).collect()
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_rpc_outcome() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let missing = "01a1ffb8-0000-7000-8000-000000000000";
    assert_eq!(http.get(&format!("/customers/{missing}"), key).await.status, 404);
    assert_eq!(http.get("/customers", key).await.status, 200);
    assert_eq!(http.get("/customers", "test_secret_key_unknown").await.status, 401);

    let text = paymesh_kit::metrics::metrics().render();
    for line in [
        r#"paymesh_http_requests_total{method="GET",route="/customers/{id}",status="404"} 1"#,
        r#"paymesh_http_requests_total{method="GET",route="/customers",status="200"} 1"#,
        r#"paymesh_http_requests_total{method="GET",route="/customers",status="401"} 1"#,
        r#"paymesh_grpc_server_requests_total{service="paymesh.identity.v1.AccountService",method="GetAccount",code="NOT_FOUND"} 1"#,
        r#"paymesh_grpc_server_requests_total{service="paymesh.identity.v1.AccountService",method="ListAccounts",code="OK"} 1"#,
        r#"paymesh_grpc_server_requests_total{service="paymesh.identity.v1.AuthService",method="Authenticate",code="UNAUTHENTICATED"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    // Ids never become labels.
    assert!(!text.contains(missing));
}
