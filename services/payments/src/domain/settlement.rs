//! When money moves: bank payments settle, banks return debits, and
//! deposits and payouts go out on the business days of their rail.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use paymesh_kit::{money::Currency, payout::PayoutMethod};

/// How many business days after it is made a bank payment settles.
pub const BANK_SETTLEMENT_BUSINESS_DAYS: u32 = 1;

/// When a bank payment in `currency` made at `at` settles: the next
/// business day of its rail (ACH for dollars, EFT for Canadian dollars),
/// over weekends and bank holidays — one made the Friday before Labor Day
/// settles on Tuesday.
pub fn settles_at(at: DateTime<Utc>, currency: Currency) -> DateTime<Utc> {
    PayoutMethod::for_currency(currency).calendar().add_business_days_at(at, BANK_SETTLEMENT_BUSINESS_DAYS)
}

/// When the bank's return of a payment in `currency` that settled at
/// `settled` arrives, `days` business days later.
pub fn returned_at(settled: DateTime<Utc>, days: u32, currency: Currency) -> DateTime<Utc> {
    PayoutMethod::for_currency(currency).calendar().add_business_days_at(settled, days)
}

/// Whether `day` is one on which money moves to a recipient by `method`
/// (deposits and payouts): a business day of its rail.
pub fn pays_out_on(day: NaiveDate, method: PayoutMethod) -> bool {
    method.calendar().is_business_day(day)
}

/// The first instant of `at`'s UTC day: deposits made at `at` take what
/// settled before it.
pub fn start_of_day(at: DateTime<Utc>) -> DateTime<Utc> {
    at.date_naive().and_time(NaiveTime::MIN).and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_days_skip_weekends_and_holidays_and_days_start_at_midnight() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // Weekends are skipped, and so are the rail's bank holidays.
        assert_eq!(returned_at(at("2026-11-20T15:00:00Z"), 2, Currency::Usd), at("2026-11-24T15:00:00Z"));
        assert_eq!(returned_at(at("2026-11-23T15:00:00Z"), 2, Currency::Usd), at("2026-11-25T15:00:00Z"));
        assert_eq!(returned_at(at("2026-11-23T15:00:00Z"), 0, Currency::Usd), at("2026-11-23T15:00:00Z"));
        // Made the Friday before Labor Day, a bank payment settles on Tuesday.
        assert_eq!(settles_at(at("2025-08-29T15:00:00Z"), Currency::Usd), at("2025-09-02T15:00:00Z"));
        // Canada Day closes EFT: a Canadian payment made the day before
        // settles the day after.
        assert_eq!(settles_at(at("2025-06-30T15:00:00Z"), Currency::Cad), at("2025-07-02T15:00:00Z"));
        assert_eq!(settles_at(at("2025-06-30T15:00:00Z"), Currency::Usd), at("2025-07-01T15:00:00Z"));
        assert!(!pays_out_on(chrono::NaiveDate::from_ymd_opt(2025, 9, 1).unwrap(), PayoutMethod::Check));
        assert!(pays_out_on(chrono::NaiveDate::from_ymd_opt(2025, 9, 2).unwrap(), PayoutMethod::Ach));
        assert_eq!(start_of_day(at("2026-11-23T15:04:05Z")), at("2026-11-23T00:00:00Z"));
    }
}
