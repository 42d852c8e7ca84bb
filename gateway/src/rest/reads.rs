//! Reads, and every operation that is neither a read of a collection nor
//! a write of its objects: a body read into the RPC's whole request (a
//! singleton's settings, `/roll`, `/redeem`), the answer its response's
//! object, list or file.

use axum::{Json, response::IntoResponse};
use prost_reflect::{DynamicMessage, ReflectMessage as _, Value as Pv};
use serde_json::{Map, Value};

use super::{
    ctx::{Ctx, Reply, bind, equals, kept_problems, list_reply, non_default, set_message, set_query},
    read::{Object, Purpose},
    routes::primary,
    surface::Verb,
};
use crate::{
    body::{RequestBody, Shape},
    error::ApiError,
    query::{self, ListParams},
};

/// `GET /things/{id}`: the object, shaped by `fields`.
pub(crate) async fn get(ctx: &Ctx<'_>, raw: Option<String>) -> Reply {
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

/// `GET /things?…`: the objects the query language selects (narrowed to
/// a view's, or a nested path's parent's), or their groups.
pub(crate) async fn list(ctx: &Ctx<'_>, raw: Option<String>) -> Reply {
    let ListParams { mut query, projection, .. } = query::parse(raw.as_deref())?;
    ctx.parent().await?;
    let method = ctx.op.calls.one.as_ref().ok_or_else(ApiError::internal)?;
    let mut request = DynamicMessage::new(method.input());
    if let Some((attr, word)) =
        ctx.route.collection.as_ref().filter(|_| ctx.route.own).and_then(|c| c.filter.as_ref())
    {
        query.filters.push(equals(attr, &[word]));
    }
    // A nested path's id is a request field, or else a filter.
    if !bind(&mut request, ctx.op.bind.as_deref(), &ctx.id) && !ctx.id.is_empty() {
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
pub(crate) async fn custom(ctx: &Ctx<'_>, body: RequestBody) -> Reply {
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
        if let Some((get, get_method)) = get.and_then(|o| Some((o, o.calls.one.as_ref()?))) {
            let mut request = DynamicMessage::new(get_method.input());
            bind(&mut request, get.bind.as_deref(), &ctx.id);
            let stored = ctx.call(get_method, request).await?;
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
