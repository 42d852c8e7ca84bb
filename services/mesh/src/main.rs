//! # paymesh — the one binary of the mesh
//!
//! A thin command line over the mesh library (`paymesh_mesh`): `paymesh
//! all` runs every service and the gateway in one process (they still talk
//! gRPC to each other over loopback); `paymesh identity`, `paymesh
//! methods`, `paymesh intents`, `paymesh payments` or `paymesh gateway`
//! runs one, as Kubernetes does with one Deployment per service (the
//! `-target` pattern of Grafana Loki and Mimir). The other subcommands are
//! for operators: `migrate`, `partner create` / `partner dev` to issue API
//! keys, `document review`, and `vault rotate-kek`.
//!
//! Configuration comes from `PAYMESH_*` variables (see the README); every
//! invalid one is reported before anything starts.

mod dev;

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use paymesh_kit::{
    config::{CommonConfig, Env},
    telemetry,
};
use paymesh_mesh::{Mesh, Settings, Target};
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
    #[command(flatten)]
    Serve(Target),
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

fn settings() -> Result<Settings, paymesh_kit::config::ConfigError> {
    let mut env = Env::from_process();
    let settings = Settings::read(&mut env);
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
    let process = match &command {
        Command::Serve(target) => target.process(),
        _ => "paymesh".to_owned(),
    };
    let _telemetry = telemetry::init(&process, &settings.common.telemetry)?;
    match command {
        Command::Serve(target) => serve(target, settings).await,
        Command::Migrate => {
            paymesh_mesh::migrate(&settings.common).await?;
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

/// Runs `target` until Ctrl-C or SIGTERM, with `/metrics` beside it.
async fn serve(target: Target, settings: Settings) -> anyhow::Result<()> {
    let stop = stop_on_signal();
    serve_metrics(&settings.common, &stop).await?;
    let mesh = Mesh::bind(settings, &target.services()).await?;
    let answers: Vec<String> =
        target.services().iter().filter_map(|s| Some(format!("{}={}", s.name(), mesh.addr(*s)?))).collect();
    tracing::info!(listening = %answers.join(" "), "paymesh: starting");
    mesh.run(stop).await
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
