//! The methods service's gRPC handlers: convert, call the service, convert back.

use paymesh_kit::{
    Error,
    auth::{self, ServiceResources},
    batch,
    wire::structs,
};
use paymesh_proto::methods::v1::{
    self as pb, payment_method_service_server::PaymentMethodService, vault_service_server::VaultService,
};
use tonic::{Request, Response, Status};

use crate::{convert, domain::method::PaymentMethod, service::Methods};

/// The REST resources each vault service serves, for restricted keys.
pub(crate) static RESOURCES: &[ServiceResources] = &[
    ServiceResources { service: "paymesh.methods.v1.PaymentMethodService", resources: &["/payment_methods"] },
    // Restricted keys may reach Detokenize only to be refused (and
    // audited) there; it is the payments service's alone.
    ServiceResources { service: "paymesh.methods.v1.VaultService", resources: &["/payment_methods"] },
];

/// `PaymentMethodService` over the service's operations.
#[derive(Clone, Debug)]
pub(crate) struct PaymentMethodApi(pub(crate) Methods);

#[tonic::async_trait]
impl PaymentMethodService for PaymentMethodApi {
    async fn create_payment_method(
        &self,
        request: Request<pb::CreatePaymentMethodRequest>,
    ) -> Result<Response<pb::CreatePaymentMethodResponse>, Status> {
        let vault = &self.0;
        vault
            .keys
            .once(request, vault.clock.now(), |principal, message| async move {
                let method = vault.create(&principal, message.payment_method, message.single_use).await?;
                Ok(pb::CreatePaymentMethodResponse { payment_method: Some(convert::to_proto(&method)) })
            })
            .await
    }

    async fn batch_create_payment_methods(
        &self,
        request: Request<pb::BatchCreatePaymentMethodsRequest>,
    ) -> Result<Response<pb::BatchCreatePaymentMethodsResponse>, Status> {
        batch::check_size(request.get_ref().requests.len(), "requests")?;
        let vault = &self.0;
        vault
            .keys
            .once(request, vault.clock.now(), |principal, message| async move {
                if let Some(i) = message.requests.iter().position(|r| r.single_use) {
                    return Err(Error::invalid(
                        format!("requests[{i}].single_use"),
                        "A single-use method is created alone, with CreatePaymentMethod",
                    ));
                }
                let methods = message.requests.into_iter().map(|r| r.payment_method).collect();
                let created =
                    vault.create_many(&principal, methods, false, |i| format!("requests[{i}]")).await?;
                Ok(pb::BatchCreatePaymentMethodsResponse { payment_methods: protos(&created) })
            })
            .await
    }

    async fn get_payment_method(
        &self,
        request: Request<pb::GetPaymentMethodRequest>,
    ) -> Result<Response<pb::GetPaymentMethodResponse>, Status> {
        let principal = auth::principal(&request)?;
        let method = self.0.get(&principal, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetPaymentMethodResponse { payment_method: Some(convert::to_proto(&method)) }))
    }

    async fn list_payment_methods(
        &self,
        request: Request<pb::ListPaymentMethodsRequest>,
    ) -> Result<Response<pb::ListPaymentMethodsResponse>, Status> {
        let principal = auth::principal(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.0.list(&principal, &query).await?;
        Ok(Response::new(pb::ListPaymentMethodsResponse {
            payment_methods: listing.items.iter().map(convert::to_proto).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_payment_method(
        &self,
        request: Request<pb::UpdatePaymentMethodRequest>,
    ) -> Result<Response<pb::UpdatePaymentMethodResponse>, Status> {
        let principal = auth::principal(&request)?;
        let pb::UpdatePaymentMethodRequest { payment_method, update_mask } = request.into_inner();
        let method = self.0.update(&principal, payment_method, update_mask).await?;
        Ok(Response::new(pb::UpdatePaymentMethodResponse {
            payment_method: Some(convert::to_proto(&method)),
        }))
    }

    async fn batch_update_payment_methods(
        &self,
        request: Request<pb::BatchUpdatePaymentMethodsRequest>,
    ) -> Result<Response<pb::BatchUpdatePaymentMethodsResponse>, Status> {
        let principal = auth::principal(&request)?;
        let requests = request.into_inner().requests;
        batch::check_size(requests.len(), "requests")?;
        let requests = requests.into_iter().map(|r| (r.payment_method, r.update_mask)).collect();
        let updated = self.0.update_many(&principal, requests, |i| format!("requests[{i}]")).await?;
        Ok(Response::new(pb::BatchUpdatePaymentMethodsResponse { payment_methods: protos(&updated) }))
    }

    async fn update_payment_methods_by_query(
        &self,
        request: Request<pb::UpdatePaymentMethodsByQueryRequest>,
    ) -> Result<Response<pb::UpdatePaymentMethodsByQueryResponse>, Status> {
        let principal = auth::principal(&request)?;
        let pb::UpdatePaymentMethodsByQueryRequest { filters, payment_method, update_mask } =
            request.into_inner();
        let updated = self.0.update_by_query(&principal, &filters, payment_method, update_mask).await?;
        Ok(Response::new(pb::UpdatePaymentMethodsByQueryResponse { payment_methods: protos(&updated) }))
    }

    async fn delete_payment_method(
        &self,
        request: Request<pb::DeletePaymentMethodRequest>,
    ) -> Result<Response<pb::DeletePaymentMethodResponse>, Status> {
        let principal = auth::principal(&request)?;
        let method = self.0.delete(&principal, &request.get_ref().id).await?;
        Ok(Response::new(pb::DeletePaymentMethodResponse {
            payment_method: Some(convert::to_proto(&method)),
        }))
    }

    async fn batch_delete_payment_methods(
        &self,
        request: Request<pb::BatchDeletePaymentMethodsRequest>,
    ) -> Result<Response<pb::BatchDeletePaymentMethodsResponse>, Status> {
        let principal = auth::principal(&request)?;
        batch::check_size(request.get_ref().ids.len(), "ids")?;
        let deleted = self.0.delete_many(&principal, &request.get_ref().ids).await?;
        Ok(Response::new(pb::BatchDeletePaymentMethodsResponse { payment_methods: protos(&deleted) }))
    }

    async fn delete_payment_methods_by_query(
        &self,
        request: Request<pb::DeletePaymentMethodsByQueryRequest>,
    ) -> Result<Response<pb::DeletePaymentMethodsByQueryResponse>, Status> {
        let principal = auth::principal(&request)?;
        let deleted = self.0.delete_by_query(&principal, &request.get_ref().filters).await?;
        Ok(Response::new(pb::DeletePaymentMethodsByQueryResponse { payment_methods: protos(&deleted) }))
    }
}

/// Methods as their messages, in order.
fn protos(methods: &[PaymentMethod]) -> Vec<pb::PaymentMethod> {
    methods.iter().map(convert::to_proto).collect()
}

/// `VaultService` over the service's operations.
#[derive(Clone, Debug)]
pub(crate) struct VaultApi(pub(crate) Methods);

#[tonic::async_trait]
impl VaultService for VaultApi {
    async fn detokenize(
        &self,
        request: Request<pb::DetokenizeRequest>,
    ) -> Result<Response<pb::DetokenizeResponse>, Status> {
        let principal = auth::principal(&request)?;
        let (method, number) = self.0.detokenize(&principal, request.get_ref()).await?;
        let (card, bank_account) = convert::secrets(&method, &number);
        Ok(Response::new(pb::DetokenizeResponse {
            payment_method: Some(convert::to_proto(&method)),
            card,
            bank_account,
        }))
    }
}
