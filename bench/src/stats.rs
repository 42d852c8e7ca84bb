//! Latencies and their percentiles.

use std::time::Duration;

/// Latencies in microseconds, recorded as requests finish.
#[derive(Clone, Debug, Default)]
pub(crate) struct Latencies(Vec<u64>);

impl Latencies {
    /// Room for `n` latencies, so recording never allocates mid-run.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    pub(crate) fn record(&mut self, took: Duration) {
        self.0.push(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
    }

    pub(crate) fn record_micros(&mut self, micros: u64) {
        self.0.push(micros);
    }

    pub(crate) fn extend(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The distribution, sorted once.
    pub(crate) fn summary(mut self) -> Summary {
        self.0.sort_unstable();
        Summary::of_sorted(&self.0)
    }
}

/// The percentiles of a set of latencies, in milliseconds; all zero when
/// nothing was recorded (with `count` saying so).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Summary {
    pub(crate) count: usize,
    pub(crate) mean_ms: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
}

impl Summary {
    fn of_sorted(sorted: &[u64]) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        let Some(&max) = sorted.last() else { return Self::default() };
        let total: u128 = sorted.iter().map(|&v| u128::from(v)).sum();
        Self {
            count: sorted.len(),
            mean_ms: total as f64 / sorted.len() as f64 / 1000.0,
            p50_ms: ms(percentile(sorted, 50.0)),
            p95_ms: ms(percentile(sorted, 95.0)),
            p99_ms: ms(percentile(sorted, 99.0)),
            max_ms: ms(max),
        }
    }
}

/// The `p`th percentile of `sorted` by the nearest-rank method: the
/// smallest value with at least `p`% of the values at or below it (a
/// value that was really observed, never an interpolation). 0 when empty.
pub(crate) fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_values() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), 50);
        assert_eq!(percentile(&values, 95.0), 95);
        assert_eq!(percentile(&values, 99.0), 99);
        assert_eq!(percentile(&values, 100.0), 100);
        assert_eq!(percentile(&values, 0.0), 1);
        // Few values: p99 of three is the largest, p50 the middle one.
        assert_eq!(percentile(&[10, 20, 30], 99.0), 30);
        assert_eq!(percentile(&[10, 20, 30], 50.0), 20);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn a_summary_is_in_milliseconds_whatever_the_order_recorded() {
        let mut latencies = Latencies::default();
        for micros in [4000, 1000, 3000, 2000] {
            latencies.record(Duration::from_micros(micros));
        }
        let summary = latencies.summary();
        assert_eq!(summary.count, 4);
        assert_eq!(summary.p50_ms, 2.0);
        assert_eq!(summary.p99_ms, 4.0);
        assert_eq!(summary.max_ms, 4.0);
        assert_eq!(summary.mean_ms, 2.5);
    }

    #[test]
    fn nothing_recorded_is_an_empty_summary() {
        assert_eq!(Latencies::default().summary(), Summary::default());
    }
}
