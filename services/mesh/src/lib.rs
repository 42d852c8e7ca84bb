//! # paymesh-mesh — the mesh, wired once
//!
//! Which services make up paymesh, the order they start and stop in, and
//! what they share (the database settings, the service secret, the clock,
//! where each one answers) are written here and nowhere else, in the style
//! of Grafana Loki's `-target=all` and GreptimeDB's standalone mode. The
//! `paymesh` binary runs a [`Target`] — the whole mesh in one process, or
//! one service as a Kubernetes Deployment does; the end-to-end tests, the
//! services' own tests, `make bench` and `make fuzz` start meshes through
//! the same [`Mesh`].
//!
//! Adding a service is a variant of [`Service`] (its name, port and how it
//! serves), a field of [`Settings`], and the chart's values.

use std::{future::Future, net::SocketAddr};

use anyhow::Context as _;
use paymesh_kit::{
    clock::Clock,
    config::{CommonConfig, Env, ServiceUrls},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A service of the mesh.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// Partners, keys, accounts, KYC and KYB (gRPC, port 50051).
    Identity,
    /// The payment-method vault (gRPC, port 50052).
    Methods,
    /// Payment intents and pricing (gRPC, port 50053).
    Intents,
    /// Payments, the ledger, deposits and payouts (gRPC, port 50054).
    Payments,
    /// Invoices and billing schedules (gRPC, port 50055).
    Billing,
    /// The event log, webhooks and their deliveries (gRPC, port 50056).
    Events,
    /// The REST surface (HTTP, port 8080).
    Gateway,
}

impl Service {
    /// Every service, in the order they start: each calls those before it,
    /// so they stop in the reverse order (the gateway first). Two calls go
    /// the other way, and both are retried until they are answered:
    /// billing's autopay charges through payments (after it), and every
    /// service's outbox relay publishes to events.
    pub const ALL: [Self; 7] = [
        Self::Identity,
        Self::Methods,
        Self::Intents,
        Self::Billing,
        Self::Payments,
        Self::Events,
        Self::Gateway,
    ];

    /// Its name: `PAYMESH_<NAME>_ADDR`, `PAYMESH_<NAME>_URL`, the package
    /// of its contracts (`paymesh.<name>.v1`), its process's name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Methods => "methods",
            Self::Intents => "intents",
            Self::Payments => "payments",
            Self::Billing => "billing",
            Self::Events => "events",
            Self::Gateway => "gateway",
        }
    }

    /// The setting of where it listens (`PAYMESH_IDENTITY_ADDR`).
    pub const fn address_setting(self) -> &'static str {
        match self {
            Self::Identity => paymesh_identity::ENV_IDENTITY_ADDR,
            Self::Methods => paymesh_methods::ENV_METHODS_ADDR,
            Self::Intents => paymesh_intents::ENV_INTENTS_ADDR,
            Self::Payments => paymesh_payments::ENV_PAYMENTS_ADDR,
            Self::Billing => paymesh_billing::ENV_BILLING_ADDR,
            Self::Events => paymesh_events::ENV_EVENTS_ADDR,
            Self::Gateway => paymesh_gateway::ENV_GATEWAY_ADDR,
        }
    }

    /// The port it listens on by default.
    pub const fn port(self) -> u16 {
        match self {
            Self::Identity => 50051,
            Self::Methods => 50052,
            Self::Intents => 50053,
            Self::Payments => 50054,
            Self::Billing => 50055,
            Self::Events => 50056,
            Self::Gateway => 8080,
        }
    }

    /// Whether services call it (every one but the gateway): where it
    /// answers is part of the settings every service shares.
    const fn called(self) -> bool {
        !matches!(self, Self::Gateway)
    }

    /// Whether it calls other services, presenting the token they know it
    /// by: derived from the mesh's secret, which must then be shared.
    const fn calls_peers(self) -> bool {
        // (Every service's outbox relay also presents its token to the
        // events service; identity alone without the shared secret runs,
        // and its relay is refused until the secret is set. The gateway
        // presents its own token for the hosted pay pages.)
        matches!(
            self,
            Self::Methods | Self::Intents | Self::Payments | Self::Billing | Self::Events | Self::Gateway
        )
    }
}

/// What a process runs: the whole mesh, or one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum Target {
    /// Run every service and the gateway in this process.
    All,
    /// Run the identity service alone (gRPC, default 127.0.0.1:50051).
    Identity,
    /// Run the payment-method vault alone (gRPC, default 127.0.0.1:50052).
    Methods,
    /// Run the payment intents and pricing service alone (gRPC, default 127.0.0.1:50053).
    Intents,
    /// Run the payments service alone (gRPC, default 127.0.0.1:50054).
    Payments,
    /// Run the billing service alone (gRPC, default 127.0.0.1:50055).
    Billing,
    /// Run the events and webhooks service alone (gRPC, default 127.0.0.1:50056).
    Events,
    /// Run the REST gateway alone (HTTP, default 127.0.0.1:8080).
    Gateway,
}

impl Target {
    /// The services it runs, in starting order.
    pub fn services(self) -> Vec<Service> {
        match self {
            Self::All => Service::ALL.to_vec(),
            Self::Identity => vec![Service::Identity],
            Self::Methods => vec![Service::Methods],
            Self::Intents => vec![Service::Intents],
            Self::Payments => vec![Service::Payments],
            Self::Billing => vec![Service::Billing],
            Self::Events => vec![Service::Events],
            Self::Gateway => vec![Service::Gateway],
        }
    }

    /// Its process's name in logs and traces.
    pub fn process(self) -> String {
        match self.services().as_slice() {
            [one] => format!("paymesh-{}", one.name()),
            _ => "paymesh".to_owned(),
        }
    }
}

/// Every setting of the mesh, read and checked at once.
#[derive(Clone, Debug)]
pub struct Settings {
    /// What every service shares, with where each one answers.
    pub common: CommonConfig,
    /// Identity's own.
    pub identity: paymesh_identity::Config,
    /// The methods service's own.
    pub methods: paymesh_methods::Config,
    /// The intents service's own.
    pub intents: paymesh_intents::Config,
    /// The payments service's own.
    pub payments: paymesh_payments::Config,
    /// The billing service's own.
    pub billing: paymesh_billing::Config,
    /// The events service's own.
    pub events: paymesh_events::Config,
    /// The gateway's own.
    pub gateway: paymesh_gateway::Config,
}

impl Settings {
    /// Reads every setting; problems are left in `env`.
    pub fn read(env: &mut Env) -> Self {
        let mut common = CommonConfig::read(env);
        let called = Service::ALL.into_iter().filter(|s| s.called());
        common.services = ServiceUrls::read(env, called.map(|s| (s.name(), s.port())));
        Self {
            common,
            identity: paymesh_identity::Config::read(env),
            methods: paymesh_methods::Config::read(env),
            intents: paymesh_intents::Config::read(env),
            payments: paymesh_payments::Config::read(env),
            billing: paymesh_billing::Config::read(env),
            events: paymesh_events::Config::read(env),
            gateway: paymesh_gateway::Config::read(env),
        }
    }

    /// Where `service` listens.
    pub fn addr(&self, service: Service) -> SocketAddr {
        match service {
            Service::Identity => self.identity.addr,
            Service::Methods => self.methods.addr,
            Service::Intents => self.intents.addr,
            Service::Payments => self.payments.addr,
            Service::Billing => self.billing.addr,
            Service::Events => self.events.addr,
            Service::Gateway => self.gateway.addr,
        }
    }
}

/// Applies every service's migrations.
pub async fn migrate(common: &CommonConfig) -> anyhow::Result<()> {
    paymesh_identity::open_database(common).await?;
    paymesh_methods::open_database(common).await?;
    paymesh_intents::open_database(common).await?;
    paymesh_payments::open_database(common).await?;
    paymesh_billing::open_database(common).await?;
    paymesh_events::open_database(common).await?;
    Ok(())
}

/// Services bound to their listeners, ready to run.
#[derive(Debug)]
pub struct Mesh {
    settings: Settings,
    listeners: Vec<(Service, TcpListener)>,
    /// The clock of each service that does not follow the system's.
    clocks: Vec<(Service, Clock)>,
}

impl Mesh {
    /// Binds `services` where the settings say. Services of one process
    /// call each other where they really listen (a port 0 made real, an
    /// unspecified address dialled on loopback).
    pub async fn bind(mut settings: Settings, services: &[Service]) -> anyhow::Result<Self> {
        let mut listeners = Vec::new();
        for &service in services {
            let addr = settings.addr(service);
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} for {}", service.name()))?;
            let mut local = listener.local_addr()?;
            if local.ip().is_unspecified() {
                local.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            if service.called() {
                settings.common.services.set(service.name(), format!("http://{local}"));
            }
            // Payment links point at the gateway of this process unless
            // the public address is set.
            if service == Service::Gateway && settings.billing.public_url.is_none() {
                settings.billing.public_url = Some(format!("http://{local}"));
            }
            listeners.push((service, listener));
        }
        Ok(Self { settings, listeners, clocks: Vec::new() })
    }

    /// `services` run on `clock` (tests move it) rather than the system's.
    #[must_use]
    pub fn with_clock(mut self, services: &[Service], clock: &Clock) -> Self {
        self.clocks.extend(services.iter().map(|s| (*s, clock.clone())));
        self
    }

    /// Where `service` listens, if it is bound here.
    pub fn addr(&self, service: Service) -> Option<SocketAddr> {
        self.listeners.iter().find(|(s, _)| *s == service).and_then(|(_, l)| l.local_addr().ok())
    }

    /// The settings the services run with (where each answers included).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Runs the services until `stop`, then stops them in the reverse of
    /// their starting order — the gateway drains first, as the requests it
    /// finishes still call the others — within the shutdown deadline
    /// altogether. If one fails, the others are stopped too, and the first
    /// error is the answer.
    pub async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        let Self { settings, listeners, clocks } = self;
        let alone = listeners.len() == 1;
        if let [(service, _)] = listeners.as_slice()
            && !settings.common.service_secret_configured
        {
            if service.calls_peers() {
                anyhow::bail!(
                    "PAYMESH_SERVICE_SECRET must be set when the {} service runs in a process of its own: \
                     the services it calls must recognise its token",
                    service.name()
                );
            }
            if service.called() {
                tracing::warn!(
                    "PAYMESH_SERVICE_SECRET is not set: {} refuses the calls of services in other processes; \
                     set the same secret on every service",
                    service.name()
                );
            }
        }
        let deadline = settings.common.shutdown_timeout;
        let mut running = Vec::new();
        for (service, listener) in listeners {
            let own_stop = if alone { stop.clone() } else { CancellationToken::new() };
            let clock =
                clocks.iter().find(|(s, _)| *s == service).map_or_else(Clock::system, |(_, c)| c.clone());
            let server = serve(service, settings.clone(), clock, listener, own_stop.clone());
            running.push((service, own_stop, tokio::spawn(supervised(stop.clone(), server))));
        }
        stop.cancelled().await;
        stop_in_order(running, deadline).await
    }
}

/// A service running in its task, with its own stop.
type Running = (Service, CancellationToken, tokio::task::JoinHandle<anyhow::Result<()>>);

/// Stops `running` last first, each given what is left of `deadline` to
/// drain; the first failure is the answer.
async fn stop_in_order(running: Vec<Running>, deadline: std::time::Duration) -> anyhow::Result<()> {
    let until = tokio::time::Instant::now() + deadline;
    let mut first_error = None;
    for (service, own_stop, task) in running.into_iter().rev() {
        own_stop.cancel();
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        let outcome = match tokio::time::timeout(left, task).await {
            Ok(joined) => {
                joined.with_context(|| format!("the {} task panicked", service.name())).and_then(|r| r)
            }
            Err(_) => {
                tracing::warn!(service = service.name(), ?deadline, "still busy at the shutdown deadline");
                Ok(())
            }
        };
        if let Err(e) = outcome {
            tracing::error!(service = service.name(), error = format!("{e:#}"), "service failed");
            first_error.get_or_insert(e.context(service.name()));
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Serves one service until `stop`.
async fn serve(
    service: Service,
    settings: Settings,
    clock: Clock,
    listener: TcpListener,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let (common, stopped) = (&settings.common, stop.cancelled_owned());
    match service {
        Service::Identity => {
            let pool = paymesh_identity::open_database(common).await?;
            let _relay = Relayed::start(service, paymesh_identity::SCHEMA, &pool, common)?;
            paymesh_identity::serve_with(common, &settings.identity, pool, clock, listener, stopped).await
        }
        Service::Methods => {
            let pool = paymesh_methods::open_database(common).await?;
            let _relay = Relayed::start(service, paymesh_methods::SCHEMA, &pool, common)?;
            paymesh_methods::serve_with(common, &settings.methods, pool, clock, listener, stopped).await
        }
        Service::Intents => {
            let pool = paymesh_intents::open_database(common).await?;
            let _relay = Relayed::start(service, paymesh_intents::SCHEMA, &pool, common)?;
            paymesh_intents::serve_with(common, &settings.intents, pool, clock, listener, stopped).await
        }
        Service::Payments => {
            let pool = paymesh_payments::open_database(common).await?;
            let _relay = Relayed::start(service, paymesh_payments::SCHEMA, &pool, common)?;
            paymesh_payments::serve_with(common, &settings.payments, pool, clock, listener, stopped).await
        }
        Service::Billing => {
            let pool = paymesh_billing::open_database(common).await?;
            let _relay = Relayed::start(service, paymesh_billing::SCHEMA, &pool, common)?;
            paymesh_billing::serve_with(common, &settings.billing, pool, clock, listener, stopped).await
        }
        Service::Events => {
            let pool = paymesh_events::open_database(common).await?;
            paymesh_events::serve_with(common, &settings.events, pool, clock, listener, stopped).await
        }
        Service::Gateway => paymesh_gateway::serve(common, settings.gateway.clone(), listener, stopped).await,
    }
}

/// A service's outbox relay, running while this lives (see
/// [`paymesh_kit::relay`]): it publishes the events the service records
/// to the events service, wherever that runs.
struct Relayed(CancellationToken);

impl Relayed {
    /// Starts the relay of `service`'s `schema` in `pool`.
    fn start(
        service: Service,
        schema: &'static str,
        pool: &sqlx::PgPool,
        common: &CommonConfig,
    ) -> anyhow::Result<Self> {
        let events =
            paymesh_kit::grpc::connect(common.services.get(Service::Events.name())?, common.request_timeout)?;
        let relay = paymesh_kit::relay::Relay::new(
            schema,
            pool.clone(),
            events,
            common.service_keys.token(service.name()),
        );
        let stop = CancellationToken::new();
        tokio::spawn(relay.run(common.relay_interval, stop.clone()));
        Ok(Self(stop))
    }
}

impl Drop for Relayed {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Runs `server`; when it fails, cancels `stop` so the rest shut down.
async fn supervised(
    stop: CancellationToken,
    server: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let result = server.await;
    if result.is_err() {
        stop.cancel();
    }
    result
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn spawned(
        service: Service,
        stop: &CancellationToken,
        server: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> Running {
        let own = CancellationToken::new();
        (service, own, tokio::spawn(supervised(stop.clone(), server)))
    }

    #[tokio::test]
    async fn a_service_that_will_not_drain_is_cut_off_at_the_deadline() {
        let stop = CancellationToken::new();
        let never = spawned(Service::Gateway, &stop, std::future::pending());
        let started = tokio::time::Instant::now();
        assert!(stop_in_order(vec![never], Duration::from_millis(20)).await.is_ok());
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_failing_service_stops_the_others_and_is_the_answer() {
        let stop = CancellationToken::new();
        let waits_for_stop = {
            let stop = stop.clone();
            async move {
                stop.cancelled().await;
                Ok(())
            }
        };
        let running = vec![
            spawned(Service::Identity, &stop, waits_for_stop),
            spawned(Service::Payments, &stop, async { Err(anyhow::anyhow!("cannot connect")) }),
        ];
        stop.cancelled().await;
        let error = stop_in_order(running, Duration::from_secs(60)).await.unwrap_err();
        assert_eq!(format!("{error:#}"), "payments: cannot connect");
    }

    #[test]
    fn services_start_in_the_order_they_call_each_other() {
        assert_eq!(Service::ALL.last(), Some(&Service::Gateway), "the gateway calls every service");
        assert_eq!(Target::All.services(), Service::ALL);
        assert_eq!(Target::Payments.services(), [Service::Payments]);
        assert_eq!(Target::Intents.process(), "paymesh-intents");
    }
}
