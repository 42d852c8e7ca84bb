//! The operations every route offers, written once: a REST request is read
//! into the request message of the route's RPC, the RPC is called, and its
//! response is rendered. [`Ctx`] holds what one request needs; the
//! changes of lists and queries are in `many`.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use paymesh_proto::common::v1::{Condition, FieldRef, Filter, ListQuery, Operator};
use prost_reflect::{DynamicMessage, Kind, MethodDescriptor, ReflectMessage as _, Value as Pv};
use serde_json::{Map, Value, json};
use tonic_types::StatusExt as _;

use super::{
    read::{Kept, Object, Parsed, Purpose, parse},
    render::{place, render},
    routes::{field_of_type, primary},
    surface::{Collection, Op, Route, Verb},
};
use crate::{
    auth::Caller,
    body::{RequestBody, Shape},
    error::ApiError,
    query::{self, ListParams},
    state::AppState,
};

/// A REST reply.
pub(crate) type Reply = Result<Response, ApiError>;

/// One request on one route.
pub(crate) struct Ctx<'a> {
    /// The gateway.
    pub(crate) state: &'a AppState,
    /// Who calls.
    pub(crate) caller: &'a Caller,
    /// The route.
    pub(crate) route: &'a Route,
    /// Its operation for the request's method.
    pub(crate) op: &'a Op,
    /// The path's id, if it has one.
    pub(crate) id: String,
}

impl Ctx<'_> {
    /// Calls `method` with `request`; a failure becomes the REST error,
    /// its attributes named as REST names them.
    pub(crate) async fn call(
        &self,
        method: &MethodDescriptor,
        request: DynamicMessage,
    ) -> Result<DynamicMessage, ApiError> {
        let surface = &self.state.surface;
        let channel = self.state.channel(method).ok_or_else(ApiError::internal)?;
        let max = self.state.max_document_bytes + 64 * 1024;
        match super::call::unary(channel, method, self.caller.grpc(request), max).await {
            Ok(response) => Ok(response),
            Err(status) => {
                let input = method.input();
                let error = ApiError::from_status(&status, &|field| place(surface, &input, field));
                Err(self.with_object(error, &status).await)
            }
        }
    }

    /// An error that names an object of the route's collection (a declined
    /// payment names its transaction) carries that object in `details`.
    async fn with_object(&self, error: ApiError, status: &tonic::Status) -> ApiError {
        let details = status.get_error_details();
        let (Some(collection), Some(info)) = (&self.route.collection, details.error_info()) else {
            return error;
        };
        let Some(id) = info.metadata.get(&format!("{}_id", collection.object)) else { return error };
        match Box::pin(self.fetch(collection, id)).await {
            Ok(object) => error.with_details(Value::Object(self.render(&object))),
            Err(_) => error,
        }
    }

    /// The object `id` of `collection`: 404 unless it is one of its.
    pub(crate) async fn fetch(&self, collection: &Collection, id: &str) -> Result<DynamicMessage, ApiError> {
        let not_found = || ApiError::not_found(collection.not_found.clone());
        let path = format!("{}/{{id}}", collection.path);
        let routes = &self.state.surface.routes;
        let get =
            routes.iter().find(|r| r.path == path).and_then(|r| r.ops.iter().find(|o| o.verb == Verb::Get));
        let Some((op, method)) = get.and_then(|op| Some((op, op.calls.one.as_ref()?))) else {
            return Err(not_found());
        };
        let mut request = DynamicMessage::new(method.input());
        bind(&mut request, op.bind.as_deref(), id);
        let response =
            self.call(method, request).await.map_err(|e| if e.status() == 404 { not_found() } else { e })?;
        let object = self.primary(&response).ok_or_else(not_found)?;
        let filter = collection.filter.as_ref();
        if filter
            .is_some_and(|(attr, word)| self.state.surface.word_of(&object, attr).as_deref() != Some(word))
        {
            return Err(not_found());
        }
        Ok(object)
    }

    /// The object a response carries.
    pub(crate) fn primary(&self, response: &DynamicMessage) -> Option<DynamicMessage> {
        let field = primary(&self.state.surface, &response.descriptor())?;
        response.get_field(&field).as_message().cloned()
    }

    /// `message` as the route shows it.
    pub(crate) fn render(&self, message: &DynamicMessage) -> Object {
        let own = self.route.own.then_some(self.route.collection.as_ref()).flatten();
        let word = own.filter(|c| c.message == message.descriptor()).map(|c| c.object.as_str());
        render(&self.state.surface, message, word)
    }

    /// The objects of a response's list, rendered.
    pub(crate) fn list(&self, response: &DynamicMessage) -> Vec<Value> {
        let Some(field) = primary(&self.state.surface, &response.descriptor()) else { return Vec::new() };
        let items = response.get_field(&field);
        let items = items.as_list().unwrap_or_default();
        items.iter().filter_map(Pv::as_message).map(|m| Value::Object(self.render(m))).collect()
    }

    /// The object a response carries, with the response's other fields
    /// (a key shown once) beside its attributes.
    pub(crate) fn object(&self, response: &DynamicMessage) -> Reply {
        let surface = &self.state.surface;
        let field = primary(surface, &response.descriptor()).ok_or_else(ApiError::internal)?;
        let object = response.get_field(&field).as_message().cloned().ok_or_else(ApiError::internal)?;
        let mut out = self.render(&object);
        let mut rest = response.clone();
        rest.clear_field(&field);
        for (key, value) in render(surface, &rest, None) {
            if !(key == field.name() && value.is_null()) {
                out.insert(key, value);
            }
        }
        Ok(Json(Value::Object(out)).into_response())
    }

    /// 404 unless the path's id names an object of the parent collection.
    pub(crate) async fn parent(&self) -> Result<(), ApiError> {
        match &self.route.parent {
            Some(parent) => self.fetch(parent, &self.id).await.map(drop),
            None => Ok(()),
        }
    }

    /// The request of `method` with the path's id bound.
    pub(crate) fn request(&self, method: &MethodDescriptor) -> DynamicMessage {
        let mut request = DynamicMessage::new(method.input());
        bind(&mut request, self.op.bind.as_deref(), &self.id);
        request
    }

    /// Reads a body object into the request of `method`: the object into
    /// the op's body field, request fields beside it (a document's
    /// `content`) into the request; then the path's id.
    pub(crate) fn read(
        &self,
        method: &MethodDescriptor,
        mut object: Object,
        purpose: Purpose<'_>,
    ) -> Result<Parsed, Object> {
        let surface = &self.state.surface;
        let input = method.input();
        let (Some(body), Some(Kind::Message(resource))) =
            (&self.op.body, self.op.body.as_ref().map(|b| b.kind()))
        else {
            let mut parsed = parse(surface, &input, object, purpose, None)?;
            bind(&mut parsed.message, self.op.bind.as_deref(), &self.id);
            return Ok(parsed);
        };
        let beside: Object = surface
            .plan(&input)
            .attrs
            .iter()
            .filter(|a| a.field != *body && !matches!(a.field.kind(), Kind::Message(_)))
            .filter_map(|a| Some((a.name.clone(), object.remove(&a.name)?)))
            .collect();
        let collection = self.route.collection.as_deref().filter(|c| c.message == resource);
        let read = (
            parse(surface, &resource, object, purpose, collection),
            parse(surface, &input, beside, Purpose::Create, None),
        );
        let (parsed, extra) = match read {
            (Ok(p), Ok(e)) => (p, e),
            (Err(mut a), Err(b)) => {
                a.extend(b);
                return Err(a);
            }
            (Err(a), _) | (_, Err(a)) => return Err(a),
        };
        let mut request = extra.message;
        request.set_field(body, Pv::Message(parsed.message));
        bind(&mut request, self.op.bind.as_deref(), &self.id);
        Ok(Parsed { message: request, mask: parsed.mask, kept: parsed.kept })
    }
}

/// Sets the field at `path` (`owner.legal_entity_id`) of `request` to `id`;
/// a path that is not a request field is left to the caller (a filter).
pub(crate) fn bind(request: &mut DynamicMessage, path: Option<&str>, id: &str) -> bool {
    let Some(path) = path.filter(|_| !id.is_empty()) else { return false };
    let (head, tail) = path.split_once('.').map_or((path, None), |(h, t)| (h, Some(t)));
    let Some(field) = request.descriptor().get_field_by_name(head) else { return false };
    match (tail, field.kind()) {
        (None, Kind::String) => {
            request.set_field(&field, Pv::String(id.to_owned()));
            true
        }
        (Some(tail), Kind::Message(_)) => {
            request.get_field_mut(&field).as_message_mut().is_some_and(|inner| bind(inner, Some(tail), id))
        }
        _ => false,
    }
}

/// A filter `path = value` (or any of several values).
pub(crate) fn equals(path: &str, values: &[&str]) -> Filter {
    Filter {
        field: Some(FieldRef { path: path.split('.').map(str::to_owned).collect(), function: 0 }),
        any_of: values
            .iter()
            .map(|v| Condition { operator: Operator::Equal as i32, value: (*v).to_owned() })
            .collect(),
    }
}

/// Sets the `ListQuery` of a request.
pub(crate) fn set_query(request: &mut DynamicMessage, query: &ListQuery) {
    set_message(request, "paymesh.common.v1.ListQuery", query);
}

/// Sets the field of `request` whose type is `name` to `value`.
pub(crate) fn set_message(request: &mut DynamicMessage, name: &str, value: &impl prost::Message) {
    if let Some(field) = field_of_type(&request.descriptor(), name)
        && let Kind::Message(descriptor) = field.kind()
    {
        let mut message = DynamicMessage::new(descriptor);
        let _ = message.transcode_from(value);
        request.set_field(&field, Pv::Message(message));
    }
}

/// The attributes of `collection` a read shows only when named.
pub(crate) fn non_default<'a>(ctx: &Ctx<'a>) -> Vec<&'a str> {
    let Some(c) = &ctx.route.collection else { return Vec::new() };
    ctx.state
        .surface
        .plan(&c.message)
        .attrs
        .iter()
        .filter(|a| a.rules.non_default)
        .map(|a| a.name.as_str())
        .collect()
}

/// Read-only values sent back are accepted when they equal the stored
/// ones (an object read can be sent back), and refused otherwise.
pub(crate) fn kept_problems(kept: &[Kept], stored: &Object) -> Object {
    let lookup = |path: &str| {
        let mut parts = path.split('.');
        let first = stored.get(parts.next()?)?;
        parts.try_fold(first, |value, part| value.get(part))
    };
    let flat: Object = kept
        .iter()
        .filter(|k| lookup(&k.path) != Some(&k.value))
        .map(|k| (k.path.clone(), Value::String(k.why.clone())))
        .collect();
    super::read::nest(flat)
}

// === The operations ===

/// Serves `ctx`'s operation.
pub(crate) async fn serve(ctx: Ctx<'_>, raw: Option<String>, body: RequestBody) -> Reply {
    match (ctx.op.verb, ctx.route.one) {
        (Verb::Get, _) => get(&ctx, raw).await,
        (Verb::List, _) => list(&ctx, raw).await,
        (Verb::Create, _) => super::many::create(&ctx, body).await,
        (Verb::Update, true) => super::many::update_one(&ctx, body).await,
        (Verb::Update | Verb::Delete, false)
            if ctx.route.own && ctx.id.is_empty() && ctx.op.calls.one.is_none() =>
        {
            super::many::change_many(&ctx, raw, body).await
        }
        (Verb::Delete, true) => {
            let (collection, method) = (ctx.route.collection.as_ref(), ctx.op.calls.one.as_ref());
            let (Some(collection), Some(method)) = (collection, method) else {
                return Err(ApiError::internal());
            };
            ctx.fetch(collection, &ctx.id).await?;
            ctx.object(&ctx.call(method, ctx.request(method)).await?)
        }
        _ => custom(&ctx, body).await,
    }
}

async fn get(ctx: &Ctx<'_>, raw: Option<String>) -> Reply {
    let params = query::parse(raw.as_deref())?;
    if params.query.fields.iter().any(|f| f.function != 0) || !params.query.aggregates.is_empty() {
        return Err(ApiError::invalid_field(
            "fields",
            format!(
                "Computed fields and aggregates are available on lists, e.g. GET {}?id=…&fields=…",
                ctx.route.path.trim_end_matches("/{id}")
            ),
        ));
    }
    let collection = ctx.route.collection.as_ref().ok_or_else(ApiError::internal)?;
    let object = ctx.fetch(collection, &ctx.id).await?;
    let shown = params.projection.apply(ctx.render(&object), None, &non_default(ctx));
    Ok(Json(Value::Object(shown)).into_response())
}

async fn list(ctx: &Ctx<'_>, raw: Option<String>) -> Reply {
    let ListParams { mut query, projection, .. } = query::parse(raw.as_deref())?;
    ctx.parent().await?;
    let method = ctx.op.calls.one.as_ref().ok_or_else(ApiError::internal)?;
    let mut request = ctx.request(method);
    if let Some((attr, word)) =
        ctx.route.collection.as_ref().filter(|_| ctx.route.own).and_then(|c| c.filter.as_ref())
    {
        query.filters.push(equals(attr, &[word]));
    }
    if !ctx.id.is_empty() && !bind(&mut request, ctx.op.bind.as_deref(), &ctx.id) {
        query.filters.push(equals(ctx.op.bind.as_deref().unwrap_or("id"), &[&ctx.id]));
    }
    // A costly attribute named in `fields` is asked for by its own flag.
    for attr in &ctx.state.surface.plan(&method.input()).attrs {
        let named = &attr.rules.selects;
        if !named.is_empty() && query.fields.iter().any(|f| f.path.first() == Some(named)) {
            query.fields.retain(|f| f.path.first() != Some(named));
            request.set_field(&attr.field, Pv::Bool(true));
        }
    }
    let grouped = !query.group_by.is_empty() || !query.aggregates.is_empty();
    set_query(&mut request, &query);
    let response = ctx.call(method, request).await?;
    let structs = |name: &str| -> Vec<Map<String, Value>> {
        let Some(field) = response.descriptor().get_field_by_name(name) else { return Vec::new() };
        let values = response.get_field(&field);
        let values = values.as_list().unwrap_or_default();
        values
            .iter()
            .filter_map(|v| v.as_message()?.transcode_to::<prost_types::Struct>().ok())
            .map(paymesh_kit::json::from_struct)
            .collect()
    };
    if grouped {
        return Ok(list_reply(structs("groups").into_iter().map(Value::Object)));
    }
    let mut computed = structs("computed").into_iter();
    let hidden = non_default(ctx);
    Ok(list_reply(ctx.list(&response).into_iter().map(|item| match item {
        Value::Object(object) => Value::Object(projection.apply(object, computed.next(), &hidden)),
        other => other,
    })))
}

/// Any other operation: the body is the request; the answer is the
/// response's object, its list, or its file.
async fn custom(ctx: &Ctx<'_>, body: RequestBody) -> Reply {
    ctx.parent().await?;
    let method = ctx.op.calls.one.as_ref().ok_or_else(ApiError::internal)?;
    let object = match body.0 {
        None => Map::new(),
        Some(_) => match body.shape()? {
            Shape::Object(object) => object,
            Shape::List(_) => {
                return Err(ApiError::bad_request(format!("{} takes one object", ctx.route.path)));
            }
        },
    };
    let purpose = if ctx.op.body.is_some() { Purpose::Update { path_id: "" } } else { Purpose::Create };
    let mut object = object;
    strip_object(ctx, &mut object);
    let parsed = ctx.read(method, object, purpose).map_err(ApiError::invalid)?;
    if !parsed.kept.is_empty() {
        // A singleton sent back as read: compare with what is stored.
        let get = ctx.route.ops.iter().find(|o| o.verb == Verb::Custom && o.method == http::Method::GET);
        if let Some(get_method) = get.and_then(|o| o.calls.one.as_ref()) {
            let stored = ctx.call(get_method, ctx.request(get_method)).await?;
            let stored = ctx.primary(&stored).map(|m| ctx.render(&m)).unwrap_or_default();
            let problems = kept_problems(&parsed.kept, &stored);
            if !problems.is_empty() {
                return Err(ApiError::invalid(problems));
            }
        }
    }
    let mut request = parsed.message;
    set_message(&mut request, "google.protobuf.FieldMask", &prost_types::FieldMask { paths: parsed.mask });
    let response = ctx.call(method, request).await?;
    if ctx.op.download {
        return super::files::download(ctx, &response);
    }
    match primary(&ctx.state.surface, &response.descriptor()) {
        Some(field) if field.is_list() => Ok(list_reply(ctx.list(&response).into_iter())),
        _ => ctx.object(&response),
    }
}

/// A singleton's body may name its own `object` (sent back as read).
fn strip_object(ctx: &Ctx<'_>, object: &mut Object) {
    let resource = ctx.op.body.as_ref().and_then(|b| b.kind().as_message().cloned());
    let word = resource.and_then(|m| ctx.state.surface.resource(&m).map(|r| r.object.clone()));
    if word.is_some_and(|w| object.get("object").and_then(Value::as_str) == Some(w.as_str())) {
        object.remove("object");
    }
}

/// `{"object": "list", "values": […]}`.
pub(crate) fn list_reply(values: impl Iterator<Item = Value>) -> Response {
    Json(json!({"object": "list", "values": values.collect::<Vec<_>>()})).into_response()
}
