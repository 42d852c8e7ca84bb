//! The browser toolkit: what a client key may do (authorize a payment of a
//! method typed in, tokenize a method, nothing else), and `/js/paymesh.js`
//! in a real browser — Checkout's Pay Now button, Secure Input and
//! PlacePay's Pay plugin, run from the references' own HTML on a partner's
//! origin
//! (`tests/js/toolkit.mjs`), confirmed from the server as the reference's
//! step 3 writes it.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use paymesh_tests::{Mesh, browser_flow, key, run_browser_test, test_key};
use serde_json::{Value, json};

fn client_key(mesh: &Mesh) -> &str {
    key(&mesh.acme, "test_client_key_")
}

fn typed_card(number: &str) -> Value {
    json!({"type": "card", "card": {"card_number": number, "expiry": "12/30", "card_code": "123"}})
}

#[tokio::test]
async fn client_keys_only_authorize_payments_of_a_method_given_inline() {
    let mesh = Mesh::start().await;
    let (http, secret, client) = (mesh.http(), test_key(&mesh.acme), client_key(&mesh));
    let customer =
        http.post("/customers", secret, json!({"name": "Ann Lee", "email": "ann@example.com"})).await;
    let customer = customer.body["id"].as_str().unwrap().to_owned();
    let mut stored = typed_card("4242424242424242");
    stored["account_id"] = json!(customer);
    stored["billing_address"] = json!({"postal_code": "10001"});
    stored["default_payment_method"] = json!(true);
    let stored = http.post("/payment_methods", secret, stored).await;
    assert_eq!(stored.status, 200, "{:?}", stored.body);
    let before = mesh.count("SELECT count(*) FROM payments.transactions").await;

    // Nothing a public key could turn against a payer or the partner.
    let inline = typed_card("4242424242424242");
    for (body, field) in [
        (json!({"type": "payment", "amount": 10, "payment_method": inline}), "status"),
        (
            json!({"type": "payment", "amount": 10, "status": "authorized", "customer_id": customer}),
            "customer_id",
        ),
        (
            json!({"type": "payment", "amount": 10, "status": "authorized", "payment_method_id": stored.body["id"]}),
            "payment_method_id",
        ),
    ] {
        let refused = http.post("/transactions", client, body).await;
        assert_eq!(refused.status, 400, "{:?}", refused.body);
        assert!(
            refused.body["details"][field].as_str().unwrap().contains("Client keys"),
            "{:?}",
            refused.body
        );
    }
    let billing = json!({"type": "payment", "amount": 10, "status": "authorized", "payment_method": inline,
        "initiator": "automatic_billing"});
    let refused = http.post("/transactions", client, billing).await;
    assert_eq!(
        (refused.status, refused.body["details"]["initiator"].is_string()),
        (400, true),
        "{:?}",
        refused.body
    );
    assert_eq!(mesh.count("SELECT count(*) FROM payments.transactions").await, before);

    // An authorized payment of a card typed in: the partner's server
    // confirms it with its secret key.
    let authorized = http
        .post(
            "/transactions",
            client,
            json!({"type": "payment", "amount": 10, "status": "authorized", "payment_method": inline}),
        )
        .await;
    assert_eq!(authorized.status, 200, "{:?}", authorized.body);
    assert_eq!(authorized.body["status"], "authorized");
    let payment = authorized.body["id"].as_str().unwrap().to_owned();
    let refund = json!({"type": "refund", "amount": 1, "ledger": [{"assoc_transaction_id": payment}]});
    assert_eq!(http.post("/transactions", client, refund).await.status, 403);
    for path in [format!("/transactions/{payment}"), "/transactions".to_owned()] {
        assert_eq!(http.get(&path, client).await.status, 403, "client keys read nothing: {path}");
    }
    let confirmed =
        http.put(&format!("/transactions/{payment}"), client, json!({"status": "processed"})).await;
    assert_eq!(confirmed.status, 403, "{:?}", confirmed.body);
    let confirmed =
        http.put(&format!("/transactions/{payment}"), secret, json!({"status": "processed"})).await;
    assert_eq!(confirmed.body["status"], "processed", "{:?}", confirmed.body);
    mesh.assert_ledger_invariants().await;
}

/// Over gRPC a client key is held to the same rule, and cannot pass its
/// payment off as paymesh's automatic billing.
#[tokio::test]
async fn over_grpc_client_keys_authorize_only_too() {
    use paymesh_proto::{
        common::v1::Money,
        methods::v1 as pm,
        payments::v1::{self as pb, transaction_service_client::TransactionServiceClient},
    };
    let mesh = Mesh::start().await;
    let card = pm::PaymentMethod {
        r#type: pm::PaymentMethodType::Card as i32,
        card: Some(pm::Card { card_number: "4242424242424242".into(), ..Default::default() }),
        ..Default::default()
    };
    let payment = |initiator: pb::PaymentInitiator| pb::CreateTransactionRequest {
        transaction: Some(pb::Transaction {
            r#type: pb::TransactionType::Payment as i32,
            status: pb::TransactionStatus::Authorized as i32,
            amount: Some(Money { amount: "10.00".into(), currency: "USD".into() }),
            payment_method: Some(card.clone()),
            initiator: initiator as i32,
            ..Default::default()
        }),
    };
    let mut grpc = TransactionServiceClient::new(mesh.payments_channel());
    let refused = grpc
        .create_transaction(paymesh_tests::authorized(
            client_key(&mesh),
            payment(pb::PaymentInitiator::AutomaticBilling),
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let details = tonic_types::StatusExt::get_details_bad_request(&refused).unwrap();
    assert_eq!(details.field_violations[0].field, "transaction.initiator", "{details:?}");
    let made = grpc
        .create_transaction(paymesh_tests::authorized(client_key(&mesh), payment(pb::PaymentInitiator::Api)))
        .await
        .unwrap()
        .into_inner()
        .transaction
        .unwrap();
    assert_eq!(made.status, pb::TransactionStatus::Authorized as i32);
}

/// Checkout and Secure Input in headless Chromium: `tests/js/toolkit.mjs`.
#[tokio::test]
async fn the_toolkit_works_in_a_real_browser() {
    let mesh = Mesh::start().await;
    let (http, secret) = (mesh.http(), test_key(&mesh.acme));
    let lines = run_browser_test(&mesh, "toolkit.mjs", &[("CLIENT_KEY", client_key(&mesh))]).await;
    let flow = |name: &str| browser_flow(&lines, name);

    // Checkout: one decline, then one authorization (however many clicks).
    let checkout = flow("checkout")["transaction_id"].as_str().unwrap().to_owned();
    let membership = http.get("/transactions?description=Membership&order_by=created_at", secret).await;
    let statuses: Vec<&str> =
        membership.body["values"].as_array().unwrap().iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["declined", "authorized"], "{:?}", membership.body);
    // "Step 3) Server Confirmation", as the reference's curl writes it.
    let confirmed = http
        .send(
            http.request(reqwest::Method::PUT, &format!("/transactions/{checkout}"), Some(secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("status=processed"),
        )
        .await;
    assert_eq!(
        (confirmed.body["status"].as_str(), confirmed.body["amount"].as_f64()),
        (Some("processed"), Some(100.0)),
        "{:?}",
        confirmed.body
    );

    // Secure Input: an authorized payment of 10.00, and a token on no account.
    let secure = flow("secure_payment")["transaction_id"].as_str().unwrap().to_owned();
    let secure = http.get(&format!("/transactions/{secure}"), secret).await;
    assert_eq!(
        (secure.body["status"].as_str(), secure.body["amount"].as_f64()),
        (Some("authorized"), Some(10.0))
    );
    let method = flow("secure_method")["payment_method_id"].as_str().unwrap().to_owned();
    let method = http.get(&format!("/payment_methods/{method}"), secret).await;
    assert_eq!(
        (
            method.body["account_id"].clone(),
            method.body["account_holder"].clone(),
            method.body["description"].clone()
        ),
        (Value::Null, json!("Ada Payer"), json!("Visa x-4242")),
        "{:?}",
        method.body
    );

    // PlacePay's Pay plugin: the rent, authorized.
    let rent = flow("placepay")["transaction_id"].as_str().unwrap().to_owned();
    let rent = http.get(&format!("/transactions/{rent}"), secret).await;
    assert_eq!(
        (rent.body["status"].as_str(), rent.body["amount"].as_f64(), rent.body["description"].as_str()),
        (Some("authorized"), Some(1000.0), Some("First Month's Rent"))
    );
    mesh.assert_ledger_invariants().await;
}
