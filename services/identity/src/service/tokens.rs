//! Access tokens: session tokens for hosted pages, merchant tokens for
//! merchant portals; each bound to an account of the right kind, redeemed
//! (session tokens) once, revoked while it works.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use paymesh_kit::{Error, auth::Scope, clock::Clock, config::ListLimits};
use uuid::Uuid;

use super::auth::IdentityAuthenticator;
use crate::{
    domain::{
        account::Account,
        token::{AccessToken, MerchantSigner},
    },
    store::Store,
};

/// The access tokens of the identity service.
#[derive(Clone)]
pub(crate) struct AccessTokens {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) limits: ListLimits,
    /// Signs merchant tokens.
    pub(crate) signer: MerchantSigner,
    /// How long a session token lives.
    pub(crate) session_ttl: Duration,
    /// Identity's own authenticator, which revocations evict from.
    pub(crate) cache: Arc<IdentityAuthenticator>,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens").finish_non_exhaustive()
    }
}

pub(crate) fn not_found() -> Error {
    Error::NotFound { resource: "Access token" }
}

impl AccessTokens {
    /// Stores a token's record; `session_token` is the session token's
    /// text (only its hash is kept). The account must be a customer
    /// (session) or a processing account (merchant) of this partner and
    /// mode.
    pub(crate) async fn insert(
        &self,
        scope: Scope,
        token: &AccessToken,
        session_token: Option<&str>,
    ) -> Result<(), Error> {
        let (wanted, missing) = token.kind.account();
        let store = &self.store;
        let mut tx = store.begin().await?;
        if store.account_type(&mut tx, scope, token.account_id).await? != Some(wanted) {
            return Err(Error::invalid("access_token.account_id", missing));
        }
        store.insert_access_token(&mut tx, scope, token, session_token).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes a token at `now`.
    pub(crate) async fn revoke(
        &self,
        scope: Scope,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<AccessToken, Error> {
        let store = &self.store;
        let mut tx = store.begin().await?;
        let token = store.lock_access_token(&mut tx, scope, id).await?.ok_or_else(not_found)?;
        let token = token.revoked(now).map_err(Error::Conflict)?;
        store.write_token_revocation(&mut tx, scope, &token, now).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Redeems a session token of this partner and mode: the first time it
    /// answers the record and its customer; afterwards, once expired or
    /// revoked, for a deleted customer or an unknown token it says why not,
    /// naming the `token` field (the caller's own key is fine).
    pub(crate) async fn redeem(
        &self,
        scope: Scope,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(AccessToken, Account), Error> {
        let store = &self.store;
        let mut tx = store.begin().await?;
        let found = store
            .lock_session_token(&mut tx, scope, token)
            .await?
            .ok_or_else(|| Error::invalid("token", "Invalid session token"))?;
        let redeemed = found.redeemed(now).map_err(|refusal| Error::invalid("token", refusal))?;
        let account = store
            .account_in(&mut tx, scope, redeemed.account_id)
            .await?
            .ok_or_else(|| Error::invalid("token", "The customer of this session token was deleted"))?;
        store.write_redemption(&mut tx, scope, &redeemed, now).await?;
        tx.commit().await?;
        Ok((redeemed, account))
    }
}
