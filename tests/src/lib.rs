//! # paymesh-tests — the harness of the end-to-end tests
//!
//! [`Mesh::start`] runs what `paymesh all` runs, through the same library
//! (`paymesh_mesh`) — every service and the gateway, in this process,
//! talking gRPC over loopback, stopped in the same order — on ephemeral
//! ports against a fresh PostgreSQL database, with two partners (Acme and
//! Globex) and their keys. Tests then drive it over REST ([`Mesh::http`])
//! and gRPC ([`Mesh::identity_channel`], [`Mesh::methods_channel`]).

// A harness for tests: a set-up that cannot proceed panics with a message.
#![allow(clippy::expect_used)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use paymesh_identity::CreatedPartner;
use paymesh_kit::{
    config::{CommonConfig, ENV_DATABASE_URL, ENV_DB_MAX_CONNECTIONS, ENV_KEKS, Env},
    testing::{TestDatabase, init_test_logging, random_keks},
};
pub use paymesh_mesh::{Service, Settings};
use serde_json::Value;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// A running mesh.
#[derive(Debug)]
pub struct Mesh {
    /// The gateway's base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    /// Where identity serves gRPC.
    pub identity: SocketAddr,
    /// Where the methods service serves gRPC.
    pub methods: SocketAddr,
    /// Where the intents service serves gRPC.
    pub intents: SocketAddr,
    /// Where the payments service serves gRPC.
    pub payments: SocketAddr,
    /// Where the billing service serves gRPC.
    pub billing: SocketAddr,
    /// The clock of intents and payments: it starts at the real time (or at
    /// [`Mesh::start_at`]'s) and moves only when a test moves it.
    pub intents_clock: paymesh_kit::clock::Clock,
    /// A partner with data.
    pub acme: CreatedPartner,
    /// Another partner, who must never see Acme's data.
    pub globex: CreatedPartner,
    /// The settings the mesh runs with.
    pub common: CommonConfig,
    pool: PgPool,
    stop: CancellationToken,
    _db: TestDatabase,
}

impl Drop for Mesh {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The settings a test mesh runs with: small pools, the test database, a
/// random key-encryption key and fingerprint key, every service on a port
/// of its own choosing.
pub fn config(database_url: &str, extra: &[(&str, &str)]) -> Settings {
    let keks = random_keks();
    let fingerprint_key = random_keks().split_once(':').map(|(_, key)| key.to_owned()).unwrap_or_default();
    let mut pairs = vec![
        (ENV_DATABASE_URL, database_url),
        (ENV_DB_MAX_CONNECTIONS, "4"),
        (ENV_KEKS, &keks),
        (paymesh_methods::ENV_FINGERPRINT_KEY, &fingerprint_key),
        // Bank payments settle as soon as the clock says they are due.
        (paymesh_payments::ENV_SETTLE_INTERVAL_MS, "50"),
        // Events reach the log, and webhooks, within a test's patience.
        (paymesh_kit::config::ENV_OUTBOX_RELAY_INTERVAL_MS, "50"),
        (paymesh_events::ENV_DELIVERY_INTERVAL_MS, "50"),
        // Schedules bill, and invoices fall overdue, as soon as the clock
        // says so.
        (paymesh_billing::ENV_BILLING_INTERVAL_MS, "50"),
    ];
    pairs.extend(Service::ALL.iter().map(|s| (s.address_setting(), "127.0.0.1:0")));
    pairs.extend_from_slice(extra);
    let mut env = Env::from_pairs(pairs);
    let settings = Settings::read(&mut env);
    if let Err(e) = env.finish() {
        panic!("test configuration: {e}");
    }
    settings
}

impl Mesh {
    /// Starts the mesh with default settings.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts the mesh with its clocks at `at` (RFC 3339). A test that
    /// lives on a date of its own starts there rather than moving the
    /// clocks back with [`Mesh::set_clock`]: a sweep already under way
    /// would go on with the time it read before the move.
    pub async fn start_at(at: &str) -> Self {
        let at: chrono::DateTime<chrono::Utc> = at.parse().expect("an RFC 3339 instant");
        Self::start_inner(&[], at).await
    }

    /// Starts the mesh with extra `PAYMESH_*` settings.
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        Self::start_inner(extra, chrono::Utc::now()).await
    }

    async fn start_inner(extra: &[(&str, &str)], at: chrono::DateTime<chrono::Utc>) -> Self {
        init_test_logging();
        let db = TestDatabase::create().await.expect("test database");
        let settings = config(db.url(), extra);
        let pool = paymesh_identity::open_database(&settings.common).await.expect("identity database");
        let acme =
            paymesh_identity::admin::create_partner(&settings.common, &pool, "Acme", "payments@acme.example")
                .await
                .expect("partner");
        let globex = paymesh_identity::admin::create_partner(
            &settings.common,
            &pool,
            "Globex",
            "payments@globex.example",
        )
        .await
        .expect("partner");
        let clock = paymesh_kit::clock::Clock::manual(at);
        // Intents, payments, billing and events run on the test's clock
        // (due dates, expiry, settlement, billing dates, webhook retries);
        // identity and the methods service keep real time.
        let moved = [Service::Intents, Service::Payments, Service::Billing, Service::Events];
        let mesh =
            paymesh_mesh::Mesh::bind(settings, &Service::ALL).await.expect("bind").with_clock(&moved, &clock);
        let addr = |service| mesh.addr(service).expect("a bound service");
        let (identity, methods, intents, payments, billing) = (
            addr(Service::Identity),
            addr(Service::Methods),
            addr(Service::Intents),
            addr(Service::Payments),
            addr(Service::Billing),
        );
        let url = format!("http://{}", addr(Service::Gateway));
        let common = mesh.settings().common.clone();
        let stop = CancellationToken::new();
        let running = stop.clone();
        tokio::spawn(async move {
            if let Err(e) = mesh.run(running).await {
                eprintln!("the mesh stopped: {e:#}");
            }
        });
        let mesh = Self {
            url,
            identity,
            methods,
            intents,
            payments,
            billing,
            intents_clock: clock,
            acme,
            globex,
            common,
            pool,
            stop,
            _db: db,
        };
        mesh.wait_until_ready().await;
        mesh
    }

    async fn wait_until_ready(&self) {
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if let Ok(response) = client.get(format!("{}/readyz", self.url)).send().await
                && response.status() == 200
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the mesh did not become ready");
    }

    /// Sets the mesh's clock (shared by the intents and payments services)
    /// to `at`, an RFC 3339 instant; the sweeps see it at their next turn.
    pub fn set_clock(&self, at: &str) {
        let at: chrono::DateTime<chrono::Utc> = at.parse().expect("an RFC 3339 instant");
        self.intents_clock.advance(at - self.intents_clock.now());
    }

    /// Waits until every service's outbox relay has published what its
    /// service recorded so far: the event log then shows every change.
    pub async fn until_events_published(&self) {
        for _ in 0..400 {
            let waiting = self
                .count(
                    "SELECT (SELECT count(*) FROM identity.outbox WHERE published_at IS NULL) \
                     + (SELECT count(*) FROM methods.outbox WHERE published_at IS NULL) \
                     + (SELECT count(*) FROM intents.outbox WHERE published_at IS NULL) \
                     + (SELECT count(*) FROM payments.outbox WHERE published_at IS NULL) \
                     + (SELECT count(*) FROM billing.outbox WHERE published_at IS NULL)",
                )
                .await;
            if waiting == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the outbox relays did not publish within 10 s");
    }

    /// Waits until every event is published and every delivery due on the
    /// mesh's clock has been attempted, so webhooks, deliveries and logs
    /// stay as they are until the clock moves.
    pub async fn until_events_delivered(&self) {
        self.until_events_published().await;
        for _ in 0..400 {
            let due: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM events.deliveries \
                 WHERE status IN ('pending', 'failed') AND next_attempt_at <= $1",
            )
            .bind(self.intents_clock.now())
            .fetch_one(&self.pool)
            .await
            .expect("count due deliveries");
            if due == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the webhook deliveries due were not attempted within 10 s");
    }

    /// An HTTP client for the gateway.
    pub fn http(&self) -> Http {
        Http { url: self.url.clone(), client: reqwest::Client::new() }
    }

    /// A gRPC channel to identity.
    pub fn identity_channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.identity))
            .expect("identity URL")
            .connect_lazy()
    }

    /// A gRPC channel to the methods service.
    pub fn methods_channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.methods))
            .expect("methods URL")
            .connect_lazy()
    }

    /// A gRPC channel to the intents service.
    pub fn intents_channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.intents))
            .expect("intents URL")
            .connect_lazy()
    }

    /// A gRPC channel to the payments service.
    pub fn payments_channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.payments))
            .expect("payments URL")
            .connect_lazy()
    }

    /// A gRPC channel to the billing service.
    pub fn billing_channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.billing))
            .expect("billing URL")
            .connect_lazy()
    }

    /// Fails the test if the books are broken (see
    /// `paymesh_payments::invariants::check`).
    pub async fn assert_ledger_invariants(&self) {
        let broken = paymesh_payments::invariants::check(&self.pool).await.expect("invariant queries");
        assert!(broken.is_empty(), "ledger invariants broken: {broken:#?}");
    }

    /// Runs a scalar query against the test database (for checking what was
    /// or was not written).
    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.expect("count query")
    }

    /// The test database, for checks of what is stored.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Every log line of the test process (each test runs in a process of its
/// own), for checking what never appears in logs.
#[derive(Clone, Debug, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Captures every log at debug level from now on. Call it first, once.
    pub fn start() -> Self {
        let captured = Self::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        captured
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
            .into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The key of `partner` with `prefix` (`test_secret_key_`, `secret_key_`, …).
pub fn key<'a>(partner: &'a CreatedPartner, prefix: &str) -> &'a str {
    partner.keys.iter().find(|k| k.class.prefix() == prefix).map_or("", |k| k.key.as_str())
}

/// A partner's test secret key.
pub fn test_key(partner: &CreatedPartner) -> &str {
    key(partner, "test_secret_key_")
}

/// A partner's live secret key.
pub fn live_key(partner: &CreatedPartner) -> &str {
    key(partner, "secret_key_")
}

/// `text` percent-encoded for a form body (`application/x-www-form-urlencoded`),
/// as the references' curl examples send it.
pub fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The repository's root (the Makefile's `.venv` is there).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default()
}

/// Runs the browser test `script` (in `tests/js`, headless Chromium
/// through playwright-core) against `mesh` with `env` besides
/// `PAYMESH_URL` and `SCREENSHOTS` (`target/screenshots`); fails the test
/// unless it ends with `{"done":true}`, and answers the JSON lines it
/// printed. The script bounds each of its waits and ends on its own.
pub async fn run_browser_test(mesh: &Mesh, script: &str, env: &[(&str, &str)]) -> Vec<Value> {
    let js = repo_root().join("tests/js");
    assert!(
        js.join("node_modules/playwright-core").exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Chromium and playwright-core: `make test` installs them (make js)"
    );
    let mut node = std::process::Command::new("node");
    node.arg(js.join(script))
        .env("PAYMESH_URL", &mesh.url)
        .env("SCREENSHOTS", repo_root().join("target/screenshots"))
        .envs(env.iter().copied());
    let output = tokio::task::spawn_blocking(move || node.output())
        .await
        .expect("the browser test's task")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(lines.iter().any(|l| l["done"] == true), "{script} did not finish:\n{stdout}");
    lines
}

/// The line of `lines` (of [`run_browser_test`]) reporting flow `name`.
pub fn browser_flow(lines: &[Value], name: &str) -> Value {
    lines.iter().find(|l| l["flow"] == name).cloned().unwrap_or_else(|| panic!("no {name} line in {lines:?}"))
}

/// `message` as a gRPC request made with `key` (`authorization: Bearer …`).
pub fn authorized<T>(key: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {key}").parse().expect("a key is printable ASCII");
    request.metadata_mut().insert("authorization", value);
    request
}

/// A small REST client for the gateway.
#[derive(Debug, Clone)]
pub struct Http {
    url: String,
    client: reqwest::Client,
}

/// A response: status and JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The parsed body (`Value::Null` when empty).
    pub body: Value,
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
}

impl Http {
    /// A request to `path`, authenticated with `key` as Basic user name.
    pub fn request(&self, method: reqwest::Method, path: &str, key: Option<&str>) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, format!("{}{path}", self.url));
        match key {
            Some(key) => builder.basic_auth(key, Some("")),
            None => builder,
        }
    }

    /// Sends and reads the reply.
    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Reply {
        let response = builder.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON body") };
        Reply { status, body, headers }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.send(self.request(reqwest::Method::GET, path, Some(key))).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.send(self.request(reqwest::Method::POST, path, Some(key)).json(&body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, key: &str, body: Value) -> Reply {
        self.send(self.request(reqwest::Method::PUT, path, Some(key)).json(&body)).await
    }

    /// `GET path` of raw bytes: the status, the body and its
    /// `Content-Disposition`.
    pub async fn client_get_bytes(&self, path: &str, key: &str) -> (u16, Vec<u8>, Option<String>) {
        let response = self.request(reqwest::Method::GET, path, Some(key)).send().await.expect("request");
        let status = response.status().as_u16();
        let disposition = response
            .headers()
            .get(reqwest::header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, response.bytes().await.expect("body").to_vec(), disposition)
    }

    /// `DELETE path`, with an optional JSON body.
    pub async fn delete(&self, path: &str, key: &str, body: Option<Value>) -> Reply {
        let builder = self.request(reqwest::Method::DELETE, path, Some(key));
        self.send(match body {
            Some(body) => builder.json(&body),
            None => builder,
        })
        .await
    }
}
