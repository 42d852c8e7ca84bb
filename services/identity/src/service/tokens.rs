//! Access tokens: session tokens for hosted pages, merchant tokens for
//! merchant portals; each bound to an account of the right kind, redeemed
//! (session tokens) once, revoked while it works. Revocations evict the
//! token from identity's own cache at once.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use paymesh_kit::{
    Error,
    auth::{KeyKind, Principal, Scope},
    clock::Clock,
    config::ListLimits,
    query::Listing,
    values::Attrs,
    wire::object_id,
};
use paymesh_proto::common::v1::ListQuery;
use uuid::Uuid;

use super::auth::IdentityAuthenticator;
use crate::{
    domain::{
        account::Account,
        token::{
            AccessToken, MerchantClaims, MerchantSigner, TokenType, looks_like_session_token,
            new_session_token,
        },
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

fn not_found() -> Error {
    Error::NotFound { resource: "Access token" }
}

impl AccessTokens {
    /// Issues a token of `kind` for `account_id` as `principal` at `now`:
    /// answers its record and the token, shown this once (a session
    /// token's text is kept only as its hash; a merchant token is a signed
    /// JWT).
    pub(crate) async fn create(
        &self,
        principal: &Principal,
        (kind, account_id, attrs): (TokenType, Uuid, Attrs),
        now: DateTime<Utc>,
    ) -> Result<(AccessToken, String), Error> {
        let scope = principal.scope();
        let session_ttl = TimeDelta::from_std(self.session_ttl).unwrap_or(TimeDelta::minutes(15));
        let record =
            AccessToken::issue(kind, account_id, scope.livemode, principal.key_id, attrs, now, session_ttl);
        let token = match kind {
            TokenType::SessionAccess => new_session_token()
                .map_err(|e| Error::Internal(anyhow::Error::new(e).context("OS random source")))?,
            TokenType::Merchant => self.signer.sign(&MerchantClaims::new(
                record.id,
                account_id,
                scope.partner_id,
                scope.livemode,
                now,
            )),
        };
        let session = (kind == TokenType::SessionAccess).then_some(token.as_str());
        self.insert(scope, &record, session).await?;
        Ok((record, token))
    }

    /// Token `id`'s record.
    pub(crate) async fn get(&self, scope: Scope, id: &str) -> Result<AccessToken, Error> {
        let id = object_id(id, not_found)?;
        self.store.access_token(scope, id).await?.ok_or_else(not_found)
    }

    /// The records of the tokens matching `query`.
    pub(crate) async fn list(&self, scope: Scope, query: &ListQuery) -> Result<Listing<AccessToken>, Error> {
        self.store.list_access_tokens(scope, query, self.limits).await
    }

    /// Stores a token's record; `session_token` is the session token's
    /// text (only its hash is kept). The account must be a customer
    /// (session) or a processing account (merchant) of this partner and
    /// mode.
    async fn insert(
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

    /// Revokes token `id` at `now`. A merchant token is refused here at
    /// once; other services' caches follow within their TTL.
    pub(crate) async fn revoke(
        &self,
        scope: Scope,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<AccessToken, Error> {
        let id = object_id(id, not_found)?;
        let store = &self.store;
        let mut tx = store.begin().await?;
        let token = store.lock_access_token(&mut tx, scope, id).await?.ok_or_else(not_found)?;
        let token = token.revoked(now).map_err(Error::Conflict)?;
        store.write_token_revocation(&mut tx, scope, &token, now).await?;
        tx.commit().await?;
        self.cache.evict_key_id(token.id);
        Ok(token)
    }

    /// Redeems a session token at `now`, for a hosted page (a client key)
    /// or a secret key of its partner and mode: the first time it answers
    /// the record and its customer; afterwards, once expired or revoked,
    /// for a deleted customer or an unknown token it says why not, naming
    /// the `token` field.
    pub(crate) async fn redeem(
        &self,
        principal: &Principal,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(AccessToken, Account), Error> {
        if principal.key_kind == KeyKind::Merchant {
            return Err(Error::Forbidden("Merchant tokens cannot redeem session tokens".to_owned()));
        }
        let scope = principal.scope();
        let token = token.trim();
        if !looks_like_session_token(token) {
            return Err(Error::invalid("token", "Not a session token (session_access_…)"));
        }
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
