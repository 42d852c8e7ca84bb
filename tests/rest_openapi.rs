//! The OpenAPI description against the router it describes: every
//! documented operation is served (never the "no such path" or "method not
//! allowed" fallback), every method a documented path does not list
//! answers 405, and the description and its page are served without a key.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};

use paymesh_tests::{Mesh, test_key};
use reqwest::Method;
use serde_json::{Value, json};

const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH];

/// Whether `reply` is the router's own answer to a path or method it does
/// not serve (not a handler's).
fn fallback(reply: &paymesh_tests::Reply) -> bool {
    let description = reply.body["description"].as_str().unwrap_or_default();
    (reply.status == 404 && description.starts_with("No such path"))
        || (reply.status == 405 && description.contains(" is not allowed on /"))
}

/// Every `$ref` in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push(target.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_description_and_the_router_agree() {
    // Every method of every path, from one key: no rate limit.
    let mesh = Mesh::start_with(&[("PAYMESH_RATE_LIMIT_PER_SEC", "0")]).await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);

    // Served without a key, as OpenAPI 3.1.
    let spec = http.send(http.request(Method::GET, "/openapi.json", None)).await;
    assert_eq!(spec.status, 200);
    assert_eq!(spec.headers["content-type"], "application/json");
    let spec = spec.body;
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().unwrap();

    // Operation ids are unique; every reference resolves.
    let mut ids = HashSet::new();
    let mut operations: BTreeMap<String, Vec<Method>> = BTreeMap::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            assert!(operation["responses"]["200"].is_object(), "{method} {path} has no 200");
            operations.entry(path.clone()).or_default().push(method.to_uppercase().parse().unwrap());
        }
    }
    let mut targets = Vec::new();
    refs(&spec, &mut targets);
    for target in targets {
        let pointer = target.trim_start_matches('#');
        assert!(spec.pointer(pointer).is_some(), "{target} does not resolve");
    }

    // The surface, as the README presents it, is all there.
    for path in [
        "/customers",
        "/customers/{id}",
        "/processing_accounts/{id}/status_history",
        "/legal_entities/{id}/owners",
        "/documents/{id}/file",
        "/api_keys/{id}/roll",
        "/access_tokens/redeem",
        "/payment_methods",
        "/accounts/{id}/payment_methods",
        "/payment_intents",
        "/processing_settings",
        "/processing_accounts/{id}/processing_settings",
        "/transactions/{id}",
        "/transaction_ledgers",
        "/events",
        "/events/stream",
        "/webhooks/{id}/rotate_secret",
        "/webhook_logs",
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/docs",
    ] {
        assert!(operations.contains_key(path), "{path} is not described");
    }

    // Every described operation is served by a handler, and every other
    // method of a described path answers 405.
    let id = uuid::Uuid::now_v7().to_string();
    for (path, methods) in &operations {
        let concrete = path.replace("{id}", &id);
        for method in METHODS {
            let mut request = http.request(method.clone(), &concrete, Some(key));
            if method == Method::POST || method == Method::PUT {
                request = request.json(&json!({}));
            }
            let reply = if *path == "/docs" && method == Method::GET {
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 200);
                assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
                let page = response.text().await.unwrap();
                for op in ids.iter() {
                    assert!(page.contains(&format!("id=\"{op}\"")), "the page lacks {op}");
                }
                continue;
            } else if *path == "/events/stream" && method == Method::GET {
                // A stream never ends: that it opens is the answer.
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 200);
                assert_eq!(response.headers()["content-type"], "text/event-stream");
                continue;
            } else {
                http.send(request).await
            };
            if methods.contains(&method) {
                assert!(!fallback(&reply), "{method} {path} is described but not routed: {:?}", reply.body);
            } else {
                assert_eq!(
                    reply.status, 405,
                    "{method} {path} is routed but not described: {:?}",
                    reply.body
                );
            }
        }
    }

    // Paths not described are not served.
    for path in ["/nothing", &format!("/customers/{id}/nothing"), "/transactions/x/refunds", "/docs/x"] {
        let reply = http.get(path, key).await;
        assert_eq!((reply.status, fallback(&reply)), (404, true), "{path}: {:?}", reply.body);
    }

    // Public operations need no key; the others do.
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let public = operation["security"] == json!([]);
            if method != "get" || path.contains('{') {
                continue;
            }
            let request = http.request(Method::GET, path, None);
            let status = request.send().await.unwrap().status().as_u16();
            assert_eq!(status == 401, !public, "GET {path} without a key answered {status}");
        }
    }
}

#[tokio::test]
async fn objects_are_described_with_their_attributes_and_examples() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let spec = http.send(http.request(Method::GET, "/openapi.json", None)).await.body;
    let schemas = &spec["components"]["schemas"];
    // A transaction's attributes, typed as the gateway renders them (an
    // attribute an empty message renders as null is nullable).
    let transaction = &schemas["transaction"]["properties"];
    assert_eq!(transaction["amount"]["type"], json!(["null", "number"]));
    assert_eq!(transaction["livemode"]["type"], "boolean");
    assert_eq!(transaction["created_at"]["format"], "date-time");
    assert_eq!(transaction["ledger"]["type"], "array");
    assert!(transaction["ledger"]["description"].as_str().is_some_and(|d| d.contains("fields=*,ledger")));
    assert_eq!(transaction["attrs"]["type"], json!(["null", "object"]));
    assert_eq!(transaction["payment_intent_id"]["type"], json!(["null", "string"]));
    // Create bodies list what may be written, with an example; read-only
    // attributes are not among them.
    let create = &spec["paths"]["/customers"]["post"]["requestBody"]["content"]["application/json"];
    assert!(create["example"]["email"].is_string());
    let writable = create["schema"]["anyOf"][0]["properties"].as_object().unwrap();
    assert!(writable.contains_key("email") && writable.contains_key("attrs"));
    assert!(!writable.contains_key("created_at") && !writable.contains_key("id"), "{writable:?}");
    // Errors reference one error object.
    let error = &schemas["Error"];
    assert_eq!(error["required"], json!(["object", "error_type", "description"]));
    // Lists take the query language.
    let list = &spec["paths"]["/transactions"]["get"]["parameters"];
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["limit", "offset", "order_by", "fields", "group_by", "filters"]);
    // Batches and queries only where offered.
    assert!(spec["paths"]["/customers"]["put"].is_object());
    assert!(spec["paths"]["/transactions"]["put"].is_null());
    assert!(spec["paths"]["/transactions/{id}"]["delete"].is_null());
}
