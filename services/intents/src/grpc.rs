//! The intents service's gRPC handlers: convert, call the service, convert
//! back.

use paymesh_kit::{
    auth::{self, ServiceResources},
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

    async fn cancel_payment_intent(
        &self,
        request: Request<pb::CancelPaymentIntentRequest>,
    ) -> Result<Response<pb::CancelPaymentIntentResponse>, Status> {
        let principal = auth::principal(&request)?;
        let intent = self.0.cancel(&principal, &request.get_ref().id).await?;
        Ok(Response::new(pb::CancelPaymentIntentResponse { payment_intent: self.reply(&intent) }))
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
