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

use paymesh_kit::auth::{Principal, ServiceResources};
pub(crate) use paymesh_kit::{
    auth::secret,
    wire::{object_id, structs},
};

use crate::domain::lifecycle::Actor;

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
