//! `/access_tokens`: session tokens for hosted pay pages and merchant
//! tokens for merchant portals.
//!
//! | request                          | gRPC                  |
//! |----------------------------------|-----------------------|
//! | `POST /access_tokens`            | `CreateAccessToken`   |
//! | `GET /access_tokens/{id}`, `GET /access_tokens?…` | `GetAccessToken`, `ListAccessTokens` |
//! | `DELETE /access_tokens/{id}`     | `RevokeAccessToken`   |
//! | `POST /access_tokens/redeem`     | `RedeemSessionToken`  |
//!
//! The token itself appears once, as `access_token` (PlacePay's name), in
//! the answer of create. A merchant token is then used as a credential
//! (`Authorization: Bearer <token>`) to read its processing account; a
//! session token is redeemed once, with the partner's client key, by the
//! hosted page it opens.

use axum::{Extension, Json, extract::State, routing::post};
use http::Method;
use paymesh_proto::{common::v1 as common, identity::v1 as pb};
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
        self, Call, Collection, Listed, Object, Offers, Parsed, Purpose, Reply, attrs_json, object, timestamp,
    },
};

const TYPES: &[(&str, i32)] = &[
    ("session_access", pb::AccessTokenType::SessionAccess as i32),
    ("merchant", pb::AccessTokenType::Merchant as i32),
];

const STATUSES: &[(&str, i32)] = &[
    ("active", pb::AccessTokenStatus::Active as i32),
    ("redeemed", pb::AccessTokenStatus::Redeemed as i32),
    ("expired", pb::AccessTokenStatus::Expired as i32),
    ("revoked", pb::AccessTokenStatus::Revoked as i32),
];

/// `/access_tokens`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AccessTokens;

impl Collection for AccessTokens {
    type Item = pb::AccessToken;

    fn object(&self) -> &'static str {
        "access_token"
    }

    fn path(&self) -> &'static str {
        "/access_tokens"
    }

    fn not_found(&self) -> ApiError {
        ApiError::not_found("Access token not found")
    }

    fn render(&self, token: pb::AccessToken) -> Object {
        to_json(token)
    }

    fn parse(&self, object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::AccessToken>, Object> {
        let mut r = Reader::new(purpose);
        let mut t = pb::AccessToken::default();
        let mut id = String::new();
        let mut custom = None;
        for (key, mut value) in object {
            if r.common(&key, &mut value, &["access_token"], "access_token", &mut id, &mut custom) {
                continue;
            }
            match key.as_str() {
                "type" => {
                    if let Some(kind) = r.choice("type", value, TYPES) {
                        t.r#type = kind;
                    }
                }
                "account_id" => {
                    if let Some(account) = r.text("account_id", value) {
                        t.account_id = account;
                    }
                }
                "status" | "expires_at" | "redeemed_at" | "revoked_at" | "access_token" => {
                    r.read_only(&key, value)
                }
                _ => r.unknown(&key),
            }
        }
        t.attrs = custom;
        r.finish(t, &id)
    }

    fn offers(&self) -> Offers {
        // Created through its own POST, which answers the token once.
        Offers { delete: true, ..Offers::READ }
    }

    fn get<'a>(&'a self, state: &'a AppState, caller: &'a Caller, id: String) -> Call<'a, pb::AccessToken> {
        Box::pin(async move {
            let request = caller.grpc(pb::GetAccessTokenRequest { id });
            let token =
                state.access_tokens.clone().get_access_token(request).await?.into_inner().access_token;
            token.ok_or_else(|| tonic::Status::not_found("no access token"))
        })
    }

    fn list<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        query: common::ListQuery,
    ) -> Call<'a, Listed<pb::AccessToken>> {
        Box::pin(async move {
            let request = caller.grpc(pb::ListAccessTokensRequest { query: Some(query) });
            let pb::ListAccessTokensResponse { access_tokens, computed, groups } =
                state.access_tokens.clone().list_access_tokens(request).await?.into_inner();
            Ok(Listed { items: access_tokens, computed, groups })
        })
    }

    fn delete<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        ids: Vec<String>,
        _many: bool,
    ) -> Call<'a, Vec<pb::AccessToken>> {
        Box::pin(async move {
            let request =
                caller.grpc(pb::RevokeAccessTokenRequest { id: ids.into_iter().next().unwrap_or_default() });
            Ok(state
                .access_tokens
                .clone()
                .revoke_access_token(request)
                .await?
                .into_inner()
                .access_token
                .into_iter()
                .collect())
        })
    }
}

fn to_json(t: pb::AccessToken) -> Object {
    let pb::AccessToken {
        id,
        r#type,
        account_id,
        status,
        expire_time,
        redeem_time,
        revoke_time,
        attrs: custom,
        livemode,
        create_time,
        update_time,
    } = t;
    object(json!({
        "id": id,
        "object": "access_token",
        "type": word(TYPES, r#type),
        "account_id": account_id,
        "status": word(STATUSES, status),
        "expires_at": timestamp(expire_time),
        "redeemed_at": timestamp(redeem_time),
        "revoked_at": timestamp(revoke_time),
        "attrs": attrs_json(custom),
        "livemode": livemode,
        "created_at": timestamp(create_time),
        "modified_at": timestamp(update_time),
    }))
}

/// The routes of access tokens.
pub(crate) fn routes() -> Routes {
    let create_op = Operation::new(Method::POST, "create_access_token", "Issue an access token")
        .describe(
            "`type=session_access` (a hosted pay page's one-time token for a customer, 15 minutes) or \
             `type=merchant` (a processing account's portal token, a one-hour JWT). The token is in \
             `access_token`, shown only in this answer.",
        )
        .body(
            json!({"type": "object", "properties": {
                "type": {"type": "string", "enum": ["session_access", "merchant"]},
                "account_id": {"type": "string"},
                "attrs": {"type": "object"},
            }}),
            Some(json!({"type": "session_access", "account_id": "acct_…"})),
        )
        .reply(schema_ref("access_token"));
    let redeem_op = Operation::new(Method::POST, "redeem_access_token", "Redeem a session token")
        .tag("access_tokens")
        .describe(
            "With a client key: the customer a `session_access` token opens, once. A used, expired \
             or unknown token is 400 under `access_token`.",
        )
        .body(
            json!({"type": "object", "required": ["access_token"], "properties": {"access_token": {"type": "string"}}}),
            Some(json!({"access_token": "session_access_…"})),
        )
        .reply(schema_ref("access_token"));
    rest::routes(AccessTokens).route("/access_tokens", post(create), [create_op]).route(
        "/access_tokens/redeem",
        post(redeem),
        [redeem_op],
    )
}

/// `POST /access_tokens`: a new token, shown once as `access_token`.
async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: RequestBody,
) -> Reply {
    let Shape::Object(object) = body.shape()? else {
        return Err(ApiError::method_not_allowed(
            "POST /access_tokens takes one object at a time, not a list",
        ));
    };
    let Parsed { message, .. } = AccessTokens.parse(object, Purpose::Create).map_err(ApiError::invalid)?;
    let request = caller.grpc(pb::CreateAccessTokenRequest { access_token: Some(message) });
    let pb::CreateAccessTokenResponse { access_token, token } = state
        .access_tokens
        .clone()
        .create_access_token(request)
        .await
        .map_err(|e| rest::status(&AccessTokens, &e))?
        .into_inner();
    let mut out = to_json(access_token.ok_or_else(ApiError::internal)?);
    out.insert("access_token".to_owned(), Value::String(token));
    Ok(Json(Value::Object(out)))
}

/// `POST /access_tokens/redeem` with `{"access_token": "session_access_…"}`:
/// the customer the session opens, once.
async fn redeem(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: RequestBody,
) -> Reply {
    let Shape::Object(mut fields) = body.shape()? else {
        return Err(ApiError::bad_request("Send {\"access_token\": \"session_access_…\"}"));
    };
    let token = match fields.remove("access_token") {
        Some(Value::String(token)) => token,
        Some(_) => return Err(ApiError::invalid_field("access_token", "Must be a string")),
        None => return Err(ApiError::invalid_field("access_token", "Required")),
    };
    if let Some(extra) = fields.keys().next() {
        return Err(ApiError::invalid_field(extra, "Unknown attribute"));
    }
    let request = caller.grpc(pb::RedeemSessionTokenRequest { token });
    let pb::RedeemSessionTokenResponse { access_token, account } = state
        .access_tokens
        .clone()
        .redeem_session_token(request)
        .await
        .map_err(|e| {
            // The token is `token` on the wire and `access_token` here.
            rest::status(&AccessTokens, &e).map_details(|details| match details {
                Value::Object(mut problems) => {
                    if let Some(why) = problems.remove("token") {
                        problems.insert("access_token".to_owned(), why);
                    }
                    Value::Object(problems)
                }
                other => other,
            })
        })?
        .into_inner();
    let mut out = to_json(access_token.ok_or_else(ApiError::internal)?);
    let account =
        account.map(|a| json!({"id": a.id, "object": "customer", "name": a.name, "email": a.email}));
    out.insert("account".to_owned(), account.unwrap_or(Value::Null));
    Ok(Json(Value::Object(out)))
}
