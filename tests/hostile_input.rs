//! Hostile input at the edge: text with NUL characters, bodies that do not
//! say they are JSON or are not UTF-8, numbers sent as strings, amounts
//! past the limit once their fees are added. Each is refused with a clear
//! error naming the attribute, and nothing anywhere changes: no customer,
//! no payment, no card released from the vault, no event.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use paymesh_tests::{Mesh, test_key};
use reqwest::{Method, header::CONTENT_TYPE};
use serde_json::{Value, json};

/// Everything a refused request could have written.
async fn written(mesh: &Mesh) -> [i64; 5] {
    [
        mesh.count("SELECT count(*) FROM identity.accounts").await,
        mesh.count("SELECT count(*) FROM identity.outbox").await,
        mesh.count("SELECT count(*) FROM payments.transactions").await,
        mesh.count("SELECT count(*) FROM payments.outbox").await,
        mesh.count("SELECT count(*) FROM methods.detokenizations").await,
    ]
}

/// A customer's card: the customer's id and the card's.
async fn card(mesh: &Mesh, key: &str) -> (String, String) {
    let http = mesh.http();
    let customer =
        http.post("/customers", key, json!({"name": "Matt Perez", "email": "matt@example.com"})).await;
    assert_eq!(customer.status, 200, "{:?}", customer.body);
    let method = http
        .post(
            "/payment_methods",
            key,
            json!({"type": "card", "account_id": customer.body["id"],
                   "card": {"card_number": "4242424242424242", "expiry": "12/40"},
                   "billing_address": {"postal_code": "10001"}}),
        )
        .await;
    assert_eq!(method.status, 200, "{:?}", method.body);
    let id = |reply: &paymesh_tests::Reply| reply.body["id"].as_str().unwrap().to_owned();
    (id(&customer), id(&method))
}

/// `POST /transactions` of a payment of `amount` (JSON) to `method`.
async fn pay(mesh: &Mesh, key: &str, method: &str, amount: Value) -> paymesh_tests::Reply {
    let body = json!({"type": "payment", "amount": amount, "payment_method_id": method});
    mesh.http().post("/transactions", key, body).await
}

#[tokio::test]
async fn text_with_a_nul_character_is_refused_by_name_before_any_service_is_asked() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    let (_, method) = card(&mesh, key).await;
    let before = written(&mesh).await;
    let nul = "Must not contain the NUL character (U+0000)";

    // In a payment's text, and in an attrs value and name: nothing is
    // charged, and the vault releases no card.
    let payment = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 25, "payment_method_id": method,
                   "order_number": "A-\u{0}1", "description": "ok",
                   "attrs": {"plan": "gold\u{0}", "ref\u{0}": "x"}}),
        )
        .await;
    assert_eq!(payment.status, 400, "{:?}", payment.body);
    assert_eq!(payment.body["error_type"], "InvalidAttributes");
    assert_eq!(payment.body["details"]["order_number"], nul);
    assert_eq!(payment.body["details"]["attrs"]["plan"], nul);
    assert_eq!(payment.body["details"]["attrs"]["ref\\u0000"], nul);
    assert!(payment.body["details"].get("description").is_none(), "{:?}", payment.body);

    // Form fields too, and each item of a list body is named.
    let form = http
        .send(
            http.request(Method::POST, "/customers", Some(key))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("name=Matt%00Perez&email=matt%40example.com"),
        )
        .await;
    assert_eq!((form.status, &form.body["details"]["name"]), (400, &json!(nul)), "{:?}", form.body);
    let list = http
        .post(
            "/customers",
            key,
            json!({"object": "list", "values": [{"name": "Ann"}, {"name": "B\u{0}b", "tags": ["a", "\u{0}"]}]}),
        )
        .await;
    assert_eq!(list.status, 400, "{:?}", list.body);
    assert_eq!(list.body["details"]["values"][0], json!({}));
    assert_eq!(list.body["details"]["values"][1]["name"], nul);
    assert_eq!(list.body["details"]["values"][1]["tags[1]"], nul);

    // In a query string's filter, value or name.
    for query in ["/customers?name=Matt%00", "/customers?attrs%5Bp%00%5D=1"] {
        let filtered = http.get(query, key).await;
        assert_eq!(filtered.status, 400, "{query}: {:?}", filtered.body);
        assert_eq!(filtered.body["error_type"], "InvalidAttributes", "{query}");
        assert!(filtered.body["description"].as_str().unwrap().contains("Invalid attributes"), "{query}");
    }

    assert_eq!(written(&mesh).await, before);
}

#[tokio::test]
async fn json_must_say_it_is_json_and_be_utf8() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    let before = written(&mesh).await;
    let body = r#"{"name": "Matt Perez", "email": "matt@example.com"}"#;
    let refused = [
        (None, "A request body needs a Content-Type"),
        (Some("application/json; charset=utf-16"), "charset \"utf-16\" is not supported"),
        (Some("application/json; charset=latin1"), "charset \"latin1\" is not supported"),
        (Some("text/plain"), "Content-Type \"text/plain\" is not supported"),
    ];
    for (content_type, says) in refused {
        let mut request = http.request(Method::POST, "/customers", Some(key)).body(body);
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let answer = http.send(request).await;
        assert_eq!(answer.status, 415, "{content_type:?}: {:?}", answer.body);
        assert_eq!(answer.body["error_type"], "UnsupportedMediaType");
        assert!(answer.body["description"].as_str().unwrap().contains(says), "{:?}", answer.body);
    }
    assert_eq!(written(&mesh).await, before);
    // UTF-8 said out loud, or a +json type, is JSON.
    for content_type in ["application/json; charset=UTF-8", "application/merge-patch+json"] {
        let answer = http
            .send(
                http.request(Method::POST, "/customers", Some(key))
                    .header(CONTENT_TYPE, content_type)
                    .body(body),
            )
            .await;
        assert_eq!(answer.status, 200, "{content_type}: {:?}", answer.body);
    }
}

#[tokio::test]
async fn numbers_and_booleans_in_json_are_not_strings_but_forms_send_text() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    let (customer, method) = card(&mesh, key).await;
    let before = written(&mesh).await;
    let as_text = pay(&mesh, key, &method, json!("25")).await;
    assert_eq!(as_text.status, 400, "{:?}", as_text.body);
    assert_eq!(as_text.body["details"], json!({"amount": "Must be a number"}));
    let flag = http
        .post(
            "/payment_methods",
            key,
            json!({"type": "card", "account_id": customer,
                   "card": {"card_number": "5555555555554444", "expiry": "12/40"},
                   "billing_address": {"postal_code": "10001"}, "default_payment_method": "true"}),
        )
        .await;
    assert_eq!(flag.status, 400, "{:?}", flag.body);
    assert_eq!(flag.body["details"]["default_payment_method"], "Must be true or false");
    assert_eq!(written(&mesh).await, before);
    // A form carries every value as text: there it is read as a number.
    let form = http
        .send(
            http.request(Method::POST, "/transactions", Some(key))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(format!("type=payment&amount=25&payment_method_id={method}")),
        )
        .await;
    assert_eq!(form.status, 200, "{:?}", form.body);
    assert_eq!(form.body["status"], "processed");
}

#[tokio::test]
async fn no_charge_reaches_the_limit_once_its_fees_are_added() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    let (_, method) = card(&mesh, key).await;
    // The partner has its payers pay the card fee (direct payments add
    // none unless the settings allocate one).
    let opted_in = http.put("/processing_settings", key, json!({"credit_conv_fee_alloc": 1})).await;
    assert_eq!(opted_in.status, 200, "{:?}", opted_in.body);
    let before = written(&mesh).await;
    // Below the limit itself, but not with the 2.90% the payer pays.
    let near = pay(&mesh, key, &method, json!(999_999_999_999_u64)).await;
    assert_eq!(near.status, 400, "{:?}", near.body);
    let why = near.body["details"]["amount"].as_str().unwrap();
    assert!(why.contains("With its fees the charge would be 1028999999998.97 USD"), "{why}");
    let over = pay(&mesh, key, &method, json!(1_000_000_000_000_u64)).await;
    assert_eq!(over.status, 400, "{:?}", over.body);
    assert_eq!(over.body["details"]["amount"], "Must be less than 1,000,000,000,000");
    assert_eq!(written(&mesh).await, before);
    // An intent is held to the same limit.
    let intent = http
        .post(
            "/payment_intents",
            key,
            json!({"target_amount": {"value": 999_999_999_999_u64, "currency": "USD"}}),
        )
        .await;
    assert_eq!(intent.status, 400, "{:?}", intent.body);
    assert!(intent.body["description"].as_str().unwrap().contains("target_amount"), "{:?}", intent.body);
}
