//! # paymesh — the one binary of the mesh
//!
//! `paymesh all` runs every service and the gateway in one process (they
//! still talk gRPC to each other over loopback); `paymesh identity` or
//! `paymesh gateway` runs one, as Kubernetes does with one Deployment per
//! service (the `-target` pattern of Grafana Loki and Mimir). The other
//! subcommands are for operators: `migrate`, and `partner create` /
//! `partner dev` to issue API keys.
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
    /// Run the REST gateway alone (HTTP, default 127.0.0.1:8080).
    Gateway,
    /// Apply every service's database migrations, then exit.
    Migrate,
    /// Manage partners (tenants) and their API keys.
    Partner {
        #[command(subcommand)]
        command: PartnerCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PartnerCommand {
    /// Create a partner and print its four API keys (shown only this once).
    Create {
        /// The partner's name.
        #[arg(long)]
        name: String,
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
    gateway: paymesh_gateway::Config,
}

fn settings() -> Result<Settings, paymesh_kit::config::ConfigError> {
    let mut env = Env::from_process();
    let settings = Settings {
        common: CommonConfig::read(&mut env),
        identity: paymesh_identity::Config::read(&mut env),
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
        Command::All | Command::Migrate | Command::Partner { .. } => "paymesh",
        Command::Identity => "paymesh-identity",
        Command::Gateway => "paymesh-gateway",
    };
    let _telemetry = telemetry::init(service_name, &settings.common.telemetry)?;
    match command {
        Command::All => {
            let stop = stop_on_signal();
            serve_metrics(&settings.common, &stop).await?;
            all(settings, stop).await
        }
        Command::Identity => {
            let stop = stop_on_signal();
            serve_metrics(&settings.common, &stop).await?;
            let listener = bind(settings.identity.addr, "identity").await?;
            paymesh_identity::serve(&settings.common, listener, stop.cancelled_owned()).await
        }
        Command::Gateway => {
            let stop = stop_on_signal();
            serve_metrics(&settings.common, &stop).await?;
            let listener = bind(settings.gateway.addr, "gateway").await?;
            paymesh_gateway::serve(&settings.common, settings.gateway, listener, stop.cancelled_owned()).await
        }
        Command::Migrate => {
            paymesh_identity::open_database(&settings.common).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Partner { command: PartnerCommand::Create { name, json } } => {
            let pool = paymesh_identity::open_database(&settings.common).await?;
            let partner = paymesh_identity::admin::create_partner(&pool, &name).await?;
            dev::print_partner(&partner, json)
        }
        Command::Partner { command: PartnerCommand::Dev { state_file } } => {
            let pool = paymesh_identity::open_database(&settings.common).await?;
            let key = dev::dev_partner_key(&pool, &state_file).await?;
            println!("{key}");
            Ok(())
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
/// error, the others are stopped too.
async fn all(mut settings: Settings, stop: CancellationToken) -> anyhow::Result<()> {
    let identity = bind(settings.identity.addr, "identity").await?;
    let gateway = bind(settings.gateway.addr, "gateway").await?;
    // The gateway reaches identity where it really listens.
    settings.common.identity_url = format!("http://{}", identity.local_addr()?);
    tracing::info!(
        gateway = %format!("http://{}", gateway.local_addr()?),
        identity = %settings.common.identity_url,
        "paymesh all: starting"
    );
    let common = settings.common;
    let identity_task = supervised(stop.clone(), {
        let common = common.clone();
        let stop = stop.clone();
        async move { paymesh_identity::serve(&common, identity, stop.cancelled_owned()).await }
    });
    let gateway_task = supervised(stop.clone(), {
        let stop = stop.clone();
        let config = settings.gateway;
        async move { paymesh_gateway::serve(&common, config, gateway, stop.cancelled_owned()).await }
    });
    let (identity, gateway) = tokio::join!(identity_task, gateway_task);
    identity.context("identity")?;
    gateway.context("gateway")?;
    Ok(())
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
