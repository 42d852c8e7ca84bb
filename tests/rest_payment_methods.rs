//! Payment methods through the gateway, end to end: the SDK's nested shape
//! and the reference's flat form, masked numbers everywhere, defaults
//! followed by the customer, per-field errors, keys by kind, tenancy — and
//! no number nor security code in any log.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use paymesh_tests::{CapturedLogs, Mesh, key, test_key};
use reqwest::Method;
use serde_json::{Value, json};

const PAN: &str = "4242424242424242";
const CODE: &str = "987";

/// A form body (`application/x-www-form-urlencoded`), as curl `-d` sends.
fn form(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()
}

#[tokio::test]
async fn cards_are_tokenized_masked_and_managed_through_rest() {
    let logs = CapturedLogs::start();
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let customer =
        http.post("/customers", key, json!({"name": "Matt Perez", "email": "matt@example.com"})).await;
    let customer_id = customer.body["id"].as_str().unwrap().to_owned();

    // The SDK's shape: `type`, and the card's details under `card`.
    let created = http
        .post(
            "/payment_methods",
            key,
            json!({
                "type": "card",
                "account_id": customer_id,
                "account_holder": "Matt Perez",
                "card": {"card_number": "4242 4242 4242 4242", "expiry": "12/30", "card_code": CODE},
                "billing_address": {"postal_code": "10001"},
                "attrs": {"nickname": "work"}
            }),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let card = &created.body;
    assert_eq!(card["object"], "payment_method");
    assert_eq!(card["description"], "Visa x-4242");
    assert_eq!(
        card["card"],
        json!({
            "card_number": "xxxxxxxxxxxx4242",
            "expiry": "12/2030",
            "card_brand": "visa",
            "card_type": "credit",
            "last4": "4242",
            "bin": "424242"
        })
    );
    assert_eq!(card["bank_account"], Value::Null);
    assert_eq!(card["billing_address"]["postal_code"], "10001");
    assert_eq!(card["default_payment_method"], false);
    // Ids and timestamps are random digits: the code is looked for as a
    // value of its own, the number anywhere.
    assert!(card["card"].get("card_code").is_none());
    assert!(!card.to_string().contains(PAN) && !card.to_string().contains(&format!("\"{CODE}\"")));
    let card_id = card["id"].as_str().unwrap().to_owned();

    // The reference's flat form, as curl sends it.
    let flat = http
        .send(
            http.request(Method::POST, "/payment_methods", Some(key))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(&[
                    ("type", "card"),
                    ("account_id", &customer_id),
                    ("full_name", "Matt Perez"),
                    ("card_number", "5555 5555 5555 4444"),
                    ("expiration_date", "05/31"),
                    ("card_code", "123"),
                    ("billing_address[postal_code]", "10001"),
                    ("default_payment_method", "true"),
                ])),
        )
        .await;
    assert_eq!(flat.status, 200, "{:?}", flat.body);
    assert_eq!(flat.body["description"], "Mastercard x-4444");
    assert_eq!(flat.body["account_holder"], "Matt Perez");
    let flat_id = flat.body["id"].as_str().unwrap().to_owned();
    let payer = http.get(&format!("/customers/{customer_id}"), key).await;
    assert_eq!(payer.body["default_payment_method_id"], flat_id.as_str());

    // Read, list, filter, and the account's own list.
    assert_eq!(http.get(&format!("/payment_methods/{card_id}"), key).await.body, *card);
    let visas = http.get("/payment_methods?card[card_brand]=visa&fields=id,description", key).await;
    assert_eq!(
        visas.body["values"],
        json!([{"id": card_id, "object": "payment_method", "type": "card", "description": "Visa x-4242"}]),
        "{:?}",
        visas.body
    );
    let of_customer = http.get(&format!("/customers/{customer_id}/payment_methods"), key).await;
    assert_eq!(of_customer.body["values"].as_array().unwrap().len(), 2, "{:?}", of_customer.body);
    let by_type =
        http.get("/payment_methods?group_by=card[card_brand]&fields=card[card_brand],count(id)", key).await;
    assert_eq!(by_type.status, 200, "{:?}", by_type.body);

    // An object read may be sent back changed; its numbers cannot change.
    let mut back = card.as_object().unwrap().clone();
    back.insert("account_holder".to_owned(), json!("Matthew Perez"));
    back.insert("default_payment_method".to_owned(), json!(true));
    let updated = http.put(&format!("/payment_methods/{card_id}"), key, Value::Object(back)).await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["account_holder"], "Matthew Perez");
    let payer = http.get(&format!("/customers/{customer_id}"), key).await;
    assert_eq!(payer.body["default_payment_method_id"], card_id.as_str(), "the default moved");
    let renumbered =
        http.put(&format!("/payment_methods/{card_id}"), key, json!({"card": {"card_number": PAN}})).await;
    assert_eq!(renumbered.status, 400);
    assert_eq!(
        renumbered.body["details"],
        json!({"card": {"card_number": "Cannot change: tokenize the new card or bank account instead"}})
    );

    // Deleted: gone from reads, and from the customer's default.
    let deleted = http.delete(&format!("/payment_methods/{card_id}"), key, None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(http.get(&format!("/payment_methods/{card_id}"), key).await.status, 404);
    let payer = http.get(&format!("/customers/{customer_id}"), key).await;
    assert_eq!(payer.body["default_payment_method_id"], Value::Null);

    // Nowhere in any log: the card number, the security code.
    drop(mesh);
    let text = logs.text();
    assert!(text.contains("payment method created"), "logs were captured");
    for secret in [PAN, "5555555555554444", "4242 4242 4242 4242", "5555 5555 5555 4444"] {
        assert!(!text.contains(secret), "{secret} appears in the logs");
    }
    // A three-digit code may appear by chance (a duration, a port): look
    // for it as a value of its own, as a field, JSON or form would show it.
    for shown in [format!("\"{CODE}\""), format!("card_code={CODE}"), format!("card_code: {CODE}")] {
        let line = text.lines().find(|line| line.contains(&shown));
        assert!(line.is_none(), "the code appears in the logs: {line:?}");
    }
}

#[tokio::test]
async fn bad_methods_are_refused_per_attribute() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let customer = http.post("/customers", key, json!({"name": "Matt", "email": "matt@example.com"})).await;
    let customer_id = customer.body["id"].as_str().unwrap();
    let cases = [
        (
            json!({"type": "card", "account_id": customer_id,
                   "card": {"card_number": "4242 4242 4242 4241", "expiry": "13/30"}}),
            json!({"card": {"card_number": "Not a valid card number (check digit)", "expiry": "The month must be 01 to 12"},
                   "billing_address": {"postal_code": "Required for a card on an account"}}),
        ),
        (
            json!({"type": "card", "account_id": customer_id, "card": {"card_number": PAN, "expiry": "12/30", "card_code": "1"}}),
            json!({"card": {"card_code": "Visa security codes have 3 digits"},
                   "billing_address": {"postal_code": "Required for a card on an account"}}),
        ),
        (
            json!({"type": "bank_account", "account_id": customer_id,
                   "bank_account": {"account_number": "12", "routing_number": "021000022", "account_type": "brokerage"}}),
            json!({"bank_account": {"account_type": "Must be one of: checking, savings"}}),
        ),
        (
            json!({"type": "bank_account", "account_id": customer_id,
                   "bank_account": {"account_number": "12", "routing_number": "021000022"}}),
            json!({"bank_account": {"routing_number": "Not a valid routing number (checksum)",
                                    "account_number": "An account number must be 4 to 17 digits"}}),
        ),
        (
            json!({"type": "cash", "account_id": 5, "card": "x"}),
            json!({"type": "Must be one of: card, bank_account", "account_id": "Must be a string or null", "card": "Must be an object"}),
        ),
        (
            json!({"type": "card", "account_id": "01938a00-0000-7000-8000-000000000001",
                   "card": {"card_number": PAN, "expiry": "12/30"}, "billing_address": {"postal_code": "10001"}}),
            json!({"account_id": "Billers come from the biller directory and take no payment methods"}),
        ),
    ];
    for (body, details) in cases {
        let refused = http.post("/payment_methods", key, body.clone()).await;
        assert_eq!(refused.status, 400, "{body}: {:?}", refused.body);
        assert_eq!(refused.body["error_type"], "InvalidAttributes");
        assert_eq!(refused.body["details"], details, "{body}");
    }
    assert_eq!(mesh.count("SELECT count(*) FROM methods.payment_methods").await, 0);
}

#[tokio::test]
async fn keys_and_partners_see_only_what_they_may() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let (key, client, other) =
        (test_key(&mesh.acme), key(&mesh.acme, "test_client_key_"), test_key(&mesh.globex));
    let shop = http
        .post(
            "/processing_accounts",
            key,
            json!({"name": "Corner Shop", "email": "shop@example.com",
                   "processing": {"industry": "Retail", "category": "retail", "visibility": "partner"}}),
        )
        .await;
    assert_eq!(shop.status, 200, "{:?}", shop.body);
    let shop_id = shop.body["id"].as_str().unwrap();
    // A browser tokenizes a customer's card with the client key, and
    // cannot read it back; payouts are for secret keys.
    let bank = json!({"type": "bank_account", "account_id": shop_id,
                      "bank_account": {"account_number": "000123456789", "routing_number": "021000021",
                                       "account_type": "checking", "account_class": "business"}});
    let refused = http.post("/payment_methods", client, bank.clone()).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body["details"]["account_id"]
            .as_str()
            .unwrap()
            .starts_with("Client keys tokenize customers'")
    );
    let payer = http.post("/customers", key, json!({"name": "Ann Lee", "email": "ann@example.com"})).await;
    let payer_id = payer.body["id"].as_str().unwrap();
    let tokenized = http
        .post(
            "/payment_methods",
            client,
            json!({"type": "card", "account_id": payer_id, "card": {"card_number": PAN, "expiry": "12/30"},
                   "billing_address": {"postal_code": "10001"}}),
        )
        .await;
    assert_eq!(tokenized.status, 200, "{:?}", tokenized.body);
    let card_id = tokenized.body["id"].as_str().unwrap();
    assert_eq!(http.get(&format!("/payment_methods/{card_id}"), client).await.status, 403);
    assert_eq!(http.get("/payment_methods", client).await.status, 403);

    let created = http.post("/payment_methods", key, bank).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(created.body["description"], "Checking x-6789");
    assert_eq!(created.body["bank_account"]["account_number"], "xxxxxx6789");
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        http.get(&format!("/processing_accounts/{shop_id}/payment_methods"), key).await.body["values"][0]["id"],
        id
    );
    // A bank account read may be sent back changed.
    let mut back = created.body.as_object().unwrap().clone();
    back.insert("account_holder".to_owned(), json!("Corner Shop LLC"));
    let updated = http.put(&format!("/payment_methods/{id}"), key, Value::Object(back)).await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["account_holder"], "Corner Shop LLC");
    let rerouted = http
        .put(&format!("/payment_methods/{id}"), key, json!({"bank_account": {"routing_number": "011000015"}}))
        .await;
    assert_eq!(rerouted.body["details"], json!({"bank_account": {"routing_number": "Read-only attribute"}}));

    // Another partner: nothing there, and its own account list is a 404.
    assert_eq!(http.get(&format!("/payment_methods/{id}"), other).await.status, 404);
    assert_eq!(http.delete(&format!("/payment_methods/{id}"), other, None).await.status, 404);
    assert_eq!(
        http.put(&format!("/payment_methods/{id}"), other, json!({"account_holder": "x"})).await.status,
        404
    );
    assert_eq!(http.get(&format!("/accounts/{shop_id}/payment_methods"), other).await.status, 404);
    assert_eq!(http.get("/payment_methods", other).await.body["values"], json!([]));
    // Nor in live mode.
    assert_eq!(http.get(&format!("/payment_methods/{id}"), key_of(&mesh)).await.status, 404);
    // A list is checked item by item (bulk writes: `rest_bulk`).
    let many =
        http.post("/payment_methods", key, json!({"object": "list", "values": [{"type": "card"}]})).await;
    assert_eq!(many.status, 400, "{:?}", many.body);
    assert_eq!(many.body["details"]["values"][0]["card"], "Required for a card");
}

fn key_of(mesh: &Mesh) -> &str {
    key(&mesh.acme, "secret_key_")
}
