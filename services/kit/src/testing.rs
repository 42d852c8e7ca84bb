//! Test helpers for every crate of the mesh (feature `test-util`).
//!
//! - [`TestDatabase`]: a fresh PostgreSQL database per test, dropped when
//!   the test ends (also when it fails).
//! - [`OtlpReceiver`]: a real OTLP/gRPC trace receiver, so tests can check
//!   what the exporter really sends.
//! - [`init_test_logging`]: logs only when `TEST_LOG` is set.
//! - [`random_keks`]: a key-encryption key for one test, since live-mode
//!   data is never sealed under the development keyring.

use std::{
    net::SocketAddr,
    str::FromStr as _,
    sync::{Arc, Mutex},
};

use anyhow::Context as _;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    trace::v1::Span,
};
use sqlx::{ConnectOptions as _, Connection as _, Executor as _, postgres::PgConnectOptions};
use tokio::net::TcpListener;

use crate::config::{DEFAULT_DATABASE_URL, ENV_DATABASE_URL};

/// The server tests use: `DATABASE_URL`, else the local default.
pub fn server_url() -> String {
    std::env::var(ENV_DATABASE_URL).unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
}

/// A `PAYMESH_KEKS` value naming one random key-encryption key (`test`),
/// so that tests seal live-mode data as production does.
pub fn random_keks() -> String {
    use base64::Engine as _;
    let mut key = [0u8; 32];
    #[allow(clippy::expect_used)] // A test cannot go on without randomness.
    getrandom::fill(&mut key).expect("the OS random source failed");
    format!("test:{}", base64::engine::general_purpose::STANDARD.encode(key))
}

/// A database of its own for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    name: String,
    admin: PgConnectOptions,
}

impl TestDatabase {
    /// Creates an empty database named `paymesh_test_<uuid>` on the test
    /// server.
    pub async fn create() -> anyhow::Result<Self> {
        let server = PgConnectOptions::from_str(&server_url()).context("invalid DATABASE_URL")?;
        let admin = server.clone().database("postgres");
        let name = format!("paymesh_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = admin.connect().await.context("test database server unreachable")?;
        // The name is generated above: a plain identifier.
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await?;
        conn.close().await.ok();
        let url = server.database(&name).to_url_lossy().to_string();
        Ok(Self { url, name, admin })
    }

    /// The URL of the test's database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop may run inside or outside a runtime, and during a panic: use a
        // thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async move {
                let mut conn = admin.connect().await?;
                conn.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// Logs to the test output when `TEST_LOG` is set; silent otherwise.
pub fn init_test_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("TEST_LOG").unwrap_or_else(|_| "info".to_owned()))
            .with_test_writer()
            .try_init();
    }
}

/// An OTLP/gRPC trace receiver on a local port, keeping every span it is
/// sent.
#[derive(Debug, Clone)]
pub struct OtlpReceiver {
    /// The `http://127.0.0.1:PORT` endpoint to export to.
    pub endpoint: String,
    spans: Arc<Mutex<Vec<Span>>>,
}

#[derive(Debug)]
struct Collector(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

impl OtlpReceiver {
    /// Starts the receiver in the background.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let spans = Arc::new(Mutex::new(Vec::new()));
        let service = TraceServiceServer::new(Collector(spans.clone()));
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        Ok(Self { endpoint, spans })
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
