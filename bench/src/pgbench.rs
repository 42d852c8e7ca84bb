//! The physical limit: `pgbench` running the SQL writes of one payment
//! (`scripts/bench-payment.sql`) on the mesh's own database, at the same
//! concurrencies as the load. Its transactions per second are the ceiling
//! paymesh is compared with; its per-transaction log gives the latencies.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::Context as _;

use crate::{
    load::{Failure, Step},
    psql::Ids,
    stats::Latencies,
};

/// pgbench with the payment script and its variables.
pub(crate) struct Pgbench {
    program: PathBuf,
    database: String,
    script: PathBuf,
    logs: PathBuf,
    vars: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Pgbench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pgbench").field("script", &self.script).finish_non_exhaustive()
    }
}

impl Pgbench {
    /// pgbench writes as a partner of its own (a fresh id), so its rows
    /// stay out of the bench partner's lists, but with the bench's
    /// processing account, customer and method: the same rows and index
    /// entries a payment makes, and the same hot balance rows (one
    /// processing account for every payment, as in the load).
    pub(crate) fn new(
        program: PathBuf,
        database: String,
        script: PathBuf,
        logs: PathBuf,
        ids: &Ids,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(script.is_file(), "no pgbench script at {}", script.display());
        let vars = vec![
            ("partner", uuid::Uuid::now_v7().to_string()),
            ("processing", ids.processing_id.clone()),
            ("customer", ids.customer_id.clone()),
            ("method", ids.method_id.clone()),
        ];
        Ok(Self { program, database, script, logs, vars })
    }

    /// Runs the script for `duration` on `concurrency` connections. A
    /// warm-up keeps no log.
    pub(crate) fn step(&self, concurrency: u32, duration: Duration, warmup: bool) -> anyhow::Result<Step> {
        let dir = self.logs.join(if warmup { "warmup".to_owned() } else { format!("c{concurrency}") });
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut command = Command::new(&self.program);
        command
            .args(["--no-vacuum", "--protocol=prepared"])
            .arg(format!("--file={}", self.script.display()))
            .arg(format!("--client={concurrency}"))
            // pgbench's own threads: one per core here is plenty.
            .arg(format!("--jobs={}", concurrency.min(2)))
            .arg(format!("--time={}", duration.as_secs().max(1)));
        for (name, value) in &self.vars {
            command.arg(format!("--define={name}={value}"));
        }
        if !warmup {
            command.arg("--log").arg(format!("--log-prefix={}", dir.join("tx").display()));
        }
        command.arg(&self.database);
        let output = command.output().with_context(|| format!("cannot run {}", self.program.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let summary = parse_summary(&stdout);
        let mut step = Step {
            concurrency,
            elapsed: duration,
            ok: 0,
            failures: BTreeMap::new(),
            latencies: Latencies::default(),
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let why = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
            crate::progress::progress!("pgbench at {concurrency} connections failed: {why}");
            step.failures.insert(Failure(format!("pgbench exited with {}", output.status)), 1);
        }
        if warmup {
            return Ok(step);
        }
        let (latencies, failed) = read_logs(&dir)?;
        step.ok = latencies.len() as u64;
        step.latencies = latencies;
        let failed = failed.max(summary.failed);
        if failed > 0 {
            step.failures.insert(Failure("failed transaction".to_owned()), failed);
        }
        // pgbench's own rate, without connection set-up, sets the time.
        if let Some(tps) = summary.tps.filter(|&tps| tps > 0.0) {
            step.elapsed = Duration::from_secs_f64(step.ok as f64 / tps);
        }
        Ok(step)
    }
}

/// What pgbench prints at the end of a run.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Summary {
    pub(crate) tps: Option<f64>,
    pub(crate) failed: u64,
}

/// Reads `tps = …` and `number of failed transactions: …` from pgbench's
/// standard output.
pub(crate) fn parse_summary(stdout: &str) -> Summary {
    let mut summary = Summary::default();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("tps = ") {
            summary.tps = rest.split_whitespace().next().and_then(|v| v.parse().ok());
        } else if let Some(rest) = line.strip_prefix("number of failed transactions: ") {
            summary.failed = rest.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0);
        }
    }
    summary
}

/// The latencies (µs) of every logged transaction in `dir`, and how many
/// failed. A log line is `client transaction time script epoch µs …`,
/// where `time` is the latency in µs, or `failed`/`skipped`.
fn read_logs(dir: &Path) -> anyhow::Result<(Latencies, u64)> {
    let mut latencies = Latencies::default();
    let mut failed = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let (file_latencies, file_failed) = parse_log(&text);
        latencies.extend(file_latencies);
        failed += file_failed;
    }
    Ok((latencies, failed))
}

pub(crate) fn parse_log(text: &str) -> (Latencies, u64) {
    let mut latencies = Latencies::default();
    let mut failed = 0;
    for line in text.lines() {
        if let Some(time) = line.split_whitespace().nth(2) {
            match time.parse::<u64>() {
                Ok(micros) => latencies.record_micros(micros),
                Err(_) => failed += 1,
            }
        }
    }
    (latencies, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_gives_the_rate_and_the_failures() {
        let stdout = "transaction type: scripts/bench-payment.sql\nnumber of clients: 8\n\
                      number of transactions actually processed: 12000\n\
                      number of failed transactions: 3 (0.025%)\nlatency average = 6.480 ms\n\
                      tps = 1234.567890 (without initial connection time)\n";
        assert_eq!(parse_summary(stdout), Summary { tps: Some(1234.56789), failed: 3 });
        assert_eq!(parse_summary(""), Summary::default());
    }

    #[test]
    fn log_lines_give_latencies_and_failures() {
        let log =
            "0 0 1520 0 1700000000 123456\n0 1 980 0 1700000000 125000\n1 0 failed 0 1700000000 126000\n";
        let (latencies, failed) = parse_log(log);
        assert_eq!(failed, 1);
        let summary = latencies.summary();
        assert_eq!(summary.count, 2);
        assert_eq!(summary.max_ms, 1.52);
    }
}
