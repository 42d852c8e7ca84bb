//! The methods service's operations: who may do what, in which order, in one
//! transaction with identity kept in step.
//!
//! - Secret keys (and services) create, read, update and delete methods;
//!   client keys only create customers' methods (or methods on no
//!   account), never the default;
//!   merchant tokens do nothing here.
//! - A method belongs to an account of the caller's partner and mode, which
//!   identity confirms (billers take none), or to no account: a token a
//!   payment names by id, or a single-use card (services only) that its
//!   payment deletes once finished. Deleting a method erases its number;
//!   single-use methods left after [`SINGLE_USE_LIFETIME`] are deleted by
//!   the sweep.
//! - The default: at most one per account, decided here. For a customer,
//!   identity's `default_payment_method_id` follows: the change queues the
//!   customer in its own transaction, and after the commit identity is
//!   told the default as it then is; what cannot be delivered is retried
//!   by a background task until it is (identity is eventually consistent
//!   with the methods service, never the other way round).
//! - Detokenize: the payments service only, every call audited — released
//!   or refused — before anything is answered.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error, Violation,
    auth::{KeyKind, Principal, Scope},
    batch,
    clock::Clock,
    config::ListLimits,
    idempotency::IdempotencyKeys,
    query::Listing,
};
use paymesh_proto::{
    common::v1::{Filter, ListQuery},
    methods::v1 as pb,
};
use prost_types::FieldMask;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::{
    convert,
    domain::{
        bins::BinTable,
        method::{Fingerprinter, MethodPatch, Owner, PaymentMethod},
    },
    peers::{Accounts, Refusal},
    store::{Detokenization, Outcome, Store},
};

/// The only service that may detokenize.
pub(crate) const DETOKENIZER: &str = "payments";

/// How long a single-use method's number is kept at most: its payment
/// deletes it once finished; the sweep deletes what is left after this.
pub(crate) const SINGLE_USE_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The longest Detokenize purpose, in characters.
const MAX_PURPOSE_CHARS: usize = 200;

fn not_found() -> Error {
    Error::NotFound { resource: "Payment method" }
}

/// The methods service over its store and identity.
#[derive(Clone, Debug)]
pub(crate) struct Methods {
    pub(crate) store: Store,
    pub(crate) accounts: Accounts,
    pub(crate) fingerprints: Fingerprinter,
    pub(crate) bins: BinTable,
    pub(crate) clock: Clock,
    pub(crate) limits: ListLimits,
    /// The idempotency keys of method creation.
    pub(crate) keys: IdempotencyKeys,
}

/// Who may create a method for an account of kind `owner`, and make it the
/// default: secret keys (and services) for any account; client keys — the
/// browser's, so anyone's — only for customers, and never the default (so
/// nobody can redirect payouts, or a customer's charges, with a key the
/// public holds); merchant tokens never.
fn may_create(principal: &Principal, owner: Owner, default: bool) -> Result<(), Error> {
    match principal.key_kind {
        KeyKind::Secret | KeyKind::Service => Ok(()),
        KeyKind::Client if owner != Owner::Customer => Err(Error::invalid(
            "payment_method.account_id",
            "Client keys tokenize customers' payment methods only; use a secret key for a processing account",
        )),
        KeyKind::Client if default => Err(Error::invalid(
            "payment_method.default_payment_method",
            "Client keys cannot choose the default; set it with a secret key",
        )),
        KeyKind::Client => Ok(()),
        KeyKind::Merchant => Err(merchant_refused()),
    }
}

fn merchant_refused() -> Error {
    Error::Forbidden(
        "Merchant tokens may only read their own processing account; use a secret or client key".to_owned(),
    )
}

/// A default claimed by two items of one request.
const TWO_DEFAULTS: &str = "Another item of this request makes a method of the same account its default";

/// What a change does to each method it names.
#[derive(Clone, Copy, Debug)]
enum Edit<'a> {
    /// Applies a patch.
    Update(&'a MethodPatch),
    /// Deletes the method.
    Delete,
}

/// Which methods a change acts on.
enum Targets<'a> {
    /// These, by id; `missing(i)` is the error of the `i`-th when it is
    /// not found (not found for one, an invalid item in a batch).
    Ids { ids: Vec<Uuid>, missing: &'a (dyn Fn(usize) -> Error + Sync) },
    /// Those matching every filter.
    Query(&'a [Filter]),
}

impl Methods {
    /// Tokenizes a card or bank account; `single_use` (services only) for
    /// a card charged once and not kept on file (see
    /// `CreatePaymentMethodRequest.single_use`).
    pub(crate) async fn create(
        &self,
        principal: &Principal,
        method: Option<pb::PaymentMethod>,
        single_use: bool,
    ) -> Result<PaymentMethod, Error> {
        if single_use && principal.service.is_none() {
            return Err(Error::invalid("single_use", "Set by paymesh's services only"));
        }
        let mut created = self.create_many(principal, vec![method], single_use, |_| String::new()).await?;
        created.pop().ok_or_else(|| Error::Internal(anyhow::anyhow!("a create of one made no method")))
    }

    /// Tokenizes several cards or bank accounts, all or none; `parent(i)`
    /// is where the `i`-th item's problems are reported (`requests[i]`, or
    /// nothing for a request of one).
    pub(crate) async fn create_many(
        &self,
        principal: &Principal,
        methods: Vec<Option<pb::PaymentMethod>>,
        single_use: bool,
        parent: impl Fn(usize) -> String + Sync,
    ) -> Result<Vec<PaymentMethod>, Error> {
        if principal.key_kind == KeyKind::Merchant {
            return Err(merchant_refused());
        }
        let scope = principal.scope();
        let now = self.clock.now();
        let mut violations = Vec::new();
        let mut news = Vec::with_capacity(methods.len());
        for (i, method) in methods.into_iter().enumerate() {
            match convert::new_method(method, single_use, scope.livemode, now, &self.bins) {
                Ok(new) => news.push((i, new)),
                Err(v) => violations.extend(batch::nested(v, &parent(i))),
            }
        }
        if !violations.is_empty() {
            return Err(Error::InvalidAttributes(violations));
        }
        if scope.livemode && self.fingerprints.is_development() {
            return Err(Error::Unavailable {
                reason: "Live mode is not available: this deployment has no fingerprint key \
                         (PAYMESH_FINGERPRINT_KEY)"
                    .to_owned(),
                retry_after: None,
            });
        }
        // Each account is asked about once, however many methods it takes.
        let mut owners = HashMap::new();
        let mut defaults = HashSet::new();
        let mut methods = Vec::with_capacity(news.len());
        for (i, new) in news {
            // A method on no account needs no owner's word: it pays, it is
            // never paid out to nor anyone's default.
            let Some(account_id) = new.account_id else {
                methods.push(new.create(Uuid::now_v7(), scope, None, &self.fingerprints, now));
                continue;
            };
            let owner = match owners.get(&account_id) {
                Some(owner) => *owner,
                None => {
                    let owner = self.accounts.owner(scope, account_id).await?;
                    owners.insert(account_id, owner);
                    owner
                }
            };
            let refusal = match owner {
                Ok(owner) => match may_create(principal, owner, new.is_default) {
                    Ok(()) if new.is_default && !defaults.insert(account_id) => {
                        Error::invalid("payment_method.default_payment_method", TWO_DEFAULTS)
                    }
                    Ok(()) => {
                        methods.push(new.create(Uuid::now_v7(), scope, Some(owner), &self.fingerprints, now));
                        continue;
                    }
                    Err(e) => e,
                },
                Err(Refusal::Missing) => Error::invalid("payment_method.account_id", "No such account"),
                Err(Refusal::Biller) => Error::invalid(
                    "payment_method.account_id",
                    "Billers come from the biller directory and take no payment methods",
                ),
            };
            batch::gather(&mut violations, refusal, &parent(i))?;
        }
        let methods = batch::finish(methods, violations)?;
        let mut tx = self.store.begin().await?;
        // Default locks in one order everywhere: by account.
        for account in
            methods.iter().filter(|m| m.is_default).filter_map(|m| m.account_id).collect::<BTreeSet<_>>()
        {
            self.store.lock_defaults(&mut tx, scope, account).await?;
        }
        let mut syncs = Vec::new();
        for method in &methods {
            if let (true, Some(account)) = (method.is_default, method.account_id) {
                self.store.clear_defaults(&mut tx, scope, account, method.id, now).await?;
            }
            self.store.insert(&mut tx, scope, method).await?;
            syncs.extend(self.queue_default_sync(&mut tx, scope, method, method.is_default, now).await?);
        }
        tx.commit().await?;
        for method in &methods {
            tracing::info!(payment_method_id = %method.id, r#type = method.instrument.kind(), "payment method created");
        }
        self.after_commit(syncs).await;
        Ok(methods)
    }

    /// One method.
    pub(crate) async fn get(&self, principal: &Principal, id: &str) -> Result<PaymentMethod, Error> {
        principal.require_secret_key()?;
        let id = paymesh_kit::wire::object_id(id, not_found)?;
        self.store.method(principal.scope(), id).await?.ok_or_else(not_found)
    }

    /// Methods matching `query`.
    pub(crate) async fn list(
        &self,
        principal: &Principal,
        query: &ListQuery,
    ) -> Result<Listing<PaymentMethod>, Error> {
        principal.require_secret_key()?;
        self.store.list_methods(principal.scope(), query, self.limits).await
    }

    /// Changes a method.
    pub(crate) async fn update(
        &self,
        principal: &Principal,
        method: Option<pb::PaymentMethod>,
        mask: Option<FieldMask>,
    ) -> Result<PaymentMethod, Error> {
        let mut updated = self.update_many(principal, vec![(method, mask)], |_| String::new()).await?;
        updated.pop().ok_or_else(not_found)
    }

    /// Changes several methods by id, all or none; `parent(i)` as in
    /// [`Methods::create_many`]. In a request of one, an unknown id is not
    /// found; in a batch, it is an invalid item.
    pub(crate) async fn update_many(
        &self,
        principal: &Principal,
        requests: Vec<(Option<pb::PaymentMethod>, Option<FieldMask>)>,
        parent: impl Fn(usize) -> String + Sync,
    ) -> Result<Vec<PaymentMethod>, Error> {
        principal.require_secret_key()?;
        let one = requests.len() == 1 && parent(0).is_empty();
        let mut violations = Vec::new();
        let mut ids = Vec::with_capacity(requests.len());
        let mut patches = Vec::with_capacity(requests.len());
        for (i, (method, mask)) in requests.into_iter().enumerate() {
            match convert::patch(method, mask) {
                Ok((id, patch)) => {
                    ids.push((i, id.trim().parse().ok()));
                    patches.push(patch);
                }
                Err(v) => violations.extend(batch::nested(v, &parent(i))),
            }
        }
        if !violations.is_empty() {
            return Err(Error::InvalidAttributes(violations));
        }
        let field = |i: usize| format!("{}.payment_method.id", parent(i));
        let missing = |i: usize| {
            if one { not_found() } else { Error::invalid(field(i), "No such payment method") }
        };
        let ids = if one {
            vec![ids[0].1.ok_or_else(not_found)?]
        } else {
            batch::ids(ids.into_iter(), field, "No such payment method")?
        };
        let targets = Targets::Ids { ids, missing: &missing };
        self.change(principal.scope(), targets, |i| Edit::Update(&patches[i]), &parent).await
    }

    /// Applies one change to every method matching `filters`.
    pub(crate) async fn update_by_query(
        &self,
        principal: &Principal,
        filters: &[Filter],
        method: Option<pb::PaymentMethod>,
        mask: Option<FieldMask>,
    ) -> Result<Vec<PaymentMethod>, Error> {
        principal.require_secret_key()?;
        let (_, patch) = convert::patch(method, mask).map_err(Error::InvalidAttributes)?;
        self.change(principal.scope(), Targets::Query(filters), |_| Edit::Update(&patch), |_| String::new())
            .await
    }

    /// Deletes a method (its row stays, marked deleted); answers it as it
    /// is once deleted.
    pub(crate) async fn delete(&self, principal: &Principal, id: &str) -> Result<PaymentMethod, Error> {
        principal.require_secret_key()?;
        let id = paymesh_kit::wire::object_id(id, not_found)?;
        let targets = Targets::Ids { ids: vec![id], missing: &|_| not_found() };
        let mut deleted =
            self.change(principal.scope(), targets, |_| Edit::Delete, |_| String::new()).await?;
        deleted.pop().ok_or_else(not_found)
    }

    /// Deletes several methods by id, all or none.
    pub(crate) async fn delete_many(
        &self,
        principal: &Principal,
        ids: &[String],
    ) -> Result<Vec<PaymentMethod>, Error> {
        principal.require_secret_key()?;
        let field = |i: usize| format!("ids[{i}]");
        let ids = batch::ids(
            ids.iter().map(|id| id.trim().parse().ok()).enumerate(),
            field,
            "No such payment method",
        )?;
        let missing = |i: usize| Error::invalid(field(i), "No such payment method");
        let targets = Targets::Ids { ids, missing: &missing };
        self.change(principal.scope(), targets, |_| Edit::Delete, |_| String::new()).await
    }

    /// Deletes every method matching `filters`.
    pub(crate) async fn delete_by_query(
        &self,
        principal: &Principal,
        filters: &[Filter],
    ) -> Result<Vec<PaymentMethod>, Error> {
        principal.require_secret_key()?;
        self.change(principal.scope(), Targets::Query(filters), |_| Edit::Delete, |_| String::new()).await
    }

    /// Applies `edit(i)` to each target, all or none, in one transaction:
    /// the default locks of their accounts first (by account, the order
    /// every change takes them in), then the methods (by id). Every item is
    /// checked before anything is written; `parent(i)` places an item's
    /// problems.
    async fn change<'p>(
        &self,
        scope: Scope,
        targets: Targets<'_>,
        edit: impl Fn(usize) -> Edit<'p> + Sync,
        parent: impl Fn(usize) -> String + Sync,
    ) -> Result<Vec<PaymentMethod>, Error> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let (ids, filters): (Vec<Uuid>, &[Filter]) = match &targets {
            Targets::Ids { ids, .. } => (ids.clone(), &[]),
            Targets::Query(filters) => {
                (self.store.matching(&mut tx, scope, filters, self.limits.max_limit).await?, filters)
            }
        };
        let accounts = self.store.accounts_of(&mut tx, scope, &ids).await?;
        if let Targets::Ids { ids, missing } = &targets
            && let Some(i) = ids.iter().position(|id| !accounts.contains_key(id))
        {
            return Err(missing(i));
        }
        for account in accounts.values().flatten().collect::<BTreeSet<_>>() {
            self.store.lock_defaults(&mut tx, scope, *account).await?;
        }
        let mut locked: HashMap<Uuid, PaymentMethod> =
            self.store.lock(&mut tx, scope, &ids, filters).await?.into_iter().map(|m| (m.id, m)).collect();
        // Every item's outcome, before anything is written.
        let mut violations = Vec::new();
        let mut planned = Vec::with_capacity(ids.len());
        let mut claims: HashMap<Uuid, usize> = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            let Some(before) = locked.remove(id) else {
                match &targets {
                    // Changed since it was found, and no longer a match.
                    Targets::Query(_) => continue,
                    Targets::Ids { missing, .. } => return Err(missing(i)),
                }
            };
            // `None`: deleted.
            let after = match edit(i) {
                Edit::Update(patch) => match before.apply(patch.clone(), now) {
                    Ok(after) => {
                        if let (Some(true), Some(account)) = (patch.is_default, after.account_id)
                            && claims.insert(account, i).is_some()
                        {
                            let field = match &targets {
                                Targets::Query(_) => "filters".to_owned(),
                                Targets::Ids { .. } => {
                                    format!("{}.payment_method.default_payment_method", parent(i))
                                }
                            };
                            violations.push(Violation::new(field, TWO_DEFAULTS));
                        }
                        Some(after)
                    }
                    Err(problems) => {
                        let problems = Error::invalid_under("payment_method", problems);
                        batch::gather(&mut violations, problems, &parent(i))?;
                        continue;
                    }
                },
                Edit::Delete => None,
            };
            planned.push((before, after));
        }
        if !violations.is_empty() {
            return Err(Error::InvalidAttributes(violations));
        }
        let mut done = Vec::with_capacity(planned.len());
        let mut syncs = Vec::new();
        for (before, after) in planned {
            let method = match after {
                Some(mut after) => {
                    // A method made the default leaves its account's others
                    // not the default, this request's included.
                    let account = after.account_id;
                    if account.and_then(|a| claims.get(&a)).is_some_and(|&j| ids[j] != after.id) {
                        after.is_default = false;
                    }
                    if let (true, false, Some(account)) = (after.is_default, before.is_default, account) {
                        self.store.clear_defaults(&mut tx, scope, account, after.id, now).await?;
                    }
                    self.store.update(&mut tx, scope, &after).await?;
                    after
                }
                None => {
                    let mut method = before.clone();
                    method.is_default = false;
                    method.modified_at = now;
                    self.store.delete(&mut tx, scope, &method, now).await?;
                    method
                }
            };
            let changed = method.is_default != before.is_default;
            syncs.extend(self.queue_default_sync(&mut tx, scope, &method, changed, now).await?);
            done.push(method);
        }
        tx.commit().await?;
        self.after_commit(syncs).await;
        Ok(done)
    }

    /// Queues a customer whose default `changed` for identity to learn it;
    /// answers what to deliver after the commit.
    async fn queue_default_sync(
        &self,
        tx: &mut sqlx::PgConnection,
        scope: Scope,
        method: &PaymentMethod,
        changed: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<DefaultSync>, Error> {
        let (true, Some(Owner::Customer), Some(account)) = (changed, method.owner, method.account_id) else {
            return Ok(None);
        };
        self.store.queue_default_sync(tx, scope, account, at).await?;
        Ok(Some(DefaultSync { scope, account, queued_at: at }))
    }

    /// Delivers syncs at once, one per account; what fails stays queued for
    /// the retries of [`Methods::sync_pending_defaults`]. The change itself
    /// has committed.
    async fn after_commit(&self, syncs: Vec<DefaultSync>) {
        let mut seen = HashSet::new();
        for sync in syncs.into_iter().rev().filter(|s| seen.insert(s.account)) {
            if let Err(e) = self.deliver(sync).await {
                tracing::warn!(account_id = %sync.account, error = %e, "identity has not learnt a default yet; will retry");
            }
        }
    }

    /// Tells identity a customer's default as it is now, and clears the
    /// queued sync (unless queued again meanwhile).
    async fn deliver(&self, sync: DefaultSync) -> Result<(), Error> {
        let default = self.store.default_of(sync.scope, sync.account).await?;
        match self.accounts.set_default(sync.scope, sync.account, default).await {
            Ok(()) => self.store.finish_default_sync(sync.account, sync.queued_at).await,
            Err(e) => {
                self.store.default_sync_failed(sync.account, &e.to_string()).await?;
                Err(e)
            }
        }
    }

    /// Delivers every queued sync once; answers how many were delivered.
    pub(crate) async fn sync_pending_defaults(&self) -> Result<usize, Error> {
        let mut delivered = 0;
        for (scope, account, queued_at) in self.store.pending_default_syncs(100).await? {
            match self.deliver(DefaultSync { scope, account, queued_at }).await {
                Ok(()) => delivered += 1,
                Err(e) => {
                    tracing::warn!(account_id = %account, error = %e, "default sync failed; will retry")
                }
            }
        }
        Ok(delivered)
    }

    /// Deletes (so erases the numbers of) single-use methods older than
    /// [`SINGLE_USE_LIFETIME`] that their payment did not delete; answers
    /// how many.
    pub(crate) async fn erase_stale_single_use(&self) -> Result<usize, Error> {
        let before = self.clock.now() - SINGLE_USE_LIFETIME;
        let mut erased = 0;
        for (scope, id) in self.store.stale_single_use(before, 100).await? {
            let missing = |_: usize| not_found();
            match self
                .change(
                    scope,
                    Targets::Ids { ids: vec![id], missing: &missing },
                    |_| Edit::Delete,
                    |_| String::new(),
                )
                .await
            {
                // Deleted meanwhile by its payment.
                Ok(_) | Err(Error::NotFound { .. }) => erased += 1,
                Err(e) => {
                    tracing::warn!(payment_method_id = %id, error = %e, "a single-use method was not erased; will retry")
                }
            }
        }
        Ok(erased)
    }

    /// Releases a method's numbers to the payments service, auditing every
    /// call first.
    pub(crate) async fn detokenize(
        &self,
        principal: &Principal,
        request: &pb::DetokenizeRequest,
    ) -> Result<(PaymentMethod, Zeroizing<String>), Error> {
        let purpose = request.purpose.trim();
        let audit = |method: Option<Uuid>, outcome: Outcome| {
            let call = Detokenization {
                scope: principal.scope(),
                requested_id: request.id.as_str(),
                method_id: method,
                caller_kind: principal.key_kind.as_str(),
                caller: caller(principal),
                purpose,
                outcome,
                at: self.clock.now(),
            };
            async move { self.store.audit(&call).await }
        };
        if let Err(error) = principal.require_service(DETOKENIZER) {
            audit(None, Outcome::Refused("caller is not the payments service")).await?;
            return Err(error);
        }
        if let Err(why) = check_purpose(purpose) {
            audit(None, Outcome::Refused("no valid purpose")).await?;
            return Err(Error::invalid("purpose", why));
        }
        let found = match paymesh_kit::wire::object_id(&request.id, not_found) {
            Ok(id) => self.store.method(principal.scope(), id).await,
            Err(_) => Ok(None),
        };
        let method = match found {
            Ok(Some(method)) => method,
            Ok(None) => {
                audit(None, Outcome::Refused("no such payment method")).await?;
                return Err(not_found());
            }
            Err(e) => {
                audit(None, Outcome::Failed).await?;
                return Err(e);
            }
        };
        let number = match self.store.open_number(&method) {
            Ok(number) => number,
            Err(e) => {
                audit(Some(method.id), Outcome::Failed).await?;
                return Err(e);
            }
        };
        audit(Some(method.id), Outcome::Released).await?;
        tracing::info!(payment_method_id = %method.id, caller = %caller(principal), "payment method detokenized");
        Ok((method, number))
    }
}

/// A customer whose default identity is to learn.
#[derive(Clone, Copy, Debug)]
struct DefaultSync {
    scope: Scope,
    account: Uuid,
    queued_at: DateTime<Utc>,
}

/// A Detokenize purpose: required, one line, at most 200 characters.
fn check_purpose(purpose: &str) -> Result<(), String> {
    if purpose.is_empty() {
        return Err("Required: say why the numbers are needed".to_owned());
    }
    if purpose.chars().count() > MAX_PURPOSE_CHARS {
        return Err(format!("Must be at most {MAX_PURPOSE_CHARS} characters"));
    }
    if purpose.chars().any(char::is_control) {
        return Err("Must not contain control characters".to_owned());
    }
    Ok(())
}

/// Who called, as the audit names them: a service by name, a key by id.
fn caller(principal: &Principal) -> String {
    match (&principal.service, principal.key_kind) {
        (Some(service), KeyKind::Service) => service.to_string(),
        _ => principal.key_id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purpose_is_one_short_line() {
        assert!(check_purpose("authorize payment 0192").is_ok());
        assert!(check_purpose("").is_err());
        assert!(check_purpose(&"x".repeat(201)).is_err());
        assert!(check_purpose("a\nb").is_err());
    }
}
