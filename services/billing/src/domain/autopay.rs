//! When autopay tries an invoice again, and the key that makes each try
//! charge once.

use chrono::{Days, NaiveDate};
use uuid::Uuid;

/// The most attempts autopay makes for one invoice.
pub const MAX_ATTEMPTS: i16 = 3;

/// The day after which a declined attempt `attempt` (1-based) made on
/// `today` is tried again: a day later, then three days after that; none
/// after the last.
pub fn retry_on(attempt: i16, today: NaiveDate) -> Option<NaiveDate> {
    match attempt {
        1 => today.checked_add_days(Days::new(1)),
        2 => today.checked_add_days(Days::new(3)),
        _ => None,
    }
}

/// The Idempotency-Key of attempt `attempt` at invoice `invoice`: the
/// same for every sending of the attempt, another for the next one.
pub fn key(invoice: Uuid, attempt: i16) -> String {
    format!("paymesh-autopay-{}-{attempt}", invoice.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declined_attempts_are_tried_again_a_day_then_three_days_later_three_times_at_most() {
        let day = NaiveDate::from_ymd_opt(2027, 2, 27).unwrap();
        assert_eq!(retry_on(1, day), NaiveDate::from_ymd_opt(2027, 2, 28));
        assert_eq!(retry_on(2, day), NaiveDate::from_ymd_opt(2027, 3, 2));
        assert_eq!(retry_on(MAX_ATTEMPTS, day), None);
    }

    #[test]
    fn each_attempt_has_a_key_of_its_own_and_keeps_it() {
        let invoice = Uuid::now_v7();
        assert_eq!(key(invoice, 1), key(invoice, 1));
        assert_ne!(key(invoice, 1), key(invoice, 2));
        assert!(key(invoice, 3).len() <= 255);
    }
}
