//! Accounts: customers and processing accounts, and the lifecycle of the
//! latter.
//!
//! A restricted key's permissions are written as REST paths; accounts
//! answer to three (`/accounts` for every type, `/customers`,
//! `/processing_accounts`), so each operation is narrowed to the account
//! types the key may touch with its method: others are not found. Merchant
//! tokens may read only their own processing account and its history.
//!
//! Every change to accounts runs in one transaction, all or none: billers
//! are refused, the KYB lock is taken when a processing account is among
//! the accounts, the accounts are locked in id order, and each one is
//! changed, checked, written and recorded in turn (see `lifecycle`). A
//! processing account is weighed again after every change, in the same
//! transaction.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error, Violation,
    auth::{KeyKind, Principal, Scope, Verb},
    batch,
    clock::Clock,
    config::ListLimits,
    idempotency::IdempotencyKeys,
    query::Listing,
    wire::object_id,
};
use paymesh_proto::{
    common::v1::{Condition, FieldRef, Filter, ListQuery, Operator},
    identity::v1 as pb,
};
use uuid::Uuid;

use super::{
    actor,
    auth::IdentityAuthenticator,
    lifecycle::{apply_change, insert_account},
};
use crate::{
    convert::accounts as wire,
    domain::{
        account::{Account, AccountPatch, AccountType, Profile},
        lifecycle::{Actor, Change, StatusChange},
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
    /// Creates accounts as `principal`, all or none, refusing types its key
    /// may not create; `parent(i)` is where the `i`-th item's problems are
    /// reported (`requests[i]`, or nothing for a request of one).
    pub(crate) async fn create_many(
        &self,
        principal: &Principal,
        accounts: Vec<Option<pb::Account>>,
        parent: impl Fn(usize) -> String,
    ) -> Result<Vec<Account>, Error> {
        let types = allowed_types(principal, Verb::Post);
        let now = self.clock.now();
        let mut violations = Vec::new();
        let mut news = Vec::with_capacity(accounts.len());
        for (i, account) in accounts.into_iter().enumerate() {
            let parsed = wire::new_account(account).and_then(|new| {
                Account::create(new, principal.livemode, now)
                    .map_err(|(name, why)| vec![Violation::new(format!("account.{name}"), why)])
            });
            match parsed {
                Ok(account) if !types.contains(&account.kind()) => {
                    return Err(Error::Forbidden(format!(
                        "This key's permissions do not allow creating {} accounts",
                        account.kind().as_str()
                    )));
                }
                Ok(account) => news.push(account),
                Err(v) => violations.extend(batch::nested(v, &parent(i))),
            }
        }
        if !violations.is_empty() {
            return Err(Error::InvalidAttributes(violations));
        }
        let field = |i: usize| match parent(i) {
            parent if parent.is_empty() => "account".to_owned(),
            parent => format!("{parent}.account"),
        };
        self.insert(principal.scope(), news, actor(principal), field).await
    }

    /// Account `id`: a secret key's (of a type it may read), or a merchant
    /// token's own processing account.
    pub(crate) async fn get(&self, principal: &Principal, id: &str) -> Result<Account, Error> {
        let id = object_id(id, not_found)?;
        if principal.key_kind == KeyKind::Merchant {
            // A merchant token reads its own processing account, nothing else.
            if principal.account_id != Some(id) {
                return Err(not_found());
            }
        } else {
            principal.require_secret_key()?;
        }
        let account = self.store.account(principal.scope(), id).await?.ok_or_else(not_found)?;
        if principal.key_kind != KeyKind::Merchant {
            visible(&account, &allowed_types(principal, Verb::Get), not_found)?;
        }
        Ok(account)
    }

    /// The accounts of the types the key may read matching `query`.
    pub(crate) async fn list(
        &self,
        principal: &Principal,
        query: ListQuery,
    ) -> Result<Listing<Account>, Error> {
        let query = restrict(query, &allowed_types(principal, Verb::Get));
        self.store.list_accounts(principal.scope(), &query, self.limits).await
    }

    /// Applies `patch` to account `id` (`None`: not found); an empty patch
    /// changes nothing and answers the account.
    pub(crate) async fn update(
        &self,
        principal: &Principal,
        id: Option<Uuid>,
        patch: AccountPatch,
    ) -> Result<Account, Error> {
        let scope = principal.scope();
        let types = allowed_types(principal, Verb::Put);
        let id = id.ok_or_else(not_found)?;
        if patch.is_empty() {
            let account = self.store.account(scope, id).await?.ok_or_else(not_found)?;
            visible(&account, &types, not_found)?;
            return Ok(account);
        }
        let now = self.clock.now();
        let mut changed = self
            .change(
                scope,
                &[id],
                actor(principal),
                |_| not_found(),
                |_| "account".to_owned(),
                |_, a| {
                    visible(a, &types, not_found)?;
                    updated(a, &patch, now, "account")
                },
            )
            .await?;
        changed.pop().ok_or_else(not_found)
    }

    /// Applies each patch to its account, all or none; problems are
    /// reported under `requests[i]`.
    pub(crate) async fn update_many(
        &self,
        principal: &Principal,
        patches: Vec<(Option<Uuid>, AccountPatch)>,
    ) -> Result<Vec<Account>, Error> {
        let types = allowed_types(principal, Verb::Put);
        let (parsed_ids, patches): (Vec<_>, Vec<_>) = patches.into_iter().unzip();
        let field = |i: usize| format!("requests[{i}].account.id");
        let ids = batch::ids(parsed_ids.into_iter().enumerate(), field, "No such account")?;
        let now = self.clock.now();
        self.change(
            principal.scope(),
            &ids,
            actor(principal),
            |i| Error::invalid(field(i), "No such account"),
            |i| format!("requests[{i}].account"),
            |i, a| {
                visible(a, &types, || Error::invalid(field(i), "No such account"))?;
                updated(a, &patches[i], now, &format!("requests[{i}].account"))
            },
        )
        .await
    }

    /// Applies `patch` to every account matching `filters` of the types the
    /// key may change.
    pub(crate) async fn update_by_query(
        &self,
        principal: &Principal,
        mut filters: Vec<Filter>,
        patch: AccountPatch,
    ) -> Result<Vec<Account>, Error> {
        let types = allowed_types(principal, Verb::Put);
        if patch.is_empty() {
            return Err(Error::invalid("update_mask", "Name at least one attribute to change"));
        }
        if !filters.is_empty() {
            filters.extend(type_filter(&types));
        }
        let now = self.clock.now();
        self.change_matching(principal.scope(), &filters, actor(principal), |a| {
            updated(a, &patch, now, "account")
        })
        .await
    }

    /// Deletes account `id`.
    pub(crate) async fn delete(&self, principal: &Principal, id: &str) -> Result<Account, Error> {
        let types = allowed_types(principal, Verb::Delete);
        let id = object_id(id, not_found)?;
        let now = self.clock.now();
        let mut deleted = self
            .change(
                principal.scope(),
                &[id],
                actor(principal),
                |_| not_found(),
                |_| "account".to_owned(),
                |_, a| {
                    visible(a, &types, not_found)?;
                    Ok(Change::Delete(a.clone(), now))
                },
            )
            .await?;
        deleted.pop().ok_or_else(not_found)
    }

    /// Deletes the accounts `ids`, all or none; problems are reported on
    /// `ids[i]`.
    pub(crate) async fn delete_many(
        &self,
        principal: &Principal,
        ids: &[String],
    ) -> Result<Vec<Account>, Error> {
        let types = allowed_types(principal, Verb::Delete);
        let field = |i: usize| format!("ids[{i}]");
        let ids = batch::ids(ids.iter().map(|id| id.parse().ok()).enumerate(), field, "No such account")?;
        let now = self.clock.now();
        self.change(
            principal.scope(),
            &ids,
            actor(principal),
            |i| Error::invalid(field(i), "No such account"),
            field,
            |i, a| {
                visible(a, &types, || Error::invalid(field(i), "No such account"))?;
                Ok(Change::Delete(a.clone(), now))
            },
        )
        .await
    }

    /// Deletes every account matching `filters` of the types the key may
    /// delete.
    pub(crate) async fn delete_by_query(
        &self,
        principal: &Principal,
        mut filters: Vec<Filter>,
    ) -> Result<Vec<Account>, Error> {
        let types = allowed_types(principal, Verb::Delete);
        if !filters.is_empty() {
            filters.extend(type_filter(&types));
        }
        let now = self.clock.now();
        self.change_matching(principal.scope(), &filters, actor(principal), |a| {
            Ok(Change::Delete(a.clone(), now))
        })
        .await
    }

    /// The processing accounts payer `payer_id` may see and pay: its own
    /// private ones, the partner's, and the billers. An unknown payer is
    /// not found.
    pub(crate) async fn recipients(
        &self,
        principal: &Principal,
        payer_id: &str,
        query: ListQuery,
    ) -> Result<Listing<Account>, Error> {
        let scope = principal.scope();
        let missing = || Error::NotFound { resource: "Payer" };
        let payer = object_id(payer_id, missing)?;
        require_customer_reader(principal, missing)?;
        self.customer(scope, payer).await?;
        self.store.list_recipients(scope, payer, &query, self.limits).await
    }

    /// The payer and the recipient, if the payer may see and pay it;
    /// otherwise not found (whether it exists or not).
    #[tracing::instrument(skip(self, principal))]
    pub(crate) async fn resolve_recipient(
        &self,
        principal: &Principal,
        payer_id: &str,
        recipient_id: &str,
    ) -> Result<(Account, Account), Error> {
        let scope = principal.scope();
        let missing = || Error::NotFound { resource: "Payer" };
        let payer = object_id(payer_id, missing)?;
        require_customer_reader(principal, missing)?;
        let recipient = object_id(recipient_id, || Error::NotFound { resource: "Recipient" })?;
        let payer = self.customer(scope, payer).await?;
        let recipient = self
            .store
            .account(scope, recipient)
            .await?
            .filter(|r| r.processing().is_some_and(|p| p.visibility.admits(payer.id)))
            .ok_or(Error::NotFound { resource: "Recipient" })?;
        Ok((payer, recipient))
    }

    /// The status history of processing account `account_id`, oldest
    /// first: for a secret key that may read processing accounts, or a
    /// merchant token's own account.
    pub(crate) async fn status_changes(
        &self,
        principal: &Principal,
        account_id: &str,
    ) -> Result<Vec<StatusChange>, Error> {
        let missing = || Error::NotFound { resource: "Processing account" };
        let id = object_id(account_id, missing)?;
        if principal.key_kind == KeyKind::Merchant {
            if principal.account_id != Some(id) {
                return Err(missing());
            }
        } else {
            principal.require_secret_key()?;
            if !allowed_types(principal, Verb::Get).contains(&AccountType::Processing) {
                return Err(missing());
            }
        }
        match self.store.account(principal.scope(), id).await? {
            Some(account) if account.kind() == AccountType::Processing => {}
            _ => return Err(missing()),
        }
        self.store.status_changes(id).await
    }

    /// Sets a customer's default payment method (`""`: none), as the
    /// payment methods service, which decides it, says.
    pub(crate) async fn set_default_payment_method(
        &self,
        principal: &Principal,
        account_id: &str,
        payment_method_id: &str,
    ) -> Result<Account, Error> {
        principal.require_service("methods")?;
        let scope = principal.scope();
        let id = object_id(account_id, not_found)?;
        let method = match payment_method_id.trim() {
            "" => None,
            raw => Some(raw.parse().map_err(|_| Error::invalid("payment_method_id", "Must be a valid id"))?),
        };
        let now = self.clock.now();
        let mut changed = self
            .change(
                scope,
                &[id],
                Actor::System,
                |_| not_found(),
                |_| "account".to_owned(),
                |_, a| {
                    let mut account = a.clone();
                    let Profile::Customer(customer) = &mut account.profile else {
                        return Err(Error::invalid(
                            "account_id",
                            "Only customers have a default payment method",
                        ));
                    };
                    customer.default_payment_method_id = method;
                    account.modified_at = now;
                    Ok(Change::Update(account, None))
                },
            )
            .await?;
        changed.pop().ok_or_else(not_found)
    }
}

// === The changes, in a transaction ===

impl Accounts {
    /// Inserts new accounts, all or none, with an `account.created` event
    /// each. Processing accounts are assessed at once (their history shows
    /// `pending`, then the assessment) and may become the default;
    /// `field(i)` names the `i`-th account in errors.
    #[tracing::instrument(skip_all, fields(partner_id = %scope.partner_id, count = accounts.len()))]
    async fn insert(
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
            created.push(insert_account(store, &mut tx, scope, account, actor, &field(index)).await?);
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
    async fn change<F>(
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
            changed.push(apply_change(store, &mut tx, scope, account, change, actor, &field(index)).await?);
        }
        tx.commit().await?;
        self.forget_merchants(&changed);
        Ok(changed)
    }

    /// Applies `change` to every account of the partner matching `filters`
    /// (at most the list limit of them; more is refused before anything
    /// changes), forgetting merchant tokens as [`Accounts::change`] does.
    /// Billers never match.
    async fn change_matching<F>(
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
            changed.push(apply_change(store, &mut tx, scope, &account, change, actor, "account").await?);
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
}

// === Who may touch which accounts ===

fn not_found() -> Error {
    Error::NotFound { resource: "Account" }
}

/// The account types `principal` may act on with `verb`.
fn allowed_types(principal: &Principal, verb: Verb) -> Vec<AccountType> {
    if principal.permits(verb, "/accounts") {
        return vec![AccountType::Customer, AccountType::Processing];
    }
    let mut types = Vec::new();
    if principal.permits(verb, "/customers") {
        types.push(AccountType::Customer);
    }
    if principal.permits(verb, "/processing_accounts") {
        types.push(AccountType::Processing);
    }
    types
}

/// A payer's recipients are part of what reading the payer shows: a key
/// that may read customers may read them, whatever it may do with
/// processing accounts directly; other keys see no payer.
fn require_customer_reader(principal: &Principal, missing: impl FnOnce() -> Error) -> Result<(), Error> {
    if allowed_types(principal, Verb::Get).contains(&AccountType::Customer) { Ok(()) } else { Err(missing()) }
}

/// A filter keeping only `types`, when they are not all of them.
fn type_filter(types: &[AccountType]) -> Option<Filter> {
    (types.len() < 2).then(|| Filter {
        field: Some(FieldRef { path: vec!["type".to_owned()], function: 0 }),
        any_of: types
            .iter()
            .map(|t| Condition { operator: Operator::Equal as i32, value: t.as_str().to_owned() })
            .collect(),
    })
}

fn restrict(mut query: ListQuery, types: &[AccountType]) -> ListQuery {
    query.filters.extend(type_filter(types));
    query
}

/// Checks `account` is of a type the caller may touch: otherwise it is as
/// if it did not exist.
fn visible(account: &Account, types: &[AccountType], missing: impl FnOnce() -> Error) -> Result<(), Error> {
    if types.contains(&account.kind()) { Ok(()) } else { Err(missing()) }
}

/// The change `patch` makes to `account` at `now`; problems are named
/// under `field`.
fn updated(
    account: &Account,
    patch: &AccountPatch,
    now: DateTime<Utc>,
    field: &str,
) -> Result<Change, Error> {
    let changed =
        account.apply(patch, now).map_err(|(name, why)| Error::invalid(format!("{field}.{name}"), why))?;
    Ok(Change::Update(changed, patch.processing.status.clone()))
}
