//! What billing asks identity: whether a customer and a processing account
//! exist, and which processing account a customer's invoices are paid to
//! by default. Calls carry the billing service's token, acting for the
//! caller's partner and mode.

use paymesh_kit::{
    Error,
    auth::{Scope, ServiceToken},
    grpc::Channel,
};
use paymesh_proto::{
    common::v1 as common,
    identity::v1::{self as id, account_service_client::AccountServiceClient},
};
use tonic::Code;
use uuid::Uuid;

/// The client of identity.
#[derive(Clone)]
pub(crate) struct Peers {
    accounts: AccountServiceClient<Channel>,
    token: ServiceToken,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers").finish_non_exhaustive()
    }
}

/// A customer, as billing needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Customer {
    /// The processing account its payments go to by default, if any.
    pub(crate) primary_processing_id: Option<Uuid>,
}

impl Peers {
    /// The client over `identity`, presenting `token`.
    pub(crate) fn new(identity: Channel, token: ServiceToken) -> Self {
        Self { accounts: AccountServiceClient::new(identity), token }
    }

    async fn account(&self, scope: Scope, id: Uuid) -> Result<Option<id::Account>, Error> {
        let request = self.token.request(scope, id::GetAccountRequest { id: id.to_string() });
        match self.accounts.clone().get_account(request).await {
            Ok(response) => Ok(response.into_inner().account),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(Error::from_peer("identity", &status)),
        }
    }

    /// Customer `id`; `None` if there is no such customer.
    pub(crate) async fn customer(&self, scope: Scope, id: Uuid) -> Result<Option<Customer>, Error> {
        Ok(self.account(scope, id).await?.filter(|a| a.r#type == id::AccountType::Customer as i32).map(|a| {
            Customer { primary_processing_id: a.primary_processing_id.and_then(|p| Uuid::parse_str(&p).ok()) }
        }))
    }

    /// Whether processing account `id` exists.
    pub(crate) async fn processing_account_exists(&self, scope: Scope, id: Uuid) -> Result<bool, Error> {
        Ok(self.account(scope, id).await?.is_some_and(|a| a.r#type == id::AccountType::Processing as i32))
    }

    /// The partner's default processing account in this mode, if any.
    pub(crate) async fn default_processing_account(&self, scope: Scope) -> Result<Option<Uuid>, Error> {
        let equal = |path: &str, value: &str| common::Filter {
            field: Some(common::FieldRef { path: path.split('.').map(str::to_owned).collect(), function: 0 }),
            any_of: vec![common::Condition {
                operator: common::Operator::Equal as i32,
                value: value.to_owned(),
            }],
        };
        let query = common::ListQuery {
            filters: vec![equal("type", "processing"), equal("processing.default", "true")],
            limit: 1,
            ..Default::default()
        };
        let request = self.token.request(scope, id::ListAccountsRequest { query: Some(query) });
        let accounts = self
            .accounts
            .clone()
            .list_accounts(request)
            .await
            .map_err(|status| Error::from_peer("identity", &status))?
            .into_inner()
            .accounts;
        Ok(accounts.first().and_then(|a| Uuid::parse_str(&a.id).ok()))
    }
}
