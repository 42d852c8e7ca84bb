//! Reading REST bodies into messages, attribute by attribute, with every
//! problem named as partners see it ("Must be a string", "Required",
//! "Unknown attribute", "Read-only attribute").
//!
//! The [`Plan`] of the message says where each key goes. The reader
//! records which attributes an update changes (its mask, in the proto's
//! field paths) and the read-only values sent back with an update, which
//! the caller compares with the stored object. Form bodies carry every
//! value as text, so numbers and booleans are also read from their text.
//! Presence (a required attribute left out) is the service's to judge: it
//! names every missing attribute at once, with the others.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use paymesh_kit::{json as attrs, values::MAX_ATTRS_DEPTH};
use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, Value as Pv};
use serde_json::{Map, Value};

use super::surface::{Attr, Collection, Slot, Surface};
use crate::error::insert_path;

/// A REST object.
pub type Object = Map<String, Value>;

/// What a body is read for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose<'a> {
    /// `POST`, or the body of another operation (`/roll`).
    Create,
    /// `PUT` of one object; its id in the path, if it has one.
    Update {
        /// The path's id.
        path_id: &'a str,
    },
    /// An item of `PUT /things` with a list body.
    BatchUpdate,
    /// `PUT /things?…&mode=query`.
    UpdateByQuery,
}

impl Purpose<'_> {
    /// Whether read-only values sent are kept for comparison.
    pub fn updates_one(self) -> bool {
        matches!(self, Self::Update { .. } | Self::BatchUpdate)
    }

    fn creates(self) -> bool {
        self == Self::Create
    }
}

/// A read-only or immutable value sent with an update.
#[derive(Debug, Clone)]
pub struct Kept {
    /// Its place in the object, dotted (`processing.status`).
    pub path: String,
    /// What was sent.
    pub value: Value,
    /// The problem when it differs from the stored one.
    pub why: String,
}

/// A body, read.
#[derive(Debug)]
pub struct Parsed {
    /// The message.
    pub message: DynamicMessage,
    /// The fields an update changes.
    pub mask: Vec<String>,
    /// Read-only values to compare with the stored object.
    pub kept: Vec<Kept>,
}

/// Reads `object` as a `descriptor` for `purpose`; `text` when it came as
/// form fields, whose numbers and booleans are text (JSON must send them
/// as numbers and booleans). A `collection` makes it the top of a
/// resource: `object` and `id` are read there, and its filter is set on
/// creates. Problems come back nested as the body is.
pub fn parse(
    surface: &Surface,
    descriptor: &MessageDescriptor,
    object: Object,
    (purpose, text): (Purpose<'_>, bool),
    collection: Option<&Collection>,
) -> Result<Parsed, Object> {
    let mut r = Reader { surface, purpose, text, problems: Map::new(), mask: Vec::new(), kept: Vec::new() };
    let mut message = DynamicMessage::new(descriptor.clone());
    let id_field = descriptor.get_field_by_name("id").filter(|_| collection.is_some());
    let mut object = object;
    if let Some(c) = collection {
        if let Some(value) = object.remove("object")
            && !value.as_str().is_some_and(|w| c.accepts.iter().any(|a| a == w))
        {
            r.problem("object", format!("Must be \"{}\"", c.object));
        }
        if let (Some(field), Some(value)) = (&id_field, object.remove("id")) {
            match (purpose, value) {
                (Purpose::Update { path_id }, Value::String(id)) if id == path_id => {}
                (Purpose::Update { .. }, _) => r.problem("id", "Does not match the id in the path"),
                (Purpose::BatchUpdate, Value::String(id)) => message.set_field(field, Pv::String(id)),
                (Purpose::BatchUpdate, _) => r.problem("id", "Must be a string"),
                _ => r.problem("id", "Read-only attribute"),
            }
        }
        if let Some((attr, word)) = &c.filter
            && purpose.creates()
        {
            if let Some(given) = object.remove(attr)
                && given.as_str() != Some(word)
            {
                r.problem(attr, format!("Must be \"{word}\" here"));
            }
            object.insert(attr.clone(), Value::String(word.clone()));
        }
    }
    r.walk(descriptor, object, &mut message, "", "", true);
    if purpose == Purpose::BatchUpdate && id_field.is_some_and(|f| message.get_field(&f).as_str() == Some(""))
    {
        r.problem("id", "Required");
    }
    if r.problems.is_empty() {
        Ok(Parsed { message, mask: r.mask, kept: r.kept })
    } else {
        Err(nest(r.problems))
    }
}

struct Reader<'s> {
    surface: &'s Surface,
    purpose: Purpose<'s>,
    /// Numbers and booleans may arrive as text (a form body).
    text: bool,
    problems: Object,
    mask: Vec<String>,
    kept: Vec<Kept>,
}

/// What a value read for one field comes to.
enum Read {
    Set(Pv),
    Clear,
    Failed,
}

impl Reader<'_> {
    fn problem(&mut self, key: &str, why: impl Into<String>) {
        self.problems.entry(key.to_owned()).or_insert_with(|| Value::String(why.into()));
    }

    fn changed(&mut self, path: &str) {
        if !self.mask.iter().any(|p| p == path) {
            self.mask.push(path.to_owned());
        }
    }

    /// A read-only value: kept for comparison when updating one object,
    /// refused otherwise.
    fn read_only(&mut self, path: &str, value: Value, why: &str) {
        if self.purpose.updates_one() {
            self.kept.push(Kept { path: path.to_owned(), value, why: why.to_owned() });
        } else {
            self.problem(path, why);
        }
    }

    /// Reads `object`'s keys into `out`. `at` prefixes problem keys (wire
    /// names), `mask_at` mask paths (proto names); `masking` is off inside
    /// a field an update replaces whole.
    fn walk(
        &mut self,
        descriptor: &MessageDescriptor,
        object: Object,
        out: &mut DynamicMessage,
        at: &str,
        mask_at: &str,
        masking: bool,
    ) {
        let plan = self.surface.plan(descriptor);
        let keys: HashSet<String> = object.keys().cloned().collect();
        let mut into: BTreeMap<usize, Object> = BTreeMap::new();
        let mut currencies: BTreeMap<usize, Value> = BTreeMap::new();
        for (key, value) in object {
            let path = format!("{at}{key}");
            match plan.slot(&key) {
                None => self.problem(&path, "Unknown attribute"),
                Some(Slot::Attr { index, alias }) => {
                    let attr = &plan.attrs[index];
                    if alias && keys.contains(&attr.name) {
                        self.problem(&path, format!("Send {} or {key}, not both", attr.name));
                    } else if (attr.rules.flatten || attr.rules.accept_flat) && value.is_object() {
                        if let Value::Object(parts) = value {
                            into.entry(index).or_default().extend(parts);
                        }
                    } else {
                        self.attr(attr, value, &path, mask_at, out, masking);
                    }
                }
                Some(Slot::Into(index)) => {
                    into.entry(index).or_default().insert(key, value);
                }
                Some(Slot::Currency(index)) => {
                    currencies.insert(index, value);
                }
                Some(Slot::Virtual) => {
                    let members =
                        plan.attrs.iter().filter(|a| a.name.split_once('.').is_some_and(|(h, _)| h == key));
                    match value {
                        Value::Null => {
                            members.for_each(|a| self.attr(a, Value::Null, &path, mask_at, out, masking))
                        }
                        Value::Object(mut parts) => {
                            for member in members {
                                let name = member.name.split_once('.').map_or("", |(_, n)| n);
                                if let Some(v) = parts.remove(name) {
                                    self.attr(member, v, &format!("{path}.{name}"), mask_at, out, masking);
                                }
                            }
                            parts
                                .keys()
                                .for_each(|k| self.problem(&format!("{path}.{k}"), "Unknown attribute"));
                        }
                        _ => self.problem(&path, "Must be an object"),
                    }
                }
            }
        }
        for (index, parts) in into {
            let attr = &plan.attrs[index];
            // Flattened attributes are named at this level; the others
            // under their field.
            let path = if attr.rules.flatten {
                at.trim_end_matches('.').to_owned()
            } else {
                format!("{at}{}", attr.name)
            };
            self.attr(attr, Value::Object(parts), &path, mask_at, out, masking);
        }
        for (index, value) in currencies {
            let attr = &plan.attrs[index];
            let path = format!("{at}{}", attr.rules.currency);
            match (out.has_field(&attr.field), value) {
                (true, Value::String(code)) => {
                    if let Some(money) = out.get_field_mut(&attr.field).as_message_mut() {
                        money.set_field_by_name("currency", Pv::String(code));
                    }
                }
                (true, _) => self.problem(&path, "Must be a string"),
                // Without the amount, the currency is the stored one's.
                (false, value) if !self.purpose.creates() => {
                    self.read_only(&path, value, "Read-only attribute")
                }
                (false, _) => {}
            }
        }
    }

    /// Reads one attribute, following its field behaviour.
    fn attr(
        &mut self,
        attr: &Attr,
        value: Value,
        path: &str,
        mask_at: &str,
        out: &mut DynamicMessage,
        masking: bool,
    ) {
        let word = value.as_str().map(str::to_owned);
        let may = |words: &[String]| word.as_ref().is_some_and(|w| words.contains(w));
        let creates = self.purpose.creates();
        if attr.output_only && (creates || !may(&attr.rules.update_words)) {
            return self.read_only(path, value, "Read-only attribute");
        }
        if attr.immutable && !creates {
            let why =
                if attr.rules.immutable.is_empty() { "Read-only attribute" } else { &attr.rules.immutable };
            return self.read_only(path, value, why);
        }
        if !creates && !attr.rules.update_words.is_empty() && !may(&attr.rules.update_words) {
            return self.read_only(path, value, "Read-only attribute");
        }
        let mask = format!("{mask_at}{}", attr.proto());
        let field = &attr.field;
        // A message read attribute by attribute masks its own leaves; null
        // for it names none (an object read back with `"card": null`).
        let by_leaves = matches!(field.kind(), Kind::Message(ref m) if !m.full_name().starts_with("google.protobuf"))
            && !field.is_list()
            && !attr.rules.whole
            && !attr.money_number();
        if by_leaves && value.is_null() {
            return;
        }
        let read = if field.is_list() {
            match value {
                Value::Null => Read::Clear,
                Value::Array(items) => self.items(attr, items, path, &mask),
                // A form's `ledger[0][…]` may arrive keyed by index.
                Value::Object(map) if map.keys().all(|k| k.parse::<usize>().is_ok()) => {
                    self.items(attr, map.into_iter().map(|(_, v)| v).collect(), path, &mask)
                }
                // Or as the JSON text of the list, as the Payload reference's
                // curl sends `additional_datafields='[…]'`.
                Value::String(text) if text.trim_start().starts_with('[') => {
                    match serde_json::from_str::<Value>(&text) {
                        Ok(Value::Array(items)) => self.items(attr, items, path, &mask),
                        _ => {
                            self.problem(path, "Must be a list: this text is not a JSON list");
                            Read::Failed
                        }
                    }
                }
                _ => {
                    self.problem(path, "Must be a list");
                    Read::Failed
                }
            }
        } else {
            self.value(attr, value, path, &mask, masking && !attr.rules.whole)
        };
        let set = matches!(read, Read::Set(_));
        match read {
            Read::Set(v) => out.set_field(field, v),
            Read::Clear => out.clear_field(field),
            Read::Failed => return,
        }
        if masking && !(by_leaves && set) {
            self.changed(&mask);
        }
    }

    fn items(&mut self, attr: &Attr, items: Vec<Value>, path: &str, mask: &str) -> Read {
        let mut list = Vec::with_capacity(items.len());
        let mut failed = false;
        for (i, item) in items.into_iter().enumerate() {
            match self.value(attr, item, &format!("{path}[{i}]"), mask, false) {
                Read::Set(v) => list.push(v),
                Read::Clear => {
                    self.problem(&format!("{path}[{i}]"), "Must not be null");
                    failed = true;
                }
                Read::Failed => failed = true,
            }
        }
        if failed { Read::Failed } else { Read::Set(Pv::List(list)) }
    }

    /// One value of the field's kind.
    fn value(&mut self, attr: &Attr, value: Value, path: &str, mask: &str, masking: bool) -> Read {
        if value.is_null() {
            let structure = matches!(attr.field.kind(), Kind::Message(ref m) if m.full_name() == "google.protobuf.Struct");
            if structure && self.purpose.creates() {
                self.problem(path, "Must be an object");
                return Read::Failed;
            }
            if attr.required && !matches!(attr.field.kind(), Kind::Message(_)) {
                self.problem(path, "Required");
                return Read::Failed;
            }
            return Read::Clear;
        }
        let decimal = attr.rules.format() == paymesh_proto::rest::v1::Format::Decimal || attr.money_number();
        let fail = |r: &mut Self, why: String| {
            r.problem(path, why);
            Read::Failed
        };
        match attr.field.kind() {
            Kind::String if decimal => match number_text(&value, self.text) {
                Some(text) => Read::Set(Pv::String(text)),
                None => fail(self, "Must be a number".to_owned()),
            },
            Kind::String => match value {
                Value::String(text) => Read::Set(Pv::String(text)),
                _ if attr.required => fail(self, "Must be a string".to_owned()),
                _ => fail(self, "Must be a string or null".to_owned()),
            },
            Kind::Bool => match value {
                Value::Bool(b) => Read::Set(Pv::Bool(b)),
                Value::String(t) if self.text && (t == "true" || t == "1") => Read::Set(Pv::Bool(true)),
                Value::String(t) if self.text && (t == "false" || t == "0") => Read::Set(Pv::Bool(false)),
                _ => fail(self, "Must be true or false".to_owned()),
            },
            Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Sint32 | Kind::Sint64 => {
                let text = match &value {
                    Value::Number(n) => n.to_string(),
                    Value::String(t) if self.text => t.trim().to_owned(),
                    _ => String::new(),
                };
                let parsed = match attr.field.kind() {
                    Kind::Int32 | Kind::Sint32 => text.parse().ok().map(Pv::I32),
                    Kind::Int64 | Kind::Sint64 => text.parse().ok().map(Pv::I64),
                    Kind::Uint32 => text.parse().ok().map(Pv::U32),
                    _ => text.parse().ok().map(Pv::U64),
                };
                let unit = if attr.rules.unit.is_empty() {
                    String::new()
                } else {
                    format!(" of {}", attr.rules.unit)
                };
                parsed.map_or_else(|| fail(self, format!("Must be a whole number{unit}")), Read::Set)
            }
            Kind::Bytes => {
                match value.as_str().map(|t| base64::engine::general_purpose::STANDARD.decode(t.trim())) {
                    Some(Ok(bytes)) => Read::Set(Pv::Bytes(bytes.into())),
                    _ => fail(self, "Must be base64".to_owned()),
                }
            }
            Kind::Enum(e) => {
                let words = self.surface.words(&e);
                let creates = self.purpose.creates();
                let allowed: Vec<&str> = if creates && !attr.rules.create_words.is_empty() {
                    attr.rules.create_words.iter().map(String::as_str).collect()
                } else {
                    words.all().collect()
                };
                match value.as_str().filter(|w| allowed.contains(w)).and_then(|w| words.number(w)) {
                    Some(n) => Read::Set(Pv::EnumNumber(n)),
                    None => fail(self, format!("Must be one of: {}", allowed.join(", "))),
                }
            }
            Kind::Message(m) => self.message(attr, &m, value, path, mask, masking),
            _ => fail(self, "Not supported".to_owned()),
        }
    }

    fn message(
        &mut self,
        attr: &Attr,
        m: &MessageDescriptor,
        value: Value,
        path: &str,
        mask: &str,
        masking: bool,
    ) -> Read {
        let mut out = DynamicMessage::new(m.clone());
        match (m.full_name(), value) {
            ("google.protobuf.Struct", Value::Object(map)) => {
                let depth = 1 + map.values().map(attrs::depth).max().unwrap_or(0);
                if depth > MAX_ATTRS_DEPTH {
                    self.problem(path, format!("Must nest at most {MAX_ATTRS_DEPTH} levels"));
                    return Read::Failed;
                }
                let _ = out.transcode_from(&attrs::to_struct(map));
            }
            ("google.protobuf.Timestamp", Value::String(text)) => {
                let Ok(at) = chrono::DateTime::parse_from_rfc3339(&text) else {
                    self.problem(path, "Must be a date and time, e.g. 2026-01-31T12:00:00Z");
                    return Read::Failed;
                };
                let _ = out.transcode_from(&attrs::timestamp(at.to_utc()));
            }
            ("paymesh.common.v1.Money", value) if attr.money_number() => match number_text(&value, self.text)
            {
                Some(text) => out.set_field_by_name("amount", Pv::String(text)),
                None => {
                    self.problem(path, "Must be a number");
                    return Read::Failed;
                }
            },
            (name, Value::Object(map)) if !name.starts_with("google.protobuf") => {
                // A flattened message's path is its parent's prefix.
                let at = if path.is_empty() { String::new() } else { format!("{path}.") };
                self.walk(m, map, &mut out, &at, &format!("{mask}."), masking);
            }
            _ => {
                self.problem(path, "Must be an object");
                return Read::Failed;
            }
        }
        Read::Set(Pv::Message(out))
    }
}

/// A number, or its `text` (forms), as exact decimal text.
fn number_text(value: &Value, text: bool) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(t) if text && !t.trim().is_empty() => Some(t.trim().to_owned()),
        _ => None,
    }
}

/// Nests dotted keys: `{"a.b": x}` → `{"a": {"b": x}}`.
pub fn nest(flat: Object) -> Object {
    let mut out = Map::new();
    for (key, value) in flat {
        let path: Vec<&str> = key.split('.').collect();
        insert_path(&mut out, &path, value);
    }
    out
}
