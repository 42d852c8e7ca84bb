//! The OpenAPI 3.1 description of the surface, derived from the same
//! descriptors as the routes: a path per route, an operation per op, a
//! schema per collection. Field comments are descriptions,
//! `OUTPUT_ONLY` is `readOnly`, enum words are `enum`; the examples are
//! those recorded from a walk through the API (`make openapi-examples`).

use std::{collections::BTreeMap, sync::OnceLock};

use http::Method;
use prost_reflect::{Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use super::{
    routes::primary,
    surface::{Attr, Op, Route, Surface, Verb, message_doc},
};

/// The statuses every operation may answer with an error object.
const ERRORS: &[(u16, &str)] = &[
    (400, "The request is malformed or an attribute is invalid (`details` names each one)"),
    (401, "No key, or an unknown, revoked or expired one"),
    (403, "The key may not make this request"),
    (404, "No such object for this partner and mode, or no such path"),
    (405, "The operation is not offered here; the description says what to do instead"),
    (409, "The Idempotency-Key was used for a different request, or the object changed meanwhile"),
    (413, "The body is larger than the gateway accepts"),
    (415, "The body's content type is not JSON, a form or (documents) multipart"),
    (429, "The key's rate limit is spent; retry after `Retry-After` seconds"),
    (500, "An internal error; the request id in `X-Request-Id` finds it in the logs"),
    (503, "A service is unavailable; retry after `Retry-After` seconds"),
];

const INTRO: &str = "The paymesh REST API, in the Payload wire format: objects carry `id`, `object`, \
`created_at`, `modified_at` and `attrs`; lists are `{\"object\": \"list\", \"values\": […]}`; errors \
are `{\"object\": \"error\", \"error_type\", \"description\", \"details\"}`. Authenticate with an API \
key as the Basic user name. Test keys see test mode only, live keys live mode only; another \
partner's objects, and the other mode's, answer 404. Bodies are JSON or forms \
(`payer[id]=…`). Lists take any attribute as a filter (`amount=>50`, `status=processed|voided`, \
`attrs[plan]=gold`) beside `limit`, `offset`, `order_by`, `fields` and `group_by`.";

/// The examples recorded from a walk through the API.
fn examples() -> &'static Value {
    static ALL: OnceLock<Value> = OnceLock::new();
    ALL.get_or_init(|| {
        serde_json::from_str(include_str!("../../openapi-examples.json")).unwrap_or(Value::Null)
    })
}

/// The description of `surface`, with the gateway's own public routes
/// (`(path, operationId, summary, answer)`).
pub(crate) fn describe(surface: &Surface, public: &[(&str, &str, &str, Value)]) -> Value {
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (path, id, summary, reply) in public {
        let media = if *id == "docs" { "text/html" } else { "application/json" };
        paths.entry((*path).to_owned()).or_default().insert("get".to_owned(), json!({
            "operationId": id, "summary": summary, "tags": [if path.starts_with("/openapi") || *id == "docs" { "docs" } else { "health" }],
            "security": [], "parameters": [],
            "responses": {"200": {"description": "OK", "content": {media: {"schema": reply}}}},
        }));
    }
    for route in &surface.routes {
        for op in &route.ops {
            paths
                .entry(route.path.clone())
                .or_default()
                .insert(op.method.as_str().to_ascii_lowercase(), operation(surface, route, op));
        }
    }
    if paths.contains_key("/events") {
        paths.entry("/events/stream".to_owned()).or_default().insert("get".to_owned(), stream_operation());
    }
    let mut schemas = Map::new();
    for resource in surface.resources() {
        let schema = object_schema(surface, &resource.message);
        schemas.insert(resource.object.clone(), schema.clone());
        for c in &resource.collections {
            schemas.insert(c.object.clone(), schema.clone());
        }
    }
    schemas.insert("Error".to_owned(), error_schema());
    json!({
        "openapi": "3.1.0",
        "info": {"title": "paymesh", "version": env!("CARGO_PKG_VERSION"), "description": INTRO},
        "servers": [{"url": "/"}],
        "security": [{"basic": []}, {"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic", "description": "The API key as the user name, no password (`curl -u KEY:`)"},
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API key or an access token"},
            },
            "schemas": schemas,
            "responses": {"Error": {
                "description": "An error object",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }},
        },
    })
}

fn operation(surface: &Surface, route: &Route, op: &Op) -> Value {
    let item = |m: &MessageDescriptor| match surface.resource(m) {
        Some(r) if route.own => reference(route.collection.as_ref().map_or(&r.object, |c| &c.object)),
        Some(r) => reference(&r.object),
        None => object_schema(surface, m),
    };
    let output =
        op.calls.one.as_ref().or(op.calls.list.as_ref()).or(op.calls.query.as_ref()).map(|m| m.output());
    let answer_field = output.as_ref().and_then(|o| primary(surface, o));
    let answer = answer_field
        .as_ref()
        .and_then(|f| f.kind().as_message().cloned())
        .map(|m| item(&m))
        .unwrap_or_else(|| json!({}));
    let many = answer_field.as_ref().is_some_and(|f| f.is_list()) || op.calls.one.is_none();
    let base = route.path.trim_end_matches("/{id}");
    let mut parameters: Vec<Value> = route
        .path
        .contains("{id}")
        .then(|| json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": "The object's id"}))
        .into_iter()
        .collect();
    let mut reply = if many { list_of(answer.clone()) } else { answer.clone() };
    let mut body = None;
    let example = examples()["creates"].get(base).cloned();
    let input = |m: &MessageDescriptor| input_schema(surface, m);
    // The schema of what the body field holds.
    let written = || op.body.as_ref().and_then(|b| b.kind().as_message().cloned()).map(|m| input(&m));
    match op.verb {
        Verb::List => parameters.extend(list_params()),
        Verb::Get => parameters.push(param("fields", "The attributes to answer (`*,ledger`)")),
        Verb::Create => {
            let one = written().unwrap_or_default();
            if op.calls.list.is_some() {
                body = Some((one_or_list(one), example));
                reply = json!({"anyOf": [answer.clone(), list_of(answer)]});
            } else {
                body = Some((one, example));
            }
        }
        Verb::Update | Verb::Delete if op.calls.one.is_none() => {
            parameters
                .push(json!({"name": "mode", "in": "query", "schema": {"type": "string", "enum": ["query"]},
                "description": "`query` to act on every object the filters match (at least one filter)"}));
            parameters.push(filters());
            let ids = json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]});
            let one = written().unwrap_or_default();
            body = Some((if op.verb == Verb::Delete { list_of(ids) } else { one_or_list(one) }, None));
        }
        _ => {
            if op.method == Method::POST || op.method == Method::PUT {
                body =
                    written().or_else(|| op.calls.one.as_ref().map(|m| input(&m.input()))).map(|s| (s, None));
            }
        }
    }
    let mut responses = Map::new();
    let reply = if op.download {
        json!({"description": "OK", "content": {"*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}})
    } else {
        json!({"description": "OK", "content": {"application/json": {"schema": reply}}})
    };
    responses.insert("200".to_owned(), reply);
    for (code, why) in ERRORS {
        responses
            .insert(code.to_string(), json!({"$ref": "#/components/responses/Error", "description": why}));
    }
    let summary = op.doc.split(". ").next().unwrap_or_default().trim_end_matches('.').to_owned();
    let mut out = json!({
        "operationId": op.id,
        "summary": summary,
        "description": op.doc,
        "tags": [base.split('/').nth(1).unwrap_or_default()],
        "parameters": parameters,
        "responses": responses,
    });
    if let Some((schema, example)) = body {
        let mut content = json!({"schema": schema});
        if let Some(example) = example {
            content["example"] = example;
        }
        let mut media =
            json!({"application/json": content, "application/x-www-form-urlencoded": {"schema": schema}});
        if op.calls.one.as_ref().is_some_and(|m| m.input().fields().any(|f| matches!(f.kind(), Kind::Bytes)))
        {
            media["multipart/form-data"] = json!({"schema": {"type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream"}}}});
        }
        out["requestBody"] =
            json!({"required": op.verb != Verb::Delete && op.verb != Verb::Custom, "content": media});
    }
    out
}

/// The schema of objects of `message`, as rendered.
fn object_schema(surface: &Surface, message: &MessageDescriptor) -> Value {
    let mut properties = Map::new();
    if surface.resource(message).is_some() {
        properties.insert("object".to_owned(), json!({"type": "string"}));
    }
    for attr in surface.plan(message).attrs.iter().filter(|a| !a.input_only) {
        match attr.field.kind() {
            Kind::Message(m) if attr.rules.flatten => {
                if let Some(Value::Object(inner)) = object_schema(surface, &m).get("properties").cloned() {
                    properties.extend(inner);
                }
            }
            _ => {
                let schema = field_schema(surface, attr, false);
                match attr.name.split_once('.') {
                    Some((head, rest)) => {
                        let entry = properties
                            .entry(head.to_owned())
                            .or_insert_with(|| json!({"type": ["null", "object"], "properties": {}}));
                        entry["properties"][rest] = schema;
                    }
                    None => {
                        properties.insert(attr.name.clone(), schema);
                    }
                }
                if attr.money_number() && !attr.rules.currency.is_empty() {
                    properties.insert(
                        attr.rules.currency.clone(),
                        json!({"type": ["null", "string"], "description": "The ISO 4217 currency"}),
                    );
                }
            }
        }
    }
    json!({"type": "object", "description": message_doc(message), "properties": properties})
}

/// The schema of a body creating or changing `message`: what may be written.
fn input_schema(surface: &Surface, message: &MessageDescriptor) -> Value {
    let properties: Map<String, Value> = surface
        .plan(message)
        .attrs
        .iter()
        .filter(|a| !a.output_only && !a.rules.flatten && !a.name.contains('.'))
        .map(|a| (a.name.clone(), field_schema(surface, a, true)))
        .collect();
    json!({"type": "object", "properties": properties})
}

fn field_schema(surface: &Surface, attr: &Attr, input: bool) -> Value {
    let one = match attr.field.kind() {
        Kind::String if attr.rules.format() == paymesh_proto::rest::v1::Format::Decimal => {
            json!({"type": "number"})
        }
        Kind::String => json!({"type": "string"}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Sint32 | Kind::Sint64 => {
            json!({"type": "integer"})
        }
        Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        Kind::Enum(e) => json!({"type": "string", "enum": surface.words(&e).all().collect::<Vec<_>>()}),
        Kind::Message(m) => match m.full_name() {
            "google.protobuf.Struct" => {
                return json!({"type": ["null", "object"], "description": "Custom attributes, any JSON"});
            }
            "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
            "paymesh.common.v1.Money" if attr.money_number() => json!({"type": "number"}),
            _ if input => input_schema(surface, &m),
            _ => match surface.resource(&m) {
                Some(r) => reference(&r.object),
                None => object_schema(surface, &m),
            },
        },
        _ => json!({}),
    };
    let mut schema = if attr.field.is_list() {
        json!({"type": "array", "items": one})
    } else if attr.required
        && matches!(attr.field.kind(), Kind::String)
        && attr.rules.format() != paymesh_proto::rest::v1::Format::Decimal
    {
        one
    } else {
        nullable(one)
    };
    let mut description = attr.doc.clone();
    if attr.rules.non_default {
        description.push_str(&format!(
            " Non-default: reads show it when `fields` names it (`fields=*,{}`); writes answer it always.",
            attr.name
        ));
    }
    if !description.is_empty() {
        schema["description"] = json!(description.trim());
    }
    if attr.output_only {
        schema["readOnly"] = json!(true);
    }
    schema
}

/// `schema`, or null.
fn nullable(mut schema: Value) -> Value {
    if schema.get("$ref").is_some() {
        return json!({"anyOf": [{"type": "null"}, schema]});
    }
    if let Some(Value::String(t)) = schema.get("type").cloned()
        && t != "array"
        && t != "boolean"
        && t != "integer"
    {
        schema["type"] = json!(["null", t]);
        if let Some(Value::Array(words)) = schema.get_mut("enum") {
            words.push(Value::Null);
        }
    }
    schema
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string"}, "description": description})
}

fn list_params() -> Vec<Value> {
    vec![
        json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}, "description": "At most this many objects (default 10)"}),
        json!({"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}, "description": "Skip this many objects"}),
        param("order_by", "Attributes to order by, `desc(created_at)` for descending, comma-separated"),
        param(
            "fields",
            "The attributes to answer (`id,amount`, `*,ledger`), or computed ones (`sum(amount)`)",
        ),
        param("group_by", "Attributes to group aggregates by"),
        filters(),
    ]
}

fn filters() -> Value {
    json!({
        "name": "filters", "in": "query", "style": "form", "explode": true,
        "schema": {"type": "object", "additionalProperties": {"type": "string"}},
        "description": "Any attribute as a filter: `=`, `!`, `>`, `<`, `>=`, `<=`, `?*like*`, `a|b`; nested ones as `attrs[plan]`",
    })
}

fn list_of(item: Value) -> Value {
    json!({"type": "object", "required": ["object", "values"],
        "properties": {"object": {"const": "list"}, "values": {"type": "array", "items": item}}})
}

fn one_or_list(item: Value) -> Value {
    json!({"anyOf": [item, {"type": "object", "required": ["values"],
        "properties": {"object": {"const": "list"}, "values": {"type": "array", "items": item}}}]})
}

/// The error object.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["object", "error_type", "description"],
        "properties": {
            "object": {"type": "string"},
            "error_type": {"type": "string", "description": "The class of error, named as the official SDKs' exceptions: `InvalidAttributes`, `NotFound`, …"},
            "description": {"type": "string"},
            "error_description": {"type": "string"},
            "details": {"type": "object", "description": "What is wrong with each attribute, nested as the body is; for a list body \
                `{\"object\": \"list\", \"values\": [{…}, …]}` with one entry per item"},
        },
    })
}

/// `GET /events/stream`, served beside the transcoder (see `stream.rs`).
fn stream_operation() -> Value {
    json!({
        "operationId": "streamEvents",
        "summary": "The caller's events as Server-Sent Events, as they are recorded",
        "description": "Each message's `id` is the event id, `event` its type, `data` the event object. \
            A reconnecting client's `Last-Event-ID` header (or `after_id`) resumes after the last event it got.",
        "tags": ["events"],
        "parameters": [
            {"name": "types", "in": "query", "required": false, "schema": {"type": "string"},
             "description": "Only these event types, comma-separated: exact (`transaction.payment`) or a resource's (`transaction.*`)"},
            {"name": "after_id", "in": "query", "required": false, "schema": {"type": "string"},
             "description": "Resume after this event"},
            {"name": "Last-Event-ID", "in": "header", "required": false, "schema": {"type": "string"},
             "description": "Resume after this event (what an EventSource sends when it reconnects)"},
        ],
        "responses": {
            "200": {"description": "A stream of events", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            "400": {"$ref": "#/components/responses/Error"},
            "401": {"$ref": "#/components/responses/Error"},
            "403": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
            "503": {"$ref": "#/components/responses/Error"},
        },
    })
}
