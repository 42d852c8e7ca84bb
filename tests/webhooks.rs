//! Events and webhooks end to end: a payment's event reaches the event log
//! through its service's outbox relay, and a partner's webhook on a real
//! HTTP receiver, signed as Standard Webhooks says (verified by the
//! `standardwebhooks` package as well as here); failed attempts are
//! retried on the clock, `Retry-After` is honoured, 410 disables the
//! webhook; every attempt is a webhook log; the SSRF guard refuses
//! addresses webhooks may not reach; deliveries over https to a private
//! CA's certificate, and refused to an untrusted one; the live stream over
//! Server-Sent Events and over socket.io (Payload's Event Model example,
//! run by Node.js); PlacePay's event registration; other partners and
//! modes see nothing.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode},
    response::IntoResponse,
    routing::post,
};
use chrono::TimeDelta;
use paymesh_events::domain::signature::{SigningSecret, verifies};
use paymesh_tests::{Mesh, Reply, live_key, test_key};
use serde_json::{Value, json};

/// What the receiver got: each request's headers and body.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// What the receiver answers next: a status and a `Retry-After`.
type Answer = (u16, Option<&'static str>);

/// A webhook receiver on loopback: it records every request and answers
/// the statuses queued for it (200 once the queue is empty).
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<Answer>>>,
}

impl Receiver {
    async fn start(&self) -> String {
        async fn receive(
            State(receiver): State<Receiver>,
            headers: HeaderMap,
            body: Bytes,
        ) -> impl IntoResponse {
            receiver.received.lock().unwrap().push(Received { headers, body });
            let (status, retry_after) = receiver.answers.lock().unwrap().pop_front().unwrap_or((200, None));
            let mut headers = HeaderMap::new();
            if let Some(after) = retry_after {
                headers.insert("retry-after", HeaderValue::from_static(after));
            }
            (StatusCode::from_u16(status).unwrap(), headers, "thanks")
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let app = Router::new().route("/hooks", post(receive)).with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    fn answer(&self, status: u16, retry_after: Option<&'static str>) {
        self.answers.lock().unwrap().push_back((status, retry_after));
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Waits until `n` requests arrived; all of them.
    async fn until(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            if self.count() >= n {
                return self.received.lock().unwrap().clone();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the receiver got {} of {n} deliveries", self.count());
    }
}

/// A mesh whose webhooks may reach loopback, where the receiver runs.
async fn mesh() -> Mesh {
    Mesh::start_with(&[("PAYMESH_WEBHOOK_ALLOW_PRIVATE", "true")]).await
}

/// A card payment of 25.00 by a new customer; the payment.
async fn pay(mesh: &Mesh, key: &str) -> Reply {
    let http = mesh.http();
    let customer =
        http.post("/customers", key, json!({"name": "Matt Perez", "email": "matt@example.com"})).await;
    assert_eq!(customer.status, 200, "{:?}", customer.body);
    let payment = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 25, "customer_id": customer.body["id"],
                   "payment_method": {"type": "card", "card": {"card_number": "4242424242424242", "expiry": "12/40"},
                                      "billing_address": {"postal_code": "10001"}}}),
        )
        .await;
    assert_eq!(payment.status, 200, "{:?}", payment.body);
    payment
}

/// The webhook logs of the partner, oldest first.
async fn logs(mesh: &Mesh, key: &str) -> Vec<Value> {
    let listed = mesh.http().get("/webhook_logs?order_by=created_at&limit=100", key).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    listed.body["values"].as_array().unwrap().clone()
}

/// Polls until the partner has `n` webhook logs; them.
async fn until_logs(mesh: &Mesh, key: &str, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let listed = logs(mesh, key).await;
        if listed.len() >= n {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("fewer than {n} webhook logs: {:?}", logs(mesh, key).await);
}

#[tokio::test]
async fn a_payment_reaches_the_event_log_and_a_signed_webhook_that_standard_webhooks_verifies() {
    let mesh = mesh().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    let receiver = Receiver::default();
    let url = receiver.start().await;

    let created = http.post("/webhooks", key, json!({"url": url, "trigger": "payment"})).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(created.body["object"], "webhook");
    assert_eq!(created.body["status"], "enabled");
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let webhook = created.body["id"].as_str().unwrap().to_owned();
    // The secret is shown once.
    let read = http.get(&format!("/webhooks/{webhook}"), key).await;
    assert_eq!(read.status, 200);
    assert!(read.body["secret"].is_null() || read.body["secret"] == "", "{:?}", read.body);

    let payment = pay(&mesh, key).await;
    let got = receiver.until(1).await;
    let delivery = &got[0];
    let body: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(body["object"], "webhook_trigger");
    assert_eq!(body["trigger"], "payment");
    assert_eq!(
        body["triggered_on"],
        json!({"id": payment.body["id"], "object": "transaction", "type": "payment"})
    );
    assert_eq!(body["event"]["type"], "transaction.payment");
    assert_eq!(body["data"]["id"], payment.body["id"]);
    let header = |name: &str| delivery.headers.get(name).unwrap().to_str().unwrap().to_owned();
    let (id, timestamp, signature) =
        (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    assert_eq!(id, body["event"]["id"], "webhook-id is the event id");
    let parsed = SigningSecret::parse(&secret).unwrap();
    assert!(verifies(&parsed, &id, timestamp.parse().unwrap(), &delivery.body, &signature));
    assert!(!verifies(&parsed, &id, timestamp.parse().unwrap(), b"{}", &signature), "a changed body fails");
    standard_webhooks_verifies(&secret, &delivery.headers, &delivery.body);

    // The event log has it, as of the change.
    let events = http.get("/events?type=transaction.payment", key).await;
    assert_eq!(events.status, 200, "{:?}", events.body);
    let listed = events.body["values"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["resource_id"], payment.body["id"]);
    assert_eq!(listed[0]["change"], "insert");
    let one = http.get(&format!("/events/{id}"), key).await;
    assert_eq!((one.status, &one.body["data"]["id"]), (200, &payment.body["id"]));
    // Readiness shows how far behind each relay of this process is.
    let ready = http.send(http.request(reqwest::Method::GET, "/readyz", None)).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    let lags = ready.body["outbox_lag_seconds"].as_object().expect("relay lags");
    assert!(lags["payments"].as_f64().is_some_and(|lag| lag >= 0.0), "{lags:?}");
    // The customer's creation is an event too, heard by no payment webhook.
    let customer = payment.body["customer_id"].as_str().unwrap();
    let created_events = http.get(&format!("/events?type=account.created&resource_id={customer}"), key).await;
    let created_events = created_events.body["values"].as_array().unwrap().clone();
    assert_eq!(created_events.len(), 1, "{created_events:?}");
    assert_eq!(created_events[0]["data"]["name"], "Matt Perez");

    // The attempt is logged.
    let logged = until_logs(&mesh, key, 1).await;
    assert_eq!(logged[0]["webhook_id"], webhook);
    assert_eq!(logged[0]["event_id"], id);
    assert_eq!(logged[0]["http_status"], 200);
    assert_eq!(logged[0]["outcome"], "succeeded");
    assert_eq!(logged[0]["attempt"], 1);
    assert_eq!(logged[0]["triggered_on"]["object"], "transaction");
    assert_eq!(receiver.count(), 1, "delivered once");

    // Another partner, and the other mode, see none of it.
    let other = test_key(&mesh.globex);
    let live = live_key(&mesh.acme);
    for key in [other, live] {
        assert_eq!(http.get(&format!("/webhooks/{webhook}"), key).await.status, 404);
        assert_eq!(http.get(&format!("/events/{id}"), key).await.status, 404);
        let theirs = http.get("/events?limit=100", key).await.body["values"].as_array().unwrap().clone();
        assert!(theirs.iter().all(|e| e["id"] != id && e["resource_id"] != payment.body["id"]), "{theirs:?}");
        assert_eq!(http.get("/webhook_logs", key).await.body["values"], json!([]));
    }
}

/// Verifies a delivery with the `standardwebhooks` package from PyPI, as a
/// partner's receiver would.
fn standard_webhooks_verifies(secret: &str, headers: &HeaderMap, body: &[u8]) {
    let python = paymesh_tests::repo_root().join(".venv/bin/python");
    let script = "import json, sys\n\
from standardwebhooks.webhooks import Webhook\n\
secret, headers = sys.argv[1], json.loads(sys.argv[2])\n\
payload = sys.stdin.buffer.read()\n\
Webhook(secret).verify(payload, headers)\n\
print('verified')\n";
    let headers: serde_json::Map<String, Value> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .into_iter()
        .map(|name| (name.to_owned(), json!(headers.get(name).unwrap().to_str().unwrap())))
        .collect();
    let mut child = std::process::Command::new(python)
        .args(["-c", script, secret, &Value::Object(headers).to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the test venv's python (make venv)");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), body).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "standardwebhooks refused: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "verified");
}

#[tokio::test]
async fn failed_attempts_are_retried_on_the_clock_and_410_disables_the_webhook() {
    let mesh = mesh().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let created = http.post("/webhooks", key, json!({"url": url, "trigger": "*"})).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let webhook = created.body["id"].as_str().unwrap().to_owned();

    // 503 asking for 60 s: the next attempt waits for it, not the
    // schedule's 5 s.
    receiver.answer(503, Some("60"));
    receiver.answer(500, None);
    pay(&mesh, key).await;
    receiver.until(1).await;
    let first = until_logs(&mesh, key, 1).await;
    assert_eq!((first[0]["outcome"].as_str(), first[0]["http_status"].as_u64()), (Some("failed"), Some(503)));
    let (made, next) =
        (first[0]["created_at"].as_str().unwrap(), first[0]["next_attempt_at"].as_str().unwrap());
    let waited = next.parse::<chrono::DateTime<chrono::Utc>>().unwrap()
        - made.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert_eq!(waited, TimeDelta::seconds(60), "Retry-After is honoured");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.count(), 1, "nothing before the retry is due");

    // Due: the 500 is retried on the schedule (5 min after the 2nd).
    mesh.intents_clock.advance(TimeDelta::seconds(61));
    receiver.until(2).await;
    let second = until_logs(&mesh, key, 2).await;
    assert_eq!((second[1]["attempt"].as_u64(), second[1]["http_status"].as_u64()), (Some(2), Some(500)));
    mesh.intents_clock.advance(TimeDelta::minutes(5));
    let third = receiver.until(3).await;
    assert_eq!(third[2].headers.get("webhook-id"), third[0].headers.get("webhook-id"), "the same webhook-id");
    let logged = until_logs(&mesh, key, 3).await;
    assert_eq!(logged[2]["outcome"], "succeeded");
    let healthy = http.get(&format!("/webhooks/{webhook}"), key).await;
    assert!(healthy.body["failing_since"].is_null(), "a success ends the streak: {:?}", healthy.body);

    // 410: the endpoint is gone, the webhook disabled, an event says so.
    receiver.answer(410, None);
    pay(&mesh, key).await;
    receiver.until(4).await;
    let mut disabled = Value::Null;
    for _ in 0..100 {
        disabled = http.get(&format!("/webhooks/{webhook}"), key).await.body;
        if disabled["status"] == "disabled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        (disabled["status"].as_str(), disabled["disabled_reason"].as_str()),
        (Some("disabled"), Some("gone"))
    );
    let said = http.get("/events?type=webhook.disabled", key).await;
    assert_eq!(said.body["values"][0]["resource_id"], webhook, "{:?}", said.body);
    // Nothing more reaches it.
    pay(&mesh, key).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.count(), 4);

    // Enabled again and redelivered: every event since an instant.
    let enabled = http.put(&format!("/webhooks/{webhook}"), key, json!({"status": "enabled"})).await;
    assert_eq!((enabled.status, &enabled.body["status"]), (200, &json!("enabled")), "{:?}", enabled.body);
    let since = "2000-01-01T00:00:00Z";
    let again = http.post(&format!("/webhooks/{webhook}/redeliver"), key, json!({"since": since})).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    // Three payments, and the default processing account's activation.
    assert_eq!(again.body["scheduled"], 4, "{:?}", again.body);
    receiver.until(8).await;
}

#[tokio::test]
async fn webhook_urls_that_could_reach_inside_are_refused() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    let before = mesh.count("SELECT count(*) FROM events.webhooks").await;
    let refused = [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("http://100.64.0.1/hook", "CGNAT"),
        ("http://[::1]/hook", "loopback"),
        ("http://[fd00::1]/hook", "unique-local"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://localhost/hook", "local name"),
        ("http://user:pass@example.com/hook", "user name or password"),
        ("ftp://example.com/hook", "https://"),
    ];
    for (url, says) in refused {
        let answer = http.post("/webhooks", key, json!({"url": url, "trigger": "payment"})).await;
        assert_eq!(answer.status, 400, "{url}: {:?}", answer.body);
        let why = answer.body["details"]["url"].as_str().unwrap_or_default().to_lowercase();
        assert!(why.contains(&says.to_lowercase()), "{url}: {why}");
    }
    // Live mode needs https.
    let live = http
        .post(
            "/webhooks",
            live_key(&mesh.acme),
            json!({"url": "http://example.com/hook", "trigger": "payment"}),
        )
        .await;
    assert_eq!(live.status, 400, "{:?}", live.body);
    assert!(live.body["details"]["url"].as_str().unwrap().contains("https"), "{:?}", live.body);
    // Bad input, per field; a secret is never accepted back.
    let bad =
        http.post("/webhooks", key, json!({"url": "", "trigger": "sometimes", "secret": "whsec_x"})).await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert!(bad.body["details"]["trigger"].as_str().unwrap().starts_with("Must be one of"), "{:?}", bad.body);
    assert_eq!(bad.body["details"]["secret"], "Read-only attribute");
    let keyed = http
        .send(
            http.request(reqwest::Method::POST, "/webhooks", Some(key))
                .header("Idempotency-Key", "k1")
                .json(&json!({"url": "https://example.com/hook", "trigger": "payment"})),
        )
        .await;
    assert_eq!(keyed.status, 400, "the answer carries a secret, never kept: {:?}", keyed.body);
    assert_eq!(mesh.count("SELECT count(*) FROM events.webhooks").await, before);
}

/// Reads Server-Sent Events from `response` until `n` messages came; their
/// `(id, event, data)`.
async fn messages(response: &mut reqwest::Response, n: usize) -> Vec<(String, String, Value)> {
    let mut text = String::new();
    let read = async {
        loop {
            let parsed: Vec<(String, String, Value)> = text
                .split("\n\n")
                .filter(|block| block.contains("data:"))
                .map(|block| {
                    let field = |name: &str| {
                        block
                            .lines()
                            .find_map(|l| l.strip_prefix(name))
                            .map(str::trim)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    (
                        field("id:"),
                        field("event:"),
                        serde_json::from_str(&field("data:")).unwrap_or(Value::Null),
                    )
                })
                .collect();
            if parsed.len() >= n && text.ends_with("\n\n") {
                return parsed;
            }
            let chunk = response.chunk().await.unwrap().expect("the stream ended");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read).await.expect("the events came")
}

#[tokio::test]
async fn the_live_stream_sends_each_event_once_by_type_and_resumes_after_the_last_one() {
    let mesh = mesh().await;
    let key = test_key(&mesh.acme);
    let client = reqwest::Client::new();
    let open = |query: &str, last: Option<&str>| {
        let mut request = client.get(format!("{}/events/stream{query}", mesh.url)).basic_auth(key, Some(""));
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last);
        }
        request.send()
    };
    // The mesh's own start-up events are in the log: the streams start
    // after them.
    mesh.until_events_published().await;
    let mut payments = open("?types=transaction.*", None).await.unwrap();
    assert_eq!(payments.status(), 200);
    assert_eq!(payments.headers()["content-type"], "text/event-stream");
    let mut everything = open("", None).await.unwrap();
    let payment = pay(&mesh, key).await;
    // Only the payment's event on the filtered stream; on the other, the
    // customer's creation and its card's too (in the order the log has
    // them: services publish side by side).
    let got = messages(&mut payments, 1).await;
    assert_eq!(got[0].1, "transaction.payment");
    assert_eq!(got[0].2["object"], "event");
    assert_eq!(got[0].2["resource_id"], payment.body["id"]);
    assert_eq!(got[0].2["data"]["id"], payment.body["id"]);
    let all = messages(&mut everything, 3).await;
    let mut types: Vec<&str> = all.iter().map(|m| m.1.as_str()).collect();
    types.sort_unstable();
    assert_eq!(types, ["account.created", "payment_method.created", "transaction.payment"]);
    let same = all.iter().find(|m| m.1 == "transaction.payment").unwrap();
    assert_eq!(same.0, got[0].0, "the same event id on both streams");
    // Reconnecting after the first event resumes with the next ones.
    let mut resumed = open("", Some(&all[0].0)).await.unwrap();
    let again = messages(&mut resumed, 2).await;
    let ids = |m: &[(String, String, Value)]| m.iter().map(|(id, ..)| id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(&all[1..]));
    // Another partner's stream stays silent; an unknown resume point, a
    // bad filter and a client key are refused.
    let other = client
        .get(format!("{}/events/stream?after_id={}", mesh.url, got[0].0))
        .basic_auth(test_key(&mesh.globex), Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404, "another partner's event is no resume point");
    let bad = open("?types=Transaction!", None).await.unwrap();
    assert_eq!(bad.status(), 400);
    let unknown = open("?colour=blue", None).await.unwrap();
    assert_eq!(unknown.status(), 400);
    let client_key = paymesh_tests::key(&mesh.acme, "test_client_key_");
    let refused = client
        .get(format!("{}/events/stream", mesh.url))
        .basic_auth(client_key, Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn a_relay_cut_short_after_publishing_delivers_each_event_once() {
    let mesh = mesh().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let created = http.post("/webhooks", key, json!({"url": url, "trigger": "payment"})).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    mesh.until_events_published().await;
    // The next passes of the relays publish, then fail before marking
    // what they published: each event is published again.
    paymesh_kit::faults::arm("relay.before_mark", 6);
    let payment = pay(&mesh, key).await;
    mesh.until_events_published().await;
    let got = receiver.until(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.count(), 1, "one delivery for one event: {got:?}");
    let events =
        http.get(&format!("/events?resource_id={}", payment.body["id"].as_str().unwrap()), key).await;
    assert_eq!(events.body["values"].as_array().unwrap().len(), 1, "{:?}", events.body);
    assert_eq!(logs(&mesh, key).await.len(), 1);
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_for_its_grace_period() {
    let mesh = mesh().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let created = http.post("/webhooks", key, json!({"url": url, "trigger": "payment"})).await;
    let (webhook, old) = (
        created.body["id"].as_str().unwrap().to_owned(),
        created.body["secret"].as_str().unwrap().to_owned(),
    );
    let rotated = http
        .post(&format!("/webhooks/{webhook}/rotate_secret"), key, json!({"grace_period_seconds": 3600}))
        .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated.body["previous_secret_expires_at"].is_string(), "{:?}", rotated.body);
    pay(&mesh, key).await;
    let got = receiver.until(1).await;
    let header = |r: &Received, name: &str| r.headers.get(name).unwrap().to_str().unwrap().to_owned();
    let signature = header(&got[0], "webhook-signature");
    assert_eq!(signature.split(' ').count(), 2, "two signatures during the grace period: {signature}");
    let (id, at) = (header(&got[0], "webhook-id"), header(&got[0], "webhook-timestamp").parse().unwrap());
    for secret in [&old, &new] {
        assert!(verifies(&SigningSecret::parse(secret).unwrap(), &id, at, &got[0].body, &signature));
    }
    standard_webhooks_verifies(&new, &got[0].headers, &got[0].body);
    standard_webhooks_verifies(&old, &got[0].headers, &got[0].body);
    // Rotated again with no grace: only the newest secret signs.
    let last = http
        .post(&format!("/webhooks/{webhook}/rotate_secret"), key, json!({"grace_period_seconds": 0}))
        .await;
    let newest = last.body["secret"].as_str().unwrap().to_owned();
    assert!(last.body["previous_secret_expires_at"].is_null(), "{:?}", last.body);
    pay(&mesh, key).await;
    let got = receiver.until(2).await;
    let signature = header(&got[1], "webhook-signature");
    assert_eq!(signature.split(' ').count(), 1, "{signature}");
    let (id, at) = (header(&got[1], "webhook-id"), header(&got[1], "webhook-timestamp").parse().unwrap());
    assert!(verifies(&SigningSecret::parse(&newest).unwrap(), &id, at, &got[1].body, &signature));
    assert!(!verifies(&SigningSecret::parse(&new).unwrap(), &id, at, &got[1].body, &signature));
    // Bad grace periods are refused, and change nothing.
    let long = http
        .post(&format!("/webhooks/{webhook}/rotate_secret"), key, json!({"grace_period_seconds": 700_000}))
        .await;
    assert_eq!(long.status, 400, "{:?}", long.body);
    assert!(long.body["details"]["grace_period_seconds"].is_string(), "{:?}", long.body);
}

#[tokio::test]
async fn a_webhook_failing_for_five_days_is_disabled_and_says_so() {
    let mesh = mesh().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    // Nothing listens on the discard port: every attempt fails.
    let created =
        http.post("/webhooks", key, json!({"url": "http://127.0.0.1:9/gone", "trigger": "payment"})).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let webhook = created.body["id"].as_str().unwrap().to_owned();
    pay(&mesh, key).await;
    let first = until_logs(&mesh, key, 1).await;
    assert_eq!(first[0]["outcome"], "failed", "{first:?}");
    assert!(
        first[0]["http_status"].is_null() && first[0]["error"].as_str().unwrap().contains("no answer"),
        "{first:?}"
    );
    let failing = http.get(&format!("/webhooks/{webhook}"), key).await.body;
    assert_eq!(failing["status"], "enabled");
    assert!(failing["failing_since"].is_string(), "{failing:?}");
    // Five days on, the next attempt fails too: the webhook is disabled.
    mesh.intents_clock.advance(TimeDelta::days(5) + TimeDelta::seconds(1));
    let second = until_logs(&mesh, key, 2).await;
    assert_eq!(second[1]["outcome"], "gave_up", "{second:?}");
    let disabled = http.get(&format!("/webhooks/{webhook}"), key).await.body;
    assert_eq!(
        (disabled["status"].as_str(), disabled["disabled_reason"].as_str()),
        (Some("disabled"), Some("failing"))
    );
    let said = http.get("/events?type=webhook.disabled", key).await;
    assert_eq!(said.body["values"][0]["data"]["disabled_reason"], "failing", "{:?}", said.body);
}

#[tokio::test]
async fn placepays_event_registration_is_a_webhook_under_its_names() {
    let mesh = mesh().await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();
    let receiver = Receiver::default();
    let url = receiver.start().await;

    // PlacePay's "Transaction Events", its form body as written (the
    // handler's URL is this test's receiver).
    let registered = http
        .send(
            http.request(reqwest::Method::POST, "/events", Some(key))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!("callback_url={url}&event=refund")),
        )
        .await;
    assert_eq!(registered.status, 200, "{:?}", registered.body);
    assert_eq!(
        (
            registered.body["object"].clone(),
            registered.body["callback_url"].clone(),
            registered.body["event"].clone()
        ),
        (json!("event"), json!(url), json!("refund"))
    );
    let secret = registered.body["secret"].as_str().unwrap().to_owned();
    let id = registered.body["id"].as_str().unwrap();
    // It is a webhook like any other, under Payload's trigger.
    let webhook = http.get(&format!("/webhooks/{id}"), key).await;
    assert_eq!((webhook.body["url"].clone(), webhook.body["trigger"].clone()), (json!(url), json!("refund")));
    let ach = http.post("/events", key, json!({"callback_url": url, "event": "ach_failure"})).await;
    let ach_id = ach.body["id"].as_str().unwrap();
    assert_eq!(http.get(&format!("/webhooks/{ach_id}"), key).await.body["trigger"], "bank_account_reject");

    // A refund calls it, signed with its secret.
    let payment = pay(&mesh, key).await;
    let refund =
        json!({"type": "refund", "amount": 5, "ledger": [{"assoc_transaction_id": payment.body["id"]}]});
    assert_eq!(http.post("/transactions", key, refund).await.status, 200);
    let got = receiver.until(1).await;
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["trigger"], "refund");
    standard_webhooks_verifies(&secret, &got[0].headers, &got[0].body);

    // Bad registrations are refused per field, with nothing made.
    let before = mesh.count("SELECT count(*) FROM events.webhooks").await;
    let inside =
        http.post("/events", key, json!({"callback_url": "http://169.254.169.254/x", "event": "void"})).await;
    assert!(
        inside.body["details"]["callback_url"].as_str().unwrap().contains("metadata"),
        "{:?}",
        inside.body
    );
    let unnamed = http.post("/events", key, json!({"callback_url": url})).await;
    assert!(unnamed.body["details"]["event"].as_str().unwrap().starts_with("Required"), "{:?}", unnamed.body);
    let other = http.post("/events", key, json!({"callback_url": url, "event": "payment"})).await;
    assert!(
        other.body["details"]["event"].as_str().unwrap().starts_with("Must be one of"),
        "{:?}",
        other.body
    );
    assert_eq!(mesh.count("SELECT count(*) FROM events.webhooks").await, before);
    // Another partner, or the other mode, does not see it.
    for other in [test_key(&mesh.globex), live_key(&mesh.acme)] {
        assert_eq!(http.get(&format!("/webhooks/{id}"), other).await.status, 404);
    }
}

/// Payload's Event Model example (`tests/js/event_model.mjs`, Node.js with
/// the socket.io client) running against `mesh` with `key`: the process,
/// and its output lines as they come.
fn event_model(
    mesh: &Mesh,
    key: &str,
) -> (std::process::Child, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let js = paymesh_tests::repo_root().join("tests/js");
    assert!(
        js.join("node_modules/socket.io-client").exists(),
        "{} lacks the socket.io client: `make test` installs it (npm ci in tests/js)",
        js.display()
    );
    let mut node = std::process::Command::new("node");
    node.arg(js.join("event_model.mjs")).env("PAYMESH_URL", &mesh.url).env("PAYMESH_KEY", key);
    spawn_lines(&mut node)
}

/// Starts `command` with its output piped: the process, and its output
/// lines as they come.
fn spawn_lines(
    command: &mut std::process::Command,
) -> (std::process::Child, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use std::io::BufRead as _;
    let mut child = command.stdout(std::process::Stdio::piped()).spawn().expect("the helper process runs");
    let stdout = child.stdout.take().unwrap();
    let (sender, lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    (child, lines)
}

/// Starts the https receiver (`tests/https_receiver.py`) with certificate
/// `cert` and key `key`: the process, its port, and the requests it gets
/// as JSON lines.
async fn https_receiver(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> (std::process::Child, String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let mut python = std::process::Command::new("python3");
    python.arg(paymesh_tests::repo_root().join("tests/https_receiver.py")).args([cert, key]);
    let (child, mut lines) = spawn_lines(&mut python);
    let port = tokio::time::timeout(Duration::from_secs(15), lines.recv()).await.unwrap().expect("its port");
    (child, port, lines)
}

/// The first line of `lines` that `wanted` accepts, within 15 s.
async fn line_where(
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    wanted: impl Fn(&str) -> bool,
) -> String {
    let found = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(line) = lines.recv().await {
            if wanted(&line) {
                return Some(line);
            }
        }
        None
    })
    .await;
    found.ok().flatten().expect("the example printed the awaited line")
}

#[tokio::test]
async fn payloads_event_model_example_hears_its_partners_changes_on_socket_io() {
    let mesh = mesh().await;
    let key = test_key(&mesh.acme);
    let (mut acme, mut heard) = event_model(&mesh, key);
    let (mut globex, mut other) = event_model(&mesh, test_key(&mesh.globex));
    line_where(&mut heard, |l| l == "connected").await;
    line_where(&mut other, |l| l == "connected").await;

    let payment = pay(&mesh, key).await;
    let id = payment.body["id"].as_str().unwrap();
    // The example's own line, then the change it was made of.
    line_where(&mut heard, |l| l == format!("[insert] transaction: {id}")).await;
    let data = line_where(&mut heard, |l| l.starts_with("data ")).await;
    let change: Value = serde_json::from_str(&data["data ".len()..]).unwrap();
    assert_eq!(
        (change["evt"].clone(), change["object"].clone(), change["type"].clone()),
        (json!("insert"), json!("transaction"), json!("transaction.payment"))
    );
    // The object as of the change, as `/events` records it.
    assert_eq!((change["id"].as_str(), change["data"]["id"].as_str()), (Some(id), Some(id)));
    assert_eq!(change["data"]["status"], "processed");
    // Another partner hears nothing of it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let leaked: Vec<String> = std::iter::from_fn(|| other.try_recv().ok()).collect();
    assert!(leaked.iter().all(|l| !l.contains(id)), "{leaked:?}");

    // A key that is none is refused at connection, saying why.
    let (mut stranger, mut refused) = event_model(&mesh, "test_secret_key_nobody");
    let why = line_where(&mut refused, |l| l.starts_with("refused")).await;
    assert!(why.len() > "refused ".len(), "{why}");
    for child in [&mut acme, &mut globex, &mut stranger] {
        child.kill().ok();
        child.wait().ok();
    }
}

/// Runs `openssl` with `args` in `dir`; fails the test if it fails.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let output =
        std::process::Command::new("openssl").current_dir(dir).args(args).output().expect("openssl runs");
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// A self-signed certificate `<name>.pem` of `subject`, valid two days,
/// with its key `<name>.key`, made in `dir` with the given extensions.
fn self_signed(dir: &std::path::Path, (name, subject): (&str, &str), extensions: &[&str]) {
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key.as_str(),
        "-out",
        pem.as_str(),
        "-days",
        "2",
        "-subj",
        subject,
    ];
    for extension in extensions {
        args.extend(["-addext", extension]);
    }
    openssl(dir, &args);
}

#[tokio::test]
async fn deliveries_go_over_https_to_certificates_the_events_service_trusts() {
    // A private CA, and a certificate of 127.0.0.1 it signs.
    let dir = std::env::temp_dir().join(format!("paymesh-tls-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    self_signed(
        &dir,
        ("ca", "/CN=paymesh test CA"),
        &["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign"],
    );
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
        ],
    );
    let ca = dir.join("ca.pem").display().to_string();
    let mesh = Mesh::start_with(&[
        ("PAYMESH_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("PAYMESH_WEBHOOK_CA_FILE", ca.as_str()),
    ])
    .await;
    let key = test_key(&mesh.acme);
    let http = mesh.http();

    // A receiver serving that certificate over TLS.
    let (mut receiver, port, mut received) =
        https_receiver(&dir.join("leaf.pem"), &dir.join("leaf.key")).await;

    let url = format!("https://127.0.0.1:{port}/hooks");
    let created = http.post("/webhooks", key, json!({"url": url, "trigger": "payment"})).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    let payment = pay(&mesh, key).await;
    let line = tokio::time::timeout(Duration::from_secs(15), received.recv()).await.unwrap().unwrap();
    let request: Value = serde_json::from_str(&line).unwrap();
    let body: Value = serde_json::from_str(request["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        (request["path"].clone(), body["data"]["id"].clone()),
        (json!("/hooks"), payment.body["id"].clone())
    );
    let mut headers = HeaderMap::new();
    for (name, value) in request["headers"].as_object().unwrap() {
        let name = axum::http::HeaderName::from_bytes(name.to_lowercase().as_bytes()).unwrap();
        headers.insert(name, HeaderValue::from_str(value.as_str().unwrap()).unwrap());
    }
    standard_webhooks_verifies(&secret, &headers, request["body"].as_str().unwrap().as_bytes());
    let logged = until_logs(&mesh, key, 1).await;
    assert_eq!(logged[0]["http_status"], 200, "{logged:?}");

    // A certificate no trusted root signed (its own) is refused: the
    // attempt fails, saying why, and nothing is posted.
    self_signed(&dir, ("self", "/CN=127.0.0.1"), &["subjectAltName=IP:127.0.0.1"]);
    let (mut untrusted, other_port, _ignored) =
        https_receiver(&dir.join("self.pem"), &dir.join("self.key")).await;
    let url = format!("https://127.0.0.1:{other_port}/hooks");
    let doubted = http.post("/webhooks", key, json!({"url": url, "trigger": "payment"})).await;
    let doubted = doubted.body["id"].clone();
    pay(&mesh, key).await;
    let failed = loop {
        let found = until_logs(&mesh, key, 3).await;
        if let Some(log) = found.iter().find(|l| l["webhook_id"] == doubted) {
            break log.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(failed["http_status"].is_null(), "{failed:?}");
    assert!(failed["error"].as_str().unwrap().to_lowercase().contains("certificate"), "{failed:?}");
    for child in [&mut receiver, &mut untrusted] {
        child.kill().ok();
        child.wait().ok();
    }
    std::fs::remove_dir_all(&dir).ok();
}
