//! When a billing schedule bills: its frequency, its billing days with
//! Payload's defaults, and the dates of its full periods.
//!
//! A billing date starts a period that runs to the day before the next
//! billing date. Invoices are made for full periods only: a billing date
//! whose period would end after the schedule's end date bills nothing.

use chrono::{Datelike, Days, NaiveDate};
use serde_json::{Value, json};

/// How often a schedule bills, with its billing days resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Every day from the start date.
    Daily,
    /// Every 7 days from the start date.
    Weekly,
    /// Every 14 days from the start date.
    Biweekly,
    /// Twice a month, on these days (the first lower).
    Bimonthly { first: u32, second: u32 },
    /// Once a month, on this day.
    Monthly { day: u32 },
    /// Once a quarter, on (month, day) of each quarter, q1 first.
    Quarterly([(u32, u32); 4]),
    /// Once a year, on this month and day.
    Annually { month: u32, day: u32 },
}

/// A frequency's word, as the contract and the store write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frequency {
    /// Every day.
    Daily,
    /// Every seven days.
    Weekly,
    /// Every fourteen days.
    Biweekly,
    /// Twice a month.
    Bimonthly,
    /// Once a month.
    Monthly,
    /// Once a quarter.
    Quarterly,
    /// Once a year.
    Annually,
}

impl Frequency {
    /// Every frequency's word.
    pub const WORDS: &'static [&'static str] =
        &["daily", "weekly", "biweekly", "bimonthly", "monthly", "quarterly", "annually"];

    /// Its word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Biweekly => "biweekly",
            Self::Bimonthly => "bimonthly",
            Self::Monthly => "monthly",
            Self::Quarterly => "quarterly",
            Self::Annually => "annually",
        }
    }

    /// The frequency of a word.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "daily" => Self::Daily,
            "weekly" => Self::Weekly,
            "biweekly" => Self::Biweekly,
            "bimonthly" => Self::Bimonthly,
            "monthly" => Self::Monthly,
            "quarterly" => Self::Quarterly,
            "annually" => Self::Annually,
            _ => return None,
        })
    }
}

/// Billing days a partner gave; `None` where the default applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GivenDays {
    /// Bimonthly: the first and second billing days.
    pub bimonthly: [Option<u32>; 2],
    /// Monthly: the billing day.
    pub monthly: Option<u32>,
    /// Quarterly: (month, day) of each quarter.
    pub quarterly: [(Option<u32>, Option<u32>); 4],
    /// Annually: the month and the day.
    pub annually: (Option<u32>, Option<u32>),
}

/// A problem with the billing days: the attribute (`monthly.billing_day`)
/// and why.
pub type DayProblem = (String, String);

fn day_of_month(value: u32, at: &str, problems: &mut Vec<DayProblem>) -> u32 {
    if !(1..=31).contains(&value) {
        problems.push((at.to_owned(), "Must be a day of the month, 1 to 31".to_owned()));
    }
    value
}

/// The bimonthly days by default for a schedule created on `created`: the
/// day of creation and the day 14 before or after it, the first the
/// lower, the second never the 29th to 31st (created on the 29th to 31st:
/// the 14th and the 28th).
pub fn default_bimonthly(created: NaiveDate) -> (u32, u32) {
    let day = created.day().min(28);
    if day <= 14 { (day, day + 14) } else { (day - 14, day) }
}

impl Rule {
    /// The rule of `frequency` with the days `given`, the others by
    /// default for a schedule created on `created`; or every problem with
    /// the days given.
    pub fn resolve(
        frequency: Frequency,
        given: &GivenDays,
        created: NaiveDate,
    ) -> Result<Self, Vec<DayProblem>> {
        let mut problems = Vec::new();
        let rule = match frequency {
            Frequency::Daily => Self::Daily,
            Frequency::Weekly => Self::Weekly,
            Frequency::Biweekly => Self::Biweekly,
            Frequency::Bimonthly => {
                let (first_default, second_default) = default_bimonthly(created);
                let first = given.bimonthly[0]
                    .map_or(first_default, |d| day_of_month(d, "bimonthly.first_billing_day", &mut problems));
                let second = given.bimonthly[1].map_or(second_default, |d| {
                    day_of_month(d, "bimonthly.second_billing_day", &mut problems)
                });
                if problems.is_empty() && first >= second {
                    problems.push((
                        "bimonthly.first_billing_day".to_owned(),
                        format!("Must be lower than the second billing day ({second})"),
                    ));
                }
                Self::Bimonthly { first, second }
            }
            Frequency::Monthly => Self::Monthly {
                day: given
                    .monthly
                    .map_or(created.day(), |d| day_of_month(d, "monthly.billing_day", &mut problems)),
            },
            Frequency::Quarterly => {
                let mut quarters = [(1, 1), (4, 1), (7, 1), (10, 1)];
                for (q, (slot, given)) in quarters.iter_mut().zip(given.quarterly).enumerate() {
                    let first_month = 3 * u32::try_from(q).unwrap_or(0) + 1;
                    if let Some(month) = given.0 {
                        if (first_month..first_month + 3).contains(&month) {
                            slot.0 = month;
                        } else {
                            problems.push((
                                format!("quarterly.q{}.billing_month", q + 1),
                                format!(
                                    "Must be a month of the quarter, {} to {}",
                                    first_month,
                                    first_month + 2
                                ),
                            ));
                        }
                    }
                    if let Some(day) = given.1 {
                        slot.1 =
                            day_of_month(day, &format!("quarterly.q{}.billing_day", q + 1), &mut problems);
                    }
                }
                Self::Quarterly(quarters)
            }
            Frequency::Annually => {
                let month = given.annually.0.map_or(created.month(), |m| {
                    if !(1..=12).contains(&m) {
                        problems.push((
                            "annually.billing_month".to_owned(),
                            "Must be a month, 1 to 12".to_owned(),
                        ));
                    }
                    m
                });
                let day = given
                    .annually
                    .1
                    .map_or(created.day(), |d| day_of_month(d, "annually.billing_day", &mut problems));
                Self::Annually { month, day }
            }
        };
        if problems.is_empty() { Ok(rule) } else { Err(problems) }
    }

    /// Its frequency.
    pub const fn frequency(self) -> Frequency {
        match self {
            Self::Daily => Frequency::Daily,
            Self::Weekly => Frequency::Weekly,
            Self::Biweekly => Frequency::Biweekly,
            Self::Bimonthly { .. } => Frequency::Bimonthly,
            Self::Monthly { .. } => Frequency::Monthly,
            Self::Quarterly(_) => Frequency::Quarterly,
            Self::Annually { .. } => Frequency::Annually,
        }
    }

    /// The billing days as stored (and shown): the object of its
    /// frequency, e.g. `{"billing_day": 12}`; `null` for the frequencies
    /// counted from the start date.
    pub fn days_json(self) -> Value {
        match self {
            Self::Daily | Self::Weekly | Self::Biweekly => Value::Null,
            Self::Bimonthly { first, second } => {
                json!({"first_billing_day": first, "second_billing_day": second})
            }
            Self::Monthly { day } => json!({"billing_day": day}),
            Self::Quarterly(q) => {
                let quarter = |(month, day): (u32, u32)| json!({"billing_month": month, "billing_day": day});
                json!({"q1": quarter(q[0]), "q2": quarter(q[1]), "q3": quarter(q[2]), "q4": quarter(q[3])})
            }
            Self::Annually { month, day } => json!({"billing_month": month, "billing_day": day}),
        }
    }

    /// The rule stored as `frequency` and `days` (see [`Rule::days_json`]).
    pub fn from_stored(frequency: &str, days: &Value) -> Option<Self> {
        let number =
            |v: &Value, key: &str| v.get(key).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
        Some(match Frequency::parse(frequency)? {
            Frequency::Daily => Self::Daily,
            Frequency::Weekly => Self::Weekly,
            Frequency::Biweekly => Self::Biweekly,
            Frequency::Bimonthly => Self::Bimonthly {
                first: number(days, "first_billing_day")?,
                second: number(days, "second_billing_day")?,
            },
            Frequency::Monthly => Self::Monthly { day: number(days, "billing_day")? },
            Frequency::Quarterly => {
                let quarter = |key: &str| {
                    let q = days.get(key)?;
                    Some((number(q, "billing_month")?, number(q, "billing_day")?))
                };
                Self::Quarterly([quarter("q1")?, quarter("q2")?, quarter("q3")?, quarter("q4")?])
            }
            Frequency::Annually => {
                Self::Annually { month: number(days, "billing_month")?, day: number(days, "billing_day")? }
            }
        })
    }

    /// The billing dates in the month of `year`/`month`, in order, not
    /// before `start` (the frequencies of the month only).
    fn in_month(self, year: i32, month: u32) -> Vec<NaiveDate> {
        let on = |day: u32| clamped(year, month, day);
        let mut days = match self {
            Self::Daily | Self::Weekly | Self::Biweekly => Vec::new(),
            Self::Bimonthly { first, second } => vec![on(first), on(second)],
            Self::Monthly { day } => vec![on(day)],
            Self::Quarterly(quarters) => {
                quarters.iter().filter(|(m, _)| *m == month).map(|(_, d)| on(*d)).collect()
            }
            Self::Annually { month: m, day } => {
                if m == month {
                    vec![on(day)]
                } else {
                    Vec::new()
                }
            }
        };
        days.dedup();
        days
    }

    /// The first billing date on or after `from`, for a schedule that
    /// starts on `start`.
    pub fn first_on_or_after(self, start: NaiveDate, from: NaiveDate) -> NaiveDate {
        let from = from.max(start);
        let step = match self {
            Self::Daily => Some(1),
            Self::Weekly => Some(7),
            Self::Biweekly => Some(14),
            _ => None,
        };
        if let Some(step) = step {
            let since = u64::try_from((from - start).num_days()).unwrap_or(0);
            let periods = since.div_ceil(step);
            return start + Days::new(periods * step);
        }
        let (mut year, mut month) = (from.year(), from.month());
        // At most a year ahead: every rule bills at least once a year.
        loop {
            if let Some(day) = self.in_month(year, month).into_iter().find(|d| *d >= from) {
                return day;
            }
            (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
        }
    }

    /// The billing date before `date`, as if the schedule had always
    /// billed (the start of the full period a prorated first period is
    /// part of).
    pub fn previous_before(self, date: NaiveDate) -> NaiveDate {
        let step = match self {
            Self::Daily => 1,
            Self::Weekly => 7,
            Self::Biweekly => 14,
            _ => 0,
        };
        if step > 0 {
            return date - Days::new(step);
        }
        let (mut year, mut month) = (date.year(), date.month());
        // Every rule bills at least once a year.
        for _ in 0..13 {
            if let Some(day) = self.in_month(year, month).into_iter().rev().find(|d| *d < date) {
                return day;
            }
            (year, month) = if month == 1 { (year - 1, 12) } else { (year, month - 1) };
        }
        date
    }

    /// The billing date after `date`.
    pub fn next_after(self, start: NaiveDate, date: NaiveDate) -> NaiveDate {
        self.first_on_or_after(start, date + Days::new(1))
    }

    /// The last day of the period `date` starts.
    pub fn period_end(self, start: NaiveDate, date: NaiveDate) -> NaiveDate {
        self.next_after(start, date) - Days::new(1)
    }
}

/// `day` of `year`/`month`, or the month's last day if it has fewer days.
pub fn clamped(year: i32, month: u32, day: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN);
    let last = first.checked_add_months(chrono::Months::new(1)).map_or(31, |next| (next - first).num_days());
    let day = day.min(u32::try_from(last).unwrap_or(28)).max(1);
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(first)
}

/// Where a schedule stands: what bounds its billing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The first day that may be billed.
    pub start: NaiveDate,
    /// The last day of the last period billed, if it ends.
    pub end: Option<NaiveDate>,
    /// The first day not yet billed: the schedule's creation day, then the
    /// day after the last period billed.
    pub billed_from: NaiveDate,
    /// Partial periods are billed for the days they cover (PlacePay's
    /// prorated invoices): the days from the start date to the first
    /// billing date, and from the last billing date to the end date.
    pub prorated: bool,
}

/// One period a schedule bills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// The day it is billed: its invoice's due date.
    pub bills_on: NaiveDate,
    /// Its last day.
    pub last: NaiveDate,
    /// A partial period of a prorated schedule: the days it covers, and
    /// the days of the full period it is part of.
    pub share: Option<(i64, i64)>,
}

impl Period {
    /// How a charge that starts on `start` (none: with its schedule) is
    /// billed in this period of a schedule that is `prorated` or not: not
    /// at all (`None`: it starts after the period, or within it and the
    /// schedule bills full periods only — it waits for its first full
    /// one), as the period is (`Some(None)` in full, or the period's own
    /// share), or for the days from its start to the period's end over the
    /// days of the full period (PlacePay's prorated items, "based on … the
    /// date the charge was incurred").
    pub fn charge_share(&self, start: Option<NaiveDate>, prorated: bool) -> Option<Option<(i64, i64)>> {
        let days = |from: NaiveDate, to: NaiveDate| (to - from).num_days() + 1;
        let Some(start) = start.filter(|s| *s > self.bills_on) else { return Some(self.share) };
        if start > self.last || !prorated {
            return None;
        }
        let of = self.share.map_or_else(|| days(self.bills_on, self.last), |(_, of)| of);
        Some(Some((days(start, self.last), of)))
    }
}

impl Span {
    /// The next day the schedule bills, if it bills again.
    pub fn next_billing_date(&self, rule: Rule) -> Option<NaiveDate> {
        self.due(rule, NaiveDate::MAX, 1).first().map(|p| p.bills_on)
    }

    /// The periods due by `today`, oldest first, at most `at_most`: each
    /// billing date whose period ends by the end date and, for a prorated
    /// schedule, the partial periods before the first billing date and
    /// after the last one.
    pub fn due(&self, rule: Rule, today: NaiveDate, at_most: usize) -> Vec<Period> {
        let mut out = Vec::new();
        let from = self.billed_from.max(self.start);
        let mut date = rule.first_on_or_after(self.start, from);
        let days = |from: NaiveDate, to: NaiveDate| (to - from).num_days() + 1;
        if self.prorated && from == self.start && date > self.start && self.start <= today && at_most > 0 {
            let before = date - Days::new(1);
            let last = self.end.map_or(before, |end| end.min(before));
            let share = (days(self.start, last), days(rule.previous_before(date), before));
            out.push(Period { bills_on: self.start, last, share: Some(share) });
            if last < before {
                return out;
            }
        }
        while date <= today && out.len() < at_most {
            let last = rule.period_end(self.start, date);
            match self.end {
                Some(end) if last > end => {
                    if self.prorated && date <= end {
                        out.push(Period {
                            bills_on: date,
                            last: end,
                            share: Some((days(date, end), days(date, last))),
                        });
                    }
                    break;
                }
                _ => out.push(Period { bills_on: date, last, share: None }),
            }
            date = rule.next_after(self.start, date);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn all(rule: Rule, start: &str, end: Option<&str>, from: &str, today: &str) -> Vec<String> {
        let span = Span { start: d(start), end: end.map(d), billed_from: d(from), prorated: false };
        span.due(rule, d(today), 1000).into_iter().map(|p| p.bills_on.to_string()).collect()
    }

    #[test]
    fn the_monthly_schedule_of_2019_bills_twelve_invoices_on_the_first() {
        let rule = Rule::resolve(Frequency::Monthly, &GivenDays::default(), d("2019-01-01")).unwrap();
        assert_eq!(rule, Rule::Monthly { day: 1 });
        let dates = all(rule, "2019-01-01", Some("2019-12-31"), "2019-01-01", "2020-06-01");
        let expected: Vec<String> = (1..=12).map(|m| format!("2019-{m:02}-01")).collect();
        assert_eq!(dates, expected);
    }

    #[test]
    fn bimonthly_defaults_follow_the_day_of_creation() {
        assert_eq!(default_bimonthly(d("2026-03-22")), (8, 22));
        assert_eq!(default_bimonthly(d("2026-03-03")), (3, 17));
        assert_eq!(default_bimonthly(d("2026-03-14")), (14, 28));
        assert_eq!(default_bimonthly(d("2026-03-15")), (1, 15));
        for day in 29..=31 {
            let (first, second) = default_bimonthly(d(&format!("2026-03-{day}")));
            assert!(first < second && second < 29, "{day}: {first}, {second}");
            assert_eq!(second - first, 14);
        }
        let rule = Rule::resolve(Frequency::Bimonthly, &GivenDays::default(), d("2026-03-22")).unwrap();
        let dates = all(rule, "2026-04-01", None, "2026-04-01", "2026-05-31");
        assert_eq!(dates, ["2026-04-08", "2026-04-22", "2026-05-08", "2026-05-22"]);
    }

    #[test]
    fn billing_on_the_31st_falls_on_each_months_last_day_and_on_february_29th_in_a_leap_year() {
        let given = GivenDays { monthly: Some(31), ..GivenDays::default() };
        let rule = Rule::resolve(Frequency::Monthly, &given, d("2027-12-01")).unwrap();
        let dates = all(rule, "2027-12-01", None, "2027-12-01", "2028-12-31");
        assert_eq!(
            dates,
            [
                "2027-12-31",
                "2028-01-31",
                "2028-02-29",
                "2028-03-31",
                "2028-04-30",
                "2028-05-31",
                "2028-06-30",
                "2028-07-31",
                "2028-08-31",
                "2028-09-30",
                "2028-10-31",
                "2028-11-30",
                "2028-12-31"
            ]
        );
        let rule = Rule::Monthly { day: 30 };
        assert_eq!(all(rule, "2027-02-01", None, "2027-02-01", "2027-03-01"), ["2027-02-28"]);
    }

    #[test]
    fn quarterly_bills_the_first_of_each_quarter_by_default_and_given_days_otherwise() {
        let rule = Rule::resolve(Frequency::Quarterly, &GivenDays::default(), d("2026-05-17")).unwrap();
        assert_eq!(rule, Rule::Quarterly([(1, 1), (4, 1), (7, 1), (10, 1)]));
        assert_eq!(
            all(rule, "2027-01-01", None, "2027-01-01", "2027-12-31"),
            ["2027-01-01", "2027-04-01", "2027-07-01", "2027-10-01"]
        );
        // The reference's update: Feb 28, May 31, Aug 31, Nov 30.
        let given = GivenDays {
            quarterly: [(Some(2), Some(28)), (Some(5), Some(31)), (Some(8), Some(31)), (Some(11), Some(30))],
            ..GivenDays::default()
        };
        let rule = Rule::resolve(Frequency::Quarterly, &given, d("2026-05-17")).unwrap();
        assert_eq!(
            all(rule, "2027-01-01", None, "2027-01-01", "2027-12-31"),
            ["2027-02-28", "2027-05-31", "2027-08-31", "2027-11-30"]
        );
        let wrong =
            GivenDays { quarterly: [(Some(4), None), (None, None), (None, None), (None, Some(32))], ..given };
        let problems = Rule::resolve(Frequency::Quarterly, &wrong, d("2026-05-17")).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["quarterly.q1.billing_month", "quarterly.q4.billing_day"]);
    }

    #[test]
    fn annual_weekly_daily_and_biweekly_schedules_count_as_the_reference_says() {
        let rule = Rule::resolve(Frequency::Annually, &GivenDays::default(), d("2024-02-29")).unwrap();
        assert_eq!(rule, Rule::Annually { month: 2, day: 29 });
        assert_eq!(
            all(rule, "2024-02-29", None, "2024-02-29", "2028-03-01"),
            ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"]
        );
        assert_eq!(
            all(Rule::Weekly, "2026-01-05", None, "2026-01-10", "2026-02-01"),
            ["2026-01-12", "2026-01-19", "2026-01-26"]
        );
        assert_eq!(
            all(Rule::Biweekly, "2026-01-05", None, "2026-01-05", "2026-02-01"),
            ["2026-01-05", "2026-01-19"]
        );
        assert_eq!(all(Rule::Daily, "2026-01-05", Some("2026-01-07"), "2026-01-01", "2026-02-01").len(), 3);
    }

    #[test]
    fn a_partial_last_period_bills_nothing_and_ends_the_schedule() {
        // Monthly on the 7th to Dec 31: the Dec 7 period would run to Jan 6.
        let rule = Rule::Monthly { day: 7 };
        let dates = all(rule, "2019-01-01", Some("2019-12-31"), "2019-01-01", "2020-03-01");
        assert_eq!(dates.len(), 11);
        assert_eq!(dates.last().map(String::as_str), Some("2019-11-07"));
        let span = Span {
            start: d("2019-01-01"),
            end: Some(d("2019-12-31")),
            billed_from: d("2019-12-07"),
            prorated: false,
        };
        assert_eq!(span.next_billing_date(rule), None);
        // A weekly schedule whose end cuts its third week bills two.
        assert_eq!(all(Rule::Weekly, "2026-01-01", Some("2026-01-18"), "2026-01-01", "2026-03-01").len(), 2);
    }

    #[test]
    fn a_frequency_change_applies_from_the_next_period() {
        // Billed monthly on the 1st through March 31st, then bimonthly 1/15.
        let rule = Rule::Bimonthly { first: 1, second: 15 };
        let span = Span { start: d("2026-01-01"), end: None, billed_from: d("2026-04-01"), prorated: false };
        assert_eq!(span.next_billing_date(rule), Some(d("2026-04-01")));
        assert_eq!(
            span.due(rule, d("2026-05-01"), 10)
                .into_iter()
                .map(|p| p.bills_on.to_string())
                .collect::<Vec<_>>(),
            ["2026-04-01", "2026-04-15", "2026-05-01"]
        );
    }

    #[test]
    fn wrong_days_are_named() {
        let given = GivenDays { bimonthly: [Some(20), Some(10)], ..GivenDays::default() };
        let problems = Rule::resolve(Frequency::Bimonthly, &given, d("2026-01-01")).unwrap_err();
        assert_eq!(problems[0].0, "bimonthly.first_billing_day");
        let given = GivenDays { monthly: Some(0), annually: (Some(13), Some(1)), ..GivenDays::default() };
        assert_eq!(
            Rule::resolve(Frequency::Monthly, &given, d("2026-01-01")).unwrap_err()[0].0,
            "monthly.billing_day"
        );
        assert_eq!(
            Rule::resolve(Frequency::Annually, &given, d("2026-01-01")).unwrap_err()[0].0,
            "annually.billing_month"
        );
    }

    #[test]
    fn a_prorated_schedule_bills_the_days_before_its_first_and_after_its_last_billing_date() {
        // PlacePay's prorated invoice: from 2018-01-15, billed on the 1st,
        // to 2018-12-31: January's 17 of 31 days, then full months.
        let rule = Rule::Monthly { day: 1 };
        let span = Span {
            start: d("2018-01-15"),
            end: Some(d("2018-12-31")),
            billed_from: d("2018-01-10"),
            prorated: true,
        };
        let periods = span.due(rule, d("2019-06-01"), 100);
        assert_eq!(periods.len(), 12);
        assert_eq!(
            periods[0],
            Period { bills_on: d("2018-01-15"), last: d("2018-01-31"), share: Some((17, 31)) }
        );
        assert_eq!(periods[1], Period { bills_on: d("2018-02-01"), last: d("2018-02-28"), share: None });
        assert_eq!(periods[11].bills_on, d("2018-12-01"));
        assert_eq!(span.next_billing_date(rule), Some(d("2018-01-15")));
        // Ending mid-period: the last days are billed for what they cover.
        let span = Span {
            start: d("2018-01-01"),
            end: Some(d("2018-03-10")),
            billed_from: d("2018-01-01"),
            prorated: true,
        };
        let periods = span.due(rule, d("2019-01-01"), 100);
        assert_eq!(
            periods.last(),
            Some(&Period { bills_on: d("2018-03-01"), last: d("2018-03-10"), share: Some((10, 31)) })
        );
        // Not prorated, the same schedule bills full periods only.
        let whole = Span { prorated: false, ..span };
        assert_eq!(whole.due(rule, d("2019-01-01"), 100).len(), 2);
        // Bimonthly on the 1st and 15th from the 10th: 5 of 14 days.
        let twice = Span { start: d("2026-02-10"), end: None, billed_from: d("2026-02-01"), prorated: true };
        let first = twice.due(Rule::Bimonthly { first: 1, second: 15 }, d("2026-02-10"), 5);
        assert_eq!(
            first,
            vec![Period { bills_on: d("2026-02-10"), last: d("2026-02-14"), share: Some((5, 14)) }]
        );
    }

    #[test]
    fn stored_rules_read_back() {
        for rule in [
            Rule::Daily,
            Rule::Bimonthly { first: 3, second: 17 },
            Rule::Monthly { day: 31 },
            Rule::Quarterly([(2, 28), (5, 31), (8, 31), (11, 30)]),
            Rule::Annually { month: 12, day: 31 },
        ] {
            assert_eq!(Rule::from_stored(rule.frequency().as_str(), &rule.days_json()), Some(rule));
        }
    }

    #[test]
    fn a_charge_starting_later_is_billed_from_its_start() {
        let monthly = Rule::Monthly { day: 1 };
        let span = |start: &str, prorated: bool| Span {
            start: d(start),
            end: None,
            billed_from: d(start),
            prorated,
        };
        // PlacePay's recurring invoice from 2017-01-01, the amenity from
        // 2017-02-15: billed full periods only, it starts with March's.
        let periods = span("2017-01-01", false).due(monthly, d("2017-03-01"), 10);
        let amenity: Vec<_> = periods.iter().map(|p| p.charge_share(Some(d("2017-02-15")), false)).collect();
        assert_eq!(amenity, vec![None, None, Some(None)]);
        // Prorated from 2018-01-15: an item incurred before the start
        // follows the schedule (17 of 31 days); one from 2018-02-10 is
        // billed 19 of February's 28 days, then in full.
        let periods = span("2018-01-15", true).due(monthly, d("2018-03-01"), 10);
        assert_eq!(periods[0].charge_share(Some(d("2017-02-20")), true), Some(Some((17, 31))));
        let later: Vec<_> = periods.iter().map(|p| p.charge_share(Some(d("2018-02-10")), true)).collect();
        assert_eq!(later, vec![None, Some(Some((19, 28))), Some(None)]);
        assert_eq!(periods[1].charge_share(None, true), Some(None));
    }
}
