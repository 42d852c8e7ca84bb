//! The lifecycle of accounts inside a transaction, shared by every
//! operation that moves it: a change applied to a locked account (checked
//! references, the default, a customer's KYC starting over, a requested
//! status), the partner's default account, and the assessments that move a
//! processing account's status — after its own change, or after a change to
//! its legal entity, an owner or a KYB document.
//!
//! Each function runs the store's statements on the caller's transaction,
//! in the order the rules of `domain::lifecycle` and the store's locking
//! rules ask, each change with its outbox events.

use chrono::{DateTime, Utc};
use paymesh_kit::{Error, auth::Scope};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::{
        account::{Account, AccountType, INITIAL_STATUS, Profile},
        lifecycle::{self, Actor, CREATED, Change, Request, Transition, may_be_default, may_be_primary},
        processing::{ProcessingStatus, assess},
    },
    store::Store,
};

/// Inserts a new account (`field` names it in errors), with its
/// `account.created` event. A processing account's history shows
/// `pending`, then its first assessment; it may become the default, if
/// the assessment makes it active.
pub(crate) async fn insert_account(
    store: &Store,
    conn: &mut PgConnection,
    scope: Scope,
    account: Account,
    actor: Actor,
    field: &str,
) -> Result<Account, Error> {
    check_references(store, conn, scope, &account, None, field).await?;
    let is_default = account.processing().is_some_and(|p| p.is_default);
    if is_default {
        store.move_default(conn, scope, account.id, account.created_at).await?;
    }
    store.write_account(conn, scope, &account, true).await?;
    let account = if account.kind() == AccountType::Processing {
        store
            .insert_status_change(conn, &account, None, INITIAL_STATUS, &[CREATED.to_owned()], actor)
            .await?;
        let at = account.created_at;
        reassess(store, conn, scope, account, Actor::System, at).await?
    } else {
        account
    };
    if is_default {
        may_be_default(&account).map_err(|why| Error::invalid(format!("{field}.processing.default"), why))?;
    }
    store.record_account(conn, scope, "created", &account, account.created_at).await?;
    Ok(account)
}

/// Writes one change to a locked account, with its events; `field`
/// names the account in errors.
pub(crate) async fn apply_change(
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
