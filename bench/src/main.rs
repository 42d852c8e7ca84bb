//! # paymesh-bench — how fast a payment goes, against the physical limit
//!
//! `make bench` starts a release `paymesh all` on a fresh database with
//! `scripts/scratch-mesh.sh` (free ports, rate limits off, one partner with
//! a test secret key), then runs this binary against it. In one run it
//! measures, and reports side by side with the team's targets:
//!
//! 1. resident memory of the idle mesh and its start-up time to ready;
//! 2. the physical limit: `pgbench` running the SQL writes of one payment
//!    (`scripts/bench-payment.sql`) at every concurrency;
//! 3. REST card payments through the gateway, and the same payments sent
//!    straight to the payments service over gRPC (to show the gateway's
//!    cost), the two back to back at every concurrency, with peak memory,
//!    and the gateway's own cost measured pairwise (one REST and one gRPC
//!    payment in turn on one connection each);
//! 4. the list query `/transactions?status=processed&amount=>50&…` over
//!    a million stored transactions (`scripts/bench-seed.sql`);
//!
//! and, during step 3, every payment's webhook delivery to a receiver on
//! loopback: deliveries per second, and commit-to-arrival p50 and p99.
//!
//! It prints a table, writes `report.json` and `latency.svg` into the
//! output directory, and never prints the API key or a card number.
//!
//! Layout: `load` is the closed-loop load generator (bounded by count and
//! time, every answer checked); `rest` and `grpc` are its two kinds of
//! workers and the REST set-up; `pgbench` and `psql` drive the PostgreSQL
//! tools; `memory` reads `/proc`; `stats` turns latencies into
//! percentiles; `report` holds the results, the targets and the table;
//! `svg` draws the chart; `webhooks` receives and times the deliveries;
//! `progress` tells the person waiting how far it
//! got.

mod grpc;
mod load;
mod memory;
mod pgbench;
mod progress;
mod psql;
mod report;
mod rest;
mod stats;
mod svg;
mod webhooks;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context as _;
use clap::Parser;

use crate::{
    load::Step,
    progress::progress,
    report::{GatewayHop, ListReport, MemoryReport, Report, Settings, StepReport},
};

/// The list query timed over the seeded transactions (issue 8).
const LIST_QUERY: &str = "/transactions?status=processed&amount=>50&order_by=created_at&limit=100";

/// The rows the list query must return: its `limit`.
const LIST_LIMIT: usize = 100;

/// How long the mesh is left alone before its idle memory is read.
const IDLE_SETTLE: Duration = Duration::from_secs(2);

/// The benchmark's settings. Every one can come from the environment, so
/// `make bench BENCH_SECONDS=30` works without touching the Makefile. (No
/// `Debug`: it holds the key.)
#[derive(Parser)]
#[command(name = "paymesh-bench", about = "The paymesh load benchmark (make bench)")]
struct Args {
    /// The gateway's base URL.
    #[arg(long, env = "PAYMESH_URL")]
    gateway: String,
    /// The payments service's gRPC URL.
    #[arg(long, env = "PAYMESH_PAYMENTS_URL")]
    payments: String,
    /// A test secret key of the bench partner (from the environment only: a
    /// command line is visible to every user of the machine).
    #[arg(long, env = "PAYMESH_KEY", hide_env_values = true, hide = true)]
    key: String,
    /// The mesh's database (pgbench and the seeding run there).
    #[arg(long, env = "BENCH_DATABASE_URL", hide_env_values = true)]
    database: String,
    /// The process id of `paymesh all`, for its memory.
    #[arg(long, env = "PAYMESH_PID")]
    mesh_pid: u32,
    /// Milliseconds from spawning `paymesh all` to its gateway's `/readyz`
    /// answering (written by scratch-mesh.sh).
    #[arg(long, env = "PAYMESH_STARTUP_MS")]
    startup_ms: Option<u64>,
    /// Seconds each concurrency step runs.
    #[arg(long, env = "BENCH_SECONDS", default_value_t = 10)]
    seconds: u64,
    /// The concurrencies (connections), comma-separated.
    #[arg(long, env = "BENCH_CONCURRENCY", value_delimiter = ',', default_value = "1,8,32,64")]
    concurrency: Vec<u32>,
    /// At most this many requests per step, whatever the time left.
    #[arg(long, env = "BENCH_MAX_REQUESTS", default_value_t = 1_000_000)]
    max_requests: u64,
    /// Seconds of unrecorded load before each kind of load.
    #[arg(long, env = "BENCH_WARMUP_SECONDS", default_value_t = 2)]
    warmup_seconds: u64,
    /// Transactions stored for the list query.
    #[arg(long, env = "BENCH_LIST_ROWS", default_value_t = 1_000_000)]
    list_rows: u64,
    /// Timed list queries (one connection, one after another).
    #[arg(long, env = "BENCH_LIST_REQUESTS", default_value_t = 200)]
    list_requests: u32,
    /// Where report.json, latency.svg and pgbench's logs go.
    #[arg(long, env = "BENCH_OUT", default_value = "target/bench")]
    out: PathBuf,
    /// The directory of bench-setup.sql, bench-payment.sql and bench-seed.sql.
    #[arg(long, default_value = "scripts")]
    scripts: PathBuf,
    /// The pgbench program.
    #[arg(long, env = "BENCH_PGBENCH", default_value = "pgbench")]
    pgbench: PathBuf,
    /// The psql program.
    #[arg(long, env = "BENCH_PSQL", default_value = "psql")]
    psql: PathBuf,
}

impl Args {
    fn step_time(&self) -> Duration {
        Duration::from_secs(self.seconds)
    }

    fn settings(&self) -> Settings {
        Settings {
            seconds_per_step: self.seconds,
            concurrency: self.concurrency.clone(),
            max_requests_per_step: self.max_requests,
            warmup_seconds: self.warmup_seconds,
            list_rows: self.list_rows,
            list_requests: self.list_requests,
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.concurrency.is_empty() || args.concurrency.contains(&0) {
        eprintln!("paymesh-bench: BENCH_CONCURRENCY must list positive numbers");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("paymesh-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paymesh-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let psql = psql::Psql::new(args.psql.clone(), args.database.clone());
    let machine = report::Machine::read(&psql);
    let pid = args.mesh_pid;

    // 1. The idle mesh.
    tokio::time::sleep(IDLE_SETTLE).await;
    let idle = memory::read(pid).context("cannot read the mesh's memory")?;
    progress!("mesh ready in {} ms; idle RSS {:.1} MB", args.startup_ms.unwrap_or(0), idle.rss_mb());

    // The parties every payment uses: one customer, one card.
    let rest = rest::Rest::new(&args.gateway, &args.key)?;
    let parties = rest.setup().await.context("cannot create the bench customer and card")?;
    let ids = psql.parties(&parties.first_payment).context("cannot read the bench partner's ids")?;
    psql.script(&args.scripts.join("bench-setup.sql"), &[])?;

    // 2. The physical limit: pgbench, the same writes, the same concurrencies.
    let bench = pgbench::Pgbench::new(
        args.pgbench.clone(),
        args.database.clone(),
        args.scripts.join("bench-payment.sql"),
        args.out.join("pgbench"),
        &ids,
    )?;
    progress!("pgbench warm-up ({} s)", args.warmup_seconds);
    bench.step(8, Duration::from_secs(args.warmup_seconds.max(1)), true)?;
    let mut pgbench_steps = Vec::new();
    for &concurrency in &args.concurrency {
        progress!("pgbench: {concurrency} connections, {} s", args.seconds);
        let step = bench.step(concurrency, args.step_time(), false)?;
        pgbench_steps.push(StepReport::from_step(step, None));
    }

    // Every payment of the load is also a webhook delivery.
    let receiver = webhooks::Receiver::default();
    receiver.register(&args.gateway, &args.key).await?;

    // 3. Payments through the gateway and straight to the payments service,
    // one right after the other at each concurrency: the gateway's cost is
    // their difference, so both must see the same database and machine.
    let run_id = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let method = parties.method_id.as_str();
    let grpc = grpc::Grpc::new(&args.payments, &args.key)?;
    warm_up(&args, "REST", rest.payers(8, method, &format!("rest-{run_id}-warmup"))?).await?;
    warm_up(&args, "gRPC", grpc.payers(8, method, &format!("grpc-{run_id}-warmup"))).await?;
    progress!("gateway hop: REST and gRPC payments in turn, one connection each, {} s", args.seconds);
    let rest_payer = rest.payers(1, method, &format!("rest-{run_id}-pair"))?.into_iter().next();
    let grpc_payer = grpc.payers(1, method, &format!("grpc-{run_id}-pair")).into_iter().next();
    let (rest_half, grpc_half) = load::alternate(
        rest_payer.context("no REST payer")?,
        grpc_payer.context("no gRPC payer")?,
        args.step_time(),
        args.max_requests,
    )
    .await;
    let gateway_hop = GatewayHop::new(rest_half, grpc_half);
    let (mut rest_steps, mut grpc_steps) = (Vec::new(), Vec::new());
    for &concurrency in &args.concurrency {
        let tag = format!("{run_id}-c{concurrency}");
        let workers = rest.payers(concurrency, method, &format!("rest-{tag}"))?;
        rest_steps.push(measure(&args, pid, "REST", workers).await);
        let workers = grpc.payers(concurrency, method, &format!("grpc-{tag}"));
        grpc_steps.push(measure(&args, pid, "gRPC", workers).await);
    }
    progress!("waiting for the last webhook deliveries");
    let webhooks = receiver.settle(Duration::from_secs(3)).await;
    tokio::time::sleep(IDLE_SETTLE).await;
    let after_load = memory::read(pid).context("cannot read the mesh's memory")?;

    // 4. The list query over a million stored transactions.
    progress!("storing {} transactions for the list query", args.list_rows);
    let seeded = std::time::Instant::now();
    psql.seed(&args.scripts.join("bench-seed.sql"), &ids, args.list_rows)?;
    progress!("stored in {:.0} s; timing {LIST_QUERY}", seeded.elapsed().as_secs_f64());
    let list = rest.list_timing(LIST_QUERY, LIST_LIMIT, args.list_requests).await?;
    let stored = psql.count_transactions(&ids.partner_id)?;
    let peak = memory::read(pid).context("cannot read the mesh's memory")?;

    let report = Report::new(
        machine,
        args.settings(),
        args.startup_ms,
        MemoryReport::new(&idle, &after_load, &peak, rest_steps.iter().chain(&grpc_steps)),
        (rest_steps, grpc_steps, pgbench_steps),
        gateway_hop,
        (ListReport::new(LIST_QUERY, stored, &list), webhooks),
    );
    report.write(&args.out)?;
    print!("{}", report.table());
    progress!(
        "wrote {} and {}",
        args.out.join("report.json").display(),
        args.out.join("latency.svg").display()
    );
    Ok(())
}

/// Unrecorded load (connections opened, caches and pools filled); fails
/// when not one payment goes through, since nothing after would either.
async fn warm_up<W: load::Worker>(args: &Args, kind: &str, workers: Vec<W>) -> anyhow::Result<()> {
    progress!("{kind} warm-up ({} s)", args.warmup_seconds);
    let warmup_time = Duration::from_secs(args.warmup_seconds.max(1));
    let warmup = load::run(workers, warmup_time, args.max_requests).await;
    if warmup.ok == 0 {
        anyhow::bail!("{kind}: no payment succeeded during the warm-up: {}", warmup.describe_errors());
    }
    Ok(())
}

/// One step of payment load (one worker, one connection each), sampling
/// the mesh's memory as it goes.
async fn measure<W: load::Worker>(args: &Args, pid: u32, kind: &str, workers: Vec<W>) -> StepReport {
    let concurrency = workers.len();
    progress!("{kind}: {concurrency} connections, {} s", args.seconds);
    let sampler = memory::Sampler::start(pid);
    let step: Step = load::run(workers, args.step_time(), args.max_requests).await;
    let peak_rss = sampler.stop().await;
    if step.errors() > 0 {
        progress!("{kind}: {concurrency} connections: {}", step.describe_errors());
    }
    StepReport::from_step(step, peak_rss)
}
