//! The identity gRPC handlers: authorize, convert, call the service,
//! convert back. The operations live in `service`, the rules in `domain`,
//! the SQL in `store`.
//!
//! One module per gRPC service: `auth`, `accounts`, `kyb` (legal entities
//! and owners), `documents`, `keys` (API keys), `tokens` (access tokens).

pub(crate) mod accounts;
pub(crate) mod auth;
pub(crate) mod documents;
pub(crate) mod keys;
pub(crate) mod kyb;
pub(crate) mod tokens;

use paymesh_kit::auth::ServiceResources;
pub(crate) use paymesh_kit::{auth::secret, wire::structs};

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
