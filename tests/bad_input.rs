//! Bad input through the gateway: every kind gets a clear error object,
//! and nothing is written.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use paymesh_tests::{Mesh, test_key};
use reqwest::{Method, header::CONTENT_TYPE};
use serde_json::json;

async fn stored(mesh: &Mesh) -> (i64, i64) {
    (
        mesh.count("SELECT count(*) FROM identity.accounts WHERE type = 'customer'").await,
        mesh.count("SELECT count(*) FROM identity.outbox").await,
    )
}

#[tokio::test]
async fn malformed_bodies_are_refused_without_writing() {
    let mesh = Mesh::start_with(&[("PAYMESH_MAX_BODY_BYTES", "2048")]).await;
    let before = stored(&mesh).await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let raw = |body: &'static str, content_type: &'static str| {
        http.request(Method::POST, "/customers", Some(key)).header(CONTENT_TYPE, content_type).body(body)
    };

    let malformed = http.send(raw("{\"name\": \"Matt\",", "application/json")).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.body["object"], "error");
    assert_eq!(malformed.body["error_type"], "BadRequest");
    assert!(
        malformed.body["description"].as_str().unwrap().starts_with("Malformed JSON"),
        "{:?}",
        malformed.body
    );

    let not_object = http.send(raw("[1, 2]", "application/json")).await;
    assert_eq!((not_object.status, not_object.body["error_type"].as_str()), (400, Some("BadRequest")));

    let empty = http.send(raw("", "application/json")).await;
    assert_eq!(empty.status, 400);
    assert_eq!(empty.body["description"], "A request body is required");

    let xml = http.send(raw("<customer/>", "application/xml")).await;
    assert_eq!(xml.status, 415);
    assert_eq!(xml.body["error_type"], "UnsupportedMediaType");

    let huge = format!(
        "{{\"name\": \"Matt\", \"email\": \"m@example.com\", \"description\": \"{}\"}}",
        "x".repeat(4096)
    );
    let too_large = http
        .send(
            http.request(Method::POST, "/customers", Some(key))
                .header(CONTENT_TYPE, "application/json")
                .body(huge),
        )
        .await;
    assert_eq!(too_large.status, 413);
    assert_eq!(too_large.body["error_type"], "RequestTooLarge");
    assert_eq!(too_large.body["description"], "The request body exceeds 2048 bytes");

    assert_eq!(stored(&mesh).await, before);
}

#[tokio::test]
async fn invalid_attributes_are_named_one_by_one_without_writing() {
    let mesh = Mesh::start().await;
    let before = stored(&mesh).await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);

    let wrong_types =
        http.post("/customers", key, json!({"name": 42, "email": ["x"], "attrs": "gold"})).await;
    assert_eq!(wrong_types.status, 400);
    assert_eq!(wrong_types.body["error_type"], "InvalidAttributes");
    assert_eq!(
        wrong_types.body["details"],
        json!({"name": "Must be a string", "email": "Must be a string", "attrs": "Must be an object"})
    );

    let invalid = http
        .post(
            "/customers",
            key,
            json!({"name": "  ", "email": "matt.perez.example.com", "phone_number": "12", "secret_key": "x"}),
        )
        .await;
    assert_eq!(invalid.status, 400);
    assert_eq!(invalid.body["details"], json!({"secret_key": "Unknown attribute"}));

    let domain = http
        .post(
            "/customers",
            key,
            json!({"name": "  ", "email": "matt.perez.example.com", "phone_number": "12"}),
        )
        .await;
    assert_eq!(domain.status, 400);
    assert_eq!(
        domain.body,
        json!({
            "object": "error",
            "error_type": "InvalidAttributes",
            "description": "Invalid attributes: name, email, phone_number",
            "error_description": "Invalid attributes: name, email, phone_number",
            "details": {
                "name": "Required",
                "email": "Must be a valid email address",
                "phone_number": "Must be a phone number of 10 to 15 digits, e.g. (123) 456-7890",
            }
        })
    );

    let read_only = http
        .post(
            "/customers",
            key,
            json!({"id": "x", "name": "M", "email": "m@example.com", "created_at": "2019-01-01"}),
        )
        .await;
    assert_eq!(
        read_only.body["details"],
        json!({"id": "Read-only attribute", "created_at": "Read-only attribute"})
    );

    let missing = http.post("/customers", key, json!({"name": "Matt"})).await;
    assert_eq!(missing.body["details"], json!({"email": "Required"}));

    assert_eq!(stored(&mesh).await, before);
}

#[tokio::test]
async fn bad_updates_change_nothing() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let customer =
        http.post("/customers", key, json!({"name": "Matt", "email": "matt@example.com"})).await.body;
    let id = customer["id"].as_str().unwrap();
    let events = stored(&mesh).await;

    let invalid = http.put(&format!("/customers/{id}"), key, json!({"email": "nope", "name": ""})).await;
    assert_eq!(invalid.status, 400);
    assert_eq!(
        invalid.body["details"],
        json!({"email": "Must be a valid email address", "name": "Required"})
    );

    let cleared = http.put(&format!("/customers/{id}"), key, json!({"email": null})).await;
    assert_eq!(cleared.body["details"], json!({"email": "Required"}));

    let other_id = http
        .put(&format!("/customers/{id}"), key, json!({"id": "01a1ffb8-0000-7000-8000-000000000000"}))
        .await;
    assert_eq!(other_id.body["details"], json!({"id": "Does not match the id in the path"}));

    let type_change = http.put(&format!("/accounts/{id}"), key, json!({"type": "processing"})).await;
    assert_eq!(type_change.status, 400);
    assert_eq!(type_change.body["details"], json!({"type": "Cannot be changed"}));

    let malformed_id = http.put("/customers/3bW9JMoHcb0u4ZmM7FZ32", key, json!({"name": "X"})).await;
    assert_eq!(malformed_id.status, 404);

    assert_eq!(http.get(&format!("/customers/{id}"), key).await.body, customer);
    assert_eq!(stored(&mesh).await, events);
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_with_error_objects() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);

    let path = http.get("/invoices-of-doom", key).await;
    assert_eq!(path.status, 404);
    assert_eq!(path.body["error_type"], "NotFound");

    let method = http.send(http.request(Method::PATCH, "/customers", Some(key))).await;
    assert_eq!(method.status, 405);
    assert_eq!(method.body["error_type"], "MethodNotAllowed");

    let query = http.get("/customers?limit=ten&offset=-1&mode=everything", key).await;
    assert_eq!(query.status, 400);
    assert_eq!(
        query.body["details"],
        json!({"limit": "Must be a whole number", "offset": "Must be a whole number", "mode": "The only mode is `query`"})
    );

    // Every response carries a request id to quote in support requests.
    assert!(query.headers.get("x-request-id").is_some());
}

#[tokio::test]
async fn hostile_nesting_is_refused_and_the_gateway_keeps_serving() {
    let mesh = Mesh::start().await;
    let before = stored(&mesh).await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);

    let deep_json = format!(
        "{{\"name\": \"M\", \"email\": \"m@example.com\", \"attrs\": {}1{}}}",
        "{\"x\": ".repeat(50),
        "}".repeat(50)
    );
    let reply = http
        .send(
            http.request(Method::POST, "/customers", Some(key))
                .header(CONTENT_TYPE, "application/json")
                .body(deep_json),
        )
        .await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(reply.body["details"], json!({"attrs": "Must nest at most 8 levels"}));

    // Half a megabyte of brackets: refused before any recursion.
    let deep_form = format!("name=M&email=m%40example.com&attrs{}=1", "[x]".repeat(150_000));
    let reply = http
        .send(
            http.request(Method::POST, "/customers", Some(key))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(deep_form),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["error_type"], "BadRequest");

    assert_eq!(http.get("/customers", key).await.status, 200);
    assert_eq!(stored(&mesh).await, before);
}
