//! `AuthService`: the auth layer has already resolved the caller's
//! credential (see `service::auth`); this hands the principal back.

use paymesh_kit::auth;
use paymesh_proto::identity::v1::{self as pb, auth_service_server::AuthService};
use tonic::{Request, Response, Status};

/// `AuthService`: the auth layer has already resolved the caller's
/// credential; this hands the principal back.
#[derive(Debug, Default)]
pub(crate) struct AuthApi;

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn authenticate(
        &self,
        request: Request<pb::AuthenticateRequest>,
    ) -> Result<Response<pb::AuthenticateResponse>, Status> {
        let principal = auth::principal(&request)?;
        Ok(Response::new(pb::AuthenticateResponse { principal: Some(principal.into()) }))
    }
}
