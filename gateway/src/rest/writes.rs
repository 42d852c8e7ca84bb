//! Writes: creates (one object or a list), updates of one object, and the
//! changes of several at once — a list body by ids, all or none, or one
//! change (or a delete) applied to every object `?…&mode=query` matches.
//!
//! An update that only sets the attribute an operation's `instead` names
//! to its word (intents' `{"status": "CANCELED"}`) is that operation: one
//! object, a list of them or a query, never mixed with other changes.

use std::collections::HashMap;

use paymesh_kit::MAX_BATCH;
use paymesh_proto::common::v1::{Filter, ListQuery};
use prost_reflect::{DynamicMessage, MethodDescriptor, ReflectMessage as _, Value as Pv};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    ctx::{Ctx, Reply, bind, equals, kept_problems, list_reply, set_message, set_query},
    read::{Object, Parsed, Purpose},
    surface::{Collection, Instead, Verb},
};
use crate::{
    body::{RequestBody, Shape},
    error::ApiError,
    query::{self, ListParams},
};

/// `POST`: one object, or a list created all or none.
pub(crate) async fn create(ctx: &Ctx<'_>, body: RequestBody) -> Reply {
    ctx.parent().await?;
    let method = ctx.op.calls.one.as_ref().ok_or_else(ApiError::internal)?;
    match body.shape()? {
        Shape::Object(object) => {
            let parsed = ctx.read(method, object, Purpose::Create).map_err(ApiError::invalid)?;
            ctx.object(&ctx.call(method, parsed.message).await?)
        }
        Shape::List(values) => {
            let list = lists(ctx, ctx.op.calls.list.as_ref())?;
            let parsed = each_object(values, |object| ctx.read(method, object, Purpose::Create))?;
            let request = batch(list, parsed.into_iter().map(|p| p.message));
            Ok(list_reply(ctx.list(&ctx.call(list, request).await?).into_iter()))
        }
    }
}

/// `PUT /things/{id}`: the attributes sent, after the stored object's
/// read-only values were compared with any sent back.
pub(crate) async fn update_one(ctx: &Ctx<'_>, body: RequestBody) -> Reply {
    let Shape::Object(object) = body.shape()? else {
        return Err(ApiError::bad_request(format!("PUT {} takes one object", ctx.route.path)));
    };
    let method = ctx.op.calls.one.as_ref().ok_or_else(ApiError::internal)?;
    let collection = ctx.route.collection.as_ref().ok_or_else(ApiError::internal)?;
    let parsed = ctx.read(method, object, Purpose::Update { path_id: &ctx.id }).map_err(ApiError::invalid)?;
    let stored = ctx.render(&ctx.fetch(collection, &ctx.id).await?);
    let problems = kept_problems(&parsed.kept, &stored);
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    if let Some(other) = instead(ctx, std::slice::from_ref(&parsed))? {
        let method = other.calls.one.as_ref().ok_or_else(ApiError::internal)?;
        let mut request = DynamicMessage::new(method.input());
        bind(&mut request, other.bind.as_deref(), &ctx.id);
        return ctx.object(&ctx.call(method, request).await?);
    }
    ctx.object(&ctx.call(method, masked(parsed)).await?)
}

/// `PUT` or `DELETE` on the collection's path: a list body by ids, or
/// `?…&mode=query`.
pub(crate) async fn change_many(ctx: &Ctx<'_>, raw: Option<String>, body: RequestBody) -> Reply {
    let params = query::parse(raw.as_deref())?;
    let collection = ctx.route.collection.as_ref().ok_or_else(ApiError::internal)?;
    let deletes = ctx.op.verb == Verb::Delete;
    let response = match (body.0.is_some(), params.mode_query) {
        (true, true) if deletes => return Err(ApiError::bad_request("mode=query takes no body")),
        (false, true) if deletes => {
            let query = ctx.op.calls.query.as_ref().ok_or_else(|| no_lists(ctx))?;
            ctx.call(query, filtered(query, filters(collection, &params)?)).await?
        }
        (true, true) => {
            let Shape::Object(object) = body.shape()? else {
                return Err(ApiError::bad_request("mode=query takes one object of changes, not a list"));
            };
            let query = ctx.op.calls.query.as_ref().ok_or_else(|| no_lists(ctx))?;
            let one = single(ctx)?;
            let parsed = ctx.read(&one, object, Purpose::UpdateByQuery).map_err(ApiError::invalid)?;
            if parsed.mask.is_empty() {
                return Err(ApiError::bad_request("Send at least one attribute to change"));
            }
            let filters = filters(collection, &params)?;
            match instead(ctx, std::slice::from_ref(&parsed))? {
                Some(other) => {
                    let query = other.calls.query.as_ref().ok_or_else(|| no_lists(ctx))?;
                    ctx.call(query, filtered(query, filters)).await?
                }
                None => {
                    let mut request = filtered(query, filters);
                    let changes = masked(parsed);
                    for (field, value) in changes.fields() {
                        if let Some(f) = request.descriptor().get_field_by_name(field.name()) {
                            request.set_field(&f, value.clone());
                        }
                    }
                    ctx.call(query, request).await?
                }
            }
        }
        (true, false) => {
            let Shape::List(values) = body.shape()? else { return Err(many_hint(ctx)) };
            let list = lists(ctx, ctx.op.calls.list.as_ref())?;
            if deletes {
                let ids = each_object(values, |object| match object.get("id") {
                    Some(Value::String(id)) => Ok(id.clone()),
                    Some(_) => Err(one("id", "Must be a string")),
                    None => Err(one("id", "Required")),
                })?;
                check(ctx, collection, ids.iter().map(|id| (id.clone(), Vec::new())).collect()).await?;
                ctx.call(list, by_ids(list, &ids)).await?
            } else {
                let one_method = single(ctx)?;
                let parsed =
                    each_object(values, |object| ctx.read(&one_method, object, Purpose::BatchUpdate))?;
                let items = parsed.iter().map(|p| (id_of(&p.message), p.kept.clone())).collect();
                check(ctx, collection, items).await?;
                match instead(ctx, &parsed)? {
                    Some(other) => {
                        let list = other.calls.list.as_ref().ok_or_else(|| no_lists(ctx))?;
                        let ids: Vec<String> = parsed.iter().map(|p| id_of(&p.message)).collect();
                        ctx.call(list, by_ids(list, &ids)).await?
                    }
                    None => ctx.call(list, batch(list, parsed.into_iter().map(masked))).await?,
                }
            }
        }
        (false, _) => return Err(many_hint(ctx)),
    };
    Ok(list_reply(ctx.list(&response).into_iter()))
}

// === Helpers ===

/// The RPC of one object whose requests a list carries: the update of the
/// collection's `PUT /things/{id}`.
fn single(ctx: &Ctx<'_>) -> Result<MethodDescriptor, ApiError> {
    let path = format!("{}/{{id}}", ctx.route.path);
    let route = ctx.state.surface.routes.iter().find(|r| r.path == path);
    let op = route.and_then(|r| r.ops.iter().find(|o| o.method == ctx.op.method));
    op.and_then(|o| o.calls.one.clone()).ok_or_else(ApiError::internal)
}

/// The list RPC, or the 405 of a collection that takes one object at a time.
fn lists<'a>(ctx: &Ctx<'_>, list: Option<&'a MethodDescriptor>) -> Result<&'a MethodDescriptor, ApiError> {
    list.ok_or_else(|| no_lists(ctx))
}

fn no_lists(ctx: &Ctx<'_>) -> ApiError {
    let why = ctx.route.collection.as_ref().map_or("", |c| c.one_at_a_time.as_str());
    let path = ctx.route.path.trim_end_matches("/{id}");
    ApiError::method_not_allowed(format!(
        "{} {path} takes one object at a time, not a list{why}",
        ctx.op.method
    ))
}

fn many_hint(ctx: &Ctx<'_>) -> ApiError {
    let (path, object) =
        (&ctx.route.path, ctx.route.collection.as_ref().map_or("object", |c| c.object.as_str()));
    ApiError::bad_request(format!(
        "{} {path} acts on several objects: send {{\"object\": \"list\", \"values\": [ … ]}} with their ids, \
         or filter them with ?…&mode=query. For one {object}, use {path}/{{id}}",
        ctx.op.method
    ))
}

/// The filters of a change by query: the caller's own (at least one, so
/// that a forgotten filter cannot reach every object), then the
/// collection's.
fn filters(collection: &Collection, params: &ListParams) -> Result<Vec<Filter>, ApiError> {
    let mut filters = params.mutation_filters()?;
    filters.extend(collection.filter.as_ref().map(|(attr, word)| equals(attr, &[word])));
    Ok(filters)
}

/// A query request with `filters`.
fn filtered(method: &MethodDescriptor, filters: Vec<Filter>) -> DynamicMessage {
    let mut request = DynamicMessage::new(method.input());
    if let Some(field) = request.descriptor().get_field_by_name("filters") {
        let values = filters
            .into_iter()
            .map(|f| {
                let mut m =
                    DynamicMessage::new(field.kind().as_message().cloned().unwrap_or_else(|| method.input()));
                let _ = m.transcode_from(&f);
                Pv::Message(m)
            })
            .collect();
        request.set_field(&field, Pv::List(values));
    }
    request
}

/// A list request carrying one request per item.
fn batch(method: &MethodDescriptor, items: impl Iterator<Item = DynamicMessage>) -> DynamicMessage {
    let mut request = DynamicMessage::new(method.input());
    if let Some(field) = request.descriptor().get_field_by_name("requests") {
        request.set_field(&field, Pv::List(items.map(Pv::Message).collect()));
    }
    request
}

/// A list request of ids.
fn by_ids(method: &MethodDescriptor, ids: &[String]) -> DynamicMessage {
    let mut request = DynamicMessage::new(method.input());
    request.set_field_by_name("ids", Pv::List(ids.iter().cloned().map(Pv::String).collect()));
    request
}

/// A request with its update mask set.
fn masked(parsed: Parsed) -> DynamicMessage {
    let mut request = parsed.message;
    set_message(&mut request, "google.protobuf.FieldMask", &prost_types::FieldMask { paths: parsed.mask });
    request
}

/// The id of the object an update request carries.
fn id_of(request: &DynamicMessage) -> String {
    request
        .fields()
        .find_map(|(_, v)| v.as_message()?.get_field_by_name("id")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The operation an update is instead (a cancel), when it only sets the
/// `instead` attribute to its word — for every item, or for none.
fn instead<'c>(ctx: &'c Ctx<'_>, items: &[Parsed]) -> Result<Option<&'c Instead>, ApiError> {
    let Some(other) = &ctx.op.instead else { return Ok(None) };
    let Instead { attr, word, calls, .. } = other;
    let surface = &ctx.state.surface;
    let sets = |p: &Parsed| {
        p.message.fields().any(|(_, v)| {
            v.as_message().is_some_and(|m| surface.word_of(m, attr).as_deref() == Some(word.as_str()))
        }) && p.mask.iter().any(|m| m == attr)
    };
    // The operation's verb: `Cancel` of `CancelPaymentIntent`.
    let name = calls.one.as_ref().map_or("", |m| m.name());
    let verb =
        &name[..name.char_indices().skip(1).find(|(_, c)| c.is_uppercase()).map_or(name.len(), |(i, _)| i)];
    let object = ctx.route.collection.as_ref().map_or_else(String::new, |c| c.object.replace('_', " "));
    let count = items.iter().filter(|p| sets(p)).count();
    if items.iter().any(|p| sets(p) && p.mask.len() > 1) {
        return Err(ApiError::invalid_field(
            attr,
            format!("{verb} with {{\"{attr}\": \"{word}\"}} alone, without other changes"),
        ));
    }
    match count {
        0 => Ok(None),
        n if n == items.len() => Ok(Some(other)),
        _ => Err(ApiError::invalid_field(
            "values",
            format!("{verb} every {object} of a list, or none: change the others in a request of their own"),
        )),
    }
}

/// Checks each item of a list against what is stored: its id must name an
/// object of this collection, and read-only values sent must equal the
/// stored ones.
async fn check(
    ctx: &Ctx<'_>,
    collection: &Collection,
    items: Vec<(String, Vec<super::read::Kept>)>,
) -> Result<(), ApiError> {
    let valid: Vec<&str> =
        items.iter().map(|(id, _)| id.as_str()).filter(|id| Uuid::parse_str(id).is_ok()).collect();
    let mut stored: HashMap<Uuid, Object> = HashMap::new();
    if !valid.is_empty() {
        let route = ctx.state.surface.routes.iter().find(|r| r.path == collection.path);
        let list = route
            .and_then(|r| r.ops.iter().find(|o| o.verb == Verb::List))
            .and_then(|o| o.calls.one.as_ref());
        let list = list.ok_or_else(ApiError::internal)?;
        let mut filters = vec![equals("id", &valid)];
        filters.extend(collection.filter.as_ref().map(|(attr, word)| equals(attr, &[word])));
        let query =
            ListQuery { filters, limit: u32::try_from(valid.len()).unwrap_or(1), ..ListQuery::default() };
        let mut request = DynamicMessage::new(list.input());
        set_query(&mut request, &query);
        for object in ctx.list(&ctx.call(list, request).await?) {
            if let Value::Object(object) = object
                && let Some(id) =
                    object.get("id").and_then(Value::as_str).and_then(|id| Uuid::parse_str(id).ok())
            {
                stored.insert(id, object);
            }
        }
    }
    let no_such = format!("No such {}", collection.not_found.trim_end_matches(" not found").to_lowercase());
    let problems: Vec<Object> = items
        .iter()
        .map(|(id, kept)| match Uuid::parse_str(id).ok().and_then(|id| stored.get(&id)) {
            Some(object) => kept_problems(kept, object),
            None => one("id", &no_such),
        })
        .collect();
    if problems.iter().all(Map::is_empty) { Ok(()) } else { Err(ApiError::invalid_items(problems)) }
}

/// A single-attribute problem.
fn one(field: &str, message: &str) -> Object {
    let mut map = Map::new();
    map.insert(field.to_owned(), Value::String(message.to_owned()));
    map
}

/// Applies `parse` to every item of a list body; problems are reported per
/// item, in Payload's list shape.
fn each_object<T>(
    values: Vec<Value>,
    parse: impl Fn(Object) -> Result<T, Object>,
) -> Result<Vec<T>, ApiError> {
    if values.is_empty() {
        return Err(ApiError::invalid_field("values", "At least one item is required"));
    }
    if values.len() > MAX_BATCH {
        return Err(ApiError::invalid_field("values", format!("At most {MAX_BATCH} items per request")));
    }
    let mut parsed = Vec::with_capacity(values.len());
    let mut problems = Vec::with_capacity(values.len());
    for value in values {
        match value {
            Value::Object(object) => match parse(object) {
                Ok(item) => {
                    parsed.push(item);
                    problems.push(Map::new());
                }
                Err(p) => problems.push(p),
            },
            _ => problems.push(one("object", "Each item must be an object")),
        }
    }
    if problems.iter().all(Map::is_empty) { Ok(parsed) } else { Err(ApiError::invalid_items(problems)) }
}
