//! Per-key rate limiting: a token bucket per API key (or access token),
//! refilled at `rate` requests a second up to `burst`. A request that finds
//! the bucket empty is answered 429 `TooManyRequests` with `Retry-After`,
//! before any service is called. Buckets live in this gateway process: with
//! several replicas, each allows the rate.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use uuid::Uuid;

/// Buckets kept before idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

/// The token buckets of every key seen.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Requests a second; 0 turns limiting off.
    rate: f64,
    /// The most requests at once after a quiet spell.
    burst: f64,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// A limiter of `rate` requests a second per key with bursts of
    /// `burst`; `rate` 0 allows everything.
    pub(crate) fn new(rate: u32, burst: u32) -> Self {
        Self { rate: f64::from(rate), burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request of `key` at `now`: `Ok` if allowed, else how long
    /// until the next one would be.
    pub(crate) fn take(&self, key: Uuid, now: Instant) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        // A poisoned lock only means another request panicked mid-update;
        // the buckets are still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&key) {
            // A bucket idle long enough to be full again is the same as none.
            let full_after = Duration::from_secs_f64(self.burst / self.rate);
            buckets.retain(|_, b| now.saturating_duration_since(b.at) < full_after);
        }
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: self.burst, at: now });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_burst_then_its_rate_and_keys_are_apart() {
        let limiter = RateLimiter::new(2, 3);
        let (key, other) = (Uuid::now_v7(), Uuid::now_v7());
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take(key, start), Ok(()));
        }
        let wait = limiter.take(key, start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(limiter.take(other, start), Ok(()), "another key has its own bucket");
        // Half a second later one request is allowed again, not two.
        let later = start + Duration::from_millis(500);
        assert_eq!(limiter.take(key, later), Ok(()));
        assert!(limiter.take(key, later).is_err());
        // After a quiet spell, at most the burst.
        let quiet = later + Duration::from_secs(60);
        assert_eq!((0..5).filter(|_| limiter.take(key, quiet).is_ok()).count(), 3);
    }

    #[test]
    fn a_zero_rate_allows_everything() {
        let limiter = RateLimiter::new(0, 1);
        let key = Uuid::now_v7();
        assert!((0..1000).all(|_| limiter.take(key, Instant::now()).is_ok()));
    }
}
