//! What the methods service asks identity: whether an account exists for the partner
//! and mode (and what kind it is), and, for customers, which method is
//! their default (`Account.default_payment_method_id`). The methods service calls
//! with its service token, acting for the caller's partner and mode — the
//! partner's own key never travels on.

use paymesh_kit::{Error, auth::Scope, auth::ServiceToken, grpc::Channel};
use paymesh_proto::identity::v1::{self as pb, account_service_client::AccountServiceClient};
use tonic::Code;
use uuid::Uuid;

use crate::domain::method::Owner;

/// The methods service's client of identity's `AccountService`.
#[derive(Clone)]
pub(crate) struct Accounts {
    client: AccountServiceClient<Channel>,
    token: ServiceToken,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

/// Why an account cannot own payment methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No such account for this partner and mode.
    Missing,
    /// A biller of the shared directory.
    Biller,
}

impl Accounts {
    /// A client over `channel`, presenting `token`.
    pub(crate) fn new(channel: Channel, token: ServiceToken) -> Self {
        Self { client: AccountServiceClient::new(channel), token }
    }

    /// The kind of account `id` is, if it may own payment methods.
    pub(crate) async fn owner(&self, scope: Scope, id: Uuid) -> Result<Result<Owner, Refusal>, Error> {
        let request = self.token.request(scope, pb::GetAccountRequest { id: id.to_string() });
        let account = match self.client.clone().get_account(request).await {
            Ok(response) => response.into_inner().account,
            Err(status) if status.code() == Code::NotFound => return Ok(Err(Refusal::Missing)),
            Err(status) => return Err(Error::from_peer("identity", &status)),
        };
        let Some(account) = account else {
            return Err(Error::Internal(anyhow::anyhow!("identity answered GetAccount without an account")));
        };
        Ok(match pb::AccountType::try_from(account.r#type) {
            Ok(pb::AccountType::Customer) => Ok(Owner::Customer),
            Ok(pb::AccountType::Processing)
                if account
                    .processing
                    .as_ref()
                    .is_some_and(|p| p.visibility == pb::Visibility::Biller as i32) =>
            {
                Err(Refusal::Biller)
            }
            Ok(pb::AccountType::Processing) => Ok(Owner::Processing),
            _ => {
                return Err(Error::Internal(anyhow::anyhow!("identity answered an account of unknown type")));
            }
        })
    }

    /// Records `method` (or none) as the customer's default.
    pub(crate) async fn set_default(
        &self,
        scope: Scope,
        customer: Uuid,
        method: Option<Uuid>,
    ) -> Result<(), Error> {
        let request = self.token.request(
            scope,
            pb::SetDefaultPaymentMethodRequest {
                account_id: customer.to_string(),
                payment_method_id: method.map(|m| m.to_string()).unwrap_or_default(),
            },
        );
        match self.client.clone().set_default_payment_method(request).await {
            Ok(_) => Ok(()),
            // The customer was deleted meanwhile: it has no default to keep.
            Err(status) if status.code() == Code::NotFound => Ok(()),
            Err(status) => Err(Error::from_peer("identity", &status)),
        }
    }
}
