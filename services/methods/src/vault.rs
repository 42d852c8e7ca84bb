//! The vault's operations: who may do what, in which order, in one
//! transaction with identity kept in step.
//!
//! - Secret keys (and services) create, read, update and delete methods;
//!   client keys only create customers' methods, never the default;
//!   merchant tokens do nothing here.
//! - A method belongs to an account of the caller's partner and mode, which
//!   identity confirms (billers take none).
//! - The default: at most one per account, decided here. For a customer,
//!   identity's `default_payment_method_id` follows: the change queues the
//!   customer in its own transaction, and after the commit identity is
//!   told the default as it then is; what cannot be delivered is retried
//!   by a background task until it is (identity is eventually consistent
//!   with the vault, never the other way round).
//! - Detokenize: the payments service only, every call audited — released
//!   or refused — before anything is answered.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error,
    auth::{KeyKind, Principal, Scope},
    clock::Clock,
    config::ListLimits,
    idempotency::IdempotencyKeys,
    query::Listing,
};
use paymesh_proto::{common::v1::ListQuery, methods::v1 as pb};
use prost_types::FieldMask;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::{
    accounts::{Accounts, Refusal},
    convert,
    domain::{
        bins::BinTable,
        method::{Fingerprinter, Owner, PaymentMethod},
    },
    store::{Detokenization, Outcome, Store},
};

/// The only service that may detokenize.
pub(crate) const DETOKENIZER: &str = "payments";

/// The longest Detokenize purpose, in characters.
const MAX_PURPOSE_CHARS: usize = 200;

fn not_found() -> Error {
    Error::NotFound { resource: "Payment method" }
}

/// The vault over its store and identity.
#[derive(Clone, Debug)]
pub(crate) struct Vault {
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

impl Vault {
    /// Tokenizes a card or bank account.
    pub(crate) async fn create(
        &self,
        principal: &Principal,
        method: Option<pb::PaymentMethod>,
    ) -> Result<PaymentMethod, Error> {
        if principal.key_kind == KeyKind::Merchant {
            return Err(merchant_refused());
        }
        let scope = principal.scope();
        let now = self.clock.now();
        let new =
            convert::new_method(method, scope.livemode, now, &self.bins).map_err(Error::InvalidAttributes)?;
        if scope.livemode && self.fingerprints.is_development() {
            return Err(Error::Unavailable {
                reason: "Live mode is not available: this deployment has no fingerprint key \
                         (PAYMESH_FINGERPRINT_KEY)"
                    .to_owned(),
                retry_after: None,
            });
        }
        let owner = match self.accounts.owner(scope, new.account_id).await? {
            Ok(owner) => owner,
            Err(Refusal::Missing) => {
                return Err(Error::invalid("payment_method.account_id", "No such account"));
            }
            Err(Refusal::Biller) => {
                return Err(Error::invalid(
                    "payment_method.account_id",
                    "Billers come from the biller directory and take no payment methods",
                ));
            }
        };
        may_create(principal, owner, new.is_default)?;
        let method = new.create(Uuid::now_v7(), scope, owner, &self.fingerprints, now);
        let mut tx = self.store.begin().await?;
        if method.is_default {
            self.store.lock_defaults(&mut tx, scope, method.account_id).await?;
            self.store.clear_defaults(&mut tx, scope, method.account_id, method.id, now).await?;
        }
        self.store.insert(&mut tx, scope, &method).await?;
        let sync = self.queue_default_sync(&mut tx, scope, &method, method.is_default, now).await?;
        tx.commit().await?;
        tracing::info!(payment_method_id = %method.id, r#type = method.instrument.kind(), "payment method created");
        self.after_commit(sync).await;
        Ok(method)
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
        principal.require_secret_key()?;
        let scope = principal.scope();
        let now = self.clock.now();
        let (id, patch) = convert::patch(method, mask).map_err(Error::InvalidAttributes)?;
        let id = paymesh_kit::wire::object_id(&id, not_found)?;
        let mut tx = self.store.begin().await?;
        let before = self.locked(&mut tx, scope, id).await?;
        let after =
            before.apply(patch, now).map_err(|problems| Error::invalid_under("payment_method", problems))?;
        if after.is_default && !before.is_default {
            self.store.clear_defaults(&mut tx, scope, after.account_id, after.id, now).await?;
        }
        self.store.update(&mut tx, scope, &after).await?;
        let changed = after.is_default != before.is_default;
        let sync = self.queue_default_sync(&mut tx, scope, &after, changed, now).await?;
        tx.commit().await?;
        self.after_commit(sync).await;
        Ok(after)
    }

    /// Deletes a method (its row stays, marked deleted); answers it as it
    /// is once deleted.
    pub(crate) async fn delete(&self, principal: &Principal, id: &str) -> Result<PaymentMethod, Error> {
        principal.require_secret_key()?;
        let scope = principal.scope();
        let id = paymesh_kit::wire::object_id(id, not_found)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut method = self.locked(&mut tx, scope, id).await?;
        let was_default = method.is_default;
        method.is_default = false;
        method.modified_at = now;
        self.store.delete(&mut tx, scope, &method, now).await?;
        let sync = self.queue_default_sync(&mut tx, scope, &method, was_default, now).await?;
        tx.commit().await?;
        self.after_commit(sync).await;
        Ok(method)
    }

    /// A method locked for a change, after the lock on its account's
    /// default (always taken first: the same order everywhere). The account
    /// never changes, so reading it unlocked first is safe.
    async fn locked(
        &self,
        tx: &mut sqlx::PgConnection,
        scope: Scope,
        id: Uuid,
    ) -> Result<PaymentMethod, Error> {
        let account = self.store.account_of(tx, scope, id).await?.ok_or_else(not_found)?;
        self.store.lock_defaults(tx, scope, account).await?;
        self.store.lock(tx, scope, id).await?.ok_or_else(not_found)
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
        if !changed || method.owner != Owner::Customer {
            return Ok(None);
        }
        self.store.queue_default_sync(tx, scope, method.account_id, at).await?;
        Ok(Some(DefaultSync { scope, account: method.account_id, queued_at: at }))
    }

    /// Delivers a sync at once; what fails stays queued for the retries of
    /// [`Vault::sync_pending_defaults`]. The change itself has committed.
    async fn after_commit(&self, sync: Option<DefaultSync>) {
        if let Some(sync) = sync
            && let Err(e) = self.deliver(sync).await
        {
            tracing::warn!(account_id = %sync.account, error = %e, "identity has not learnt a default yet; will retry");
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
