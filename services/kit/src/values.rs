//! The values every paymesh object is made of, parsed once at the edge:
//! names, email addresses, phone numbers, descriptions and custom
//! attributes (`attrs`). Each type cannot hold an invalid value; parsing
//! returns the message a partner's developer sees when it is wrong.

use serde_json::{Map, Value};

/// Longest account name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Largest custom-attribute object, serialized.
pub const MAX_ATTRS_BYTES: usize = 16 * 1024;
/// Deepest nesting of custom attributes (`{"a": {"b": …}}` is 2).
pub const MAX_ATTRS_DEPTH: usize = 8;

/// A person's or company's name: trimmed, 1 to 200 characters, no control
/// characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Parses a name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Required".to_owned());
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(format!("Must be at most {MAX_NAME_CHARS} characters"));
        }
        if name.chars().any(char::is_control) {
            return Err("Must not contain control characters".to_owned());
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A value read back from storage, where it was validated on the way in
    /// (a rule tightened later must not make old rows unreadable).
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

/// An email address: one `@`, a local part, a domain with a dot, no spaces,
/// at most 254 characters. Stored as given (trimmed); compared without case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an email address.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim();
        if email.is_empty() {
            return Err("Required".to_owned());
        }
        let invalid = || "Must be a valid email address".to_owned();
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.len() >= 3
            && domain.contains('.')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email.to_owned()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A value read back from storage, where it was validated on the way in
    /// (a rule tightened later must not make old rows unreadable).
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

/// A phone number: 10 to 15 digits, optionally written with spaces, dashes,
/// dots, parentheses and a leading `+`. Kept as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let phone = raw.trim();
        let invalid = || "Must be a phone number of 10 to 15 digits, e.g. (123) 456-7890".to_owned();
        let mut digits = 0;
        for (i, c) in phone.chars().enumerate() {
            match c {
                '0'..='9' => digits += 1,
                '+' if i == 0 => {}
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(invalid()),
            }
        }
        if !(10..=15).contains(&digits) {
            return Err(invalid());
        }
        Ok(Self(phone.to_owned()))
    }

    /// The number as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A value read back from storage, where it was validated on the way in
    /// (a rule tightened later must not make old rows unreadable).
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

/// A free-text description of at most 1000 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    /// Parses a description.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(format!("Must be at most {MAX_DESCRIPTION_CHARS} characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A value read back from storage, where it was validated on the way in
    /// (a rule tightened later must not make old rows unreadable).
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

/// Custom attributes: a JSON object of at most 16 KiB, nested at most 8
/// levels, whose keys are non-empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attrs(Map<String, Value>);

impl Attrs {
    /// Parses custom attributes.
    pub fn parse(object: Map<String, Value>) -> Result<Self, String> {
        check_attrs(&object)?;
        Ok(Self(object))
    }

    /// The attributes.
    pub fn into_inner(self) -> Map<String, Value> {
        self.0
    }

    /// The attributes.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Attributes read back from storage.
    pub fn from_stored(value: Map<String, Value>) -> Self {
        Self(value)
    }

    /// These attributes after an update's `patch`: kept (`None`), cleared
    /// (`Some(None)`), or merged ([`Attrs::merge`]).
    pub fn patched(&self, patch: AttrsPatch) -> Result<Self, String> {
        match patch {
            Some(Some(patch)) => self.merge(patch),
            Some(None) => Ok(Self::default()),
            None => Ok(self.clone()),
        }
    }

    /// Applies a JSON merge patch (RFC 7396): keys in `patch` replace stored
    /// ones, objects merge recursively, and a key set to `null` is removed.
    /// The result must still be valid attributes.
    pub fn merge(&self, patch: Map<String, Value>) -> Result<Self, String> {
        let mut merged = self.0.clone();
        merge_patch(&mut merged, patch);
        Self::parse(merged)
    }
}

/// An update of custom attributes: `None` leaves them, `Some(None)` clears
/// them, `Some(Some(patch))` merges `patch` into them.
pub type AttrsPatch = Option<Option<Map<String, Value>>>;

fn check_attrs(object: &Map<String, Value>) -> Result<(), String> {
    if object.keys().any(String::is_empty) {
        return Err("Keys must not be empty".to_owned());
    }
    if object.values().map(crate::json::depth).max().unwrap_or(0) + 1 > MAX_ATTRS_DEPTH {
        return Err(format!("Must nest at most {MAX_ATTRS_DEPTH} levels"));
    }
    let size = serde_json::to_vec(object).map_or(usize::MAX, |v| v.len());
    if size > MAX_ATTRS_BYTES {
        return Err(format!("Must be at most {} KiB of JSON", MAX_ATTRS_BYTES / 1024));
    }
    Ok(())
}

fn merge_patch(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(&key);
            }
            Value::Object(inner) => {
                if let Some(Value::Object(existing)) = target.get_mut(&key) {
                    merge_patch(existing, inner);
                } else {
                    let mut fresh = Map::new();
                    merge_patch(&mut fresh, inner);
                    target.insert(key, Value::Object(fresh));
                }
            }
            other => {
                target.insert(key, other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else { panic!("not an object") };
        map
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  Matt Perez ").unwrap().as_str(), "Matt Perez");
        assert_eq!(Name::parse("   "), Err("Required".to_owned()));
        assert!(Name::parse(&"x".repeat(201)).is_err());
        assert!(Name::parse(&"é".repeat(200)).is_ok());
        assert!(Name::parse("Matt\u{0}").is_err());
    }

    #[test]
    fn emails_must_look_deliverable() {
        for ok in ["matt.perez@example.com", "a+tag@sub.example.co", "x@例え.jp"] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "matt",
            "matt@",
            "@example.com",
            "matt@example",
            "matt perez@example.com",
            "matt@@example.com",
            "matt@.example.com",
            "matt@example..com",
            "matt@exa_mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Email::parse("").unwrap_err(), "Required");
        assert_eq!(Email::parse("nope").unwrap_err(), "Must be a valid email address");
    }

    #[test]
    fn phones_count_digits_and_allow_common_formatting() {
        for ok in ["(123) 456-7890", "+1 415.555.0100", "4155550100", "+44 20 7946 0958"] {
            assert!(Phone::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["555-0100", "1234567890123456", "415-555-0100 ext 2", "1+4155550100", "call me"] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn descriptions_are_bounded() {
        assert!(Description::parse(&"x".repeat(1000)).is_ok());
        assert!(Description::parse(&"x".repeat(1001)).is_err());
    }

    #[test]
    fn attrs_merge_like_a_json_merge_patch() {
        let attrs = Attrs::parse(map(json!({"plan": "gold", "seats": 3, "meta": {"a": 1, "b": 2}}))).unwrap();
        let merged =
            attrs.merge(map(json!({"seats": null, "meta": {"b": null, "c": 3}, "new": true}))).unwrap();
        assert_eq!(
            Value::Object(merged.into_inner()),
            json!({"plan": "gold", "meta": {"a": 1, "c": 3}, "new": true})
        );
    }

    #[test]
    fn attrs_are_bounded_and_keyed() {
        assert!(Attrs::parse(map(json!({"": 1}))).is_err());
        let mut deep = json!(1);
        for _ in 0..MAX_ATTRS_DEPTH {
            deep = json!({ "x": deep });
        }
        assert!(Attrs::parse(map(deep.clone())).is_ok());
        assert_eq!(
            Attrs::parse(map(json!({ "y": deep }))).unwrap_err(),
            format!("Must nest at most {MAX_ATTRS_DEPTH} levels")
        );
        let big = "x".repeat(MAX_ATTRS_BYTES);
        assert!(Attrs::parse(map(json!({ "blob": big }))).is_err());
        let attrs = Attrs::parse(map(json!({"a": "x".repeat(MAX_ATTRS_BYTES - 100)}))).unwrap();
        assert!(attrs.merge(map(json!({"b": "x".repeat(200)}))).is_err());
    }
}
