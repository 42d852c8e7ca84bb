//! `AccessTokenService`: session tokens for hosted pages, merchant tokens
//! for merchant portals.

use std::{sync::Arc, time::Duration};

use chrono::TimeDelta;
use paymesh_kit::{Error, auth, clock::Clock, config::ListLimits, idempotency};
use paymesh_proto::identity::v1::{self as pb, access_token_service_server::AccessTokenService};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{auth::IdentityAuthenticator, object_id, secret, structs};
use crate::{
    convert::{accounts as account_wire, tokens as wire},
    domain::token::{
        AccessToken, MERCHANT_TOKEN_TTL, MerchantClaims, MerchantSigner, TokenType, looks_like_session_token,
        new_session_token,
    },
    store::Store,
};

/// `AccessTokenService` over the identity store. Revocations evict the
/// token from identity's own cache at once.
#[derive(Clone)]
pub(crate) struct AccessTokenApi {
    store: Store,
    clock: Clock,
    limits: ListLimits,
    signer: MerchantSigner,
    session_ttl: Duration,
    cache: Arc<IdentityAuthenticator>,
}

impl std::fmt::Debug for AccessTokenApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokenApi").finish_non_exhaustive()
    }
}

impl AccessTokenApi {
    /// Issues tokens recorded in `store`, signing merchant tokens with
    /// `signer`; session tokens live `session_ttl`; revocations evict from
    /// `cache`.
    pub(crate) fn new(
        store: Store,
        clock: Clock,
        limits: ListLimits,
        signer: MerchantSigner,
        session_ttl: Duration,
        cache: Arc<IdentityAuthenticator>,
    ) -> Self {
        Self { store, clock, limits, signer, session_ttl, cache }
    }
}

fn not_found() -> Error {
    Error::NotFound { resource: "Access token" }
}

#[tonic::async_trait]
impl AccessTokenService for AccessTokenApi {
    async fn create_access_token(
        &self,
        request: Request<pb::CreateAccessTokenRequest>,
    ) -> Result<Response<pb::CreateAccessTokenResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        idempotency::refuse(
            &request,
            "a token is shown once and never kept to answer a retry; a retry makes another token",
        )?;
        let (kind, account_id, attrs) =
            wire::new_token(request.into_inner().access_token).map_err(Error::InvalidAttributes)?;
        let now = self.clock.now();
        let ttl = match kind {
            TokenType::SessionAccess => {
                TimeDelta::from_std(self.session_ttl).unwrap_or(TimeDelta::minutes(15))
            }
            TokenType::Merchant => MERCHANT_TOKEN_TTL,
        };
        let record = AccessToken {
            id: Uuid::now_v7(),
            livemode: scope.livemode,
            kind,
            account_id,
            expires_at: now + ttl,
            redeemed_at: None,
            revoked_at: None,
            issued_by: principal.key_id,
            attrs,
            created_at: now,
            modified_at: now,
        };
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
        self.store.insert_access_token(scope, &record, session).await?;
        Ok(Response::new(pb::CreateAccessTokenResponse {
            access_token: Some(wire::to_proto(record, now)),
            token,
        }))
    }

    async fn get_access_token(
        &self,
        request: Request<pb::GetAccessTokenRequest>,
    ) -> Result<Response<pb::GetAccessTokenResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let id = object_id(&request.get_ref().id, not_found)?;
        let token = self.store.access_token(scope, id).await?.ok_or_else(not_found)?;
        Ok(Response::new(pb::GetAccessTokenResponse {
            access_token: Some(wire::to_proto(token, self.clock.now())),
        }))
    }

    async fn list_access_tokens(
        &self,
        request: Request<pb::ListAccessTokensRequest>,
    ) -> Result<Response<pb::ListAccessTokensResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.store.list_access_tokens(scope, &query, self.limits).await?;
        let now = self.clock.now();
        Ok(Response::new(pb::ListAccessTokensResponse {
            access_tokens: listing.items.into_iter().map(|t| wire::to_proto(t, now)).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn revoke_access_token(
        &self,
        request: Request<pb::RevokeAccessTokenRequest>,
    ) -> Result<Response<pb::RevokeAccessTokenResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let id = object_id(&request.get_ref().id, not_found)?;
        let now = self.clock.now();
        let token = self.store.revoke_access_token(scope, id, now).await?;
        // A merchant token is refused here at once; other services' caches
        // follow within their TTL.
        self.cache.evict_key_id(token.id);
        Ok(Response::new(pb::RevokeAccessTokenResponse { access_token: Some(wire::to_proto(token, now)) }))
    }

    async fn redeem_session_token(
        &self,
        request: Request<pb::RedeemSessionTokenRequest>,
    ) -> Result<Response<pb::RedeemSessionTokenResponse>, Status> {
        // Hosted pages hold a client key; secret keys may redeem too.
        let principal = auth::principal(&request)?;
        if principal.key_kind == auth::KeyKind::Merchant {
            return Err(Error::Forbidden("Merchant tokens cannot redeem session tokens".to_owned()).into());
        }
        let scope = principal.scope();
        let token = request.into_inner().token;
        if !looks_like_session_token(token.trim()) {
            return Err(Error::invalid("token", "Not a session token (session_access_…)").into());
        }
        let now = self.clock.now();
        let (record, account) = self.store.redeem_session_token(scope, token.trim(), now).await?;
        Ok(Response::new(pb::RedeemSessionTokenResponse {
            access_token: Some(wire::to_proto(record, now)),
            account: Some(account_wire::to_proto(account)),
        }))
    }
}
