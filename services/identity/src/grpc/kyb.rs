//! `LegalEntityService`: legal entities and their owners.
//!
//! Every change, of one object or a batch, runs in one transaction that
//! holds the partner's KYB lock: a batch is all or none, and an item's
//! problems are reported in its place (`requests[i]…`, `ids[i]`).

use paymesh_kit::{Error, Violation, batch, query};
use paymesh_proto::{
    common::v1::Filter,
    identity::v1::{self as pb, legal_entity_service_server::LegalEntityService},
};
use prost_types::FieldMask;
use sqlx::PgConnection;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{object_id, secret, structs};
use crate::{
    convert::kyb as wire,
    domain::legal_entity::{LegalEntity, LegalEntityPatch, Owner, OwnerPatch},
    service::kyb::{LegalEntities, entity_not_found, owner_not_found},
    store::{
        Store,
        kyb::{EntityWithOwners, LEGAL_ENTITIES, OWNERS},
    },
};

/// `LegalEntityService` over the service's legal entities.
#[derive(Debug, Clone)]
pub(crate) struct LegalEntityApi(pub(crate) LegalEntities);

/// Which objects a change acts on, and where each one's problems go.
enum Targets {
    /// One, by id: unknown is not found.
    One(String),
    /// A batch of update requests, by id: problems under `requests[i]`.
    Requests(Vec<String>),
    /// A batch of ids: problems on `ids[i]`.
    Ids(Vec<String>),
    /// Every match of the filters: problems name the match.
    Query(Vec<Filter>),
}

impl Targets {
    /// The ids, checked (malformed or repeated ids refused), or the
    /// matches of the filters of `resource`, read under the KYB lock.
    async fn resolve(
        &self,
        store: &Store,
        tx: &mut PgConnection,
        scope: paymesh_kit::auth::Scope,
        resource: &query::Resource,
        not_found: fn() -> Error,
        max: u32,
    ) -> Result<Vec<Uuid>, Error> {
        let no_such = format!("No such {}", resource.name.replace('_', " "));
        match self {
            Self::One(id) => Ok(vec![object_id(id, not_found)?]),
            Self::Requests(ids) | Self::Ids(ids) => {
                let parsed = ids.iter().map(|id| id.trim().parse().ok()).enumerate();
                batch::ids(parsed, |i| self.id_field(i, resource), &no_such)
            }
            Self::Query(filters) => store.matching_ids(tx, resource, scope, filters, max).await,
        }
    }

    /// The field naming the `i`-th id.
    fn id_field(&self, i: usize, resource: &query::Resource) -> String {
        match self {
            Self::Requests(_) => format!("requests[{i}].{}.id", message_field(resource)),
            Self::Ids(_) => format!("ids[{i}]"),
            Self::One(_) | Self::Query(_) => "id".to_owned(),
        }
    }

    /// The problems of the `i`-th target (`id`), placed; errors that are
    /// not about the item are the request's.
    fn place(
        &self,
        error: Error,
        i: usize,
        id: Uuid,
        resource: &query::Resource,
    ) -> Result<Vec<Violation>, Error> {
        let noun = resource.name.replace('_', " ");
        match (self, error) {
            (Self::One(_), error) => Err(error),
            (Self::Requests(_) | Self::Ids(_), Error::NotFound { .. }) => {
                Ok(vec![Violation::new(self.id_field(i, resource), format!("No such {noun}"))])
            }
            (Self::Requests(_), error) => Ok(batch_violations(error, &format!("requests[{i}]"))?),
            (Self::Ids(_), Error::Conflict(why)) => Ok(vec![Violation::new(format!("ids[{i}]"), why)]),
            (Self::Query(_), Error::Conflict(why)) => {
                Ok(vec![Violation::new("filters", format!("{} {id}: {why}", capitalized(&noun)))])
            }
            (Self::Ids(_) | Self::Query(_), Error::InvalidAttributes(v)) => Ok(v
                .into_iter()
                .map(|v| Violation::new(v.field, format!("{} {id}: {}", capitalized(&noun), v.description)))
                .collect()),
            (_, error) => Err(error),
        }
    }
}

/// `legal_entity` or `owner`: the field of the service's messages.
fn message_field(resource: &query::Resource) -> &'static str {
    if resource.name == OWNERS.name { "owner" } else { "legal_entity" }
}

fn capitalized(noun: &str) -> String {
    let mut chars = noun.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// An item's invalid attributes under `parent`.
fn batch_violations(error: Error, parent: &str) -> Result<Vec<Violation>, Error> {
    let mut violations = Vec::new();
    batch::gather(&mut violations, error, parent)?;
    Ok(violations)
}

/// The ids and patches `read` finds in update requests; every request's
/// problems at once, under `requests[i]` when `many`.
fn patches<R, P>(
    requests: Vec<R>,
    many: bool,
    read: impl Fn(R) -> (String, Result<P, Vec<Violation>>),
) -> Result<(Vec<String>, Vec<P>), Error> {
    let mut violations = Vec::new();
    let mut ids = Vec::with_capacity(requests.len());
    let mut patches = Vec::with_capacity(requests.len());
    for (i, request) in requests.into_iter().enumerate() {
        match read(request) {
            (id, Ok(patch)) => {
                ids.push(id);
                patches.push(patch);
            }
            (_, Err(v)) => violations.extend(batch::nested(v, &item(many, i))),
        }
    }
    batch::finish((ids, patches), violations)
}

/// Where the `i`-th new object's problems go.
fn item(many: bool, i: usize) -> String {
    if many { format!("requests[{i}]") } else { String::new() }
}

impl LegalEntityApi {
    /// Creates legal entities (with their owners), all or none.
    async fn create_entities(
        &self,
        scope: paymesh_kit::auth::Scope,
        given: Vec<Option<pb::LegalEntity>>,
        many: bool,
    ) -> Result<Vec<pb::LegalEntity>, Error> {
        let now = self.0.clock.now();
        let mut violations = Vec::new();
        let mut new = Vec::with_capacity(given.len());
        for (i, entity) in given.into_iter().enumerate() {
            match wire::new_legal_entity(entity, scope.livemode, now) {
                Ok(made) => new.push(made),
                Err(v) => violations.extend(batch::nested(v, &item(many, i))),
            }
        }
        let new = batch::finish(new, violations)?;
        let mut tx = self.0.store.kyb_transaction(scope).await?;
        let mut violations = Vec::new();
        let mut created = Vec::with_capacity(new.len());
        for (i, (entity, owners)) in new.into_iter().enumerate() {
            match self.0.insert_entity(&mut tx, scope, entity, owners).await {
                Ok((entity, owners)) => created.push(wire::entity_to_proto(entity, owners)),
                Err(e) => batch::gather(&mut violations, e, &item(many, i))?,
            }
        }
        let created = batch::finish(created, violations)?;
        tx.commit().await?;
        Ok(created)
    }

    /// Applies `change(i, entity)` to each target, all or none.
    async fn change_entities(
        &self,
        scope: paymesh_kit::auth::Scope,
        targets: Targets,
        change: impl Fn(usize, &LegalEntity) -> Result<LegalEntity, Error> + Sync,
    ) -> Result<Vec<pb::LegalEntity>, Error> {
        let mut tx = self.0.store.kyb_transaction(scope).await?;
        let max = self.0.limits.max_limit;
        let ids =
            targets.resolve(&self.0.store, &mut tx, scope, &LEGAL_ENTITIES, entity_not_found, max).await?;
        let mut violations = Vec::new();
        let mut changed = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            match self.0.update_entity(&mut tx, scope, *id, |e| change(i, e)).await {
                Ok((entity, owners)) => changed.push(wire::entity_to_proto(entity, owners)),
                Err(e) => violations.extend(targets.place(e, i, *id, &LEGAL_ENTITIES)?),
            }
        }
        let changed = batch::finish(changed, violations)?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Deletes each target with its owners, all or none.
    async fn delete_entities(
        &self,
        scope: paymesh_kit::auth::Scope,
        targets: Targets,
    ) -> Result<Vec<pb::LegalEntity>, Error> {
        let now = self.0.clock.now();
        let mut tx = self.0.store.kyb_transaction(scope).await?;
        let max = self.0.limits.max_limit;
        let ids =
            targets.resolve(&self.0.store, &mut tx, scope, &LEGAL_ENTITIES, entity_not_found, max).await?;
        let mut violations = Vec::new();
        let mut deleted: Vec<EntityWithOwners> = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            match self.0.delete_entity(&mut tx, scope, *id, now).await {
                Ok(done) => deleted.push(done),
                Err(e) => violations.extend(targets.place(e, i, *id, &LEGAL_ENTITIES)?),
            }
        }
        let deleted = batch::finish(deleted, violations)?;
        tx.commit().await?;
        Ok(deleted.into_iter().map(|(e, o)| wire::entity_to_proto(e, o)).collect())
    }

    /// Adds owners to their entities, all or none.
    async fn create_owners(
        &self,
        scope: paymesh_kit::auth::Scope,
        given: Vec<Option<pb::Owner>>,
        many: bool,
    ) -> Result<Vec<pb::Owner>, Error> {
        let now = self.0.clock.now();
        let mut violations = Vec::new();
        let mut new = Vec::with_capacity(given.len());
        for (i, owner) in given.into_iter().enumerate() {
            match wire::new_owner(owner, scope.livemode, now) {
                Ok(owner) => new.push(owner),
                Err(v) => violations.extend(batch::nested(v, &item(many, i))),
            }
        }
        let new = batch::finish(new, violations)?;
        let mut tx = self.0.store.kyb_transaction(scope).await?;
        let mut violations = Vec::new();
        let mut created = Vec::with_capacity(new.len());
        for (i, owner) in new.into_iter().enumerate() {
            match self.0.insert_owner(&mut tx, scope, owner).await {
                Ok(owner) => created.push(wire::owner_to_proto(owner)),
                Err(e) => batch::gather(&mut violations, e, &item(many, i))?,
            }
        }
        let created = batch::finish(created, violations)?;
        tx.commit().await?;
        Ok(created)
    }

    /// Applies `change(i, owner)` to each target, all or none.
    async fn change_owners(
        &self,
        scope: paymesh_kit::auth::Scope,
        targets: Targets,
        change: impl Fn(usize, &Owner) -> Result<Owner, Error> + Sync,
    ) -> Result<Vec<pb::Owner>, Error> {
        let mut tx = self.0.store.kyb_transaction(scope).await?;
        let ids = targets
            .resolve(&self.0.store, &mut tx, scope, &OWNERS, owner_not_found, self.0.limits.max_limit)
            .await?;
        let mut violations = Vec::new();
        let mut changed = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            match self.0.update_owner(&mut tx, scope, *id, |o| change(i, o)).await {
                Ok(owner) => changed.push(wire::owner_to_proto(owner)),
                Err(e) => violations.extend(targets.place(e, i, *id, &OWNERS)?),
            }
        }
        let changed = batch::finish(changed, violations)?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Deletes each target owner, all or none.
    async fn delete_owners(
        &self,
        scope: paymesh_kit::auth::Scope,
        targets: Targets,
    ) -> Result<Vec<pb::Owner>, Error> {
        let now = self.0.clock.now();
        let mut tx = self.0.store.kyb_transaction(scope).await?;
        let ids = targets
            .resolve(&self.0.store, &mut tx, scope, &OWNERS, owner_not_found, self.0.limits.max_limit)
            .await?;
        let mut violations = Vec::new();
        let mut deleted = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            match self.0.delete_owner(&mut tx, scope, *id, now).await {
                Ok(owner) => deleted.push(wire::owner_to_proto(owner)),
                Err(e) => violations.extend(targets.place(e, i, *id, &OWNERS)?),
            }
        }
        let deleted = batch::finish(deleted, violations)?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Entity patches of update requests, by id; problems under
    /// `requests[i]` when `many`.
    fn entity_patches(
        requests: Vec<pb::UpdateLegalEntityRequest>,
        many: bool,
        today: chrono::NaiveDate,
    ) -> Result<(Vec<String>, Vec<LegalEntityPatch>), Error> {
        patches(requests, many, |pb::UpdateLegalEntityRequest { legal_entity, update_mask }| {
            let id = legal_entity.as_ref().map(|e| e.id.clone()).unwrap_or_default();
            (id, wire::entity_patch(legal_entity, update_mask, today).map(|(_, patch)| patch))
        })
    }

    /// Owner patches of update requests, as [`Self::entity_patches`].
    fn owner_patches(
        requests: Vec<pb::UpdateOwnerRequest>,
        many: bool,
        today: chrono::NaiveDate,
    ) -> Result<(Vec<String>, Vec<OwnerPatch>), Error> {
        patches(requests, many, |pb::UpdateOwnerRequest { owner, update_mask }| {
            let id = owner.as_ref().map(|o| o.id.clone()).unwrap_or_default();
            (id, wire::owner_patch(owner, update_mask, today).map(|(_, patch)| patch))
        })
    }
}

/// The responses of a batch, or of one.
macro_rules! reply {
    ($response:ident { $field:ident: $value:expr }) => {
        Ok(Response::new(pb::$response { $field: $value }))
    };
}

#[tonic::async_trait]
impl LegalEntityService for LegalEntityApi {
    async fn create_legal_entity(
        &self,
        request: Request<pb::CreateLegalEntityRequest>,
    ) -> Result<Response<pb::CreateLegalEntityResponse>, Status> {
        let (_, scope) = secret(&request)?;
        self.0
            .keys
            .once(request, self.0.clock.now(), |_, message| async move {
                let mut created = self.create_entities(scope, vec![message.legal_entity], false).await?;
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
        self.0
            .keys
            .once(request, self.0.clock.now(), |_, message| async move {
                let given = message.requests.into_iter().map(|r| r.legal_entity).collect();
                let legal_entities = self.create_entities(scope, given, true).await?;
                Ok(pb::BatchCreateLegalEntitiesResponse { legal_entities })
            })
            .await
    }

    async fn get_legal_entity(
        &self,
        request: Request<pb::GetLegalEntityRequest>,
    ) -> Result<Response<pb::GetLegalEntityResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let id = object_id(&request.get_ref().id, entity_not_found)?;
        let (entity, owners) = self.0.store.legal_entity(scope, id).await?.ok_or_else(entity_not_found)?;
        reply!(GetLegalEntityResponse { legal_entity: Some(wire::entity_to_proto(entity, owners)) })
    }

    async fn list_legal_entities(
        &self,
        request: Request<pb::ListLegalEntitiesRequest>,
    ) -> Result<Response<pb::ListLegalEntitiesResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.0.store.list_legal_entities(scope, &query, self.0.limits).await?;
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
        let now = self.0.clock.now();
        let (mut ids, patches) = Self::entity_patches(vec![request.into_inner()], false, now.date_naive())?;
        let targets = Targets::One(ids.pop().unwrap_or_default());
        let mut changed = self
            .change_entities(scope, targets, |i, e| {
                e.apply(patches[i].clone(), now).map_err(|p| Error::invalid_under("legal_entity", p))
            })
            .await?;
        reply!(UpdateLegalEntityResponse { legal_entity: changed.pop() })
    }

    async fn batch_update_legal_entities(
        &self,
        request: Request<pb::BatchUpdateLegalEntitiesRequest>,
    ) -> Result<Response<pb::BatchUpdateLegalEntitiesResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let requests = request.into_inner().requests;
        batch::check_size(requests.len(), "requests")?;
        let now = self.0.clock.now();
        let (ids, patches) = Self::entity_patches(requests, true, now.date_naive())?;
        let legal_entities = self
            .change_entities(scope, Targets::Requests(ids), |i, e| {
                e.apply(patches[i].clone(), now).map_err(|p| Error::invalid_under("legal_entity", p))
            })
            .await?;
        reply!(BatchUpdateLegalEntitiesResponse { legal_entities: legal_entities })
    }

    async fn update_legal_entities_by_query(
        &self,
        request: Request<pb::UpdateLegalEntitiesByQueryRequest>,
    ) -> Result<Response<pb::UpdateLegalEntitiesByQueryResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let pb::UpdateLegalEntitiesByQueryRequest { filters, legal_entity, update_mask } =
            request.into_inner();
        let now = self.0.clock.now();
        let change = pb::UpdateLegalEntityRequest { legal_entity, update_mask: require_mask(update_mask)? };
        let (_, mut patches) = Self::entity_patches(vec![change], false, now.date_naive())?;
        let patch = patches.pop().unwrap_or_default();
        let legal_entities = self
            .change_entities(scope, Targets::Query(filters), |_, e| {
                e.apply(patch.clone(), now).map_err(|p| Error::invalid_under("legal_entity", p))
            })
            .await?;
        reply!(UpdateLegalEntitiesByQueryResponse { legal_entities: legal_entities })
    }

    async fn delete_legal_entity(
        &self,
        request: Request<pb::DeleteLegalEntityRequest>,
    ) -> Result<Response<pb::DeleteLegalEntityResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let mut deleted = self.delete_entities(scope, Targets::One(request.into_inner().id)).await?;
        reply!(DeleteLegalEntityResponse { legal_entity: deleted.pop() })
    }

    async fn batch_delete_legal_entities(
        &self,
        request: Request<pb::BatchDeleteLegalEntitiesRequest>,
    ) -> Result<Response<pb::BatchDeleteLegalEntitiesResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let ids = request.into_inner().ids;
        batch::check_size(ids.len(), "ids")?;
        let legal_entities = self.delete_entities(scope, Targets::Ids(ids)).await?;
        reply!(BatchDeleteLegalEntitiesResponse { legal_entities: legal_entities })
    }

    async fn delete_legal_entities_by_query(
        &self,
        request: Request<pb::DeleteLegalEntitiesByQueryRequest>,
    ) -> Result<Response<pb::DeleteLegalEntitiesByQueryResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let legal_entities =
            self.delete_entities(scope, Targets::Query(request.into_inner().filters)).await?;
        reply!(DeleteLegalEntitiesByQueryResponse { legal_entities: legal_entities })
    }

    async fn create_owner(
        &self,
        request: Request<pb::CreateOwnerRequest>,
    ) -> Result<Response<pb::CreateOwnerResponse>, Status> {
        let (_, scope) = secret(&request)?;
        self.0
            .keys
            .once(request, self.0.clock.now(), |_, message| async move {
                let mut created = self.create_owners(scope, vec![message.owner], false).await?;
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
        self.0
            .keys
            .once(request, self.0.clock.now(), |_, message| async move {
                let given = message.requests.into_iter().map(|r| r.owner).collect();
                let owners = self.create_owners(scope, given, true).await?;
                Ok(pb::BatchCreateOwnersResponse { owners })
            })
            .await
    }

    async fn get_owner(
        &self,
        request: Request<pb::GetOwnerRequest>,
    ) -> Result<Response<pb::GetOwnerResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let id = object_id(&request.get_ref().id, owner_not_found)?;
        let owner = self.0.store.owner(scope, id).await?.ok_or_else(owner_not_found)?;
        reply!(GetOwnerResponse { owner: Some(wire::owner_to_proto(owner)) })
    }

    async fn list_owners(
        &self,
        request: Request<pb::ListOwnersRequest>,
    ) -> Result<Response<pb::ListOwnersResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.0.store.list_owners(scope, &query, self.0.limits).await?;
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
        let now = self.0.clock.now();
        let (mut ids, patches) = Self::owner_patches(vec![request.into_inner()], false, now.date_naive())?;
        let targets = Targets::One(ids.pop().unwrap_or_default());
        let mut changed = self
            .change_owners(scope, targets, |i, o| {
                o.apply(patches[i].clone(), now).map_err(|p| Error::invalid_under("owner", p))
            })
            .await?;
        reply!(UpdateOwnerResponse { owner: changed.pop() })
    }

    async fn batch_update_owners(
        &self,
        request: Request<pb::BatchUpdateOwnersRequest>,
    ) -> Result<Response<pb::BatchUpdateOwnersResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let requests = request.into_inner().requests;
        batch::check_size(requests.len(), "requests")?;
        let now = self.0.clock.now();
        let (ids, patches) = Self::owner_patches(requests, true, now.date_naive())?;
        let owners = self
            .change_owners(scope, Targets::Requests(ids), |i, o| {
                o.apply(patches[i].clone(), now).map_err(|p| Error::invalid_under("owner", p))
            })
            .await?;
        reply!(BatchUpdateOwnersResponse { owners: owners })
    }

    async fn update_owners_by_query(
        &self,
        request: Request<pb::UpdateOwnersByQueryRequest>,
    ) -> Result<Response<pb::UpdateOwnersByQueryResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let pb::UpdateOwnersByQueryRequest { filters, owner, update_mask } = request.into_inner();
        let now = self.0.clock.now();
        let change = pb::UpdateOwnerRequest { owner, update_mask: require_mask(update_mask)? };
        let (_, mut patches) = Self::owner_patches(vec![change], false, now.date_naive())?;
        let patch = patches.pop().unwrap_or_default();
        let owners = self
            .change_owners(scope, Targets::Query(filters), |_, o| {
                o.apply(patch.clone(), now).map_err(|p| Error::invalid_under("owner", p))
            })
            .await?;
        reply!(UpdateOwnersByQueryResponse { owners: owners })
    }

    async fn delete_owner(
        &self,
        request: Request<pb::DeleteOwnerRequest>,
    ) -> Result<Response<pb::DeleteOwnerResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let mut deleted = self.delete_owners(scope, Targets::One(request.into_inner().id)).await?;
        reply!(DeleteOwnerResponse { owner: deleted.pop() })
    }

    async fn batch_delete_owners(
        &self,
        request: Request<pb::BatchDeleteOwnersRequest>,
    ) -> Result<Response<pb::BatchDeleteOwnersResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let ids = request.into_inner().ids;
        batch::check_size(ids.len(), "ids")?;
        let owners = self.delete_owners(scope, Targets::Ids(ids)).await?;
        reply!(BatchDeleteOwnersResponse { owners: owners })
    }

    async fn delete_owners_by_query(
        &self,
        request: Request<pb::DeleteOwnersByQueryRequest>,
    ) -> Result<Response<pb::DeleteOwnersByQueryResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let owners = self.delete_owners(scope, Targets::Query(request.into_inner().filters)).await?;
        reply!(DeleteOwnersByQueryResponse { owners: owners })
    }
}

/// A change by query must name something to change.
fn require_mask(mask: Option<FieldMask>) -> Result<Option<FieldMask>, Error> {
    match mask {
        Some(mask) if !mask.paths.is_empty() => Ok(Some(mask)),
        _ => Err(Error::invalid("update_mask", "Name at least one attribute to change")),
    }
}
