//! `/api_keys`: a partner's API keys, managed with a secret key of the
//! same mode.
//!
//! | request                         | gRPC            |
//! |---------------------------------|-----------------|
//! | `POST /api_keys`                | `CreateApiKey`  |
//! | `GET /api_keys/{id}`, `GET /api_keys?…` | `GetApiKey`, `ListApiKeys` |
//! | `PUT /api_keys/{id}`            | `UpdateApiKey`  |
//! | `DELETE /api_keys/{id}`         | `RevokeApiKey`  |
//! | `POST /api_keys/{id}/roll`      | `RollApiKey`    |
//!
//! The key itself appears once, as `key`, in the answers of create and
//! roll; afterwards only `prefix` and `last4`.

use axum::{
    Extension, Json,
    extract::{Path, State},
    routing::post,
};
use http::Method;
use paymesh_proto::{common::v1 as common, identity::v1 as pb};
use prost_types::FieldMask;
use serde_json::{Value, json};

use super::accounts::word;
use crate::{
    AppState,
    auth::Caller,
    body::{RequestBody, Shape},
    error::ApiError,
    fields::Reader,
    openapi::{Operation, Routes, schema_ref},
    rest::{
        self, Call, Collection, Listed, Object, Offers, Parsed, Purpose, Reply, attrs_json, fetch, object,
        timestamp,
    },
};

const KINDS: &[(&str, i32)] =
    &[("secret", pb::KeyKind::Secret as i32), ("client", pb::KeyKind::Client as i32)];

const STATUSES: &[(&str, i32)] = &[
    ("active", pb::ApiKeyStatus::Active as i32),
    ("expiring", pb::ApiKeyStatus::Expiring as i32),
    ("expired", pb::ApiKeyStatus::Expired as i32),
    ("revoked", pb::ApiKeyStatus::Revoked as i32),
];

const METHODS: &[(&str, i32)] = &[
    ("GET", pb::PermissionMethod::Get as i32),
    ("POST", pb::PermissionMethod::Post as i32),
    ("PUT", pb::PermissionMethod::Put as i32),
    ("DELETE", pb::PermissionMethod::Delete as i32),
    ("*", pb::PermissionMethod::Any as i32),
];

/// `/api_keys`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ApiKeys;

impl Collection for ApiKeys {
    type Item = pb::ApiKey;

    fn object(&self) -> &'static str {
        "api_key"
    }

    fn path(&self) -> &'static str {
        "/api_keys"
    }

    fn not_found(&self) -> ApiError {
        ApiError::not_found("API key not found")
    }

    fn render(&self, key: pb::ApiKey) -> Object {
        to_json(key)
    }

    fn parse(&self, object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::ApiKey>, Object> {
        let mut r = Reader::new(purpose);
        let mut k = pb::ApiKey::default();
        let mut id = String::new();
        let mut custom = None;
        for (key, mut value) in object {
            if r.common(&key, &mut value, &["api_key"], "api_key", &mut id, &mut custom) {
                continue;
            }
            match key.as_str() {
                "type" if purpose.creates() => {
                    if let Some(kind) = r.choice("type", value, KINDS) {
                        k.kind = kind;
                    }
                }
                "type" => r.read_only("type", value),
                "name" => {
                    if let Some(name) = r.nullable("name", value) {
                        k.name = name.unwrap_or_default();
                        r.changed("name");
                    }
                }
                "permissions" => match value {
                    Value::Array(items) => {
                        for (i, item) in items.into_iter().enumerate() {
                            let at = format!("permissions[{i}]");
                            let Some(mut fields) = r.object(&at, item) else { continue };
                            let method = fields.remove("method").unwrap_or(Value::Null);
                            let resource = fields.remove("resource").unwrap_or(Value::Null);
                            for extra in fields.keys() {
                                r.unknown(&format!("{at}.{extra}"));
                            }
                            let method = r.choice(&format!("{at}.method"), method, METHODS);
                            let resource = r.text(&format!("{at}.resource"), resource);
                            if let (Some(method), Some(resource)) = (method, resource) {
                                k.permissions.push(pb::Permission { method, resource });
                            }
                        }
                        r.changed("permissions");
                    }
                    Value::Null => r.changed("permissions"),
                    _ => r.problem("permissions", "Must be a list of {\"method\", \"resource\"}"),
                },
                "livemode" | "prefix" | "last4" | "status" | "expires_at" | "revoked_at" | "rolled_to_id" => {
                    r.read_only(&key, value);
                }
                _ => r.unknown(&key),
            }
        }
        k.attrs = custom;
        k.id.clone_from(&id);
        r.finish(k, &id)
    }

    fn offers(&self) -> Offers {
        // Created through its own POST, which answers the key once.
        Offers { update: true, delete: true, ..Offers::READ }
    }

    fn get<'a>(&'a self, state: &'a AppState, caller: &'a Caller, id: String) -> Call<'a, pb::ApiKey> {
        Box::pin(async move {
            let key = state.api_keys.clone().get_api_key(caller.grpc(pb::GetApiKeyRequest { id })).await?;
            key.into_inner().api_key.ok_or_else(|| tonic::Status::not_found("no key"))
        })
    }

    fn list<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        query: common::ListQuery,
    ) -> Call<'a, Listed<pb::ApiKey>> {
        Box::pin(async move {
            let request = caller.grpc(pb::ListApiKeysRequest { query: Some(query) });
            let pb::ListApiKeysResponse { api_keys, computed, groups } =
                state.api_keys.clone().list_api_keys(request).await?.into_inner();
            Ok(Listed { items: api_keys, computed, groups })
        })
    }

    fn update<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        items: Vec<(pb::ApiKey, Vec<String>)>,
        _many: bool,
    ) -> Call<'a, Vec<pb::ApiKey>> {
        Box::pin(async move {
            let (key, paths) = items.into_iter().next().unwrap_or_default();
            let request = caller
                .grpc(pb::UpdateApiKeyRequest { api_key: Some(key), update_mask: Some(FieldMask { paths }) });
            Ok(state
                .api_keys
                .clone()
                .update_api_key(request)
                .await?
                .into_inner()
                .api_key
                .into_iter()
                .collect())
        })
    }

    fn delete<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        ids: Vec<String>,
        _many: bool,
    ) -> Call<'a, Vec<pb::ApiKey>> {
        Box::pin(async move {
            let request =
                caller.grpc(pb::RevokeApiKeyRequest { id: ids.into_iter().next().unwrap_or_default() });
            Ok(state
                .api_keys
                .clone()
                .revoke_api_key(request)
                .await?
                .into_inner()
                .api_key
                .into_iter()
                .collect())
        })
    }
}

fn to_json(k: pb::ApiKey) -> Object {
    let pb::ApiKey {
        id,
        kind,
        livemode,
        name,
        prefix,
        last4,
        permissions,
        status,
        expire_time,
        revoke_time,
        rolled_to_id,
        attrs: custom,
        create_time,
        update_time,
    } = k;
    object(json!({
        "id": id,
        "object": "api_key",
        "type": word(KINDS, kind),
        "livemode": livemode,
        "name": name,
        "prefix": prefix,
        "last4": last4,
        "redacted": format!("{prefix}…{last4}"),
        "permissions": permissions
            .into_iter()
            .map(|p| json!({"method": word(METHODS, p.method), "resource": p.resource}))
            .collect::<Vec<_>>(),
        "status": word(STATUSES, status),
        "expires_at": timestamp(expire_time),
        "revoked_at": timestamp(revoke_time),
        "rolled_to_id": rolled_to_id,
        "attrs": attrs_json(custom),
        "created_at": timestamp(create_time),
        "modified_at": timestamp(update_time),
    }))
}

/// A key's record with the key itself, the one time it is shown.
fn with_key(record: Option<pb::ApiKey>, key: String) -> Reply {
    let record = record.ok_or_else(ApiError::internal)?;
    let mut out = to_json(record);
    out.insert("key".to_owned(), Value::String(key));
    Ok(Json(Value::Object(out)))
}

/// The routes of API keys.
pub(crate) fn routes() -> Routes {
    let create_op = Operation::new(Method::POST, "create_api_key", "Create an API key")
        .describe(
            "A `secret` or `client` key (`type`) of the caller's mode, optionally restricted by `permissions` \
             (`{\"method\": \"GET\", \"resource\": \"/transactions\"}`). The key is in `key`, shown \
             only in this answer.",
        )
        .body(
            json!({"type": "object", "properties": {
                "type": {"type": "string", "enum": ["secret", "client"]},
                "name": {"type": "string"},
                "permissions": {"type": "array", "items": {"type": "object", "properties": {
                    "method": {"type": "string"}, "resource": {"type": "string"},
                }}},
                "attrs": {"type": "object"},
            }}),
            Some(json!({"type": "secret", "name": "Reporting", "permissions": [{"method": "GET", "resource": "/transactions"}]})),
        )
        .reply(schema_ref("api_key"));
    let roll_op = Operation::new(Method::POST, "roll_api_key", "Roll an API key")
        .tag("api_keys")
        .describe(
            "A new key replaces this one, which keeps working for `grace_period_seconds` (at most \
             7 days). The new key is in `key`, shown only in this answer.",
        )
        .body(
            json!({"type": "object", "properties": {"grace_period_seconds": {"type": "integer", "minimum": 0}}}),
            Some(json!({"grace_period_seconds": 3600})),
        )
        .reply(schema_ref("api_key"));
    rest::routes(ApiKeys).route("/api_keys", post(create), [create_op]).route(
        "/api_keys/{id}/roll",
        post(roll),
        [roll_op],
    )
}

/// `POST /api_keys`: a new key, shown once.
async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: RequestBody,
) -> Reply {
    let Shape::Object(object) = body.shape()? else {
        return Err(ApiError::method_not_allowed("POST /api_keys takes one object at a time, not a list"));
    };
    let Parsed { message, .. } = ApiKeys.parse(object, Purpose::Create).map_err(ApiError::invalid)?;
    let request = caller.grpc(pb::CreateApiKeyRequest { api_key: Some(message) });
    let pb::CreateApiKeyResponse { api_key, key } = state
        .api_keys
        .clone()
        .create_api_key(request)
        .await
        .map_err(|e| rest::status(&ApiKeys, &e))?
        .into_inner();
    with_key(api_key, key)
}

/// `POST /api_keys/{id}/roll` with `{"grace_period_seconds": N}`: a new key
/// replaces this one, which keeps working for the grace period.
async fn roll(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: RequestBody,
) -> Reply {
    let mut grace = 0u32;
    if body.0.is_some() {
        let Shape::Object(mut fields) = body.shape()? else {
            return Err(ApiError::bad_request("Send {\"grace_period_seconds\": N}"));
        };
        if let Some(value) = fields.remove("grace_period_seconds") {
            let parsed = match &value {
                Value::Number(n) => n.as_u64(),
                Value::String(text) => text.trim().parse().ok(),
                _ => None,
            };
            grace = parsed.and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
                ApiError::invalid_field("grace_period_seconds", "Must be a whole number of seconds")
            })?;
        }
        if let Some(extra) = fields.keys().next() {
            return Err(ApiError::invalid_field(extra, "Unknown attribute"));
        }
    }
    fetch(&ApiKeys, &state, &caller, id.clone()).await?;
    let request = caller.grpc(pb::RollApiKeyRequest { id, grace_period_seconds: grace });
    let pb::RollApiKeyResponse { api_key, key, previous } = state
        .api_keys
        .clone()
        .roll_api_key(request)
        .await
        .map_err(|e| rest::status(&ApiKeys, &e))?
        .into_inner();
    let Json(Value::Object(mut out)) = with_key(api_key, key)? else { return Err(ApiError::internal()) };
    out.insert("previous".to_owned(), previous.map_or(Value::Null, |p| Value::Object(to_json(p))));
    Ok(Json(Value::Object(out)))
}
