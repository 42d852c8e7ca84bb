//! Legal entities and their owners (KYB).
//!
//! Every change, of one object or a batch, runs in one transaction that
//! holds the partner's KYB lock: a batch is all or none, and an item's
//! problems are reported in its place (`requests[i]…`, `ids[i]`). Owners'
//! shares stay within 100%, a change to what documents verified starts the
//! verification over, and the processing accounts that use the entity are
//! weighed again.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error, Violation,
    auth::Scope,
    batch,
    clock::Clock,
    config::ListLimits,
    idempotency::IdempotencyKeys,
    query::{Listing, Resource},
    wire::object_id,
};
use paymesh_proto::{
    common::v1::{Filter, ListQuery},
    identity::v1 as pb,
};
use prost_types::FieldMask;
use sqlx::PgConnection;
use uuid::Uuid;

use super::lifecycle::reassess_entity_accounts;
use crate::{
    convert::kyb::{self as wire, item},
    domain::legal_entity::{EntityWithOwners, LegalEntity, Owner, check_total_ownership},
    store::{
        Store,
        kyb::{LEGAL_ENTITIES, OWNERS},
    },
};

/// The legal entities and owners of the identity service.
#[derive(Debug, Clone)]
pub(crate) struct LegalEntities {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) limits: ListLimits,
    /// The idempotency keys of legal entity and owner creation.
    pub(crate) keys: IdempotencyKeys,
}

fn entity_not_found() -> Error {
    Error::NotFound { resource: "Legal entity" }
}

fn owner_not_found() -> Error {
    Error::NotFound { resource: "Owner" }
}

/// Which objects a change acts on, and where each one's problems go.
#[derive(Debug)]
pub(crate) enum Targets {
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
        scope: Scope,
        resource: &Resource,
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
    fn id_field(&self, i: usize, resource: &Resource) -> String {
        match self {
            Self::Requests(_) => format!("requests[{i}].{}.id", message_field(resource)),
            Self::Ids(_) => format!("ids[{i}]"),
            Self::One(_) | Self::Query(_) => "id".to_owned(),
        }
    }

    /// The problems of the `i`-th target (`id`), placed; errors that are
    /// not about the item are the request's.
    fn place(&self, error: Error, i: usize, id: Uuid, resource: &Resource) -> Result<Vec<Violation>, Error> {
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
fn message_field(resource: &Resource) -> &'static str {
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

impl LegalEntities {
    // === Legal entities ===

    /// Creates legal entities (with their owners), all or none; problems
    /// under `requests[i]` when `many`.
    pub(crate) async fn create_entities(
        &self,
        scope: Scope,
        given: Vec<Option<pb::LegalEntity>>,
        many: bool,
    ) -> Result<Vec<EntityWithOwners>, Error> {
        let now = self.clock.now();
        let mut violations = Vec::new();
        let mut new = Vec::with_capacity(given.len());
        for (i, entity) in given.into_iter().enumerate() {
            match wire::new_legal_entity(entity, scope.livemode, now) {
                Ok(made) => new.push(made),
                Err(v) => violations.extend(batch::nested(v, &item(many, i))),
            }
        }
        let new = batch::finish(new, violations)?;
        let mut tx = self.store.kyb_transaction(scope).await?;
        let mut violations = Vec::new();
        let mut created = Vec::with_capacity(new.len());
        for (i, (entity, owners)) in new.into_iter().enumerate() {
            match self.insert_entity(&mut tx, scope, entity, owners).await {
                Ok(done) => created.push(done),
                Err(e) => batch::gather(&mut violations, e, &item(many, i))?,
            }
        }
        let created = batch::finish(created, violations)?;
        tx.commit().await?;
        Ok(created)
    }

    /// Legal entity `id` with its owners.
    pub(crate) async fn entity(&self, scope: Scope, id: &str) -> Result<EntityWithOwners, Error> {
        let id = object_id(id, entity_not_found)?;
        self.store.legal_entity(scope, id).await?.ok_or_else(entity_not_found)
    }

    /// The legal entities matching `query`, each with its owners.
    pub(crate) async fn list_entities(
        &self,
        scope: Scope,
        query: &ListQuery,
    ) -> Result<Listing<EntityWithOwners>, Error> {
        self.store.list_legal_entities(scope, query, self.limits).await
    }

    /// Applies update requests to their entities, all or none: one
    /// request (unknown is not found) or a batch (`many`: problems under
    /// `requests[i]`).
    pub(crate) async fn update_entities(
        &self,
        scope: Scope,
        requests: Vec<pb::UpdateLegalEntityRequest>,
        many: bool,
    ) -> Result<Vec<EntityWithOwners>, Error> {
        let now = self.clock.now();
        let (mut ids, patches) = wire::entity_patches(requests, many, now.date_naive())?;
        let targets = if many { Targets::Requests(ids) } else { Targets::One(ids.pop().unwrap_or_default()) };
        self.change_entities(scope, targets, |i, e| {
            e.apply(patches[i].clone(), now).map_err(|p| Error::invalid_under("legal_entity", p))
        })
        .await
    }

    /// Applies one change to every entity matching `filters`; the change
    /// must name something to change.
    pub(crate) async fn update_entities_by_query(
        &self,
        scope: Scope,
        filters: Vec<Filter>,
        legal_entity: Option<pb::LegalEntity>,
        update_mask: Option<FieldMask>,
    ) -> Result<Vec<EntityWithOwners>, Error> {
        let now = self.clock.now();
        let change =
            pb::UpdateLegalEntityRequest { legal_entity, update_mask: wire::require_mask(update_mask)? };
        let (_, mut patches) = wire::entity_patches(vec![change], false, now.date_naive())?;
        let patch = patches.pop().unwrap_or_default();
        self.change_entities(scope, Targets::Query(filters), |_, e| {
            e.apply(patch.clone(), now).map_err(|p| Error::invalid_under("legal_entity", p))
        })
        .await
    }

    /// Applies `change(i, entity)` to each target, all or none.
    async fn change_entities(
        &self,
        scope: Scope,
        targets: Targets,
        change: impl Fn(usize, &LegalEntity) -> Result<LegalEntity, Error> + Sync,
    ) -> Result<Vec<EntityWithOwners>, Error> {
        let mut tx = self.store.kyb_transaction(scope).await?;
        let max = self.limits.max_limit;
        let ids =
            targets.resolve(&self.store, &mut tx, scope, &LEGAL_ENTITIES, entity_not_found, max).await?;
        let mut violations = Vec::new();
        let mut changed = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            match self.update_entity(&mut tx, scope, *id, |e| change(i, e)).await {
                Ok(done) => changed.push(done),
                Err(e) => violations.extend(targets.place(e, i, *id, &LEGAL_ENTITIES)?),
            }
        }
        let changed = batch::finish(changed, violations)?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Deletes each target with its owners, all or none.
    pub(crate) async fn delete_entities(
        &self,
        scope: Scope,
        targets: Targets,
    ) -> Result<Vec<EntityWithOwners>, Error> {
        let now = self.clock.now();
        let mut tx = self.store.kyb_transaction(scope).await?;
        let max = self.limits.max_limit;
        let ids =
            targets.resolve(&self.store, &mut tx, scope, &LEGAL_ENTITIES, entity_not_found, max).await?;
        let mut violations = Vec::new();
        let mut deleted = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            match self.delete_entity(&mut tx, scope, *id, now).await {
                Ok(done) => deleted.push(done),
                Err(e) => violations.extend(targets.place(e, i, *id, &LEGAL_ENTITIES)?),
            }
        }
        let deleted = batch::finish(deleted, violations)?;
        tx.commit().await?;
        Ok(deleted)
    }

    // === Owners ===

    /// Adds owners to their entities, all or none; problems under
    /// `requests[i]` when `many`.
    pub(crate) async fn create_owners(
        &self,
        scope: Scope,
        given: Vec<Option<pb::Owner>>,
        many: bool,
    ) -> Result<Vec<Owner>, Error> {
        let now = self.clock.now();
        let mut violations = Vec::new();
        let mut new = Vec::with_capacity(given.len());
        for (i, owner) in given.into_iter().enumerate() {
            match wire::new_owner(owner, scope.livemode, now) {
                Ok(owner) => new.push(owner),
                Err(v) => violations.extend(batch::nested(v, &item(many, i))),
            }
        }
        let new = batch::finish(new, violations)?;
        let mut tx = self.store.kyb_transaction(scope).await?;
        let mut violations = Vec::new();
        let mut created = Vec::with_capacity(new.len());
        for (i, owner) in new.into_iter().enumerate() {
            match self.insert_owner(&mut tx, scope, owner).await {
                Ok(owner) => created.push(owner),
                Err(e) => batch::gather(&mut violations, e, &item(many, i))?,
            }
        }
        let created = batch::finish(created, violations)?;
        tx.commit().await?;
        Ok(created)
    }

    /// Owner `id`.
    pub(crate) async fn owner(&self, scope: Scope, id: &str) -> Result<Owner, Error> {
        let id = object_id(id, owner_not_found)?;
        self.store.owner(scope, id).await?.ok_or_else(owner_not_found)
    }

    /// The owners matching `query`.
    pub(crate) async fn list_owners(&self, scope: Scope, query: &ListQuery) -> Result<Listing<Owner>, Error> {
        self.store.list_owners(scope, query, self.limits).await
    }

    /// Applies update requests to their owners, as
    /// [`LegalEntities::update_entities`].
    pub(crate) async fn update_owners(
        &self,
        scope: Scope,
        requests: Vec<pb::UpdateOwnerRequest>,
        many: bool,
    ) -> Result<Vec<Owner>, Error> {
        let now = self.clock.now();
        let (mut ids, patches) = wire::owner_patches(requests, many, now.date_naive())?;
        let targets = if many { Targets::Requests(ids) } else { Targets::One(ids.pop().unwrap_or_default()) };
        self.change_owners(scope, targets, |i, o| {
            o.apply(patches[i].clone(), now).map_err(|p| Error::invalid_under("owner", p))
        })
        .await
    }

    /// Applies one change to every owner matching `filters`, as
    /// [`LegalEntities::update_entities_by_query`].
    pub(crate) async fn update_owners_by_query(
        &self,
        scope: Scope,
        filters: Vec<Filter>,
        owner: Option<pb::Owner>,
        update_mask: Option<FieldMask>,
    ) -> Result<Vec<Owner>, Error> {
        let now = self.clock.now();
        let change = pb::UpdateOwnerRequest { owner, update_mask: wire::require_mask(update_mask)? };
        let (_, mut patches) = wire::owner_patches(vec![change], false, now.date_naive())?;
        let patch = patches.pop().unwrap_or_default();
        self.change_owners(scope, Targets::Query(filters), |_, o| {
            o.apply(patch.clone(), now).map_err(|p| Error::invalid_under("owner", p))
        })
        .await
    }

    /// Applies `change(i, owner)` to each target, all or none.
    async fn change_owners(
        &self,
        scope: Scope,
        targets: Targets,
        change: impl Fn(usize, &Owner) -> Result<Owner, Error> + Sync,
    ) -> Result<Vec<Owner>, Error> {
        let mut tx = self.store.kyb_transaction(scope).await?;
        let max = self.limits.max_limit;
        let ids = targets.resolve(&self.store, &mut tx, scope, &OWNERS, owner_not_found, max).await?;
        let mut violations = Vec::new();
        let mut changed = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            match self.update_owner(&mut tx, scope, *id, |o| change(i, o)).await {
                Ok(owner) => changed.push(owner),
                Err(e) => violations.extend(targets.place(e, i, *id, &OWNERS)?),
            }
        }
        let changed = batch::finish(changed, violations)?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Deletes each target owner, all or none.
    pub(crate) async fn delete_owners(&self, scope: Scope, targets: Targets) -> Result<Vec<Owner>, Error> {
        let now = self.clock.now();
        let mut tx = self.store.kyb_transaction(scope).await?;
        let max = self.limits.max_limit;
        let ids = targets.resolve(&self.store, &mut tx, scope, &OWNERS, owner_not_found, max).await?;
        let mut violations = Vec::new();
        let mut deleted = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            match self.delete_owner(&mut tx, scope, *id, now).await {
                Ok(owner) => deleted.push(owner),
                Err(e) => violations.extend(targets.place(e, i, *id, &OWNERS)?),
            }
        }
        let deleted = batch::finish(deleted, violations)?;
        tx.commit().await?;
        Ok(deleted)
    }
}

impl LegalEntities {
    // === In a transaction ===

    /// Creates a legal entity and its owners in `tx`, all or none.
    #[tracing::instrument(skip_all, fields(partner_id = %scope.partner_id))]
    async fn insert_entity(
        &self,
        tx: &mut PgConnection,
        scope: Scope,
        entity: LegalEntity,
        owners: Vec<Owner>,
    ) -> Result<EntityWithOwners, Error> {
        let store = &self.store;
        check_total_ownership(owners.iter().filter_map(|o| o.ownership))
            .map_err(|why| Error::invalid("legal_entity.owners", why))?;
        store.write_entity(&mut *tx, scope, &entity, true).await?;
        store.record_entity(&mut *tx, scope, "created", &entity, entity.created_at).await?;
        for owner in &owners {
            store.write_owner(&mut *tx, scope, owner, true).await?;
            store.record_owner(&mut *tx, scope, "created", owner, owner.created_at).await?;
        }
        Ok((entity, owners))
    }

    /// Changes a legal entity with `change` in `tx`, then re-weighs its
    /// accounts.
    async fn update_entity(
        &self,
        tx: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        change: impl FnOnce(&LegalEntity) -> Result<LegalEntity, Error>,
    ) -> Result<EntityWithOwners, Error> {
        let store = &self.store;
        // The row lock too: the sealed EIN read here is written back, and a
        // key rotation must not re-wrap it in between (see kit::rewrap).
        store.lock_entity(&mut *tx, scope, id).await?;
        let (before, owners) =
            store.entity_with_owners(&mut *tx, scope, id).await?.ok_or_else(entity_not_found)?;
        let mut entity = change(&before)?;
        entity.ein = store.keep_same_ein(&before.ein, entity.ein, id)?;
        store.write_entity(&mut *tx, scope, &entity, false).await?;
        if before.identity_changed(&entity) {
            store.mark_entity_reset(&mut *tx, scope, id, entity.modified_at).await?;
            if let Some(reset) = entity.verification.after_reset() {
                store.set_entity_verification(&mut *tx, scope, id, &reset, entity.modified_at).await?;
                entity.verification = reset;
            }
        }
        store.record_entity(&mut *tx, scope, "updated", &entity, entity.modified_at).await?;
        reassess_entity_accounts(store, &mut *tx, scope, id, entity.modified_at).await?;
        Ok((entity, owners))
    }

    /// Deletes a legal entity and its owners in `tx`, unless a processing
    /// account that is not inactive uses it.
    async fn delete_entity(
        &self,
        tx: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<EntityWithOwners, Error> {
        let store = &self.store;
        let deleted = store.entity_with_owners(&mut *tx, scope, id).await?.ok_or_else(entity_not_found)?;
        if store.entity_in_use(&mut *tx, scope, id).await? {
            return Err(Error::Conflict(
                "A processing account uses this legal entity; unlink it or deactivate the account first"
                    .to_owned(),
            ));
        }
        store.delete_entity(&mut *tx, scope, &deleted, at).await?;
        Ok(deleted)
    }

    /// Adds an owner to its entity in `tx`, keeping the shares within
    /// 100%, then re-weighs the entity's accounts.
    async fn insert_owner(&self, tx: &mut PgConnection, scope: Scope, owner: Owner) -> Result<Owner, Error> {
        let store = &self.store;
        let (_, owners) = store
            .entity_with_owners(&mut *tx, scope, owner.legal_entity_id)
            .await?
            .ok_or_else(|| Error::invalid("owner.legal_entity_id", "No such legal entity"))?;
        check_total_ownership(owners.iter().chain(std::iter::once(&owner)).filter_map(|o| o.ownership))
            .map_err(|why| Error::invalid("owner.ownership", why))?;
        store.write_owner(&mut *tx, scope, &owner, true).await?;
        store.record_owner(&mut *tx, scope, "created", &owner, owner.created_at).await?;
        reassess_entity_accounts(store, &mut *tx, scope, owner.legal_entity_id, owner.created_at).await?;
        Ok(owner)
    }

    /// Changes an owner with `change` in `tx` (shares kept within 100%),
    /// then re-weighs the accounts of their entity.
    async fn update_owner(
        &self,
        tx: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        change: impl FnOnce(&Owner) -> Result<Owner, Error>,
    ) -> Result<Owner, Error> {
        let store = &self.store;
        let owner = store.lock_owner(&mut *tx, scope, id).await?.ok_or_else(owner_not_found)?;
        let mut changed = change(&owner)?;
        changed.ssn = store.keep_same_ssn(&owner.ssn, changed.ssn, id)?;
        let (_, owners) = store
            .entity_with_owners(&mut *tx, scope, owner.legal_entity_id)
            .await?
            .ok_or_else(entity_not_found)?;
        check_total_ownership(
            owners.iter().filter(|o| o.id != id).chain(std::iter::once(&changed)).filter_map(|o| o.ownership),
        )
        .map_err(|why| Error::invalid("owner.ownership", why))?;
        store.write_owner(&mut *tx, scope, &changed, false).await?;
        if owner.identity_changed(&changed) {
            store.mark_owner_reset(&mut *tx, scope, id, changed.modified_at).await?;
            if let Some(reset) = changed.verification.after_reset() {
                store.set_owner_verification(&mut *tx, scope, id, &reset, changed.modified_at).await?;
                changed.verification = reset;
            }
        }
        store.record_owner(&mut *tx, scope, "updated", &changed, changed.modified_at).await?;
        reassess_entity_accounts(store, &mut *tx, scope, changed.legal_entity_id, changed.modified_at)
            .await?;
        Ok(changed)
    }

    /// Deletes an owner in `tx`, then re-weighs the accounts of their
    /// entity.
    async fn delete_owner(
        &self,
        tx: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Owner, Error> {
        let store = &self.store;
        let owner = store.lock_owner(&mut *tx, scope, id).await?.ok_or_else(owner_not_found)?;
        store.delete_owner(&mut *tx, scope, &owner, at).await?;
        reassess_entity_accounts(store, &mut *tx, scope, owner.legal_entity_id, at).await?;
        Ok(owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(targets: &Targets, error: Error, i: usize, resource: &Resource) -> Vec<(String, String)> {
        targets
            .place(error, i, Uuid::nil(), resource)
            .unwrap()
            .into_iter()
            .map(|v| (v.field, v.description))
            .collect()
    }

    #[test]
    fn a_batch_items_problems_are_reported_in_its_place() {
        let missing = || Error::NotFound { resource: "Legal entity" };
        let requests = Targets::Requests(Vec::new());
        assert_eq!(
            placed(&requests, missing(), 1, &LEGAL_ENTITIES),
            [("requests[1].legal_entity.id".to_owned(), "No such legal entity".to_owned())]
        );
        assert_eq!(
            placed(&requests, Error::invalid("owner.ownership", "Too much"), 0, &OWNERS),
            [("requests[0].owner.ownership".to_owned(), "Too much".to_owned())]
        );
        let ids = Targets::Ids(Vec::new());
        assert_eq!(
            placed(&ids, missing(), 2, &OWNERS),
            [("ids[2]".to_owned(), "No such legal entity owner".to_owned())]
        );
        assert_eq!(
            placed(&ids, Error::Conflict("In use".to_owned()), 3, &LEGAL_ENTITIES),
            [("ids[3]".to_owned(), "In use".to_owned())]
        );
        let query = Targets::Query(Vec::new());
        assert_eq!(
            placed(&query, Error::Conflict("In use".to_owned()), 0, &LEGAL_ENTITIES),
            [("filters".to_owned(), format!("Legal entity {}: In use", Uuid::nil()))]
        );
        assert_eq!(
            placed(&query, Error::invalid("owner.ssn", "Send the whole number"), 0, &OWNERS),
            [("owner.ssn".to_owned(), format!("Legal entity owner {}: Send the whole number", Uuid::nil()))]
        );
    }

    #[test]
    fn errors_not_about_an_item_are_the_requests() {
        let one = Targets::One(String::new());
        assert!(matches!(
            one.place(Error::Conflict("In use".to_owned()), 0, Uuid::nil(), &LEGAL_ENTITIES),
            Err(Error::Conflict(_))
        ));
        for targets in [Targets::Ids(Vec::new()), Targets::Query(Vec::new())] {
            let internal = Error::Internal(anyhow::anyhow!("the database went away"));
            assert!(matches!(targets.place(internal, 0, Uuid::nil(), &OWNERS), Err(Error::Internal(_))));
        }
        assert!(matches!(
            Targets::Query(Vec::new()).place(Error::NotFound { resource: "Owner" }, 0, Uuid::nil(), &OWNERS),
            Err(Error::NotFound { .. })
        ));
    }
}
