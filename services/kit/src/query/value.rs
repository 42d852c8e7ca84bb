//! Caller values in (parsed by type, bound as parameters) and computed
//! values out (read from rows as JSON).

use std::str::FromStr as _;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{Postgres, QueryBuilder, Row as _, postgres::PgRow};
use uuid::Uuid;

use super::resource::ColumnType;
use crate::json::decimal_json;

/// The longest value a filter accepts, in characters.
pub(super) const MAX_VALUE_CHARS: usize = 1024;

/// A caller value, parsed by the type of what it is compared with.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Bind {
    Text(String),
    Id(Uuid),
    Decimal(Decimal),
    Integer(i64),
    Bool(bool),
    Timestamp(DateTime<Utc>),
    Date(NaiveDate),
}

impl Bind {
    /// Parses `raw` as a value of type `ty`, or says what was expected.
    pub(super) fn parse(ty: ColumnType, raw: &str) -> Result<Self, String> {
        if raw.chars().count() > MAX_VALUE_CHARS {
            return Err(format!("Must be at most {MAX_VALUE_CHARS} characters"));
        }
        match ty {
            ColumnType::Text => Ok(Self::Text(raw.to_owned())),
            ColumnType::Enum(allowed) => {
                if allowed.contains(&raw) {
                    Ok(Self::Text(raw.to_owned()))
                } else {
                    Err(format!("Must be one of: {}", allowed.join(", ")))
                }
            }
            ColumnType::Id => Uuid::parse_str(raw).map(Self::Id).map_err(|_| "Must be a valid id".to_owned()),
            ColumnType::Decimal => {
                Decimal::from_str(raw).map(Self::Decimal).map_err(|_| "Must be a valid number".to_owned())
            }
            ColumnType::Integer => {
                raw.parse().map(Self::Integer).map_err(|_| "Must be a whole number".to_owned())
            }
            // Any case: the Payload SDK sends Python's `True` and `False`.
            ColumnType::Bool => match raw.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Self::Bool(true)),
                "false" | "0" => Ok(Self::Bool(false)),
                _ => Err("Must be true or false".to_owned()),
            },
            ColumnType::Timestamp => parse_timestamp(raw).map(Self::Timestamp).ok_or_else(|| {
                "Must be a date (YYYY-MM-DD) or a time (RFC 3339, or YYYY-MM-DD HH:MM:SS in UTC)".to_owned()
            }),
            // A time against a date compares the date as its midnight UTC
            // (`due_date <= datetime.now() - timedelta(days=30)`).
            ColumnType::Date => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map(Self::Date)
                .or_else(|_| parse_timestamp(raw).map(Self::Timestamp).ok_or(()))
                .map_err(|()| {
                    "Must be a date (YYYY-MM-DD) or a time (RFC 3339, or YYYY-MM-DD HH:MM:SS in UTC)"
                        .to_owned()
                }),
        }
    }

    /// Pushes `$n` and binds the value.
    pub(super) fn push(self, builder: &mut QueryBuilder<Postgres>) {
        match self {
            Self::Text(v) => builder.push_bind(v),
            Self::Id(v) => builder.push_bind(v),
            Self::Decimal(v) => builder.push_bind(v),
            Self::Integer(v) => builder.push_bind(v),
            Self::Bool(v) => builder.push_bind(v),
            Self::Timestamp(v) => builder.push_bind(v),
            Self::Date(v) => builder.push_bind(v),
        };
    }
}

/// A timestamp as RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]` (UTC) or a bare date
/// (midnight UTC).
fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.to_utc());
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
}

/// Turns a LIKE pattern of the query language into SQL's: `*` matches any
/// run of characters; SQL's own wildcards (`%`, `_`) and the escape
/// character are matched literally. A pattern whose only wildcard is a
/// leading `*` (`?*run`, what the Payload SDK's `contains("run")` sends)
/// matches the text anywhere, as `*run*` does.
pub(super) fn like_pattern(raw: &str) -> String {
    let contains = raw.len() > 1 && raw.starts_with('*') && !raw[1..].contains('*');
    let mut pattern = String::with_capacity(raw.len() + 2);
    for c in raw.chars() {
        match c {
            '*' => pattern.push('%'),
            '%' | '_' | '\\' => {
                pattern.push('\\');
                pattern.push(c);
            }
            c => pattern.push(c),
        }
    }
    if contains {
        pattern.push('%');
    }
    pattern
}

/// Reads column `index` (a name or position) of `row`, typed `ty`, as JSON.
/// SQL NULL is `null`.
pub(super) fn read(row: &PgRow, index: &str, ty: ColumnType) -> Result<serde_json::Value, sqlx::Error> {
    use serde_json::Value;
    let value = match ty {
        ColumnType::Text | ColumnType::Enum(_) => row.try_get::<Option<String>, _>(index)?.map(Value::String),
        ColumnType::Id => row.try_get::<Option<Uuid>, _>(index)?.map(|v| Value::String(v.to_string())),
        ColumnType::Decimal => row.try_get::<Option<Decimal>, _>(index)?.map(decimal_json),
        ColumnType::Integer => row.try_get::<Option<i64>, _>(index)?.map(|v| Value::Number(v.into())),
        ColumnType::Bool => row.try_get::<Option<bool>, _>(index)?.map(Value::Bool),
        ColumnType::Timestamp => row
            .try_get::<Option<DateTime<Utc>>, _>(index)?
            .map(|v| Value::String(v.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))),
        ColumnType::Date => row
            .try_get::<Option<NaiveDate>, _>(index)?
            .map(|v| Value::String(v.format("%Y-%m-%d").to_string())),
    };
    Ok(value.unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_by_type() {
        assert_eq!(Bind::parse(ColumnType::Decimal, "100.50"), Ok(Bind::Decimal(Decimal::new(10050, 2))));
        assert_eq!(Bind::parse(ColumnType::Integer, "2019"), Ok(Bind::Integer(2019)));
        assert_eq!(Bind::parse(ColumnType::Bool, "true"), Ok(Bind::Bool(true)));
        assert_eq!(Bind::parse(ColumnType::Bool, "False"), Ok(Bind::Bool(false)));
        assert!(matches!(Bind::parse(ColumnType::Timestamp, "2019-02-01"), Ok(Bind::Timestamp(_))));
        assert!(matches!(Bind::parse(ColumnType::Timestamp, "2019-02-01 10:00:00"), Ok(Bind::Timestamp(_))));
        assert!(matches!(
            Bind::parse(ColumnType::Timestamp, "2019-02-01T10:00:00+02:00"),
            Ok(Bind::Timestamp(_))
        ));
        assert!(matches!(Bind::parse(ColumnType::Date, "2019-02-01"), Ok(Bind::Date(_))));
        // What the Payload SDK sends for `datetime.now()`, against a date.
        assert!(matches!(
            Bind::parse(ColumnType::Date, "2019-02-01 10:00:00.123456"),
            Ok(Bind::Timestamp(_))
        ));
    }

    #[test]
    fn values_of_the_wrong_type_say_what_was_expected() {
        assert_eq!(Bind::parse(ColumnType::Decimal, "1e5x"), Err("Must be a valid number".to_owned()));
        assert_eq!(
            Bind::parse(ColumnType::Decimal, "'; DROP TABLE x; --"),
            Err("Must be a valid number".to_owned())
        );
        assert_eq!(Bind::parse(ColumnType::Id, "123"), Err("Must be a valid id".to_owned()));
        assert_eq!(Bind::parse(ColumnType::Bool, "yes"), Err("Must be true or false".to_owned()));
        assert!(Bind::parse(ColumnType::Timestamp, "yesterday").is_err());
        assert!(Bind::parse(ColumnType::Date, "2019-02-31").is_err());
        assert_eq!(
            Bind::parse(ColumnType::Enum(&["customer", "processing"]), "admin"),
            Err("Must be one of: customer, processing".to_owned())
        );
        assert!(Bind::parse(ColumnType::Text, &"x".repeat(MAX_VALUE_CHARS + 1)).is_err());
    }

    #[test]
    fn like_patterns_escape_sql_wildcards() {
        assert_eq!(like_pattern("*INV -*"), "%INV -%");
        assert_eq!(like_pattern("INV*"), "INV%");
        // The Payload SDK's contains(): a lone leading `*` matches anywhere.
        assert_eq!(like_pattern("*run"), "%run%");
        assert_eq!(like_pattern("*"), "%");
        assert_eq!(like_pattern("100%_off\\"), "100\\%\\_off\\\\");
    }
}
