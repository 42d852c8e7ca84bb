//! `ApiKeyService`: a partner's keys, managed with its secret keys.

use anyhow::Context as _;
use paymesh_kit::{Error, idempotency};
use paymesh_proto::identity::v1::{self as pb, api_key_service_server::ApiKeyService};
use tonic::{Request, Response, Status};

use super::{object_id, secret, structs};
use crate::{
    convert::keys as wire,
    domain::key::{ApiKey, ApiKeyKind, IssuedKey, KeyClass, may_grant, may_grant_key},
    service::keys::ApiKeys,
};

/// `ApiKeyService` over the service's API keys.
#[derive(Clone, Debug)]
pub(crate) struct ApiKeyApi(pub(crate) ApiKeys);

fn not_found() -> Error {
    Error::NotFound { resource: "API key" }
}

#[tonic::async_trait]
impl ApiKeyService for ApiKeyApi {
    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        idempotency::refuse(
            &request,
            "an API key's secret is shown once and never kept to answer a retry; a retry makes another key",
        )?;
        let (kind, name, permissions, attrs) =
            wire::new_key(request.into_inner().api_key).map_err(Error::InvalidAttributes)?;
        may_grant_key(principal.permissions.as_deref(), kind, &permissions)
            .map_err(|why| Error::invalid("api_key.permissions", why))?;
        let issued = IssuedKey::generate(KeyClass { livemode: scope.livemode, kind })
            .context("the OS random source failed")
            .map_err(Error::Internal)?;
        let now = self.0.clock.now();
        let key = ApiKey::issued(&issued, name, permissions, attrs, now);
        self.0.store.insert_api_key(scope, &key, &issued).await?;
        Ok(Response::new(pb::CreateApiKeyResponse {
            api_key: Some(wire::to_proto(key, now)),
            key: issued.key,
        }))
    }

    async fn get_api_key(
        &self,
        request: Request<pb::GetApiKeyRequest>,
    ) -> Result<Response<pb::GetApiKeyResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let id = object_id(&request.get_ref().id, not_found)?;
        let key = self.0.store.api_key(scope, id).await?.ok_or_else(not_found)?;
        Ok(Response::new(pb::GetApiKeyResponse { api_key: Some(wire::to_proto(key, self.0.clock.now())) }))
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.0.store.list_api_keys(scope, &query, self.0.limits).await?;
        let now = self.0.clock.now();
        Ok(Response::new(pb::ListApiKeysResponse {
            api_keys: listing.items.into_iter().map(|k| wire::to_proto(k, now)).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_api_key(
        &self,
        request: Request<pb::UpdateApiKeyRequest>,
    ) -> Result<Response<pb::UpdateApiKeyResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        let pb::UpdateApiKeyRequest { api_key, update_mask } = request.into_inner();
        let (id, patch) = wire::patch(api_key, update_mask).map_err(Error::InvalidAttributes)?;
        let id = id.ok_or_else(not_found)?;
        if let Some(permissions) = &patch.permissions {
            may_grant(principal.permissions.as_deref(), permissions)
                .map_err(|why| Error::invalid("api_key.permissions", why))?;
        }
        let now = self.0.clock.now();
        let (key, hash) = self
            .0
            .update(scope, id, principal.permissions.as_deref(), |key| {
                let mut changed = key.clone();
                if let Some(name) = patch.name.clone() {
                    changed.name = name;
                }
                if let Some(permissions) = patch.permissions.clone() {
                    if key.class.kind == ApiKeyKind::Client && !permissions.is_empty() {
                        return Err(Error::invalid(
                            "api_key.permissions",
                            "Client keys are restricted by their kind; permissions apply to secret keys",
                        ));
                    }
                    changed.permissions = permissions;
                }
                changed.attrs = key
                    .attrs
                    .patched(patch.attrs.clone())
                    .map_err(|why| Error::invalid("api_key.attrs", why))?;
                changed.modified_at = now;
                Ok(changed)
            })
            .await?;
        // New permissions apply at once here; other services' caches follow
        // within their TTL.
        self.0.cache.evict(&hash);
        Ok(Response::new(pb::UpdateApiKeyResponse { api_key: Some(wire::to_proto(key, now)) }))
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::RevokeApiKeyResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        let id = object_id(&request.get_ref().id, not_found)?;
        let now = self.0.clock.now();
        let (key, hash) = self.0.revoke(scope, id, &principal, now).await?;
        self.0.cache.evict(&hash);
        Ok(Response::new(pb::RevokeApiKeyResponse { api_key: Some(wire::to_proto(key, now)) }))
    }

    async fn roll_api_key(
        &self,
        request: Request<pb::RollApiKeyRequest>,
    ) -> Result<Response<pb::RollApiKeyResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        let pb::RollApiKeyRequest { id, grace_period_seconds } = request.into_inner();
        let id = object_id(&id, not_found)?;
        let now = self.0.clock.now();
        let rolled =
            self.0.roll(scope, id, principal.permissions.as_deref(), grace_period_seconds, now).await?;
        self.0.cache.evict(&rolled.previous_hash);
        Ok(Response::new(pb::RollApiKeyResponse {
            api_key: Some(wire::to_proto(rolled.key, now)),
            key: rolled.issued.key,
            previous: Some(wire::to_proto(rolled.previous, now)),
        }))
    }
}
