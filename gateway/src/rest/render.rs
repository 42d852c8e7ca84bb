//! Messages as REST objects, and gRPC violation paths as REST attributes.
//!
//! An object carries its `id` and `object` first, then every attribute
//! its plan shows: wire names, enum words, decimals as exact JSON numbers,
//! Money as `{"value", "currency"}` or one number beside its currency,
//! instants in RFC 3339. What is unset or empty reads as null (an empty
//! required string reads as it is; custom attributes as `{}`).

use paymesh_kit::json::{decimal_json, from_struct};
use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, ReflectMessage as _, Value as Pv};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::{
    read::Object,
    surface::{Attr, Surface},
};

/// `message` as a REST object; a resource says `object` (`word`, or the
/// word of the collection that shows it best).
pub fn render(surface: &Surface, message: &DynamicMessage, word: Option<&str>) -> Object {
    let body = attributes(surface, message, &[]);
    let word = word.map(str::to_owned).or_else(|| {
        let resource = surface.resource(&message.descriptor())?;
        Some(surface.collection_of(message).map_or_else(|| resource.object.clone(), |c| c.object.clone()))
    });
    let mut out = Map::new();
    if let Some(id) = body.get("id") {
        out.insert("id".to_owned(), id.clone());
    }
    if let Some(word) = word {
        out.insert("object".to_owned(), Value::String(word));
    }
    for (key, value) in body {
        out.entry(key).or_insert(value);
    }
    out
}

/// The attributes of `message`, inside the messages `outer` (whose
/// attributes `when` conditions may name).
fn attributes(surface: &Surface, message: &DynamicMessage, outer: &[&DynamicMessage]) -> Object {
    let chain: Vec<&DynamicMessage> = outer.iter().copied().chain([message]).collect();
    let mut out = Map::new();
    let mut heads = Vec::new();
    for attr in &surface.plan(&message.descriptor()).attrs {
        if attr.input_only || !attr.shown_on(surface, &chain) {
            continue;
        }
        let set = attr.field.is_list() || !attr.field.supports_presence() || message.has_field(&attr.field);
        let value = message.get_field(&attr.field);
        if attr.rules.flatten {
            if let Pv::Message(inner) = value.as_ref() {
                out.extend(attributes(surface, inner, &chain));
            }
            continue;
        }
        let shown = if set { show(surface, attr, &value, &chain) } else { unset(attr) };
        match attr.name.split_once('.') {
            Some((head, rest)) => {
                heads.push(head.to_owned());
                crate::error::insert_path(&mut out, &[head, rest], shown);
            }
            None => {
                out.insert(attr.name.clone(), shown);
            }
        }
        if attr.money_number() && !attr.rules.currency.is_empty() {
            let currency = value.as_message().and_then(|m| m.get_field_by_name("currency")).and_then(|c| {
                c.as_str().filter(|c| set && !c.is_empty()).map(|c| Value::String(c.to_owned()))
            });
            out.entry(attr.rules.currency.clone()).or_insert(currency.unwrap_or(Value::Null));
        }
    }
    // An object of dotted attributes that are all unset is null.
    for head in heads {
        if out.get(&head).and_then(Value::as_object).is_some_and(|o| o.values().all(Value::is_null)) {
            out.insert(head, Value::Null);
        }
    }
    out
}

/// What an unset field reads as.
fn unset(attr: &Attr) -> Value {
    match attr.field.kind() {
        Kind::Message(m) if m.full_name() == "google.protobuf.Struct" => Value::Object(Map::new()),
        _ => Value::Null,
    }
}

fn show(surface: &Surface, attr: &Attr, value: &Pv, chain: &[&DynamicMessage]) -> Value {
    match value {
        Pv::List(items) => Value::Array(items.iter().map(|v| show(surface, attr, v, chain)).collect()),
        Pv::String(text) if attr.rules.format() == paymesh_proto::rest::v1::Format::Decimal => decimal(text),
        Pv::String(text) if text.is_empty() && !attr.required => Value::Null,
        Pv::String(text) => Value::String(text.clone()),
        Pv::Bool(b) => Value::Bool(*b),
        Pv::I32(n) => Value::from(*n),
        Pv::I64(n) => Value::from(*n),
        Pv::U32(n) => Value::from(*n),
        Pv::U64(n) => Value::from(*n),
        Pv::EnumNumber(n) => match attr.field.kind() {
            Kind::Enum(e) => surface.words(&e).word(*n).map_or(Value::Null, |w| Value::String(w.to_owned())),
            _ => Value::Null,
        },
        Pv::Message(m) => match m.descriptor().full_name() {
            "google.protobuf.Struct" => {
                Value::Object(m.transcode_to::<prost_types::Struct>().map(from_struct).unwrap_or_default())
            }
            "google.protobuf.Timestamp" => m
                .transcode_to::<prost_types::Timestamp>()
                .ok()
                .and_then(|t| {
                    chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
                })
                .map_or(Value::Null, |t| {
                    Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                }),
            "paymesh.common.v1.Money" if attr.money_number() => {
                m.get_field_by_name("amount").and_then(|a| a.as_str().map(decimal)).unwrap_or(Value::Null)
            }
            _ if surface.resource(&m.descriptor()).is_some() => Value::Object(render(surface, m, None)),
            _ => Value::Object(attributes(surface, m, chain)),
        },
        Pv::Bytes(bytes) => {
            Value::String(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes))
        }
        _ => Value::Null,
    }
}

/// A decimal string as an exact JSON number (null when empty).
fn decimal(text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    text.parse::<Decimal>().map_or_else(|_| Value::String(text.to_owned()), decimal_json)
}

/// Where a violation of the gRPC request `request` is on REST: the item
/// of a list body it is about, and the attribute path
/// (`requests[1].account.processing.status_time` → item 1,
/// `processing.status_changed_at`; `legal_entity.address.city` → `city`;
/// `transaction.amount.amount` → `amount`).
pub fn place(surface: &Surface, request: &MessageDescriptor, field: &str) -> (Option<usize>, Vec<String>) {
    let mut segments: Vec<&str> = field.split('.').collect();
    let mut index = None;
    let mut message = request.clone();
    if let Some((name @ ("requests" | "ids"), n)) = segments.first().and_then(|s| split_index(s)) {
        let Some(i) = n else { return (None, vec!["values".to_owned()]) };
        index = Some(i);
        segments.remove(0);
        if name == "ids" {
            return (index, vec!["id".to_owned()]);
        }
        if let Some(Kind::Message(m)) = message.get_field_by_name(name).map(|f| f.kind()) {
            message = m;
        }
    }
    // The request's field that carries the object itself.
    if let Some(Kind::Message(m)) =
        segments.first().and_then(|s| message.get_field_by_name(s)).map(|f| f.kind())
        && surface.resource(&m).is_some()
    {
        segments.remove(0);
        if segments.is_empty() {
            return (index, vec!["object".to_owned()]);
        }
        message = m;
    }
    let mut out = Vec::new();
    let mut rest = segments.into_iter();
    while let Some(segment) = rest.next() {
        let (name, n) = split_index(segment).unwrap_or((segment, None));
        let Some(attr) = surface.plan(&message).by_proto(name) else {
            out.push(segment.to_owned());
            out.extend(rest.map(str::to_owned));
            break;
        };
        if attr.money_number() {
            let currency = rest.next() == Some("currency") && !attr.rules.currency.is_empty();
            out.push(if currency { attr.rules.currency.clone() } else { attr.name.clone() });
            break;
        }
        if !attr.rules.flatten {
            let mut parts: Vec<String> = attr.name.split('.').map(str::to_owned).collect();
            if let (Some(n), Some(last)) = (n, parts.last_mut()) {
                last.push_str(&format!("[{n}]"));
            }
            out.extend(parts);
        }
        match attr.field.kind() {
            Kind::Message(m) => message = m,
            _ => {
                out.extend(rest.map(str::to_owned));
                break;
            }
        }
    }
    (index, out)
}

/// `owners[2]` → ("owners", Some(2)); `owners` → ("owners", None).
fn split_index(segment: &str) -> Option<(&str, Option<usize>)> {
    match segment.split_once('[') {
        Some((name, tail)) => Some((name, tail.strip_suffix(']')?.parse().ok())),
        None => Some((segment, None)),
    }
}
