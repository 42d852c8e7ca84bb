//! Business days: weekends and bank holidays, computed from rules (fixed
//! dates, nth weekdays, Easter, observed-day shifts), never from typed
//! lists.
//!
//! - **United States** — the Federal Reserve's closures: New Year's Day,
//!   Martin Luther King Jr.'s Birthday, Washington's Birthday, Memorial Day,
//!   Juneteenth, Independence Day, Labor Day, Columbus Day, Veterans Day,
//!   Thanksgiving and Christmas. A holiday on a Sunday closes the Monday
//!   after; one on a Saturday closes nothing (the Reserve Banks open the
//!   Friday before).
//! - **Canada** — Payments Canada's non-processing days: New Year's Day,
//!   Good Friday, Victoria Day, Canada Day, the Civic Holiday, Labour Day,
//!   the National Day for Truth and Reconciliation, Thanksgiving,
//!   Remembrance Day, Christmas and Boxing Day. A fixed-date holiday on a
//!   weekend moves to the next weekday that is not already a holiday
//!   (Christmas on a Saturday: Monday the 27th, Boxing Day Tuesday the 28th).

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};

/// The holidays a payout rail observes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Calendar {
    /// The Federal Reserve's (ACH, wire, check).
    UnitedStates,
    /// The Federal Reserve's and Payments Canada's together (EFT, which
    /// crosses both).
    UnitedStatesAndCanada,
}

impl Calendar {
    /// Whether `date` is a business day: a weekday and no holiday.
    pub fn is_business_day(self, date: NaiveDate) -> bool {
        if is_weekend(date) {
            return false;
        }
        let year = date.year();
        match self {
            Self::UnitedStates => !us_holidays(year).contains(&date),
            Self::UnitedStatesAndCanada => {
                !us_holidays(year).contains(&date) && !canada_holidays(year).contains(&date)
            }
        }
    }

    /// `date` itself when a business day, else the next one.
    pub fn this_or_next_business_day(self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        while !self.is_business_day(day) {
            day = next_day(day);
        }
        day
    }

    /// `at` moved `n` business days on, at the same UTC time of day: when a
    /// bank payment made at `at` settles, or a return made `n` days after
    /// settlement arrives.
    pub fn add_business_days_at(self, at: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        self.add_business_days(at.date_naive(), n).and_time(at.time()).and_utc()
    }

    /// The business day `n` business days after `date` (a business day).
    pub fn add_business_days(self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut day = date;
        for _ in 0..n {
            day = next_day(day);
            while !self.is_business_day(day) {
                day = next_day(day);
            }
        }
        day
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.checked_add_days(Days::new(1)).unwrap_or(NaiveDate::MAX)
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

/// The `n`th `weekday` of a month (n ≥ 1).
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n).unwrap_or(NaiveDate::MIN)
}

/// The last `weekday` of a month.
fn last_weekday(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let fifth = NaiveDate::from_weekday_of_month_opt(year, month, weekday, 5);
    fifth.unwrap_or_else(|| nth_weekday(year, month, weekday, 4))
}

/// The last `weekday` on or before `date`.
fn weekday_on_or_before(date: NaiveDate, weekday: Weekday) -> NaiveDate {
    let back = (7 + date.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
    date.checked_sub_days(Days::new(u64::from(back))).unwrap_or(NaiveDate::MIN)
}

/// Easter Sunday of the Gregorian calendar (the anonymous algorithm).
pub fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    ymd(year, u32::try_from(month).unwrap_or(4), u32::try_from(day).unwrap_or(1))
}

/// The Federal Reserve's closures in `year`.
pub fn us_holidays(year: i32) -> Vec<NaiveDate> {
    let mut fixed = vec![(1, 1), (7, 4), (11, 11), (12, 25)];
    // Juneteenth National Independence Day, a federal holiday since 2021.
    if year >= 2021 {
        fixed.push((6, 19));
    }
    let mut days: Vec<NaiveDate> = fixed
        .into_iter()
        .filter_map(|(month, day)| {
            let date = ymd(year, month, day);
            match date.weekday() {
                Weekday::Sat => None,
                Weekday::Sun => Some(next_day(date)),
                _ => Some(date),
            }
        })
        .collect();
    days.extend([
        nth_weekday(year, 1, Weekday::Mon, 3),  // Martin Luther King Jr.
        nth_weekday(year, 2, Weekday::Mon, 3),  // Washington's Birthday
        last_weekday(year, 5, Weekday::Mon),    // Memorial Day
        nth_weekday(year, 9, Weekday::Mon, 1),  // Labor Day
        nth_weekday(year, 10, Weekday::Mon, 2), // Columbus Day
        nth_weekday(year, 11, Weekday::Thu, 4), // Thanksgiving
    ]);
    days.sort_unstable();
    days
}

/// Payments Canada's non-processing days in `year`.
pub fn canada_holidays(year: i32) -> Vec<NaiveDate> {
    let mut days = vec![
        easter(year).checked_sub_days(Days::new(2)).unwrap_or(NaiveDate::MIN), // Good Friday
        weekday_on_or_before(ymd(year, 5, 24), Weekday::Mon),                  // Victoria Day
        nth_weekday(year, 8, Weekday::Mon, 1),                                 // Civic Holiday
        nth_weekday(year, 9, Weekday::Mon, 1),                                 // Labour Day
        nth_weekday(year, 10, Weekday::Mon, 2),                                // Thanksgiving
    ];
    let mut fixed = vec![(1, 1), (7, 1), (11, 11), (12, 25), (12, 26)];
    // The National Day for Truth and Reconciliation, observed since 2021.
    if year >= 2021 {
        fixed.push((9, 30));
    }
    fixed.sort_unstable();
    for (month, day) in fixed {
        let mut date = ymd(year, month, day);
        while is_weekend(date) || days.contains(&date) {
            date = next_day(date);
        }
        days.push(date);
    }
    days.sort_unstable();
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "MM-DD MM-DD …" of `year` as dates.
    fn dates(year: i32, list: &str) -> Vec<NaiveDate> {
        list.split_whitespace()
            .map(|md| NaiveDate::parse_from_str(&format!("{year}-{md}"), "%Y-%m-%d").unwrap())
            .collect()
    }

    /// The days the Federal Reserve Banks are closed, as published
    /// (Federal Reserve K.8 "Holidays Observed by the Federal Reserve
    /// System"): Saturday holidays close nothing, Sunday ones the Monday.
    const FEDERAL_RESERVE: &[(i32, &str)] = &[
        (2021, "01-01 01-18 02-15 05-31 07-05 09-06 10-11 11-11 11-25"),
        (2022, "01-17 02-21 05-30 06-20 07-04 09-05 10-10 11-11 11-24 12-26"),
        (2023, "01-02 01-16 02-20 05-29 06-19 07-04 09-04 10-09 11-23 12-25"),
        (2024, "01-01 01-15 02-19 05-27 06-19 07-04 09-02 10-14 11-11 11-28 12-25"),
        (2025, "01-01 01-20 02-17 05-26 06-19 07-04 09-01 10-13 11-11 11-27 12-25"),
        (2026, "01-01 01-19 02-16 05-25 06-19 09-07 10-12 11-11 11-26 12-25"),
        (2027, "01-01 01-18 02-15 05-31 07-05 09-06 10-11 11-11 11-25"),
        (2028, "01-17 02-21 05-29 06-19 07-04 09-04 10-09 11-23 12-25"),
        (2029, "01-01 01-15 02-19 05-28 06-19 07-04 09-03 10-08 11-12 11-22 12-25"),
        (2030, "01-01 01-21 02-18 05-27 06-19 07-04 09-02 10-14 11-11 11-28 12-25"),
    ];

    /// Payments Canada's non-processing days, as published.
    const PAYMENTS_CANADA: &[(i32, &str)] = &[
        (2021, "01-01 04-02 05-24 07-01 08-02 09-06 09-30 10-11 11-11 12-27 12-28"),
        (2022, "01-03 04-15 05-23 07-01 08-01 09-05 09-30 10-10 11-11 12-26 12-27"),
        (2023, "01-02 04-07 05-22 07-03 08-07 09-04 10-02 10-09 11-13 12-25 12-26"),
        (2024, "01-01 03-29 05-20 07-01 08-05 09-02 09-30 10-14 11-11 12-25 12-26"),
        (2025, "01-01 04-18 05-19 07-01 08-04 09-01 09-30 10-13 11-11 12-25 12-26"),
        (2026, "01-01 04-03 05-18 07-01 08-03 09-07 09-30 10-12 11-11 12-25 12-28"),
        (2027, "01-01 03-26 05-24 07-01 08-02 09-06 09-30 10-11 11-11 12-27 12-28"),
        (2028, "01-03 04-14 05-22 07-03 08-07 09-04 10-02 10-09 11-13 12-25 12-26"),
        (2029, "01-01 03-30 05-21 07-02 08-06 09-03 10-01 10-08 11-12 12-25 12-26"),
        (2030, "01-01 04-19 05-20 07-01 08-05 09-02 09-30 10-14 11-11 12-25 12-26"),
    ];

    #[test]
    fn federal_reserve_closures_match_the_published_calendar_2021_to_2030() {
        for &(year, list) in FEDERAL_RESERVE {
            assert_eq!(us_holidays(year), dates(year, list), "{year}");
        }
    }

    #[test]
    fn canadian_non_processing_days_match_the_published_calendar_2021_to_2030() {
        for &(year, list) in PAYMENTS_CANADA {
            assert_eq!(canada_holidays(year), dates(year, list), "{year}");
        }
    }

    #[test]
    fn easter_follows_the_gregorian_computus() {
        let sundays = ["2021-04-04", "2024-03-31", "2025-04-20", "2029-04-01", "2038-04-25", "2285-03-22"];
        for sunday in sundays {
            let date = NaiveDate::parse_from_str(sunday, "%Y-%m-%d").unwrap();
            assert_eq!(easter(date.year()), date);
        }
    }

    #[test]
    fn business_days_skip_weekends_and_each_rails_holidays() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let us = Calendar::UnitedStates;
        let eft = Calendar::UnitedStatesAndCanada;
        // Friday + 1 → Monday.
        assert_eq!(us.add_business_days(d("2021-05-14"), 1), d("2021-05-17"));
        // Over Memorial Day weekend 2021: Friday + 1 → Tuesday.
        assert_eq!(us.add_business_days(d("2021-05-28"), 1), d("2021-06-01"));
        // Christmas 2021 fell on a Saturday: the Reserve Banks were open on
        // Friday the 24th; Canada closed the 27th and 28th.
        assert!(us.is_business_day(d("2021-12-24")));
        assert!(us.is_business_day(d("2021-12-27")));
        assert!(!eft.is_business_day(d("2021-12-27")));
        assert_eq!(eft.add_business_days(d("2021-12-24"), 1), d("2021-12-29"));
        // Canada Day is a US business day; Thanksgiving (US) is a Canadian one.
        assert!(us.is_business_day(d("2024-07-01")) && !eft.is_business_day(d("2024-07-01")));
        assert!(!eft.is_business_day(d("2024-11-28")));
        // Zero days is the day itself; a holiday rolls forward.
        assert_eq!(us.add_business_days(d("2024-07-03"), 0), d("2024-07-03"));
        assert_eq!(us.this_or_next_business_day(d("2024-07-04")), d("2024-07-05"));
        assert_eq!(us.this_or_next_business_day(d("2024-07-06")), d("2024-07-08"));
    }

    #[test]
    fn times_move_by_business_days_over_holidays() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        // The Friday before Labor Day (Monday 1 September 2025).
        let friday = at("2025-08-29T15:00:00Z");
        assert_eq!(Calendar::UnitedStates.add_business_days_at(friday, 1), at("2025-09-02T15:00:00Z"));
        assert_eq!(Calendar::UnitedStates.add_business_days_at(friday, 2), at("2025-09-03T15:00:00Z"));
        // Canada Day (Tuesday 1 July 2025) stops EFT, not ACH.
        let monday = at("2025-06-30T09:30:00Z");
        assert_eq!(Calendar::UnitedStates.add_business_days_at(monday, 1), at("2025-07-01T09:30:00Z"));
        assert_eq!(
            Calendar::UnitedStatesAndCanada.add_business_days_at(monday, 1),
            at("2025-07-02T09:30:00Z")
        );
        // A weekend day moves to the first business day after it.
        assert_eq!(
            Calendar::UnitedStates.add_business_days_at(at("2025-08-30T08:00:00Z"), 1),
            at("2025-09-02T08:00:00Z")
        );
    }
}
