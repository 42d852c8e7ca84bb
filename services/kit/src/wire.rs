//! Reading request messages into domain values, the same way in every
//! service: each field parsed once, every problem named by its path in the
//! request (`account.email`, `payment_method.card.expiry`), all of them
//! reported together.

use paymesh_proto::common::v1 as common;
use uuid::Uuid;

use crate::{Violation, address::Address, json, values::Attrs};

/// Collects the problems of one message's fields under `prefix.name`.
#[derive(Debug)]
pub struct Fields<'a> {
    prefix: &'a str,
    violations: Vec<Violation>,
}

impl<'a> Fields<'a> {
    /// Violations will be named `prefix.field`.
    pub fn new(prefix: &'a str) -> Self {
        Self { prefix, violations: Vec::new() }
    }

    /// The parsed value, or `None` after recording why not.
    pub fn take<T>(&mut self, name: &str, parsed: Result<T, String>) -> Option<T> {
        parsed.map_err(|why| self.push(name, why)).ok()
    }

    /// Records a problem with `name`.
    pub fn push(&mut self, name: &str, why: impl Into<String>) {
        self.violations.push(Violation::new(format!("{}.{name}", self.prefix), why));
    }

    /// Records a problem named by its full path (`update_mask`).
    pub fn push_path(&mut self, path: impl Into<String>, why: impl Into<String>) {
        self.violations.push(Violation::new(path, why));
    }

    /// Records the problems of an address under `name`; an absent address
    /// is the empty one.
    pub fn address(&mut self, name: &str, address: Option<&common::Address>) -> Option<Address> {
        let Some(address) = address else { return Some(Address::default()) };
        match Address::parse(address) {
            Ok(parsed) => Some(parsed),
            Err(problems) => {
                for (part, why) in problems {
                    self.push(&format!("{name}.{part}"), why);
                }
                None
            }
        }
    }

    /// Whether nothing was wrong.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// The problems found.
    pub fn into_violations(self) -> Vec<Violation> {
        self.violations
    }

    /// Records the problem with an update-mask path that names nothing
    /// changeable: a read-only attribute, or an unknown one (listing those
    /// that are updatable).
    pub fn unchangeable(&mut self, path: &str, updatable: &[&str]) {
        match path {
            "id" | "livemode" | "create_time" | "update_time" => self.push(path, "Read-only attribute"),
            other => self.push_path(
                "update_mask",
                format!("Unknown attribute {other:?}; updatable: {}", updatable.join(", ")),
            ),
        }
    }
}

/// Custom attributes from the wire.
pub fn attrs(value: Option<prost_types::Struct>) -> Result<Attrs, String> {
    Attrs::parse(value.map(json::from_struct).unwrap_or_default())
}

/// An optional text attribute: empty or absent is none.
pub fn optional<T>(
    value: Option<String>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match value {
        Some(v) if !v.trim().is_empty() => parse(&v).map(Some),
        _ => Ok(None),
    }
}

/// An optional text attribute given as a plain string: empty is none.
pub fn optional_text<T>(value: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    if value.trim().is_empty() { Ok(None) } else { parse(value).map(Some) }
}

/// An id given by the caller as an attribute.
pub fn id(raw: &str) -> Result<Uuid, String> {
    Uuid::parse_str(raw.trim()).map_err(|_| "Must be a valid id".to_owned())
}

/// An optional id: empty or absent is none.
pub fn optional_id(raw: Option<&str>) -> Result<Option<Uuid>, String> {
    match raw {
        Some(raw) if !raw.trim().is_empty() => id(raw).map(Some),
        _ => Ok(None),
    }
}

/// The id of the object a request names: a malformed one names no object
/// (`not_found`), exactly like an unknown one.
pub fn object_id(raw: &str, not_found: impl FnOnce() -> crate::Error) -> Result<Uuid, crate::Error> {
    raw.trim().parse().map_err(|_| not_found())
}

/// The HTTP header, and gRPC metadata key, of idempotency keys.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// Checks an idempotency key as a caller sent it: 1 to 255 printable ASCII
/// characters (spaces allowed).
pub fn idempotency_key(key: &str) -> Result<&str, String> {
    let printable = key.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_CHARS || !printable {
        return Err(format!(
            "The Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters"
        ));
    }
    Ok(key)
}

/// A list's computed fields and groups on the wire.
pub fn structs(rows: Vec<serde_json::Map<String, serde_json::Value>>) -> Vec<prost_types::Struct> {
    rows.into_iter().map(json::to_struct).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_printable_ascii_of_bounded_length() {
        assert_eq!(idempotency_key("order-42 retry"), Ok("order-42 retry"));
        assert!(idempotency_key(&"k".repeat(255)).is_ok());
        for bad in ["", "tab\there", "é", &"k".repeat(256)] {
            assert!(idempotency_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn problems_are_named_by_their_path_and_kept_together() {
        let mut f = Fields::new("payment_method");
        assert_eq!(f.take("account_holder", Ok::<_, String>(5)), Some(5));
        assert!(f.ok());
        assert_eq!(f.take::<u8>("card.expiry", Err("Expired".into())), None);
        f.unchangeable("id", &["attrs"]);
        f.unchangeable("card.card_number", &["attrs", "card.expiry"]);
        let bad = common::Address { country: "XX".into(), ..Default::default() };
        assert!(f.address("billing_address", Some(&bad)).is_none());
        let found: Vec<(String, String)> =
            f.into_violations().into_iter().map(|v| (v.field, v.description)).collect();
        assert_eq!(found[0], ("payment_method.card.expiry".into(), "Expired".into()));
        assert_eq!(found[1], ("payment_method.id".into(), "Read-only attribute".into()));
        assert_eq!(
            found[2],
            (
                "update_mask".into(),
                "Unknown attribute \"card.card_number\"; updatable: attrs, card.expiry".into()
            )
        );
        assert_eq!(found[3].0, "payment_method.billing_address.country");
    }

    #[test]
    fn optional_values_and_ids() {
        assert_eq!(optional(Some("  ".into()), |s| Ok(s.to_owned())), Ok(None));
        assert_eq!(optional(None, |s| Ok(s.to_owned())), Ok(None));
        assert_eq!(optional_text("x", |s| Ok(s.len())), Ok(Some(1)));
        assert!(id("nope").is_err());
        assert_eq!(optional_id(Some("")), Ok(None));
        let uuid = Uuid::now_v7();
        assert_eq!(optional_id(Some(&format!(" {uuid} "))), Ok(Some(uuid)));
        assert!(matches!(
            object_id("nope", || crate::Error::NotFound { resource: "Thing" }),
            Err(crate::Error::NotFound { .. })
        ));
    }
}
