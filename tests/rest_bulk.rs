//! Bulk writes through the gateway on every collection that offers them:
//! a list body for `POST`, `PUT` and `DELETE`, and `mode=query` updates and
//! deletes. All or none, each bad item's problems in its place of the
//! list, another partner's or mode's objects never named nor matched.
//! Accounts have their own in `rest_customers`.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use paymesh_tests::{Mesh, authorized, key, test_key};
use serde_json::{Value, json};

/// A far expiry, so these tests do not age.
const EXPIRY: &str = "12/34";

fn list(values: Value) -> Value {
    json!({"object": "list", "values": values})
}

fn ids(reply: &Value) -> Vec<String> {
    let values = reply["values"].as_array().unwrap_or_else(|| panic!("not a list: {reply}"));
    values.iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
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

#[tokio::test]
async fn payment_intents_in_bulk_and_by_query() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let memo = |text: &str| json!({"details": {"memo": text}});

    let bad =
        http.post("/payment_intents", key, list(json!([memo("a"), {"target_amount": {"value": 5}}]))).await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert_eq!(bad.body["details"], list(json!([{}, {"target_amount": {"currency": "Required"}}])));
    assert_eq!(mesh.count("SELECT count(*) FROM intents.payment_intents").await, 0);

    let created = http.post("/payment_intents", key, list(json!([memo("a"), memo("b")]))).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let intents = ids(&created.body);
    assert_eq!(created.body["values"][1]["details"]["memo"], "b");
    assert_eq!(created.body["values"][0]["status"], "INCOMPLETE");

    // A list cancels every intent or none: two calls could half succeed.
    let mixed = http
        .put(
            "/payment_intents",
            key,
            list(json!([{"id": intents[0], "status": "CANCELED"}, {"id": intents[1], "details": {"memo": "x"}}])),
        )
        .await;
    assert_eq!(mixed.status, 400, "{:?}", mixed.body);
    let updated = http
        .put(
            "/payment_intents",
            key,
            list(json!([{"id": intents[0], "details": {"memo": "a2"}}, {"id": intents[1], "details": {"memo": "b2"}}])),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["values"][1]["details"]["memo"], "b2");

    // Canceled in a list; a canceled intent no longer changes, and says so
    // in its place.
    let canceled = http.delete("/payment_intents", key, Some(list(json!([{"id": intents[0]}])))).await;
    assert_eq!(canceled.status, 200, "{:?}", canceled.body);
    assert_eq!(canceled.body["values"][0]["status"], "CANCELED");
    let late = http
        .put(
            "/payment_intents",
            key,
            list(json!([{"id": intents[1], "details": {"memo": "b3"}}, {"id": intents[0], "details": {"memo": "a3"}}])),
        )
        .await;
    assert_eq!(
        late.body["details"],
        list(json!([{}, {"id": "The payment intent was canceled"}])),
        "{:?}",
        late.body
    );
    assert_eq!(
        http.get(&format!("/payment_intents/{}", intents[1]), key).await.body["details"]["memo"],
        "b2"
    );

    // By query: the matches that can still change; one that cannot
    // refuses the request, naming it.
    let by_query = http
        .put("/payment_intents?status=INCOMPLETE&mode=query", key, json!({"details": {"memo": "bulk"}}))
        .await;
    assert_eq!(by_query.status, 200, "{:?}", by_query.body);
    assert_eq!(ids(&by_query.body), [intents[1].clone()]);
    let refused = http
        .put(
            &format!("/payment_intents?id={}&mode=query", intents[0]),
            key,
            json!({"details": {"memo": "x"}}),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body["details"]["status"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Payment intent {}", intents[0])),
        "{:?}",
        refused.body
    );
    let canceled = http.delete("/payment_intents?status=INCOMPLETE&mode=query", key, None).await;
    assert_eq!(ids(&canceled.body), [intents[1].clone()]);
    assert_eq!(
        mesh.count("SELECT count(*) FROM intents.payment_intents WHERE status = 'CANCELED'").await,
        2,
        "{:?}",
        canceled.body
    );

    // Another partner names nothing of Acme's.
    let globex = test_key(&mesh.globex);
    let foreign = http.delete("/payment_intents", globex, Some(list(json!([{"id": intents[1]}])))).await;
    assert_eq!(foreign.body["details"], list(json!([{"id": "No such payment intent"}])));
}

#[tokio::test]
async fn payment_intents_in_batches_over_grpc() {
    use paymesh_proto::intents::v1::{self as pb, payment_intent_service_client::PaymentIntentServiceClient};

    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let mut grpc = PaymentIntentServiceClient::new(mesh.intents_channel());
    let draft = |memo: &str| pb::CreatePaymentIntentRequest {
        payment_intent: Some(pb::PaymentIntent {
            details: Some(pb::Details { memo: Some(memo.to_owned()), ..Default::default() }),
            ..Default::default()
        }),
    };
    let created = grpc
        .batch_create_payment_intents(authorized(
            key,
            pb::BatchCreatePaymentIntentsRequest { requests: vec![draft("one"), draft("two")] },
        ))
        .await
        .unwrap()
        .into_inner()
        .payment_intents;
    assert_eq!(created.len(), 2);

    let unknown = "01a1ffb8-0000-7000-8000-000000000000".to_owned();
    let status = grpc
        .batch_cancel_payment_intents(authorized(
            key,
            pb::BatchCancelPaymentIntentsRequest { ids: vec![created[0].id.clone(), unknown] },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let details = tonic_types::StatusExt::get_error_details(&status);
    assert_eq!(details.bad_request().unwrap().field_violations[0].field, "ids[1]");
    assert_eq!(mesh.count("SELECT count(*) FROM intents.payment_intents WHERE status = 'CANCELED'").await, 0);

    let canceled = grpc
        .batch_cancel_payment_intents(authorized(
            key,
            pb::BatchCancelPaymentIntentsRequest { ids: created.iter().map(|i| i.id.clone()).collect() },
        ))
        .await
        .unwrap()
        .into_inner()
        .payment_intents;
    assert!(canceled.iter().all(|i| i.status == pb::PaymentIntentStatus::Canceled as i32), "{canceled:?}");

    // A change by query must name a change, even when nothing matches.
    let status = grpc
        .update_payment_intents_by_query(authorized(
            key,
            pb::UpdatePaymentIntentsByQueryRequest {
                filters: vec![paymesh_proto::common::v1::Filter {
                    field: Some(paymesh_proto::common::v1::FieldRef {
                        path: vec!["status".into()],
                        function: 0,
                    }),
                    any_of: vec![paymesh_proto::common::v1::Condition {
                        operator: paymesh_proto::common::v1::Operator::Equal as i32,
                        value: "INCOMPLETE".into(),
                    }],
                }],
                payment_intent: None,
                update_mask: None,
            },
        ))
        .await
        .unwrap_err();
    let details = tonic_types::StatusExt::get_error_details(&status);
    assert_eq!(details.bad_request().unwrap().field_violations[0].field, "update_mask");
}

#[tokio::test]
async fn legal_entities_and_owners_in_bulk_and_by_query() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let entity = |name: &str| json!({"legal_name": name, "type": "CORPORATION"});

    let bad = http
        .post(
            "/legal_entities",
            key,
            list(json!([entity("Acme Rentals"), {"legal_name": "", "type": "CORPORATION"}])),
        )
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert_eq!(bad.body["details"], list(json!([{}, {"legal_name": "Required"}])));
    assert_eq!(mesh.count("SELECT count(*) FROM identity.legal_entities").await, 0);

    let created = http
        .post("/legal_entities", key, list(json!([entity("Acme Rentals"), entity("Acme Storage")])))
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let entities = ids(&created.body);

    // Owners in bulk; the shares of one entity stay within 100%, checked
    // across the items of the list too.
    let owner = |entity: &str, name: &str, share: u32| json!({"legal_entity_id": entity, "full_name": name, "ownership": share});
    let too_much = http
        .post(
            "/legal_entity_owners",
            key,
            list(json!([owner(&entities[0], "Jane Doe", 60), owner(&entities[0], "John Roe", 50)])),
        )
        .await;
    assert_eq!(too_much.status, 400, "{:?}", too_much.body);
    assert_eq!(too_much.body["details"]["values"][0], json!({}));
    assert!(too_much.body["details"]["values"][1]["ownership"].is_string(), "{:?}", too_much.body);
    assert_eq!(mesh.count("SELECT count(*) FROM identity.legal_entity_owners").await, 0);
    let owners = http
        .post(
            "/legal_entity_owners",
            key,
            list(json!([owner(&entities[0], "Jane Doe", 60), owner(&entities[1], "John Roe", 100)])),
        )
        .await;
    assert_eq!(owners.status, 200, "{:?}", owners.body);
    let owner_ids = ids(&owners.body);

    let unknown = "01a1ffb8-0000-7000-8000-000000000000";
    let refused = http
        .put(
            "/legal_entities",
            key,
            list(json!([{"id": entities[0], "contact_name": "Jane"}, {"id": unknown, "contact_name": "X"}])),
        )
        .await;
    assert_eq!(refused.body["details"], list(json!([{}, {"id": "No such legal entity"}])));
    let updated = http
        .put(
            "/legal_entities",
            key,
            list(json!([{"id": entities[0], "contact_name": "Jane"}, {"id": entities[1], "contact_name": "John"}])),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["values"][1]["contact_name"], "John");

    let titled = http
        .put(
            &format!("/legal_entity_owners?legal_entity_id={}&mode=query", entities[1]),
            key,
            json!({"title": "CEO"}),
        )
        .await;
    assert_eq!(titled.status, 200, "{:?}", titled.body);
    assert_eq!(ids(&titled.body), [owner_ids[1].clone()]);
    assert_eq!(titled.body["values"][0]["title"], "CEO");
    let renamed = http
        .put(
            "/legal_entities?legal_name=Acme Storage&mode=query",
            key,
            json!({"website": "https://storage.example"}),
        )
        .await;
    assert_eq!(ids(&renamed.body), [entities[1].clone()], "{:?}", renamed.body);

    // Another partner names and matches nothing of Acme's.
    let globex = test_key(&mesh.globex);
    let foreign =
        http.delete("/legal_entity_owners", globex, Some(list(json!([{"id": owner_ids[0]}])))).await;
    assert_eq!(foreign.body["details"], list(json!([{"id": "No such owner"}])), "{:?}", foreign.body);
    let foreign = http.delete("/legal_entities?legal_name=Acme Rentals&mode=query", globex, None).await;
    assert_eq!(foreign.body["values"], json!([]));

    let deleted = http.delete("/legal_entity_owners", key, Some(list(json!([{"id": owner_ids[0]}])))).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let deleted = http.delete("/legal_entities?legal_name=Acme Storage&mode=query", key, None).await;
    assert_eq!(ids(&deleted.body), [entities[1].clone()], "{:?}", deleted.body);
    assert_eq!(
        http.get(&format!("/legal_entity_owners/{}", owner_ids[1]), key).await.status,
        404,
        "with its owners"
    );
    let deleted = http.delete("/legal_entities", key, Some(list(json!([{"id": entities[0]}])))).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert!(http.get("/legal_entities", key).await.body["values"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn legal_entities_in_batches_over_grpc() {
    use paymesh_proto::identity::v1::{self as pb, legal_entity_service_client::LegalEntityServiceClient};

    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let mut grpc = LegalEntityServiceClient::new(mesh.identity_channel());
    let entity = |name: &str| pb::CreateLegalEntityRequest {
        legal_entity: Some(pb::LegalEntity {
            legal_name: name.to_owned(),
            r#type: pb::LegalEntityType::Corporation as i32,
            ..Default::default()
        }),
    };
    let status = grpc
        .batch_create_legal_entities(authorized(
            key,
            pb::BatchCreateLegalEntitiesRequest { requests: vec![entity("Acme Rentals"), entity("")] },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let details = tonic_types::StatusExt::get_error_details(&status);
    assert_eq!(
        details.bad_request().unwrap().field_violations[0].field,
        "requests[1].legal_entity.legal_name"
    );

    let created = grpc
        .batch_create_legal_entities(authorized(
            key,
            pb::BatchCreateLegalEntitiesRequest {
                requests: vec![entity("Acme Rentals"), entity("Acme Storage")],
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .legal_entities;
    let ids: Vec<String> = created.iter().map(|e| e.id.clone()).collect();
    let status = grpc
        .batch_delete_legal_entities(authorized(
            key,
            pb::BatchDeleteLegalEntitiesRequest { ids: vec![ids[0].clone(), ids[0].clone()] },
        ))
        .await
        .unwrap_err();
    let details = tonic_types::StatusExt::get_error_details(&status);
    assert_eq!(details.bad_request().unwrap().field_violations[0].field, "ids[1]");
    let deleted = grpc
        .batch_delete_legal_entities(authorized(key, pb::BatchDeleteLegalEntitiesRequest { ids }))
        .await
        .unwrap()
        .into_inner()
        .legal_entities;
    assert_eq!(deleted.len(), 2);
}

#[tokio::test]
async fn transactions_are_one_at_a_time_and_say_why() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let payments = list(json!([{"type": "payment", "amount": 10}, {"type": "payment", "amount": 20}]));
    for refused in [
        http.post("/transactions", key, payments.clone()).await,
        http.put("/transactions", key, payments).await,
    ] {
        assert_eq!(refused.status, 405, "{:?}", refused.body);
        let why = refused.body["description"].as_str().unwrap();
        assert!(why.contains("cannot be rolled back"), "{why}");
    }
    assert_eq!(mesh.count("SELECT count(*) FROM payments.transactions").await, 0);
}
