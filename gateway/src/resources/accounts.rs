//! `/accounts` and `/customers`: the identity service's accounts in the
//! Payload wire format.
//!
//! `/customers` is `/accounts` with the type fixed to `customer`: objects
//! say `"object": "customer"`, lists only show customers, and ids of other
//! account types are not found there.
//!
//! | request                                  | gRPC                      |
//! |------------------------------------------|---------------------------|
//! | `GET /accounts/{id}`                     | `GetAccount`              |
//! | `GET /accounts?…`                        | `ListAccounts`            |
//! | `POST /accounts` one object              | `CreateAccount`           |
//! | `POST /accounts` `{"object":"list",…}`   | `BatchCreateAccounts`     |
//! | `PUT /accounts/{id}`                     | `UpdateAccount`           |
//! | `PUT /accounts` list body                | `BatchUpdateAccounts`     |
//! | `PUT /accounts?…&mode=query`             | `UpdateAccountsByQuery`   |
//! | `DELETE /accounts/{id}`                  | `DeleteAccount`           |
//! | `DELETE /accounts` list body             | `BatchDeleteAccounts`     |
//! | `DELETE /accounts?…&mode=query`          | `DeleteAccountsByQuery`   |

use axum::{
    Extension, Json, Router,
    extract::{Path, RawQuery, State},
    routing::get,
};
use std::collections::HashMap;

use paymesh_kit::{MAX_BATCH, json as attrs};
use paymesh_proto::{
    common::v1::{Condition, FieldRef, Filter, ListQuery, Operator},
    identity::v1 as pb,
};
use prost_types::FieldMask;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{list_response, timestamp};
use crate::{
    AppState,
    auth::Caller,
    body::{RequestBody, Shape},
    error::ApiError,
    query::{self, ListParams},
};

/// Which of the two paths serves the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `/accounts`: every account type; `type` is required on create.
    Accounts,
    /// `/customers`: only `customer` accounts.
    Customers,
}

impl Flavor {
    fn object(self) -> &'static str {
        match self {
            Self::Accounts => "account",
            Self::Customers => "customer",
        }
    }

    fn fixed_type(self) -> Option<pb::AccountType> {
        match self {
            Self::Accounts => None,
            Self::Customers => Some(pb::AccountType::Customer),
        }
    }

    fn not_found(self) -> ApiError {
        ApiError::not_found(match self {
            Self::Accounts => "Account not found",
            Self::Customers => "Customer not found",
        })
    }
}

/// The routes of one flavor.
pub(crate) fn routes(flavor: Flavor) -> Router<AppState> {
    let base = match flavor {
        Flavor::Accounts => "/accounts",
        Flavor::Customers => "/customers",
    };
    Router::new()
        .route(
            base,
            get(move |state: State<AppState>, caller: Extension<Caller>, raw: RawQuery| {
                list(state, caller, raw, flavor)
            })
            .post(move |state: State<AppState>, caller: Extension<Caller>, body: RequestBody| {
                create(state, caller, body, flavor)
            })
            .put(
                move |state: State<AppState>, caller: Extension<Caller>, raw: RawQuery, body: RequestBody| {
                    update_many(state, caller, raw, body, flavor)
                },
            )
            .delete(
                move |state: State<AppState>, caller: Extension<Caller>, raw: RawQuery, body: RequestBody| {
                    delete_many(state, caller, raw, body, flavor)
                },
            ),
        )
        .route(
            &format!("{base}/{{id}}"),
            get(move |state: State<AppState>, caller: Extension<Caller>, id: Path<String>, raw: RawQuery| {
                get_one(state, caller, id, raw, flavor)
            })
            .put(
                move |state: State<AppState>,
                      caller: Extension<Caller>,
                      id: Path<String>,
                      body: RequestBody| { update_one(state, caller, id, body, flavor) },
            )
            .delete(
                move |state: State<AppState>, caller: Extension<Caller>, id: Path<String>| {
                    delete_one(state, caller, id, flavor)
                },
            ),
        )
}

type Reply = Result<Json<Value>, ApiError>;

/// The deepest `attrs` accepted (the identity service's rule).
const MAX_ATTRS_DEPTH: usize = 8;

fn status(error: tonic::Status) -> ApiError {
    ApiError::from_status(&error, "account")
}

// === Handlers ===

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    flavor: Flavor,
) -> Reply {
    let ListParams { mut query, projection, .. } = query::parse(raw.as_deref())?;
    query.filters.extend(type_filter(flavor));
    let grouped = !query.group_by.is_empty() || !query.aggregates.is_empty();
    let response = state
        .accounts
        .clone()
        .list_accounts(caller.grpc(pb::ListAccountsRequest { query: Some(query) }))
        .await
        .map_err(status)?
        .into_inner();
    if grouped {
        return Ok(list_response(response.groups.into_iter().map(|g| Value::Object(attrs::from_struct(g)))));
    }
    let mut computed = response.computed.into_iter().map(attrs::from_struct);
    Ok(list_response(
        response
            .accounts
            .into_iter()
            .map(|account| Value::Object(projection.apply(to_json(account, flavor), computed.next()))),
    ))
}

async fn get_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    flavor: Flavor,
) -> Reply {
    let params = query::parse(raw.as_deref())?;
    if params.query.fields.iter().any(|f| f.function != 0) || !params.query.aggregates.is_empty() {
        return Err(ApiError::invalid_field(
            "fields",
            "Computed fields and aggregates are available on lists, e.g. GET /accounts?id=…&fields=…",
        ));
    }
    let account = fetch(&state, &caller, id, flavor).await?;
    Ok(Json(Value::Object(params.projection.apply(to_json(account, flavor), None))))
}

async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: RequestBody,
    flavor: Flavor,
) -> Reply {
    let mut client = state.accounts.clone();
    match body.shape()? {
        Shape::Object(object) => {
            let Parsed { account, .. } =
                from_json(object, flavor, Purpose::Create).map_err(ApiError::invalid)?;
            let request = caller.grpc(pb::CreateAccountRequest { account: Some(account) });
            let created = client.create_account(request).await.map_err(status)?.into_inner();
            object_reply(created.account, flavor)
        }
        Shape::List(values) => {
            let parsed = each_object(values, |object| from_json(object, flavor, Purpose::Create))?;
            let requests = parsed
                .into_iter()
                .map(|Parsed { account, .. }| pb::CreateAccountRequest { account: Some(account) })
                .collect();
            let created = client
                .batch_create_accounts(caller.grpc(pb::BatchCreateAccountsRequest { requests }))
                .await
                .map_err(status)?
                .into_inner();
            Ok(list_reply(created.accounts, flavor))
        }
    }
}

async fn update_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: RequestBody,
    flavor: Flavor,
) -> Reply {
    let Shape::Object(object) = body.shape()? else {
        return Err(ApiError::bad_request(format!("PUT /{}s/{{id}} takes one object", flavor.object())));
    };
    let Parsed { mut account, mask, read_only } =
        from_json(object, flavor, Purpose::Update { path_id: &id }).map_err(ApiError::invalid)?;
    if flavor.fixed_type().is_some() || !read_only.is_empty() {
        let current = fetch(&state, &caller, id.clone(), flavor).await?;
        let problems = read_only_problems(&read_only, &to_json(current, flavor));
        if !problems.is_empty() {
            return Err(ApiError::invalid(problems));
        }
    }
    account.id = id;
    let request =
        pb::UpdateAccountRequest { account: Some(account), update_mask: Some(FieldMask { paths: mask }) };
    let updated =
        state.accounts.clone().update_account(caller.grpc(request)).await.map_err(status)?.into_inner();
    object_reply(updated.account, flavor)
}

async fn update_many(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    body: RequestBody,
    flavor: Flavor,
) -> Reply {
    let params = query::parse(raw.as_deref())?;
    let mut client = state.accounts.clone();
    let accounts = match (body.shape()?, params.mode_query) {
        (Shape::Object(object), true) => {
            let Parsed { account, mask, .. } =
                from_json(object, flavor, Purpose::UpdateByQuery).map_err(ApiError::invalid)?;
            if mask.is_empty() {
                return Err(ApiError::bad_request("Send at least one attribute to change"));
            }
            let request = pb::UpdateAccountsByQueryRequest {
                filters: mutation_filters(&params, flavor)?,
                account: Some(account),
                update_mask: Some(FieldMask { paths: mask }),
            };
            client.update_accounts_by_query(caller.grpc(request)).await.map_err(status)?.into_inner().accounts
        }
        (Shape::List(values), false) => {
            let parsed = each_object(values, |object| from_json(object, flavor, Purpose::BatchUpdate))?;
            if flavor.fixed_type().is_some() || parsed.iter().any(|p| !p.read_only.is_empty()) {
                let ids: Vec<String> = parsed.iter().map(|p| p.account.id.clone()).collect();
                let current = stored(&state, &caller, &ids, flavor).await?;
                check_items(flavor, parsed.iter().map(|p| (&p.account.id, &p.read_only)), &current)?;
            }
            let requests = parsed
                .into_iter()
                .map(|Parsed { account, mask, .. }| pb::UpdateAccountRequest {
                    account: Some(account),
                    update_mask: Some(FieldMask { paths: mask }),
                })
                .collect();
            client
                .batch_update_accounts(caller.grpc(pb::BatchUpdateAccountsRequest { requests }))
                .await
                .map_err(status)?
                .into_inner()
                .accounts
        }
        (Shape::List(_), true) => {
            return Err(ApiError::bad_request("mode=query takes one object of changes, not a list"));
        }
        (Shape::Object(_), false) => return Err(many_hint("PUT", flavor)),
    };
    Ok(list_reply(accounts, flavor))
}

async fn delete_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    flavor: Flavor,
) -> Reply {
    if flavor.fixed_type().is_some() {
        fetch(&state, &caller, id.clone(), flavor).await?;
    }
    let deleted = state
        .accounts
        .clone()
        .delete_account(caller.grpc(pb::DeleteAccountRequest { id }))
        .await
        .map_err(status)?
        .into_inner();
    object_reply(deleted.account, flavor)
}

async fn delete_many(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    body: RequestBody,
    flavor: Flavor,
) -> Reply {
    let params = query::parse(raw.as_deref())?;
    let mut client = state.accounts.clone();
    let accounts = match (body.0.is_some(), params.mode_query) {
        (false, true) => {
            let request = pb::DeleteAccountsByQueryRequest { filters: mutation_filters(&params, flavor)? };
            client.delete_accounts_by_query(caller.grpc(request)).await.map_err(status)?.into_inner().accounts
        }
        (true, false) => {
            let Shape::List(values) = body.shape()? else { return Err(many_hint("DELETE", flavor)) };
            let ids = each_object(values, |object| match object.get("id") {
                Some(Value::String(id)) => Ok(id.clone()),
                Some(_) => Err(one("id", "Must be a string")),
                None => Err(one("id", "Required")),
            })?;
            if flavor.fixed_type().is_some() {
                let current = stored(&state, &caller, &ids, flavor).await?;
                let none = Map::new();
                check_items(flavor, ids.iter().map(|id| (id, &none)), &current)?;
            }
            client
                .batch_delete_accounts(caller.grpc(pb::BatchDeleteAccountsRequest { ids }))
                .await
                .map_err(status)?
                .into_inner()
                .accounts
        }
        (true, true) => return Err(ApiError::bad_request("mode=query takes no body")),
        (false, false) => return Err(many_hint("DELETE", flavor)),
    };
    Ok(list_reply(accounts, flavor))
}

// === Helpers ===

/// One account as the reply. A service that answers without the account
/// has broken its contract: that is an internal error, never an empty object.
fn object_reply(account: Option<pb::Account>, flavor: Flavor) -> Reply {
    let account = account.ok_or_else(|| {
        tracing::error!("identity answered without the account");
        ApiError::internal()
    })?;
    Ok(Json(Value::Object(to_json(account, flavor))))
}

/// Accounts as a list reply.
fn list_reply(accounts: Vec<pb::Account>, flavor: Flavor) -> Json<Value> {
    list_response(accounts.into_iter().map(|a| Value::Object(to_json(a, flavor))))
}

fn many_hint(method: &str, flavor: Flavor) -> ApiError {
    ApiError::bad_request(format!(
        "{method} /{o}s acts on several {o}s: send {{\"object\": \"list\", \"values\": [ … ]}} with their ids, \
         or filter them with ?…&mode=query. For one {o}, use /{o}s/{{id}}",
        o = flavor.object()
    ))
}

fn one(field: &str, message: &str) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(field.to_owned(), Value::String(message.to_owned()));
    map
}

/// Applies `parse` to every item of a list body; problems are reported per
/// item, in Payload's list shape.
fn each_object<T>(
    values: Vec<Value>,
    parse: impl Fn(Map<String, Value>) -> Result<T, Map<String, Value>>,
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

fn type_filter(flavor: Flavor) -> Option<Filter> {
    flavor.fixed_type().map(|t| Filter {
        field: Some(FieldRef { path: vec!["type".to_owned()], function: 0 }),
        any_of: vec![Condition { operator: Operator::Equal as i32, value: type_name(t).to_owned() }],
    })
}

fn mutation_filters(params: &ListParams, flavor: Flavor) -> Result<Vec<Filter>, ApiError> {
    let mut filters = params.mutation_filters()?;
    filters.extend(type_filter(flavor));
    Ok(filters)
}

/// The account `id`, which must be of the flavor's type.
async fn fetch(
    state: &AppState,
    caller: &Caller,
    id: String,
    flavor: Flavor,
) -> Result<pb::Account, ApiError> {
    let account = state
        .accounts
        .clone()
        .get_account(caller.grpc(pb::GetAccountRequest { id }))
        .await
        .map_err(|e| if e.code() == tonic::Code::NotFound { flavor.not_found() } else { status(e) })?
        .into_inner()
        .account
        .ok_or_else(|| flavor.not_found())?;
    match flavor.fixed_type() {
        Some(t) if account.r#type != t as i32 => Err(flavor.not_found()),
        _ => Ok(account),
    }
}

/// The stored accounts among `ids`, as this flavor sees them (on
/// `/customers`, only customers), keyed by id (parsed, so any spelling of
/// a UUID finds its account).
async fn stored(
    state: &AppState,
    caller: &Caller,
    ids: &[String],
    flavor: Flavor,
) -> Result<HashMap<Uuid, Map<String, Value>>, ApiError> {
    let valid: Vec<&String> = ids.iter().filter(|id| Uuid::parse_str(id).is_ok()).collect();
    if valid.is_empty() {
        return Ok(HashMap::new());
    }
    let mut filters = vec![Filter {
        field: Some(FieldRef { path: vec!["id".to_owned()], function: 0 }),
        any_of: valid
            .iter()
            .map(|id| Condition { operator: Operator::Equal as i32, value: (*id).clone() })
            .collect(),
    }];
    filters.extend(type_filter(flavor));
    // Batches are at most MAX_BATCH items, well within one page.
    let query = ListQuery { filters, limit: u32::try_from(valid.len()).unwrap_or(1), ..ListQuery::default() };
    let request = caller.grpc(pb::ListAccountsRequest { query: Some(query) });
    let response = state.accounts.clone().list_accounts(request).await.map_err(status)?.into_inner();
    Ok(response
        .accounts
        .into_iter()
        .filter_map(|a| Some((Uuid::parse_str(&a.id).ok()?, to_json(a, flavor))))
        .collect())
}

/// Checks each item of a batch against what is stored: on `/customers` the
/// id must name a customer; everywhere, read-only values sent must equal the
/// stored ones. Unknown ids on `/accounts` are left to the service.
fn check_items<'a>(
    flavor: Flavor,
    items: impl Iterator<Item = (&'a String, &'a Map<String, Value>)>,
    current: &HashMap<Uuid, Map<String, Value>>,
) -> Result<(), ApiError> {
    let problems: Vec<Map<String, Value>> = items
        .map(|(id, read_only)| match Uuid::parse_str(id).ok().and_then(|id| current.get(&id)) {
            Some(stored) => read_only_problems(read_only, stored),
            None if flavor.fixed_type().is_some() => one("id", "No such customer"),
            None => Map::new(),
        })
        .collect();
    if problems.iter().all(Map::is_empty) { Ok(()) } else { Err(ApiError::invalid_items(problems)) }
}

/// Read-only attributes sent with an update are accepted when they equal
/// the stored values (an object from a GET can be sent back), and refused
/// when they differ.
fn read_only_problems(read_only: &Map<String, Value>, stored: &Map<String, Value>) -> Map<String, Value> {
    read_only
        .iter()
        .filter(|(key, value)| stored.get(key.as_str()) != Some(value))
        .map(|(key, _)| {
            let why = if key == "type" { "Cannot be changed" } else { "Read-only attribute" };
            (key.clone(), Value::String(why.to_owned()))
        })
        .collect()
}

// === JSON ⇄ proto ===

/// What a body is parsed for.
#[derive(Clone, Copy, Debug)]
enum Purpose<'a> {
    Create,
    Update { path_id: &'a str },
    BatchUpdate,
    UpdateByQuery,
}

fn type_name(t: pb::AccountType) -> &'static str {
    match t {
        pb::AccountType::Customer => "customer",
        pb::AccountType::Unspecified => "",
    }
}

/// What a REST object asks for.
#[derive(Debug, Default)]
struct Parsed {
    /// The account's new values.
    account: pb::Account,
    /// The attributes to change (updates).
    mask: Vec<String>,
    /// Read-only attributes sent with an update, to compare with the stored
    /// values.
    read_only: Map<String, Value>,
}

/// An account and its update mask from a REST object. Problems are returned
/// per attribute.
fn from_json(
    object: Map<String, Value>,
    flavor: Flavor,
    purpose: Purpose<'_>,
) -> Result<Parsed, Map<String, Value>> {
    let mut account = pb::Account::default();
    let mut mask = Vec::new();
    let mut read_only = Map::new();
    let updating_one = matches!(purpose, Purpose::Update { .. } | Purpose::BatchUpdate);
    let mut problems = Map::new();
    let mut problem = |field: &str, message: &str| {
        problems.insert(field.to_owned(), Value::String(message.to_owned()));
    };
    let creating = matches!(purpose, Purpose::Create);
    if object.contains_key("name") && object.contains_key("full_name") {
        problem("full_name", "Send name or full_name, not both");
    }
    for (key, value) in object {
        match key.as_str() {
            "object" => {
                if !matches!(value.as_str(), Some("account" | "customer")) {
                    problem("object", &format!("Must be \"{}\"", flavor.object()));
                }
            }
            "id" => match (purpose, value) {
                (Purpose::Create | Purpose::UpdateByQuery, _) => problem("id", "Read-only attribute"),
                (Purpose::Update { path_id }, Value::String(id)) if id == path_id => {}
                (Purpose::Update { .. }, _) => problem("id", "Does not match the id in the path"),
                (Purpose::BatchUpdate, Value::String(id)) => account.id = id,
                (Purpose::BatchUpdate, _) => problem("id", "Must be a string"),
            },
            "type" => match (value.as_str(), flavor.fixed_type(), creating) {
                (None, ..) => problem("type", "Must be a string"),
                (Some(given), Some(fixed), _) if given != type_name(fixed) => {
                    problem("type", &format!("Must be \"{}\" here", type_name(fixed)));
                }
                (Some(_), Some(_), _) => {}
                (Some("customer"), None, true) => account.r#type = pb::AccountType::Customer as i32,
                (Some(_), None, true) => problem("type", "Must be one of: customer"),
                (Some(_), None, false) if updating_one => {
                    read_only.insert(key.clone(), value.clone());
                }
                (Some(_), None, false) => problem("type", "Cannot be changed"),
            },
            "name" | "full_name" => match value {
                Value::String(name) => {
                    account.name = name;
                    mask.push("name".to_owned());
                }
                Value::Null => problem(&key, "Required"),
                _ => problem(&key, "Must be a string"),
            },
            "email" => match value {
                Value::String(email) => {
                    account.email = email;
                    mask.push("email".to_owned());
                }
                Value::Null => problem("email", "Required"),
                _ => problem("email", "Must be a string"),
            },
            "phone_number" | "description" => {
                let text = match value {
                    Value::String(text) => Some(text),
                    Value::Null => None,
                    _ => {
                        problem(&key, "Must be a string or null");
                        continue;
                    }
                };
                if key == "phone_number" {
                    account.phone_number = text;
                } else {
                    account.description = text;
                }
                mask.push(key);
            }
            "attrs" => match value {
                Value::Object(map) => {
                    // Checked here too: deeper values would trip the protobuf
                    // decoder's recursion limit before the service could answer.
                    let depth = 1 + map.values().map(attrs::depth).max().unwrap_or(0);
                    if depth > MAX_ATTRS_DEPTH {
                        problem("attrs", &format!("Must nest at most {MAX_ATTRS_DEPTH} levels"));
                    } else {
                        account.attrs = Some(attrs::to_struct(map));
                        mask.push("attrs".to_owned());
                    }
                }
                Value::Null if !creating => mask.push("attrs".to_owned()),
                _ => problem("attrs", "Must be an object"),
            },
            "created_at" | "modified_at" | "livemode" if updating_one => {
                read_only.insert(key, value);
            }
            "created_at" | "modified_at" | "livemode" => problem(&key, "Read-only attribute"),
            _ => problem(&key, "Unknown attribute"),
        }
    }
    if let Some(fixed) = flavor.fixed_type() {
        account.r#type = fixed as i32;
    }
    if matches!(purpose, Purpose::BatchUpdate) && account.id.is_empty() {
        problems.entry("id").or_insert_with(|| Value::String("Required".to_owned()));
    }
    if problems.is_empty() { Ok(Parsed { account, mask, read_only }) } else { Err(problems) }
}

/// An account as REST shows it.
fn to_json(account: pb::Account, flavor: Flavor) -> Map<String, Value> {
    let pb::Account {
        id,
        r#type,
        name,
        email,
        phone_number,
        description,
        attrs: custom,
        livemode,
        create_time,
        update_time,
    } = account;
    let kind = pb::AccountType::try_from(r#type).map_or("", type_name);
    let Value::Object(map) = json!({
        "id": id,
        "object": flavor.object(),
        "type": kind,
        "name": name,
        "email": email,
        "phone_number": phone_number,
        "description": description,
        "attrs": Value::Object(custom.map(attrs::from_struct).unwrap_or_default()),
        "livemode": livemode,
        "created_at": timestamp(create_time),
        "modified_at": timestamp(update_time),
    }) else {
        unreachable!("json! of an object literal is an object")
    };
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_seed_create_body_parses_on_customers() {
        let Parsed { account, .. } = from_json(
            object(json!({"email": "matt.perez@example.com", "full_name": "Matt Perez"})),
            Flavor::Customers,
            Purpose::Create,
        )
        .unwrap();
        assert_eq!(account.name, "Matt Perez");
        assert_eq!(account.r#type, pb::AccountType::Customer as i32);
    }

    #[test]
    fn accounts_need_a_known_type() {
        let body = object(json!({"email": "a@x.com", "name": "A", "type": "processing"}));
        let problems = from_json(body, Flavor::Accounts, Purpose::Create).unwrap_err();
        assert_eq!(Value::Object(problems), json!({"type": "Must be one of: customer"}));
        let customers = object(json!({"email": "a@x.com", "name": "A", "type": "processing"}));
        let problems = from_json(customers, Flavor::Customers, Purpose::Create).unwrap_err();
        assert_eq!(Value::Object(problems), json!({"type": "Must be \"customer\" here"}));
    }

    #[test]
    fn wrong_types_unknown_and_read_only_attributes_are_named() {
        let body = object(json!({
            "email": 5, "name": null, "phone_number": [], "attrs": "x",
            "created_at": "2019-01-01", "id": "x", "secret": 1, "object": "invoice"
        }));
        let problems = from_json(body, Flavor::Customers, Purpose::Create).unwrap_err();
        assert_eq!(
            Value::Object(problems),
            json!({
                "email": "Must be a string", "name": "Required", "phone_number": "Must be a string or null",
                "attrs": "Must be an object", "created_at": "Read-only attribute", "id": "Read-only attribute",
                "secret": "Unknown attribute", "object": "Must be \"customer\""
            })
        );
    }

    #[test]
    fn updates_mask_exactly_what_was_sent() {
        let body = object(json!({"email": "b@x.com", "description": null, "attrs": null}));
        let Parsed { account, mask, .. } =
            from_json(body, Flavor::Accounts, Purpose::Update { path_id: "1" }).unwrap();
        assert_eq!(account.email, "b@x.com");
        assert_eq!(mask, ["email", "description", "attrs"]);
        let mismatch = object(json!({"id": "2"}));
        assert!(from_json(mismatch, Flavor::Accounts, Purpose::Update { path_id: "1" }).is_err());
        let missing = object(json!({"email": "b@x.com"}));
        assert_eq!(
            Value::Object(from_json(missing, Flavor::Accounts, Purpose::BatchUpdate).unwrap_err()),
            json!({"id": "Required"})
        );
    }

    #[test]
    fn read_only_values_sent_with_an_update_are_kept_for_comparison() {
        let body = object(json!({"name": "B", "created_at": "2026-01-01T00:00:00Z", "type": "customer"}));
        let parsed = from_json(body, Flavor::Accounts, Purpose::Update { path_id: "1" }).unwrap();
        assert_eq!(parsed.mask, ["name"]);
        assert_eq!(
            Value::Object(parsed.read_only.clone()),
            json!({"created_at": "2026-01-01T00:00:00Z", "type": "customer"})
        );
        let stored = object(json!({"created_at": "2026-01-01T00:00:00Z", "type": "customer"}));
        assert!(read_only_problems(&parsed.read_only, &stored).is_empty());
        let other = object(json!({"created_at": "2025-01-01T00:00:00Z", "type": "processing"}));
        assert_eq!(
            Value::Object(read_only_problems(&parsed.read_only, &other)),
            json!({"created_at": "Read-only attribute", "type": "Cannot be changed"})
        );
        let by_query = object(json!({"created_at": "2026-01-01T00:00:00Z", "type": "customer"}));
        assert_eq!(
            Value::Object(from_json(by_query, Flavor::Accounts, Purpose::UpdateByQuery).unwrap_err()),
            json!({"created_at": "Read-only attribute", "type": "Cannot be changed"})
        );
    }
}
