//! Accounts: customers and processing accounts, and the lifecycle of the
//! latter.
//!
//! Every change to accounts runs in one transaction, all or none: billers
//! are refused, the KYB lock is taken when a processing account is among
//! the accounts, the accounts are locked in id order, and each one is
//! changed, checked, written and recorded in turn. A processing account is
//! weighed again after every change (see `domain::processing::assess`), in
//! the same transaction, and so are the accounts of a legal entity whose
//! KYB changed (see [`reassess_entity_accounts`]).

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error, auth::Scope, clock::Clock, config::ListLimits, idempotency::IdempotencyKeys, query::Listing,
};
use paymesh_proto::common::v1::{Filter, ListQuery};
use sqlx::PgConnection;
use uuid::Uuid;

use super::auth::IdentityAuthenticator;
use crate::{
    domain::{
        account::{Account, AccountType, INITIAL_STATUS, Profile},
        lifecycle::{
            self, Actor, CREATED, Change, Request, StatusChange, Transition, may_be_default, may_be_primary,
        },
        processing::{ProcessingStatus, assess},
    },
    store::{Store, accounts::ACCOUNTS},
};

/// The accounts of the identity service.
#[derive(Clone)]
pub(crate) struct Accounts {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) limits: ListLimits,
    /// The idempotency keys of account creation.
    pub(crate) keys: IdempotencyKeys,
    /// Identity's own authenticator: changes evict the merchant tokens of
    /// the processing accounts they touch.
    pub(crate) cache: Arc<IdentityAuthenticator>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

impl Accounts {
    /// Inserts new accounts, all or none, with an `account.created` event
    /// each. Processing accounts are assessed at once (their history shows
    /// `pending`, then the assessment) and may become the default;
    /// `field(i)` names the `i`-th account in errors.
    #[tracing::instrument(skip_all, fields(partner_id = %scope.partner_id, count = accounts.len()))]
    pub(crate) async fn insert(
        &self,
        scope: Scope,
        accounts: Vec<Account>,
        actor: Actor,
        field: impl Fn(usize) -> String,
    ) -> Result<Vec<Account>, Error> {
        let store = &self.store;
        let mut tx = store.begin().await?;
        if accounts.iter().any(|a| a.kind() == AccountType::Processing) {
            store.kyb_lock(&mut tx, scope).await?;
        }
        let mut created = Vec::with_capacity(accounts.len());
        for (index, account) in accounts.into_iter().enumerate() {
            check_references(store, &mut tx, scope, &account, None, &field(index)).await?;
            let is_default = account.processing().is_some_and(|p| p.is_default);
            if is_default {
                store.move_default(&mut tx, scope, account.id, account.created_at).await?;
            }
            store.write_account(&mut tx, scope, &account, true).await?;
            let account = if account.kind() == AccountType::Processing {
                store
                    .insert_status_change(
                        &mut tx,
                        &account,
                        None,
                        INITIAL_STATUS,
                        &[CREATED.to_owned()],
                        actor,
                    )
                    .await?;
                let at = account.created_at;
                reassess(store, &mut tx, scope, account, Actor::System, at).await?
            } else {
                account
            };
            if is_default {
                may_be_default(&account)
                    .map_err(|why| Error::invalid(format!("{}.processing.default", field(index)), why))?;
            }
            store.record_account(&mut tx, scope, "created", &account, account.created_at).await?;
            created.push(account);
        }
        tx.commit().await?;
        Ok(created)
    }

    /// Applies `change` to each of `ids`, all or none: the accounts are
    /// locked, changed by `change` (which may refuse with an error naming
    /// the item), checked, written, and each gets an event. An unknown id
    /// fails the whole batch with `missing(index)`; a biller is
    /// `Forbidden`. Then forgets the cached merchant tokens of the
    /// processing accounts changed, so that a token of one deleted or
    /// deactivated stops at once here (its next use is checked against the
    /// account again).
    pub(crate) async fn change<F>(
        &self,
        scope: Scope,
        ids: &[Uuid],
        actor: Actor,
        missing: impl Fn(usize) -> Error,
        field: impl Fn(usize) -> String,
        change: F,
    ) -> Result<Vec<Account>, Error>
    where
        F: Fn(usize, &Account) -> Result<Change, Error>,
    {
        let store = &self.store;
        let mut tx = store.begin().await?;
        if store.any_biller(&mut tx, ids).await? {
            return Err(Error::Forbidden(
                "Billers come from the curated biller directory and cannot be changed".to_owned(),
            ));
        }
        if store.any_processing(&mut tx, scope, ids).await? {
            store.kyb_lock(&mut tx, scope).await?;
        }
        let found: HashMap<Uuid, Account> =
            store.lock_accounts(&mut tx, scope, ids).await?.into_iter().map(|a| (a.id, a)).collect();
        let mut changed = Vec::with_capacity(ids.len());
        for (index, id) in ids.iter().enumerate() {
            let account = found.get(id).ok_or_else(|| missing(index))?;
            let change = change(index, account)?;
            changed.push(apply(store, &mut tx, scope, account, change, actor, &field(index)).await?);
        }
        tx.commit().await?;
        self.forget_merchants(&changed);
        Ok(changed)
    }

    /// Applies `change` to every account of the partner matching `filters`
    /// (at most the list limit of them; more is refused before anything
    /// changes), forgetting merchant tokens as [`Accounts::change`] does.
    /// Billers never match.
    pub(crate) async fn change_matching<F>(
        &self,
        scope: Scope,
        filters: &[Filter],
        actor: Actor,
        change: F,
    ) -> Result<Vec<Account>, Error>
    where
        F: Fn(&Account) -> Result<Change, Error>,
    {
        let store = &self.store;
        let mut tx = store.begin().await?;
        let ids = store.matching_ids(&mut tx, &ACCOUNTS, scope, filters, self.limits.max_limit).await?;
        if store.any_processing(&mut tx, scope, &ids).await? {
            store.kyb_lock(&mut tx, scope).await?;
        }
        // Locked, then checked again: a row may have changed in between.
        let accounts = store.lock_matching_accounts(&mut tx, scope, filters, &ids).await?;
        let mut changed = Vec::with_capacity(accounts.len());
        for account in accounts {
            let change = change(&account)?;
            changed.push(apply(store, &mut tx, scope, &account, change, actor, "account").await?);
        }
        tx.commit().await?;
        self.forget_merchants(&changed);
        Ok(changed)
    }

    fn forget_merchants(&self, accounts: &[Account]) {
        let processing: Vec<Uuid> =
            accounts.iter().filter(|a| a.kind() == AccountType::Processing).map(|a| a.id).collect();
        self.cache.evict_accounts(&processing);
    }

    /// The customer `id` of this partner and mode.
    async fn customer(&self, scope: Scope, id: Uuid) -> Result<Account, Error> {
        match self.store.account(scope, id).await? {
            Some(account) if account.kind() == AccountType::Customer => Ok(account),
            _ => Err(Error::NotFound { resource: "Payer" }),
        }
    }

    /// The processing accounts `payer` may see and pay: its own private
    /// ones, the partner's, and the billers. An unknown payer is not found.
    pub(crate) async fn list_recipients(
        &self,
        scope: Scope,
        payer: Uuid,
        query: &ListQuery,
    ) -> Result<Listing<Account>, Error> {
        self.customer(scope, payer).await?;
        self.store.list_recipients(scope, payer, query, self.limits).await
    }

    /// The payer and the recipient, if the payer may see and pay it;
    /// otherwise not found (whether it exists or not).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn resolve_recipient(
        &self,
        scope: Scope,
        payer: Uuid,
        recipient: Uuid,
    ) -> Result<(Account, Account), Error> {
        let payer = self.customer(scope, payer).await?;
        let recipient = self
            .store
            .account(scope, recipient)
            .await?
            .filter(|r| r.processing().is_some_and(|p| p.visibility.admits(payer.id)))
            .ok_or(Error::NotFound { resource: "Recipient" })?;
        Ok((payer, recipient))
    }

    /// The status history of a processing account, oldest first.
    pub(crate) async fn status_changes(
        &self,
        scope: Scope,
        account_id: Uuid,
    ) -> Result<Vec<StatusChange>, Error> {
        match self.store.account(scope, account_id).await? {
            Some(account) if account.kind() == AccountType::Processing => {}
            _ => return Err(Error::NotFound { resource: "Processing account" }),
        }
        self.store.status_changes(account_id).await
    }
}

// === The lifecycle, in a transaction ===

/// Writes one change to a locked account, with its events.
async fn apply(
    store: &Store,
    conn: &mut PgConnection,
    scope: Scope,
    before: &Account,
    change: Change,
    actor: Actor,
    field: &str,
) -> Result<Account, Error> {
    match change {
        Change::Update(account, requested) => {
            check_references(store, conn, scope, &account, Some(before), field).await?;
            let becomes_default = lifecycle::becomes_default(before, &account)
                .map_err(|why| Error::invalid(format!("{field}.processing.default"), why))?;
            let at = account.modified_at;
            let mut account = account;
            if becomes_default {
                // Before the write: one default per partner and mode, always.
                store.move_default(conn, scope, account.id, at).await?;
            } else if let Profile::Processing(p) = &mut account.profile
                && p.is_default
            {
                // An earlier item of this batch may have made another
                // account the default since this one was read.
                p.is_default = store.still_default(conn, account.id).await?;
            }
            let account = reset_customer_kyc(store, conn, scope, before, account).await?;
            store.write_account(conn, scope, &account, false).await?;
            let mut account = match requested {
                Some(request) => request_status(store, conn, scope, account, request, actor, field).await?,
                None => reassess(store, conn, scope, account, Actor::System, at).await?,
            };
            if becomes_default {
                may_be_default(&account)
                    .map_err(|why| Error::invalid(format!("{field}.processing.default"), why))?;
            }
            account.modified_at = at;
            store.record_account(conn, scope, "updated", &account, at).await?;
            Ok(account)
        }
        Change::Delete(account, at) => {
            lifecycle::may_delete(&account).map_err(Error::Conflict)?;
            store.delete_account(conn, scope, &account, at).await?;
            Ok(account)
        }
    }
}

/// Checks what an account refers to (see
/// [`lifecycle::references_to_check`]): a customer's primary processing
/// account (one the customer may see), a private recipient's payer (a
/// customer) and a processing account's legal entity, all of this partner
/// and mode.
async fn check_references(
    store: &Store,
    conn: &mut PgConnection,
    scope: Scope,
    account: &Account,
    before: Option<&Account>,
    field: &str,
) -> Result<(), Error> {
    let references = lifecycle::references_to_check(account, before)
        .map_err(|(name, why)| Error::invalid(format!("{field}.{name}"), why))?;
    if let Some(primary) = references.primary_processing_id {
        let visibility = store.processing_visibility(conn, scope, primary).await?;
        if !may_be_primary(visibility, account.id) {
            return Err(Error::invalid(
                format!("{field}.primary_processing_id"),
                "No such processing account visible to this customer",
            ));
        }
    }
    if let Some(payer) = references.payer_id
        && store.account_type(conn, scope, payer).await? != Some(AccountType::Customer)
    {
        return Err(Error::invalid(format!("{field}.processing.payer_id"), "No such customer"));
    }
    if let Some(entity) = references.legal_entity_id
        && !store.entity_exists(conn, scope, entity).await?
    {
        return Err(Error::invalid(format!("{field}.processing.legal_entity_id"), "No such legal entity"));
    }
    Ok(())
}

/// A customer whose name changed is no longer verified: its documents
/// verified the old name. The reset time marks which documents no longer
/// count (those uploaded before it).
async fn reset_customer_kyc(
    store: &Store,
    conn: &mut PgConnection,
    scope: Scope,
    before: &Account,
    mut account: Account,
) -> Result<Account, Error> {
    if !lifecycle::resets_customer_kyc(before, &account) {
        return Ok(account);
    }
    let at = account.modified_at;
    store.mark_kyc_reset(conn, scope, account.id, at).await?;
    if let Profile::Customer(customer) = &mut account.profile
        && let Some(reset) = customer.verification.after_reset()
    {
        customer.verification = reset;
        store.set_customer_verification(conn, scope, account.id, &customer.verification, at).await?;
    }
    Ok(account)
}

/// Creates the partner's default processing account in one mode (see
/// [`lifecycle::default_processing_account`]): active at once in test
/// mode; in live mode pending and assessed like any other (it needs its
/// KYB).
pub(crate) async fn insert_default_account(
    store: &Store,
    conn: &mut PgConnection,
    scope: Scope,
    account: Account,
) -> Result<Account, Error> {
    store.write_account(conn, scope, &account, true).await?;
    store
        .insert_status_change(conn, &account, None, INITIAL_STATUS, &[CREATED.to_owned()], Actor::Operator)
        .await?;
    let at = account.created_at;
    let account = match lifecycle::default_activation(scope.livemode) {
        None => reassess(store, conn, scope, account, Actor::System, at).await?,
        Some(reasons) => {
            transition(store, conn, scope, account, ProcessingStatus::Active, reasons, Actor::System, at)
                .await?
        }
    };
    store.record_account(conn, scope, "created", &account, at).await?;
    Ok(account)
}

/// Moves a processing account to `to` (which the lifecycle must allow),
/// recording who, why and when, with an `account.processing_status` event
/// (see [`lifecycle::transition`]).
#[allow(clippy::too_many_arguments)]
async fn transition(
    store: &Store,
    conn: &mut PgConnection,
    scope: Scope,
    account: Account,
    to: ProcessingStatus,
    reasons: Vec<String>,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<Account, Error> {
    let (account, transition) = lifecycle::transition(account, to, reasons, at)
        .map_err(|why| Error::Internal(anyhow::anyhow!(why)))?;
    match transition {
        Transition::Unchanged => {}
        Transition::Reasons => store.write_status(conn, scope, &account).await?,
        Transition::Moved { from } => store.record_transition(conn, scope, &account, from, actor, at).await?,
    }
    Ok(account)
}

/// Weighs a processing account (unless exempt or inactive) and moves it
/// where the assessment says. Other accounts are returned unchanged.
pub(crate) async fn reassess(
    store: &Store,
    conn: &mut PgConnection,
    scope: Scope,
    account: Account,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<Account, Error> {
    let Some(processing) = account.processing() else { return Ok(account) };
    if !processing.is_assessed() {
        return Ok(account);
    }
    let entity = match processing.legal_entity_id {
        Some(id) => store.entity_with_owners(conn, scope, id).await?,
        None => None,
    };
    let assessment = assess(processing.payout.as_ref(), entity.as_ref().map(|(e, o)| (e, o.as_slice())));
    transition(store, conn, scope, account, assessment.status, assessment.reasons, actor, at).await
}

/// Re-weighs every assessed processing account that uses the legal entity
/// `entity` (its KYB changed), locked in id order.
pub(crate) async fn reassess_entity_accounts(
    store: &Store,
    conn: &mut PgConnection,
    scope: Scope,
    entity: Uuid,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    for account in store.lock_entity_accounts(conn, scope, entity).await? {
        reassess(store, conn, scope, account, Actor::System, at).await?;
    }
    Ok(())
}

/// Weighs a status a partner asked for (see [`lifecycle::weigh_request`]):
/// `inactive` always succeeds (from any status but inactive); `active` only
/// when the requirements are met, otherwise the reasons are returned as an
/// error and nothing changes.
async fn request_status(
    store: &Store,
    conn: &mut PgConnection,
    scope: Scope,
    account: Account,
    (requested, reason): (ProcessingStatus, Option<String>),
    actor: Actor,
    field: &str,
) -> Result<Account, Error> {
    let status_field = format!("{field}.processing.status");
    let request = lifecycle::weigh_request(&account, requested, reason)
        .map_err(|why| Error::invalid(status_field.clone(), why))?;
    let at = account.modified_at;
    match request {
        Request::Reassess => reassess(store, conn, scope, account, Actor::System, at).await,
        Request::Deactivate(reasons) => {
            transition(store, conn, scope, account, ProcessingStatus::Inactive, reasons, actor, at).await
        }
        Request::Activate => {
            let processing = account.processing().cloned();
            let entity = match processing.as_ref().and_then(|p| p.legal_entity_id) {
                Some(id) => store.entity_with_owners(conn, scope, id).await?,
                None => None,
            };
            let assessment = assess(
                processing.as_ref().and_then(|p| p.payout.as_ref()),
                entity.as_ref().map(|(e, o)| (e, o.as_slice())),
            );
            lifecycle::activation(&assessment).map_err(|why| Error::invalid(status_field, why))?;
            transition(store, conn, scope, account, ProcessingStatus::Active, Vec::new(), actor, at).await
        }
    }
}
