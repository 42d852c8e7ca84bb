//! Delivery: the speeds each payout method offers, and the dates a payment
//! made now could be delivered on.
//!
//! A speed delivers `business_days` business days after the day the
//! payment is submitted, and takes payments until its cut-off time (UTC)
//! of that day. The submission day is today when today is a business day
//! and the cut-off has not passed, else the next business day. Each option
//! is valid until the cut-off of its submission day; when two speeds reach
//! the same date, the cheaper one (not expedited), then the later cut-off,
//! is offered.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

pub use paymesh_kit::payout::PayoutMethod;

/// One delivery speed of a payout method.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Speed {
    /// The payout method.
    #[serde(deserialize_with = "payout_from_name")]
    pub payout_method: PayoutMethod,
    /// The speed's name, e.g. "standard", "next_day", "overnight".
    pub speed: String,
    /// Business days from submission to delivery.
    pub business_days: u32,
    /// The last moment of a day (UTC) a payment is submitted that day.
    pub cutoff: NaiveTime,
    /// Whether the speed is expedited (faster than standard, with the
    /// speed's expedite fees).
    pub expedited: bool,
}

fn payout_from_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PayoutMethod, D::Error> {
    let name = <String as serde::Deserialize>::deserialize(d)?;
    PayoutMethod::parse(&name)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown payout method {name:?}")))
}

/// The speeds every payout method offers, with each method's single
/// standard (not expedited) speed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Speeds(Vec<Speed>);

impl Speeds {
    /// Checks `speeds`: names are unique per payout method, and every
    /// payout method has exactly one speed that is not expedited.
    pub fn new(speeds: Vec<Speed>) -> Result<Self, String> {
        for payout in PayoutMethod::ALL {
            let of: Vec<&Speed> = speeds.iter().filter(|s| s.payout_method == payout).collect();
            if of.iter().filter(|s| !s.expedited).count() != 1 {
                return Err(format!("{} must have exactly one speed that is not expedited", payout.as_str()));
            }
            for (i, s) in of.iter().enumerate() {
                if s.speed.is_empty() || of[..i].iter().any(|t| t.speed == s.speed) {
                    return Err(format!(
                        "{} has an empty or repeated speed name {:?}",
                        payout.as_str(),
                        s.speed
                    ));
                }
            }
        }
        Ok(Self(speeds))
    }

    /// The defaults (cut-offs in UTC):
    ///
    /// | payout | speed     | business days | cut-off  | expedited |
    /// |--------|-----------|---------------|----------|-----------|
    /// | ach    | same_day  | 0             | 14:59:59 | yes       |
    /// | ach    | next_day  | 1             | 21:59:59 | yes       |
    /// | ach    | standard  | 2             | 23:59:59 | no        |
    /// | wire   | same_day  | 0             | 19:59:59 | yes       |
    /// | wire   | standard  | 1             | 23:59:59 | no        |
    /// | check  | overnight | 1             | 18:59:59 | yes       |
    /// | check  | two_day   | 2             | 18:59:59 | yes       |
    /// | check  | standard  | 5             | 23:59:59 | no        |
    /// | eft    | next_day  | 1             | 19:59:59 | yes       |
    /// | eft    | standard  | 2             | 23:59:59 | no        |
    pub fn defaults() -> Self {
        let speed = |payout_method, speed: &str, business_days, h, m, s, expedited| Speed {
            payout_method,
            speed: speed.to_owned(),
            business_days,
            cutoff: NaiveTime::from_hms_opt(h, m, s).unwrap_or(NaiveTime::MIN),
            expedited,
        };
        use PayoutMethod::{Ach, Check, Eft, Wire};
        Self(vec![
            speed(Ach, "same_day", 0, 14, 59, 59, true),
            speed(Ach, "next_day", 1, 21, 59, 59, true),
            speed(Ach, "standard", 2, 23, 59, 59, false),
            speed(Wire, "same_day", 0, 19, 59, 59, true),
            speed(Wire, "standard", 1, 23, 59, 59, false),
            speed(Check, "overnight", 1, 18, 59, 59, true),
            speed(Check, "two_day", 2, 18, 59, 59, true),
            speed(Check, "standard", 5, 23, 59, 59, false),
            speed(Eft, "next_day", 1, 19, 59, 59, true),
            speed(Eft, "standard", 2, 23, 59, 59, false),
        ])
    }

    /// Whether `speed` is an expedited speed of `payout`.
    pub fn is_expedited(&self, payout: PayoutMethod, speed: &str) -> bool {
        self.0.iter().any(|s| s.payout_method == payout && s.speed == speed && s.expedited)
    }

    /// The names of `payout`'s expedited speeds.
    pub fn expedited_names(&self, payout: PayoutMethod) -> Vec<&str> {
        self.0.iter().filter(|s| s.payout_method == payout && s.expedited).map(|s| s.speed.as_str()).collect()
    }

    /// The dates a payment to `payout` made at `now` could be delivered
    /// on, earliest first, one option per date.
    pub fn options(&self, payout: PayoutMethod, now: DateTime<Utc>) -> Vec<DeliveryOption> {
        let calendar = payout.calendar();
        let today = now.date_naive();
        let mut options: Vec<DeliveryOption> = self
            .0
            .iter()
            .filter(|s| s.payout_method == payout)
            .map(|speed| {
                let mut submitted = calendar.this_or_next_business_day(today);
                if submitted == today && now > submitted.and_time(speed.cutoff).and_utc() {
                    submitted = calendar.add_business_days(submitted, 1);
                }
                DeliveryOption {
                    date: calendar.add_business_days(submitted, speed.business_days),
                    cutoff: submitted.and_time(speed.cutoff).and_utc(),
                    speed: speed.speed.clone(),
                    expedited: speed.expedited,
                }
            })
            .collect();
        // Per date: standard before expedited, then the later cut-off.
        options.sort_by(|a, b| {
            (a.date, a.expedited, std::cmp::Reverse(a.cutoff)).cmp(&(
                b.date,
                b.expedited,
                std::cmp::Reverse(b.cutoff),
            ))
        });
        options.dedup_by(|later, first| later.date == first.date);
        options
    }
}

/// A date a payment could be delivered on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryOption {
    /// The delivery date.
    pub date: NaiveDate,
    /// The last moment to pay for this date.
    pub cutoff: DateTime<Utc>,
    /// The speed that delivers on it.
    pub speed: String,
    /// Whether the speed is expedited.
    pub expedited: bool,
}

/// Which option an intent takes: the one on the date the payer chose, the
/// fastest when expedited, else the standard one.
pub fn choose(
    options: &[DeliveryOption],
    chosen: Option<NaiveDate>,
    expedited: bool,
) -> Option<&DeliveryOption> {
    match chosen {
        Some(date) => options.iter().find(|o| o.date == date),
        None if expedited => options.first(),
        None => options.iter().find(|o| !o.expedited).or_else(|| options.last()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn summary(options: &[DeliveryOption]) -> Vec<(String, String, String)> {
        options
            .iter()
            .map(|o| (o.date.to_string(), o.cutoff.format("%Y-%m-%dT%H:%M:%SZ").to_string(), o.speed.clone()))
            .collect()
    }

    fn row(date: &str, cutoff: &str, speed: &str) -> (String, String, String) {
        (date.to_owned(), cutoff.to_owned(), speed.to_owned())
    }

    #[test]
    fn the_seed_options_for_an_ach_intent_created_2021_05_11_at_10_52() {
        let options = Speeds::defaults().options(PayoutMethod::Ach, at("2021-05-11T10:52:39Z"));
        assert_eq!(
            summary(&options),
            vec![
                row("2021-05-11", "2021-05-11T14:59:59Z", "same_day"),
                row("2021-05-12", "2021-05-11T21:59:59Z", "next_day"),
                row("2021-05-13", "2021-05-11T23:59:59Z", "standard"),
            ]
        );
        assert_eq!(choose(&options, None, false).unwrap().speed, "standard");
        assert_eq!(choose(&options, None, true).unwrap().speed, "same_day");
        let may_11 = NaiveDate::from_ymd_opt(2021, 5, 11).unwrap();
        assert_eq!(choose(&options, Some(may_11), false).unwrap().cutoff, at("2021-05-11T14:59:59Z"));
        assert!(choose(&options, NaiveDate::from_ymd_opt(2021, 3, 11), false).is_none());
    }

    #[test]
    fn a_passed_cutoff_moves_that_speed_to_the_next_business_day() {
        // 15:00 on Tuesday: same-day's cut-off has passed, so it is
        // submitted Wednesday and delivers Wednesday — the date next-day
        // reaches too. Both are expedited; the later cut-off (Wednesday's)
        // is offered.
        let options = Speeds::defaults().options(PayoutMethod::Ach, at("2021-05-11T15:00:00Z"));
        assert_eq!(
            summary(&options),
            vec![
                row("2021-05-12", "2021-05-12T14:59:59Z", "same_day"),
                row("2021-05-13", "2021-05-11T23:59:59Z", "standard"),
            ]
        );
        // Exactly at the cut-off the payment still makes it.
        let options = Speeds::defaults().options(PayoutMethod::Ach, at("2021-05-11T14:59:59Z"));
        assert_eq!(options[0].date.to_string(), "2021-05-11");
    }

    #[test]
    fn weekends_and_holidays_push_submission_and_delivery() {
        // Saturday 2021-05-15: submitted Monday the 17th.
        let options = Speeds::defaults().options(PayoutMethod::Ach, at("2021-05-15T09:00:00Z"));
        assert_eq!(
            summary(&options),
            vec![
                row("2021-05-17", "2021-05-17T14:59:59Z", "same_day"),
                row("2021-05-18", "2021-05-17T21:59:59Z", "next_day"),
                row("2021-05-19", "2021-05-17T23:59:59Z", "standard"),
            ]
        );
        // Friday before Memorial Day 2021 after every cut-off: submitted
        // Tuesday June 1st.
        let options = Speeds::defaults().options(PayoutMethod::Ach, at("2021-05-28T23:59:59.5Z"));
        assert_eq!(options[0].cutoff, at("2021-06-01T14:59:59Z"));
        // A check's standard week spans Independence Day (observed Monday
        // 2021-07-05).
        let options = Speeds::defaults().options(PayoutMethod::Check, at("2021-06-30T12:00:00Z"));
        assert_eq!(
            summary(&options),
            vec![
                row("2021-07-01", "2021-06-30T18:59:59Z", "overnight"),
                row("2021-07-02", "2021-06-30T18:59:59Z", "two_day"),
                row("2021-07-08", "2021-06-30T23:59:59Z", "standard"),
            ]
        );
        // EFT observes Canada Day too: Wednesday June 30 + 2 → Monday July 5
        // is a US holiday, Thursday July 1 a Canadian one.
        let options = Speeds::defaults().options(PayoutMethod::Eft, at("2021-06-30T12:00:00Z"));
        assert_eq!(
            summary(&options),
            vec![
                row("2021-07-02", "2021-06-30T19:59:59Z", "next_day"),
                row("2021-07-06", "2021-06-30T23:59:59Z", "standard")
            ]
        );
    }

    #[test]
    fn speeds_need_one_standard_per_payout_method() {
        let mut speeds = Speeds::defaults().0;
        assert!(Speeds::new(speeds.clone()).is_ok());
        speeds.retain(|s| s.payout_method != PayoutMethod::Wire || s.expedited);
        assert_eq!(
            Speeds::new(speeds).unwrap_err(),
            "wire must have exactly one speed that is not expedited"
        );
        let json = r#"[{"payout_method": "ach", "speed": "standard", "business_days": 1, "cutoff": "20:00:00", "expedited": false}]"#;
        let parsed: Vec<Speed> = serde_json::from_str(json).unwrap();
        assert_eq!(parsed[0].cutoff, NaiveTime::from_hms_opt(20, 0, 0).unwrap());
        assert!(Speeds::new(parsed).is_err(), "the other payout methods need a standard speed");
    }
}
