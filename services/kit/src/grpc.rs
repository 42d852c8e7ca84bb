//! Serving and calling gRPC the same way in every service.
//!
//! [`GrpcServer`] builds the one server stack of the mesh, read top to
//! bottom: a span per call continuing the caller's trace
//! ([`ServerTraceLayer`]), rate, latency and status per RPC
//! ([`MetricsLayer`]), the deadline (the smaller of the configured request
//! timeout and the caller's `grpc-timeout`), authentication ([`AuthLayer`]),
//! then the service. Every server also answers
//! `grpc.health.v1.Health` and server reflection in both v1 and v1alpha
//! (grpcurl 1.8 speaks only v1alpha), and drains in-flight calls on
//! shutdown. A server given its [database](GrpcServer::database) reports
//! `NOT_SERVING` while that database does not answer, and `SERVING` again
//! as soon as it does: orchestrators (and the gateway's `/readyz`) see an
//! outage instead of a ready service that fails every call.
//!
//! Clients dial with [`connect`] (see [`crate::channel`]).

use std::{convert::Infallible, future::Future, sync::Arc, time::Duration};

use anyhow::Context as _;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::{
    body::Body,
    server::NamedService,
    service::{Routes, RoutesBuilder},
};
use tonic_health::{ServingStatus, server::HealthReporter};
use tower::ServiceBuilder;

pub use crate::channel::{Channel, connect};
use crate::{
    auth::{AuthLayer, Authenticator, ServiceResources},
    metrics::MetricsLayer,
    service_keys::ServiceKeys,
    telemetry::propagation::ServerTraceLayer,
};

/// The gRPC server of one paymesh service.
pub struct GrpcServer {
    name: &'static str,
    routes: RoutesBuilder,
    service_names: Vec<&'static str>,
    authenticator: Arc<dyn Authenticator>,
    resources: &'static [ServiceResources],
    service_keys: ServiceKeys,
    request_timeout: Duration,
    database: Option<PgPool>,
}

/// How often a server asks its database whether it answers.
const DATABASE_CHECK_EVERY: Duration = Duration::from_secs(1);
/// How long the database may take to answer before the server reports
/// itself not serving (a busy pool answers well within it).
const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer")
            .field("name", &self.name)
            .field("services", &self.service_names)
            .finish_non_exhaustive()
    }
}

impl GrpcServer {
    /// A server for the service `name` (e.g. "identity") that authenticates
    /// partners with `authenticator` and other services with the mesh's
    /// `service_keys`.
    pub fn new(
        name: &'static str,
        authenticator: Arc<dyn Authenticator>,
        service_keys: ServiceKeys,
        request_timeout: Duration,
    ) -> Self {
        Self {
            name,
            routes: RoutesBuilder::default(),
            service_names: Vec::new(),
            authenticator,
            resources: &[],
            service_keys,
            request_timeout,
            database: None,
        }
    }

    /// The database the service cannot work without: its health follows
    /// whether the database answers.
    pub fn database(mut self, pool: PgPool) -> Self {
        self.database = Some(pool);
        self
    }

    /// Declares the REST resources each service serves, so that restricted
    /// keys' permissions apply to gRPC calls (see [`ServiceResources`]).
    /// Without it, restricted keys may call none of the server's services.
    pub fn resources(mut self, resources: &'static [ServiceResources]) -> Self {
        self.resources = resources;
        self
    }

    /// Adds a generated tonic service; it is reported healthy while serving.
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.service_names.push(S::NAME);
        self
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting
    /// calls and waits for the ones in flight.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            name,
            routes,
            service_names,
            authenticator,
            resources,
            service_keys,
            request_timeout,
            database,
        } = self;
        let (health, health_service) = tonic_health::server::health_reporter();
        for service in &service_names {
            health.set_service_status(*service, ServingStatus::Serving).await;
        }
        health.set_service_status("", ServingStatus::Serving).await;

        let reflection = || {
            // Every paymesh message is described (a service's requests
            // name other packages' types), but only the services this
            // server really serves are listed.
            service_names
                .iter()
                .chain(&["grpc.health.v1.Health"])
                .fold(tonic_reflection::server::Builder::configure(), |builder, name| {
                    builder.with_service_name(*name)
                })
                .register_encoded_file_descriptor_set(paymesh_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                // google.rpc.ErrorInfo and BadRequest, so tools can decode
                // the details of every error status.
                .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        };
        let mut routes = routes;
        routes
            .add_service(health_service)
            .add_service(reflection().build_v1().context("reflection v1")?)
            .add_service(reflection().build_v1alpha().context("reflection v1alpha")?);
        let routes: Routes = routes.routes();

        let address = listener.local_addr().context("listener has no address")?;
        tracing::info!(service = name, %address, services = ?service_names, "gRPC server listening");
        let metrics = MetricsLayer::new(&service_names);

        let stack = ServiceBuilder::new()
            .layer(ServerTraceLayer::new(name))
            .layer(metrics)
            .layer(AuthLayer::new(authenticator, resources, service_keys));
        let watchdog =
            database.map(|pool| tokio::spawn(watch_database(pool, health.clone(), service_names.clone())));
        let health_on_shutdown = health.clone();
        tonic::transport::Server::builder()
            .timeout(request_timeout)
            .layer(stack)
            .add_routes(routes)
            .serve_with_incoming_shutdown(
                // Without TCP_NODELAY, Nagle's algorithm holds the last
                // small frame of an answer until the peer's delayed ACK:
                // tens of milliseconds on every call.
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                async move {
                    shutdown.await;
                    if let Some(watchdog) = &watchdog {
                        watchdog.abort();
                    }
                    for service in std::iter::once("").chain(service_names.iter().copied()) {
                        health_on_shutdown.set_service_status(service, ServingStatus::NotServing).await;
                    }
                    tracing::info!(service = name, "gRPC server draining");
                },
            )
            .await
            .with_context(|| format!("{name} gRPC server failed"))?;
        tracing::info!(service = name, "gRPC server stopped");
        Ok(())
    }
}

/// Reports `services` (and the server as a whole) not serving while `pool`'s
/// database does not answer, and serving again once it does; runs until
/// aborted.
async fn watch_database(pool: PgPool, health: HealthReporter, services: Vec<&'static str>) {
    let mut serving = true;
    let mut ticks = tokio::time::interval(DATABASE_CHECK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let answers = tokio::time::timeout(DATABASE_CHECK_TIMEOUT, sqlx::query("SELECT 1").execute(&pool))
            .await
            .is_ok_and(|answered| answered.is_ok());
        if answers == serving {
            continue;
        }
        serving = answers;
        let status = if serving {
            tracing::info!("the database answers again: serving");
            ServingStatus::Serving
        } else {
            tracing::warn!("the database does not answer: not serving until it does");
            ServingStatus::NotServing
        };
        for service in std::iter::once("").chain(services.iter().copied()) {
            health.set_service_status(service, status).await;
        }
    }
}
