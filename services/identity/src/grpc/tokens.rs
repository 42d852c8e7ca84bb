//! `AccessTokenService`: session tokens for hosted pages, merchant tokens
//! for merchant portals — convert, call the service's access tokens,
//! convert back.

use paymesh_kit::{Error, auth, idempotency};
use paymesh_proto::identity::v1::{self as pb, access_token_service_server::AccessTokenService};
use tonic::{Request, Response, Status};

use super::{secret, structs};
use crate::{
    convert::{accounts as account_wire, tokens as wire},
    service::tokens::AccessTokens,
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
        let (principal, _) = secret(&request)?;
        idempotency::refuse(
            &request,
            "a token is shown once and never kept to answer a retry; a retry makes another token",
        )?;
        let new = wire::new_token(request.into_inner().access_token).map_err(Error::InvalidAttributes)?;
        let now = self.0.clock.now();
        let (record, token) = self.0.create(&principal, new, now).await?;
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
        let token = self.0.get(scope, &request.get_ref().id).await?;
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
        let listing = self.0.list(scope, &query).await?;
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
        let now = self.0.clock.now();
        let token = self.0.revoke(scope, &request.get_ref().id, now).await?;
        Ok(Response::new(pb::RevokeAccessTokenResponse { access_token: Some(wire::to_proto(token, now)) }))
    }

    async fn redeem_session_token(
        &self,
        request: Request<pb::RedeemSessionTokenRequest>,
    ) -> Result<Response<pb::RedeemSessionTokenResponse>, Status> {
        // Hosted pages hold a client key; secret keys may redeem too.
        let principal = auth::principal(&request)?;
        let pb::RedeemSessionTokenRequest { token } = request.into_inner();
        let now = self.0.clock.now();
        let (record, account) = self.0.redeem(&principal, &token, now).await?;
        Ok(Response::new(pb::RedeemSessionTokenResponse {
            access_token: Some(wire::to_proto(record, now)),
            account: Some(account_wire::to_proto(account)),
        }))
    }
}
