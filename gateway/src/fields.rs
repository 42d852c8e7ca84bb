//! Reading REST objects attribute by attribute, with every problem named.
//!
//! A resource walks the attributes of a body and asks a [`Reader`] for each
//! one as the type it expects; the reader records what is wrong (in the
//! words partners see: "Must be a string", "Required", "Unknown
//! attribute"), which attributes an update changes (its mask), and the
//! read-only values sent back with an update (for comparison with the
//! stored ones). Form bodies carry every value as text, so numbers and
//! booleans are also accepted as their text.

use paymesh_kit::{json as attrs, values::MAX_ATTRS_DEPTH};
use serde_json::{Map, Value};

use crate::rest::{Object, Parsed, Purpose};

/// Reads one REST object.
#[derive(Debug)]
pub(crate) struct Reader<'p> {
    purpose: Purpose<'p>,
    problems: Object,
    mask: Vec<String>,
    read_only: Object,
}

impl<'p> Reader<'p> {
    /// A reader for a body parsed for `purpose`.
    pub(crate) fn new(purpose: Purpose<'p>) -> Self {
        Self { purpose, problems: Map::new(), mask: Vec::new(), read_only: Map::new() }
    }

    /// What the body is parsed for.
    pub(crate) fn purpose(&self) -> Purpose<'p> {
        self.purpose
    }

    /// Records a problem with `key` (the first one wins).
    pub(crate) fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.entry(key.to_owned()).or_insert_with(|| Value::String(message.into()));
    }

    /// Records the problems of a nested object `key` that its own reader
    /// found (already nested).
    pub(crate) fn nested_problems(&mut self, key: &str, problems: Object) {
        self.problems.entry(key.to_owned()).or_insert(Value::Object(problems));
    }

    /// Marks `path` (as the service's update mask names it) changed.
    pub(crate) fn changed(&mut self, path: &str) {
        if !self.mask.iter().any(|p| p == path) {
            self.mask.push(path.to_owned());
        }
    }

    /// A required text attribute: null is "Required".
    pub(crate) fn text(&mut self, key: &str, value: Value) -> Option<String> {
        match value {
            Value::String(text) => Some(text),
            Value::Null => {
                self.problem(key, "Required");
                None
            }
            _ => {
                self.problem(key, "Must be a string");
                None
            }
        }
    }

    /// An optional text attribute: null clears it.
    pub(crate) fn nullable(&mut self, key: &str, value: Value) -> Option<Option<String>> {
        match value {
            Value::String(text) => Some(Some(text)),
            Value::Null => Some(None),
            _ => {
                self.problem(key, "Must be a string or null");
                None
            }
        }
    }

    /// A number (or its text, from a form), as exact decimal text.
    pub(crate) fn number(&mut self, key: &str, value: Value) -> Option<String> {
        match value {
            Value::Number(n) => Some(n.to_string()),
            Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
            Value::Null => Some(String::new()),
            _ => {
                self.problem(key, "Must be a number");
                None
            }
        }
    }

    /// A boolean (or `true`/`false` text, from a form).
    pub(crate) fn boolean(&mut self, key: &str, value: Value) -> Option<bool> {
        match value {
            Value::Bool(b) => Some(b),
            Value::String(text) if text == "true" || text == "1" => Some(true),
            Value::String(text) if text == "false" || text == "0" => Some(false),
            _ => {
                self.problem(key, "Must be true or false");
                None
            }
        }
    }

    /// A nested object (null is an empty one).
    pub(crate) fn object(&mut self, key: &str, value: Value) -> Option<Object> {
        match value {
            Value::Object(map) => Some(map),
            Value::Null => Some(Map::new()),
            _ => {
                self.problem(key, "Must be an object");
                None
            }
        }
    }

    /// One of a fixed set of words, as the wire enum value.
    pub(crate) fn choice(&mut self, key: &str, value: Value, choices: &[(&str, i32)]) -> Option<i32> {
        let words = || choices.iter().map(|(w, _)| *w).collect::<Vec<_>>().join(", ");
        match value {
            Value::String(word) => match choices.iter().find(|(w, _)| *w == word) {
                Some((_, v)) => Some(*v),
                None => {
                    self.problem(key, format!("Must be one of: {}", words()));
                    None
                }
            },
            Value::Null => {
                self.problem(key, "Required");
                None
            }
            _ => {
                self.problem(key, format!("Must be one of: {}", words()));
                None
            }
        }
    }

    /// Custom attributes: an object (null clears them on update).
    pub(crate) fn attrs(&mut self, key: &str, value: Value) -> Option<Option<prost_types::Struct>> {
        match value {
            Value::Object(map) => {
                // The services' rule, checked here too: deeper values would
                // trip the protobuf decoder's recursion limit before a
                // service could answer.
                let depth = 1 + map.values().map(attrs::depth).max().unwrap_or(0);
                if depth > MAX_ATTRS_DEPTH {
                    self.problem(key, format!("Must nest at most {MAX_ATTRS_DEPTH} levels"));
                    None
                } else {
                    Some(Some(attrs::to_struct(map)))
                }
            }
            Value::Null if !self.purpose.creates() => Some(None),
            _ => {
                self.problem(key, "Must be an object");
                None
            }
        }
    }

    /// The `object` attribute: it must name one of `names` when sent.
    pub(crate) fn object_name(&mut self, value: &Value, names: &[&str], expected: &str) {
        if !value.as_str().is_some_and(|v| names.contains(&v)) {
            self.problem("object", format!("Must be \"{expected}\""));
        }
    }

    /// The `id` attribute: read-only on create and by-query updates, equal
    /// to the path on `PUT /{id}`, required on batch updates. Answers the
    /// id a batch item names.
    pub(crate) fn id(&mut self, value: Value) -> Option<String> {
        match (self.purpose, value) {
            (Purpose::Create | Purpose::UpdateByQuery, _) => {
                self.problem("id", "Read-only attribute");
                None
            }
            (Purpose::Update { path_id }, Value::String(id)) if id == path_id => None,
            (Purpose::Update { .. }, _) => {
                self.problem("id", "Does not match the id in the path");
                None
            }
            (Purpose::BatchUpdate, Value::String(id)) => Some(id),
            (Purpose::BatchUpdate, _) => {
                self.problem("id", "Must be a string");
                None
            }
        }
    }

    /// A read-only attribute sent in: kept for comparison when updating one
    /// object (sending back what was read is fine), refused otherwise.
    pub(crate) fn read_only(&mut self, key: &str, value: Value) {
        if self.purpose.updates_one() {
            self.read_only.insert(key.to_owned(), value);
        } else {
            self.problem(key, "Read-only attribute");
        }
    }

    /// An attribute this resource does not have.
    pub(crate) fn unknown(&mut self, key: &str) {
        self.problem(key, "Unknown attribute");
    }

    /// The common attributes every object has: `object`, `id`, `attrs` and
    /// the read-only `created_at`, `modified_at`, `livemode`. Answers
    /// whether `key` was one of them.
    pub(crate) fn common(
        &mut self,
        key: &str,
        value: &mut Value,
        objects: &[&str],
        expected: &str,
        id: &mut String,
        custom: &mut Option<prost_types::Struct>,
    ) -> bool {
        match key {
            "object" => self.object_name(value, objects, expected),
            "id" => {
                if let Some(given) = self.id(value.take()) {
                    *id = given;
                }
            }
            "attrs" => {
                if let Some(parsed) = self.attrs("attrs", value.take()) {
                    *custom = parsed;
                    self.changed("attrs");
                }
            }
            "created_at" | "modified_at" | "livemode" => self.read_only(key, value.take()),
            _ => return false,
        }
        true
    }

    /// The parsed message, or every problem found (nested as the body
    /// is: `{"processing": {"category": "…"}}`).
    pub(crate) fn finish<M>(mut self, message: M, id: &str) -> Result<Parsed<M>, Object> {
        if matches!(self.purpose, Purpose::BatchUpdate) && id.is_empty() {
            self.problem("id", "Required");
        }
        if self.problems.is_empty() {
            Ok(Parsed { message, mask: self.mask, read_only: self.read_only })
        } else {
            Err(nest(self.problems))
        }
    }
}

/// Nests dotted keys: `{"a.b": x}` → `{"a": {"b": x}}`.
pub(crate) fn nest(flat: Object) -> Object {
    let mut out = Map::new();
    for (key, value) in flat {
        let path: Vec<&str> = key.split('.').collect();
        insert_path(&mut out, &path, value);
    }
    out
}

/// Puts `value` at `path` in `target`, making the objects on the way.
pub(crate) fn insert_path<S: AsRef<str>>(target: &mut Object, path: &[S], value: Value) {
    match path {
        [] => {}
        [last] => {
            target.insert(last.as_ref().to_owned(), value);
        }
        [first, rest @ ..] => {
            let entry = target.entry(first.as_ref().to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_of_the_wrong_type_are_named() {
        let mut r = Reader::new(Purpose::Create);
        assert_eq!(r.text("name", json!(5)), None);
        assert_eq!(r.text("email", Value::Null), None);
        assert_eq!(r.number("ownership", json!("25.5")), Some("25.5".to_owned()));
        assert_eq!(r.number("ownership", json!(12.50)), Some("12.5".to_owned()));
        assert_eq!(r.boolean("default", json!("true")), Some(true));
        assert_eq!(r.boolean("flag", json!("yes")), None);
        assert_eq!(r.choice("type", json!("x"), &[("a", 1), ("b", 2)]), None);
        assert_eq!(r.attrs("attrs", Value::Null), None, "null attrs on create");
        let Err(problems) = r.finish((), "") else { panic!("problems expected") };
        assert_eq!(
            Value::Object(problems),
            json!({"name": "Must be a string", "email": "Required", "flag": "Must be true or false",
                   "type": "Must be one of: a, b", "attrs": "Must be an object"})
        );
    }

    #[test]
    fn ids_and_read_only_attributes_follow_the_purpose() {
        let mut r = Reader::new(Purpose::Update { path_id: "1" });
        assert_eq!(r.id(json!("1")), None);
        r.read_only("created_at", json!("2026-01-01"));
        let parsed = r.finish((), "1").unwrap();
        assert_eq!(Value::Object(parsed.read_only), json!({"created_at": "2026-01-01"}));

        let mut r = Reader::new(Purpose::BatchUpdate);
        assert_eq!(r.id(json!(7)), None);
        assert!(r.finish((), "").is_err());
        let mut r = Reader::new(Purpose::Create);
        r.read_only("livemode", json!(true));
        assert!(r.finish((), "").is_err());
    }
}
