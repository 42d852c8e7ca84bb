//! Faults injected at named points of a request, for the tests that prove
//! what a crash or an outage at each step leaves behind. A point passed
//! through costs one atomic load while nothing is armed, which is always
//! the case outside tests: only [`arm`] arms one, and nothing but tests
//! calls it.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use crate::Error;

/// Whether any point is armed (the fast path when none is).
static ARMED: AtomicBool = AtomicBool::new(false);

/// What an armed point does to a pass through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Fail, as an outage would.
    Fail,
    /// Wait this long, then go on (a slow step, for callers to give up on).
    Delay(Duration),
}

/// The armed points: what each does, and to how many more passes.
static POINTS: Mutex<Vec<(String, Fault, u32)>> = Mutex::new(Vec::new());

/// Makes the next `times` passes through `point` fail.
pub fn arm(point: &str, times: u32) {
    arm_with(point, Fault::Fail, times);
}

/// Makes the next `times` passes through `point` meet `fault`.
pub fn arm_with(point: &str, fault: Fault, times: u32) {
    let mut points = POINTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    points.retain(|(p, ..)| p != point);
    points.push((point.to_owned(), fault, times));
    ARMED.store(true, Ordering::SeqCst);
}

/// Disarms every point.
pub fn disarm() {
    POINTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    ARMED.store(false, Ordering::SeqCst);
}

/// Passes through `point`: if it is armed, an error as an outage would
/// give (`Error::Unavailable`), or a delay; nothing otherwise.
pub async fn check(point: &str) -> Result<(), Error> {
    if !ARMED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let fault = {
        let mut points = POINTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(entry) = points.iter_mut().find(|(p, _, left)| p == point && *left > 0) else {
            return Ok(());
        };
        entry.2 -= 1;
        entry.1
    };
    tracing::warn!(point, ?fault, "fault injected");
    match fault {
        Fault::Fail => {
            Err(Error::Unavailable { reason: format!("A fault was injected at {point}"), retry_after: None })
        }
        Fault::Delay(wait) => {
            tokio::time::sleep(wait).await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_armed_point_fails_or_waits_as_often_as_it_was_armed() {
        assert!(check("a").await.is_ok());
        arm("a", 2);
        assert!(check("b").await.is_ok());
        assert!(matches!(check("a").await, Err(Error::Unavailable { .. })));
        assert!(check("a").await.is_err());
        assert!(check("a").await.is_ok());
        arm_with("slow", Fault::Delay(Duration::from_millis(20)), 1);
        let started = std::time::Instant::now();
        assert!(check("slow").await.is_ok());
        assert!(started.elapsed() >= Duration::from_millis(20));
        arm("a", 1);
        disarm();
        assert!(check("a").await.is_ok());
    }
}
