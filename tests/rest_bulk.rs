//! Bulk writes through the gateway on every collection that offers them:
//! a list body for `POST`, `PUT` and `DELETE`, and `mode=query` updates and
//! deletes. All or none, each bad item's problems in its place of the
//! list, another partner's or mode's objects never named nor matched.
//! Accounts have their own in `rest_customers`.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use paymesh_tests::{Mesh, key, test_key};
use serde_json::{Value, json};

/// A far expiry, so these tests do not age.
const EXPIRY: &str = "12/34";

fn list(values: Value) -> Value {
    json!({"object": "list", "values": values})
}

fn ids(reply: &Value) -> Vec<String> {
    reply["values"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

fn card(account: &str, number: &str) -> Value {
    json!({
        "type": "card",
        "account_id": account,
        "card": {"card_number": number, "expiry": EXPIRY},
        "billing_address": {"postal_code": "10001"}
    })
}

#[tokio::test]
async fn payment_methods_in_bulk_and_by_query() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let matt = http.post("/customers", key, json!({"name": "Matt Perez", "email": "matt@example.com"})).await;
    let matt = matt.body["id"].as_str().unwrap().to_owned();

    // One bad item: nothing is stored, and its problem is in its place.
    let bad = http
        .post("/payment_methods", key, list(json!([card(&matt, "4242424242424242"), card(&matt, "4242")])))
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert_eq!(bad.body["error_type"], "InvalidAttributes");
    assert_eq!(bad.body["details"]["values"][0], json!({}));
    assert!(bad.body["details"]["values"][1]["card"]["card_number"].is_string(), "{:?}", bad.body);
    assert_eq!(mesh.count("SELECT count(*) FROM methods.payment_methods").await, 0);

    let mut default = card(&matt, "5555555555554444");
    default["default_payment_method"] = json!(true);
    let created =
        http.post("/payment_methods", key, list(json!([card(&matt, "4242424242424242"), default]))).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let methods = ids(&created.body);
    assert_eq!(created.body["values"][1]["description"], "Mastercard x-4444");
    let customer = http.get(&format!("/customers/{matt}"), key).await;
    assert_eq!(customer.body["default_payment_method_id"], methods[1].as_str());

    // A list update: the Visa becomes the default, the Mastercard gives way.
    let unknown = "01a1ffb8-0000-7000-8000-000000000000";
    let refused = http
        .put(
            "/payment_methods",
            key,
            list(json!([{"id": methods[0], "account_holder": "M. Perez"}, {"id": unknown, "account_holder": "X"}])),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body["details"], list(json!([{}, {"id": "No such payment method"}])));
    let updated = http
        .put(
            "/payment_methods",
            key,
            list(json!([
                {"id": methods[0], "default_payment_method": true},
                {"id": methods[1], "account_holder": "Matt Perez"},
            ])),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["values"][0]["default_payment_method"], true);
    assert_eq!(updated.body["values"][1]["default_payment_method"], false);
    assert_eq!(updated.body["values"][1]["account_holder"], "Matt Perez");
    let customer = http.get(&format!("/customers/{matt}"), key).await;
    assert_eq!(customer.body["default_payment_method_id"], methods[0].as_str());

    // By query: every Mastercard gets a nickname; the filter is required.
    let tagged = http
        .put(
            "/payment_methods?card[card_brand]=mastercard&mode=query",
            key,
            json!({"attrs": {"nickname": "spare"}}),
        )
        .await;
    assert_eq!(tagged.status, 200, "{:?}", tagged.body);
    assert_eq!(ids(&tagged.body), [methods[1].clone()]);
    assert_eq!(tagged.body["values"][0]["attrs"], json!({"nickname": "spare"}));
    let everything = http.delete("/payment_methods?mode=query", key, None).await;
    assert_eq!(everything.status, 400);
    let spares = http.get("/payment_methods?attrs[nickname]=spare", key).await;
    assert_eq!(ids(&spares.body), [methods[1].clone()]);

    // Delete by list, then by query.
    let deleted = http.delete("/payment_methods", key, Some(list(json!([{"id": methods[1]}])))).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(http.get(&format!("/payment_methods/{}", methods[1]), key).await.status, 404);
    let deleted = http.delete(&format!("/payment_methods?account_id={matt}&mode=query"), key, None).await;
    assert_eq!(ids(&deleted.body), [methods[0].clone()]);
    let customer = http.get(&format!("/customers/{matt}"), key).await;
    assert_eq!(customer.body["default_payment_method_id"], Value::Null);
}

#[tokio::test]
async fn bulk_writes_never_reach_another_partners_or_modes_objects() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let acme = test_key(&mesh.acme);
    let mut others = Vec::new();
    for other in [test_key(&mesh.globex), key(&mesh.acme, "secret_key_")] {
        let customer =
            http.post("/customers", other, json!({"name": "Eve", "email": "eve@example.com"})).await;
        let customer = customer.body["id"].as_str().unwrap().to_owned();
        let method = http.post("/payment_methods", other, card(&customer, "4242424242424242")).await;
        assert_eq!(method.status, 200, "{:?}", method.body);
        others.push((other, customer, method.body["id"].as_str().unwrap().to_owned()));
    }
    for (_, customer, method) in &others {
        let create =
            http.post("/payment_methods", acme, list(json!([card(customer, "4242424242424242")]))).await;
        assert_eq!(create.status, 400);
        assert_eq!(create.body["details"], list(json!([{"account_id": "No such account"}])));
        let update =
            http.put("/payment_methods", acme, list(json!([{"id": method, "account_holder": "X"}]))).await;
        assert_eq!(update.body["details"], list(json!([{"id": "No such payment method"}])));
        let delete = http.delete("/payment_methods", acme, Some(list(json!([{"id": method}])))).await;
        assert_eq!(delete.body["details"], list(json!([{"id": "No such payment method"}])));
        let by_query = http.delete(&format!("/payment_methods?id={method}&mode=query"), acme, None).await;
        assert_eq!(by_query.status, 200);
        assert_eq!(by_query.body["values"], json!([]));
    }
    for (other, _, method) in &others {
        let still = http.get(&format!("/payment_methods/{method}"), other).await;
        assert_eq!(still.status, 200);
        assert_eq!(still.body["account_holder"], Value::Null);
    }
}
