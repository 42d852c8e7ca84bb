//! The results of one run: what was measured, the machine it ran on, the
//! team's targets beside the figures; as JSON (`report.json`), a chart
//! (`latency.svg`) and a table for the terminal.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use anyhow::Context as _;
use serde::Serialize;

use crate::{
    load::Step,
    memory::{Memory, kb_to_mb},
    psql::Psql,
    rest::ListTiming,
    svg,
    webhooks::WebhookReport,
};

/// The targets the team works toward (issue 8).
const TARGET_CEILING_SHARE: f64 = 0.60;
const TARGET_P99_MS: f64 = 30.0;
const TARGET_P99_AT: u32 = 32;
const TARGET_HOP_P50_MS: f64 = 0.3;
const TARGET_LIST_P99_MS: f64 = 20.0;
const TARGET_IDLE_RSS_MB: f64 = 120.0;

/// Where the figures came from.
#[derive(Debug, Serialize)]
pub(crate) struct Machine {
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    pub(crate) memory_gb: f64,
    pub(crate) kernel: String,
    /// `server_version` as the server reports it.
    pub(crate) postgres: String,
    /// The server settings that bound the write ceiling.
    pub(crate) postgres_settings: BTreeMap<String, String>,
}

impl Machine {
    /// The server's version number alone ("15.20", not its build details).
    fn postgres_version(&self) -> &str {
        self.postgres.split_whitespace().next().unwrap_or("unknown")
    }

    /// This machine, and the server behind `psql`; "unknown" where a value
    /// cannot be read.
    pub(crate) fn read(psql: &Psql) -> Self {
        let file = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpuinfo = file("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim()))
            .unwrap_or("unknown")
            .to_owned();
        let meminfo = file("/proc/meminfo");
        let memory_kb = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        let show = |name: &str| psql.value(&format!("SHOW {name}")).unwrap_or_else(|_| "unknown".to_owned());
        let postgres_settings = ["max_connections", "shared_buffers", "synchronous_commit", "fsync"]
            .into_iter()
            .map(|name| (name.to_owned(), show(name)))
            .collect();
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            memory_gb: (kb_to_mb(memory_kb) / 1024.0 * 10.0).round() / 10.0,
            kernel: file("/proc/sys/kernel/osrelease").trim().to_owned(),
            postgres: show("server_version"),
            postgres_settings,
        }
    }
}

/// How the run was set up.
#[derive(Debug, Serialize)]
pub(crate) struct Settings {
    pub(crate) seconds_per_step: u64,
    pub(crate) concurrency: Vec<u32>,
    pub(crate) max_requests_per_step: u64,
    pub(crate) warmup_seconds: u64,
    pub(crate) list_rows: u64,
    pub(crate) list_requests: u32,
}

/// One concurrency step of one kind of load.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct StepReport {
    pub(crate) concurrency: u32,
    /// Requests (payments, or pgbench transactions) that passed every check.
    pub(crate) ok: u64,
    pub(crate) errors: u64,
    pub(crate) error_kinds: BTreeMap<String, u64>,
    pub(crate) seconds: f64,
    pub(crate) per_second: f64,
    pub(crate) mean_ms: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    /// The mesh's largest resident memory during the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) peak_rss_mb: Option<f64>,
}

impl StepReport {
    pub(crate) fn from_step(step: Step, peak_rss_kb: Option<u64>) -> Self {
        let per_second = step.per_second();
        let errors = step.errors();
        let error_kinds = step.failures.iter().map(|(failure, n)| (failure.0.clone(), *n)).collect();
        let latency = step.latencies.summary();
        Self {
            concurrency: step.concurrency,
            ok: step.ok,
            errors,
            error_kinds,
            seconds: round(step.elapsed.as_secs_f64(), 2),
            per_second: round(per_second, 1),
            mean_ms: round(latency.mean_ms, 3),
            p50_ms: round(latency.p50_ms, 3),
            p95_ms: round(latency.p95_ms, 3),
            p99_ms: round(latency.p99_ms, 3),
            max_ms: round(latency.max_ms, 3),
            peak_rss_mb: peak_rss_kb.map(|kb| round(kb_to_mb(kb), 1)),
        }
    }
}

/// The mesh's memory.
#[derive(Debug, Serialize)]
pub(crate) struct MemoryReport {
    /// Resident right after start-up, before any request.
    pub(crate) idle_mb: f64,
    /// The largest resident memory sampled (every 100 ms) under payment load.
    pub(crate) peak_load_mb: Option<f64>,
    /// The kernel's high-water mark at the end of the run (`VmHWM`), which
    /// also covers the list queries.
    pub(crate) high_water_mb: f64,
    /// Resident once the payment load stopped.
    pub(crate) idle_after_load_mb: f64,
}

impl MemoryReport {
    pub(crate) fn new<'a>(
        idle: &Memory,
        after_load: &Memory,
        end: &Memory,
        steps: impl Iterator<Item = &'a StepReport>,
    ) -> Self {
        Self {
            idle_mb: round(idle.rss_mb(), 1),
            peak_load_mb: steps.filter_map(|s| s.peak_rss_mb).reduce(f64::max),
            high_water_mb: round(end.hwm_mb(), 1),
            idle_after_load_mb: round(after_load.rss_mb(), 1),
        }
    }
}

/// The list query over the stored transactions.
#[derive(Debug, Serialize)]
pub(crate) struct ListReport {
    pub(crate) query: String,
    /// The partner's transactions when the query ran (seeded and paid).
    pub(crate) stored_transactions: u64,
    pub(crate) requests: u32,
    pub(crate) errors: u32,
    pub(crate) mean_ms: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
}

impl ListReport {
    pub(crate) fn new(query: &str, stored: u64, timing: &ListTiming) -> Self {
        Self {
            query: query.to_owned(),
            stored_transactions: stored,
            requests: timing.requests,
            errors: timing.errors,
            mean_ms: round(timing.latency.mean_ms, 3),
            p50_ms: round(timing.latency.p50_ms, 3),
            p99_ms: round(timing.latency.p99_ms, 3),
            max_ms: round(timing.latency.max_ms, 3),
        }
    }
}

/// Payments at every concurrency, three ways.
#[derive(Debug, Serialize)]
pub(crate) struct Payments {
    /// `POST /transactions` through the gateway.
    pub(crate) rest: Vec<StepReport>,
    /// `CreateTransaction` straight to the payments service.
    pub(crate) grpc: Vec<StepReport>,
    /// The same SQL writes through pgbench: the ceiling.
    pub(crate) pgbench: Vec<StepReport>,
}

/// The gateway's cost on a payment: one REST payment and one gRPC payment
/// in turn on one connection each ([`crate::load::alternate`]), so both
/// halves see the same moments of the machine.
#[derive(Debug, Serialize)]
pub(crate) struct GatewayHop {
    pub(crate) pairs: u64,
    pub(crate) errors: u64,
    pub(crate) rest_p50_ms: f64,
    pub(crate) grpc_p50_ms: f64,
    /// REST p50 − gRPC p50: what the gateway adds to a payment.
    pub(crate) p50_difference_ms: f64,
    pub(crate) rest_p99_ms: f64,
    pub(crate) grpc_p99_ms: f64,
}

impl GatewayHop {
    pub(crate) fn new(rest: Step, grpc: Step) -> Self {
        let (rest_errors, grpc_errors) = (rest.errors(), grpc.errors());
        let pairs = rest.ok.min(grpc.ok);
        let (rest, grpc) = (rest.latencies.summary(), grpc.latencies.summary());
        Self {
            pairs,
            errors: rest_errors + grpc_errors,
            rest_p50_ms: round(rest.p50_ms, 3),
            grpc_p50_ms: round(grpc.p50_ms, 3),
            p50_difference_ms: round(rest.p50_ms - grpc.p50_ms, 3),
            rest_p99_ms: round(rest.p99_ms, 3),
            grpc_p99_ms: round(grpc.p99_ms, 3),
        }
    }
}

/// paymesh against the ceiling, and the gateway's cost, at one concurrency.
#[derive(Debug, Serialize)]
pub(crate) struct Comparison {
    pub(crate) concurrency: u32,
    /// REST payments/s ÷ pgbench transactions/s.
    pub(crate) rest_over_pgbench: Option<f64>,
    /// gRPC payments/s ÷ pgbench transactions/s.
    pub(crate) grpc_over_pgbench: Option<f64>,
    /// REST p50 − gRPC p50 of the two steps (measured one after the
    /// other; the paired [`GatewayHop`] is the finer measure).
    pub(crate) gateway_p50_ms: Option<f64>,
}

/// One target beside its figure.
#[derive(Debug, Serialize)]
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) goal: String,
    /// The measured value in `unit`; `None` when the run did not measure it.
    pub(crate) measured: Option<f64>,
    pub(crate) unit: &'static str,
    pub(crate) met: Option<bool>,
}

/// Everything one run measured.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) generated_at: String,
    pub(crate) machine: Machine,
    pub(crate) settings: Settings,
    /// From spawning `paymesh all` on a fresh database to `/readyz`.
    pub(crate) startup_ms: Option<u64>,
    pub(crate) memory: MemoryReport,
    pub(crate) payments: Payments,
    pub(crate) gateway_hop: GatewayHop,
    pub(crate) comparison: Vec<Comparison>,
    pub(crate) list: ListReport,
    /// Webhook deliveries of the payments of the load.
    pub(crate) webhooks: WebhookReport,
    pub(crate) targets: Vec<Target>,
}

impl Report {
    pub(crate) fn new(
        machine: Machine,
        settings: Settings,
        startup_ms: Option<u64>,
        memory: MemoryReport,
        (rest, grpc, pgbench): (Vec<StepReport>, Vec<StepReport>, Vec<StepReport>),
        gateway_hop: GatewayHop,
        (list, webhooks): (ListReport, WebhookReport),
    ) -> Self {
        let payments = Payments { rest, grpc, pgbench };
        let comparison = compare(&payments);
        let targets = targets(&payments, &gateway_hop, &list, &memory);
        Self {
            generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            machine,
            settings,
            startup_ms,
            memory,
            payments,
            gateway_hop,
            comparison,
            list,
            webhooks,
            targets,
        }
    }

    /// Writes `report.json` and `latency.svg` into `dir`.
    pub(crate) fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self).context("cannot encode the report")?;
        let path = dir.join("report.json");
        std::fs::write(&path, json + "\n").with_context(|| format!("cannot write {}", path.display()))?;
        let path = dir.join("latency.svg");
        std::fs::write(&path, self.chart()).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    /// Latency (p50 and p99) and throughput against concurrency, for REST,
    /// gRPC and pgbench.
    pub(crate) fn chart(&self) -> String {
        let kinds = [
            ("REST (gateway)", "#1f6fb4", &self.payments.rest),
            ("gRPC (payments)", "#2a9d3a", &self.payments.grpc),
            ("pgbench (SQL)", "#7a7a7a", &self.payments.pgbench),
        ];
        let points = |steps: &[StepReport], value: fn(&StepReport) -> f64| {
            steps.iter().filter(|s| s.ok > 0).map(|s| (s.concurrency, value(s))).collect::<Vec<_>>()
        };
        let mut latency = Vec::new();
        let mut throughput = Vec::new();
        for (label, color, steps) in kinds {
            latency.push(svg::Series::new(format!("{label} p50"), color, false, points(steps, |s| s.p50_ms)));
            latency.push(svg::Series::new(format!("{label} p99"), color, true, points(steps, |s| s.p99_ms)));
            throughput.push(svg::Series::new(label, color, false, points(steps, |s| s.per_second)));
        }
        let panels = [
            svg::Panel {
                title: "Latency".to_owned(),
                y_label: "ms (log scale)".to_owned(),
                series: latency,
                guides: vec![(TARGET_P99_MS, format!("p99 target {TARGET_P99_MS} ms"))],
                log_scale: true,
            },
            svg::Panel {
                title: "Throughput".to_owned(),
                y_label: "payments / s".to_owned(),
                series: throughput,
                guides: Vec::new(),
                log_scale: false,
            },
        ];
        let subtitle = format!(
            "{} · {} cores · PostgreSQL {} · {} s per step · {}",
            self.machine.cpu,
            self.machine.cores,
            self.machine.postgres_version(),
            self.settings.seconds_per_step,
            self.generated_at
        );
        svg::chart("paymesh card payments by concurrency", &subtitle, &self.settings.concurrency, &panels)
    }

    /// The report for a terminal.
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(
            out,
            "\npaymesh bench · {} · {}, {} cores, {} GB · PostgreSQL {} · {} s per step\n",
            self.generated_at,
            m.cpu,
            m.cores,
            m.memory_gb,
            m.postgres_version(),
            self.settings.seconds_per_step
        );
        let _ = writeln!(
            out,
            "{:<20} {:>5} {:>11} {:>8} {:>8} {:>8} {:>8} {:>7} {:>10}",
            "card payments",
            "conn",
            "payments/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "errors",
            "÷ pgbench"
        );
        let kinds = [
            ("REST via gateway", &self.payments.rest, true),
            ("gRPC to payments", &self.payments.grpc, true),
            ("pgbench, SQL only", &self.payments.pgbench, false),
        ];
        for (label, steps, compared) in kinds {
            for step in steps {
                let share = if compared {
                    ceiling_at(&self.payments.pgbench, step.concurrency)
                        .map(|ceiling| percent(step.per_second / ceiling))
                        .unwrap_or_else(|| "-".to_owned())
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "{:<20} {:>5} {:>11.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>10}",
                    label,
                    step.concurrency,
                    step.per_second,
                    step.p50_ms,
                    step.p95_ms,
                    step.p99_ms,
                    step.max_ms,
                    step.errors,
                    share
                );
            }
        }
        let costs: Vec<String> = self
            .comparison
            .iter()
            .filter_map(|c| c.gateway_p50_ms.map(|ms| format!("{} conn {ms:.2} ms", c.concurrency)))
            .collect();
        let hop = &self.gateway_hop;
        let _ = writeln!(
            out,
            "\ngateway  in turn on 1 connection ({} pairs): REST p50 {:.2} ms, gRPC p50 {:.2} ms: +{:.2} ms",
            hop.pairs, hop.rest_p50_ms, hop.grpc_p50_ms, hop.p50_difference_ms
        );
        if !costs.is_empty() {
            let _ = writeln!(out, "         REST p50 − gRPC p50 of the steps: {}", costs.join(" · "));
        }
        let l = &self.list;
        let _ = writeln!(out, "list     {}", l.query);
        let _ = writeln!(
            out,
            "         over {} stored transactions: p50 {:.2} ms, p99 {:.2} ms ({} requests, {} errors)",
            thousands(l.stored_transactions),
            l.p50_ms,
            l.p99_ms,
            l.requests,
            l.errors
        );
        let w = &self.webhooks;
        let _ = writeln!(
            out,
            "webhooks {} deliveries of the load's payments, {:.1}/s; commit to arrival p50 {} ms, p99 {} ms",
            w.delivered, w.per_second, w.p50_ms, w.p99_ms
        );
        let mem = &self.memory;
        let _ = writeln!(
            out,
            "memory   idle {:.1} MB · peak under load {} · high-water {:.1} MB · idle after load {:.1} MB",
            mem.idle_mb,
            mem.peak_load_mb.map_or_else(|| "-".to_owned(), |mb| format!("{mb:.1} MB")),
            mem.high_water_mb,
            mem.idle_after_load_mb
        );
        let _ = writeln!(
            out,
            "start-up {} to ready (paymesh all on a fresh database, migrations included)",
            self.startup_ms.map_or_else(|| "-".to_owned(), |ms| format!("{ms} ms"))
        );
        let _ = writeln!(out, "\n{:<44} {:>10} {:>10}", "targets", "goal", "measured");
        for t in &self.targets {
            let measured = t.measured.map_or_else(|| "-".to_owned(), |v| with_unit(v, t.unit));
            let verdict = match t.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "not measured",
            };
            let _ = writeln!(out, "{:<44} {:>10} {:>10}  {verdict}", t.name, t.goal, measured);
        }
        out
    }
}

/// pgbench's rate at `concurrency`, if it ran and did anything.
fn ceiling_at(pgbench: &[StepReport], concurrency: u32) -> Option<f64> {
    pgbench.iter().find(|s| s.concurrency == concurrency).map(|s| s.per_second).filter(|&r| r > 0.0)
}

fn compare(payments: &Payments) -> Vec<Comparison> {
    payments
        .rest
        .iter()
        .map(|rest| {
            let ceiling = ceiling_at(&payments.pgbench, rest.concurrency);
            let grpc = payments.grpc.iter().find(|g| g.concurrency == rest.concurrency);
            Comparison {
                concurrency: rest.concurrency,
                rest_over_pgbench: ceiling.map(|c| round(rest.per_second / c, 3)),
                grpc_over_pgbench: ceiling.zip(grpc).map(|(c, g)| round(g.per_second / c, 3)),
                gateway_p50_ms: grpc
                    .filter(|g| g.ok > 0 && rest.ok > 0)
                    .map(|g| round(rest.p50_ms - g.p50_ms, 3)),
            }
        })
        .collect()
}

fn best_rate(steps: &[StepReport]) -> Option<f64> {
    steps.iter().map(|s| s.per_second).filter(|&r| r > 0.0).reduce(f64::max)
}

fn target(
    name: String,
    goal: String,
    measured: Option<f64>,
    unit: &'static str,
    ok: fn(f64) -> bool,
) -> Target {
    Target { name, goal, met: measured.map(ok), measured: measured.map(|v| round(v, 3)), unit }
}

fn targets(payments: &Payments, hop: &GatewayHop, list: &ListReport, memory: &MemoryReport) -> Vec<Target> {
    let share = best_rate(&payments.rest).zip(best_rate(&payments.pgbench)).map(|(r, p)| r / p * 100.0);
    let p99_at = payments.rest.iter().find(|s| s.concurrency == TARGET_P99_AT && s.ok > 0).map(|s| s.p99_ms);
    // One connection each way, in turn: no queueing, only the gateway's
    // own work and its extra hop.
    let hop_p50 = (hop.pairs > 0).then_some(hop.p50_difference_ms);
    let list_p99 = (list.requests > list.errors).then_some(list.p99_ms);
    vec![
        target(
            "best REST payments/s ÷ best pgbench tps".to_owned(),
            format!("≥ {:.0}%", TARGET_CEILING_SHARE * 100.0),
            share,
            "%",
            |v| v >= TARGET_CEILING_SHARE * 100.0,
        ),
        target(
            format!("REST p99 at {TARGET_P99_AT} connections"),
            format!("≤ {TARGET_P99_MS} ms"),
            p99_at,
            "ms",
            |v| v <= TARGET_P99_MS,
        ),
        target(
            "gateway hop, paired REST p50 − gRPC p50".to_owned(),
            format!("≤ {TARGET_HOP_P50_MS} ms"),
            hop_p50,
            "ms",
            |v| v <= TARGET_HOP_P50_MS,
        ),
        target("list query p99".to_owned(), format!("≤ {TARGET_LIST_P99_MS} ms"), list_p99, "ms", |v| {
            v <= TARGET_LIST_P99_MS
        }),
        target(
            "idle RSS of paymesh all".to_owned(),
            format!("≤ {TARGET_IDLE_RSS_MB} MB"),
            Some(memory.idle_mb),
            "MB",
            |v| v <= TARGET_IDLE_RSS_MB,
        ),
    ]
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// A measured value for the table: percentages whole, milliseconds to
/// the hundredth, megabytes to the tenth.
fn with_unit(value: f64, unit: &str) -> String {
    match unit {
        "%" => format!("{value:.0}%"),
        "ms" => format!("{value:.2} ms"),
        _ => format!("{value:.1} {unit}"),
    }
}

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

/// 1000000 → "1,000,000".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(concurrency: u32, per_second: f64, p50_ms: f64, p99_ms: f64) -> StepReport {
        StepReport {
            concurrency,
            ok: 100,
            errors: 0,
            error_kinds: BTreeMap::new(),
            seconds: 10.0,
            per_second,
            mean_ms: p50_ms,
            p50_ms,
            p95_ms: p99_ms,
            p99_ms,
            max_ms: p99_ms,
            peak_rss_mb: Some(80.0),
        }
    }

    fn report() -> Report {
        let machine = Machine {
            cpu: "Test CPU".to_owned(),
            cores: 2,
            memory_gb: 8.0,
            kernel: "6.1".to_owned(),
            postgres: "15.4".to_owned(),
            postgres_settings: BTreeMap::new(),
        };
        let settings = Settings {
            seconds_per_step: 10,
            concurrency: vec![1, 32],
            max_requests_per_step: 1000,
            warmup_seconds: 1,
            list_rows: 1_000_000,
            list_requests: 200,
        };
        let memory = MemoryReport {
            idle_mb: 50.0,
            peak_load_mb: Some(90.0),
            high_water_mb: 95.0,
            idle_after_load_mb: 60.0,
        };
        let list = ListReport {
            query: "/transactions?limit=100".to_owned(),
            stored_transactions: 1_000_042,
            requests: 200,
            errors: 0,
            mean_ms: 4.0,
            p50_ms: 3.5,
            p99_ms: 25.0,
            max_ms: 30.0,
        };
        Report::new(
            machine,
            settings,
            Some(900),
            memory,
            (
                vec![step(1, 100.0, 9.0, 12.0), step(32, 700.0, 40.0, 45.0)],
                vec![step(1, 120.0, 8.0, 10.0), step(32, 800.0, 35.0, 40.0)],
                vec![step(1, 400.0, 2.0, 3.0), step(32, 1000.0, 30.0, 35.0)],
            ),
            GatewayHop {
                pairs: 400,
                errors: 0,
                rest_p50_ms: 9.0,
                grpc_p50_ms: 8.5,
                p50_difference_ms: 0.5,
                rest_p99_ms: 12.0,
                grpc_p99_ms: 10.0,
            },
            (list, WebhookReport { delivered: 1200, per_second: 150.0, p50_ms: 420, p99_ms: 900 }),
        )
    }

    #[test]
    fn targets_compare_the_best_rates_and_the_named_points() {
        let report = report();
        let by_name = |prefix: &str| report.targets.iter().find(|t| t.name.starts_with(prefix)).unwrap();
        let share = by_name("best REST");
        assert_eq!((share.measured, share.met), (Some(70.0), Some(true)));
        let p99 = by_name("REST p99 at 32");
        assert_eq!((p99.measured, p99.met), (Some(45.0), Some(false)));
        let hop = by_name("gateway hop");
        // The paired measure, not the difference of the steps (1 ms here).
        assert_eq!((hop.measured, hop.met), (Some(0.5), Some(false)));
        assert_eq!(by_name("list").met, Some(false));
        assert_eq!(by_name("idle RSS").met, Some(true));
        assert_eq!(report.comparison[1].rest_over_pgbench, Some(0.7));
        assert_eq!(report.comparison[0].gateway_p50_ms, Some(1.0));
    }

    #[test]
    fn the_table_has_a_row_per_step_and_a_line_per_target() {
        let table = report().table();
        let rows = |label: &str| table.lines().filter(|l| l.starts_with(label)).count();
        assert_eq!(rows("REST via gateway"), 2);
        assert_eq!(rows("gRPC to payments"), 2);
        assert_eq!(rows("pgbench, SQL only"), 2);
        // The REST row at 32 connections shows its share of pgbench's rate.
        let row = table.lines().find(|l| l.starts_with("REST via gateway") && l.contains(" 32 ")).unwrap();
        assert!(row.trim_end().ends_with("70%"), "{row}");
        assert!(table.contains("over 1,000,042 stored transactions"), "{table}");
        assert_eq!(table.matches("MISSED").count(), 3, "{table}");
        assert_eq!(table.lines().filter(|l| l.ends_with(" met")).count(), 2, "{table}");
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
