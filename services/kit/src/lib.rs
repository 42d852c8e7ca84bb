//! # paymesh-kit — the runtime every paymesh service stands on
//!
//! One way to do the things every service does, so that services contain
//! only their own domain:
//!
//! - [`config`]: typed settings from `PAYMESH_*` variables with compiled-in
//!   defaults, validated at start-up;
//! - [`telemetry`]: the `tracing` subscriber (pretty or JSON), OTLP export,
//!   and W3C trace-context propagation as tower layers;
//! - [`grpc`]: the server builder (trace → deadline → auth stack, health,
//!   reflection v1 and v1alpha, graceful shutdown); [`channel`]: traced
//!   client channels;
//! - [`db`]: a pool per service, one schema per service, embedded
//!   migrations applied at start;
//! - [`auth`]: API keys → principals, cached, enforced by a tower layer;
//!   every query is scoped by partner and mode; [`service_keys`]: the
//!   mesh's secret and the service tokens services call each other with;
//! - [`error`]: domain errors → `tonic::Status` with `ErrorInfo` and
//!   `BadRequest` details;
//! - [`query`]: the list query language compiled to parameterised SQL over a
//!   per-resource whitelist;
//! - [`metrics`]: Prometheus counters and latency histograms per RPC and
//!   per HTTP route, exposed on their own listener;
//! - [`outbox`]: domain events recorded in the transaction of their change;
//! - [`idempotency`]: `Create…` requests carried out once per
//!   `Idempotency-Key`; [`batch`]: batch requests checked the same way
//!   everywhere, all or none;
//! - [`crypto`]: envelope encryption (AES-256-GCM data keys wrapped by
//!   configured key-encryption keys) for the values paymesh must not hold in
//!   clear; [`rewrap`]: rotating the key-encryption key of sealed columns;
//! - [`future`]: the boxed future of object-safe async traits; [`faults`]:
//!   failures injected by tests at named steps of a request;
//! - [`clock`], [`json`]: time that tests can move, and `attrs` between JSON
//!   and protobuf; [`markup`]: text escaped for HTML and XML;
//! - [`address`], [`bank`], [`values`]: postal addresses, bank account
//!   numbers, names, emails, phones and custom attributes, parsed once, for
//!   every service that stores them;
//! - [`calendar`], [`payout`], [`funding`]: the rules more than one service
//!   applies — business days over US and Canadian bank holidays, the payout
//!   rails with their currency and calendar, how a payment is funded;
//!   [`wire`]: request fields read into them, every problem named by its
//!   path; [`words`]: closed sets of stored words, each spelled once;
//! - `testing` (feature `test-util`): fresh databases and an OTLP receiver
//!   for tests.

pub mod address;
pub mod auth;
pub mod bank;
pub mod batch;
pub mod calendar;
pub mod channel;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod faults;
pub mod files;
pub mod funding;
pub mod future;
pub mod grpc;
pub mod idempotency;
pub mod json;
pub mod markup;
pub mod metrics;
pub mod money;
pub mod outbox;
pub mod payout;
pub mod query;
pub mod relay;
pub mod rewrap;
pub mod service_keys;
pub mod telemetry;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod values;
pub mod wire;
pub mod words;

pub use error::{Error, Violation};

/// The most items one batch request may carry, on the REST surface and in
/// every service's batch RPCs.
pub const MAX_BATCH: usize = 100;

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
