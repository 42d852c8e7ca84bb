//! Payment intents and pricing through the gateway and over gRPC: the
//! reference's three examples reproduced on its own clock, delivery dates
//! chosen and refused, expiry on read and on change, every status reason,
//! processing settings and their fallbacks, expedited checks, quotes,
//! captures by the payments service only, and tenancy.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::TimeDelta;
use paymesh_proto::intents::v1::{self as pb, payment_intent_service_client::PaymentIntentServiceClient};
use paymesh_tests::{Mesh, authorized, key as live_key, test_key};
use serde_json::{Value, json};

/// A payer with a card, and the partner's default processing account
/// (active in test mode) paid by `payout`. Returns (payer, card, recipient).
async fn parties(mesh: &Mesh, key: &str, payout: Value) -> (String, String, String) {
    let http = mesh.http();
    let default = mesh.acme.default_accounts[0].to_string();
    let payer =
        http.post("/customers", key, json!({"name": "Matt Perez", "email": "matt@example.com"})).await;
    let payer = payer.body["id"].as_str().unwrap().to_owned();
    let card = http
        .post(
            "/payment_methods",
            key,
            json!({"type": "card", "account_id": payer, "card": {"card_number": "4242 4242 4242 4242", "expiry": "12/30"},
                   "billing_address": {"postal_code": "10001"}}),
        )
        .await;
    assert_eq!(card.status, 200, "{:?}", card.body);
    let card = card.body["id"].as_str().unwrap().to_owned();
    let updated =
        http.put(&format!("/processing_accounts/{default}"), key, json!({"processing": payout})).await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["processing"]["status"], "active");
    (payer, card, default)
}

fn ach() -> Value {
    json!({"payout_method": "ach", "payout_details": {"routing_number": "011000015", "account_number": "000123456789"}})
}

fn service_fee(value: f64) -> Value {
    json!([{"amount": {"value": value, "currency": "USD"}, "type": "SERVICE_FEE", "rate": "2.90%"}])
}

#[tokio::test]
async fn the_references_examples_are_reproduced_field_for_field() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let (payer, card, recipient) = parties(&mesh, key, ach()).await;
    mesh.set_clock("2021-05-11T10:52:39Z");

    let created = http
        .post(
            "/payment_intents",
            key,
            json!({
                "targetAmount_is_not_ours": null,
                "target_amount": {"value": 100, "currency": "USD"},
                "payment_method": {"id": card},
                "recipient": {"id": recipient},
                "payer": {"id": payer}
            }),
        )
        .await;
    assert_eq!(created.status, 400, "an unknown attribute is refused: {:?}", created.body);
    assert_eq!(created.body["details"], json!({"targetAmount_is_not_ours": "Unknown attribute"}));
    assert_eq!(mesh.count("SELECT count(*) FROM intents.payment_intents").await, 0, "nothing was stored");

    let created = http
        .post(
            "/payment_intents",
            key,
            json!({
                "target_amount": {"value": 100, "currency": "USD"},
                "payment_method": {"id": card},
                "recipient": {"id": recipient},
                "payer": {"id": payer}
            }),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let intent = &created.body;
    let id = intent["id"].as_str().unwrap().to_owned();
    assert_eq!(intent["object"], "payment_intent");
    assert_eq!(intent["fees"], service_fee(2.9));
    assert_eq!(intent["source_amount"], json!({"value": 102.9, "currency": "USD"}));
    assert_eq!(intent["target_amount"], json!({"value": 100, "currency": "USD"}));
    assert_eq!(intent["payment_method"], json!({"id": card}));
    assert_eq!(intent["recipient"], json!({"id": recipient}));
    assert_eq!(intent["payer"], json!({"id": payer}));
    // The account name defaults to the payer's name.
    assert_eq!(
        intent["details"],
        json!({"account_name": "Matt Perez", "account_number": null, "memo": null})
    );
    assert_eq!(intent["status"], "CAPTURABLE");
    assert_eq!(intent["status_reasons"], json!([]));
    assert_eq!(intent["delivery_date"], "2021-05-13");
    assert_eq!(intent["created_at"], "2021-05-11T10:52:39Z");
    assert_eq!(intent["expires_at"], "2021-05-11T23:59:59Z");
    let options: Vec<(Value, Value, Value)> = intent["delivery_options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["cutoff_time"].clone(), o["delivery_date"].clone(), o["fees"].clone()))
        .collect();
    assert_eq!(
        options,
        vec![
            (json!("2021-05-11T14:59:59Z"), json!("2021-05-11"), service_fee(2.9)),
            (json!("2021-05-11T21:59:59Z"), json!("2021-05-12"), service_fee(2.9)),
            (json!("2021-05-11T23:59:59Z"), json!("2021-05-13"), service_fee(2.9)),
        ]
    );
    assert_eq!(intent["cust_conv_fee"], json!({"value": 2.9, "currency": "USD"}));
    assert_eq!(intent["fee"], json!({"value": 0, "currency": "USD"}));
    assert_eq!(
        (intent["funding_type"].clone(), intent["payout_method"].clone()),
        (json!("credit"), json!("ach"))
    );

    // A date outside the options is refused and changes nothing.
    let refused = http
        .put(
            &format!("/payment_intents/{id}"),
            key,
            json!({"payer": {"id": payer}, "delivery_date": "2021-03-11"}),
        )
        .await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(
        refused.body["details"],
        json!({"delivery_date": "Must be one of the delivery options: 2021-05-11, 2021-05-12, 2021-05-13"})
    );
    assert_eq!(http.get(&format!("/payment_intents/{id}"), key).await.body, created.body);

    // The third example: choosing the first option moves the expiry to
    // its cut-off.
    let chosen = http
        .put(
            &format!("/payment_intents/{id}"),
            key,
            json!({"payer": {"id": payer}, "delivery_date": "2021-05-11"}),
        )
        .await;
    assert_eq!(chosen.status, 200, "{:?}", chosen.body);
    assert_eq!(chosen.body["delivery_date"], "2021-05-11");
    assert_eq!(chosen.body["expires_at"], "2021-05-11T14:59:59Z");
    assert_eq!(chosen.body["status"], "CAPTURABLE");
    assert_eq!(chosen.body["source_amount"], json!({"value": 102.9, "currency": "USD"}));
    assert_eq!(chosen.body["delivery_options"], created.body["delivery_options"]);

    // Expedited: the fastest date is chosen by itself.
    let fastest = http.put(&format!("/payment_intents/{id}"), key, json!({"is_expedited": true})).await;
    assert_eq!(fastest.body["delivery_date"], "2021-05-11", "{:?}", fastest.body);
    assert_eq!(fastest.body["speed"], "same_day");
    // A change that names nothing is refused, and changes nothing.
    let empty = http.put(&format!("/payment_intents/{id}"), key, json!({})).await;
    assert_eq!(empty.status, 400, "{:?}", empty.body);
    assert!(empty.body["details"].as_object().is_some_and(|d| !d.is_empty()), "{:?}", empty.body);
    let unchanged = http.get(&format!("/payment_intents/{id}"), key).await;
    assert_eq!(unchanged.body["modified_at"], fastest.body["modified_at"]);

    // Past the cut-off it reads EXPIRED, and can no longer change.
    mesh.intents_clock.advance(TimeDelta::hours(5));
    let expired = http.get(&format!("/payment_intents/{id}"), key).await;
    assert_eq!(expired.body["status"], "EXPIRED");
    let late = http.put(&format!("/payment_intents/{id}"), key, json!({"details": {"memo": "INV-7"}})).await;
    assert_eq!(late.status, 400, "{:?}", late.body);
    assert_eq!(
        late.body["details"],
        json!({"expires_at": "The payment intent expired at 2021-05-11T14:59:59Z; create a new one"})
    );
    assert_eq!(http.get(&format!("/payment_intents/{id}"), key).await.body["details"]["memo"], Value::Null);
    let cancel = http.put(&format!("/payment_intents/{id}"), key, json!({"status": "CANCELED"})).await;
    assert_eq!(cancel.status, 400, "an expired intent cannot be canceled either: {:?}", cancel.body);
    assert_eq!(http.get(&format!("/payment_intents/{id}"), key).await.body["status"], "EXPIRED");
}

#[tokio::test]
async fn incomplete_intents_name_every_reason_and_bad_input_changes_nothing() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let (payer, card, recipient) = parties(&mesh, key, ach()).await;
    mesh.set_clock("2021-05-11T10:52:39Z");

    let empty = http.post("/payment_intents", key, json!({})).await;
    assert_eq!(empty.status, 200, "{:?}", empty.body);
    assert_eq!(empty.body["status"], "INCOMPLETE");
    let codes: Vec<&str> = empty.body["status_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["payer_required", "recipient_required", "payment_method_required", "target_amount_required"]
    );
    assert_eq!(empty.body["delivery_options"], json!([]));
    assert_eq!(empty.body["source_amount"], Value::Null);

    // A recipient private to another payer, not active: both named; a
    // card of another account; an amount over the KYC threshold and the
    // limit.
    let other = http.post("/customers", key, json!({"name": "Other", "email": "other@example.com"})).await;
    let other = other.body["id"].as_str().unwrap().to_owned();
    let private = http
        .post(
            "/processing_accounts",
            key,
            json!({"name": "Landlord", "email": "landlord@example.com",
                   "processing": {"industry": "Rent", "category": "rent", "visibility": "payer", "payer_id": other}}),
        )
        .await;
    assert_eq!(private.status, 200, "{:?}", private.body);
    let private = private.body["id"].as_str().unwrap().to_owned();
    let others_card = http
        .post(
            "/payment_methods",
            key,
            json!({"type": "card", "account_id": other, "card": {"card_number": "5555 5555 5555 4444", "expiry": "12/30"},
                   "billing_address": {"postal_code": "10001"}}),
        )
        .await;
    let others_card = others_card.body["id"].as_str().unwrap().to_owned();
    let unusable = http
        .post(
            "/payment_intents",
            key,
            json!({"payer": {"id": payer}, "recipient": {"id": private}, "payment_method": {"id": others_card},
                   "target_amount": {"value": 30000, "currency": "USD"}}),
        )
        .await;
    assert_eq!(unusable.status, 200, "{:?}", unusable.body);
    let codes: Vec<&str> = unusable.body["status_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "kyc_required",
            "recipient_not_visible",
            "recipient_not_active",
            "recipient_payout_method_required",
            "payment_method_not_payers",
            "amount_over_limit"
        ]
    );
    let id = unusable.body["id"].as_str().unwrap().to_owned();

    // Filling the pieces makes it capturable.
    let fixed = http
        .put(
            &format!("/payment_intents/{id}"),
            key,
            json!({"recipient": {"id": recipient}, "payment_method": {"id": card}, "target_amount": {"value": 250.5, "currency": "USD"}}),
        )
        .await;
    assert_eq!(fixed.status, 200, "{:?}", fixed.body);
    assert_eq!(fixed.body["status"], "CAPTURABLE", "{:?}", fixed.body["status_reasons"]);
    // 2.90% of 250.50 = 7.2645 → 7.26.
    assert_eq!(fixed.body["source_amount"], json!({"value": 257.76, "currency": "USD"}));

    // Bad input: named per attribute, nothing stored or changed.
    let before = mesh.count("SELECT count(*) FROM intents.payment_intents").await;
    let bad = http
        .post(
            "/payment_intents",
            key,
            json!({"payer": {"id": "not-an-id"}, "target_amount": {"value": -5, "currency": "EUR"},
                   "delivery_date": "tomorrow", "is_expedited": "soon"}),
        )
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert_eq!(bad.body["error_type"], "InvalidAttributes");
    assert_eq!(bad.body["details"], json!({"is_expedited": "Must be true or false"}));
    let bad = http
        .post(
            "/payment_intents",
            key,
            json!({"payer": {"id": "not-an-id"}, "target_amount": {"value": 10.005, "currency": "USD"}, "delivery_date": "tomorrow"}),
        )
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert_eq!(
        bad.body["details"],
        json!({"payer": {"id": "Must be a valid id"}, "target_amount": {"value": "Must have at most 2 decimal places"},
               "delivery_date": "Must be a date as YYYY-MM-DD"})
    );
    let bad = http
        .post(
            "/payment_intents",
            key,
            json!({"target_amount": {"value": 5, "currency": "EUR"}, "payer": {"id": recipient}}),
        )
        .await;
    assert_eq!(
        bad.body["details"],
        json!({"target_amount": {"currency": "Must be one of USD, CAD"}}),
        "{:?}",
        bad.body
    );
    let bad = http
        .post("/payment_intents", key, json!({"payer": {"id": recipient}, "recipient": {"id": payer}}))
        .await;
    assert_eq!(
        bad.body["details"],
        json!({"payer": {"id": "Must be the id of a customer account"}, "recipient": {"id": "Must be the id of a processing account"}})
    );
    let bad = http.put(&format!("/payment_intents/{id}"), key, json!({"delivery_date": "2999-01-01"})).await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body["details"]["delivery_date"]
            .as_str()
            .unwrap()
            .starts_with("Must be one of the delivery options")
    );
    assert_eq!(mesh.count("SELECT count(*) FROM intents.payment_intents").await, before);
    assert_eq!(http.get(&format!("/payment_intents/{id}"), key).await.body, fixed.body);

    // Another partner, or the other mode, sees nothing.
    let path = format!("/payment_intents/{id}");
    assert_eq!(http.get(&path, test_key(&mesh.globex)).await.status, 404);
    assert_eq!(http.get(&path, live_key(&mesh.acme, "secret_key_")).await.status, 404);
    let foreign =
        http.post("/payment_intents", test_key(&mesh.globex), json!({"payer": {"id": payer}})).await;
    assert_eq!(foreign.body["details"], json!({"payer": {"id": "No customer account with this id"}}));
    let listed = http.get("/payment_intents?status=CAPTURABLE", key).await;
    assert_eq!(listed.body["values"].as_array().unwrap().len(), 1, "{:?}", listed.body);
    assert_eq!(http.get("/payment_intents", test_key(&mesh.globex)).await.body["values"], json!([]));

    let missing = http.post("/payment_intents", key, json!({"target_amount": {"value": 5}})).await;
    assert_eq!(
        missing.body["details"],
        json!({"target_amount": {"currency": "Required"}}),
        "{:?}",
        missing.body
    );

    // A card deleted after it was chosen is a reason, not a refusal: the
    // intent can still change (and take another card).
    let spare = http
        .post(
            "/payment_methods",
            key,
            json!({"type": "card", "account_id": payer, "card": {"card_number": "5200 8282 8282 8210", "expiry": "12/30"},
                   "billing_address": {"postal_code": "10001"}}),
        )
        .await;
    assert_eq!(spare.status, 200, "{:?}", spare.body);
    let spare = spare.body["id"].as_str().unwrap().to_owned();
    let with_spare = http.put(&path, key, json!({"payment_method": {"id": spare}})).await;
    assert_eq!(with_spare.body["status"], "CAPTURABLE", "{:?}", with_spare.body);
    assert_eq!(http.delete(&format!("/payment_methods/{spare}"), key, None).await.status, 200);
    let orphan = http.put(&path, key, json!({"details": {"memo": "rent"}})).await;
    assert_eq!(orphan.status, 200, "{:?}", orphan.body);
    assert_eq!(orphan.body["status"], "INCOMPLETE");
    assert_eq!(orphan.body["status_reasons"][0]["code"], "payment_method_deleted");
    let fixed = http.put(&path, key, json!({"payment_method": {"id": card}})).await;
    assert_eq!(fixed.body["status"], "CAPTURABLE");

    // Cancel alone: with other changes it is refused, and nothing changes.
    let mixed = http.put(&path, key, json!({"status": "CANCELED", "details": {"memo": "x"}})).await;
    assert_eq!(mixed.status, 400, "{:?}", mixed.body);
    assert_eq!(
        mixed.body["details"]["status"],
        "Cancel with {\"status\": \"CANCELED\"} alone, without other changes"
    );
    assert_eq!(http.get(&path, key).await.body, fixed.body);

    // Canceled: final. A key restricted to reading and changing intents
    // may cancel (a change) but not draft one.
    let clerk = http
        .post(
            "/api_keys",
            key,
            json!({"type": "secret", "name": "Clerk", "permissions": [
                {"method": "GET", "resource": "/payment_intents"}, {"method": "PUT", "resource": "/payment_intents"}]}),
        )
        .await;
    assert_eq!(clerk.status, 200, "{:?}", clerk.body);
    let clerk = clerk.body["key"].as_str().unwrap().to_owned();
    assert_eq!(http.post("/payment_intents", &clerk, json!({})).await.status, 403);
    let canceled = http.put(&path, &clerk, json!({"status": "CANCELED"})).await;
    assert_eq!(canceled.body["status"], "CANCELED", "{:?}", canceled.body);
    let after = http.put(&path, key, json!({"details": {"memo": "late"}})).await;
    assert_eq!(after.body["details"], json!({"status": "The payment intent was canceled"}));
}

#[tokio::test]
async fn processing_settings_fall_back_and_price_expedited_checks() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let check = json!({"payout_method": "check", "payout_details": {"mailing_address": {"street_address": "1 Main St",
                       "city": "Albany", "state_province": "NY", "postal_code": "12207", "country": "US"}}});
    let (payer, card, recipient) = parties(&mesh, key, check).await;
    // A Wednesday, before the checks' cut-off.
    mesh.set_clock("2021-06-30T12:00:00Z");

    let overnight = http
        .post(
            "/payment_intents",
            key,
            json!({"payer": {"id": payer}, "recipient": {"id": recipient}, "payment_method": {"id": card},
                   "target_amount": {"value": 100, "currency": "USD"}, "is_expedited": true}),
        )
        .await;
    assert_eq!(overnight.status, 200, "{:?}", overnight.body);
    assert_eq!(overnight.body["speed"], "overnight");
    assert_eq!(overnight.body["delivery_date"], "2021-07-01");
    let lines: Vec<(Value, Value, Value)> = overnight.body["fees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["type"].clone(), f["amount"]["value"].clone(), f["rate"].clone()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (json!("SERVICE_FEE"), json!(2.9), json!("2.90%")),
            (json!("EXPEDITED_PROCESSING_FEE"), json!(0.5), json!("0.50%")),
            (json!("EXPEDITED_HANDLING_FEE"), json!(29), Value::Null),
            (json!("DELIVERY_FEE"), json!(1.49), Value::Null),
        ]
    );
    assert_eq!(overnight.body["source_amount"]["value"], json!(133.89));
    let dates: Vec<&str> = overnight.body["delivery_options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["delivery_date"].as_str().unwrap())
        .collect();
    // Standard mail takes five business days, over Independence Day.
    assert_eq!(dates, ["2021-07-01", "2021-07-02", "2021-07-08"]);
    assert_eq!(overnight.body["delivery_options"][1]["source_amount"]["value"], json!(133.59));

    // The partner's settings, then the account's, over the platform's.
    let partner = http.put("/processing_settings", key, json!({"credit_trans_cost": 0.30})).await;
    assert_eq!(partner.status, 200, "{:?}", partner.body);
    assert_eq!(partner.body["overridden"], json!(["credit_trans_cost"]));
    let path = format!("/processing_accounts/{recipient}/processing_settings");
    let account = http
        .put(
            &path,
            key,
            json!({"credit_conv_fee_alloc": 0.5,
                   "expedite_fees": [{"payout_method": "check", "speed": "overnight", "rate": 0.01, "handling_fee": 20, "delivery_fee": 1.49}]}),
        )
        .await;
    assert_eq!(account.status, 200, "{:?}", account.body);
    assert_eq!(account.body["credit_trans_rate"], json!(0.029));
    assert_eq!(account.body["credit_trans_cost"], json!(0.3), "inherited from the partner");
    assert_eq!(account.body["credit_conv_fee_alloc"], json!(0.5));
    assert_eq!(account.body["overridden"], json!(["credit_conv_fee_alloc", "expedite_fees.check.overnight"]));
    let repriced = http
        .put(
            &format!("/payment_intents/{}", overnight.body["id"].as_str().unwrap()),
            key,
            json!({"details": {"memo": "rent"}}),
        )
        .await;
    // (2.90 + 0.30) × 0.5 = 1.60 for the payer, 1.60 for the account; then
    // 1.00 + 20.00 + 1.49 of expedite fees.
    assert_eq!(repriced.body["cust_conv_fee"]["value"], json!(1.6), "{:?}", repriced.body);
    assert_eq!(repriced.body["fee"]["value"], json!(1.6));
    assert_eq!(repriced.body["source_amount"]["value"], json!(124.09));
    assert_eq!(repriced.body["fees"][0]["rate"], "1.45%");

    // Bad settings: per field, nothing changed.
    let bad = http
        .put(
            &path,
            key,
            json!({"credit_trans_rate": 2.9, "debit_conv_fee_alloc": "half", "surcharge": 1,
                   "expedite_fees": [{"payout_method": "ach", "speed": "standard", "rate": 0, "handling_fee": 0, "delivery_fee": 0}]}),
        )
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert_eq!(bad.body["details"]["surcharge"], "Unknown attribute");
    let bad = http.put(&path, key, json!({"credit_trans_rate": 2.9,
        "expedite_fees": [{"payout_method": "ach", "speed": "standard", "rate": 0, "handling_fee": 0, "delivery_fee": 0}]})).await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert_eq!(
        bad.body["details"],
        json!({"credit_trans_rate": "Must be a fraction from 0 to 0.25 (0.029 is 2.90%), with at most 6 decimal places",
               "expedite_fees[0]": {"speed": "Must be an expedited speed of ach: same_day, next_day"}})
    );
    assert_eq!(http.get(&path, key).await.body, account.body);
    // Clearing a field returns it to the inherited value.
    let cleared = http.put(&path, key, json!({"credit_conv_fee_alloc": null})).await;
    assert_eq!(cleared.body["credit_conv_fee_alloc"], json!(1));

    // Another partner cannot read or set this account's settings.
    assert_eq!(http.get(&path, test_key(&mesh.globex)).await.status, 404);
    assert_eq!(http.put(&path, test_key(&mesh.globex), json!({"credit_trans_cost": 0})).await.status, 404);
}

#[tokio::test]
async fn quotes_and_captures_over_grpc() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let (payer, card, recipient) = parties(&mesh, key, ach()).await;
    let mut pricing =
        paymesh_proto::intents::v1::pricing_service_client::PricingServiceClient::new(mesh.intents_channel());
    // $100 by credit card to an ACH recipient: for an intent, and for a
    // direct payment.
    let hundred = |direct_payment: bool| pb::QuoteRequest {
        processing_id: recipient.clone(),
        amount: Some(paymesh_proto::common::v1::Money { amount: "100.00".into(), currency: "USD".into() }),
        funding_type: pb::FundingType::Credit as i32,
        payout_method: paymesh_proto::identity::v1::PayoutMethod::Ach as i32,
        speed: String::new(),
        is_expedited: false,
        direct_payment,
    };
    let quote = pricing.quote(authorized(key, hundred(false))).await.unwrap().into_inner();
    assert_eq!(quote.source_amount.unwrap().amount, "102.90");
    assert_eq!(quote.cust_conv_fee.unwrap().amount, "2.90");
    assert_eq!(quote.speed, "standard");
    // A direct payment's price: the amount is what is charged; the card fee
    // is the processing account's.
    let direct = pricing.quote(authorized(key, hundred(true))).await.unwrap().into_inner();
    assert_eq!(
        (
            direct.source_amount.unwrap().amount,
            direct.fee.unwrap().amount,
            direct.cust_conv_fee.unwrap().amount
        ),
        ("100.00".to_owned(), "2.90".to_owned(), "0.00".to_owned())
    );
    let bad = pricing.quote(authorized(key, pb::QuoteRequest::default())).await.unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    let details = tonic_types::StatusExt::get_details_bad_request(&bad).unwrap();
    let fields: Vec<&str> = details.field_violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["amount", "funding_type", "payout_method"]);
    let usd_by_eft = pricing
        .quote(authorized(
            key,
            pb::QuoteRequest {
                amount: Some(paymesh_proto::common::v1::Money {
                    amount: "100.00".into(),
                    currency: "USD".into(),
                }),
                funding_type: pb::FundingType::Credit as i32,
                payout_method: paymesh_proto::identity::v1::PayoutMethod::Eft as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    let details = tonic_types::StatusExt::get_details_bad_request(&usd_by_eft).unwrap();
    assert_eq!(details.field_violations[0].field, "amount.currency");

    let mut intents = PaymentIntentServiceClient::new(mesh.intents_channel());
    let intent = intents
        .create_payment_intent(authorized(
            key,
            pb::CreatePaymentIntentRequest {
                payment_intent: Some(pb::PaymentIntent {
                    payer_id: Some(payer),
                    recipient_id: Some(recipient),
                    payment_method_id: Some(card),
                    target_amount: Some(paymesh_proto::common::v1::Money {
                        amount: "100".into(),
                        currency: "USD".into(),
                    }),
                    ..Default::default()
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .payment_intent
        .unwrap();
    assert_eq!(intent.status, pb::PaymentIntentStatus::Capturable as i32);
    let capture = pb::CapturePaymentIntentRequest {
        id: intent.id.clone(),
        transaction_id: uuid::Uuid::now_v7().to_string(),
    };
    // A partner's key may not capture: only the payments service may.
    let refused = intents.capture_payment_intent(authorized(key, capture.clone())).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let scope = paymesh_kit::auth::Scope { partner_id: mesh.acme.id, livemode: false };
    let payments = mesh.common.service_keys.token("payments");
    let captured =
        intents.capture_payment_intent(payments.request(scope, capture.clone())).await.unwrap().into_inner();
    let captured = captured.payment_intent.unwrap();
    assert_eq!(captured.status, pb::PaymentIntentStatus::Captured as i32);
    assert_eq!(captured.transaction_id.as_deref(), Some(capture.transaction_id.as_str()));
    // Asked again for the same payment (one finished after a crash), the
    // capture already made is the answer; for another payment, a refusal.
    let again = intents.capture_payment_intent(payments.request(scope, capture.clone())).await.unwrap();
    assert_eq!(again.into_inner().payment_intent.unwrap(), captured);
    let other =
        pb::CapturePaymentIntentRequest { transaction_id: uuid::Uuid::now_v7().to_string(), ..capture };
    let refused = intents.capture_payment_intent(payments.request(scope, other)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "a captured intent cannot be captured again");
    let read = http.get(&format!("/payment_intents/{}", intent.id), key).await;
    assert_eq!(read.body["status"], "CAPTURED");
    assert_eq!(
        mesh.count("SELECT count(*) FROM intents.outbox WHERE event_type = 'payment_intent.captured'").await,
        1
    );
}

#[tokio::test]
async fn eft_pays_cad_on_canadian_business_days_and_expiry_catches_drafts_and_cards() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let eft = json!({"payout_method": "eft", "payout_details": {"institution_number": "001", "transit_number": "00011",
                     "account_number": "1234567"}});
    let (payer, card, recipient) = parties(&mesh, key, eft).await;
    // Friday 2024-06-28, morning: Monday July 1st is Canada Day.
    mesh.set_clock("2024-06-28T09:00:00Z");
    let body = json!({"payer": {"id": payer}, "recipient": {"id": recipient}, "payment_method": {"id": card},
                      "target_amount": {"value": 100, "currency": "USD"}});
    let usd = http.post("/payment_intents", key, body.clone()).await;
    assert_eq!(usd.status, 200, "{:?}", usd.body);
    assert_eq!(usd.body["status"], "INCOMPLETE");
    assert_eq!(usd.body["status_reasons"][0]["code"], "currency_not_supported");
    assert_eq!(usd.body["status_reasons"][0]["field"], "target_amount");
    let id = usd.body["id"].as_str().unwrap().to_owned();
    let cad = http
        .put(
            &format!("/payment_intents/{id}"),
            key,
            json!({"target_amount": {"value": 100, "currency": "CAD"}}),
        )
        .await;
    assert_eq!(cad.body["status"], "CAPTURABLE", "{:?}", cad.body);
    assert_eq!(cad.body["source_amount"], json!({"value": 102.9, "currency": "CAD"}));
    assert_eq!(cad.body["fees"][0]["amount"], json!({"value": 2.9, "currency": "CAD"}));
    let options: Vec<(&str, &str)> = cad.body["delivery_options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["delivery_date"].as_str().unwrap(), o["speed"].as_str().unwrap()))
        .collect();
    // Friday + 1 and + 2 business days, skipping the weekend and Canada Day.
    assert_eq!(options, [("2024-07-02", "next_day"), ("2024-07-03", "standard")]);

    // A draft with no recipient lives a day; then it reads EXPIRED.
    let draft = http.post("/payment_intents", key, json!({"payer": {"id": payer}})).await;
    assert_eq!(draft.body["expires_at"], "2024-06-29T09:00:00Z", "{:?}", draft.body);
    mesh.intents_clock.advance(TimeDelta::days(1) + TimeDelta::seconds(1));
    let draft_id = draft.body["id"].as_str().unwrap();
    assert_eq!(http.get(&format!("/payment_intents/{draft_id}"), key).await.body["status"], "EXPIRED");

    // The card expires at the end of 12/2030: an intent priced in 2031
    // names it.
    mesh.set_clock("2031-01-02T09:00:00Z");
    let late = http.post("/payment_intents", key, body).await;
    let codes: Vec<&str> =
        late.body["status_reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["currency_not_supported", "payment_method_expired"], "{:?}", late.body);
}
