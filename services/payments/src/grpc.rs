//! The payments service's gRPC handlers: convert, call the service,
//! convert back.

use paymesh_kit::{
    auth::{self, ServiceResources},
    wire::structs,
};
use paymesh_proto::payments::v1::{self as pb, transaction_service_server::TransactionService};
use tonic::{Request, Response, Status};

use crate::{convert, service::Payments};

/// The REST resources the service serves, for restricted keys.
pub(crate) static RESOURCES: &[ServiceResources] = &[ServiceResources {
    service: "paymesh.payments.v1.TransactionService",
    resources: &["/transactions", "/transaction_ledgers"],
}];

/// `TransactionService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct TransactionApi(pub(crate) Payments);

#[tonic::async_trait]
impl TransactionService for TransactionApi {
    async fn create_transaction(
        &self,
        request: Request<pb::CreateTransactionRequest>,
    ) -> Result<Response<pb::CreateTransactionResponse>, Status> {
        let payments = self.0.clone();
        let now = payments.clock.now();
        self.0
            .keys
            .once_claimed(request, now, |principal, message, key| async move {
                let transaction = payments.create(&principal, message, key.as_ref()).await?;
                Ok(pb::CreateTransactionResponse { transaction: Some(convert::to_proto(&transaction)) })
            })
            .await
    }

    async fn get_transaction(
        &self,
        request: Request<pb::GetTransactionRequest>,
    ) -> Result<Response<pb::GetTransactionResponse>, Status> {
        let principal = auth::principal(&request)?;
        let transaction = self.0.get(&principal, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetTransactionResponse { transaction: Some(convert::to_proto(&transaction)) }))
    }

    async fn list_transactions(
        &self,
        request: Request<pb::ListTransactionsRequest>,
    ) -> Result<Response<pb::ListTransactionsResponse>, Status> {
        let principal = auth::principal(&request)?;
        let listing = self.0.list(&principal, request.get_ref()).await?;
        Ok(Response::new(pb::ListTransactionsResponse {
            transactions: listing.items.iter().map(convert::to_proto).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_transaction(
        &self,
        request: Request<pb::UpdateTransactionRequest>,
    ) -> Result<Response<pb::UpdateTransactionResponse>, Status> {
        let principal = auth::principal(&request)?;
        let transaction = self.0.update(&principal, request.into_inner()).await?;
        Ok(Response::new(pb::UpdateTransactionResponse {
            transaction: Some(convert::to_proto(&transaction)),
        }))
    }

    async fn get_transaction_ledger(
        &self,
        request: Request<pb::GetTransactionLedgerRequest>,
    ) -> Result<Response<pb::GetTransactionLedgerResponse>, Status> {
        let principal = auth::principal(&request)?;
        let link = self.0.ledger_link(&principal, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetTransactionLedgerResponse {
            transaction_ledger: Some(convert::link_to_proto(&link)),
        }))
    }

    async fn list_transaction_ledgers(
        &self,
        request: Request<pb::ListTransactionLedgersRequest>,
    ) -> Result<Response<pb::ListTransactionLedgersResponse>, Status> {
        let principal = auth::principal(&request)?;
        let listing = self.0.list_links(&principal, request.get_ref()).await?;
        Ok(Response::new(pb::ListTransactionLedgersResponse {
            transaction_ledgers: listing.items.iter().map(convert::link_to_proto).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }
}
