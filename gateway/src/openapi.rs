//! The OpenAPI 3.1 description of the REST surface, built with the routes.
//!
//! Routes are added only through [`Routes::route`], which takes the axum
//! handlers of a path together with the [`Operation`]s that document them,
//! so a route cannot exist without its description. Object schemas are
//! inferred from what the resources' own renderers produce: the objects
//! the gateway answered to a walk through the API (`examples.json`) give
//! the attributes' types and which may be null, and the rendering of an
//! empty message adds any attribute they do not show (see [`infer`]). `GET /openapi.json` serves the result and
//! `GET /docs` a page generated from it.

use std::collections::BTreeMap;

use axum::{Router, routing::MethodRouter};
use http::Method;
use serde_json::{Map, Value, json};

use crate::{
    AppState,
    error::ApiError,
    rest::{Collection, Purpose},
};

mod examples;

/// The statuses every operation may answer with an error object, beyond its
/// own success.
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

/// The routes of (part of) the surface, with their description.
#[derive(Default)]
pub(crate) struct Routes {
    router: Router<AppState>,
    paths: BTreeMap<String, BTreeMap<String, Value>>,
    schemas: BTreeMap<String, Value>,
}

impl Routes {
    /// No routes yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Serves `path` with `handlers`, described by `operations` (one per
    /// method the handlers answer).
    pub(crate) fn route(
        mut self,
        path: &str,
        handlers: MethodRouter<AppState>,
        operations: impl IntoIterator<Item = Operation>,
    ) -> Self {
        let documented = self.paths.entry(path.to_owned()).or_default();
        for operation in operations {
            let method = operation.method.as_str().to_ascii_lowercase();
            documented.insert(method, operation.document(path));
        }
        self.router = self.router.route(path, handlers);
        self
    }

    /// Adds a named schema (`#/components/schemas/{name}`).
    pub(crate) fn schema(mut self, name: &str, schema: Value) -> Self {
        self.schemas.insert(name.to_owned(), schema);
        self
    }

    /// Adds the routes of `other`.
    pub(crate) fn merge(mut self, other: Routes) -> Self {
        for (path, operations) in other.paths {
            self.paths.entry(path).or_default().extend(operations);
        }
        self.schemas.extend(other.schemas);
        self.router = self.router.merge(other.router);
        self
    }

    /// Applies `f` to the router (layers for every route so far).
    pub(crate) fn map_router(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }

    /// The router and the OpenAPI document.
    pub(crate) fn finish(self) -> (Router<AppState>, Value) {
        let spec = json!({
            "openapi": "3.1.0",
            "info": {
                "title": "paymesh",
                "version": env!("CARGO_PKG_VERSION"),
                "description": INTRO,
            },
            "servers": [{"url": "/"}],
            "security": [{"basic": []}, {"bearer": []}],
            "paths": self.paths,
            "components": {
                "securitySchemes": {
                    "basic": {
                        "type": "http",
                        "scheme": "basic",
                        "description": "The API key as the user name, no password (`curl -u KEY:`)",
                    },
                    "bearer": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "An API key or an access token",
                    },
                },
                "schemas": self.schemas,
                "responses": {"Error": {
                    "description": "An error object",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }},
            },
        });
        (self.router, spec)
    }
}

const INTRO: &str = "The paymesh REST API, in the Payload wire format: objects carry `id`, `object`, \
`created_at`, `modified_at` and `attrs`; lists are `{\"object\": \"list\", \"values\": […]}`; errors \
are `{\"object\": \"error\", \"error_type\", \"description\", \"details\"}`. Authenticate with an API \
key as the Basic user name. Test keys see test mode only, live keys live mode only; another \
partner's objects, and the other mode's, answer 404. Bodies are JSON or forms \
(`payer[id]=…`). Lists take any attribute as a filter (`amount=>50`, `status=processed|voided`, \
`attrs[plan]=gold`) beside `limit`, `offset`, `order_by`, `fields` and `group_by`.";

/// One documented operation.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    method: Method,
    id: String,
    summary: String,
    description: Option<String>,
    tag: Option<String>,
    parameters: Vec<Value>,
    body: Option<Value>,
    reply: Value,
    public: bool,
}

impl Operation {
    /// An operation of `method`, named `id` (its `operationId`), with a
    /// one-line summary.
    pub(crate) fn new(method: Method, id: impl Into<String>, summary: impl Into<String>) -> Self {
        Self {
            method,
            id: id.into(),
            summary: summary.into(),
            description: None,
            tag: None,
            parameters: Vec::new(),
            body: None,
            reply: json!({"description": "OK"}),
            public: false,
        }
    }

    /// Renames the operation (`operationId`).
    pub(crate) fn named(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// The longer description.
    pub(crate) fn describe(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// The group the operation is listed under (the path's first segment
    /// unless set).
    pub(crate) fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Adds query parameters.
    pub(crate) fn query(mut self, parameters: impl IntoIterator<Item = Value>) -> Self {
        self.parameters.extend(parameters);
        self
    }

    /// A JSON or form body of `schema`, with an example.
    pub(crate) fn body(mut self, schema: Value, example: Option<Value>) -> Self {
        let mut json = json!({"schema": schema});
        if let Some(example) = example {
            json["example"] = example;
        }
        self.body = Some(json!({
            "required": true,
            "content": {
                "application/json": json,
                "application/x-www-form-urlencoded": {"schema": schema},
            },
        }));
        self
    }

    /// A JSON body that may be left out.
    pub(crate) fn optional_body(mut self, schema: Value) -> Self {
        self.body = Some(json!({"required": false, "content": {"application/json": {"schema": schema}}}));
        self
    }

    /// A body of another content type (besides those given already).
    pub(crate) fn body_of(mut self, media: &str, schema: Value) -> Self {
        let body = self.body.get_or_insert_with(|| json!({"required": true, "content": {}}));
        body["content"][media] = json!({"schema": schema});
        self
    }

    /// Answers JSON of `schema`.
    pub(crate) fn reply(self, schema: Value) -> Self {
        self.reply_of("application/json", schema)
    }

    /// Answers `media` of `schema`.
    pub(crate) fn reply_of(mut self, media: &str, schema: Value) -> Self {
        self.reply = json!({"description": "OK", "content": {media: {"schema": schema}}});
        self
    }

    /// Needs no key (health, the description itself).
    pub(crate) fn public(mut self) -> Self {
        self.public = true;
        self
    }

    /// The OpenAPI operation object at `path`.
    fn document(self, path: &str) -> Value {
        let mut parameters: Vec<Value> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| {
                json!({
                    "name": name, "in": "path", "required": true,
                    "schema": {"type": "string"},
                    "description": "The object's id",
                })
            })
            .collect();
        parameters.extend(self.parameters);
        let tag = self.tag.unwrap_or_else(|| path.split('/').nth(1).unwrap_or("").to_owned());
        let mut responses = Map::new();
        responses.insert("200".to_owned(), self.reply);
        if !self.public {
            for (code, why) in ERRORS {
                responses.insert(
                    code.to_string(),
                    json!({"$ref": "#/components/responses/Error", "description": why}),
                );
            }
        }
        let mut operation = json!({
            "operationId": self.id,
            "summary": self.summary,
            "tags": [tag],
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(description) = self.description {
            operation["description"] = Value::String(description);
        }
        if let Some(body) = self.body {
            operation["requestBody"] = body;
        }
        if self.public {
            operation["security"] = json!([]);
        }
        operation
    }
}

/// A query parameter.
pub(crate) fn param(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "schema": schema, "description": description})
}

/// The parameters of a list: paging, ordering, selection, grouping and
/// filters on any attribute.
pub(crate) fn list_params() -> Vec<Value> {
    vec![
        param("limit", json!({"type": "integer", "minimum": 0}), "At most this many objects (default 10)"),
        param("offset", json!({"type": "integer", "minimum": 0}), "Skip this many objects"),
        param(
            "order_by",
            json!({"type": "string"}),
            "Attributes to order by, `desc(created_at)` for descending, comma-separated",
        ),
        param(
            "fields",
            json!({"type": "string"}),
            "The attributes to answer (`id,amount`, `*,ledger`), or computed ones (`sum(amount)`)",
        ),
        param("group_by", json!({"type": "string"}), "Attributes to group aggregates by"),
        filters(),
    ]
}

/// Filters on any attribute, e.g. `amount=>50&status=processed|voided`.
pub(crate) fn filters() -> Value {
    json!({
        "name": "filters",
        "in": "query",
        "style": "form",
        "explode": true,
        "schema": {"type": "object", "additionalProperties": {"type": "string"}},
        "description": "Any attribute as a filter: `=`, `!`, `>`, `<`, `>=`, `<=`, `?*like*`, `a|b`; \
            nested ones as `attrs[plan]`",
    })
}

/// `mode=query`: act on every object the filters match.
pub(crate) fn mode_param() -> Value {
    param(
        "mode",
        json!({"type": "string", "enum": ["query"]}),
        "`query` to act on every object the filters match (at least one filter)",
    )
}

/// A reference to a named schema.
pub(crate) fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// `{"object": "list", "values": [ … ]}` of `item`.
pub(crate) fn list_of(item: Value) -> Value {
    json!({
        "type": "object",
        "required": ["object", "values"],
        "properties": {
            "object": {"const": "list"},
            "values": {"type": "array", "items": item},
        },
    })
}

/// A body of one object or a list of them.
pub(crate) fn one_or_list(item: Value) -> Value {
    json!({"anyOf": [
        item,
        {
            "type": "object",
            "properties": {"object": {"const": "list"}, "values": {"type": "array", "items": item}},
            "required": ["values"],
        },
    ]})
}

// === Collections ===

/// The description of a [`Collection`]'s operations.
pub(crate) struct Doc {
    /// The schema's name: the `object` of its objects.
    pub(crate) name: String,
    /// The object's schema.
    pub(crate) schema: Value,
    /// The schema of a create or update body: the attributes that are not
    /// read-only, and the inputs the example body shows.
    body: Value,
    create_example: Option<Value>,
    path: &'static str,
    plural: String,
    singular: String,
    many: bool,
}

impl Doc {
    /// Describes `collection`: its schema from what it renders.
    pub(crate) fn of<C: Collection>(collection: &C) -> Self {
        let (objects, create_example) = examples::of(collection.path());
        // The examples give the types; an attribute none of them shows is
        // still described, as an empty message renders it, and one an empty
        // message renders as null may be null.
        let empty = collection.render(C::Item::default());
        let mut schema = infer(objects.iter());
        if let Some(Value::Object(properties)) = schema.get_mut("properties") {
            for (key, value) in empty {
                let property = properties.entry(key).or_insert_with(|| infer([&value]));
                if value.is_null() {
                    nullable(property);
                }
            }
        } else {
            schema = infer([&Value::Object(empty)]);
        }
        // What a create refuses as read-only, of an object as read.
        let read_only: Vec<String> = objects
            .iter()
            .filter_map(|o| o.as_object().cloned())
            .filter_map(|o| collection.parse(o, Purpose::Create).err())
            .flat_map(|problems| {
                problems.into_iter().filter(|(_, why)| why == "Read-only attribute").map(|(key, _)| key)
            })
            .collect();
        let mut body = Map::new();
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (key, property) in properties {
                if !read_only.contains(key) && key != "object" {
                    body.insert(key.clone(), property.clone());
                }
            }
        }
        if let Some(Value::Object(example)) = &create_example {
            for (key, value) in example {
                body.entry(key.clone()).or_insert_with(|| infer([value]));
            }
        }
        if let Some(Value::Object(properties)) = schema.get_mut("properties") {
            for key in collection.non_default() {
                if let Some(Value::Object(property)) = properties.get_mut(*key) {
                    property.insert(
                        "description".to_owned(),
                        json!(format!(
                            "Non-default: reads show it when `fields` names it (`fields=*,{key}`); \
                             writes answer it always"
                        )),
                    );
                }
            }
        }
        let path = collection.path();
        let object = collection.object();
        Self {
            name: object.to_owned(),
            body: json!({"type": "object", "properties": body}),
            schema,
            create_example,
            path,
            plural: path.trim_start_matches('/').replace('_', " "),
            singular: object.replace('_', " "),
            many: collection.offers().many,
        }
    }

    fn object(&self) -> Value {
        schema_ref(&self.name)
    }

    /// The schema of a create or update body.
    pub(crate) fn body(&self) -> Value {
        self.body.clone()
    }

    fn id(&self, verb: &str, many: bool) -> String {
        let noun = if many { self.path.trim_start_matches('/') } else { &self.name };
        format!("{verb}_{noun}")
    }

    /// `GET /things`.
    pub(crate) fn list(&self) -> Operation {
        Operation::new(Method::GET, self.id("list", true), format!("List {}", self.plural))
            .describe(
                "Objects matching the filters, newest first unless ordered. With `group_by` or an \
                 aggregate in `fields`, the values are the groups: the grouped attributes and the \
                 aggregates (`sum(amount)`).",
            )
            .query(list_params())
            .reply(list_of(self.object()))
    }

    /// `POST /things`.
    pub(crate) fn create(&self) -> Operation {
        let body = if self.many { one_or_list(self.body.clone()) } else { self.body.clone() };
        let reply =
            if self.many { json!({"anyOf": [self.object(), list_of(self.object())]}) } else { self.object() };
        Operation::new(Method::POST, self.id("create", false), format!("Create a {}", self.singular))
            .describe(if self.many {
                "One object, or a list of them created all or none. An `Idempotency-Key` header makes \
                 a retry answer the first result."
            } else {
                "An `Idempotency-Key` header makes a retry answer the first result."
            })
            .body(body, self.create_example.clone())
            .reply(reply)
    }

    /// `PUT /things`: a list by id, or one change to every match.
    pub(crate) fn update_many(&self) -> Operation {
        Operation::new(Method::PUT, self.id("update", true), format!("Update several {}", self.plural))
            .describe(
                "A list of objects with their ids, all or none; or, with `mode=query`, one object of \
                 changes applied to every object the filters match.",
            )
            .query([mode_param(), filters()])
            .body(one_or_list(self.body.clone()), None)
            .reply(list_of(self.object()))
    }

    /// `DELETE /things`: a list of ids, or every match.
    pub(crate) fn delete_many(&self) -> Operation {
        let ids = json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]});
        Operation::new(Method::DELETE, self.id("delete", true), format!("Delete several {}", self.plural))
            .describe("A list of `{\"id\": …}`, all or none; or, with `mode=query` and no body, every object the filters match.")
            .query([mode_param(), filters()])
            .reply(list_of(self.object()))
            .optional_body(list_of(ids))
    }

    /// `GET /things/{id}`.
    pub(crate) fn get(&self) -> Operation {
        Operation::new(Method::GET, self.id("get", false), format!("Get a {}", self.singular))
            .query([param("fields", json!({"type": "string"}), "The attributes to answer (`*,ledger`)")])
            .reply(self.object())
    }

    /// `PUT /things/{id}`.
    pub(crate) fn update(&self) -> Operation {
        Operation::new(Method::PUT, self.id("update", false), format!("Update a {}", self.singular))
            .describe(
                "The attributes to change. Read-only attributes may be sent back as read; a \
                 different value is refused.",
            )
            .body(self.body.clone(), None)
            .reply(self.object())
    }

    /// `DELETE /things/{id}`.
    pub(crate) fn delete(&self) -> Operation {
        Operation::new(Method::DELETE, self.id("delete", false), format!("Delete a {}", self.singular))
            .reply(self.object())
    }
}

/// Lets `schema` be null too.
fn nullable(schema: &mut Value) {
    let types = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        // No type: anything, null included.
        _ => return,
    };
    if !types.iter().any(|t| t == "null") {
        let mut types = types;
        types.push("null".to_owned());
        types.sort_unstable();
        schema["type"] = json!(types);
    }
}

/// The schema named `name` that no collection renders, from its samples.
pub(crate) fn inferred(name: &str) -> Value {
    infer(examples::samples(name).iter())
}

/// The error object.
pub(crate) fn error_schema() -> Value {
    let samples = [
        ApiError::invalid_field("amount", "Must be a number").body(),
        ApiError::not_found("No such customer").body(),
    ];
    let mut schema = infer(samples.iter());
    schema["required"] = json!(["object", "error_type", "description"]);
    schema["properties"]["details"] = json!({
        "type": "object",
        "description": "What is wrong with each attribute, nested as the body is; for a list body \
            `{\"object\": \"list\", \"values\": [{…}, …]}` with one entry per item",
    });
    schema["properties"]["error_type"]["description"] = json!(
        "The class of error, named as the official SDKs' exceptions: `InvalidAttributes`, `NotFound`, …"
    );
    schema
}

// === Schemas inferred from renderings ===

/// The schema of the JSON values `samples`: the union of what they show.
/// Objects list every attribute any sample has; a null sample makes an
/// attribute nullable; arrays take the items of every sample; strings that
/// are RFC 3339 instants are `date-time`. Attributes are not required (a
/// `fields=` selection answers some of them), and more are allowed.
pub(crate) fn infer<'a>(samples: impl IntoIterator<Item = &'a Value>) -> Value {
    infer_from(&samples.into_iter().collect::<Vec<_>>())
}

fn infer_from(samples: &[&Value]) -> Value {
    let mut types: Vec<&str> = Vec::new();
    let mut add = |t: &'static str| {
        if !types.contains(&t) {
            types.push(t);
        }
    };
    let (mut objects, mut items, mut strings) = (Vec::new(), Vec::new(), Vec::new());
    for sample in samples {
        match sample {
            Value::Null => add("null"),
            Value::Bool(_) => add("boolean"),
            Value::Number(_) => add("number"),
            Value::String(s) => {
                add("string");
                strings.push(s.as_str());
            }
            Value::Array(values) => {
                add("array");
                items.extend(values.iter());
            }
            Value::Object(map) => {
                add("object");
                objects.push(map);
            }
        }
    }
    // Only nulls seen (or nothing): the type is not known, so anything goes.
    if types.is_empty() || types == ["null"] {
        return json!({});
    }
    types.sort_unstable();
    let mut schema = Map::new();
    schema.insert("type".to_owned(), if let [only] = types[..] { json!(only) } else { json!(types) });
    if !strings.is_empty() && strings.iter().all(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()) {
        schema.insert("format".to_owned(), json!("date-time"));
    }
    if types.contains(&"array") {
        schema.insert("items".to_owned(), infer_from(&items));
    }
    if types.contains(&"object") {
        let mut keys: Vec<&String> = Vec::new();
        for map in &objects {
            for key in map.keys() {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        let properties: Map<String, Value> = keys
            .into_iter()
            .map(|key| {
                // Custom attributes are free-form.
                let property = if key == "attrs" {
                    json!({"type": ["null", "object"], "description": "Custom attributes, any JSON"})
                } else {
                    // A sample without the key says nothing of its type.
                    infer_from(&objects.iter().filter_map(|map| map.get(key)).collect::<Vec<_>>())
                };
                (key.clone(), property)
            })
            .collect();
        schema.insert("properties".to_owned(), Value::Object(properties));
    }
    Value::Object(schema)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::resources::{
        access_tokens::AccessTokens,
        accounts::Flavor,
        api_keys::ApiKeys,
        documents::Documents,
        legal_entities::{LegalEntities, Owners},
        payment_intents::PaymentIntents,
        payment_methods::PaymentMethods,
        transactions::{TransactionLedgers, Transactions},
    };

    /// A collection's path, the attributes it renders, and whether an
    /// example body creates one.
    struct Checked {
        keys: Vec<String>,
        creates: Box<dyn Fn(Value) -> Result<(), Value>>,
    }

    fn checked<C: Collection>(collection: C) -> (&'static str, Checked) {
        checked_with(collection, C::Item::default())
    }

    /// `collection`, whose objects render as `empty` does.
    fn checked_with<C: Collection>(collection: C, empty: C::Item) -> (&'static str, Checked) {
        let keys = collection.render(empty).keys().cloned().collect();
        let path = collection.path();
        let creates = Box::new(move |body: Value| {
            let Value::Object(mut body) = body else { return Err(json!("not an object")) };
            // A document's file travels beside its attributes.
            body.remove("content");
            collection.parse(body, Purpose::Create).map(drop).map_err(Value::Object)
        });
        (path, Checked { keys, creates })
    }

    fn collections() -> HashMap<&'static str, Checked> {
        HashMap::from([
            checked(Flavor::Accounts),
            checked(Flavor::Customers),
            checked_with(
                Flavor::ProcessingAccounts,
                paymesh_proto::identity::v1::Account {
                    r#type: paymesh_proto::identity::v1::AccountType::Processing.into(),
                    processing: Some(paymesh_proto::identity::v1::Processing::default()),
                    ..Default::default()
                },
            ),
            checked(LegalEntities),
            checked(Owners),
            checked(Documents),
            checked(ApiKeys),
            checked(AccessTokens),
            checked(PaymentMethods),
            checked(PaymentIntents),
            checked(Transactions),
            checked(TransactionLedgers),
        ])
    }

    #[test]
    fn examples_show_everything_the_resources_render() {
        let collections = collections();
        let examples = examples::objects();
        assert!(examples.len() >= collections.len(), "examples.json is missing or empty");
        // Attributes of one type only (a processing account's
        // `processing`, a customer's `kyc_status`) show in some examples.
        let mut shown: HashMap<String, Vec<String>> = HashMap::new();
        for (path, object) in examples {
            assert!(collections.contains_key(path.as_str()), "{path}: no such collection");
            shown.entry(path).or_default().extend(object.as_object().expect("an object").keys().cloned());
        }
        for (path, checked) in &collections {
            let keys = shown.get(*path).unwrap_or_else(|| panic!("{path} has no example"));
            let missing: Vec<_> = checked.keys.iter().filter(|k| !keys.contains(k)).collect();
            assert!(missing.is_empty(), "{path}: no example shows {missing:?}; run make openapi-examples");
        }
    }

    #[test]
    fn example_bodies_create_what_they_say() {
        let collections = collections();
        for path in [
            "/customers",
            "/processing_accounts",
            "/legal_entities",
            "/legal_entity_owners",
            "/documents",
            "/payment_methods",
            "/payment_intents",
            "/transactions",
        ] {
            let body = examples::of(path).1.unwrap_or_else(|| panic!("{path} has no create example"));
            if let Err(problems) = (collections[path].creates)(body) {
                panic!("{path}: the example body is refused: {problems}");
            }
        }
    }

    #[test]
    fn schemas_are_the_union_of_the_samples() {
        let a =
            json!({"id": "x", "amount": 1.5, "at": "2026-01-01T00:00:00Z", "lines": [{"n": 1}], "attrs": {}});
        let b = json!({"id": "y", "amount": null, "at": null, "lines": [], "extra": true});
        let schema = infer([&a, &b]);
        assert_eq!(schema["type"], "object");
        let p = &schema["properties"];
        assert_eq!(p["id"], json!({"type": "string"}));
        assert_eq!(p["amount"], json!({"type": ["null", "number"]}));
        assert_eq!(p["at"], json!({"type": ["null", "string"], "format": "date-time"}));
        assert_eq!(p["lines"]["items"]["properties"]["n"], json!({"type": "number"}));
        assert_eq!(p["extra"], json!({"type": "boolean"}));
        assert_eq!(p["attrs"]["type"], json!(["null", "object"]));
        // Only nulls seen: any value.
        assert_eq!(infer([&Value::Null]), json!({}));
    }

    #[test]
    fn operations_document_path_parameters_and_errors() {
        let op = Operation::new(Method::GET, "get_thing", "One thing").reply(schema_ref("Thing"));
        let doc = op.document("/things/{id}");
        assert_eq!(doc["parameters"][0]["name"], "id");
        assert_eq!(doc["parameters"][0]["in"], "path");
        assert_eq!(doc["tags"], json!(["things"]));
        assert_eq!(doc["responses"]["404"]["$ref"], "#/components/responses/Error");
        let public = Operation::new(Method::GET, "health", "Health").public().document("/healthz");
        assert_eq!(public["security"], json!([]));
        assert!(public["responses"].get("401").is_none());
    }
}
