//! Custom attributes (`attrs`) between JSON and `google.protobuf.Struct`.
//!
//! `attrs` are JSON objects of the partner's choosing; on the wire between
//! services they are `Struct`s (DESIGN §3). Numbers in a `Struct` are
//! doubles, so an attribute number keeps about 15 significant digits; money
//! never travels as an attribute.

use chrono::{DateTime, Utc};
use prost_types::{ListValue, Struct, Timestamp, Value, value::Kind};
use rust_decimal::Decimal;
use serde_json::{Map, Number};

/// A time as a protobuf `Timestamp`.
pub fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: at.timestamp(), nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0) }
}

/// A protobuf `Timestamp` as a time; out-of-range values are an error.
pub fn from_timestamp(t: Timestamp) -> anyhow::Result<DateTime<Utc>> {
    let nanos = u32::try_from(t.nanos).map_err(|_| anyhow::anyhow!("negative nanoseconds in timestamp"))?;
    DateTime::from_timestamp(t.seconds, nanos).ok_or_else(|| anyhow::anyhow!("timestamp out of range"))
}

/// An exact decimal as a JSON number, with no float on the way (trailing
/// zeros dropped: `12.50` → `12.5`).
pub fn decimal_json(value: Decimal) -> serde_json::Value {
    serde_json::from_str(&value.normalize().to_string())
        .map_or_else(|_| serde_json::Value::String(value.to_string()), serde_json::Value::Number)
}

/// How deeply `value` nests: 0 for a scalar, 1 for an object or list of
/// scalars. Iterative, so any depth serde accepts is measured safely.
pub fn depth(value: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((value, level)) = stack.pop() {
        deepest = deepest.max(level);
        match value {
            serde_json::Value::Object(map) => stack.extend(map.values().map(|v| (v, level + 1))),
            serde_json::Value::Array(items) => stack.extend(items.iter().map(|v| (v, level + 1))),
            _ => {}
        }
    }
    deepest
}

/// A JSON object as a `Struct`.
pub fn to_struct(object: Map<String, serde_json::Value>) -> Struct {
    Struct { fields: object.into_iter().map(|(k, v)| (k, to_value(v))).collect() }
}

/// A JSON value as a protobuf `Value`.
pub fn to_value(value: serde_json::Value) -> Value {
    let kind = match value {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(b),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) => Kind::NumberValue(f),
            None => Kind::StringValue(n.to_string()),
        },
        serde_json::Value::String(s) => Kind::StringValue(s),
        serde_json::Value::Array(items) => {
            Kind::ListValue(ListValue { values: items.into_iter().map(to_value).collect() })
        }
        serde_json::Value::Object(object) => Kind::StructValue(to_struct(object)),
    };
    Value { kind: Some(kind) }
}

/// A `Struct` as a JSON object, keys in order.
pub fn from_struct(s: Struct) -> Map<String, serde_json::Value> {
    let mut fields: Vec<_> = s.fields.into_iter().collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields.into_iter().map(|(k, v)| (k, from_value(v))).collect()
}

/// A protobuf `Value` as JSON. Whole doubles become integers.
pub fn from_value(value: Value) -> serde_json::Value {
    match value.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::BoolValue(b)) => serde_json::Value::Bool(b),
        Some(Kind::NumberValue(f)) => number(f),
        Some(Kind::StringValue(s)) => serde_json::Value::String(s),
        Some(Kind::ListValue(list)) => {
            serde_json::Value::Array(list.values.into_iter().map(from_value).collect())
        }
        Some(Kind::StructValue(s)) => serde_json::Value::Object(from_struct(s)),
    }
}

fn number(f: f64) -> serde_json::Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if f.fract() == 0.0 && f.abs() < EXACT {
        #[allow(clippy::cast_possible_truncation)]
        return serde_json::Value::Number(Number::from(f as i64));
    }
    Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn decimals_become_exact_json_numbers() {
        let v = decimal_json("12345678901234567890.1200".parse().unwrap());
        assert_eq!(v.to_string(), "12345678901234567890.12");
    }

    #[test]
    fn depth_counts_levels_of_nesting() {
        assert_eq!(depth(&serde_json::json!("x")), 0);
        assert_eq!(depth(&serde_json::json!({"a": 1})), 1);
        assert_eq!(depth(&serde_json::json!({"a": [1, {"b": {}}]})), 3);
    }

    #[test]
    fn attributes_round_trip() {
        let attrs =
            json!({"plan": "gold", "seats": 3, "ratio": 0.25, "tags": ["a", null], "nested": {"ok": true}});
        let serde_json::Value::Object(map) = attrs.clone() else { unreachable!() };
        assert_eq!(serde_json::Value::Object(from_struct(to_struct(map))), attrs);
    }
}
