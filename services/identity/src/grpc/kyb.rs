//! `LegalEntityService`: legal entities and their owners.

use paymesh_kit::{Error, clock::Clock, config::ListLimits, idempotency::IdempotencyKeys};
use paymesh_proto::identity::v1::{self as pb, legal_entity_service_server::LegalEntityService};
use tonic::{Request, Response, Status};

use super::{object_id, secret, structs};
use crate::{convert::kyb as wire, store::Store};

/// `LegalEntityService` over the identity store.
#[derive(Debug, Clone)]
pub(crate) struct LegalEntityApi {
    store: Store,
    clock: Clock,
    limits: ListLimits,
    /// The idempotency keys of legal entity and owner creation.
    keys: IdempotencyKeys,
}

impl LegalEntityApi {
    /// Serves legal entities from `store`.
    pub(crate) fn new(store: Store, clock: Clock, limits: ListLimits, keys: IdempotencyKeys) -> Self {
        Self { store, clock, limits, keys }
    }
}

fn entity_not_found() -> Error {
    Error::NotFound { resource: "Legal entity" }
}

fn owner_not_found() -> Error {
    Error::NotFound { resource: "Owner" }
}

#[tonic::async_trait]
impl LegalEntityService for LegalEntityApi {
    async fn create_legal_entity(
        &self,
        request: Request<pb::CreateLegalEntityRequest>,
    ) -> Result<Response<pb::CreateLegalEntityResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let now = self.clock.now();
        self.keys
            .once(request, now, |_, message| async move {
                let (entity, owners) = wire::new_legal_entity(message.legal_entity, scope.livemode, now)
                    .map_err(Error::InvalidAttributes)?;
                let (entity, owners) = self.store.insert_legal_entity(scope, entity, owners).await?;
                Ok(pb::CreateLegalEntityResponse {
                    legal_entity: Some(wire::entity_to_proto(entity, owners)),
                })
            })
            .await
    }

    async fn get_legal_entity(
        &self,
        request: Request<pb::GetLegalEntityRequest>,
    ) -> Result<Response<pb::GetLegalEntityResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let id = object_id(&request.get_ref().id, entity_not_found)?;
        let (entity, owners) = self.store.legal_entity(scope, id).await?.ok_or_else(entity_not_found)?;
        Ok(Response::new(pb::GetLegalEntityResponse {
            legal_entity: Some(wire::entity_to_proto(entity, owners)),
        }))
    }

    async fn list_legal_entities(
        &self,
        request: Request<pb::ListLegalEntitiesRequest>,
    ) -> Result<Response<pb::ListLegalEntitiesResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.store.list_legal_entities(scope, &query, self.limits).await?;
        Ok(Response::new(pb::ListLegalEntitiesResponse {
            legal_entities: listing.items.into_iter().map(|(e, o)| wire::entity_to_proto(e, o)).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_legal_entity(
        &self,
        request: Request<pb::UpdateLegalEntityRequest>,
    ) -> Result<Response<pb::UpdateLegalEntityResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let now = self.clock.now();
        let pb::UpdateLegalEntityRequest { legal_entity, update_mask } = request.into_inner();
        let (id, patch) = wire::entity_patch(legal_entity, update_mask, now.date_naive())
            .map_err(Error::InvalidAttributes)?;
        let id = id.ok_or_else(entity_not_found)?;
        let (entity, owners) = self
            .store
            .update_legal_entity(scope, id, |entity| {
                entity.apply(patch, now).map_err(|problems| Error::invalid_under("legal_entity", problems))
            })
            .await?;
        Ok(Response::new(pb::UpdateLegalEntityResponse {
            legal_entity: Some(wire::entity_to_proto(entity, owners)),
        }))
    }

    async fn delete_legal_entity(
        &self,
        request: Request<pb::DeleteLegalEntityRequest>,
    ) -> Result<Response<pb::DeleteLegalEntityResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let id = object_id(&request.get_ref().id, entity_not_found)?;
        let (entity, owners) = self.store.delete_legal_entity(scope, id, self.clock.now()).await?;
        Ok(Response::new(pb::DeleteLegalEntityResponse {
            legal_entity: Some(wire::entity_to_proto(entity, owners)),
        }))
    }

    async fn create_owner(
        &self,
        request: Request<pb::CreateOwnerRequest>,
    ) -> Result<Response<pb::CreateOwnerResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let now = self.clock.now();
        self.keys
            .once(request, now, |_, message| async move {
                let owner =
                    wire::new_owner(message.owner, scope.livemode, now).map_err(Error::InvalidAttributes)?;
                let owner = self.store.insert_owner(scope, owner).await?;
                Ok(pb::CreateOwnerResponse { owner: Some(wire::owner_to_proto(owner)) })
            })
            .await
    }

    async fn get_owner(
        &self,
        request: Request<pb::GetOwnerRequest>,
    ) -> Result<Response<pb::GetOwnerResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let id = object_id(&request.get_ref().id, owner_not_found)?;
        let owner = self.store.owner(scope, id).await?.ok_or_else(owner_not_found)?;
        Ok(Response::new(pb::GetOwnerResponse { owner: Some(wire::owner_to_proto(owner)) }))
    }

    async fn list_owners(
        &self,
        request: Request<pb::ListOwnersRequest>,
    ) -> Result<Response<pb::ListOwnersResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.store.list_owners(scope, &query, self.limits).await?;
        Ok(Response::new(pb::ListOwnersResponse {
            owners: listing.items.into_iter().map(wire::owner_to_proto).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_owner(
        &self,
        request: Request<pb::UpdateOwnerRequest>,
    ) -> Result<Response<pb::UpdateOwnerResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let now = self.clock.now();
        let pb::UpdateOwnerRequest { owner, update_mask } = request.into_inner();
        let (id, patch) =
            wire::owner_patch(owner, update_mask, now.date_naive()).map_err(Error::InvalidAttributes)?;
        let id = id.ok_or_else(owner_not_found)?;
        let owner = self
            .store
            .update_owner(scope, id, |owner| {
                owner.apply(patch, now).map_err(|problems| Error::invalid_under("owner", problems))
            })
            .await?;
        Ok(Response::new(pb::UpdateOwnerResponse { owner: Some(wire::owner_to_proto(owner)) }))
    }

    async fn delete_owner(
        &self,
        request: Request<pb::DeleteOwnerRequest>,
    ) -> Result<Response<pb::DeleteOwnerResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let id = object_id(&request.get_ref().id, owner_not_found)?;
        let owner = self.store.delete_owner(scope, id, self.clock.now()).await?;
        Ok(Response::new(pb::DeleteOwnerResponse { owner: Some(wire::owner_to_proto(owner)) }))
    }
}
