//! # The transcoder: REST derived from the contracts
//!
//! A resource is described once, in its `.proto`; nothing about its
//! attributes is written here. The gateway reads the descriptor set the
//! proto crate builds and serves, for every RPC:
//!
//! - `google.api.http` (AIP-127): its method and path; `{…}` in the path
//!   binds the request field it names (or, on a list whose request has no
//!   such field, filters on that attribute); `body` names the request field
//!   the body fills (`*`: the request itself).
//! - `paymesh.rest.v1.method`: the RPCs that serve a list body or
//!   `?mode=query` on another RPC's route (`list_of`, `query_of`), an update
//!   that is really another operation (`update_when`), a file answer.
//! - `paymesh.rest.v1.resource` on a message: its collections (`/accounts`
//!   and its views `/customers`, `/processing_accounts`, each narrowed by a
//!   filter), its `object` word, its 404 and 405 sentences.
//! - `google.api.field_behavior` (AIP-203) and `paymesh.rest.v1.field` on
//!   fields: required, output only, input only, immutable; wire names,
//!   aliases, formats, conditions, non-default attributes; and
//!   `paymesh.rest.v1.words` / `word` on enums.
//!
//! To add an attribute, add the field with its annotations and teach the
//! service its logic; to add a resource, annotate its message and RPCs.
//!
//! Layout: [`surface`] reads the descriptors into plans, resources and
//! collections, `routes` groups the RPCs' rules into routes, `read` turns
//! bodies into messages, `render` messages into objects (and violation
//! paths into attribute names), `call` makes a gRPC call of any RPC,
//! `ctx` is what one request needs, `reads` and `writes` are the
//! operations, [`openapi`] describes it all. What
//! is truly special stays a named hook beside them: `files` (multipart
//! uploads and file downloads); a declined payment's transaction is any
//! error that names an object of its collection (`ops`); form bodies with
//! `[0]` indexes are the body reader's (`crate::body`).

mod call;
mod ctx;
mod files;
pub(crate) mod openapi;
pub mod read;
mod reads;
pub mod render;
pub mod routes;
pub mod surface;
mod writes;

use axum::{
    Extension, Router,
    extract::{DefaultBodyLimit, RawPathParams, RawQuery, Request, State},
    response::{IntoResponse, Response},
    routing::{MethodFilter, MethodRouter},
};
use ctx::{Ctx, Reply};
use http::Method;
use prost_reflect::Kind;
use surface::{Op, Route, Surface, Verb};

use crate::{auth::Caller, body::RequestBody, body::content_type, error::ApiError, state::AppState};

/// Every route of the surface, each method answered by its operation and
/// every other by a 405 that says what to do instead.
pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for (r, route) in state.surface.routes.iter().enumerate() {
        let mut methods = MethodRouter::new();
        for (o, op) in route.ops.iter().enumerate() {
            let Ok(filter) = MethodFilter::try_from(op.method.clone()) else { continue };
            methods = methods.on(
                filter,
                move |State(state): State<AppState>,
                      Extension(caller): Extension<Caller>,
                      params: RawPathParams,
                      RawQuery(raw): RawQuery,
                      request: Request| async move {
                    let id = params.iter().next().map(|(_, v)| v.to_owned()).unwrap_or_default();
                    handle(&state, &caller, r, o, id, raw, request)
                        .await
                        .unwrap_or_else(IntoResponse::into_response)
                },
            );
        }
        methods = methods.fallback(move |State(state): State<AppState>, method: Method| async move {
            refusal(&state.surface, &state.surface.routes[r], &method)
        });
        if route.ops.iter().any(takes_file) {
            // Multipart reads are bounded by axum's body limit.
            methods = methods.layer(DefaultBodyLimit::max(files::upload_limit(state.max_document_bytes)));
        }
        router = router.route(&route.path, methods);
    }
    router
}

/// Whether the operation's request carries a file (a bytes field).
fn takes_file(op: &Op) -> bool {
    op.calls.one.as_ref().is_some_and(|m| m.input().fields().any(|f| matches!(f.kind(), Kind::Bytes)))
}

async fn handle(
    state: &AppState,
    caller: &Caller,
    r: usize,
    o: usize,
    id: String,
    raw: Option<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let route = &state.surface.routes[r];
    let op = &route.ops[o];
    let text = matches!(
        content_type(&request).as_deref(),
        Some("application/x-www-form-urlencoded" | "multipart/form-data")
    );
    let body = if !takes_file(op) {
        RequestBody::read(request, state.config.max_body_bytes).await?
    } else if content_type(&request).as_deref() == Some("multipart/form-data") {
        files::multipart(request, state).await?
    } else {
        RequestBody::read(request, files::upload_limit(state.max_document_bytes)).await?
    };
    serve(Ctx { state, caller, route, op, id, text }, raw, body).await
}

/// Serves `ctx`'s operation.
async fn serve(ctx: Ctx<'_>, raw: Option<String>, body: RequestBody) -> Reply {
    match (ctx.op.verb, ctx.route.one) {
        (Verb::Get, _) => reads::get(&ctx, raw).await,
        (Verb::List, _) => reads::list(&ctx, raw).await,
        (Verb::Create, _) => writes::create(&ctx, body).await,
        (Verb::Update, true) => writes::update_one(&ctx, body).await,
        (Verb::Update | Verb::Delete, false)
            if ctx.route.own && ctx.id.is_empty() && ctx.op.calls.one.is_none() =>
        {
            writes::change_many(&ctx, raw, body).await
        }
        (Verb::Delete, true) => {
            let (collection, method) = (ctx.route.collection.as_ref(), ctx.op.calls.one.as_ref());
            let (Some(collection), Some(method)) = (collection, method) else {
                return Err(ApiError::internal());
            };
            ctx.fetch(collection, &ctx.id).await?;
            ctx.object(&ctx.call(method, ctx.request(method)).await?)
        }
        _ => reads::custom(&ctx, body).await,
    }
}

/// The 405 of a method `route` does not offer.
fn refusal(surface: &Surface, route: &Route, method: &Method) -> ApiError {
    let Some(c) = route.collection.as_ref().filter(|_| route.own) else {
        return ApiError::method_not_allowed(format!("{method} is not allowed on {}", route.path));
    };
    if let Some((_, why)) = c.refusals.iter().find(|(m, _)| m.as_ref().is_none_or(|m| m == method)) {
        return ApiError::method_not_allowed(why.clone());
    }
    let path = &c.path;
    let one = format!("{path}/{{id}}");
    let offers = surface
        .routes
        .iter()
        .find(|r| r.path == one)
        .is_some_and(|r| r.ops.iter().any(|o| o.method == method));
    let why = match (method.as_str(), route.one) {
        ("PUT" | "DELETE", false) if offers => {
            format!("{method} {path} takes one object at a time: {method} {path}/{{id}}{}", c.one_at_a_time)
        }
        ("POST", true) => format!("Create objects with POST {path}"),
        ("PUT", _) => "This resource cannot be updated".to_owned(),
        ("DELETE", _) => "This resource cannot be deleted".to_owned(),
        ("POST", false) => "These objects are created by paymesh, not through this endpoint".to_owned(),
        _ => format!("{method} is not allowed on {}", route.path),
    };
    ApiError::method_not_allowed(why)
}
