//! `LegalEntityService`: legal entities and their owners — convert, call
//! the service's legal entities, convert back.

use paymesh_kit::batch;
use paymesh_proto::identity::v1::{self as pb, legal_entity_service_server::LegalEntityService};
use tonic::{Request, Response, Status};

use super::{secret, structs};
use crate::{
    convert::kyb as wire,
    domain::legal_entity::{EntityWithOwners, Owner},
    service::kyb::{LegalEntities, Targets},
};

/// `LegalEntityService` over the service's legal entities.
#[derive(Debug, Clone)]
pub(crate) struct LegalEntityApi(pub(crate) LegalEntities);

fn entities(done: Vec<EntityWithOwners>) -> Vec<pb::LegalEntity> {
    done.into_iter().map(|(e, o)| wire::entity_to_proto(e, o)).collect()
}

fn owners(done: Vec<Owner>) -> Vec<pb::Owner> {
    done.into_iter().map(wire::owner_to_proto).collect()
}

#[tonic::async_trait]
impl LegalEntityService for LegalEntityApi {
    async fn create_legal_entity(
        &self,
        request: Request<pb::CreateLegalEntityRequest>,
    ) -> Result<Response<pb::CreateLegalEntityResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let service = &self.0;
        service
            .keys
            .once(request, service.clock.now(), |_, message| async move {
                let pb::CreateLegalEntityRequest { legal_entity } = message;
                let mut created = entities(service.create_entities(scope, vec![legal_entity], false).await?);
                Ok(pb::CreateLegalEntityResponse { legal_entity: created.pop() })
            })
            .await
    }

    async fn batch_create_legal_entities(
        &self,
        request: Request<pb::BatchCreateLegalEntitiesRequest>,
    ) -> Result<Response<pb::BatchCreateLegalEntitiesResponse>, Status> {
        let (_, scope) = secret(&request)?;
        batch::check_size(request.get_ref().requests.len(), "requests")?;
        let service = &self.0;
        service
            .keys
            .once(request, service.clock.now(), |_, message| async move {
                let given = message.requests.into_iter().map(|r| r.legal_entity).collect();
                let legal_entities = entities(service.create_entities(scope, given, true).await?);
                Ok(pb::BatchCreateLegalEntitiesResponse { legal_entities })
            })
            .await
    }

    async fn get_legal_entity(
        &self,
        request: Request<pb::GetLegalEntityRequest>,
    ) -> Result<Response<pb::GetLegalEntityResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let (entity, owners) = self.0.entity(scope, &request.get_ref().id).await?;
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
        let listing = self.0.list_entities(scope, &query).await?;
        Ok(Response::new(pb::ListLegalEntitiesResponse {
            legal_entities: entities(listing.items),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_legal_entity(
        &self,
        request: Request<pb::UpdateLegalEntityRequest>,
    ) -> Result<Response<pb::UpdateLegalEntityResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let mut changed = entities(self.0.update_entities(scope, vec![request.into_inner()], false).await?);
        Ok(Response::new(pb::UpdateLegalEntityResponse { legal_entity: changed.pop() }))
    }

    async fn batch_update_legal_entities(
        &self,
        request: Request<pb::BatchUpdateLegalEntitiesRequest>,
    ) -> Result<Response<pb::BatchUpdateLegalEntitiesResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let pb::BatchUpdateLegalEntitiesRequest { requests } = request.into_inner();
        batch::check_size(requests.len(), "requests")?;
        let legal_entities = entities(self.0.update_entities(scope, requests, true).await?);
        Ok(Response::new(pb::BatchUpdateLegalEntitiesResponse { legal_entities }))
    }

    async fn update_legal_entities_by_query(
        &self,
        request: Request<pb::UpdateLegalEntitiesByQueryRequest>,
    ) -> Result<Response<pb::UpdateLegalEntitiesByQueryResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let pb::UpdateLegalEntitiesByQueryRequest { filters, legal_entity, update_mask } =
            request.into_inner();
        let changed = self.0.update_entities_by_query(scope, filters, legal_entity, update_mask).await?;
        Ok(Response::new(pb::UpdateLegalEntitiesByQueryResponse { legal_entities: entities(changed) }))
    }

    async fn delete_legal_entity(
        &self,
        request: Request<pb::DeleteLegalEntityRequest>,
    ) -> Result<Response<pb::DeleteLegalEntityResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let pb::DeleteLegalEntityRequest { id } = request.into_inner();
        let mut deleted = entities(self.0.delete_entities(scope, Targets::One(id)).await?);
        Ok(Response::new(pb::DeleteLegalEntityResponse { legal_entity: deleted.pop() }))
    }

    async fn batch_delete_legal_entities(
        &self,
        request: Request<pb::BatchDeleteLegalEntitiesRequest>,
    ) -> Result<Response<pb::BatchDeleteLegalEntitiesResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let pb::BatchDeleteLegalEntitiesRequest { ids } = request.into_inner();
        batch::check_size(ids.len(), "ids")?;
        let legal_entities = entities(self.0.delete_entities(scope, Targets::Ids(ids)).await?);
        Ok(Response::new(pb::BatchDeleteLegalEntitiesResponse { legal_entities }))
    }

    async fn delete_legal_entities_by_query(
        &self,
        request: Request<pb::DeleteLegalEntitiesByQueryRequest>,
    ) -> Result<Response<pb::DeleteLegalEntitiesByQueryResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let pb::DeleteLegalEntitiesByQueryRequest { filters } = request.into_inner();
        let legal_entities = entities(self.0.delete_entities(scope, Targets::Query(filters)).await?);
        Ok(Response::new(pb::DeleteLegalEntitiesByQueryResponse { legal_entities }))
    }

    async fn create_owner(
        &self,
        request: Request<pb::CreateOwnerRequest>,
    ) -> Result<Response<pb::CreateOwnerResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let service = &self.0;
        service
            .keys
            .once(request, service.clock.now(), |_, message| async move {
                let pb::CreateOwnerRequest { owner } = message;
                let mut created = owners(service.create_owners(scope, vec![owner], false).await?);
                Ok(pb::CreateOwnerResponse { owner: created.pop() })
            })
            .await
    }

    async fn batch_create_owners(
        &self,
        request: Request<pb::BatchCreateOwnersRequest>,
    ) -> Result<Response<pb::BatchCreateOwnersResponse>, Status> {
        let (_, scope) = secret(&request)?;
        batch::check_size(request.get_ref().requests.len(), "requests")?;
        let service = &self.0;
        service
            .keys
            .once(request, service.clock.now(), |_, message| async move {
                let given = message.requests.into_iter().map(|r| r.owner).collect();
                let owners = owners(service.create_owners(scope, given, true).await?);
                Ok(pb::BatchCreateOwnersResponse { owners })
            })
            .await
    }

    async fn get_owner(
        &self,
        request: Request<pb::GetOwnerRequest>,
    ) -> Result<Response<pb::GetOwnerResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let owner = self.0.owner(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetOwnerResponse { owner: Some(wire::owner_to_proto(owner)) }))
    }

    async fn list_owners(
        &self,
        request: Request<pb::ListOwnersRequest>,
    ) -> Result<Response<pb::ListOwnersResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.0.list_owners(scope, &query).await?;
        Ok(Response::new(pb::ListOwnersResponse {
            owners: owners(listing.items),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_owner(
        &self,
        request: Request<pb::UpdateOwnerRequest>,
    ) -> Result<Response<pb::UpdateOwnerResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let mut changed = owners(self.0.update_owners(scope, vec![request.into_inner()], false).await?);
        Ok(Response::new(pb::UpdateOwnerResponse { owner: changed.pop() }))
    }

    async fn batch_update_owners(
        &self,
        request: Request<pb::BatchUpdateOwnersRequest>,
    ) -> Result<Response<pb::BatchUpdateOwnersResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let pb::BatchUpdateOwnersRequest { requests } = request.into_inner();
        batch::check_size(requests.len(), "requests")?;
        let owners = owners(self.0.update_owners(scope, requests, true).await?);
        Ok(Response::new(pb::BatchUpdateOwnersResponse { owners }))
    }

    async fn update_owners_by_query(
        &self,
        request: Request<pb::UpdateOwnersByQueryRequest>,
    ) -> Result<Response<pb::UpdateOwnersByQueryResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let pb::UpdateOwnersByQueryRequest { filters, owner, update_mask } = request.into_inner();
        let owners = owners(self.0.update_owners_by_query(scope, filters, owner, update_mask).await?);
        Ok(Response::new(pb::UpdateOwnersByQueryResponse { owners }))
    }

    async fn delete_owner(
        &self,
        request: Request<pb::DeleteOwnerRequest>,
    ) -> Result<Response<pb::DeleteOwnerResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let pb::DeleteOwnerRequest { id } = request.into_inner();
        let mut deleted = owners(self.0.delete_owners(scope, Targets::One(id)).await?);
        Ok(Response::new(pb::DeleteOwnerResponse { owner: deleted.pop() }))
    }

    async fn batch_delete_owners(
        &self,
        request: Request<pb::BatchDeleteOwnersRequest>,
    ) -> Result<Response<pb::BatchDeleteOwnersResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let pb::BatchDeleteOwnersRequest { ids } = request.into_inner();
        batch::check_size(ids.len(), "ids")?;
        let owners = owners(self.0.delete_owners(scope, Targets::Ids(ids)).await?);
        Ok(Response::new(pb::BatchDeleteOwnersResponse { owners }))
    }

    async fn delete_owners_by_query(
        &self,
        request: Request<pb::DeleteOwnersByQueryRequest>,
    ) -> Result<Response<pb::DeleteOwnersByQueryResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let pb::DeleteOwnersByQueryRequest { filters } = request.into_inner();
        let owners = owners(self.0.delete_owners(scope, Targets::Query(filters)).await?);
        Ok(Response::new(pb::DeleteOwnersByQueryResponse { owners }))
    }
}
