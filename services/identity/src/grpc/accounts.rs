//! `AccountService`: customers, processing accounts and billers — convert,
//! call the service's accounts, convert back.

use paymesh_kit::{Error, auth, batch, query::Listing};
use paymesh_proto::identity::v1::{self as pb, account_service_server::AccountService};
use tonic::{Request, Response, Status};

use super::{secret, structs};
use crate::{convert::accounts as wire, domain::account::Account, service::accounts::Accounts};

/// `AccountService` over the service's accounts.
#[derive(Clone, Debug)]
pub(crate) struct AccountApi(pub(crate) Accounts);

fn responses(accounts: Vec<Account>) -> Vec<pb::Account> {
    accounts.into_iter().map(wire::to_proto).collect()
}

fn listing(
    listing: Listing<Account>,
) -> (Vec<pb::Account>, Vec<prost_types::Struct>, Vec<prost_types::Struct>) {
    (responses(listing.items), structs(listing.computed), structs(listing.groups))
}

#[tonic::async_trait]
impl AccountService for AccountApi {
    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::CreateAccountResponse>, Status> {
        secret(&request)?;
        let accounts = &self.0;
        accounts
            .keys
            .once(request, accounts.clock.now(), |principal, message| async move {
                let pb::CreateAccountRequest { account } = message;
                let mut created = accounts.create_many(&principal, vec![account], |_| String::new()).await?;
                Ok(pb::CreateAccountResponse { account: created.pop().map(wire::to_proto) })
            })
            .await
    }

    async fn batch_create_accounts(
        &self,
        request: Request<pb::BatchCreateAccountsRequest>,
    ) -> Result<Response<pb::BatchCreateAccountsResponse>, Status> {
        secret(&request)?;
        batch::check_size(request.get_ref().requests.len(), "requests")?;
        let accounts = &self.0;
        accounts
            .keys
            .once(request, accounts.clock.now(), |principal, message| async move {
                let given = message.requests.into_iter().map(|r| r.account).collect();
                let created = accounts.create_many(&principal, given, |i| format!("requests[{i}]")).await?;
                Ok(pb::BatchCreateAccountsResponse { accounts: responses(created) })
            })
            .await
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::GetAccountResponse>, Status> {
        let principal = auth::principal(&request)?;
        let account = self.0.get(&principal, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetAccountResponse { account: Some(wire::to_proto(account)) }))
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        let (principal, _) = secret(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let (accounts, computed, groups) = listing(self.0.list(&principal, query).await?);
        Ok(Response::new(pb::ListAccountsResponse { accounts, computed, groups }))
    }

    async fn update_account(
        &self,
        request: Request<pb::UpdateAccountRequest>,
    ) -> Result<Response<pb::UpdateAccountResponse>, Status> {
        let (principal, _) = secret(&request)?;
        let pb::UpdateAccountRequest { account, update_mask } = request.into_inner();
        let (id, patch) = wire::patch(account, update_mask).map_err(Error::InvalidAttributes)?;
        let account = self.0.update(&principal, id, patch).await?;
        Ok(Response::new(pb::UpdateAccountResponse { account: Some(wire::to_proto(account)) }))
    }

    async fn batch_update_accounts(
        &self,
        request: Request<pb::BatchUpdateAccountsRequest>,
    ) -> Result<Response<pb::BatchUpdateAccountsResponse>, Status> {
        let (principal, _) = secret(&request)?;
        let pb::BatchUpdateAccountsRequest { requests } = request.into_inner();
        batch::check_size(requests.len(), "requests")?;
        let patches = wire::patches(requests).map_err(Error::InvalidAttributes)?;
        let accounts = self.0.update_many(&principal, patches).await?;
        Ok(Response::new(pb::BatchUpdateAccountsResponse { accounts: responses(accounts) }))
    }

    async fn update_accounts_by_query(
        &self,
        request: Request<pb::UpdateAccountsByQueryRequest>,
    ) -> Result<Response<pb::UpdateAccountsByQueryResponse>, Status> {
        let (principal, _) = secret(&request)?;
        let pb::UpdateAccountsByQueryRequest { filters, account, update_mask } = request.into_inner();
        let (_, patch) = wire::patch(account, update_mask).map_err(Error::InvalidAttributes)?;
        let accounts = self.0.update_by_query(&principal, filters, patch).await?;
        Ok(Response::new(pb::UpdateAccountsByQueryResponse { accounts: responses(accounts) }))
    }

    async fn delete_account(
        &self,
        request: Request<pb::DeleteAccountRequest>,
    ) -> Result<Response<pb::DeleteAccountResponse>, Status> {
        let (principal, _) = secret(&request)?;
        let account = self.0.delete(&principal, &request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteAccountResponse { account: Some(wire::to_proto(account)) }))
    }

    async fn batch_delete_accounts(
        &self,
        request: Request<pb::BatchDeleteAccountsRequest>,
    ) -> Result<Response<pb::BatchDeleteAccountsResponse>, Status> {
        let (principal, _) = secret(&request)?;
        let pb::BatchDeleteAccountsRequest { ids } = request.into_inner();
        batch::check_size(ids.len(), "ids")?;
        let accounts = self.0.delete_many(&principal, &ids).await?;
        Ok(Response::new(pb::BatchDeleteAccountsResponse { accounts: responses(accounts) }))
    }

    async fn delete_accounts_by_query(
        &self,
        request: Request<pb::DeleteAccountsByQueryRequest>,
    ) -> Result<Response<pb::DeleteAccountsByQueryResponse>, Status> {
        let (principal, _) = secret(&request)?;
        let pb::DeleteAccountsByQueryRequest { filters } = request.into_inner();
        let accounts = self.0.delete_by_query(&principal, filters).await?;
        Ok(Response::new(pb::DeleteAccountsByQueryResponse { accounts: responses(accounts) }))
    }

    async fn list_recipients(
        &self,
        request: Request<pb::ListRecipientsRequest>,
    ) -> Result<Response<pb::ListRecipientsResponse>, Status> {
        let (principal, _) = secret(&request)?;
        let pb::ListRecipientsRequest { payer_id, query } = request.into_inner();
        let (accounts, computed, groups) =
            listing(self.0.recipients(&principal, &payer_id, query.unwrap_or_default()).await?);
        Ok(Response::new(pb::ListRecipientsResponse { accounts, computed, groups }))
    }

    async fn resolve_recipient(
        &self,
        request: Request<pb::ResolveRecipientRequest>,
    ) -> Result<Response<pb::ResolveRecipientResponse>, Status> {
        let (principal, _) = secret(&request)?;
        let pb::ResolveRecipientRequest { payer_id, recipient_id } = request.into_inner();
        let (payer, recipient) = self.0.resolve_recipient(&principal, &payer_id, &recipient_id).await?;
        Ok(Response::new(pb::ResolveRecipientResponse {
            recipient: Some(wire::to_proto(recipient)),
            payer: Some(wire::to_proto(payer)),
        }))
    }

    async fn list_processing_status_changes(
        &self,
        request: Request<pb::ListProcessingStatusChangesRequest>,
    ) -> Result<Response<pb::ListProcessingStatusChangesResponse>, Status> {
        let principal = auth::principal(&request)?;
        let changes = self.0.status_changes(&principal, &request.get_ref().account_id).await?;
        Ok(Response::new(pb::ListProcessingStatusChangesResponse {
            changes: changes.into_iter().map(wire::change_to_proto).collect(),
        }))
    }

    async fn set_default_payment_method(
        &self,
        request: Request<pb::SetDefaultPaymentMethodRequest>,
    ) -> Result<Response<pb::SetDefaultPaymentMethodResponse>, Status> {
        let principal = auth::principal(&request)?;
        let pb::SetDefaultPaymentMethodRequest { account_id, payment_method_id } = request.into_inner();
        let account = self.0.set_default_payment_method(&principal, &account_id, &payment_method_id).await?;
        Ok(Response::new(pb::SetDefaultPaymentMethodResponse { account: Some(wire::to_proto(account)) }))
    }
}
