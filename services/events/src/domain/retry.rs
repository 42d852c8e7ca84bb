//! What a delivery attempt's answer means, and when the next one is due.
//!
//! The schedule is the Standard Webhooks one: the first attempt at once,
//! then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h after each
//! failure — ten attempts over about three days. Times are on the service
//! clock of the delivery's partner and mode (a test clock moves them), so
//! every function here takes `now` rather than reading a clock.
//!
//! - 2xx is success. Redirects are not followed: a 3xx is a failure.
//! - 410 Gone disables the webhook: its owner said the endpoint is gone.
//! - 429 and 503 may say when to come back (`Retry-After`, seconds or an
//!   HTTP date): the next attempt is no earlier than that, and no later
//!   than [`MAX_RETRY_AFTER`] from now, so one answer cannot park a
//!   delivery for ever. It still counts as an attempt.
//! - Any other answer, or none (timeout, refused connection, refused
//!   address), is a failure retried on the schedule; after the last
//!   attempt the delivery is given up.
//! - A webhook whose every attempt has failed for [`DISABLE_AFTER_DAYS`]
//!   days is disabled (across its deliveries: the schedule of one event is
//!   shorter than that).

use std::{borrow::Cow, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};

/// The delay before each attempt, counted from the previous one's failure
/// (the first from the event's recording).
pub const SCHEDULE: [Duration; 10] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];
/// Attempts per delivery.
pub const MAX_ATTEMPTS: u32 = SCHEDULE.len() as u32;
/// How long an attempt may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Days of nothing but failures after which a webhook is disabled.
pub const DISABLE_AFTER_DAYS: i64 = 5;
/// The bytes of an answer's body a webhook log keeps.
pub const RESPONSE_EXCERPT_BYTES: usize = 1024;

/// How an attempt ended, as the delivery worker saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer<'a> {
    /// The endpoint answered with an HTTP status.
    Status {
        /// The status code.
        code: u16,
        /// The `Retry-After` header, if any, as sent.
        retry_after: Option<&'a str>,
    },
    /// No answer: the address was refused, the connection failed, or the
    /// attempt timed out.
    NoAnswer,
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Delivered (2xx): the webhook's failure streak ends.
    Delivered,
    /// Failed: attempt again at this time.
    RetryAt(DateTime<Utc>),
    /// Failed, and the schedule is spent: give the delivery up.
    GiveUp,
    /// The endpoint is gone (410): give the delivery up and disable the
    /// webhook (reason `gone`).
    DisableWebhook,
}

/// What follows attempt number `attempt` (1 for the first) that ended with
/// `answer` at `now`. An attempt number of 0 is taken as 1.
pub fn decide(attempt: u32, answer: Answer<'_>, now: DateTime<Utc>) -> Decision {
    let attempt = attempt.max(1);
    let retry_after = match answer {
        Answer::Status { code: 200..=299, .. } => return Decision::Delivered,
        Answer::Status { code: 410, .. } => return Decision::DisableWebhook,
        Answer::Status { code: 429 | 503, retry_after } => {
            retry_after.and_then(|value| parse_retry_after(value, now))
        }
        Answer::Status { .. } | Answer::NoAnswer => None,
    };
    // SCHEDULE[n] is the delay before attempt n + 1.
    let Some(scheduled) = usize::try_from(attempt).ok().and_then(|n| SCHEDULE.get(n).copied()) else {
        return Decision::GiveUp;
    };
    let delay = retry_after.map_or(scheduled, |asked| asked.min(MAX_RETRY_AFTER).max(scheduled));
    match TimeDelta::from_std(delay).ok().and_then(|delay| now.checked_add_signed(delay)) {
        Some(at) => Decision::RetryAt(at),
        None => Decision::GiveUp,
    }
}

/// The delay a `Retry-After` value asks for at `now`: whole seconds, or an
/// HTTP date (a date in the past asks for none). `None` when it is
/// neither.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 is still "a very long time".
        return Some(value.parse::<u64>().map_or(Duration::MAX, Duration::from_secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// The first attempt of a delivery made at `now`.
pub fn first_attempt_at(now: DateTime<Utc>) -> DateTime<Utc> {
    // SCHEDULE[0] is zero: at once.
    now
}

/// A webhook's failure streak after an attempt at `at`: ended by a
/// success, started by a failure if none was running.
pub fn failing_since(
    streak: Option<DateTime<Utc>>,
    delivered: bool,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if delivered { None } else { Some(streak.unwrap_or(at)) }
}

/// Whether a webhook failing since `streak` has failed long enough at `now`
/// to be disabled (reason `failing`).
pub fn failing_too_long(streak: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    streak.is_some_and(|since| now - since >= TimeDelta::days(DISABLE_AFTER_DAYS))
}

/// What a webhook log keeps of an answer's body: its first
/// [`RESPONSE_EXCERPT_BYTES`] bytes as text, cut at a character boundary,
/// invalid UTF-8 replaced and NULs (which PostgreSQL text refuses) dropped.
pub fn response_excerpt(body: &[u8]) -> String {
    let head = &body[..body.len().min(RESPONSE_EXCERPT_BYTES)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => Cow::Borrowed(text),
        // Only the last character was cut in two: drop it.
        Err(e) if e.error_len().is_none() => String::from_utf8_lossy(&head[..e.valid_up_to()]),
        Err(_) => String::from_utf8_lossy(head),
    };
    let mut out = String::with_capacity(text.len().min(RESPONSE_EXCERPT_BYTES));
    for c in text.chars().filter(|&c| c != '\0') {
        if out.len() + c.len_utf8() > RESPONSE_EXCERPT_BYTES {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap()
    }

    fn status(code: u16) -> Answer<'static> {
        Answer::Status { code, retry_after: None }
    }

    fn after(secs: i64) -> Decision {
        Decision::RetryAt(now() + TimeDelta::seconds(secs))
    }

    #[test]
    fn failures_follow_the_standard_webhooks_schedule_then_give_up() {
        let expected = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400];
        for (attempt, secs) in (1..).zip(expected) {
            assert_eq!(decide(attempt, status(500), now()), after(secs), "after attempt {attempt}");
            assert_eq!(decide(attempt, Answer::NoAnswer, now()), after(secs), "after attempt {attempt}");
        }
        assert_eq!(decide(MAX_ATTEMPTS, status(500), now()), Decision::GiveUp);
        assert_eq!(decide(MAX_ATTEMPTS + 1, Answer::NoAnswer, now()), Decision::GiveUp);
        assert_eq!(first_attempt_at(now()), now());
        assert_eq!(MAX_ATTEMPTS, 10);
    }

    #[test]
    fn any_2xx_is_delivered_and_redirects_are_failures() {
        for code in [200, 201, 202, 204, 299] {
            assert_eq!(decide(3, status(code), now()), Decision::Delivered, "{code}");
        }
        for code in [301, 302, 307, 308, 400, 401, 404, 500, 502] {
            assert_eq!(decide(1, status(code), now()), after(5), "{code}");
        }
    }

    #[test]
    fn gone_disables_the_webhook_at_any_attempt() {
        assert_eq!(decide(1, status(410), now()), Decision::DisableWebhook);
        assert_eq!(decide(MAX_ATTEMPTS, status(410), now()), Decision::DisableWebhook);
    }

    #[test]
    fn retry_after_on_429_and_503_delays_but_never_hastens_or_parks() {
        let asked = |code, value| Answer::Status { code, retry_after: Some(value) };
        // Later than the schedule: honoured.
        assert_eq!(decide(1, asked(429, "3600"), now()), after(3600));
        assert_eq!(decide(1, asked(503, "120"), now()), after(120));
        // Sooner than the schedule: the schedule wins.
        assert_eq!(decide(3, asked(429, "1"), now()), after(1800));
        // An HTTP date.
        assert_eq!(decide(1, asked(503, "Mon, 07 Dec 2026 11:00:00 GMT"), now()), after(3600));
        // More than a day: capped.
        assert_eq!(decide(1, asked(429, "999999999999999999999"), now()), after(86_400));
        // Unreadable: the schedule.
        assert_eq!(decide(1, asked(429, "soon"), now()), after(5));
        // Other statuses do not honour it.
        assert_eq!(decide(1, asked(500, "3600"), now()), after(5));
        // It still counts as an attempt.
        assert_eq!(decide(MAX_ATTEMPTS, asked(429, "60"), now()), Decision::GiveUp);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(parse_retry_after(" 120 ", now()), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Mon, 07 Dec 2026 10:00:30 GMT", now()), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Sun, 06 Dec 2026 10:00:00 GMT", now()), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-5", now()), None);
        assert_eq!(parse_retry_after("", now()), None);
    }

    #[test]
    fn five_days_of_failures_disable_a_webhook_and_a_success_resets_the_streak() {
        let start = now();
        let streak = failing_since(None, false, start);
        assert_eq!(streak, Some(start));
        let later = start + TimeDelta::days(2);
        assert_eq!(failing_since(streak, false, later), Some(start), "a streak keeps its start");
        assert!(!failing_too_long(streak, start + TimeDelta::days(5) - TimeDelta::seconds(1)));
        assert!(failing_too_long(streak, start + TimeDelta::days(5)));
        assert_eq!(failing_since(streak, true, later), None);
        assert!(!failing_too_long(None, start + TimeDelta::days(30)));
    }

    #[test]
    fn excerpts_keep_the_first_kilobyte_at_a_character_boundary() {
        assert_eq!(response_excerpt(b"ok"), "ok");
        let long = "a".repeat(3000);
        assert_eq!(response_excerpt(long.as_bytes()).len(), RESPONSE_EXCERPT_BYTES);
        // A two-byte character straddling the limit is dropped, not mangled.
        let straddling = format!("{}é", "a".repeat(RESPONSE_EXCERPT_BYTES - 1));
        assert_eq!(response_excerpt(straddling.as_bytes()), "a".repeat(RESPONSE_EXCERPT_BYTES - 1));
        // Invalid bytes are replaced, NULs dropped, and the limit holds.
        let mut junk = vec![0xff; 600];
        junk.extend_from_slice(b"\0x");
        let excerpt = response_excerpt(&junk);
        assert!(excerpt.len() <= RESPONSE_EXCERPT_BYTES);
        assert!(excerpt.starts_with('\u{fffd}'));
        assert!(!excerpt.contains('\0'));
    }
}
