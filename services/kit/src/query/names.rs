//! How the query language spells fields and functions, for messages and
//! computed keys: `email`, `attrs[plan]`, `year(created_at)`,
//! `count_distinct(email)`.

use paymesh_proto::common::v1::{AggregateFunction, FieldRef, ScalarFunction};

/// The query-language spelling of a field: `email`, `attrs[plan]`,
/// `lower(email)`.
pub fn display_field(field: &FieldRef) -> String {
    let mut path = String::new();
    for (i, segment) in field.path.iter().enumerate() {
        if i == 0 {
            path.push_str(segment);
        } else {
            path.push('[');
            path.push_str(segment);
            path.push(']');
        }
    }
    match ScalarFunction::try_from(field.function) {
        Ok(ScalarFunction::Unspecified) => path,
        Ok(function) => format!("{}({path})", scalar_function_name(function)),
        Err(_) => format!("function#{}({path})", field.function),
    }
}

/// The query-language spelling of an aggregate: `sum(amount)`.
pub fn display_aggregate(function: AggregateFunction, field: &FieldRef) -> String {
    format!("{}({})", aggregate_function_name(function), display_field(field))
}

/// The query-language name of a scalar function (`year`, `lower`, …).
pub fn scalar_function_name(function: ScalarFunction) -> &'static str {
    match function {
        ScalarFunction::Unspecified => "",
        ScalarFunction::Lower => "lower",
        ScalarFunction::Upper => "upper",
        ScalarFunction::Length => "length",
        ScalarFunction::Abs => "abs",
        ScalarFunction::Ceil => "ceil",
        ScalarFunction::Floor => "floor",
        ScalarFunction::Round => "round",
        ScalarFunction::Year => "year",
        ScalarFunction::Month => "month",
        ScalarFunction::Monthname => "monthname",
        ScalarFunction::Day => "day",
        ScalarFunction::Dayname => "dayname",
        ScalarFunction::Dayofweek => "dayofweek",
        ScalarFunction::Dayofyear => "dayofyear",
        ScalarFunction::Weekofyear => "weekofyear",
        ScalarFunction::LastDay => "last_day",
        ScalarFunction::Hour => "hour",
        ScalarFunction::Minute => "minute",
        ScalarFunction::Second => "second",
        ScalarFunction::UnixTimestamp => "unix_timestamp",
        ScalarFunction::Date => "date",
    }
}

/// The query-language name of an aggregate function (`sum`, `count`, …).
pub fn aggregate_function_name(function: AggregateFunction) -> &'static str {
    match function {
        AggregateFunction::Unspecified => "",
        AggregateFunction::Sum => "sum",
        AggregateFunction::Count => "count",
        AggregateFunction::CountDistinct => "count_distinct",
        AggregateFunction::Avg => "avg",
        AggregateFunction::Min => "min",
        AggregateFunction::Max => "max",
        AggregateFunction::Variance => "variance",
        AggregateFunction::Stddev => "stddev",
    }
}

/// Every scalar function, for parsers that look names up.
pub const SCALAR_FUNCTIONS: &[ScalarFunction] = &[
    ScalarFunction::Lower,
    ScalarFunction::Upper,
    ScalarFunction::Length,
    ScalarFunction::Abs,
    ScalarFunction::Ceil,
    ScalarFunction::Floor,
    ScalarFunction::Round,
    ScalarFunction::Year,
    ScalarFunction::Month,
    ScalarFunction::Monthname,
    ScalarFunction::Day,
    ScalarFunction::Dayname,
    ScalarFunction::Dayofweek,
    ScalarFunction::Dayofyear,
    ScalarFunction::Weekofyear,
    ScalarFunction::LastDay,
    ScalarFunction::Hour,
    ScalarFunction::Minute,
    ScalarFunction::Second,
    ScalarFunction::UnixTimestamp,
    ScalarFunction::Date,
];

/// Every aggregate function, for parsers that look names up.
pub const AGGREGATE_FUNCTIONS: &[AggregateFunction] = &[
    AggregateFunction::Sum,
    AggregateFunction::Count,
    AggregateFunction::CountDistinct,
    AggregateFunction::Avg,
    AggregateFunction::Min,
    AggregateFunction::Max,
    AggregateFunction::Variance,
    AggregateFunction::Stddev,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn field(path: &[&str], function: ScalarFunction) -> FieldRef {
        FieldRef { path: path.iter().map(|s| (*s).to_owned()).collect(), function: function as i32 }
    }

    #[test]
    fn fields_display_in_query_language_spelling() {
        assert_eq!(display_field(&field(&["email"], ScalarFunction::Unspecified)), "email");
        assert_eq!(display_field(&field(&["attrs", "plan"], ScalarFunction::Unspecified)), "attrs[plan]");
        assert_eq!(display_field(&field(&["created_at"], ScalarFunction::Year)), "year(created_at)");
        assert_eq!(
            display_aggregate(
                AggregateFunction::CountDistinct,
                &field(&["email"], ScalarFunction::Unspecified)
            ),
            "count_distinct(email)"
        );
    }

    #[test]
    fn every_function_has_a_distinct_name() {
        let mut names: Vec<_> = SCALAR_FUNCTIONS.iter().map(|f| scalar_function_name(*f)).collect();
        names.extend(AGGREGATE_FUNCTIONS.iter().map(|f| aggregate_function_name(*f)));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        assert!(names.iter().all(|n| !n.is_empty()));
    }
}
