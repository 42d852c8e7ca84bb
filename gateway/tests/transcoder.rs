//! The transcoder against the real contracts: bodies read into messages
//! with every problem named, messages rendered as REST objects, violation
//! paths named as REST attributes, and the routes the annotations make.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, OnceLock};

use paymesh_gateway::rest::{
    read::{Object, Parsed, Purpose, parse},
    render::{place, render},
    routes::load,
    surface::{Collection, Surface, Verb},
};
use paymesh_proto::{identity::v1 as identity, methods::v1 as methods, payments::v1 as payments};
use prost_reflect::{DynamicMessage, MessageDescriptor};
use serde_json::{Value, json};

fn surface() -> &'static Surface {
    static SURFACE: OnceLock<Surface> = OnceLock::new();
    SURFACE.get_or_init(|| load(paymesh_proto::FILE_DESCRIPTOR_SET).expect("the contracts load"))
}

fn collection(path: &str) -> Arc<Collection> {
    let route = surface().routes.iter().find(|r| r.path == path).expect("a route");
    route.collection.clone().expect("a collection")
}

fn body(value: Value) -> Object {
    value.as_object().unwrap().clone()
}

/// Reads `value`, a JSON body, as an object of the collection at `path`.
fn read(path: &str, value: Value, purpose: Purpose<'_>) -> Result<Parsed, Value> {
    let c = collection(path);
    parse(surface(), &c.message, body(value), (purpose, false), Some(&c)).map_err(Value::Object)
}

/// Reads `value`, form fields (every value text), as an object of the
/// collection at `path`.
fn read_form(path: &str, value: Value, purpose: Purpose<'_>) -> Result<Parsed, Value> {
    let c = collection(path);
    parse(surface(), &c.message, body(value), (purpose, true), Some(&c)).map_err(Value::Object)
}

fn typed<T: prost::Message + Default>(message: &DynamicMessage) -> T {
    message.transcode_to().unwrap()
}

fn dynamic(name: &str, message: &impl prost::Message) -> DynamicMessage {
    let mut out = DynamicMessage::new(surface_descriptor(name));
    out.transcode_from(message).unwrap();
    out
}

fn surface_descriptor(name: &str) -> MessageDescriptor {
    let pool = prost_reflect::DescriptorPool::decode(paymesh_proto::FILE_DESCRIPTOR_SET).unwrap();
    pool.get_message_by_name(name).unwrap()
}

// === Reading bodies ===

#[test]
fn the_seed_create_body_parses_on_customers() {
    let parsed = read(
        "/customers",
        json!({"email": "matt.perez@example.com", "full_name": "Matt Perez"}),
        Purpose::Create,
    )
    .unwrap();
    let account: identity::Account = typed(&parsed.message);
    assert_eq!(account.name, "Matt Perez");
    assert_eq!(account.r#type, identity::AccountType::Customer as i32, "the view's filter is set");
    let both = read("/customers", json!({"name": "A", "full_name": "B"}), Purpose::Create).unwrap_err();
    assert_eq!(both, json!({"full_name": "Send name or full_name, not both"}));
}

#[test]
fn accounts_need_a_known_type_and_views_their_own() {
    let problems =
        read("/accounts", json!({"email": "a@x.com", "name": "A", "type": "admin"}), Purpose::Create);
    assert_eq!(problems.unwrap_err(), json!({"type": "Must be one of: customer, processing"}));
    let problems =
        read("/customers", json!({"email": "a@x.com", "name": "A", "type": "processing"}), Purpose::Create);
    assert_eq!(problems.unwrap_err(), json!({"type": "Must be \"customer\" here"}));
}

#[test]
fn wrong_types_unknown_and_read_only_attributes_are_named() {
    let object = json!({
        "email": 5, "name": null, "phone_number": [], "attrs": "x",
        "created_at": "2019-01-01", "id": "x", "secret": 1, "object": "invoice"
    });
    assert_eq!(
        read("/customers", object, Purpose::Create).unwrap_err(),
        json!({
            "email": "Must be a string", "name": "Required", "phone_number": "Must be a string or null",
            "attrs": "Must be an object", "created_at": "Read-only attribute", "id": "Read-only attribute",
            "secret": "Unknown attribute", "object": "Must be \"customer\""
        })
    );
}

#[test]
fn processing_attributes_parse_with_nested_problems() {
    let recipient = json!({
        "name": "Acme Rentals", "email": "rent@acme.example",
        "processing": {
            "industry": "Property management", "category": "rent", "visibility": "partner",
            "payout_method": "ach", "default": "true",
            "payout_details": {"routing_number": "011000015", "account_number": "000123456789"}
        }
    });
    // In JSON a boolean is a boolean, not its text.
    let as_json = read("/processing_accounts", recipient.clone(), Purpose::Create).unwrap_err();
    assert_eq!(as_json, json!({"processing": {"default": "Must be true or false"}}));
    let parsed = read_form("/processing_accounts", recipient, Purpose::Create).unwrap();
    let p = typed::<identity::Account>(&parsed.message).processing.unwrap();
    assert_eq!(p.category, identity::RecipientCategory::Rent as i32);
    assert_eq!(p.payout_method, identity::PayoutMethod::Ach as i32);
    assert!(p.default, "booleans are read from their text (forms)");
    assert_eq!(p.payout_details.unwrap().account_number, "000123456789");

    let bad = json!({"name": "A", "email": "a@x.com",
        "processing": {"category": "casino", "visibility": 3, "payout_details": {"iban": "x"}}});
    let problems = read("/processing_accounts", bad, Purpose::Create).unwrap_err();
    assert_eq!(problems["processing"]["visibility"], "Must be one of: payer, partner, biller");
    assert!(problems["processing"]["category"].as_str().unwrap().starts_with("Must be one of: utilities"));
    assert_eq!(problems["processing"]["payout_details"]["iban"], "Unknown attribute");
}

#[test]
fn updates_mask_exactly_what_was_sent() {
    let parsed = read(
        "/accounts",
        json!({"email": "b@x.com", "description": null, "attrs": null}),
        Purpose::Update { path_id: "1" },
    )
    .unwrap();
    assert_eq!(typed::<identity::Account>(&parsed.message).email, "b@x.com");
    assert_eq!(parsed.mask, ["email", "description", "attrs"]);
    assert_eq!(
        read("/accounts", json!({"id": "2"}), Purpose::Update { path_id: "1" }).unwrap_err(),
        json!({"id": "Does not match the id in the path"})
    );
    assert_eq!(
        read("/accounts", json!({"email": "b@x.com"}), Purpose::BatchUpdate).unwrap_err(),
        json!({"id": "Required"})
    );
    // A nested object masks its leaves; a replaced-whole one itself.
    let nested = json!({"processing": {"industry": "Rent", "payout_details": {"account_holder": "A"}}});
    let parsed = read("/processing_accounts", nested, Purpose::Update { path_id: "1" }).unwrap();
    assert_eq!(parsed.mask, ["processing.industry", "processing.payout_details"]);
}

#[test]
fn a_status_read_back_is_compared_and_a_change_is_requested() {
    let read_back = json!({"processing": {"status": "update_required", "status_reasons": []}});
    let parsed = read("/processing_accounts", read_back, Purpose::Update { path_id: "1" }).unwrap();
    assert!(parsed.mask.is_empty());
    let kept: Vec<(&str, &Value)> = parsed.kept.iter().map(|k| (k.path.as_str(), &k.value)).collect();
    assert_eq!(
        kept,
        [("processing.status", &json!("update_required")), ("processing.status_reasons", &json!([]))]
    );
    let deactivate = json!({"processing": {"status": "inactive", "status_reason": "Closed"}});
    let parsed = read("/processing_accounts", deactivate, Purpose::Update { path_id: "1" }).unwrap();
    assert_eq!(parsed.mask, ["processing.status", "processing.status_reason"]);
    let refused = read("/processing_accounts", json!({"processing": {"status": "active"}}), Purpose::Create);
    assert_eq!(refused.unwrap_err(), json!({"processing": {"status": "Read-only attribute"}}));
}

#[test]
fn the_sdk_nested_shape_and_the_flat_one_read_alike() {
    let nested = json!({
        "type": "card", "account_id": "a",
        "card": {"card_number": "4242 4242 4242 4242", "expiry": "12/30", "card_code": "123"},
        "billing_address": {"postal_code": "10001"}
    });
    let flat = json!({
        "type": "card", "account_id": "a", "full_name": "John Smith",
        "card_number": "4242 4242 4242 4242", "expiration_date": "12/30", "card_code": "123",
        "billing_address": {"postal_code": "10001"}
    });
    let nested: methods::PaymentMethod =
        typed(&read("/payment_methods", nested, Purpose::Create).unwrap().message);
    let flat: methods::PaymentMethod =
        typed(&read("/payment_methods", flat, Purpose::Create).unwrap().message);
    assert_eq!(nested.card, flat.card);
    assert_eq!(flat.account_holder, "John Smith");
    assert_eq!(nested.card.unwrap().card_code, "123");
    let bank = json!({"type": "bank_account", "account_id": "a",
        "bank_account": {"account_number": "1234567890", "routing_number": "021000021", "account_type": "savings"}});
    let bank: methods::PaymentMethod =
        typed(&read("/payment_methods", bank, Purpose::Create).unwrap().message);
    assert_eq!(bank.bank_account.unwrap().account_type, methods::BankAccountType::Savings as i32);
}

#[test]
fn numbers_cannot_change_and_masked_ones_may_be_sent_back() {
    let update = Purpose::Update { path_id: "m" };
    let parsed = read(
        "/payment_methods",
        json!({"card": {"card_number": "xxxxxxxxxxxx4242", "expiry": "01/31"}}),
        update,
    )
    .unwrap();
    assert_eq!(parsed.mask, ["card.expiry"]);
    let kept = &parsed.kept[0];
    assert_eq!((kept.path.as_str(), &kept.value), ("card.card_number", &json!("xxxxxxxxxxxx4242")));
    assert_eq!(kept.why, "Cannot change: tokenize the new card or bank account instead");
    let problems =
        read("/payment_methods", json!({"card": {"cvv": "1"}, "surprise": 1}), update).unwrap_err();
    assert_eq!(problems, json!({"card": {"cvv": "Unknown attribute"}, "surprise": "Unknown attribute"}));
    // By query, nothing is compared: an immutable number is refused.
    let by_query = read(
        "/payment_methods",
        json!({"card": {"card_number": "4000056655665556"}}),
        Purpose::UpdateByQuery,
    );
    assert_eq!(
        by_query.unwrap_err(),
        json!({"card": {"card_number": "Cannot change: tokenize the new card or bank account instead"}})
    );
}

#[test]
fn values_of_the_wrong_type_are_named() {
    let problems = read(
        "/payment_intents",
        json!({"is_expedited": "yes", "target_amount": {"value": true}, "payer": 5, "details": {"memo": 3}}),
        Purpose::Create,
    )
    .unwrap_err();
    assert_eq!(
        problems,
        json!({"is_expedited": "Must be true or false", "target_amount": {"value": "Must be a number"},
               "payer": "Must be an object", "details": {"memo": "Must be a string or null"}})
    );
    // In JSON a number's text is not a number; in a form every value is
    // text. Either way the amount keeps its exact digits.
    let text = json!({"payer": {"id": "p"}, "target_amount": {"value": "25.50", "currency": "USD"}});
    let refused = read("/payment_intents", text.clone(), Purpose::Create).unwrap_err();
    assert_eq!(refused, json!({"target_amount": {"value": "Must be a number"}}));
    let parsed = read_form("/payment_intents", text, Purpose::Create).unwrap();
    let intent: paymesh_proto::intents::v1::PaymentIntent = typed(&parsed.message);
    assert_eq!(intent.payer_id.as_deref(), Some("p"));
    assert_eq!(intent.target_amount.unwrap().amount, "25.50", "numbers keep their exact text");
    let number = json!({"payer": {"id": "p"}, "target_amount": {"value": 25.5, "currency": "USD"}});
    let parsed = read("/payment_intents", number, Purpose::Create).unwrap();
    let intent: paymesh_proto::intents::v1::PaymentIntent = typed(&parsed.message);
    assert_eq!(intent.target_amount.unwrap().amount, "25.5");
}

#[test]
fn money_as_a_number_takes_its_currency_beside_it() {
    let exact: Value =
        serde_json::from_str(r#"{"type": "payment", "amount": 10.50, "currency": "CAD"}"#).unwrap();
    let parsed = read("/transactions", exact, Purpose::Create).unwrap();
    let t: payments::Transaction = typed(&parsed.message);
    assert_eq!(
        t.amount.unwrap(),
        paymesh_proto::common::v1::Money { amount: "10.50".into(), currency: "CAD".into() }
    );
    let refused =
        read("/transactions", json!({"type": "payment", "amount": 5, "status": "voided"}), Purpose::Create);
    assert_eq!(refused.unwrap_err(), json!({"status": "Must be one of: authorized, processed"}));
    let change =
        read("/transactions", json!({"status": "authorized", "amount": 5}), Purpose::Update { path_id: "t" })
            .unwrap();
    assert!(change.mask.is_empty(), "a status an update may not write is compared, as is the amount");
    assert_eq!(change.kept.len(), 2);
}

// === Rendering ===

#[test]
fn transactions_show_money_as_numbers_with_the_currency_beside() {
    let t = payments::Transaction {
        id: "t1".into(),
        r#type: payments::TransactionType::Payment as i32,
        status: payments::TransactionStatus::Processed as i32,
        amount: Some(paymesh_proto::common::v1::Money { amount: "102.90".into(), currency: "USD".into() }),
        risk_score: "-0.25".into(),
        payment_method: Some(methods::PaymentMethod { id: "secret".into(), ..Default::default() }),
        ..Default::default()
    };
    let object = render(surface(), &dynamic("paymesh.payments.v1.Transaction", &t), None);
    assert_eq!(object["object"], "transaction");
    assert_eq!(object["amount"], json!(102.9));
    assert_eq!(object["currency"], "USD");
    assert_eq!(object["risk_score"], json!(-0.25));
    assert_eq!(object["status"], "processed");
    assert_eq!(object["fee"], Value::Null, "unset money is null");
    assert_eq!(object["status_code"], Value::Null, "an empty string is null");
    assert_eq!(object["attrs"], json!({}));
    assert!(!object.contains_key("payment_method"), "input only");
    assert_eq!(object.keys().take(2).collect::<Vec<_>>(), ["id", "object"]);
}

#[test]
fn conditions_references_and_flat_addresses_shape_objects() {
    let customer = identity::Account {
        r#type: identity::AccountType::Customer as i32,
        kyc_status: identity::KycStatus::Verified as i32,
        ..Default::default()
    };
    let object = render(surface(), &dynamic("paymesh.identity.v1.Account", &customer), None);
    assert_eq!(
        (object["object"].clone(), object["kyc_status"].clone()),
        (json!("customer"), json!("verified"))
    );
    assert!(!object.contains_key("processing"));
    let recipient = identity::Account {
        r#type: identity::AccountType::Processing as i32,
        processing: Some(identity::Processing {
            payout_method: identity::PayoutMethod::Eft as i32,
            payout_details: Some(identity::PayoutDetails {
                institution_number: "001".into(),
                routing_number: "x".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let object = render(surface(), &dynamic("paymesh.identity.v1.Account", &recipient), Some("account"));
    assert_eq!(object["object"], "account", "the collection's own word");
    assert!(!object.contains_key("kyc_status"));
    let details = object["processing"]["payout_details"].as_object().unwrap();
    assert_eq!(details["institution_number"], "001");
    assert!(!details.contains_key("routing_number") && !details.contains_key("mailing_address"));

    let intent = paymesh_proto::intents::v1::PaymentIntent {
        payer_id: Some("p1".into()),
        status: paymesh_proto::intents::v1::PaymentIntentStatus::Capturable as i32,
        ..Default::default()
    };
    let object = render(surface(), &dynamic("paymesh.intents.v1.PaymentIntent", &intent), None);
    assert_eq!((object["payer"].clone(), object["recipient"].clone()), (json!({"id": "p1"}), Value::Null));
    assert_eq!(object["status"], "CAPTURABLE");

    let entity = identity::LegalEntity {
        address: Some(paymesh_proto::common::v1::Address { city: "Boston".into(), ..Default::default() }),
        ..Default::default()
    };
    let object = render(surface(), &dynamic("paymesh.identity.v1.LegalEntity", &entity), None);
    assert_eq!((object["city"].clone(), object["postal_code"].clone()), (json!("Boston"), Value::Null));
    assert!(!object.contains_key("address"));
    let key = identity::ApiKey {
        permissions: vec![identity::Permission {
            method: identity::PermissionMethod::Any as i32,
            resource: "*".into(),
        }],
        ..Default::default()
    };
    assert_eq!(
        render(surface(), &dynamic("paymesh.identity.v1.ApiKey", &key), None)["permissions"],
        json!([{"method": "*", "resource": "*"}])
    );
}

// === Violations ===

#[test]
fn violations_are_named_as_rest_names_them() {
    let descriptor = |name: &str| surface_descriptor(name);
    let accounts = descriptor("paymesh.identity.v1.BatchCreateAccountsRequest");
    assert_eq!(place(surface(), &accounts, "requests[1].account.email"), (Some(1), vec!["email".to_owned()]));
    assert_eq!(place(surface(), &accounts, "requests"), (None, vec!["values".to_owned()]));
    let deletes = descriptor("paymesh.identity.v1.BatchDeleteAccountsRequest");
    assert_eq!(place(surface(), &deletes, "ids[2]"), (Some(2), vec!["id".to_owned()]));
    let update = descriptor("paymesh.identity.v1.UpdateAccountRequest");
    assert_eq!(
        place(surface(), &update, "account.processing.status_time").1,
        ["processing", "status_changed_at"]
    );
    assert_eq!(place(surface(), &update, "account").1, ["object"]);
    let entity = descriptor("paymesh.identity.v1.CreateLegalEntityRequest");
    assert_eq!(place(surface(), &entity, "legal_entity.address.city").1, ["city"]);
    assert_eq!(place(surface(), &entity, "legal_entity.owners[0].ssn").1, ["owners[0]", "ssn"]);
    let payment = descriptor("paymesh.payments.v1.CreateTransactionRequest");
    assert_eq!(place(surface(), &payment, "transaction.amount.amount").1, ["amount"]);
    assert_eq!(place(surface(), &payment, "transaction.amount.currency").1, ["currency"]);
    let intent = descriptor("paymesh.intents.v1.CreatePaymentIntentRequest");
    assert_eq!(place(surface(), &intent, "payment_intent.payer_id").1, ["payer", "id"]);
    assert_eq!(
        place(surface(), &intent, "payment_intent.target_amount.amount").1,
        ["target_amount", "value"]
    );
    let redeem = descriptor("paymesh.identity.v1.RedeemSessionTokenRequest");
    assert_eq!(place(surface(), &redeem, "token").1, ["access_token"]);
}

// === Routes ===

#[test]
fn every_view_of_a_resource_serves_its_operations() {
    let ops = |path: &str| -> Vec<(String, Verb, bool, bool)> {
        let route = surface().routes.iter().find(|r| r.path == path).unwrap_or_else(|| panic!("{path}"));
        route
            .ops
            .iter()
            .map(|o| (o.method.to_string(), o.verb, o.calls.list.is_some(), o.calls.query.is_some()))
            .collect()
    };
    for view in ["/accounts", "/customers", "/processing_accounts"] {
        let base = ops(view);
        assert!(base.contains(&("POST".into(), Verb::Create, true, false)), "{view}: {base:?}");
        assert!(base.contains(&("PUT".into(), Verb::Update, true, true)), "{view}: {base:?}");
        assert!(base.contains(&("DELETE".into(), Verb::Delete, true, true)), "{view}: {base:?}");
        assert_eq!(ops(&format!("{view}/{{id}}")).len(), 3, "{view}/{{id}}: get, update, delete");
        assert!(surface().routes.iter().any(|r| r.path == format!("{view}/{{id}}/payment_methods")));
    }
    assert_eq!(
        ops("/transactions"),
        [("POST".into(), Verb::Create, false, false), ("GET".into(), Verb::List, false, false)]
    );
    let cancel = &surface().routes.iter().find(|r| r.path == "/payment_intents/{id}").unwrap().ops;
    let put = cancel.iter().find(|o| o.method == http::Method::PUT).unwrap();
    let instead = put.instead.as_ref().unwrap();
    assert_eq!((instead.attr.as_str(), instead.word.as_str()), ("status", "CANCELED"));
    let owners = surface().routes.iter().find(|r| r.path == "/legal_entities/{id}/owners").unwrap();
    assert_eq!(owners.parent.as_ref().unwrap().path, "/legal_entities");
    assert_eq!(owners.collection.as_ref().unwrap().path, "/legal_entity_owners");
    let mut ids: Vec<&str> =
        surface().routes.iter().flat_map(|r| r.ops.iter().map(|o| o.id.as_str())).collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids are unique");
    assert!(
        ["update_api_key", "delete_api_key", "roll_api_key", "list_customers"]
            .iter()
            .all(|id| ids.contains(id))
    );
}

#[test]
fn the_recorded_example_bodies_create_what_they_say() {
    let examples: Value = serde_json::from_str(include_str!("../openapi-examples.json")).unwrap();
    let creates = examples["creates"].as_object().unwrap();
    assert!(creates.len() >= 5, "the examples are recorded");
    for (path, example) in creates {
        let mut example = example.clone();
        // A document's file travels beside its attributes, in the request.
        example.as_object_mut().unwrap().remove("content");
        if let Err(problems) = read(path, example, Purpose::Create) {
            panic!("{path}: the example body is refused: {problems}");
        }
    }
}
