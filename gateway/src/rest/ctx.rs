//! What one REST request on one route needs ([`Ctx`]): its RPCs called
//! with failures named as REST names them, objects fetched from their
//! collection, bodies read into request messages, responses rendered —
//! and the small helpers the operations (`reads`, `writes`) share.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use paymesh_proto::common::v1::{Condition, FieldRef, Filter, ListQuery, Operator};
use prost_reflect::{DynamicMessage, Kind, MethodDescriptor, ReflectMessage as _, Value as Pv};
use serde_json::{Value, json};
use tonic_types::StatusExt as _;

use super::{
    read::{Kept, Object, Parsed, Purpose, parse},
    render::{place, render},
    routes::{field_of_type, primary},
    surface::{Collection, Op, Route, Verb},
};
use crate::{auth::Caller, error::ApiError, state::AppState};

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
    /// Whether the body came as form fields, whose numbers and booleans
    /// arrive as text (in JSON they must be numbers and booleans).
    pub(crate) text: bool,
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
        if response.fields().any(|(f, _)| f != field) {
            let mut rest = response.clone();
            rest.clear_field(&field);
            for (key, value) in render(surface, &rest, None) {
                if !(key == field.name() && value.is_null()) {
                    out.insert(key, value);
                }
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
            let mut parsed = parse(surface, &input, object, (purpose, self.text), None)?;
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
            parse(surface, &resource, object, (purpose, self.text), collection),
            parse(surface, &input, beside, (Purpose::Create, self.text), None),
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

/// `{"object": "list", "values": […]}`.
pub(crate) fn list_reply(values: impl Iterator<Item = Value>) -> Response {
    Json(json!({"object": "list", "values": values.collect::<Vec<_>>()})).into_response()
}
