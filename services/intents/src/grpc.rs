//! The intents service's gRPC handlers: convert, call the service, convert
//! back.

use paymesh_kit::{
    auth::{self, ServiceResources},
    batch,
    wire::structs,
};
use paymesh_proto::intents::v1::{
    self as pb, payment_intent_service_server::PaymentIntentService, pricing_service_server::PricingService,
};
use tonic::{Request, Response, Status};

use crate::{convert, service::Intents};

/// The REST resources each service serves, for restricted keys.
pub(crate) static RESOURCES: &[ServiceResources] = &[
    ServiceResources { service: "paymesh.intents.v1.PaymentIntentService", resources: &["/payment_intents"] },
    ServiceResources { service: "paymesh.intents.v1.PricingService", resources: &["/processing_settings"] },
];

/// `PaymentIntentService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct PaymentIntentApi(pub(crate) Intents);

impl PaymentIntentApi {
    fn reply(&self, intent: &crate::store::Intent) -> Option<pb::PaymentIntent> {
        Some(convert::to_proto(intent, self.0.clock.now()))
    }

    fn replies(&self, intents: &[crate::store::Intent]) -> Vec<pb::PaymentIntent> {
        let now = self.0.clock.now();
        intents.iter().map(|i| convert::to_proto(i, now)).collect()
    }
}

#[tonic::async_trait]
impl PaymentIntentService for PaymentIntentApi {
    async fn create_payment_intent(
        &self,
        request: Request<pb::CreatePaymentIntentRequest>,
    ) -> Result<Response<pb::CreatePaymentIntentResponse>, Status> {
        let intents = &self.0;
        intents
            .keys
            .once(request, intents.clock.now(), |principal, message| async move {
                let intent = intents.create(&principal, message).await?;
                Ok(pb::CreatePaymentIntentResponse { payment_intent: self.reply(&intent) })
            })
            .await
    }

    async fn batch_create_payment_intents(
        &self,
        request: Request<pb::BatchCreatePaymentIntentsRequest>,
    ) -> Result<Response<pb::BatchCreatePaymentIntentsResponse>, Status> {
        batch::check_size(request.get_ref().requests.len(), "requests")?;
        let intents = &self.0;
        intents
            .keys
            .once(request, intents.clock.now(), |principal, message| async move {
                let created = intents.create_many(&principal, message.requests, true).await?;
                Ok(pb::BatchCreatePaymentIntentsResponse { payment_intents: self.replies(&created) })
            })
            .await
    }

    async fn get_payment_intent(
        &self,
        request: Request<pb::GetPaymentIntentRequest>,
    ) -> Result<Response<pb::GetPaymentIntentResponse>, Status> {
        let principal = auth::principal(&request)?;
        let intent = self.0.get(&principal, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetPaymentIntentResponse { payment_intent: self.reply(&intent) }))
    }

    async fn list_payment_intents(
        &self,
        request: Request<pb::ListPaymentIntentsRequest>,
    ) -> Result<Response<pb::ListPaymentIntentsResponse>, Status> {
        let principal = auth::principal(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.0.list(&principal, &query).await?;
        let now = self.0.clock.now();
        Ok(Response::new(pb::ListPaymentIntentsResponse {
            payment_intents: listing.items.iter().map(|i| convert::to_proto(i, now)).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_payment_intent(
        &self,
        request: Request<pb::UpdatePaymentIntentRequest>,
    ) -> Result<Response<pb::UpdatePaymentIntentResponse>, Status> {
        let principal = auth::principal(&request)?;
        let intent = self.0.update(&principal, request.into_inner()).await?;
        Ok(Response::new(pb::UpdatePaymentIntentResponse { payment_intent: self.reply(&intent) }))
    }

    async fn batch_update_payment_intents(
        &self,
        request: Request<pb::BatchUpdatePaymentIntentsRequest>,
    ) -> Result<Response<pb::BatchUpdatePaymentIntentsResponse>, Status> {
        let principal = auth::principal(&request)?;
        let requests = request.into_inner().requests;
        batch::check_size(requests.len(), "requests")?;
        let updated = self.0.update_many(&principal, requests, true).await?;
        Ok(Response::new(pb::BatchUpdatePaymentIntentsResponse { payment_intents: self.replies(&updated) }))
    }

    async fn update_payment_intents_by_query(
        &self,
        request: Request<pb::UpdatePaymentIntentsByQueryRequest>,
    ) -> Result<Response<pb::UpdatePaymentIntentsByQueryResponse>, Status> {
        let principal = auth::principal(&request)?;
        let pb::UpdatePaymentIntentsByQueryRequest { filters, payment_intent, update_mask } =
            request.into_inner();
        let change = payment_intent.unwrap_or_default();
        let updated = self.0.update_by_query(&principal, &filters, change, update_mask).await?;
        Ok(Response::new(pb::UpdatePaymentIntentsByQueryResponse { payment_intents: self.replies(&updated) }))
    }

    async fn cancel_payment_intent(
        &self,
        request: Request<pb::CancelPaymentIntentRequest>,
    ) -> Result<Response<pb::CancelPaymentIntentResponse>, Status> {
        let principal = auth::principal(&request)?;
        let intent = self.0.cancel(&principal, &request.get_ref().id).await?;
        Ok(Response::new(pb::CancelPaymentIntentResponse { payment_intent: self.reply(&intent) }))
    }

    async fn batch_cancel_payment_intents(
        &self,
        request: Request<pb::BatchCancelPaymentIntentsRequest>,
    ) -> Result<Response<pb::BatchCancelPaymentIntentsResponse>, Status> {
        let principal = auth::principal(&request)?;
        batch::check_size(request.get_ref().ids.len(), "ids")?;
        let canceled = self.0.cancel_many(&principal, &request.get_ref().ids).await?;
        Ok(Response::new(pb::BatchCancelPaymentIntentsResponse { payment_intents: self.replies(&canceled) }))
    }

    async fn cancel_payment_intents_by_query(
        &self,
        request: Request<pb::CancelPaymentIntentsByQueryRequest>,
    ) -> Result<Response<pb::CancelPaymentIntentsByQueryResponse>, Status> {
        let principal = auth::principal(&request)?;
        let canceled = self.0.cancel_by_query(&principal, &request.get_ref().filters).await?;
        Ok(Response::new(pb::CancelPaymentIntentsByQueryResponse {
            payment_intents: self.replies(&canceled),
        }))
    }

    async fn capture_payment_intent(
        &self,
        request: Request<pb::CapturePaymentIntentRequest>,
    ) -> Result<Response<pb::CapturePaymentIntentResponse>, Status> {
        let principal = auth::principal(&request)?;
        let intent = self.0.capture(&principal, request.get_ref()).await?;
        Ok(Response::new(pb::CapturePaymentIntentResponse { payment_intent: self.reply(&intent) }))
    }
}

/// `PricingService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct PricingApi(pub(crate) Intents);

#[tonic::async_trait]
impl PricingService for PricingApi {
    async fn get_processing_settings(
        &self,
        request: Request<pb::GetProcessingSettingsRequest>,
    ) -> Result<Response<pb::GetProcessingSettingsResponse>, Status> {
        let principal = auth::principal(&request)?;
        let settings = self.0.get_settings(&principal, &request.get_ref().processing_id).await?;
        Ok(Response::new(pb::GetProcessingSettingsResponse { settings: Some(settings) }))
    }

    async fn update_processing_settings(
        &self,
        request: Request<pb::UpdateProcessingSettingsRequest>,
    ) -> Result<Response<pb::UpdateProcessingSettingsResponse>, Status> {
        let principal = auth::principal(&request)?;
        let settings = self.0.update_settings(&principal, request.into_inner()).await?;
        Ok(Response::new(pb::UpdateProcessingSettingsResponse { settings: Some(settings) }))
    }

    async fn quote(&self, request: Request<pb::QuoteRequest>) -> Result<Response<pb::QuoteResponse>, Status> {
        let principal = auth::principal(&request)?;
        Ok(Response::new(self.0.quote(&principal, request.get_ref()).await?))
    }
}
