//! Payments under faults at each step of a charge, injected with
//! `paymesh_kit::faults`: before the processor is asked, after it answered,
//! inside the final database transaction before it commits, after it
//! committed; the processor unreachable; a caller who hangs up. For each:
//! what the partner is answered, what a retry with the same
//! Idempotency-Key answers (after the lease, on the mesh's clock), what the
//! sweep finishes on its own, and that no payment is charged twice, lost,
//! or left pending, with the books sound.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::TimeDelta;
use paymesh_kit::faults::{self, Fault};
use paymesh_tests::{Mesh, Reply, test_key};
use serde_json::{Value, json};

/// Longer than the idempotency lease (10 s by default).
const PAST_THE_LEASE: TimeDelta = TimeDelta::seconds(11);

/// A customer with a default card, and the partner's default processing
/// account paid by ACH; answers the card's id.
async fn card_of_a_customer(mesh: &Mesh, key: &str) -> String {
    let http = mesh.http();
    let customer =
        http.post("/customers", key, json!({"name": "Matt Perez", "email": "matt@example.com"})).await;
    assert_eq!(customer.status, 200, "{:?}", customer.body);
    let method = http
        .post(
            "/payment_methods",
            key,
            json!({"type": "card", "account_id": customer.body["id"], "default_payment_method": true,
                   "card": {"card_number": "4242424242424242", "expiry": "12/40"},
                   "billing_address": {"postal_code": "10001"}}),
        )
        .await;
    assert_eq!(method.status, 200, "{:?}", method.body);
    let processing = mesh.acme.default_accounts[0];
    let payout = json!({"processing": {"payout_method": "ach",
        "payout_details": {"routing_number": "011000015", "account_number": "000123456789"}}});
    let updated = http.put(&format!("/processing_accounts/{processing}"), key, payout).await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    method.body["id"].as_str().unwrap().to_owned()
}

/// `POST /transactions` of a 25.00 payment to `method` with `idempotency`.
async fn pay(mesh: &Mesh, key: &str, method: &str, idempotency: &str) -> Reply {
    let http = mesh.http();
    let body = json!({"type": "payment", "amount": 25, "payment_method_id": method});
    http.send(
        http.request(reqwest::Method::POST, "/transactions", Some(key))
            .header("Idempotency-Key", idempotency)
            .json(&body),
    )
    .await
}

/// Every transaction of the partner's test mode.
async fn transactions(mesh: &Mesh, key: &str) -> Vec<Value> {
    let listed = mesh.http().get("/transactions?limit=100", key).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    listed.body["values"].as_array().unwrap().clone()
}

/// Polls until the partner's only transaction is no longer pending; it.
async fn until_finished(mesh: &Mesh, key: &str) -> Value {
    for _ in 0..200 {
        let listed = transactions(mesh, key).await;
        if let [only] = listed.as_slice()
            && only["status"] != "pending"
        {
            return only.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the payment was never finished: {:?}", transactions(mesh, key).await);
}

/// The books after the scenario: sound, one processed payment of 25.00
/// plus fees, and no attempt left.
async fn charged_once(mesh: &Mesh, key: &str) -> Value {
    let listed = transactions(mesh, key).await;
    assert_eq!(listed.len(), 1, "exactly one transaction: {listed:?}");
    let payment = listed[0].clone();
    assert_eq!(payment["status"], "processed", "{payment:?}");
    assert_eq!(mesh.count("SELECT count(*) FROM payments.payment_attempts").await, 0);
    mesh.assert_ledger_invariants().await;
    payment
}

#[tokio::test]
async fn a_payment_cut_short_before_the_processor_is_asked_is_finished_by_a_retry_after_the_lease() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let method = card_of_a_customer(&mesh, key).await;
    faults::arm("payments.before_authorize", 1);
    let cut = pay(&mesh, key, &method, "order-1").await;
    assert_eq!(cut.status, 503, "{:?}", cut.body);
    // It is visible, pending, while nobody finishes it.
    let pending = transactions(&mesh, key).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["status"], "pending");
    // The key is held for the lease: a retry now is told to wait.
    let early = pay(&mesh, key, &method, "order-1").await;
    assert_eq!(early.status, 409, "{:?}", early.body);
    assert!(early.body["description"].as_str().unwrap().contains("retry in"), "{:?}", early.body);
    // After the lease, the retry finishes the same payment.
    mesh.intents_clock.advance(PAST_THE_LEASE);
    let retried = pay(&mesh, key, &method, "order-1").await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    assert_eq!(retried.body["id"], pending[0]["id"]);
    assert_eq!(retried.body["status"], "processed");
    let payment = charged_once(&mesh, key).await;
    assert_eq!(payment["id"], retried.body["id"]);
    // And the answer is kept: a later retry gets it again.
    let again = pay(&mesh, key, &method, "order-1").await;
    assert_eq!((again.status, &again.body["id"]), (200, &retried.body["id"]));
}

#[tokio::test]
async fn a_payment_cut_short_after_the_processor_approved_is_finished_by_the_sweep_and_its_answer_kept() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let method = card_of_a_customer(&mesh, key).await;
    faults::arm("payments.after_authorize", 1);
    let cut = pay(&mesh, key, &method, "order-2").await;
    assert_eq!(cut.status, 503, "{:?}", cut.body);
    // Nobody retries: once the lease runs out the sweep finishes it,
    // asking the processor again under the same reference.
    mesh.intents_clock.advance(PAST_THE_LEASE);
    let finished = until_finished(&mesh, key).await;
    assert_eq!(finished["status"], "processed", "{finished:?}");
    charged_once(&mesh, key).await;
    // The retry gets the payment the sweep finished, not a second one.
    let retried = pay(&mesh, key, &method, "order-2").await;
    assert_eq!((retried.status, &retried.body["id"]), (200, &finished["id"]));
    charged_once(&mesh, key).await;
}

#[tokio::test]
async fn a_failure_before_the_outcome_commits_changes_nothing_but_the_pending_payment_a_retry_finishes() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let method = card_of_a_customer(&mesh, key).await;
    faults::arm("payments.before_commit", 1);
    let cut = pay(&mesh, key, &method, "order-3").await;
    assert_eq!(cut.status, 503, "{:?}", cut.body);
    let pending = transactions(&mesh, key).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["status"], "pending", "the outcome was rolled back");
    assert_eq!(mesh.count("SELECT count(*) FROM payments.ledger_entries").await, 0, "nothing posted");
    mesh.assert_ledger_invariants().await;
    mesh.intents_clock.advance(PAST_THE_LEASE);
    let retried = pay(&mesh, key, &method, "order-3").await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    assert_eq!(retried.body["id"], pending[0]["id"]);
    charged_once(&mesh, key).await;
}

#[tokio::test]
async fn a_retry_racing_the_sweep_for_the_same_payment_is_answered_with_that_payment() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let method = card_of_a_customer(&mesh, key).await;
    faults::arm("payments.before_commit", 1);
    let cut = pay(&mesh, key, &method, "order-race").await;
    assert_eq!(cut.status, 503, "{:?}", cut.body);
    let pending = transactions(&mesh, key).await;
    assert_eq!(pending.len(), 1);
    // Past the lease the retry takes the key over, and is held up before
    // it looks for the payment its request started: meanwhile the sweep
    // finds that payment abandoned and tries to finish it. The key is the
    // retry's, so the sweep stores nothing and the retry finishes it.
    mesh.intents_clock.advance(PAST_THE_LEASE);
    faults::arm_with("payments.before_resume", Fault::Delay(Duration::from_millis(600)), 1);
    let retried = pay(&mesh, key, &method, "order-race").await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    assert_eq!(retried.body["id"], pending[0]["id"], "the retry finished the payment it started");
    let payment = charged_once(&mesh, key).await;
    assert_eq!(payment["id"], pending[0]["id"]);
    let again = pay(&mesh, key, &method, "order-race").await;
    assert_eq!((again.status, &again.body["id"]), (200, &pending[0]["id"]));
}

#[tokio::test]
async fn a_failure_after_the_outcome_committed_loses_nothing_the_retry_gets_the_kept_answer_at_once() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let method = card_of_a_customer(&mesh, key).await;
    faults::arm("payments.after_commit", 1);
    let cut = pay(&mesh, key, &method, "order-4").await;
    assert_eq!(cut.status, 503, "{:?}", cut.body);
    let payment = charged_once(&mesh, key).await;
    // The answer was kept with the payment: no lease to wait out.
    let retried = pay(&mesh, key, &method, "order-4").await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    assert_eq!(retried.body["id"], payment["id"]);
    charged_once(&mesh, key).await;
}

#[tokio::test]
async fn an_unreachable_processor_leaves_nothing_and_releases_the_key() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let method = card_of_a_customer(&mesh, key).await;
    faults::arm("payments.connector.authorize", 1);
    let down = pay(&mesh, key, &method, "order-5").await;
    assert_eq!(down.status, 503, "{:?}", down.body);
    assert!(down.headers.contains_key("retry-after"), "{:?}", down.headers);
    // What the processor might have done was voided: nothing to show, and
    // the key is free for the retry at once.
    assert!(transactions(&mesh, key).await.is_empty());
    let retried = pay(&mesh, key, &method, "order-5").await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    charged_once(&mesh, key).await;
}

#[tokio::test]
async fn when_even_the_void_fails_the_attempt_stays_until_the_processor_answers() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let method = card_of_a_customer(&mesh, key).await;
    faults::arm("payments.connector.authorize", 1);
    faults::arm("payments.connector.void", 1);
    let down = pay(&mesh, key, &method, "order-6").await;
    assert_eq!(down.status, 503, "{:?}", down.body);
    // Whether the processor authorized is unknown: the payment stays
    // pending, the key held, until the sweep asks again.
    assert_eq!(transactions(&mesh, key).await[0]["status"], "pending");
    assert_eq!(pay(&mesh, key, &method, "order-6").await.status, 409);
    mesh.intents_clock.advance(PAST_THE_LEASE);
    let finished = until_finished(&mesh, key).await;
    assert_eq!(finished["status"], "processed");
    let retried = pay(&mesh, key, &method, "order-6").await;
    assert_eq!((retried.status, &retried.body["id"]), (200, &finished["id"]));
    charged_once(&mesh, key).await;
}

#[tokio::test]
async fn a_caller_who_hangs_up_leaves_no_key_stuck_and_is_charged_once() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let method = card_of_a_customer(&mesh, key).await;
    // Hung up while the processor is asked, then while the key itself is
    // being claimed: each request runs to its end all the same, and its
    // retry gets its answer as soon as it is kept (no lease: the clock
    // never moves here).
    for (point, order) in [("payments.after_authorize", "order-7"), ("idempotency.claimed", "order-7b")] {
        faults::arm_with(point, Fault::Delay(Duration::from_millis(400)), 1);
        let hung_up = mesh
            .http()
            .request(reqwest::Method::POST, "/transactions", Some(key))
            .header("Idempotency-Key", order)
            .timeout(Duration::from_millis(50))
            .json(&json!({"type": "payment", "amount": 25, "payment_method_id": method}))
            .send()
            .await;
        assert!(hung_up.is_err(), "the caller gave up before the answer ({point})");
        let mut retried = pay(&mesh, key, &method, order).await;
        for _ in 0..200 {
            if retried.status != 409 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
            retried = pay(&mesh, key, &method, order).await;
        }
        assert_eq!(retried.status, 200, "{point}: {:?}", retried.body);
        let payments = transactions(&mesh, key).await;
        let payment = payments.iter().find(|p| p["id"] == retried.body["id"]).expect("the retry's payment");
        assert_eq!(payment["status"], "processed", "{point}");
    }
    // One charge per key: two payments in all, each with its ledger.
    assert_eq!(transactions(&mesh, key).await.len(), 2);
    assert_eq!(mesh.count("SELECT count(*) FROM payments.payment_attempts").await, 0);
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_declined_payment_cut_short_is_finished_declined_and_answered_as_a_decline() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    let method = card_of_a_customer(&mesh, key).await;
    let account = http.get(&format!("/payment_methods/{method}"), key).await.body["account_id"].clone();
    let declining = http
        .post(
            "/payment_methods",
            key,
            json!({"type": "card", "account_id": account,
                   "card": {"card_number": "4111111111119904", "expiry": "12/40"},
                   "billing_address": {"postal_code": "10001"}}),
        )
        .await;
    let declining = declining.body["id"].as_str().unwrap().to_owned();
    faults::arm("payments.after_authorize", 1);
    assert_eq!(pay(&mesh, key, &declining, "order-8").await.status, 503);
    mesh.intents_clock.advance(PAST_THE_LEASE);
    let finished = until_finished(&mesh, key).await;
    assert_eq!(
        (finished["status"].as_str(), finished["status_code"].as_str()),
        (Some("declined"), Some("insufficient_bal"))
    );
    // The retry is answered the decline the sweep stored, once.
    let retried = pay(&mesh, key, &declining, "order-8").await;
    assert_eq!(retried.status, 400, "{:?}", retried.body);
    assert_eq!(retried.body["error_type"], "TransactionDeclined");
    assert_eq!(retried.body["details"]["id"], finished["id"]);
    assert_eq!(transactions(&mesh, key).await.len(), 1);
    mesh.assert_ledger_invariants().await;
}

/// A capturable intent of 100.00 from the customer who owns `method` to the
/// default processing account; its id.
async fn capturable_intent(mesh: &Mesh, key: &str, method: &str) -> String {
    let http = mesh.http();
    let customer = http.get(&format!("/payment_methods/{method}"), key).await.body["account_id"].clone();
    let intent = http
        .post(
            "/payment_intents",
            key,
            json!({"payer": {"id": customer}, "recipient": {"id": mesh.acme.default_accounts[0].to_string()},
                   "payment_method": {"id": method}, "target_amount": {"value": 100, "currency": "USD"}}),
        )
        .await;
    assert_eq!(intent.body["status"], "CAPTURABLE", "{:?}", intent.body);
    intent.body["id"].as_str().unwrap().to_owned()
}

/// `POST /transactions` charging intent `intent` with `idempotency`.
async fn pay_intent(mesh: &Mesh, key: &str, intent: &str, idempotency: &str) -> Reply {
    let http = mesh.http();
    let body = json!({"type": "payment", "payment_intent_id": intent});
    http.send(
        http.request(reqwest::Method::POST, "/transactions", Some(key))
            .header("Idempotency-Key", idempotency)
            .json(&body),
    )
    .await
}

#[tokio::test]
async fn an_intent_is_captured_for_the_one_payment_that_charges_it_whatever_is_cut_short() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    let method = card_of_a_customer(&mesh, key).await;
    let intent = capturable_intent(&mesh, key, &method).await;
    faults::arm("payments.before_commit", 1);
    assert_eq!(pay_intent(&mesh, key, &intent, "intent-1").await.status, 503);
    let pending = transactions(&mesh, key).await;
    assert_eq!((pending.len(), &pending[0]["status"]), (1, &json!("pending")));
    // Another payment of the intent meanwhile is refused: it is being charged.
    let other = pay_intent(&mesh, key, &intent, "intent-other").await;
    assert!(matches!(other.status, 400 | 409), "{:?}", other.body);
    assert_eq!(transactions(&mesh, key).await.len(), 1, "the refused payment left nothing");
    mesh.intents_clock.advance(PAST_THE_LEASE);
    let retried = pay_intent(&mesh, key, &intent, "intent-1").await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    assert_eq!(retried.body["id"], pending[0]["id"]);
    let read = http.get(&format!("/payment_intents/{intent}"), key).await;
    assert_eq!(
        (&read.body["status"], &read.body["transaction_id"]),
        (&json!("CAPTURED"), &retried.body["id"])
    );
    charged_once(&mesh, key).await;
}

#[tokio::test]
async fn a_payment_whose_intent_expired_before_it_was_finished_is_voided_and_leaves_the_intent_uncaptured() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    let method = card_of_a_customer(&mesh, key).await;
    let intent = capturable_intent(&mesh, key, &method).await;
    faults::arm("payments.after_authorize", 1);
    assert_eq!(pay_intent(&mesh, key, &intent, "intent-2").await.status, 503);
    // The process that charged it is gone until the intent expired: the
    // sweep finds the processor's approval can no longer be used.
    let expires = http.get(&format!("/payment_intents/{intent}"), key).await.body["expires_at"].clone();
    let expires: chrono::DateTime<chrono::Utc> = expires.as_str().unwrap().parse().unwrap();
    let past_expiry = expires - mesh.intents_clock.now() + TimeDelta::minutes(1);
    assert!(past_expiry < TimeDelta::hours(24), "within the key's 24 hours: {past_expiry}");
    mesh.intents_clock.advance(past_expiry.max(PAST_THE_LEASE));
    let finished = until_finished(&mesh, key).await;
    assert_eq!(
        (finished["status"].as_str(), finished["status_code"].as_str(), finished["funding_status"].as_str()),
        (Some("voided"), Some("intent_not_capturable"), Some("pending")),
        "{finished:?}"
    );
    assert!(finished["status_message"].as_str().unwrap().contains("nothing was charged"), "{finished:?}");
    let read = http.get(&format!("/payment_intents/{intent}"), key).await;
    assert_eq!(read.body["status"], "EXPIRED", "{:?}", read.body);
    assert!(read.body["transaction_id"].is_null(), "{:?}", read.body);
    assert_eq!(mesh.count("SELECT count(*) FROM payments.ledger_entries").await, 0, "nothing moved");
    // The retry is refused, naming the voided payment.
    let retried = pay_intent(&mesh, key, &intent, "intent-2").await;
    assert_eq!(retried.status, 400, "{:?}", retried.body);
    assert_eq!(retried.body["details"]["id"], finished["id"], "{:?}", retried.body);
    mesh.assert_ledger_invariants().await;
}
