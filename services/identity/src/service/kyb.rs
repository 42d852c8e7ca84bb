//! Legal entities and their owners (KYB).
//!
//! Every change, of one object or a batch, runs in one transaction that
//! holds the partner's KYB lock: owners' shares stay within 100%, a change
//! to what documents verified starts the verification over, and the
//! processing accounts that use the entity are weighed again.

use chrono::{DateTime, Utc};
use paymesh_kit::{Error, auth::Scope, clock::Clock, config::ListLimits, idempotency::IdempotencyKeys};
use sqlx::PgConnection;
use uuid::Uuid;

use super::accounts::reassess_entity_accounts;
use crate::{
    domain::legal_entity::{LegalEntity, Owner, check_total_ownership},
    store::{Store, kyb::EntityWithOwners},
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

pub(crate) fn entity_not_found() -> Error {
    Error::NotFound { resource: "Legal entity" }
}

pub(crate) fn owner_not_found() -> Error {
    Error::NotFound { resource: "Owner" }
}

impl LegalEntities {
    /// Creates a legal entity and its owners in `tx`, all or none.
    #[tracing::instrument(skip_all, fields(partner_id = %scope.partner_id))]
    pub(crate) async fn insert_entity(
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
    pub(crate) async fn update_entity(
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
    pub(crate) async fn delete_entity(
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
    pub(crate) async fn insert_owner(
        &self,
        tx: &mut PgConnection,
        scope: Scope,
        owner: Owner,
    ) -> Result<Owner, Error> {
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
    pub(crate) async fn update_owner(
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
    pub(crate) async fn delete_owner(
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
