//! `paymesh all` killed with SIGKILL under concurrent payments (some of
//! whose callers hang up), and PostgreSQL stopped and started under them:
//! afterwards every request retried with its Idempotency-Key is answered;
//! nothing acknowledged is lost, nothing is charged twice, no key is stuck,
//! no payment stays pending, every intent agrees with its payment, and the
//! ledger's invariants hold.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{HashMap, HashSet},
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use paymesh_kit::testing::TestDatabase;
use serde_json::{Value, json};

/// Concurrent callers.
const WORKERS: usize = 6;
/// Intents charged among the payments.
const INTENTS: usize = 12;
/// How long the load runs before the fault.
const LOAD_BEFORE_FAULT: Duration = Duration::from_millis(1500);
/// The idempotency lease of the mesh under test.
const LEASE_MS: &str = "1000";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn paymesh(database: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paymesh"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A running `paymesh all`, killed (SIGKILL) when dropped — also when a
/// test fails half-way.
struct Running(Child);

impl Running {
    fn kill(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `paymesh all` on `database`, its gateway on `gateway`, once ready. A
/// connection to PostgreSQL is waited for half a second at most, so that
/// an outage shows within the test's time.
async fn start(database: &str, gateway: u16) -> Running {
    let child = Running(
        paymesh(database)
            .arg("all")
            .env("PAYMESH_DB_ACQUIRE_TIMEOUT_MS", "500")
            .env("PAYMESH_GATEWAY_ADDR", format!("127.0.0.1:{gateway}"))
            .env("PAYMESH_IDENTITY_ADDR", "127.0.0.1:0")
            .env("PAYMESH_METHODS_ADDR", "127.0.0.1:0")
            .env("PAYMESH_INTENTS_ADDR", "127.0.0.1:0")
            .env("PAYMESH_PAYMENTS_ADDR", "127.0.0.1:0")
            .env("PAYMESH_EVENTS_ADDR", "127.0.0.1:0")
            .env("PAYMESH_BILLING_ADDR", "127.0.0.1:0")
            .env("PAYMESH_METRICS_ADDR", "off")
            .env("PAYMESH_IDEMPOTENCY_LEASE_MS", LEASE_MS)
            .env("PAYMESH_SETTLE_INTERVAL_MS", "100")
            .env("PAYMESH_RATE_LIMIT_PER_SEC", "0")
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("http://127.0.0.1:{gateway}/readyz")).send().await
            && r.status() == 200
        {
            return child;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "paymesh all did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A partner's test secret key, made with the CLI.
fn partner(database: &str) -> String {
    let created = paymesh(database)
        .args(["partner", "create", "--name", "Crash", "--email", "ops@crash.example", "--json"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let partner: Value = serde_json::from_slice(&created.stdout).unwrap();
    partner["keys"]["test_secret_key"].as_str().unwrap().to_owned()
}

/// The gateway, as the partner calls it.
#[derive(Clone)]
struct Api {
    base: String,
    key: String,
    client: reqwest::Client,
}

/// What a request got: an answer, or none (the connection broke, or the
/// caller gave up).
#[derive(Clone, Debug)]
enum Got {
    Answer(u16, Value),
    Nothing,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
        timeout: Duration,
    ) -> Got {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.key, Some(""))
            .timeout(timeout);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.json::<Value>().await {
                    Ok(body) => Got::Answer(status, body),
                    Err(_) => Got::Nothing,
                }
            }
            Err(_) => Got::Nothing,
        }
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        match self.send(method, path, Some(&body), None, Duration::from_secs(10)).await {
            Got::Answer(200, body) => body,
            other => panic!("{path}: {other:?}"),
        }
    }

    async fn get(&self, path: &str) -> Got {
        self.send(reqwest::Method::GET, path, None, None, Duration::from_secs(10)).await
    }
}

/// Polls `/readyz` until it says ready (200) or not (503) as `ready`
/// asks; its last answer.
async fn until_ready(api: &Api, ready: bool) -> Value {
    let started = Instant::now();
    loop {
        match api.get("/readyz").await {
            Got::Answer(200, body) if ready => return body,
            Got::Answer(503, body) if !ready => return body,
            other => assert!(
                started.elapsed() < Duration::from_secs(20),
                "readiness never became {ready}: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One partner's world: a customer with a card, an active processing
/// account, and `INTENTS` capturable intents.
async fn world(api: &Api) -> (String, Vec<String>) {
    let customer = api
        .ok(reqwest::Method::POST, "/customers", json!({"name": "Matt Perez", "email": "matt@example.com"}))
        .await;
    let card = api
        .ok(
            reqwest::Method::POST,
            "/payment_methods",
            json!({"type": "card", "account_id": customer["id"], "default_payment_method": true,
                   "card": {"card_number": "4242424242424242", "expiry": "12/40"},
                   "billing_address": {"postal_code": "10001"}}),
        )
        .await;
    let processing = api.get("/processing_accounts").await;
    let Got::Answer(200, processing) = processing else { panic!("{processing:?}") };
    let processing = processing["values"][0]["id"].as_str().unwrap().to_owned();
    api.ok(
        reqwest::Method::PUT,
        &format!("/processing_accounts/{processing}"),
        json!({"processing": {"payout_method": "ach",
            "payout_details": {"routing_number": "011000015", "account_number": "000123456789"}}}),
    )
    .await;
    let mut intents = Vec::new();
    for _ in 0..INTENTS {
        let intent = api
            .ok(
                reqwest::Method::POST,
                "/payment_intents",
                json!({"payer": {"id": customer["id"]}, "recipient": {"id": processing},
                       "payment_method": {"id": card["id"]}, "target_amount": {"value": 100, "currency": "USD"}}),
            )
            .await;
        assert_eq!(intent["status"], "CAPTURABLE", "{intent:?}");
        intents.push(intent["id"].as_str().unwrap().to_owned());
    }
    (card["id"].as_str().unwrap().to_owned(), intents)
}

/// A request of the load: its key and body, and what it got.
#[derive(Clone, Debug)]
struct Sent {
    key: String,
    body: Value,
    intent: Option<String>,
    got: Got,
}

/// Payments from `WORKERS` callers until `stop`: card payments, and each
/// intent charged once; every seventh caller hangs up after 20 ms.
async fn load(api: &Api, card: &str, intents: &[String], stop: Arc<AtomicBool>) -> Vec<Sent> {
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (api, card, stop) = (api.clone(), card.to_owned(), stop.clone());
        let mine: Vec<String> = intents.iter().skip(w).step_by(WORKERS).cloned().collect();
        workers.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            let mut mine = mine.into_iter();
            for n in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let intent = if n % 3 == 0 { mine.next() } else { None };
                let body = match &intent {
                    Some(intent) => json!({"type": "payment", "payment_intent_id": intent}),
                    None => json!({"type": "payment", "amount": 10 + n, "payment_method_id": card}),
                };
                let key = format!("load-{w}-{n}");
                let timeout = if n % 7 == 6 { Duration::from_millis(20) } else { Duration::from_secs(10) };
                let got =
                    api.send(reqwest::Method::POST, "/transactions", Some(&body), Some(&key), timeout).await;
                sent.push(Sent { key, body, intent, got });
            }
            sent
        }));
    }
    let mut sent = Vec::new();
    for worker in workers {
        sent.extend(worker.await.unwrap());
    }
    sent
}

/// Retries `sent` with its key until it is answered with neither 409 (in
/// flight) nor 503 (unavailable); the answer.
async fn retry(api: &Api, sent: &Sent) -> (u16, Value) {
    let started = Instant::now();
    loop {
        let got = api
            .send(
                reqwest::Method::POST,
                "/transactions",
                Some(&sent.body),
                Some(&sent.key),
                Duration::from_secs(10),
            )
            .await;
        match got {
            Got::Answer(status, body) if status != 409 && status != 503 => return (status, body),
            other => {
                assert!(started.elapsed() < Duration::from_secs(60), "{} is stuck: {other:?}", sent.key);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// After the fault: every request answered (retried with its key when it
/// was not), then the books checked against the answers.
async fn converge(api: &Api, database: &str, sent: Vec<Sent>) {
    assert!(sent.len() > WORKERS, "the load made too few requests: {}", sent.len());
    let unanswered = sent.iter().filter(|s| !matches!(s.got, Got::Answer(200, _))).count();
    let intents = sent.iter().filter(|s| s.intent.is_some()).count();
    eprintln!("{} requests ({intents} charging intents); {unanswered} not acknowledged, retried", sent.len());
    assert!(unanswered > 0, "the fault interrupted nothing; nothing was proven");
    let mut answers: HashMap<String, (u16, Value)> = HashMap::new();
    for s in &sent {
        let answer = retry(api, s).await;
        if let Got::Answer(200, first) = &s.got {
            // An acknowledged payment is still what the retry answers.
            assert_eq!(answer.0, 200, "{}: {answer:?}", s.key);
            assert_eq!(answer.1["id"], first["id"], "{}: acknowledged {first:?}, now {answer:?}", s.key);
        }
        assert_eq!(answer.0, 200, "{} was finally answered {answer:?}", s.key);
        answers.insert(s.key.clone(), answer);
    }
    // One payment per request, none charged twice, none left pending.
    let ids: HashSet<String> =
        answers.values().map(|(_, body)| body["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), sent.len(), "two requests were answered the same payment");
    let pool = sqlx::PgPool::connect(database).await.unwrap();
    let started = Instant::now();
    loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM payments.transactions WHERE status = 'pending'")
                .fetch_one(&pool)
                .await
                .unwrap();
        if pending == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{pending} payments stay pending");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT id, status FROM payments.transactions WHERE type = 'payment'")
            .fetch_all(&pool)
            .await
            .unwrap();
    let stored_ids: HashSet<String> = stored.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(stored_ids, ids, "payments stored that no answer names, or answered and missing");
    assert!(stored.iter().all(|(_, status)| status == "processed"), "{stored:?}");
    let attempts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM payments.payment_attempts").fetch_one(&pool).await.unwrap();
    assert_eq!(attempts, 0);
    // Every intent charged by the load is captured for its payment.
    for s in sent.iter().filter(|s| s.intent.is_some()) {
        let intent = s.intent.as_deref().unwrap();
        let Got::Answer(200, read) = api.get(&format!("/payment_intents/{intent}")).await else {
            panic!("{intent}")
        };
        assert_eq!(read["status"], "CAPTURED", "{read:?}");
        assert_eq!(read["transaction_id"], answers[&s.key].1["id"], "{intent}");
    }
    let broken = paymesh_payments::invariants::check(&pool).await.unwrap();
    assert!(broken.is_empty(), "{broken:?}");
}

#[tokio::test]
async fn a_mesh_killed_under_load_loses_nothing_and_charges_nothing_twice() {
    let db = TestDatabase::create().await.unwrap();
    let gateway = free_port();
    let key = partner(db.url());
    let mut child = start(db.url(), gateway).await;
    let api = Api { base: format!("http://127.0.0.1:{gateway}"), key, client: reqwest::Client::new() };
    let (card, intents) = world(&api).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn({
        let (api, stop) = (api.clone(), stop.clone());
        async move { load(&api, &card, &intents, stop).await }
    });
    tokio::time::sleep(LOAD_BEFORE_FAULT).await;
    child.kill(); // SIGKILL
    stop.store(true, Ordering::SeqCst);
    let sent = load.await.unwrap();
    let _restarted = start(db.url(), gateway).await;
    converge(&api, db.url(), sent).await;
}

/// A PostgreSQL cluster of the test's own, in a temporary directory
/// (`scripts/postgres.sh`): never the shared server.
struct Cluster {
    data: PathBuf,
    port: u16,
}

impl Cluster {
    fn script(&self, args: &[&str]) -> String {
        let output = Command::new(root().join("scripts/postgres.sh"))
            .args(args)
            .env("PAYMESH_PG_DATA", &self.data)
            .env("PAYMESH_PG_PORT", self.port.to_string())
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(output.status.success(), "postgres.sh {args:?} failed");
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    /// Starts it (initialising it the first time); its server URL.
    fn start(&self) -> String {
        self.script(&["ensure", "private"])
    }

    fn stop(&self) {
        self.script(&["stop"]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        if let Some(parent) = self.data.parent() {
            std::fs::remove_dir_all(parent).ok();
        }
    }
}

#[tokio::test]
async fn postgresql_stopped_under_load_answers_503_and_recovers_with_nothing_lost_or_doubled() {
    let dir = std::env::temp_dir().join(format!("paymesh-crash-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // The cluster's owner (postgres, when tests run as root) must reach it.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let cluster = Cluster { data: dir.join("pg"), port: free_port() };
    let server = cluster.start();
    let database = format!("{server}/postgres");
    let gateway = free_port();
    let key = partner(&database);
    let _running = start(&database, gateway).await;
    let api = Api { base: format!("http://127.0.0.1:{gateway}"), key, client: reqwest::Client::new() };
    let (card, intents) = world(&api).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn({
        let (api, stop) = (api.clone(), stop.clone());
        async move { load(&api, &card, &intents, stop).await }
    });
    tokio::time::sleep(LOAD_BEFORE_FAULT).await;
    cluster.stop();
    // The load meets the outage for a while (each request is told 503)…
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // …and readiness reports it: the services say they are not serving
    // once they find their database gone (they ask it every second).
    let ready = until_ready(&api, false).await;
    assert_eq!(ready["error_type"], "ServiceUnavailable", "{ready:?}");
    assert!(ready["description"].as_str().unwrap().contains("not_serving"), "{ready:?}");
    cluster.start();
    until_ready(&api, true).await;
    stop.store(true, Ordering::SeqCst);
    let sent = load.await.unwrap();
    // While the database was away, requests were told to come back later —
    // never an internal error.
    let internal: Vec<&Sent> = sent.iter().filter(|s| matches!(s.got, Got::Answer(500, _))).collect();
    assert!(internal.is_empty(), "{internal:?}");
    assert!(sent.iter().any(|s| matches!(s.got, Got::Answer(503, _))), "the outage was never seen");
    // The same process recovers by itself: no restart.
    converge(&api, &database, sent).await;
}
