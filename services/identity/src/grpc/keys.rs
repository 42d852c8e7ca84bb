//! `ApiKeyService`: a partner's keys, managed with its secret keys —
//! convert, call the service's API keys, convert back.

use paymesh_kit::{Error, idempotency};
use paymesh_proto::identity::v1::{self as pb, api_key_service_server::ApiKeyService};
use tonic::{Request, Response, Status};

use super::{secret, structs};
use crate::{convert::keys as wire, service::keys::ApiKeys};

/// `ApiKeyService` over the service's API keys.
#[derive(Clone, Debug)]
pub(crate) struct ApiKeyApi(pub(crate) ApiKeys);

#[tonic::async_trait]
impl ApiKeyService for ApiKeyApi {
    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        let (principal, _) = secret(&request)?;
        idempotency::refuse(
            &request,
            "an API key's secret is shown once and never kept to answer a retry; a retry makes another key",
        )?;
        let new = wire::new_key(request.into_inner().api_key).map_err(Error::InvalidAttributes)?;
        let now = self.0.clock.now();
        let (key, issued) = self.0.create(&principal, new, now).await?;
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
        let key = self.0.get(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetApiKeyResponse { api_key: Some(wire::to_proto(key, self.0.clock.now())) }))
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.0.list(scope, &query).await?;
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
        let (principal, _) = secret(&request)?;
        let pb::UpdateApiKeyRequest { api_key, update_mask } = request.into_inner();
        let (id, patch) = wire::patch(api_key, update_mask).map_err(Error::InvalidAttributes)?;
        let now = self.0.clock.now();
        let key = self.0.update(&principal, id, patch, now).await?;
        Ok(Response::new(pb::UpdateApiKeyResponse { api_key: Some(wire::to_proto(key, now)) }))
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::RevokeApiKeyResponse>, Status> {
        let (principal, _) = secret(&request)?;
        let now = self.0.clock.now();
        let key = self.0.revoke(&principal, &request.get_ref().id, now).await?;
        Ok(Response::new(pb::RevokeApiKeyResponse { api_key: Some(wire::to_proto(key, now)) }))
    }

    async fn roll_api_key(
        &self,
        request: Request<pb::RollApiKeyRequest>,
    ) -> Result<Response<pb::RollApiKeyResponse>, Status> {
        let (principal, _) = secret(&request)?;
        let pb::RollApiKeyRequest { id, grace_period_seconds } = request.into_inner();
        let now = self.0.clock.now();
        let rolled = self.0.roll(&principal, &id, grace_period_seconds, now).await?;
        Ok(Response::new(pb::RollApiKeyResponse {
            api_key: Some(wire::to_proto(rolled.key, now)),
            key: rolled.issued.key,
            previous: Some(wire::to_proto(rolled.previous, now)),
        }))
    }
}
