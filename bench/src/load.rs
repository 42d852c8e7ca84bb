//! The closed-loop load generator: N workers, each with its own
//! connection, send one request after another until the step's time is up
//! or its request budget is spent. Every answer is checked; a failure is
//! counted by kind and kept out of the latencies.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use crate::stats::Latencies;

/// What was wrong with one answer, in a few words that group alike
/// failures ("HTTP 503", "status declined", "timeout").
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Failure(pub(crate) String);

/// One connection's worth of load: sends request `seq` and checks it.
pub(crate) trait Worker: Send + 'static {
    /// Sends request number `seq` (unique in its step) and checks the
    /// answer completely (status and body).
    fn call(&mut self, seq: u64) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// What one step measured.
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) concurrency: u32,
    /// From the first request to the last answer.
    pub(crate) elapsed: Duration,
    /// Answers that passed every check.
    pub(crate) ok: u64,
    /// Failures by kind.
    pub(crate) failures: BTreeMap<Failure, u64>,
    /// Latencies of the answers that passed.
    pub(crate) latencies: Latencies,
}

impl Step {
    /// Every failure.
    pub(crate) fn errors(&self) -> u64 {
        self.failures.values().sum()
    }

    /// Successful requests a second.
    pub(crate) fn per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 { self.ok as f64 / seconds } else { 0.0 }
    }

    /// The failures, for a person ("3 × HTTP 503, 1 × timeout").
    pub(crate) fn describe_errors(&self) -> String {
        if self.failures.is_empty() {
            return "no errors".to_owned();
        }
        let parts: Vec<String> =
            self.failures.iter().map(|(failure, n)| format!("{n} × {}", failure.0)).collect();
        parts.join(", ")
    }
}

/// Runs `workers` together (the concurrency is their number) for at most
/// `duration` and at most `max_requests` requests in all. A request in
/// flight when the time is up is finished and counted.
pub(crate) async fn run<W: Worker>(workers: Vec<W>, duration: Duration, max_requests: u64) -> Step {
    let concurrency = u32::try_from(workers.len()).unwrap_or(u32::MAX);
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|mut worker| {
            let issued = issued.clone();
            tokio::spawn(async move {
                let mut latencies = Latencies::with_capacity(4096);
                let mut failures: BTreeMap<Failure, u64> = BTreeMap::new();
                while Instant::now() < deadline {
                    let seq = issued.fetch_add(1, Ordering::Relaxed);
                    if seq >= max_requests {
                        break;
                    }
                    let sent = Instant::now();
                    match worker.call(seq).await {
                        Ok(()) => latencies.record(sent.elapsed()),
                        Err(failure) => *failures.entry(failure).or_default() += 1,
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut step = Step {
        concurrency,
        elapsed: Duration::ZERO,
        ok: 0,
        failures: BTreeMap::new(),
        latencies: Latencies::default(),
    };
    for task in tasks {
        match task.await {
            Ok((latencies, failures)) => {
                step.ok += latencies.len() as u64;
                step.latencies.extend(latencies);
                for (failure, n) in failures {
                    *step.failures.entry(failure).or_default() += n;
                }
            }
            Err(e) => *step.failures.entry(Failure(format!("worker panicked: {e}"))).or_default() += 1,
        }
    }
    step.elapsed = started.elapsed();
    step
}

/// Two workers taking turns on one schedule, `a` then `b`, until
/// `duration` is over or `max_pairs` pairs were sent. Slow drift (the
/// disk's flush times, other work on the machine) then weighs on both
/// alike, so the difference of their latencies is what separates them.
pub(crate) async fn alternate<A: Worker, B: Worker>(
    mut a: A,
    mut b: B,
    duration: Duration,
    max_pairs: u64,
) -> (Step, Step) {
    let started = Instant::now();
    let deadline = started + duration;
    let mut steps = [(); 2].map(|()| Step {
        concurrency: 1,
        elapsed: Duration::ZERO,
        ok: 0,
        failures: BTreeMap::new(),
        latencies: Latencies::default(),
    });
    let mut seq = 0;
    while Instant::now() < deadline && seq < max_pairs {
        for (turn, step) in steps.iter_mut().enumerate() {
            let sent = Instant::now();
            let result = if turn == 0 { a.call(seq).await } else { b.call(seq).await };
            match result {
                Ok(()) => {
                    step.latencies.record(sent.elapsed());
                    step.ok += 1;
                }
                Err(failure) => *step.failures.entry(failure).or_default() += 1,
            }
        }
        seq += 1;
    }
    let [mut first, mut second] = steps;
    first.elapsed = started.elapsed();
    second.elapsed = first.elapsed;
    (first, second)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails every third request.
    struct Flaky;

    impl Worker for Flaky {
        async fn call(&mut self, seq: u64) -> Result<(), Failure> {
            if seq % 3 == 2 { Err(Failure("HTTP 503".to_owned())) } else { Ok(()) }
        }
    }

    /// Never fails.
    struct Steady;

    impl Worker for Steady {
        async fn call(&mut self, _seq: u64) -> Result<(), Failure> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn alternating_workers_take_the_same_number_of_turns() {
        let (flaky, steady) = alternate(Flaky, Steady, Duration::from_secs(60), 9).await;
        assert_eq!((flaky.ok, flaky.errors()), (6, 3));
        assert_eq!((steady.ok, steady.errors()), (9, 0));
        assert_eq!(flaky.elapsed, steady.elapsed);
    }

    #[tokio::test]
    async fn a_step_stops_at_its_request_budget_and_counts_failures() {
        let step = run(vec![Flaky, Flaky, Flaky], Duration::from_secs(60), 30).await;
        assert_eq!(step.concurrency, 3);
        assert_eq!(step.ok + step.errors(), 30);
        assert_eq!(step.errors(), 10);
        assert_eq!(step.describe_errors(), "10 × HTTP 503");
    }
}
