//! API keys on the wire: never the key, except once, beside its record.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Violation,
    auth::{Permission, permission_to_proto, verb_from_proto},
    json,
};
use paymesh_proto::identity::v1 as pb;
use prost_types::FieldMask;
use uuid::Uuid;

use super::{Fields, attrs, timestamp};
use crate::domain::{
    account::Attrs,
    key::{ApiKey, ApiKeyKind, KeyPatch, KeyStatus, MAX_PERMISSIONS, key_name, parse_permission},
};

/// Permissions from the wire, each checked.
fn permissions(f: &mut Fields<'_>, given: Vec<pb::Permission>) -> Option<Vec<Permission>> {
    if given.len() > MAX_PERMISSIONS {
        f.push("permissions", format!("At most {MAX_PERMISSIONS} permissions"));
        return None;
    }
    let mut parsed = Vec::with_capacity(given.len());
    for (i, pb::Permission { method, resource }) in given.into_iter().enumerate() {
        if let Some(p) =
            f.take(&format!("permissions[{i}]"), parse_permission(verb_from_proto(method), &resource))
        {
            parsed.push(p);
        }
    }
    f.ok().then_some(parsed)
}

/// What a create request asks for: the kind, name, permissions and
/// custom attributes of the new key.
pub(crate) fn new_key(
    key: Option<pb::ApiKey>,
) -> Result<(ApiKeyKind, String, Vec<Permission>, Attrs), Vec<Violation>> {
    let Some(key) = key else { return Err(vec![Violation::new("api_key", "Required")]) };
    let pb::ApiKey {
        id: _,
        kind,
        livemode: _,
        name,
        prefix: _,
        last4: _,
        permissions: given,
        status: _,
        expire_time: _,
        revoke_time: _,
        rolled_to_id: _,
        attrs: custom,
        create_time: _,
        update_time: _,
        redacted: _,
    } = key;
    let mut f = Fields::new("api_key");
    let kind = f.take(
        "kind",
        match pb::KeyKind::try_from(kind) {
            Ok(pb::KeyKind::Secret) => Ok(ApiKeyKind::Secret),
            Ok(pb::KeyKind::Client) => Ok(ApiKeyKind::Client),
            Ok(pb::KeyKind::Unspecified) => Err("Required: secret or client".to_owned()),
            _ => Err("Must be secret or client".to_owned()),
        },
    );
    let name = f.take("name", key_name(&name));
    let permissions = permissions(&mut f, given);
    if kind == Some(ApiKeyKind::Client) && permissions.as_ref().is_some_and(|p| !p.is_empty()) {
        f.push("permissions", "Client keys are restricted by their kind; permissions apply to secret keys");
    }
    let custom = f.take("attrs", attrs(custom));
    match (kind, name, permissions, custom) {
        (Some(kind), Some(name), Some(permissions), Some(attrs)) if f.ok() => {
            Ok((kind, name, permissions, attrs))
        }
        _ => Err(f.into_violations()),
    }
}

/// The attributes a key update may name.
pub(crate) const UPDATABLE: &[&str] = &["name", "permissions", "attrs"];

/// The target and change of a key update.
pub(crate) fn patch(
    key: Option<pb::ApiKey>,
    mask: Option<FieldMask>,
) -> Result<(Option<Uuid>, KeyPatch), Vec<Violation>> {
    let Some(key) = key else { return Err(vec![Violation::new("api_key", "Required")]) };
    let mut f = Fields::new("api_key");
    let mut patch = KeyPatch::default();
    let mut given = Some(key.permissions);
    for path in mask.map(|m| m.paths).unwrap_or_default() {
        match path.as_str() {
            "name" => patch.name = f.take("name", key_name(&key.name)),
            "permissions" => {
                if let Some(list) = given.take() {
                    patch.permissions = permissions(&mut f, list);
                }
            }
            "attrs" => patch.attrs = Some(key.attrs.clone().map(json::from_struct)),
            "kind" => f.push("kind", "Cannot be changed"),
            "prefix" | "last4" | "status" | "expire_time" | "revoke_time" | "rolled_to_id" => {
                f.push(&path, "Read-only attribute");
            }
            other => f.unchangeable(other, UPDATABLE),
        }
    }
    if f.ok() { Ok((key.id.parse().ok(), patch)) } else { Err(f.into_violations()) }
}

/// A key's record on the wire, its status as at `now`.
pub(crate) fn to_proto(key: ApiKey, now: DateTime<Utc>) -> pb::ApiKey {
    let status = key.status(now);
    let ApiKey {
        id,
        class,
        name,
        last4,
        permissions,
        expires_at,
        revoked_at,
        rolled_to_id,
        attrs,
        created_at,
        modified_at,
    } = key;
    pb::ApiKey {
        id: id.to_string(),
        kind: match class.kind {
            ApiKeyKind::Secret => pb::KeyKind::Secret,
            ApiKeyKind::Client => pb::KeyKind::Client,
        } as i32,
        livemode: class.livemode,
        name,
        redacted: format!("{}…{last4}", class.prefix()),
        prefix: class.prefix().to_owned(),
        last4,
        permissions: permissions.iter().map(permission_to_proto).collect(),
        status: match status {
            KeyStatus::Active => pb::ApiKeyStatus::Active,
            KeyStatus::Expiring => pb::ApiKeyStatus::Expiring,
            KeyStatus::Expired => pb::ApiKeyStatus::Expired,
            KeyStatus::Revoked => pb::ApiKeyStatus::Revoked,
        } as i32,
        expire_time: expires_at.map(timestamp),
        revoke_time: revoked_at.map(timestamp),
        rolled_to_id: rolled_to_id.map(|id| id.to_string()),
        attrs: Some(json::to_struct(attrs.into_inner())),
        create_time: Some(timestamp(created_at)),
        update_time: Some(timestamp(modified_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_needs_a_kind_and_valid_permissions() {
        let key = pb::ApiKey {
            kind: pb::KeyKind::Merchant as i32,
            permissions: vec![
                pb::Permission { method: pb::PermissionMethod::Get as i32, resource: "/customers".into() },
                pb::Permission { method: 0, resource: "customers".into() },
            ],
            ..pb::ApiKey::default()
        };
        let fields: Vec<String> = new_key(Some(key)).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["api_key.kind", "api_key.permissions[1]"]);
        let ok =
            pb::ApiKey { kind: pb::KeyKind::Client as i32, name: "Checkout".into(), ..pb::ApiKey::default() };
        let (kind, name, permissions, _) = new_key(Some(ok)).unwrap();
        assert_eq!((kind, name.as_str(), permissions.len()), (ApiKeyKind::Client, "Checkout", 0));
    }
}
