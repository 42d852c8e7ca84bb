//! Access tokens on the wire: never the token, except once, beside its
//! record.

use chrono::{DateTime, Utc};
use paymesh_kit::{Violation, json};
use paymesh_proto::identity::v1 as pb;
use uuid::Uuid;

use super::{Fields, attrs, id, timestamp};
use crate::domain::{
    account::Attrs,
    token::{AccessToken, TokenStatus, TokenType},
};

/// What a create request asks for: the type, account and attributes.
pub(crate) fn new_token(token: Option<pb::AccessToken>) -> Result<(TokenType, Uuid, Attrs), Vec<Violation>> {
    let Some(token) = token else { return Err(vec![Violation::new("access_token", "Required")]) };
    let pb::AccessToken {
        id: _,
        r#type,
        account_id,
        status: _,
        expire_time: _,
        redeem_time: _,
        revoke_time: _,
        attrs: custom,
        livemode: _,
        create_time: _,
        update_time: _,
    } = token;
    let mut f = Fields::new("access_token");
    let kind = f.take(
        "type",
        match pb::AccessTokenType::try_from(r#type) {
            Ok(pb::AccessTokenType::SessionAccess) => Ok(TokenType::SessionAccess),
            Ok(pb::AccessTokenType::Merchant) => Ok(TokenType::Merchant),
            Ok(pb::AccessTokenType::Unspecified) => Err("Required: session_access or merchant".to_owned()),
            Err(_) => Err("Must be session_access or merchant".to_owned()),
        },
    );
    let account = if account_id.trim().is_empty() {
        f.push("account_id", "Required");
        None
    } else {
        f.take("account_id", id(&account_id))
    };
    let custom = f.take("attrs", attrs(custom));
    match (kind, account, custom) {
        (Some(kind), Some(account), Some(attrs)) if f.ok() => Ok((kind, account, attrs)),
        _ => Err(f.into_violations()),
    }
}

/// A token's record on the wire, its status as at `now`.
pub(crate) fn to_proto(token: AccessToken, now: DateTime<Utc>) -> pb::AccessToken {
    let status = token.status(now);
    let AccessToken {
        id,
        livemode,
        kind,
        account_id,
        expires_at,
        redeemed_at,
        revoked_at,
        issued_by: _,
        attrs,
        created_at,
        modified_at,
    } = token;
    pb::AccessToken {
        id: id.to_string(),
        r#type: match kind {
            TokenType::SessionAccess => pb::AccessTokenType::SessionAccess,
            TokenType::Merchant => pb::AccessTokenType::Merchant,
        } as i32,
        account_id: account_id.to_string(),
        status: match status {
            TokenStatus::Active => pb::AccessTokenStatus::Active,
            TokenStatus::Redeemed => pb::AccessTokenStatus::Redeemed,
            TokenStatus::Expired => pb::AccessTokenStatus::Expired,
            TokenStatus::Revoked => pb::AccessTokenStatus::Revoked,
        } as i32,
        expire_time: Some(timestamp(expires_at)),
        redeem_time: redeemed_at.map(timestamp),
        revoke_time: revoked_at.map(timestamp),
        attrs: Some(json::to_struct(attrs.into_inner())),
        livemode,
        create_time: Some(timestamp(created_at)),
        update_time: Some(timestamp(modified_at)),
    }
}
