//! The rules of payment links, without I/O: their words and states, the
//! further fields a page asks for and their answers, when reminders fall
//! due, and what the emails say.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde_json::{Map, Value, json};

/// Whether a link is paid once or many times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkType {
    /// Paid once, then `paid`.
    OneTime,
    /// Paid any number of times.
    Reusable,
}

impl LinkType {
    /// The stored words.
    pub(crate) const WORDS: &'static [&'static str] = &["one_time", "reusable"];

    /// The stored word.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::OneTime => "one_time",
            Self::Reusable => "reusable",
        }
    }

    /// The type a stored word names (`one_time` for anything else).
    pub(crate) fn parse(word: &str) -> Self {
        if word == "reusable" { Self::Reusable } else { Self::OneTime }
    }
}

/// Where a link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkStatus {
    /// Takes payments.
    Active,
    /// A one-time link whose payment was processed.
    Paid,
    /// Canceled by the partner.
    Canceled,
    /// Past its expiry unpaid.
    Expired,
}

impl LinkStatus {
    /// The stored words.
    pub(crate) const WORDS: &'static [&'static str] = &["active", "paid", "canceled", "expired"];

    /// The stored word.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paid => "paid",
            Self::Canceled => "canceled",
            Self::Expired => "expired",
        }
    }

    /// The status a stored word and the clock make: an active link past
    /// `expires_at` is expired, even before the sweep stores it.
    pub(crate) fn at(word: &str, expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        match word {
            "paid" => Self::Paid,
            "canceled" => Self::Canceled,
            "expired" => Self::Expired,
            _ if expires_at.is_some_and(|at| at <= now) => Self::Expired,
            _ => Self::Active,
        }
    }

    /// Why a link in this status takes no payment, as the page and the API
    /// say it; `None` while it does.
    pub(crate) fn closed_reason(self) -> Option<&'static str> {
        match self {
            Self::Active => None,
            Self::Paid => Some("This payment link has already been paid"),
            Self::Canceled => Some("This payment link was canceled"),
            Self::Expired => Some("This payment link has expired"),
        }
    }
}

/// The most sections a link asks for.
const MAX_SECTIONS: usize = 10;
/// The most fields of one section.
const MAX_FIELDS: usize = 20;
/// The longest title, section heading or placeholder.
const MAX_LABEL: usize = 100;
/// The longest answer.
const MAX_ANSWER: usize = 500;
/// The kinds of input a further field may be.
const INPUT_TYPES: &[&str] = &["text", "email", "number", "date", "phone"];

/// One further field, as given on the wire.
#[derive(Clone, Debug, Default)]
pub(crate) struct GivenField {
    pub(crate) title: String,
    pub(crate) required: bool,
    pub(crate) kind: String,
    pub(crate) placeholder: String,
}

/// One section of further fields, as given on the wire.
#[derive(Clone, Debug, Default)]
pub(crate) struct GivenSection {
    pub(crate) section: String,
    pub(crate) fields: Vec<GivenField>,
}

/// The further fields as stored (a JSON array of sections), or each
/// problem with the path of its attribute.
pub(crate) fn datafields(given: &[GivenSection]) -> Result<Value, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut push = |path: String, why: &str| problems.push((path, why.to_owned()));
    if given.len() > MAX_SECTIONS {
        push("additional_datafields".to_owned(), "At most 10 sections");
    }
    let mut titles = std::collections::HashSet::new();
    let mut sections = Vec::new();
    for (s, section) in given.iter().enumerate() {
        let at = |rest: &str| format!("additional_datafields[{s}].{rest}");
        if section.section.chars().count() > MAX_LABEL {
            push(at("section"), "At most 100 characters");
        }
        if section.fields.is_empty() || section.fields.len() > MAX_FIELDS {
            push(at("fields"), "From 1 to 20 fields per section");
        }
        let mut fields = Vec::new();
        for (f, field) in section.fields.iter().enumerate() {
            let at = |name: &str| at(&format!("fields[{f}].{name}"));
            let title = field.title.trim();
            if title.is_empty() || title.chars().count() > MAX_LABEL {
                push(at("title"), "Required: 1 to 100 characters");
            } else if !titles.insert(title.to_lowercase()) {
                push(at("title"), "Each field of a link has its own title");
            }
            let kind = if field.kind.trim().is_empty() { "text" } else { field.kind.trim() };
            if !INPUT_TYPES.contains(&kind) {
                push(at("type"), "Must be text, email, number, date or phone");
            }
            if field.placeholder.chars().count() > MAX_LABEL {
                push(at("placeholder"), "At most 100 characters");
            }
            fields.push(json!({
                "title": title, "required": field.required, "type": kind, "placeholder": field.placeholder,
            }));
        }
        sections.push(json!({"section": section.section.trim(), "fields": fields}));
    }
    if problems.is_empty() { Ok(Value::Array(sections)) } else { Err(problems) }
}

/// The sections stored in `stored`, as given.
pub(crate) fn sections(stored: &Value) -> Vec<GivenSection> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    stored
        .as_array()
        .map(|sections| {
            sections
                .iter()
                .map(|s| GivenSection {
                    section: text(s, "section"),
                    fields: s
                        .get("fields")
                        .and_then(Value::as_array)
                        .map(|fields| {
                            fields
                                .iter()
                                .map(|f| GivenField {
                                    title: text(f, "title"),
                                    required: f.get("required").and_then(Value::as_bool).unwrap_or(false),
                                    kind: text(f, "type"),
                                    placeholder: text(f, "placeholder"),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The answers a payer gave to the link's further fields, by title, to
/// store in the payment's attrs: every required field answered, no field
/// the link does not ask for, each answer at most 500 characters. The
/// problems name the field by its title.
pub(crate) fn answers(
    stored: &Value,
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut out = Map::new();
    let asked: Vec<GivenField> = sections(stored).into_iter().flat_map(|s| s.fields).collect();
    for field in &asked {
        let answer = match given.get(&field.title) {
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        if answer.is_empty() {
            if field.required {
                problems.push((field.title.clone(), "Required".to_owned()));
            }
        } else if answer.chars().count() > MAX_ANSWER {
            problems.push((field.title.clone(), "At most 500 characters".to_owned()));
        } else {
            out.insert(field.title.clone(), Value::String(answer));
        }
    }
    for key in given.keys() {
        if !asked.iter().any(|f| &f.title == key) {
            problems.push((key.clone(), "The link does not ask for this field".to_owned()));
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

/// The most reminder days on each side of the due date.
const MAX_REMINDERS: usize = 5;
/// The farthest a reminder is from the due date, in days.
const MAX_REMINDER_DAYS: u32 = 60;

/// When reminders are sent, relative to the due date.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reminders {
    /// Days before the due date, ascending, distinct.
    pub(crate) days_before: Vec<u32>,
    /// Days after the due date, ascending, distinct.
    pub(crate) days_after: Vec<u32>,
}

impl Reminders {
    /// Checks and orders reminder days; the problems name their attribute.
    pub(crate) fn new(days_before: &[u32], days_after: &[u32]) -> Result<Self, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut check = |name: &str, days: &[u32]| {
            if days.len() > MAX_REMINDERS {
                problems.push((format!("reminders.{name}"), "At most 5 days".to_owned()));
            }
            if days.iter().any(|d| !(1..=MAX_REMINDER_DAYS).contains(d)) {
                problems.push((format!("reminders.{name}"), "Each day from 1 to 60".to_owned()));
            }
            let mut days = days.to_vec();
            days.sort_unstable();
            days.dedup();
            days
        };
        let reminders = Self {
            days_before: check("days_before", days_before),
            days_after: check("days_after", days_after),
        };
        if problems.is_empty() { Ok(reminders) } else { Err(problems) }
    }

    /// As stored.
    pub(crate) fn to_json(&self) -> Value {
        if self.is_empty() {
            return json!({});
        }
        json!({"days_before": self.days_before, "days_after": self.days_after})
    }

    /// As `to_json` stored them.
    pub(crate) fn from_json(stored: &Value) -> Self {
        let days = |k: &str| {
            stored
                .get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_u64).filter_map(|d| u32::try_from(d).ok()).collect())
                .unwrap_or_default()
        };
        Self { days_before: days("days_before"), days_after: days("days_after") }
    }

    /// Whether no reminder is asked for.
    pub(crate) fn is_empty(&self) -> bool {
        self.days_before.is_empty() && self.days_after.is_empty()
    }

    /// The reminder to send `today` for a link due on `due`, created on
    /// `created`: the latest reminder day that has come, not before the
    /// link was made. A clock that jumped over several days sends one
    /// reminder, the latest, not a burst.
    pub(crate) fn due_on(&self, due: NaiveDate, created: NaiveDate, today: NaiveDate) -> Option<NaiveDate> {
        let before = self.days_before.iter().filter_map(|d| due.checked_sub_days(Days::new(u64::from(*d))));
        let after = self.days_after.iter().filter_map(|d| due.checked_add_days(Days::new(u64::from(*d))));
        before.chain(after).filter(|day| *day <= today && *day >= created).max()
    }
}

/// What an email about a link says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Email {
    pub(crate) subject: String,
    pub(crate) body: String,
}

/// What a link's email says: the merchant, what it is for, the amount and
/// due date where there are, and the page's address.
pub(crate) fn email(
    merchant: &str,
    description: &str,
    amount: Option<&str>,
    due: Option<NaiveDate>,
    url: &str,
    reminder: bool,
) -> Email {
    let subject = if reminder {
        format!("Reminder: payment requested by {merchant}")
    } else {
        format!("Payment requested by {merchant}")
    };
    let mut body = format!("{merchant} requests a payment.\n\n{description}\n");
    if let Some(amount) = amount {
        body.push_str(&format!("Amount: {amount}\n"));
    }
    if let Some(due) = due {
        body.push_str(&format!("Due: {}\n", due.format("%B %-d, %Y")));
    }
    body.push_str(&format!("\nPay securely at:\n{url}\n"));
    Email { subject, body }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn an_active_link_past_its_expiry_is_expired() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        let past = Some(now - chrono::TimeDelta::seconds(1));
        assert_eq!(LinkStatus::at("active", past, now), LinkStatus::Expired);
        assert_eq!(
            LinkStatus::at("active", Some(now + chrono::TimeDelta::hours(1)), now),
            LinkStatus::Active
        );
        assert_eq!(LinkStatus::at("active", None, now), LinkStatus::Active);
        // A paid or canceled link keeps its status after the expiry.
        assert_eq!(LinkStatus::at("paid", past, now), LinkStatus::Paid);
        assert_eq!(LinkStatus::at("canceled", past, now), LinkStatus::Canceled);
        assert_eq!(LinkStatus::Active.closed_reason(), None);
        assert_eq!(LinkStatus::Expired.closed_reason(), Some("This payment link has expired"));
    }

    fn field(title: &str, required: bool) -> GivenField {
        GivenField { title: title.to_owned(), required, ..GivenField::default() }
    }

    #[test]
    fn datafields_are_checked_and_stored_in_sections() {
        let given =
            [GivenSection { section: "Extra Fields".into(), fields: vec![field("Field Name", false)] }];
        let stored = datafields(&given).unwrap();
        assert_eq!(
            stored,
            json!([{"section": "Extra Fields", "fields": [
                {"title": "Field Name", "required": false, "type": "text", "placeholder": ""}]}])
        );
        assert_eq!(sections(&stored)[0].fields[0].title, "Field Name");
        let bad = [
            GivenSection { section: "A".into(), fields: vec![field("Unit", false), field("unit", false)] },
            GivenSection { section: "B".into(), fields: vec![] },
            GivenSection {
                section: "C".into(),
                fields: vec![GivenField {
                    title: " ".into(),
                    kind: "colour".into(),
                    ..GivenField::default()
                }],
            },
        ];
        let problems = datafields(&bad).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "additional_datafields[0].fields[1].title",
                "additional_datafields[1].fields",
                "additional_datafields[2].fields[0].title",
                "additional_datafields[2].fields[0].type",
            ]
        );
    }

    #[test]
    fn answers_cover_the_required_fields_and_nothing_else() {
        let stored = datafields(&[GivenSection {
            section: String::new(),
            fields: vec![field("Unit", true), field("Note", false)],
        }])
        .unwrap();
        let given = json!({"Unit": " 4B ", "Note": ""});
        let kept = answers(&stored, given.as_object().unwrap()).unwrap();
        assert_eq!(Value::Object(kept), json!({"Unit": "4B"}));
        let given = json!({"Note": "x", "Colour": "red"});
        let problems = answers(&stored, given.as_object().unwrap()).unwrap_err();
        assert_eq!(
            problems,
            [
                ("Unit".to_owned(), "Required".to_owned()),
                ("Colour".to_owned(), "The link does not ask for this field".to_owned())
            ]
        );
    }

    #[test]
    fn reminders_fall_on_their_days_once_the_latest_first() {
        let reminders = Reminders::new(&[3, 1, 3], &[7, 1]).unwrap();
        assert_eq!(reminders.days_before, [1, 3]);
        assert_eq!(Reminders::from_json(&reminders.to_json()), reminders);
        let (due, created) = (day("2026-12-20"), day("2026-12-01"));
        assert_eq!(reminders.due_on(due, created, day("2026-12-16")), None);
        assert_eq!(reminders.due_on(due, created, day("2026-12-17")), Some(day("2026-12-17")));
        assert_eq!(reminders.due_on(due, created, day("2026-12-18")), Some(day("2026-12-17")));
        assert_eq!(reminders.due_on(due, created, day("2026-12-19")), Some(day("2026-12-19")));
        // A jump over several days sends the latest reminder only.
        assert_eq!(reminders.due_on(due, created, day("2027-01-30")), Some(day("2026-12-27")));
        // None before the link existed.
        assert_eq!(reminders.due_on(due, day("2026-12-19"), day("2026-12-18")), None);
        let problems = Reminders::new(&[0, 61], &[1, 2, 3, 4, 5, 6]).unwrap_err();
        assert_eq!(problems.len(), 2);
        assert!(Reminders::new(&[], &[]).unwrap().to_json().as_object().unwrap().is_empty());
    }

    #[test]
    fn emails_say_who_asks_what_for_and_where_to_pay() {
        let mail = email("Acme", "Rent", Some("$10.00"), Some(day("2026-12-20")), "https://pay/x", false);
        assert_eq!(mail.subject, "Payment requested by Acme");
        assert!(mail.body.contains("Rent\nAmount: $10.00\nDue: December 20, 2026\n"), "{}", mail.body);
        assert!(mail.body.ends_with("https://pay/x\n"));
        let mail = email("Acme", "Rent", None, None, "https://pay/x", true);
        assert_eq!(mail.subject, "Reminder: payment requested by Acme");
        assert!(!mail.body.contains("Amount"));
    }
}
