//! Time, from one place that tests can move.
//!
//! Services read the time from a [`Clock`] rather than the system, so tests
//! (and, later, the test clocks of test mode) can set it: expiry, due dates
//! and settlement all follow the clock. Times are UTC, truncated to the
//! microsecond PostgreSQL stores, so a value read back equals the one written.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};

/// A source of the current time.
#[derive(Clone, Debug)]
pub struct Clock(Inner);

#[derive(Clone, Debug)]
enum Inner {
    System,
    Manual(Arc<Mutex<DateTime<Utc>>>),
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Inner::System)
    }

    /// A clock that stands at `at` until moved.
    pub fn manual(at: DateTime<Utc>) -> Self {
        Self(Inner::Manual(Arc::new(Mutex::new(truncate(at)))))
    }

    /// The current time, in microseconds.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            Inner::System => truncate(Utc::now()),
            Inner::Manual(at) => *at.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }

    /// Moves a manual clock forward; a system clock cannot be moved and
    /// ignores the call.
    pub fn advance(&self, by: TimeDelta) {
        if let Inner::Manual(at) = &self.0 {
            let mut at = at.lock().unwrap_or_else(|p| p.into_inner());
            *at = truncate(*at + by);
        }
    }
}

fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2021-05-11T10:52:39.123456789Z").unwrap().to_utc();
        let clock = Clock::manual(start);
        assert_eq!(clock.now().to_rfc3339(), "2021-05-11T10:52:39.123456+00:00");
        clock.advance(TimeDelta::hours(1));
        assert_eq!(clock.now().to_rfc3339(), "2021-05-11T11:52:39.123456+00:00");
    }

    #[test]
    fn system_time_is_truncated_to_microseconds() {
        let now = Clock::system().now();
        assert_eq!(now.timestamp_subsec_nanos() % 1_000, 0);
    }
}
