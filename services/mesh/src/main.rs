//! # paymesh — the one binary of the mesh
//!
//! `paymesh all` runs every service and the gateway in one process (they
//! still talk gRPC to each other over loopback); `paymesh identity`,
//! `paymesh methods`, `paymesh intents` or `paymesh gateway` runs one, as Kubernetes does with
//! one Deployment per service (the `-target` pattern of Grafana Loki and
//! Mimir). The other subcommands are for operators: `migrate`, `partner
//! create` / `partner dev` to issue API keys, `document review`, and
//! `vault rotate-kek`.
//!
//! Configuration comes from `PAYMESH_*` variables (see the README); every
//! invalid one is reported before anything starts.

mod dev;

use std::{future::Future, path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use paymesh_kit::{
    config::{CommonConfig, Env},
    telemetry,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(name = "paymesh", version, about = "The paymesh payments mesh")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every service and the gateway in this process.
    All,
    /// Run the identity service alone (gRPC, default 127.0.0.1:50051).
    Identity,
    /// Run the payment-method vault alone (gRPC, default 127.0.0.1:50052).
    Methods,
    /// Run the payment intents and pricing service alone (gRPC, default
    /// 127.0.0.1:50053).
    Intents,
    /// Run the payments service alone (gRPC, default 127.0.0.1:50054).
    Payments,
    /// Run the REST gateway alone (HTTP, default 127.0.0.1:8080).
    Gateway,
    /// Apply every service's database migrations, then exit.
    Migrate,
    /// Manage partners (tenants) and their API keys.
    Partner {
        #[command(subcommand)]
        command: PartnerCommand,
    },
    /// Review identity documents (KYC/KYB) waiting in live mode.
    Document {
        #[command(subcommand)]
        command: DocumentCommand,
    },
    /// Operate the key-encryption keys of sealed data.
    Vault {
        #[command(subcommand)]
        command: VaultCommand,
    },
}

#[derive(Debug, Subcommand)]
enum VaultCommand {
    /// Re-wrap every sealed value (card and bank account numbers, SSNs,
    /// EINs, documents) under PAYMESH_ACTIVE_KEK, while services run. Keep
    /// the old key in PAYMESH_KEKS until this reports nothing remaining
    /// under it.
    RotateKek,
}

#[derive(Debug, Subcommand)]
enum DocumentCommand {
    /// Verify a pending document, or reject it with a reason. The
    /// verification of its customer, legal entity or owner, and the
    /// activation of the processing accounts that depend on it, follow.
    Review {
        /// The document's id.
        id: uuid::Uuid,
        /// Reject the document for this reason (otherwise it is verified).
        #[arg(long)]
        reject: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum PartnerCommand {
    /// Create a partner and print its four API keys (shown only this once).
    Create {
        /// The partner's name.
        #[arg(long)]
        name: String,
        /// The email of the partner's default processing accounts.
        #[arg(long)]
        email: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the test secret key of the development partner, creating the
    /// partner on first use. Its keys are kept in STATE_FILE, so later runs
    /// print the same key.
    Dev {
        /// Where the development partner's keys are kept.
        #[arg(long, default_value = ".data/dev-partner.json")]
        state_file: PathBuf,
    },
}

/// Every setting, read and checked at once.
struct Settings {
    common: CommonConfig,
    identity: paymesh_identity::Config,
    methods: paymesh_methods::Config,
    intents: paymesh_intents::Config,
    payments: paymesh_payments::Config,
    gateway: paymesh_gateway::Config,
}

fn settings() -> Result<Settings, paymesh_kit::config::ConfigError> {
    let mut env = Env::from_process();
    let settings = Settings {
        common: CommonConfig::read(&mut env),
        identity: paymesh_identity::Config::read(&mut env),
        methods: paymesh_methods::Config::read(&mut env),
        intents: paymesh_intents::Config::read(&mut env),
        payments: paymesh_payments::Config::read(&mut env),
        gateway: paymesh_gateway::Config::read(&mut env),
    };
    env.finish().map(|()| settings)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match settings() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("paymesh: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("paymesh: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paymesh: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    let service_name = match &command {
        Command::All
        | Command::Migrate
        | Command::Partner { .. }
        | Command::Document { .. }
        | Command::Vault { .. } => "paymesh",
        Command::Identity => "paymesh-identity",
        Command::Methods => "paymesh-methods",
        Command::Intents => "paymesh-intents",
        Command::Payments => "paymesh-payments",
        Command::Gateway => "paymesh-gateway",
    };
    let _telemetry = telemetry::init(service_name, &settings.common.telemetry)?;
    match command {
        Command::All => serve(Target::All, settings).await,
        Command::Identity => serve(Target::Identity, settings).await,
        Command::Methods => serve(Target::Methods, settings).await,
        Command::Intents => serve(Target::Intents, settings).await,
        Command::Payments => serve(Target::Payments, settings).await,
        Command::Gateway => serve(Target::Gateway, settings).await,
        Command::Migrate => {
            paymesh_identity::open_database(&settings.common).await?;
            paymesh_methods::open_database(&settings.common).await?;
            paymesh_intents::open_database(&settings.common).await?;
            paymesh_payments::open_database(&settings.common).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Vault { command: VaultCommand::RotateKek } => rotate_kek(&settings.common).await,
        Command::Partner { command: PartnerCommand::Create { name, email, json } } => {
            let pool = paymesh_identity::open_database(&settings.common).await?;
            let partner =
                paymesh_identity::admin::create_partner(&settings.common, &pool, &name, &email).await?;
            dev::print_partner(&partner, json)
        }
        Command::Partner { command: PartnerCommand::Dev { state_file } } => {
            let pool = paymesh_identity::open_database(&settings.common).await?;
            let key = dev::dev_partner_key(&settings.common, &pool, &state_file).await?;
            println!("{key}");
            Ok(())
        }
        Command::Document { command: DocumentCommand::Review { id, reject } } => {
            let pool = paymesh_identity::open_database(&settings.common).await?;
            let status =
                paymesh_identity::admin::review_document(&settings.common, &pool, id, reject).await?;
            println!("document {id} {}", status.as_str());
            Ok(())
        }
    }
}

/// Re-wraps every sealed column of every service, and says what it did.
async fn rotate_kek(common: &CommonConfig) -> anyhow::Result<()> {
    let active = common.keyring.active().as_str().to_owned();
    let mut reports = paymesh_identity::admin::rotate_kek(common).await?;
    reports.extend(paymesh_methods::admin::rotate_kek(common).await?);
    let mut complete = true;
    for (column, report) in &reports {
        println!(
            "{column}: {} re-wrapped, {} already under {active}, {} changed meanwhile",
            report.rewrapped, report.current, report.raced
        );
        for (key, count) in &report.remaining {
            complete = false;
            println!("  {count} still under {key}");
        }
    }
    if complete {
        println!("every sealed value is under {active}; older keys may leave PAYMESH_KEKS");
        Ok(())
    } else {
        anyhow::bail!("some values are still under older keys; run the rotation again")
    }
}

/// What a server command runs.
#[derive(Clone, Copy, Debug)]
enum Target {
    All,
    Identity,
    Methods,
    Intents,
    Payments,
    Gateway,
}

/// Runs `target` until Ctrl-C or SIGTERM, with `/metrics` beside it; a
/// single service gets at most the shutdown deadline to drain.
async fn serve(target: Target, settings: Settings) -> anyhow::Result<()> {
    let stop = stop_on_signal();
    serve_metrics(&settings.common, &stop).await?;
    let deadline = settings.common.shutdown_timeout;
    match target {
        Target::All => all(settings, stop).await,
        Target::Identity => {
            if !settings.common.service_secret_configured {
                tracing::warn!(
                    "PAYMESH_SERVICE_SECRET is not set: identity refuses the calls of services in other \
                     processes (the vault); set the same secret on every service"
                );
            }
            let listener = bind(settings.identity.addr, "identity").await?;
            let server = paymesh_identity::serve(
                &settings.common,
                &settings.identity,
                listener,
                stop.clone().cancelled_owned(),
            );
            drain(&stop, deadline, server).await
        }
        Target::Methods => {
            if !settings.common.service_secret_configured {
                anyhow::bail!(
                    "PAYMESH_SERVICE_SECRET must be set when the vault runs in a process of its own: identity \
                     must recognise the vault's service token"
                );
            }
            let listener = bind(settings.methods.addr, "methods").await?;
            let server = paymesh_methods::serve(
                &settings.common,
                &settings.methods,
                listener,
                stop.clone().cancelled_owned(),
            );
            drain(&stop, deadline, server).await
        }
        Target::Intents => {
            if !settings.common.service_secret_configured {
                anyhow::bail!(
                    "PAYMESH_SERVICE_SECRET must be set when intents run in a process of their own: identity \
                     and the vault must recognise the intents service's token"
                );
            }
            let listener = bind(settings.intents.addr, "intents").await?;
            let server = paymesh_intents::serve(
                &settings.common,
                &settings.intents,
                listener,
                stop.clone().cancelled_owned(),
            );
            drain(&stop, deadline, server).await
        }
        Target::Payments => {
            if !settings.common.service_secret_configured {
                anyhow::bail!(
                    "PAYMESH_SERVICE_SECRET must be set when payments run in a process of their own: identity, \
                     the vault and intents must recognise the payments service's token"
                );
            }
            let listener = bind(settings.payments.addr, "payments").await?;
            let server = paymesh_payments::serve(
                &settings.common,
                &settings.payments,
                listener,
                stop.clone().cancelled_owned(),
            );
            drain(&stop, deadline, server).await
        }
        Target::Gateway => {
            let listener = bind(settings.gateway.addr, "gateway").await?;
            let server = paymesh_gateway::serve(
                &settings.common,
                settings.gateway,
                listener,
                stop.clone().cancelled_owned(),
            );
            drain(&stop, deadline, server).await
        }
    }
}

/// Serves `/metrics` in the background when `PAYMESH_METRICS_ADDR` is not `off`.
async fn serve_metrics(common: &CommonConfig, stop: &CancellationToken) -> anyhow::Result<()> {
    if let Some(addr) = common.metrics_addr {
        let listener = bind(addr, "metrics").await?;
        let stop = stop.clone();
        tokio::spawn(async move {
            if let Err(e) = paymesh_kit::metrics::serve(listener, stop.cancelled_owned()).await {
                tracing::error!(error = format!("{e:#}"), "metrics server failed");
            }
        });
    }
    Ok(())
}

async fn bind(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} for {what}"))
}

/// A token cancelled on Ctrl-C or SIGTERM.
fn stop_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        paymesh_kit::shutdown_signal().await;
        cancel.cancel();
    });
    token
}

/// Every service and the gateway, in this process. If one stops with an
/// error, the others are stopped too. The services stop only after the
/// gateway has drained: the requests it finishes still call them.
async fn all(mut settings: Settings, stop: CancellationToken) -> anyhow::Result<()> {
    let identity = bind(settings.identity.addr, "identity").await?;
    let methods = bind(settings.methods.addr, "methods").await?;
    let intents = bind(settings.intents.addr, "intents").await?;
    let payments = bind(settings.payments.addr, "payments").await?;
    let gateway = bind(settings.gateway.addr, "gateway").await?;
    // Every client reaches each service where it really listens.
    settings.common.identity_url = format!("http://{}", identity.local_addr()?);
    settings.common.methods_url = format!("http://{}", methods.local_addr()?);
    settings.common.intents_url = format!("http://{}", intents.local_addr()?);
    settings.common.payments_url = format!("http://{}", payments.local_addr()?);
    tracing::info!(
        gateway = %format!("http://{}", gateway.local_addr()?),
        identity = %settings.common.identity_url,
        methods = %settings.common.methods_url,
        intents = %settings.common.intents_url,
        payments = %settings.common.payments_url,
        "paymesh all: starting"
    );
    let common = settings.common;
    let deadline = common.shutdown_timeout;

    // Each service has its own stop: they stop in the reverse order of
    // their dependencies (payments call intents, the vault and identity;
    // intents call the vault and identity; the vault calls identity),
    // after the gateway.
    let (identity_stop, methods_stop, intents_stop, payments_stop) = (
        CancellationToken::new(),
        CancellationToken::new(),
        CancellationToken::new(),
        CancellationToken::new(),
    );
    let identity_task = tokio::spawn(supervised(stop.clone(), {
        let (common, config, stop) = (common.clone(), settings.identity, identity_stop.clone());
        async move { paymesh_identity::serve(&common, &config, identity, stop.cancelled_owned()).await }
    }));
    let methods_task = tokio::spawn(supervised(stop.clone(), {
        let (common, config, stop) = (common.clone(), settings.methods, methods_stop.clone());
        async move { paymesh_methods::serve(&common, &config, methods, stop.cancelled_owned()).await }
    }));
    let intents_task = tokio::spawn(supervised(stop.clone(), {
        let (common, config, stop) = (common.clone(), settings.intents, intents_stop.clone());
        async move { paymesh_intents::serve(&common, &config, intents, stop.cancelled_owned()).await }
    }));
    let payments_task = tokio::spawn(supervised(stop.clone(), {
        let (common, config, stop) = (common.clone(), settings.payments, payments_stop.clone());
        async move { paymesh_payments::serve(&common, &config, payments, stop.cancelled_owned()).await }
    }));
    let gateway_result = drain(
        &stop,
        deadline,
        supervised(stop.clone(), {
            let stop = stop.clone();
            let config = settings.gateway;
            async move { paymesh_gateway::serve(&common, config, gateway, stop.cancelled_owned()).await }
        }),
    )
    .await;
    // One deadline for the services together.
    let until = tokio::time::Instant::now() + deadline;
    let mut first_error = gateway_result.context("gateway").err();
    for (name, service_stop, task) in [
        ("payments", payments_stop, payments_task),
        ("intents", intents_stop, intents_task),
        ("methods", methods_stop, methods_task),
        ("identity", identity_stop, identity_task),
    ] {
        service_stop.cancel();
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        let result =
            drain(&stop, left, async { task.await.with_context(|| format!("the {name} task panicked"))? })
                .await;
        if let Err(e) = result {
            tracing::error!(service = name, error = format!("{e:#}"), "service failed");
            first_error.get_or_insert(e.context(name));
        }
    }
    first_error.map_or(Ok(()), Err)
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

/// Runs `server` to completion, but once `stop` is cancelled gives it at
/// most `deadline` to drain the requests in flight.
async fn drain(
    stop: &CancellationToken,
    deadline: std::time::Duration,
    server: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result,
        () = stop.cancelled() => {}
    }
    match tokio::time::timeout(deadline, server).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                ?deadline,
                "requests still in flight after the shutdown deadline; stopping anyway"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_server_that_will_not_drain_is_cut_off_at_the_deadline() {
        let stop = CancellationToken::new();
        stop.cancel();
        let never = std::future::pending::<anyhow::Result<()>>();
        assert!(drain(&stop, Duration::from_millis(20), never).await.is_ok());
    }

    #[tokio::test]
    async fn a_server_failing_before_any_stop_reports_its_error() {
        let stop = CancellationToken::new();
        let failing = async { Err::<(), _>(anyhow::anyhow!("cannot connect")) };
        let result = drain(&stop, Duration::from_secs(60), supervised(stop.clone(), failing)).await;
        assert_eq!(result.unwrap_err().to_string(), "cannot connect");
        assert!(stop.is_cancelled(), "a failure stops the others");
    }
}
