//! The identity gRPC handlers: authorize, convert, call the store, convert
//! back. The rules live in `domain`; the SQL in `store`.
//!
//! One module per service: `auth` (and the authenticator every identity
//! call passes through), `accounts`, `kyb` (legal entities and owners),
//! `documents`, `keys` (API keys), `tokens` (access tokens).

pub(crate) mod accounts;
pub(crate) mod auth;
pub(crate) mod documents;
pub(crate) mod keys;
pub(crate) mod kyb;
pub(crate) mod tokens;

use std::collections::HashSet;

use paymesh_kit::{
    Error, MAX_BATCH, Violation,
    auth::{Principal, ServiceResources},
};
pub(crate) use paymesh_kit::{
    auth::secret,
    wire::{object_id, structs},
};
use uuid::Uuid;

use crate::store::accounts::Actor;

/// The REST resources each identity service serves, for restricted keys.
pub(crate) static RESOURCES: &[ServiceResources] = &[
    ServiceResources {
        service: "paymesh.identity.v1.AccountService",
        resources: &["/accounts", "/customers", "/processing_accounts"],
    },
    ServiceResources {
        service: "paymesh.identity.v1.LegalEntityService",
        resources: &["/legal_entities", "/legal_entity_owners"],
    },
    ServiceResources { service: "paymesh.identity.v1.DocumentService", resources: &["/documents"] },
    ServiceResources { service: "paymesh.identity.v1.ApiKeyService", resources: &["/api_keys"] },
    ServiceResources { service: "paymesh.identity.v1.AccessTokenService", resources: &["/access_tokens"] },
];

/// Who the principal is, for the status history.
pub(crate) fn actor(principal: &Principal) -> Actor {
    Actor::ApiKey(principal.key_id)
}

/// Violations under a parent path (`requests[1]`).
pub(crate) fn nested(violations: Vec<Violation>, parent: &str) -> Vec<Violation> {
    violations.into_iter().map(|v| v.nest(parent)).collect()
}

/// Checks a batch holds between one and `MAX_BATCH` items.
pub(crate) fn check_batch_size(len: usize, field: &str) -> Result<(), Error> {
    if len == 0 {
        return Err(Error::invalid(field, "At least one item is required"));
    }
    if len > MAX_BATCH {
        return Err(Error::invalid(field, format!("At most {MAX_BATCH} items per request")));
    }
    Ok(())
}

/// Checks batch ids, already parsed (`None` when malformed): every one must
/// be well formed and listed once.
pub(crate) fn batch_ids(
    ids: impl Iterator<Item = (usize, Option<Uuid>)>,
    field: impl Fn(usize) -> String,
    missing: &str,
) -> Result<Vec<Uuid>, Error> {
    let mut violations = Vec::new();
    let mut seen = HashSet::new();
    let mut checked = Vec::new();
    for (i, id) in ids {
        match id {
            Some(id) if seen.insert(id) => checked.push(id),
            Some(_) => violations.push(Violation::new(field(i), "Listed more than once")),
            None => violations.push(Violation::new(field(i), missing)),
        }
    }
    if violations.is_empty() { Ok(checked) } else { Err(Error::InvalidAttributes(violations)) }
}
