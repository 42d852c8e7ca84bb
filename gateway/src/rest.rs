//! The operations every REST collection shares, written once.
//!
//! A collection (`/customers`, `/legal_entities`, …) implements
//! [`Collection`]: how its objects render and parse, and which gRPC calls
//! serve each operation. [`routes`] then gives it the whole Payload
//! surface:
//!
//! | request                                   | operation                    |
//! |-------------------------------------------|------------------------------|
//! | `GET /things/{id}`                        | [`Collection::get`]          |
//! | `GET /things?…`                           | [`Collection::list`]         |
//! | `POST /things`, one object or a list      | [`Collection::create`]       |
//! | `PUT /things/{id}`, `PUT /things` list    | [`Collection::update`]       |
//! | `PUT /things?…&mode=query`                | [`Collection::update_by_query`] |
//! | `DELETE /things/{id}`, list of `{id}`     | [`Collection::delete`]       |
//! | `DELETE /things?…&mode=query`             | [`Collection::delete_by_query`] |
//!
//! Operations a collection does not offer answer 405 with a sentence
//! saying what to do instead. Read-only attributes sent back with an update
//! are accepted when they equal the stored values, so an object read can be
//! sent back changed.

use std::collections::HashMap;

use axum::{
    Extension, Json,
    extract::{Path, RawQuery, State},
    routing::get,
};
use paymesh_kit::{MAX_BATCH, auth::BoxFuture, json as attrs};
use paymesh_proto::common::v1::{Condition, FieldRef, Filter, ListQuery, Operator};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{
    AppState,
    auth::Caller,
    body::{RequestBody, Shape},
    error::ApiError,
    openapi::{Doc, Routes},
    query::{self, ListParams},
};

/// A REST reply.
pub(crate) type Reply = Result<Json<Value>, ApiError>;
/// A REST object.
pub(crate) type Object = Map<String, Value>;
/// The outcome of one gRPC operation.
pub(crate) type Call<'a, T> = BoxFuture<'a, Result<T, tonic::Status>>;

/// What a body is parsed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose<'a> {
    /// `POST`.
    Create,
    /// `PUT /things/{id}`.
    Update {
        /// The id in the path.
        path_id: &'a str,
    },
    /// An item of `PUT /things` with a list body.
    BatchUpdate,
    /// `PUT /things?…&mode=query`.
    UpdateByQuery,
}

impl Purpose<'_> {
    /// Whether an existing object is being updated by id (so read-only
    /// values may be sent back for comparison).
    pub(crate) fn updates_one(self) -> bool {
        matches!(self, Self::Update { .. } | Self::BatchUpdate)
    }

    /// Whether this creates an object.
    pub(crate) fn creates(self) -> bool {
        matches!(self, Self::Create)
    }
}

/// What a REST object asks for.
#[derive(Debug, Default)]
pub(crate) struct Parsed<M> {
    /// The message with the object's new values.
    pub(crate) message: M,
    /// The attributes to change (updates), as the service's update mask
    /// names them.
    pub(crate) mask: Vec<String>,
    /// Read-only attributes sent with an update, to compare with the stored
    /// values.
    pub(crate) read_only: Object,
}

/// The rows of a list: objects (with computed fields) or groups.
#[derive(Debug)]
pub(crate) struct Listed<T> {
    /// The objects.
    pub(crate) items: Vec<T>,
    /// Computed fields per object.
    pub(crate) computed: Vec<prost_types::Struct>,
    /// Groups, when the query grouped or aggregated.
    pub(crate) groups: Vec<prost_types::Struct>,
}

/// An operation a collection does not offer: 405 with what to do instead.
pub(crate) fn unsupported<'a, T: Send + 'a>(why: &'static str) -> Call<'a, T> {
    Box::pin(async move { Err(tonic::Status::unimplemented(why)) })
}

/// A message that carries its object's id (every resource message does).
pub(crate) trait HasId {
    /// The id, as sent.
    fn id(&self) -> &str;
    /// The id, to set.
    fn id_mut(&mut self) -> &mut String;
}

/// The messages REST objects travel as.
macro_rules! has_id {
    ($($message:ty),* $(,)?) => {$(
        impl HasId for $message {
            fn id(&self) -> &str {
                &self.id
            }

            fn id_mut(&mut self) -> &mut String {
                &mut self.id
            }
        }
    )*};
}

has_id!(
    paymesh_proto::identity::v1::Account,
    paymesh_proto::identity::v1::LegalEntity,
    paymesh_proto::identity::v1::Owner,
    paymesh_proto::identity::v1::Document,
    paymesh_proto::identity::v1::ApiKey,
    paymesh_proto::identity::v1::AccessToken,
    paymesh_proto::methods::v1::PaymentMethod,
    paymesh_proto::intents::v1::PaymentIntent,
    paymesh_proto::payments::v1::Transaction,
    paymesh_proto::payments::v1::TransactionLedger,
);

/// One REST collection and the gRPC calls behind it.
pub(crate) trait Collection: Clone + Send + Sync + 'static {
    /// The message an object travels as.
    type Item: HasId + Default + Send + 'static;

    /// The `object` value of its objects, e.g. `customer`.
    fn object(&self) -> &'static str;
    /// Its path, e.g. `/customers`.
    fn path(&self) -> &'static str;
    /// The field that names the object in the service's request messages
    /// (`account`): stripped from violation paths. Usually its object name.
    fn message_field(&self) -> &'static str {
        self.object()
    }
    /// The 404 of an object not found here.
    fn not_found(&self) -> ApiError;
    /// The message for an id no item of a batch names, e.g. "No such
    /// customer".
    fn no_such(&self) -> String {
        format!("No such {}", self.object().replace('_', " "))
    }
    /// The object as REST shows it.
    fn render(&self, item: Self::Item) -> Object;
    /// The message (and mask) a REST object asks for; problems per
    /// attribute.
    fn parse(&self, object: Object, purpose: Purpose<'_>) -> Result<Parsed<Self::Item>, Object>;
    /// The id of a message, as sent.
    fn id_of(&self, item: &Self::Item) -> String {
        item.id().to_owned()
    }
    /// Sets the id of a message (updates by path).
    fn set_id(&self, item: &mut Self::Item, id: String) {
        *item.id_mut() = id;
    }
    /// Filters the collection always applies (e.g. `type=customer`).
    fn fixed_filters(&self) -> Vec<Filter> {
        Vec::new()
    }
    /// Attributes a read shows only when `fields` names them (`*,ledger`):
    /// costly to fetch, or long. Writes answer them always: the object as
    /// written.
    fn non_default(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether an object read through the service belongs here.
    fn owns(&self, _item: &Self::Item) -> bool {
        true
    }
    /// Renames attributes in the details of a service's error to the REST
    /// spelling, where the two differ (a flat address).
    fn adjust_error(&self, error: ApiError) -> ApiError {
        error
    }

    /// One object.
    fn get<'a>(&'a self, state: &'a AppState, caller: &'a Caller, id: String) -> Call<'a, Self::Item>;
    /// Objects matching a query.
    fn list<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        query: ListQuery,
    ) -> Call<'a, Listed<Self::Item>>;
    /// Creates objects: one (`many` false), or a batch, all or none. A
    /// collection whose creation answers more than the object routes its own
    /// (see [`Offers::create`]).
    fn create<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        items: Vec<Self::Item>,
        many: bool,
    ) -> Call<'a, Vec<Self::Item>> {
        let _ = (state, caller, items, many);
        unsupported("Create these objects one at a time, through their own endpoint")
    }
    /// Updates objects by id with their masks: one, or a batch.
    fn update<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        items: Vec<(Self::Item, Vec<String>)>,
        many: bool,
    ) -> Call<'a, Vec<Self::Item>> {
        let _ = (state, caller, items, many);
        unsupported("This resource cannot be updated")
    }
    /// Applies one change to every object matching `filters`.
    fn update_by_query<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        filters: Vec<Filter>,
        change: (Self::Item, Vec<String>),
    ) -> Call<'a, Vec<Self::Item>> {
        let _ = (state, caller, filters, change);
        unsupported("Update the objects one by one (PUT on /{id})")
    }
    /// Deletes objects by id: one, or a batch.
    fn delete<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        ids: Vec<String>,
        many: bool,
    ) -> Call<'a, Vec<Self::Item>> {
        let _ = (state, caller, ids, many);
        unsupported("This resource cannot be deleted")
    }
    /// Deletes every object matching `filters`.
    fn delete_by_query<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        filters: Vec<Filter>,
    ) -> Call<'a, Vec<Self::Item>> {
        let _ = (state, caller, filters);
        unsupported("Delete the objects one by one (DELETE on /{id})")
    }
    /// Why a collection without lists takes one object at a time, said
    /// after the 405 that refuses a list (e.g. `. A payment … cannot be
    /// rolled back with the others …`); nothing by default.
    fn why_one_at_a_time(&self) -> &'static str {
        ""
    }
    /// What the collection offers besides reading: its routes and its
    /// description follow from it.
    fn offers(&self) -> Offers;
    /// Why `method` is not offered on the collection (`one`: on
    /// `/things/{id}`), for the 405 that answers it.
    fn refusal(&self, method: &http::Method, one: bool) -> String {
        let offers = self.offers();
        let path = self.path();
        match (method.as_str(), one) {
            ("PUT", false) if offers.update => {
                format!("PUT {path} takes one object at a time: PUT {path}/{{id}}")
            }
            ("DELETE", false) if offers.delete => {
                format!("DELETE {path} takes one object at a time: DELETE {path}/{{id}}")
            }
            ("POST", true) => format!("Create objects with POST {path}"),
            ("PUT", _) => "This resource cannot be updated".to_owned(),
            ("DELETE", _) => "This resource cannot be deleted".to_owned(),
            ("POST", false) => "These objects are created by paymesh, not through this endpoint".to_owned(),
            (other, _) => format!("{other} is not allowed on {path}"),
        }
    }
}

/// What a collection offers besides reading.
#[derive(Clone, Copy, Debug, Default)]
#[allow(clippy::struct_excessive_bools, reason = "four independent switches, each named")]
pub(crate) struct Offers {
    /// `POST /things` through the shared create (a collection whose
    /// creation answers more than the object routes its own).
    pub(crate) create: bool,
    /// `PUT /things/{id}`.
    pub(crate) update: bool,
    /// `DELETE /things/{id}`.
    pub(crate) delete: bool,
    /// Lists in the bodies of `POST`, `PUT` and `DELETE /things`, and
    /// `mode=query` updates and deletes.
    pub(crate) many: bool,
}

impl Offers {
    /// Reading only.
    pub(crate) const READ: Self = Self { create: false, update: false, delete: false, many: false };
    /// One object at a time: create, update, delete.
    pub(crate) const ONE: Self = Self { create: true, update: true, delete: true, many: false };
    /// Everything, in batches and by query too.
    pub(crate) const ALL: Self = Self { create: true, update: true, delete: true, many: true };
}

/// The whole surface of `collection`, documented: the operations it
/// offers, and a 405 with its reason for every other method.
pub(crate) fn routes<C: Collection>(collection: C) -> Routes {
    let (path, offers) = (collection.path(), collection.offers());
    let one_path = format!("{path}/{{id}}");
    let doc = Doc::of(&collection);
    let c = collection.clone();
    let mut base = get(move |state: State<AppState>, caller: Extension<Caller>, raw: RawQuery| {
        let c = c.clone();
        async move { list(&c, &state, &caller, raw.0).await }
    });
    let mut base_ops = vec![doc.list()];
    if offers.create {
        let c = collection.clone();
        base = base.post(move |state: State<AppState>, caller: Extension<Caller>, body: RequestBody| {
            let c = c.clone();
            async move { create(&c, &state, &caller, body).await }
        });
        base_ops.push(doc.create());
    }
    if offers.many && offers.update {
        let c = collection.clone();
        base = base.put(
            move |state: State<AppState>, caller: Extension<Caller>, raw: RawQuery, body: RequestBody| {
                let c = c.clone();
                async move { update_many(&c, &state, &caller, raw.0, body).await }
            },
        );
        base_ops.push(doc.update_many());
    }
    if offers.many && offers.delete {
        let c = collection.clone();
        base = base.delete(
            move |state: State<AppState>, caller: Extension<Caller>, raw: RawQuery, body: RequestBody| {
                let c = c.clone();
                async move { delete_many(&c, &state, &caller, raw.0, body).await }
            },
        );
        base_ops.push(doc.delete_many());
    }
    let c = collection.clone();
    let mut one = get(
        move |state: State<AppState>, caller: Extension<Caller>, Path(id): Path<String>, raw: RawQuery| {
            let c = c.clone();
            async move { get_one(&c, &state, &caller, id, raw.0).await }
        },
    );
    let mut one_ops = vec![doc.get()];
    if offers.update {
        let c = collection.clone();
        one = one.put(
            move |state: State<AppState>,
                  caller: Extension<Caller>,
                  Path(id): Path<String>,
                  body: RequestBody| {
                let c = c.clone();
                async move { update_one(&c, &state, &caller, id, body).await }
            },
        );
        one_ops.push(doc.update());
    }
    if offers.delete {
        let c = collection.clone();
        one = one.delete(move |state: State<AppState>, caller: Extension<Caller>, Path(id): Path<String>| {
            let c = c.clone();
            async move { delete_one(&c, &state, &caller, id).await }
        });
        one_ops.push(doc.delete());
    }
    Routes::new()
        .schema(&doc.name, doc.schema.clone())
        .route(path, base.fallback(refuse(collection.clone(), false)), base_ops)
        .route(&one_path, one.fallback(refuse(collection, true)), one_ops)
}

/// A 405 for a method `collection` does not offer.
pub(crate) fn refuse<C: Collection>(
    collection: C,
    one: bool,
) -> impl Fn(http::Method) -> std::future::Ready<ApiError> + Clone + Send + Sync + 'static {
    move |method: http::Method| {
        std::future::ready(ApiError::method_not_allowed(collection.refusal(&method, one)))
    }
}

/// A gRPC failure as a REST error of `collection`.
pub(crate) fn status<C: Collection>(collection: &C, error: &tonic::Status) -> ApiError {
    if error.code() == tonic::Code::Unimplemented {
        return ApiError::method_not_allowed(error.message());
    }
    collection.adjust_error(ApiError::from_status(error, collection.message_field()))
}

// === Handlers ===

/// `GET /things?…`, with the extra filters of a nested path.
pub(crate) async fn list_with<C: Collection>(
    collection: &C,
    state: &AppState,
    caller: &Caller,
    raw: Option<String>,
    extra: Vec<Filter>,
) -> Reply {
    let ListParams { mut query, projection, .. } = query::parse(raw.as_deref())?;
    query.filters.extend(collection.fixed_filters());
    query.filters.extend(extra);
    let grouped = !query.group_by.is_empty() || !query.aggregates.is_empty();
    let listed = collection.list(state, caller, query).await.map_err(|e| status(collection, &e))?;
    if grouped {
        return Ok(list_response(listed.groups.into_iter().map(|g| Value::Object(attrs::from_struct(g)))));
    }
    let mut computed = listed.computed.into_iter().map(attrs::from_struct);
    Ok(list_response(listed.items.into_iter().map(|item| {
        Value::Object(projection.apply(collection.render(item), computed.next(), collection.non_default()))
    })))
}

async fn list<C: Collection>(
    collection: &C,
    state: &AppState,
    caller: &Caller,
    raw: Option<String>,
) -> Reply {
    list_with(collection, state, caller, raw, Vec::new()).await
}

/// `GET /things/{id}`.
pub(crate) async fn get_one<C: Collection>(
    collection: &C,
    state: &AppState,
    caller: &Caller,
    id: String,
    raw: Option<String>,
) -> Reply {
    let params = query::parse(raw.as_deref())?;
    if params.query.fields.iter().any(|f| f.function != 0) || !params.query.aggregates.is_empty() {
        return Err(ApiError::invalid_field(
            "fields",
            format!(
                "Computed fields and aggregates are available on lists, e.g. GET {}?id=…&fields=…",
                collection.path()
            ),
        ));
    }
    let item = fetch(collection, state, caller, id).await?;
    Ok(Json(Value::Object(params.projection.apply(collection.render(item), None, collection.non_default()))))
}

/// `POST /things`: one object or a list, created through `collection`.
pub(crate) async fn create_with<C: Collection>(
    collection: &C,
    state: &AppState,
    caller: &Caller,
    body: RequestBody,
    prepare: impl Fn(Object) -> Object,
) -> Reply {
    match body.shape()? {
        Shape::Object(object) => {
            let Parsed { message, .. } =
                collection.parse(prepare(object), Purpose::Create).map_err(ApiError::invalid)?;
            let mut created = collection
                .create(state, caller, vec![message], false)
                .await
                .map_err(|e| status(collection, &e))?;
            object_reply(collection, created.pop())
        }
        Shape::List(values) => {
            no_batches(collection, "POST")?;
            let parsed = each_object(values, |object| collection.parse(prepare(object), Purpose::Create))?;
            let messages = parsed.into_iter().map(|p| p.message).collect();
            let created =
                collection.create(state, caller, messages, true).await.map_err(|e| status(collection, &e))?;
            Ok(list_reply(collection, created))
        }
    }
}

async fn create<C: Collection>(
    collection: &C,
    state: &AppState,
    caller: &Caller,
    body: RequestBody,
) -> Reply {
    create_with(collection, state, caller, body, |object| object).await
}

async fn update_one<C: Collection>(
    collection: &C,
    state: &AppState,
    caller: &Caller,
    id: String,
    body: RequestBody,
) -> Reply {
    let Shape::Object(object) = body.shape()? else {
        return Err(ApiError::bad_request(format!("PUT {}/{{id}} takes one object", collection.path())));
    };
    let Parsed { mut message, mask, read_only } =
        collection.parse(object, Purpose::Update { path_id: &id }).map_err(ApiError::invalid)?;
    // The object must be one of this collection's (e.g. a customer on
    // /customers), and read-only values sent back must not differ.
    let current = fetch(collection, state, caller, id.clone()).await?;
    let problems = read_only_problems(&read_only, &collection.render(current));
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    collection.set_id(&mut message, id);
    let mut updated = collection
        .update(state, caller, vec![(message, mask)], false)
        .await
        .map_err(|e| status(collection, &e))?;
    object_reply(collection, updated.pop())
}

async fn update_many<C: Collection>(
    collection: &C,
    state: &AppState,
    caller: &Caller,
    raw: Option<String>,
    body: RequestBody,
) -> Reply {
    let params = query::parse(raw.as_deref())?;
    let items = match (body.shape()?, params.mode_query) {
        (Shape::Object(object), true) => {
            let Parsed { message, mask, .. } =
                collection.parse(object, Purpose::UpdateByQuery).map_err(ApiError::invalid)?;
            if mask.is_empty() {
                return Err(ApiError::bad_request("Send at least one attribute to change"));
            }
            let filters = mutation_filters(collection, &params)?;
            collection.update_by_query(state, caller, filters, (message, mask)).await
        }
        (Shape::List(values), false) => {
            no_batches(collection, "PUT")?;
            let parsed = each_object(values, |object| collection.parse(object, Purpose::BatchUpdate))?;
            let ids: Vec<String> = parsed.iter().map(|p| collection.id_of(&p.message)).collect();
            let current = stored(collection, state, caller, &ids).await?;
            check_items(
                collection,
                parsed.iter().map(|p| (collection.id_of(&p.message), &p.read_only)),
                &current,
            )?;
            let changes = parsed.into_iter().map(|p| (p.message, p.mask)).collect();
            collection.update(state, caller, changes, true).await
        }
        (Shape::List(_), true) => {
            return Err(ApiError::bad_request("mode=query takes one object of changes, not a list"));
        }
        (Shape::Object(_), false) => return Err(many_hint(collection, "PUT")),
    };
    Ok(list_reply(collection, items.map_err(|e| status(collection, &e))?))
}

async fn delete_one<C: Collection>(collection: &C, state: &AppState, caller: &Caller, id: String) -> Reply {
    fetch(collection, state, caller, id.clone()).await?;
    let mut deleted =
        collection.delete(state, caller, vec![id], false).await.map_err(|e| status(collection, &e))?;
    object_reply(collection, deleted.pop())
}

async fn delete_many<C: Collection>(
    collection: &C,
    state: &AppState,
    caller: &Caller,
    raw: Option<String>,
    body: RequestBody,
) -> Reply {
    let params = query::parse(raw.as_deref())?;
    let items = match (body.0.is_some(), params.mode_query) {
        (false, true) => {
            let filters = mutation_filters(collection, &params)?;
            collection.delete_by_query(state, caller, filters).await
        }
        (true, false) => {
            let Shape::List(values) = body.shape()? else { return Err(many_hint(collection, "DELETE")) };
            no_batches(collection, "DELETE")?;
            let ids = each_object(values, |object| match object.get("id") {
                Some(Value::String(id)) => Ok(id.clone()),
                Some(_) => Err(one("id", "Must be a string")),
                None => Err(one("id", "Required")),
            })?;
            let current = stored(collection, state, caller, &ids).await?;
            let none = Map::new();
            check_items(collection, ids.iter().map(|id| (id.clone(), &none)), &current)?;
            collection.delete(state, caller, ids, true).await
        }
        (true, true) => return Err(ApiError::bad_request("mode=query takes no body")),
        (false, false) => return Err(many_hint(collection, "DELETE")),
    };
    Ok(list_reply(collection, items.map_err(|e| status(collection, &e))?))
}

// === Helpers ===

/// `{"object": "list", "values": […]}`.
pub(crate) fn list_response(values: impl Iterator<Item = Value>) -> Json<Value> {
    Json(json!({"object": "list", "values": values.collect::<Vec<_>>()}))
}

/// One object as the reply. A service that answers without the object has
/// broken its contract: that is an internal error, never an empty object.
pub(crate) fn object_reply<C: Collection>(collection: &C, item: Option<C::Item>) -> Reply {
    let item = item.ok_or_else(|| {
        tracing::error!(object = collection.object(), "a service answered without the object");
        ApiError::internal()
    })?;
    Ok(Json(Value::Object(collection.render(item))))
}

/// Objects as a list reply.
pub(crate) fn list_reply<C: Collection>(collection: &C, items: Vec<C::Item>) -> Json<Value> {
    list_response(items.into_iter().map(|item| Value::Object(collection.render(item))))
}

fn no_batches<C: Collection>(collection: &C, method: &str) -> Result<(), ApiError> {
    if collection.offers().many {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed(format!(
            "{method} {} takes one object at a time, not a list{}",
            collection.path(),
            collection.why_one_at_a_time()
        )))
    }
}

fn many_hint<C: Collection>(collection: &C, method: &str) -> ApiError {
    let (path, object) = (collection.path(), collection.object());
    ApiError::bad_request(format!(
        "{method} {path} acts on several objects: send {{\"object\": \"list\", \"values\": [ … ]}} with their ids, \
         or filter them with ?…&mode=query. For one {object}, use {path}/{{id}}"
    ))
}

/// A single-attribute problem.
pub(crate) fn one(field: &str, message: &str) -> Object {
    let mut map = Map::new();
    map.insert(field.to_owned(), Value::String(message.to_owned()));
    map
}

/// Applies `parse` to every item of a list body; problems are reported per
/// item, in Payload's list shape.
pub(crate) fn each_object<T>(
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

fn mutation_filters<C: Collection>(collection: &C, params: &ListParams) -> Result<Vec<Filter>, ApiError> {
    let mut filters = params.mutation_filters()?;
    filters.extend(collection.fixed_filters());
    Ok(filters)
}

/// The object `id`, which must belong to this collection.
pub(crate) async fn fetch<C: Collection>(
    collection: &C,
    state: &AppState,
    caller: &Caller,
    id: String,
) -> Result<C::Item, ApiError> {
    let item = collection.get(state, caller, id).await.map_err(|e| {
        if e.code() == tonic::Code::NotFound { collection.not_found() } else { status(collection, &e) }
    })?;
    if collection.owns(&item) { Ok(item) } else { Err(collection.not_found()) }
}

/// A filter `attr = value` (or any of several values).
pub(crate) fn equals(path: &[&str], values: &[&str]) -> Filter {
    Filter {
        field: Some(FieldRef { path: path.iter().map(|s| (*s).to_owned()).collect(), function: 0 }),
        any_of: values
            .iter()
            .map(|v| Condition { operator: Operator::Equal as i32, value: (*v).to_owned() })
            .collect(),
    }
}

/// The stored objects among `ids`, as this collection sees them, keyed by
/// id (parsed, so any spelling of a UUID finds its object).
async fn stored<C: Collection>(
    collection: &C,
    state: &AppState,
    caller: &Caller,
    ids: &[String],
) -> Result<HashMap<Uuid, Object>, ApiError> {
    let valid: Vec<&str> = ids.iter().map(String::as_str).filter(|id| Uuid::parse_str(id).is_ok()).collect();
    if valid.is_empty() {
        return Ok(HashMap::new());
    }
    let mut filters = vec![equals(&["id"], &valid)];
    filters.extend(collection.fixed_filters());
    // Batches are at most MAX_BATCH items, well within one page.
    let query = ListQuery { filters, limit: u32::try_from(valid.len()).unwrap_or(1), ..ListQuery::default() };
    let listed = collection.list(state, caller, query).await.map_err(|e| status(collection, &e))?;
    Ok(listed
        .items
        .into_iter()
        .filter(|item| collection.owns(item))
        .filter_map(|item| Some((Uuid::parse_str(&collection.id_of(&item)).ok()?, collection.render(item))))
        .collect())
}

/// Checks each item of a batch against what is stored: the id must name an
/// object of this collection, and read-only values sent must equal the
/// stored ones.
fn check_items<'a, C: Collection>(
    collection: &C,
    items: impl Iterator<Item = (String, &'a Object)>,
    current: &HashMap<Uuid, Object>,
) -> Result<(), ApiError> {
    let problems: Vec<Object> = items
        .map(|(id, read_only)| match Uuid::parse_str(&id).ok().and_then(|id| current.get(&id)) {
            Some(stored) => read_only_problems(read_only, stored),
            None => one("id", &collection.no_such()),
        })
        .collect();
    if problems.iter().all(Map::is_empty) { Ok(()) } else { Err(ApiError::invalid_items(problems)) }
}

/// Read-only attributes sent with an update are accepted when they equal
/// the stored values (an object from a GET can be sent back), and refused
/// when they differ.
/// Keys are dotted paths into the object (`processing.status`); problems
/// come back nested the same way.
pub(crate) fn read_only_problems(read_only: &Object, stored: &Object) -> Object {
    let lookup = |path: &str| {
        let mut parts = path.split('.');
        let first = stored.get(parts.next()?)?;
        parts.try_fold(first, |value, part| value.get(part))
    };
    let flat: Object = read_only
        .iter()
        .filter(|(key, value)| lookup(key) != Some(*value))
        .map(|(key, _)| {
            let why = if key == "type" { "Cannot be changed" } else { "Read-only attribute" };
            (key.clone(), Value::String(why.to_owned()))
        })
        .collect();
    crate::fields::nest(flat)
}

/// A timestamp as RFC 3339 in UTC (`2026-11-21T19:27:00.123456Z`), or null.
pub(crate) fn timestamp(at: Option<prost_types::Timestamp>) -> Value {
    at.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map_or(Value::Null, |t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
}

/// A plain string as REST shows it: empty is null.
pub(crate) fn text_or_null(s: String) -> Value {
    if s.is_empty() { Value::Null } else { Value::String(s) }
}

/// Custom attributes as REST shows them.
pub(crate) fn attrs_json(custom: Option<prost_types::Struct>) -> Value {
    Value::Object(custom.map(attrs::from_struct).unwrap_or_default())
}

/// A JSON object from a `json!` object literal.
pub(crate) fn object(value: Value) -> Object {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

// === Writes over a service's RPCs ===
//
// Most collections write through the same shape of RPCs: `Create…` and
// `BatchCreate…`, `Update…`, `BatchUpdate…` and `Update…ByQuery`,
// `Delete…`, `BatchDelete…` and `Delete…ByQuery`, each request carrying
// the object in one field and each response the objects in another.
// These macros write the [`Collection`] methods that call them, inside
// the collection's `impl Collection`.

/// `Collection::create` over `Create…` (one) and `BatchCreate…` (a list).
macro_rules! grpc_create {
    (
        client: $client:ident, item: $item:ty, field: $field:ident, plural: $plural:ident,
        one: $one:ident($pb_one_request:ident :: $one_request:ident), many: $many:ident($pb_many_request:ident :: $many_request:ident) $(,)?
    ) => {
        fn create<'a>(
            &'a self,
            state: &'a AppState,
            caller: &'a Caller,
            items: Vec<$item>,
            many: bool,
        ) -> Call<'a, Vec<$item>> {
            Box::pin(async move {
                let mut client = state.$client.clone();
                let mut requests: Vec<_> = items
                    .into_iter()
                    .map(|item| $pb_one_request::$one_request { $field: Some(item) })
                    .collect();
                if many {
                    Ok(client
                        .$many(caller.grpc($pb_many_request::$many_request { requests }))
                        .await?
                        .into_inner()
                        .$plural)
                } else {
                    let request = caller.grpc(requests.pop().unwrap_or_default());
                    Ok(client.$one(request).await?.into_inner().$field.into_iter().collect())
                }
            })
        }
    };
}

/// `Collection::update` over `Update…` and `BatchUpdate…`, and
/// `Collection::update_by_query` over `Update…ByQuery`.
macro_rules! grpc_update {
    (
        client: $client:ident, item: $item:ty, field: $field:ident, plural: $plural:ident,
        one: $one:ident($pb_one_request:ident :: $one_request:ident), many: $many:ident($pb_many_request:ident :: $many_request:ident),
        query: $query:ident($pb_query_request:ident :: $query_request:ident) $(,)?
    ) => {
        fn update<'a>(
            &'a self,
            state: &'a AppState,
            caller: &'a Caller,
            items: Vec<($item, Vec<String>)>,
            many: bool,
        ) -> Call<'a, Vec<$item>> {
            Box::pin(async move {
                let mut client = state.$client.clone();
                let mut requests: Vec<_> = items
                    .into_iter()
                    .map(|(item, paths)| $pb_one_request::$one_request {
                        $field: Some(item),
                        update_mask: Some(prost_types::FieldMask { paths }),
                    })
                    .collect();
                if many {
                    Ok(client
                        .$many(caller.grpc($pb_many_request::$many_request { requests }))
                        .await?
                        .into_inner()
                        .$plural)
                } else {
                    let request = caller.grpc(requests.pop().unwrap_or_default());
                    Ok(client.$one(request).await?.into_inner().$field.into_iter().collect())
                }
            })
        }

        fn update_by_query<'a>(
            &'a self,
            state: &'a AppState,
            caller: &'a Caller,
            filters: Vec<paymesh_proto::common::v1::Filter>,
            (item, paths): ($item, Vec<String>),
        ) -> Call<'a, Vec<$item>> {
            Box::pin(async move {
                let request = caller.grpc($pb_query_request::$query_request {
                    filters,
                    $field: Some(item),
                    update_mask: Some(prost_types::FieldMask { paths }),
                });
                Ok(state.$client.clone().$query(request).await?.into_inner().$plural)
            })
        }
    };
}

/// `Collection::delete` over `Delete…` and `BatchDelete…`, and
/// `Collection::delete_by_query` over `Delete…ByQuery` (or the RPCs that
/// stand for deleting, such as cancelling).
macro_rules! grpc_delete {
    (
        client: $client:ident, item: $item:ty, field: $field:ident, plural: $plural:ident,
        one: $one:ident($pb_one_request:ident :: $one_request:ident), many: $many:ident($pb_many_request:ident :: $many_request:ident),
        query: $query:ident($pb_query_request:ident :: $query_request:ident) $(,)?
    ) => {
        fn delete<'a>(
            &'a self,
            state: &'a AppState,
            caller: &'a Caller,
            mut ids: Vec<String>,
            many: bool,
        ) -> Call<'a, Vec<$item>> {
            Box::pin(async move {
                let mut client = state.$client.clone();
                if many {
                    Ok(client
                        .$many(caller.grpc($pb_many_request::$many_request { ids }))
                        .await?
                        .into_inner()
                        .$plural)
                } else {
                    let request =
                        caller.grpc($pb_one_request::$one_request { id: ids.pop().unwrap_or_default() });
                    Ok(client.$one(request).await?.into_inner().$field.into_iter().collect())
                }
            })
        }

        fn delete_by_query<'a>(
            &'a self,
            state: &'a AppState,
            caller: &'a Caller,
            filters: Vec<paymesh_proto::common::v1::Filter>,
        ) -> Call<'a, Vec<$item>> {
            Box::pin(async move {
                let request = caller.grpc($pb_query_request::$query_request { filters });
                Ok(state.$client.clone().$query(request).await?.into_inner().$plural)
            })
        }
    };
}

pub(crate) use {grpc_create, grpc_delete, grpc_update};
