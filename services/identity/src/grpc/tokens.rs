//! `AccessTokenService`: session tokens for hosted pages, merchant tokens
//! for merchant portals.

use chrono::TimeDelta;
use paymesh_kit::{Error, auth, idempotency};
use paymesh_proto::identity::v1::{self as pb, access_token_service_server::AccessTokenService};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{object_id, secret, structs};
use crate::{
    convert::{accounts as account_wire, tokens as wire},
    domain::token::{
        AccessToken, MERCHANT_TOKEN_TTL, MerchantClaims, TokenType, looks_like_session_token,
        new_session_token,
    },
    service::tokens::{AccessTokens, not_found},
};

/// `AccessTokenService` over the service's access tokens.
#[derive(Clone, Debug)]
pub(crate) struct AccessTokenApi(pub(crate) AccessTokens);

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
        let now = self.0.clock.now();
        let ttl = match kind {
            TokenType::SessionAccess => {
                TimeDelta::from_std(self.0.session_ttl).unwrap_or(TimeDelta::minutes(15))
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
            TokenType::Merchant => self.0.signer.sign(&MerchantClaims::new(
                record.id,
                account_id,
                scope.partner_id,
                scope.livemode,
                now,
            )),
        };
        let session = (kind == TokenType::SessionAccess).then_some(token.as_str());
        self.0.insert(scope, &record, session).await?;
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
        let token = self.0.store.access_token(scope, id).await?.ok_or_else(not_found)?;
        Ok(Response::new(pb::GetAccessTokenResponse {
            access_token: Some(wire::to_proto(token, self.0.clock.now())),
        }))
    }

    async fn list_access_tokens(
        &self,
        request: Request<pb::ListAccessTokensRequest>,
    ) -> Result<Response<pb::ListAccessTokensResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.0.store.list_access_tokens(scope, &query, self.0.limits).await?;
        let now = self.0.clock.now();
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
        let now = self.0.clock.now();
        let token = self.0.revoke(scope, id, now).await?;
        // A merchant token is refused here at once; other services' caches
        // follow within their TTL.
        self.0.cache.evict_key_id(token.id);
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
        let now = self.0.clock.now();
        let (record, account) = self.0.redeem(scope, token.trim(), now).await?;
        Ok(Response::new(pb::RedeemSessionTokenResponse {
            access_token: Some(wire::to_proto(record, now)),
            account: Some(account_wire::to_proto(account)),
        }))
    }
}
