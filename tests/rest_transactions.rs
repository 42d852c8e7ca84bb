//! Payments through the gateway and over gRPC, against the built-in test
//! processor: charges priced by intents, every decline code, authorize /
//! capture / void, refunds through the ledger (also under concurrency),
//! idempotent retries, intents captured once, bank payments settling on
//! the clock, daily deposits (net and gross) with reversals, bank returns
//! and chargebacks on the clock, the cascade through a customer's methods,
//! inline cards, the query language, tenancy, and the books checked after
//! every scenario.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::TimeDelta;
use paymesh_proto::payments::v1::{self as pb, transaction_service_client::TransactionServiceClient};
use paymesh_tests::{Mesh, authorized, key as live_key, test_key};
use serde_json::{Value, json};

/// A customer with a method (`card` or bank account body), and the
/// partner's default processing account made active (paid by ACH).
/// Returns (customer, method, processing account).
async fn parties(mesh: &Mesh, key: &str, method: Value) -> (String, String, String) {
    let http = mesh.http();
    let processing = mesh.acme.default_accounts[0].to_string();
    let customer =
        http.post("/customers", key, json!({"name": "Matt Perez", "email": "matt@example.com"})).await;
    let customer = customer.body["id"].as_str().unwrap().to_owned();
    let mut method = method;
    method["default_payment_method"] = json!(true);
    let method = add_method(mesh, key, &customer, method).await;
    let payout = json!({"payout_method": "ach",
        "payout_details": {"routing_number": "011000015", "account_number": "000123456789"}});
    let updated =
        http.put(&format!("/processing_accounts/{processing}"), key, json!({"processing": payout})).await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    (customer, method, processing)
}

async fn add_method(mesh: &Mesh, key: &str, customer: &str, mut method: Value) -> String {
    method["account_id"] = json!(customer);
    let created = mesh.http().post("/payment_methods", key, method).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

fn card(number: &str) -> Value {
    json!({"type": "card", "card": {"card_number": number, "expiry": "12/40"}, "billing_address": {"postal_code": "10001"}})
}

fn bank(account_number: &str) -> Value {
    json!({"type": "bank_account", "account_holder": "Matt Perez",
           "bank_account": {"account_number": account_number, "routing_number": "011000015", "account_type": "checking"}})
}

fn id(reply: &paymesh_tests::Reply) -> String {
    reply.body["id"].as_str().unwrap_or_else(|| panic!("no id in {:?}", reply.body)).to_owned()
}

/// Runs `tasks` at once; their outputs in order.
async fn all<T: Send + 'static>(
    tasks: impl Iterator<Item = impl Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = tasks.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

/// Polls `path` until its list holds `n` values (the sweep runs every
/// 50 ms in the test mesh); the last reply.
async fn until_listed(mesh: &Mesh, key: &str, path: &str, n: usize) -> paymesh_tests::Reply {
    let http = mesh.http();
    let mut reply = http.get(path, key).await;
    for _ in 0..200 {
        if reply.body["values"].as_array().is_some_and(|v| v.len() == n) {
            return reply;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        reply = http.get(path, key).await;
    }
    panic!("{path} never listed {n}: {:?}", reply.body);
}

/// Has the partner's payers pay the whole card fee on top of their direct
/// payments (the platform allocates them none): the convenience-fee model,
/// opted into in the partner's processing settings.
async fn payers_pay_card_fees(mesh: &Mesh, key: &str) {
    let set = mesh
        .http()
        .put("/processing_settings", key, json!({"credit_conv_fee_alloc": 1, "debit_conv_fee_alloc": 1}))
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
}

fn pay(amount: f64, method: &str) -> Value {
    json!({"type": "payment", "amount": amount, "payment_method_id": method})
}

#[tokio::test]
async fn a_payment_is_priced_refunded_through_the_ledger_and_private() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let (customer, method, processing) = parties(&mesh, key, card("4242 4242 4242 4242")).await;
    payers_pay_card_fees(&mesh, key).await;

    let paid = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 100, "payment_method_id": method,
                                            "description": "Invoice 1001", "order_number": "1001"}),
        )
        .await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    let payment = id(&paid);
    let p = &paid.body;
    // The platform's credit rate, 2.90%, all of it the payer's as the
    // partner's settings say.
    assert_eq!(
        (p["object"].clone(), p["type"].clone(), p["status"].clone()),
        (json!("transaction"), json!("payment"), json!("processed"))
    );
    assert_eq!(
        (p["amount"].clone(), p["cust_conv_fee"].clone(), p["fee"].clone()),
        (json!(102.9), json!(2.9), json!(0))
    );
    assert_eq!(p["currency"], "USD");
    assert_eq!(p["funding_status"], "captured");
    assert_eq!(p["status_code"], "approved");
    assert_eq!((p["risk_flag"].clone(), p["risk_score"].clone()), (json!("allowed"), json!(0)));
    assert_eq!(
        (p["customer_id"].as_str(), p["processing_id"].as_str()),
        (Some(customer.as_str()), Some(processing.as_str()))
    );
    assert_eq!(p["connector"], "test");
    assert_eq!(p["ledger"], json!([]));
    assert!(!p.to_string().contains("4242424242424242"));

    // Refunds name the payment in ledger[0][assoc_transaction_id].
    let refund = http
        .post(
            "/transactions",
            key,
            json!({"type": "refund", "amount": 40, "ledger": [{"assoc_transaction_id": payment}]}),
        )
        .await;
    assert_eq!(refund.status, 200, "{:?}", refund.body);
    assert_eq!(
        (refund.body["type"].clone(), refund.body["status"].clone()),
        (json!("refund"), json!("processed"))
    );
    assert_eq!(refund.body["ledger"][0]["assoc_transaction_id"], json!(payment));
    assert_eq!(refund.body["ledger"][0]["entry_type"], "payment");
    assert_eq!(refund.body["customer_id"], json!(customer));
    let too_much = http
        .post(
            "/transactions",
            key,
            json!({"type": "refund", "amount": 70, "ledger": [{"assoc_transaction_id": payment}]}),
        )
        .await;
    assert_eq!(too_much.status, 400, "{:?}", too_much.body);
    assert_eq!(too_much.body["error_type"], "InvalidAttributes");
    assert!(too_much.body["details"]["amount"].as_str().unwrap().contains("62.90"), "{:?}", too_much.body);
    let rest = http
        .post(
            "/transactions",
            key,
            json!({"type": "refund", "amount": 62.9, "ledger": [{"assoc_transaction_id": payment}]}),
        )
        .await;
    assert_eq!(rest.status, 200, "{:?}", rest.body);

    // The ledger is a non-default attribute: a read shows it when asked.
    let read = http.get(&format!("/transactions/{payment}"), key).await;
    assert_eq!(read.body["refunded_amount"], json!(102.9));
    assert_eq!(read.body["funding_status"], "refunded");
    assert!(read.body.get("ledger").is_none(), "{:?}", read.body);
    let listed = http.get(&format!("/transactions?id={payment}"), key).await;
    assert!(listed.body["values"][0].get("ledger").is_none(), "{:?}", listed.body);
    let listed = http.get(&format!("/transactions?id={payment}&fields=*,ledger"), key).await;
    assert_eq!(listed.body["values"][0]["ledger"].as_array().map(Vec::len), Some(2), "{:?}", listed.body);
    let read = http.get(&format!("/transactions/{payment}?fields=*,ledger"), key).await;
    assert_eq!(read.body["funding_status"], "refunded");
    let ledger = read.body["ledger"].as_array().unwrap();
    assert_eq!(ledger.len(), 2);
    assert_eq!((ledger[0]["entry_type"].clone(), ledger[0]["amount"].clone()), (json!("refund"), json!(-40)));
    assert_eq!(ledger[1]["assoc_transaction_id"], json!(id(&rest)));
    let links = http.get(&format!("/transaction_ledgers?transaction_id={payment}"), key).await;
    assert_eq!(links.body["values"].as_array().unwrap().len(), 2, "{:?}", links.body);
    let link = links.body["values"][0]["id"].as_str().unwrap();
    assert_eq!(
        http.get(&format!("/transaction_ledgers/{link}"), key).await.body["object"],
        "transaction_ledger"
    );

    // The query language: filters and aggregates.
    let refunds = http.get("/transactions?type=refund&amount=>50", key).await;
    assert_eq!(refunds.body["values"].as_array().unwrap().len(), 1, "{:?}", refunds.body);
    let sums = http.get("/transactions?fields=sum(amount),type&group_by=type&order_by=type", key).await;
    assert_eq!(sums.status, 200, "{:?}", sums.body);
    assert_eq!(
        sums.body["values"],
        json!([{"sum(amount)": 102.9, "type": "payment"}, {"sum(amount)": 102.9, "type": "refund"}])
    );

    // Another partner, and the other mode, see nothing.
    let globex = test_key(&mesh.globex);
    for (who, path) in [
        (globex, format!("/transactions/{payment}")),
        (live_key(&mesh.acme, "secret_key_"), format!("/transactions/{payment}")),
    ] {
        let hidden = http.get(&path, who).await;
        assert_eq!(hidden.status, 404, "{:?}", hidden.body);
    }
    assert_eq!(http.get("/transactions", globex).await.body["values"], json!([]));
    assert_eq!(http.get(&format!("/transaction_ledgers/{link}"), globex).await.status, 404);
    let stolen = http
        .post(
            "/transactions",
            globex,
            json!({"type": "refund", "amount": 1, "ledger": [{"assoc_transaction_id": payment}]}),
        )
        .await;
    assert_eq!(stolen.status, 400, "{:?}", stolen.body);
    assert_eq!(stolen.body["details"]["ledger[0]"]["assoc_transaction_id"], "No such payment");
    assert_eq!(
        mesh.count("SELECT count(*) FROM payments.outbox WHERE event_type = 'transaction.refund'").await,
        2
    );
    assert_eq!(
        mesh.count("SELECT count(*) FROM payments.outbox WHERE event_type = 'transaction.payment'").await,
        1
    );
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn every_decline_code_is_answered_stored_and_charges_nothing() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let (customer, _, _) = parties(&mesh, key, card("4242 4242 4242 4242")).await;
    let codes = [
        "card_expired",
        "duplicate_attempt",
        "exceeded_limit",
        "general_decline",
        "insufficient_bal",
        "invalid_card_code",
        "invalid_card_number",
        "invalid_zip",
        "suspicious_activity",
        "too_many_attempts",
    ];
    let mut cards: Vec<(String, &str)> =
        codes.iter().enumerate().map(|(i, c)| (format!("411111111111990{i}"), *c)).collect();
    cards.push(("5555555555554444".to_owned(), "general_decline"));
    for (number, code) in &cards {
        let method = add_method(&mesh, key, &customer, card(number)).await;
        let declined = http
            .post("/transactions", key, json!({"type": "payment", "amount": 10, "payment_method_id": method}))
            .await;
        assert_eq!(declined.status, 400, "{number}: {:?}", declined.body);
        assert_eq!(declined.body["error_type"], "TransactionDeclined", "{number}");
        let t = &declined.body["details"];
        assert_eq!(
            (t["status"].as_str(), t["status_code"].as_str()),
            (Some("declined"), Some(*code)),
            "{number}: {t:?}"
        );
        assert!(!t["status_message"].as_str().unwrap().is_empty());
        assert_eq!((t["fee"].clone(), t["cust_conv_fee"].clone()), (json!(0), json!(0)));
        let stored = http.get(&format!("/transactions/{}", t["id"].as_str().unwrap()), key).await;
        assert_eq!(stored.body["status"], "declined");
    }
    let suspicious = http.get("/transactions?status_code=suspicious_activity", key).await;
    assert_eq!(suspicious.body["values"][0]["risk_flag"], "denied");
    assert_eq!(mesh.count("SELECT count(*) FROM payments.transactions WHERE status = 'declined'").await, 11);
    assert_eq!(mesh.count("SELECT count(*) FROM payments.ledger_entries").await, 0);
    assert_eq!(
        mesh.count("SELECT count(*) FROM payments.outbox WHERE event_type = 'transaction.decline'").await,
        11
    );
    // The good Mastercard goes through.
    let method = add_method(&mesh, key, &customer, card("5200 8282 8282 8210")).await;
    let paid = http
        .post("/transactions", key, json!({"type": "payment", "amount": 10, "payment_method_id": method}))
        .await;
    assert_eq!(paid.body["status"], "processed", "{:?}", paid.body);
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn authorize_capture_void_and_bad_input_that_changes_nothing() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let (customer, method, _) = parties(&mesh, key, card("4242 4242 4242 4242")).await;
    let authorize = json!({"type": "payment", "amount": 50, "customer_id": customer, "status": "authorized"});

    // The customer's default method is charged when none is named.
    let held = http.post("/transactions", key, authorize.clone()).await;
    assert_eq!(held.status, 200, "{:?}", held.body);
    assert_eq!(
        (held.body["status"].clone(), held.body["funding_status"].clone()),
        (json!("authorized"), json!("pending"))
    );
    assert_eq!(held.body["payment_method_id"], json!(method));
    let held = id(&held);
    let captured = http.put(&format!("/transactions/{held}"), key, json!({"status": "processed"})).await;
    assert_eq!(captured.status, 200, "{:?}", captured.body);
    assert_eq!(
        (captured.body["status"].clone(), captured.body["funding_status"].clone()),
        (json!("processed"), json!("captured"))
    );
    let again = http.put(&format!("/transactions/{held}"), key, json!({"status": "processed"})).await;
    assert_eq!(again.status, 400, "{:?}", again.body);
    assert!(again.body["details"]["status"].as_str().unwrap().contains("authorized"));

    // Void an authorization, and a captured payment before it settles.
    let second = id(&http.post("/transactions", key, authorize.clone()).await);
    let voided = http.put(&format!("/transactions/{second}"), key, json!({"status": "voided"})).await;
    assert_eq!(
        (voided.body["status"].clone(), voided.body["funding_status"].clone()),
        (json!("voided"), json!("pending"))
    );
    let voided = http.put(&format!("/transactions/{held}"), key, json!({"status": "voided"})).await;
    assert_eq!(
        (voided.body["status"].clone(), voided.body["funding_status"].clone()),
        (json!("voided"), json!("reversed"))
    );
    let refund = http
        .post(
            "/transactions",
            key,
            json!({"type": "refund", "amount": 1, "ledger": [{"assoc_transaction_id": held}]}),
        )
        .await;
    assert_eq!(refund.status, 400, "{:?}", refund.body);
    let third = id(&http
        .post("/transactions", key, json!({"type": "payment", "amount": 20, "payment_method_id": method}))
        .await);
    http.post(
        "/transactions",
        key,
        json!({"type": "refund", "amount": 5, "ledger": [{"assoc_transaction_id": third}]}),
    )
    .await;
    let partly = http.put(&format!("/transactions/{third}"), key, json!({"status": "voided"})).await;
    assert_eq!(partly.status, 400, "{:?}", partly.body);
    let relabeled = http
        .put(&format!("/transactions/{third}"), key, json!({"description": "Table 4", "attrs": {"till": 2}}))
        .await;
    assert_eq!(
        (relabeled.body["description"].clone(), relabeled.body["attrs"].clone()),
        (json!("Table 4"), json!({"till": 2}))
    );

    // Bad input is named per attribute and stores nothing.
    let before = mesh.count("SELECT count(*) FROM payments.transactions").await;
    let events = mesh.count("SELECT count(*) FROM payments.outbox").await;
    let cases = [
        (json!({"type": "payment"}), vec!["amount", "payment_method_id"]),
        (
            json!({"type": "payment", "amount": -3, "payment_method_id": "nope"}),
            vec!["amount", "payment_method_id"],
        ),
        (
            json!({"type": "payment", "amount": 5, "payment_method_id": method, "status": "voided"}),
            vec!["status"],
        ),
        (
            json!({"type": "payment", "amount": 1.234, "payment_method_id": method, "currency": "EUR"}),
            vec!["amount"],
        ),
        (json!({"type": "deposit", "amount": 5}), vec!["type"]),
        (
            json!({"type": "payment", "amount": 5, "payment_method_id": "0192f0c0-0000-7000-8000-000000000000"}),
            vec!["payment_method_id"],
        ),
        (
            json!({"type": "payment", "amount": 5, "customer_id": "0192f0c0-0000-7000-8000-000000000000"}),
            vec!["customer_id"],
        ),
        (json!({"type": "refund", "amount": 5}), vec!["ledger[0]"]),
        (json!({"type": "payment", "amount": 5, "payment_method_id": method, "fee": 0}), vec!["fee"]),
    ];
    for (body, fields) in cases {
        let refused = http.post("/transactions", key, body.clone()).await;
        assert_eq!(refused.status, 400, "{body}: {:?}", refused.body);
        for field in fields {
            assert!(refused.body["details"].get(field).is_some(), "{body}: {field} in {:?}", refused.body);
        }
    }
    let unchanged = http.put(&format!("/transactions/{third}"), key, json!({"status": "declined"})).await;
    assert_eq!(unchanged.status, 400, "{:?}", unchanged.body);
    assert_eq!(http.delete(&format!("/transactions/{third}"), key, None).await.status, 405);
    assert_eq!(mesh.count("SELECT count(*) FROM payments.transactions").await, before);
    assert_eq!(mesh.count("SELECT count(*) FROM payments.outbox").await, events);

    // Live mode has no connector: a clear refusal, nothing stored.
    let live = live_key(&mesh.acme, "secret_key_");
    let refused = http
        .post("/transactions", live, json!({"type": "payment", "amount": 5, "payment_method_id": method}))
        .await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert!(
        refused.body["description"].as_str().unwrap().contains("Live payments are not enabled"),
        "{:?}",
        refused.body
    );
    assert_eq!(mesh.count("SELECT count(*) FROM payments.transactions").await, before);
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn one_key_charges_once_and_concurrent_refunds_never_exceed_the_payment() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let (_, method, _) = parties(&mesh, key, card("4242 4242 4242 4242")).await;
    let body = json!({"type": "payment", "amount": 100, "payment_method_id": method, "order_number": "A-1"});
    let owned = key.to_owned();
    let send = |body: Value, idempotency: &'static str| {
        let (http, key) = (http.clone(), owned.clone());
        async move {
            let request = http
                .request(reqwest::Method::POST, "/transactions", Some(&key))
                .header("Idempotency-Key", idempotency)
                .json(&body);
            http.send(request).await
        }
    };
    let replies = all((0..50).map(|_| send(body.clone(), "order-A-1"))).await;
    let mut ids: Vec<String> = replies.iter().filter(|r| r.status == 200).map(id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "{replies:?}");
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 409), "{replies:?}");
    assert_eq!(mesh.count("SELECT count(*) FROM payments.transactions WHERE order_number = 'A-1'").await, 1);
    let retry = send(body.clone(), "order-A-1").await;
    assert_eq!((retry.status, id(&retry)), (200, ids[0].clone()));
    let other =
        send(json!({"type": "payment", "amount": 101, "payment_method_id": method}), "order-A-1").await;
    assert_eq!(other.status, 409, "{:?}", other.body);
    assert!(other.body["description"].as_str().unwrap().contains("different request"));
    // A refused request keeps nothing: the key is free for the fixed one.
    let bad = send(json!({"type": "payment", "payment_method_id": method}), "order-B").await;
    assert_eq!(bad.status, 400);
    let fixed = send(json!({"type": "payment", "amount": 5, "payment_method_id": method}), "order-B").await;
    assert_eq!(fixed.status, 200, "{:?}", fixed.body);
    let long = http
        .send(
            http.request(reqwest::Method::POST, "/transactions", Some(key))
                .header("Idempotency-Key", "k".repeat(256))
                .json(&body),
        )
        .await;
    assert_eq!(long.status, 400, "{:?}", long.body);

    // 20 refunds of 10.00 at once against 100.00: exactly 10 fit.
    let payment = ids[0].clone();
    let refund = |_| {
        let (http, payment, key) = (http.clone(), payment.clone(), owned.clone());
        async move {
            http.post(
                "/transactions",
                &key,
                json!({"type": "refund", "amount": 10, "ledger": [{"assoc_transaction_id": payment}]}),
            )
            .await
        }
    };
    let refunds = all((0..20).map(refund)).await;
    let done = refunds.iter().filter(|r| r.status == 200).count();
    assert_eq!(done, 10, "{refunds:?}");
    assert!(refunds.iter().all(|r| r.status == 200 || r.status == 400), "{refunds:?}");
    let read = http.get(&format!("/transactions/{payment}"), key).await;
    assert_eq!(read.body["refunded_amount"], json!(100));
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn intents_are_charged_once_and_bank_payments_settle_on_the_clock_over_grpc() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let (customer, method, processing) = parties(&mesh, key, card("4242 4242 4242 4242")).await;
    let intent = http
        .post(
            "/payment_intents",
            key,
            json!({"payer": {"id": customer}, "recipient": {"id": processing},
               "payment_method": {"id": method}, "target_amount": {"value": 100, "currency": "USD"}}),
        )
        .await;
    assert_eq!(intent.body["status"], "CAPTURABLE", "{:?}", intent.body);
    let intent = id(&intent);
    let wrong = http
        .post("/transactions", key, json!({"type": "payment", "payment_intent_id": intent, "amount": 5}))
        .await;
    assert_eq!(wrong.status, 400, "{:?}", wrong.body);
    let paid = http.post("/transactions", key, json!({"type": "payment", "payment_intent_id": intent})).await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    assert_eq!((paid.body["amount"].clone(), paid.body["cust_conv_fee"].clone()), (json!(102.9), json!(2.9)));
    assert_eq!(paid.body["payment_intent_id"], json!(intent));
    let captured = http.get(&format!("/payment_intents/{intent}"), key).await;
    assert_eq!(
        (captured.body["status"].clone(), captured.body["transaction_id"].clone()),
        (json!("CAPTURED"), paid.body["id"].clone())
    );
    let twice =
        http.post("/transactions", key, json!({"type": "payment", "payment_intent_id": intent})).await;
    assert_eq!(twice.status, 400, "{:?}", twice.body);
    assert!(twice.body["details"]["payment_intent_id"].as_str().unwrap().contains("CAPTURED"));

    // Over gRPC: a bank payment is processing until it settles.
    let account = add_method(&mesh, key, &customer, bank("000123456789")).await;
    let mut payments = TransactionServiceClient::new(mesh.payments_channel());
    let money =
        |amount: &str| paymesh_proto::common::v1::Money { amount: amount.into(), currency: "USD".into() };
    let created = payments
        .create_transaction(authorized(
            key,
            pb::CreateTransactionRequest {
                transaction: Some(pb::Transaction {
                    r#type: pb::TransactionType::Payment as i32,
                    amount: Some(money("250.00")),
                    payment_method_id: Some(account.clone()),
                    ..Default::default()
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .transaction
        .unwrap();
    assert_eq!(created.status, pb::TransactionStatus::Processing as i32);
    // The platform's bank pricing: 1.25 borne by the processing account.
    assert_eq!(
        (created.amount.unwrap().amount, created.fee.unwrap().amount),
        ("250.00".to_owned(), "1.25".to_owned())
    );
    mesh.intents_clock.advance(TimeDelta::days(5));
    let mut settled = None;
    for _ in 0..100 {
        let read = payments
            .get_transaction(authorized(key, pb::GetTransactionRequest { id: created.id.clone() }))
            .await
            .unwrap();
        let t = read.into_inner().transaction.unwrap();
        if t.status == pb::TransactionStatus::Processed as i32 {
            settled = Some(t);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(settled.expect("the bank payment settled").status_code, "settled");

    // A decline over gRPC: FAILED_PRECONDITION naming the transaction.
    let declining = add_method(&mesh, key, &customer, card("4111111111119904")).await;
    let declined = payments
        .create_transaction(authorized(
            key,
            pb::CreateTransactionRequest {
                transaction: Some(pb::Transaction {
                    r#type: pb::TransactionType::Payment as i32,
                    amount: Some(money("10.00")),
                    payment_method_id: Some(declining),
                    ..Default::default()
                }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(declined.code(), tonic::Code::FailedPrecondition);
    let info = tonic_types::StatusExt::get_details_error_info(&declined).unwrap();
    assert_eq!(info.reason, "TRANSACTION_DECLINED");
    assert_eq!(info.metadata["status_code"], "insufficient_bal");
    let empty = payments
        .create_transaction(authorized(key, pb::CreateTransactionRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(empty.code(), tonic::Code::InvalidArgument);
    let violations = tonic_types::StatusExt::get_details_bad_request(&empty).unwrap();
    assert_eq!(violations.field_violations[0].field, "transaction.type");
    let listed = payments
        .list_transactions(authorized(key, pb::ListTransactionsRequest { query: None, include_ledger: true }))
        .await
        .unwrap()
        .into_inner();
    // Three payments (the card payment may have been paid out in a deposit
    // since the clock moved).
    let payments_listed =
        listed.transactions.iter().filter(|t| t.r#type == pb::TransactionType::Payment as i32).count();
    assert_eq!(payments_listed, 3);
    let other = payments
        .get_transaction(authorized(test_key(&mesh.globex), pb::GetTransactionRequest { id: created.id }))
        .await
        .unwrap_err();
    assert_eq!(other.code(), tonic::Code::NotFound);
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn deposits_pay_out_each_day_net_or_gross_and_refunds_after_them_are_reversed() {
    // A Monday: the next days are business days, when deposits are made.
    let mesh = Mesh::start_at("2025-09-08T12:00:00Z").await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let (customer, method, processing) = parties(&mesh, key, card("4242 4242 4242 4242")).await;
    // The account bears the whole card fee: 2.90% + 0.30.
    let settings = format!("/processing_accounts/{processing}/processing_settings");
    let set = http.put(&settings, key, json!({"credit_trans_cost": 0.30, "credit_conv_fee_alloc": 0})).await;
    assert_eq!(
        (set.status, set.body["billing_preference"].clone()),
        (200, json!("netted_daily")),
        "{:?}",
        set.body
    );

    let first = http.post("/transactions", key, pay(100.0, &method)).await;
    assert_eq!(
        (first.body["amount"].clone(), first.body["fee"].clone()),
        (json!(100), json!(3.2)),
        "{:?}",
        first.body
    );
    let second = http.post("/transactions", key, pay(50.0, &method)).await;
    assert_eq!(second.body["fee"], json!(1.75), "{:?}", second.body);
    let (first, second) = (id(&first), id(&second));
    let refund = json!({"type": "refund", "amount": 10, "ledger": [{"assoc_transaction_id": first}]});
    assert_eq!(http.post("/transactions", key, refund).await.status, 200);
    // Neither an authorization nor a decline is paid out.
    let held = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 20, "status": "authorized",
        "payment_method_id": method}),
        )
        .await;
    assert_eq!(held.body["status"], "authorized", "{:?}", held.body);
    let declining = add_method(&mesh, key, &customer, card("4111111111119903")).await;
    assert_eq!(http.post("/transactions", key, pay(5.0, &declining)).await.status, 400);
    // Nothing settled before today: no deposit yet.
    assert_eq!(http.get("/transactions?type=deposit", key).await.body["values"], json!([]));

    mesh.intents_clock.advance(TimeDelta::days(1));
    let deposits = until_listed(&mesh, key, "/transactions?type=deposit&fields=*,ledger", 1).await;
    let deposit = &deposits.body["values"][0];
    // Net: (100 - 10 refunded - 3.20) + (50 - 1.75).
    assert_eq!(
        (deposit["amount"].clone(), deposit["fee"].clone(), deposit["status"].clone()),
        (json!(135.05), json!(4.95), json!("processed")),
        "{deposit:?}"
    );
    assert_eq!(deposit["processing_id"], json!(processing));
    // "List of Deposited Payments", as the reference's curl writes it:
    // deposits filed under the processing account's id.
    let filed =
        http.get(&format!("/transactions?fields=*,ledger&type=deposit&account_id={processing}"), key).await;
    assert_eq!(filed.body["values"], deposits.body["values"], "{:?}", filed.body);
    let of_customer = http.get(&format!("/transactions?type=deposit&account_id={customer}"), key).await;
    assert_eq!(of_customer.body["values"], json!([]));
    let payments_of_customer =
        http.get(&format!("/transactions?type=payment&account_id={customer}&status=processed"), key).await;
    assert_eq!(
        payments_of_customer.body["values"].as_array().unwrap().len(),
        2,
        "{:?}",
        payments_of_customer.body
    );
    // Reports by completion date: what completed, by year.
    let completed = http
        .get(
            "/transactions?fields=year(completed_date),count(id)&type=payment&status=processed\
             &group_by=year(completed_date)",
            key,
        )
        .await;
    let rows = completed.body["values"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{:?}", completed.body);
    assert!(rows[0]["year(completed_date)"].as_i64().is_some_and(|y| y >= 2025), "{:?}", completed.body);
    assert_eq!(rows[0]["count(id)"], json!(2));
    let mut items: Vec<(String, Value)> = deposit["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["assoc_transaction_id"].as_str().unwrap().to_owned(), l["amount"].clone()))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![(first.clone(), json!(86.8)), (second.clone(), json!(48.25))];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(items, expected);
    let paid_out = http.get(&format!("/transactions/{first}?fields=*,ledger"), key).await;
    assert_eq!(paid_out.body["funding_status"], "batched");
    assert!(
        paid_out.body["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["entry_type"] == "deposit" && l["amount"] == json!(-86.8)),
        "{:?}",
        paid_out.body
    );
    assert_eq!(
        http.get(&format!("/transactions/{}", id(&held)), key).await.body["funding_status"],
        "pending"
    );

    // A refund after the deposit draws a reversal from the account.
    let late = json!({"type": "refund", "amount": 20, "ledger": [{"assoc_transaction_id": first}]});
    assert_eq!(http.post("/transactions", key, late).await.status, 200);
    let reversals = http.get("/transactions?type=reversal", key).await;
    let reversal = &reversals.body["values"][0];
    assert_eq!(
        (reversal["amount"].clone(), reversal["processing_id"].clone()),
        (json!(20), json!(processing))
    );
    let reversed = http.get(&format!("/transactions/{first}?fields=*,ledger"), key).await;
    assert!(
        reversed.body["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["entry_type"] == "reversal" && l["amount"] == json!(20)),
        "{:?}",
        reversed.body
    );

    // Gross deposits: fees are billed monthly, the deposit pays in full.
    let wrong = http.put(&settings, key, json!({"billing_preference": "weekly"})).await;
    assert_eq!(wrong.status, 400, "{:?}", wrong.body);
    assert!(wrong.body["details"]["billing_preference"].as_str().unwrap().contains("billed_monthly"));
    let gross = http.put(&settings, key, json!({"billing_preference": "billed_monthly"})).await;
    assert_eq!(gross.body["billing_preference"], "billed_monthly", "{:?}", gross.body);
    assert!(gross.body["overridden"].as_array().unwrap().contains(&json!("billing_preference")));
    let third = http.post("/transactions", key, pay(50.0, &method)).await;
    assert_eq!(third.body["fee"], json!(1.75));
    mesh.intents_clock.advance(TimeDelta::days(1));
    let deposits =
        until_listed(&mesh, key, "/transactions?type=deposit&order_by=desc(created_at)&fields=*,ledger", 2)
            .await;
    let newest = &deposits.body["values"][0];
    assert_eq!((newest["amount"].clone(), newest["fee"].clone()), (json!(50), json!(0)), "{newest:?}");
    assert_eq!(newest["ledger"][0]["assoc_transaction_id"], third.body["id"]);

    assert_eq!(
        mesh.count("SELECT count(*) FROM payments.outbox WHERE event_type = 'transaction.deposit'").await,
        2
    );
    assert_eq!(
        mesh.count("SELECT count(*) FROM payments.outbox WHERE event_type = 'transaction.reversal'").await,
        1
    );
    // Another partner sees none of it.
    assert_eq!(
        http.get("/transactions?type=deposit", test_key(&mesh.globex)).await.body["values"],
        json!([])
    );
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn intent_payments_are_paid_out_alone_on_their_delivery_date_by_the_intents_payout_method() {
    // A Wednesday, before the checks' cut-off.
    let mesh = Mesh::start_at("2021-06-30T12:00:00Z").await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let (customer, method, processing) = parties(&mesh, key, card("4242 4242 4242 4242")).await;
    let check = json!({"payout_method": "check", "payout_details": {"mailing_address": {
        "street_address": "1 Main St", "city": "Albany", "state_province": "NY", "postal_code": "12207",
        "country": "US"}}});
    let by_check =
        http.put(&format!("/processing_accounts/{processing}"), key, json!({"processing": check})).await;
    assert_eq!(by_check.status, 200, "{:?}", by_check.body);
    let intent = |expedited: bool| {
        json!({"payer": {"id": customer}, "recipient": {"id": processing}, "payment_method": {"id": method},
               "target_amount": {"value": 100, "currency": "USD"}, "is_expedited": expedited})
    };
    let overnight = http.post("/payment_intents", key, intent(true)).await;
    assert_eq!(
        (overnight.body["status"].clone(), overnight.body["delivery_date"].clone()),
        (json!("CAPTURABLE"), json!("2021-07-01")),
        "{:?}",
        overnight.body
    );
    let standard = http.post("/payment_intents", key, intent(false)).await;
    // Standard mail takes five business days, over Independence Day.
    assert_eq!(standard.body["delivery_date"], "2021-07-08", "{:?}", standard.body);

    let fast = http
        .post("/transactions", key, json!({"type": "payment", "payment_intent_id": id(&overnight)}))
        .await;
    assert_eq!(fast.status, 200, "{:?}", fast.body);
    // 100 + 2.90 service fee + 0.50 + 29.00 + 1.49 for the overnight check.
    assert_eq!(
        (
            fast.body["amount"].clone(),
            fast.body["cust_conv_fee"].clone(),
            fast.body["delivery_fee"].clone(),
            fast.body["delivery_date"].clone(),
            fast.body["payout_method"].clone(),
        ),
        (json!(133.89), json!(2.9), json!(30.99), json!("2021-07-01"), json!("check")),
        "{:?}",
        fast.body
    );
    let slow =
        http.post("/transactions", key, json!({"type": "payment", "payment_intent_id": id(&standard)})).await;
    assert_eq!(
        (slow.body["amount"].clone(), slow.body["delivery_fee"].clone(), slow.body["delivery_date"].clone()),
        (json!(102.9), json!(0), json!("2021-07-08")),
        "{:?}",
        slow.body
    );
    let (fast, slow) = (id(&fast), id(&slow));
    let direct = http.post("/transactions", key, pay(50.0, &method)).await;
    assert_eq!(
        (direct.body["delivery_date"].clone(), direct.body["payout_method"].clone()),
        (Value::Null, Value::Null),
        "a payment without an intent rides the daily deposit: {:?}",
        direct.body
    );
    let direct = id(&direct);
    // Refunded before it is paid out: the payout is smaller.
    let refund = json!({"type": "refund", "amount": 10, "ledger": [{"assoc_transaction_id": slow}]});
    assert_eq!(http.post("/transactions", key, refund).await.status, 200);

    // The next day: the daily deposit of the direct payment, and the
    // overnight check on its own, without the delivery fees.
    mesh.set_clock("2021-07-01T12:00:00Z");
    let deposits = until_listed(&mesh, key, "/transactions?type=deposit&fields=*,ledger", 2).await;
    let paying = |item: &str| -> Value {
        deposits.body["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["ledger"].as_array().unwrap().iter().any(|l| l["assoc_transaction_id"] == item))
            .unwrap_or_else(|| panic!("no deposit pays {item}: {:?}", deposits.body))
            .clone()
    };
    let payout = paying(&fast);
    assert_eq!(
        (
            payout["amount"].clone(),
            payout["fee"].clone(),
            payout["payout_method"].clone(),
            payout["delivery_date"].clone(),
            payout["ledger"].as_array().unwrap().len(),
            payout["processing_id"].clone(),
        ),
        (json!(100), json!(0), json!("check"), json!("2021-07-01"), 1, json!(processing)),
        "{payout:?}"
    );
    let daily = paying(&direct);
    assert_eq!(daily["ledger"].as_array().unwrap().len(), 1, "{daily:?}");
    assert_eq!(
        (daily["payout_method"].clone(), daily["delivery_date"].clone()),
        (json!("check"), json!("2021-07-01")),
        "the account's payout method: {daily:?}"
    );
    assert_eq!(http.get(&format!("/transactions/{fast}"), key).await.body["funding_status"], "batched");

    // Days later the standard check is still waiting for its date, while
    // the daily deposits go on.
    let later = http.post("/transactions", key, pay(20.0, &method)).await;
    assert_eq!(later.status, 200, "{:?}", later.body);
    mesh.set_clock("2021-07-07T12:00:00Z");
    until_listed(&mesh, key, "/transactions?type=deposit", 3).await;
    assert_eq!(http.get(&format!("/transactions/{slow}"), key).await.body["funding_status"], "captured");

    // On its delivery date: 102.90 - 10 refunded - 2.90 service fee.
    mesh.set_clock("2021-07-08T12:00:00Z");
    let on_the_day =
        until_listed(&mesh, key, "/transactions?type=deposit&delivery_date=2021-07-08&fields=*,ledger", 1)
            .await;
    let last = &on_the_day.body["values"][0];
    assert_eq!(
        (last["amount"].clone(), last["ledger"][0]["assoc_transaction_id"].clone()),
        (json!(90), json!(slow)),
        "{last:?}"
    );
    assert_eq!(
        http.get("/transactions?type=payment&payout_method=check", key).await.body["values"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Over gRPC: the same fields.
    let mut payments = TransactionServiceClient::new(mesh.payments_channel());
    let read = payments
        .get_transaction(authorized(key, pb::GetTransactionRequest { id: fast.clone() }))
        .await
        .unwrap()
        .into_inner()
        .transaction
        .unwrap();
    assert_eq!(
        (read.delivery_fee.unwrap().amount, read.delivery_date.as_deref(), read.payout_method),
        ("30.99".to_owned(), Some("2021-07-01"), paymesh_proto::identity::v1::PayoutMethod::Check as i32)
    );
    // Made by paymesh, never by the caller.
    let set =
        json!({"type": "payment", "amount": 5, "payment_method_id": method, "delivery_date": "2021-07-09"});
    let refused = http.post("/transactions", key, set).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert!(refused.body["details"]["delivery_date"].is_string(), "{:?}", refused.body);
    assert_eq!(
        mesh.count("SELECT count(*) FROM payments.outbox WHERE event_type = 'transaction.deposit'").await,
        4
    );
    assert_eq!(
        http.get("/transactions?type=deposit", test_key(&mesh.globex)).await.body["values"],
        json!([])
    );
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn bank_returns_and_chargebacks_arrive_on_the_clock() {
    // A Monday: the days below are business days, so deposits are made.
    let mesh = Mesh::start_at("2025-09-08T12:00:00Z").await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let (customer, _, _) = parties(&mesh, key, card("4242 4242 4242 4242")).await;
    payers_pay_card_fees(&mesh, key).await;
    let returned = add_method(&mesh, key, &customer, bank("1000000001")).await;
    let disputed = add_method(&mesh, key, &customer, card("4000000000000259")).await;
    let overturned = add_method(&mesh, key, &customer, card("4000000000002685")).await;
    let bank_payment = http.post("/transactions", key, pay(80.0, &returned)).await;
    assert_eq!(bank_payment.body["status"], "processing", "{:?}", bank_payment.body);
    let lost = http.post("/transactions", key, pay(40.0, &disputed)).await;
    let won = http.post("/transactions", key, pay(30.0, &overturned)).await;
    assert_eq!((lost.body["amount"].clone(), won.body["amount"].clone()), (json!(41.16), json!(30.87)));
    let (bank_payment, lost, won) = (id(&bank_payment), id(&lost), id(&won));
    let refund = json!({"type": "refund", "amount": 10, "ledger": [{"assoc_transaction_id": won}]});
    assert_eq!(http.post("/transactions", key, refund).await.status, 200);

    // Day 1: the card payments are paid out.
    mesh.intents_clock.advance(TimeDelta::days(1));
    let deposit = until_listed(&mesh, key, "/transactions?type=deposit&fields=*,ledger", 1).await;
    assert_eq!(deposit.body["values"][0]["ledger"].as_array().unwrap().len(), 2, "{:?}", deposit.body);

    // Day 4: both disputed; they were paid out, so each draws a reversal.
    mesh.intents_clock.advance(TimeDelta::days(3));
    let chargebacks =
        until_listed(&mesh, key, "/transactions?type=chargeback&order_by=amount&fields=*,ledger", 2).await;
    let chargebacks = chargebacks.body["values"].as_array().unwrap().clone();
    assert_eq!(
        chargebacks
            .iter()
            .map(|c| (c["amount"].clone(), c["ledger"][0]["assoc_transaction_id"].clone()))
            .collect::<Vec<_>>(),
        // What was left of the payment: 30.87 - 10 refunded; 41.16.
        vec![(json!(20.87), json!(won)), (json!(41.16), json!(lost))]
    );
    let reversals = until_listed(&mesh, key, "/transactions?type=reversal", 2).await;
    assert!(reversals.body["values"].as_array().unwrap().iter().all(|r| r["status"] == "processed"));
    let charged_back = http.get(&format!("/transactions/{lost}"), key).await;
    assert_eq!(charged_back.body["funding_status"], "reversed");
    let refund = json!({"type": "refund", "amount": 1, "ledger": [{"assoc_transaction_id": lost}]});
    let refused = http.post("/transactions", key, refund).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert!(
        refused.body["details"]["ledger[0]"]["assoc_transaction_id"]
            .as_str()
            .is_some_and(|why| why.contains("charged back")),
        "{:?}",
        refused.body
    );
    // Also on day 4: the bank returned the debit (R01) two business days
    // after it settled (day 1, the next business day); it was never paid
    // out, so nothing is reversed.
    let rejected = until_listed(&mesh, key, "/transactions?status=rejected", 1).await;
    let rejected = &rejected.body["values"][0];
    assert_eq!(
        (rejected["id"].clone(), rejected["status_code"].clone(), rejected["funding_status"].clone()),
        (json!(bank_payment), json!("R01"), json!("reversed"))
    );
    assert!(rejected["status_message"].as_str().unwrap().contains("Insufficient funds"));
    // The day it was rejected, as Payload's reference filters it.
    let today = mesh.intents_clock.now().date_naive();
    assert_eq!(rejected["rejected_on"], json!(today.to_string()));
    let since = |day: chrono::NaiveDate| format!("/transactions?status=rejected&rejected_on=%3E%3D{day}");
    let found = http.get(&since(today - TimeDelta::days(1)), key).await;
    assert_eq!(found.body["values"][0]["id"], json!(bank_payment), "{:?}", found.body);
    assert_eq!(http.get(&since(today + TimeDelta::days(1)), key).await.body["values"], json!([]));
    assert_eq!(
        http.get(&format!("/transactions/{bank_payment}"), key).await.body["rejected_on"],
        json!(today.to_string())
    );

    // Day 14: the second dispute is overturned and the funds come back.
    mesh.intents_clock.advance(TimeDelta::days(10));
    let overturns =
        until_listed(&mesh, key, "/transactions?type=chargeback_reversal&fields=*,ledger", 1).await;
    let overturn = &overturns.body["values"][0];
    assert_eq!(overturn["amount"], json!(20.87));
    assert_eq!(overturn["ledger"][0]["entry_type"], "chargeback");

    // Day 15: the overturned amount is paid out with the next deposit.
    mesh.intents_clock.advance(TimeDelta::days(1));
    let deposits = until_listed(&mesh, key, "/transactions?type=deposit&order_by=desc(created_at)", 2).await;
    assert_eq!(deposits.body["values"][0]["amount"], json!(20.87), "{:?}", deposits.body);

    for (event, n) in [
        ("SELECT count(*) FROM payments.outbox WHERE event_type = 'transaction.bank_account_reject'", 1),
        ("SELECT count(*) FROM payments.outbox WHERE event_type = 'transaction.chargeback'", 2),
        ("SELECT count(*) FROM payments.outbox WHERE event_type = 'transaction.chargeback_reversal'", 1),
        ("SELECT count(*) FROM payments.aftermaths", 0),
    ] {
        assert_eq!(mesh.count(event).await, n, "{event}");
    }
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn over_labor_day_bank_payments_settle_and_deposits_wait_for_the_next_business_day() {
    // Friday 29 August 2025; Monday 1 September is Labor Day, when the
    // Federal Reserve is closed.
    let mesh = Mesh::start_at("2025-08-29T15:00:00Z").await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let (customer, card_method, _) = parties(&mesh, key, card("4242 4242 4242 4242")).await;
    let account = add_method(&mesh, key, &customer, bank("000123456789")).await;
    let bank_payment = http.post("/transactions", key, pay(80.0, &account)).await;
    assert_eq!(bank_payment.body["status"], "processing", "{:?}", bank_payment.body);
    let card_payment = http.post("/transactions", key, pay(10.0, &card_method)).await;
    assert_eq!(card_payment.body["status"], "processed", "{:?}", card_payment.body);
    let (bank_payment, card_payment) = (id(&bank_payment), id(&card_payment));

    // Labor Day: the sweep runs, but no money moves.
    mesh.set_clock("2025-09-01T15:00:00Z");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let read = http.get(&format!("/transactions/{bank_payment}"), key).await;
    assert_eq!(read.body["status"], "processing", "settles the next business day: {:?}", read.body);
    assert_eq!(http.get("/transactions?type=deposit", key).await.body["values"], json!([]));

    // Tuesday: the bank payment settles, and the card payment is paid out.
    mesh.set_clock("2025-09-02T15:00:00Z");
    let deposits = until_listed(&mesh, key, "/transactions?type=deposit&fields=*,ledger", 1).await;
    let deposit = &deposits.body["values"][0];
    assert_eq!(deposit["ledger"][0]["assoc_transaction_id"], json!(card_payment), "{deposit:?}");
    assert!(deposit["created_at"].as_str().unwrap().starts_with("2025-09-02"), "{deposit:?}");
    let settled =
        until_listed(&mesh, key, &format!("/transactions?id={bank_payment}&status=processed"), 1).await;
    assert!(
        settled.body["values"][0]["settled_at"].as_str().unwrap().starts_with("2025-09-02"),
        "{:?}",
        settled.body
    );
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_customers_default_cascades_and_inline_cards_are_stored_and_charged() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let (customer, default, _) = parties(&mesh, key, card("4111111111119904")).await;
    let also_declines = add_method(&mesh, key, &customer, card("4111111111119903")).await;
    let good = add_method(&mesh, key, &customer, card("4242424242424242")).await;

    // The default declines, then the others are tried oldest first.
    let paid = http
        .post("/transactions", key, json!({"type": "payment", "amount": 10, "customer_id": customer}))
        .await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    assert_eq!(paid.body["payment_method_id"], json!(good));
    let attempts: Vec<String> = paid.body["prior_attempt_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(attempts.len(), 2, "{:?}", paid.body);
    for (attempt, (method, code)) in
        attempts.iter().zip([(&default, "insufficient_bal"), (&also_declines, "general_decline")])
    {
        let read = http.get(&format!("/transactions/{attempt}"), key).await;
        assert_eq!(
            (
                read.body["status"].clone(),
                read.body["payment_method_id"].clone(),
                read.body["status_code"].clone()
            ),
            (json!("declined"), json!(method), json!(code))
        );
    }
    // A named method is charged alone: no cascade.
    let alone = http.post("/transactions", key, pay(10.0, &default)).await;
    assert_eq!(alone.status, 400);
    assert_eq!(alone.body["details"]["prior_attempt_ids"], json!([]), "{:?}", alone.body);

    // Every method declines: the last attempt answers, naming the others.
    let (broke, _, _) = parties(&mesh, key, card("4111111111119904")).await;
    add_method(&mesh, key, &broke, card("4111111111119900")).await;
    let declined =
        http.post("/transactions", key, json!({"type": "payment", "amount": 10, "customer_id": broke})).await;
    assert_eq!((declined.status, declined.body["error_type"].clone()), (400, json!("TransactionDeclined")));
    assert_eq!(declined.body["details"]["status_code"], "card_expired", "{:?}", declined.body);
    assert_eq!(declined.body["details"]["prior_attempt_ids"].as_array().unwrap().len(), 1);

    // An inline card is stored for the customer and charged.
    let inline = json!({"type": "payment", "amount": 25, "customer_id": customer,
        "payment_method": {"type": "card", "card": {"card_number": "5200 8282 8282 8210", "expiry": "12/40"},
                           "billing_address": {"postal_code": "10001"}}});
    let charged = http.post("/transactions", key, inline).await;
    assert_eq!(charged.status, 200, "{:?}", charged.body);
    assert!(!charged.body.to_string().contains("5200828282828210"));
    let stored = http
        .get(&format!("/payment_methods/{}", charged.body["payment_method_id"].as_str().unwrap()), key)
        .await;
    assert_eq!(stored.body["account_id"], json!(customer), "{:?}", stored.body);

    // Bad inline methods change nothing.
    let before = mesh.count("SELECT count(*) FROM payments.transactions").await;
    let methods_before = mesh.count("SELECT count(*) FROM methods.payment_methods").await;
    let kept_without_expiry = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 5, "customer_id": customer,
        "payment_method": {"type": "card", "card": {"card_number": "4242424242424242"}}}),
        )
        .await;
    assert_eq!(kept_without_expiry.status, 400);
    assert_eq!(
        kept_without_expiry.body["details"]["payment_method"],
        json!({"card": {"expiry": "Required for a card on an account"},
               "billing_address": {"postal_code": "Required for a card on an account"}}),
        "a card kept on file needs what later charges need: {:?}",
        kept_without_expiry.body
    );
    let bad_number = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 5, "customer_id": customer,
        "payment_method": {"type": "card", "card": {"card_number": "4242424242424241", "expiry": "12/40"}}}),
        )
        .await;
    assert_eq!(bad_number.status, 400, "{:?}", bad_number.body);
    assert!(
        bad_number.body["details"]["payment_method"]["card"]["card_number"].is_string(),
        "{:?}",
        bad_number.body
    );
    let unknown = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 5, "customer_id": customer,
        "payment_method": {"type": "card", "colour": "red"}}),
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body["details"]["payment_method"]["colour"].is_string(), "{:?}", unknown.body);
    assert_eq!(mesh.count("SELECT count(*) FROM payments.transactions").await, before);
    assert_eq!(mesh.count("SELECT count(*) FROM methods.payment_methods").await, methods_before);
    mesh.assert_ledger_invariants().await;
}

/// A payment's inline card or bank account with no customer is charged
/// and not kept: the reference's first examples, as written.
#[tokio::test]
async fn a_card_not_on_file_is_charged_and_not_kept() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    parties(&mesh, key, card("4242424242424242")).await;
    let methods_before =
        mesh.count("SELECT count(*) FROM methods.payment_methods WHERE deleted_at IS NULL").await;

    // Payload's "Simple Card Payments": a number and an amount.
    let paid = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 100.0,
                   "payment_method": {"type": "card", "card": {"card_number": "4242 4242 4242 4242"}}}),
        )
        .await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    assert_eq!(paid.body["status"], "processed", "{:?}", paid.body);
    assert_eq!(paid.body["customer_id"], Value::Null);
    // The amount is what is charged: the card fee is the processing
    // account's, netted from its deposits (no convenience fee by default).
    assert_eq!(
        (paid.body["amount"].clone(), paid.body["cust_conv_fee"].clone(), paid.body["fee"].clone()),
        (json!(100), json!(0), json!(2.9))
    );
    assert!(!paid.body.to_string().contains("4242424242424242"));
    let method = paid.body["payment_method_id"].as_str().unwrap().to_owned();
    // Not kept: the method is deleted and its number erased; the payment
    // still reads (and refunds) as before.
    assert_eq!(http.get(&format!("/payment_methods/{method}"), key).await.status, 404);
    let erased: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM methods.payment_methods WHERE id = $1::uuid AND single_use \
         AND account_id IS NULL AND deleted_at IS NOT NULL AND number_sealed IS NULL AND last4 = '4242'",
    )
    .bind(&method)
    .fetch_one(mesh.pool())
    .await
    .unwrap();
    assert_eq!(erased, 1, "the row stays for the payment's history, its number does not");
    let again = http.post("/transactions", key, pay(5.0, &method)).await;
    assert_eq!(again.status, 400, "a single-use method is not charged twice: {:?}", again.body);
    let refund = http
        .post(
            "/transactions",
            key,
            json!({"type": "refund", "amount": 10, "ledger": [{"assoc_transaction_id": paid.body["id"]}]}),
        )
        .await;
    assert_eq!(refund.status, 200, "{:?}", refund.body);

    // "Handle Declines": declined, stored as declined, and not kept either.
    let declined = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 100.0,
                   "payment_method": {"type": "card", "card": {"card_number": "4111 1111 1111 9903"}}}),
        )
        .await;
    assert_eq!((declined.status, declined.body["error_type"].clone()), (400, json!("TransactionDeclined")));
    let declined_method =
        declined.body["details"]["payment_method_id"].as_str().expect("the declined method");
    assert_eq!(http.get(&format!("/payment_methods/{declined_method}"), key).await.status, 404);

    // "Simple Bank Payments", with the reference's test routing number
    // (taken in test mode only).
    let bank = json!({"type": "payment", "amount": 100.0,
        "payment_method": {"type": "bank_account", "bank_account":
            {"account_number": "1234567890", "routing_number": "021000121", "account_type": "checking"}}});
    let bank_paid = http.post("/transactions", key, bank.clone()).await;
    assert_eq!(bank_paid.status, 200, "{:?}", bank_paid.body);
    assert_eq!(bank_paid.body["status"], "processing", "{:?}", bank_paid.body);
    let live = live_key(&mesh.acme, "secret_key_");
    let live_bank = http.post("/transactions", live, bank).await;
    assert_eq!(live_bank.status, 400, "{:?}", live_bank.body);
    assert_eq!(
        live_bank.body["details"]["payment_method"]["bank_account"]["routing_number"],
        "Not a valid routing number (checksum)"
    );

    // A bad card not on file changes nothing; an expiry given is checked.
    let before = mesh.count("SELECT count(*) FROM payments.transactions").await;
    let all_methods = mesh.count("SELECT count(*) FROM methods.payment_methods").await;
    for (card, field) in [
        (json!({"card_number": "4242424242424241"}), "card_number"),
        (json!({"card_number": "4242424242424242", "expiry": "01/20"}), "expiry"),
    ] {
        let bad = http
            .post(
                "/transactions",
                key,
                json!({"type": "payment", "amount": 5, "payment_method": {"type": "card", "card": card}}),
            )
            .await;
        assert_eq!(bad.status, 400, "{:?}", bad.body);
        assert!(bad.body["details"]["payment_method"]["card"][field].is_string(), "{:?}", bad.body);
    }
    assert_eq!(mesh.count("SELECT count(*) FROM payments.transactions").await, before);
    assert_eq!(mesh.count("SELECT count(*) FROM methods.payment_methods").await, all_methods);
    assert_eq!(
        mesh.count("SELECT count(*) FROM methods.payment_methods WHERE deleted_at IS NULL").await,
        methods_before,
        "no method given without a customer is kept"
    );
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn every_create_honours_an_idempotency_key() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let send = |path: &'static str, key: &str, idempotency: &str, body: Value| {
        let http = http.clone();
        let request = http
            .request(reqwest::Method::POST, path, Some(key))
            .header("Idempotency-Key", idempotency)
            .json(&body);
        async move { http.send(request).await }
    };
    let customer = json!({"name": "Ada Lovelace", "email": "ada@example.com"});
    let first = send("/customers", key, "signup-ada", customer.clone()).await;
    let again = send("/customers", key, "signup-ada", customer.clone()).await;
    assert_eq!((first.status, again.status), (200, 200), "{:?}", again.body);
    assert_eq!(id(&first), id(&again));
    assert_eq!(mesh.count("SELECT count(*) FROM identity.accounts WHERE email = 'ada@example.com'").await, 1);
    let other =
        send("/customers", key, "signup-ada", json!({"name": "Ada King", "email": "ada@example.com"})).await;
    assert_eq!(other.status, 409, "{:?}", other.body);
    // The key is the partner's and the mode's: another partner's is its own.
    let elsewhere = send("/customers", test_key(&mesh.globex), "signup-ada", customer).await;
    assert_eq!(elsewhere.status, 200);
    assert_ne!(id(&elsewhere), id(&first));

    let card_body = {
        let mut body = card("4242424242424242");
        body["account_id"] = json!(id(&first));
        body
    };
    let method = send("/payment_methods", key, "card-1", card_body.clone()).await;
    let method_again = send("/payment_methods", key, "card-1", card_body).await;
    assert_eq!(id(&method), id(&method_again), "{:?}", method_again.body);
    // Keys are kept by the service that creates: a key used for a method
    // says nothing about intents.
    let crossed = send("/payment_intents", key, "card-1", json!({"payer": {"id": id(&first)}})).await;
    assert_eq!(crossed.status, 200, "{:?}", crossed.body);
    let intent = json!({"payer": {"id": id(&first)}, "target_amount": {"value": 10, "currency": "USD"}});
    let drafted = send("/payment_intents", key, "intent-1", intent.clone()).await;
    assert_eq!(id(&drafted), id(&send("/payment_intents", key, "intent-1", intent).await));

    // Keys and tokens are shown once: a key on them is refused, nothing made.
    let keys_before = mesh.count("SELECT count(*) FROM identity.api_keys").await;
    let refused = send("/api_keys", key, "key-1", json!({"type": "secret", "name": "ci"})).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert!(refused.body["description"].as_str().unwrap().contains("Idempotency-Key is not accepted"));
    assert_eq!(mesh.count("SELECT count(*) FROM identity.api_keys").await, keys_before);
}

#[tokio::test]
async fn a_processing_account_without_a_payout_method_takes_payments() {
    // A new partner's default processing account has no payout method yet:
    // payments to it are priced in their own currency and still taken.
    let mesh = Mesh::start().await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let processing = mesh.acme.default_accounts[0].to_string();
    let account = http.get(&format!("/processing_accounts/{processing}"), key).await;
    assert_eq!(account.body["processing"]["payout_method"], Value::Null, "{:?}", account.body);
    let customer = http.post("/customers", key, json!({"name": "Ann Lee", "email": "ann@example.com"})).await;
    let method = add_method(&mesh, key, &id(&customer), card("4242 4242 4242 4242")).await;
    let paid = http.post("/transactions", key, pay(100.0, &method)).await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    assert_eq!(paid.body["status"], "processed");
    assert_eq!(paid.body["processing_id"], json!(processing));
    assert_eq!((paid.body["amount"].clone(), paid.body["fee"].clone()), (json!(100), json!(2.9)));
    mesh.assert_ledger_invariants().await;
}
