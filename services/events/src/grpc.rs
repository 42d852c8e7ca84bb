//! The events service's gRPC handlers: convert, call the service, convert
//! back.

use std::{collections::HashSet, pin::Pin, time::Duration};

use paymesh_kit::{
    Error,
    auth::{self, ServiceResources},
    idempotency,
    wire::structs,
};
use paymesh_proto::events::v1::{
    self as pb, event_service_server::EventService, webhook_log_service_server::WebhookLogService,
    webhook_service_server::WebhookService,
};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::{convert, service::Events};

/// The REST resources each service serves, for restricted keys.
pub(crate) static RESOURCES: &[ServiceResources] = &[
    ServiceResources { service: "paymesh.events.v1.EventService", resources: &["/events"] },
    ServiceResources { service: "paymesh.events.v1.WebhookService", resources: &["/webhooks"] },
    ServiceResources { service: "paymesh.events.v1.WebhookLogService", resources: &["/webhook_logs"] },
];

/// Why a webhook's create and rotate take no Idempotency-Key: their answer
/// carries the signing secret, which is never kept.
const SECRET_ANSWER: &str = "the answer carries the webhook's signing secret, which paymesh does not keep";

/// How often a subscription looks for new events.
const POLL: Duration = Duration::from_millis(200);
/// The most events a subscription reads at once.
const PAGE: i64 = 200;
/// How far behind the newest position a subscription looks again, for
/// events recorded by a transaction that committed after a later one.
const LOOK_BACK: i64 = 100;

/// `EventService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct EventApi(pub(crate) Events);

/// `WebhookService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct WebhookApi(pub(crate) Events);

/// `WebhookLogService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct WebhookLogApi(pub(crate) Events);

/// A stream of events for one subscriber.
type EventStream = Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, Status>> + Send>>;

#[tonic::async_trait]
impl EventService for EventApi {
    async fn publish(
        &self,
        request: Request<pb::PublishRequest>,
    ) -> Result<Response<pb::PublishResponse>, Status> {
        let principal = auth::principal(&request)?;
        let recorded = self.0.publish(&principal, request.into_inner()).await?;
        Ok(Response::new(pb::PublishResponse {
            recorded_ids: recorded.iter().map(ToString::to_string).collect(),
        }))
    }

    async fn get_event(
        &self,
        request: Request<pb::GetEventRequest>,
    ) -> Result<Response<pb::GetEventResponse>, Status> {
        let principal = auth::principal(&request)?;
        let event = self.0.event(&principal, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetEventResponse { event: Some(convert::event_to_proto(&event)) }))
    }

    async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        let principal = auth::principal(&request)?;
        let query = request.get_ref().query.clone().unwrap_or_default();
        let listing = self.0.events(&principal, &query).await?;
        Ok(Response::new(pb::ListEventsResponse {
            events: listing.items.iter().map(convert::event_to_proto).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    type SubscribeStream = EventStream;

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let principal = auth::principal(&request)?;
        principal.require_secret_key()?;
        let scope = principal.scope();
        let pb::SubscribeRequest { types, after_id } = request.into_inner();
        for kind in &types {
            let pattern = kind.strip_suffix(".*").unwrap_or(kind);
            if pattern.is_empty()
                || !pattern.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.')
            {
                return Err(Error::invalid(
                    "types",
                    format!("{kind:?} is not an event type or <resource>.*"),
                )
                .into());
            }
        }
        let store = self.0.store.clone();
        let mut position = if after_id.trim().is_empty() {
            store.latest_position(scope).await?
        } else {
            let id = paymesh_kit::wire::object_id(&after_id, || Error::NotFound { resource: "Event" })?;
            store.position(scope, id).await?
        };
        let wanted = move |kind: &str| {
            types.is_empty()
                || types.iter().any(|t| match t.strip_suffix(".*") {
                    Some(resource) => kind.split_once('.').is_some_and(|(r, _)| r == resource),
                    None => t == kind,
                })
        };
        // Nothing at or before the resume point is sent.
        let start = position;
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            // Positions sent recently: an event that commits late, below a
            // position already sent, is looked for again and sent once.
            let mut sent: HashSet<i64> = HashSet::new();
            loop {
                let from = (position - LOOK_BACK).max(start);
                match store.events_after(scope, from, PAGE + LOOK_BACK).await {
                    Ok(rows) => {
                        for (seq, row) in rows {
                            if !sent.insert(seq) {
                                continue;
                            }
                            position = position.max(seq);
                            if !wanted(&row.kind) {
                                continue;
                            }
                            let event = pb::SubscribeResponse { event: Some(convert::event_to_proto(&row)) };
                            if sender.send(Ok(event)).await.is_err() {
                                return;
                            }
                        }
                        sent.retain(|seq| *seq > position - LOOK_BACK);
                    }
                    Err(e) => {
                        let _ = sender.send(Err(Status::from(e))).await;
                        return;
                    }
                }
                if sender.is_closed() {
                    return;
                }
                tokio::time::sleep(POLL).await;
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))))
    }
}

#[tonic::async_trait]
impl WebhookService for WebhookApi {
    async fn create_webhook(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::CreateWebhookResponse>, Status> {
        idempotency::refuse(&request, SECRET_ANSWER)?;
        let principal = auth::principal(&request)?;
        let webhook = request.into_inner().webhook.unwrap_or_default();
        let (row, secret) = self.0.create_webhook(&principal, webhook).await?;
        Ok(Response::new(pb::CreateWebhookResponse {
            webhook: Some(convert::webhook_to_proto(&row, Some(&secret))),
        }))
    }

    async fn create_event_callback(
        &self,
        request: Request<pb::CreateEventCallbackRequest>,
    ) -> Result<Response<pb::CreateEventCallbackResponse>, Status> {
        idempotency::refuse(&request, SECRET_ANSWER)?;
        let principal = auth::principal(&request)?;
        let callback = request.into_inner().event_callback.unwrap_or_default();
        let (row, secret) = self.0.create_event_callback(&principal, callback).await?;
        Ok(Response::new(pb::CreateEventCallbackResponse {
            event_callback: Some(convert::event_callback_to_proto(&row, Some(&secret))),
        }))
    }

    async fn get_webhook(
        &self,
        request: Request<pb::GetWebhookRequest>,
    ) -> Result<Response<pb::GetWebhookResponse>, Status> {
        let principal = auth::principal(&request)?;
        let row = self.0.webhook(&principal, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetWebhookResponse { webhook: Some(convert::webhook_to_proto(&row, None)) }))
    }

    async fn list_webhooks(
        &self,
        request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        let principal = auth::principal(&request)?;
        let query = request.get_ref().query.clone().unwrap_or_default();
        let listing = self.0.webhooks(&principal, &query).await?;
        Ok(Response::new(pb::ListWebhooksResponse {
            webhooks: listing.items.iter().map(|w| convert::webhook_to_proto(w, None)).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_webhook(
        &self,
        request: Request<pb::UpdateWebhookRequest>,
    ) -> Result<Response<pb::UpdateWebhookResponse>, Status> {
        let principal = auth::principal(&request)?;
        let row = self.0.update_webhook(&principal, request.into_inner()).await?;
        Ok(Response::new(pb::UpdateWebhookResponse { webhook: Some(convert::webhook_to_proto(&row, None)) }))
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        let principal = auth::principal(&request)?;
        let row = self.0.delete_webhook(&principal, &request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteWebhookResponse { webhook: Some(convert::webhook_to_proto(&row, None)) }))
    }

    async fn rotate_webhook_secret(
        &self,
        request: Request<pb::RotateWebhookSecretRequest>,
    ) -> Result<Response<pb::RotateWebhookSecretResponse>, Status> {
        idempotency::refuse(&request, SECRET_ANSWER)?;
        let principal = auth::principal(&request)?;
        let (row, secret) = self.0.rotate_secret(&principal, request.into_inner()).await?;
        Ok(Response::new(pb::RotateWebhookSecretResponse {
            webhook: Some(convert::webhook_to_proto(&row, Some(&secret))),
        }))
    }

    async fn redeliver_webhook(
        &self,
        request: Request<pb::RedeliverWebhookRequest>,
    ) -> Result<Response<pb::RedeliverWebhookResponse>, Status> {
        let events = &self.0;
        events
            .keys
            .once(request, events.clock.now(), |principal, message| async move {
                let (row, scheduled) = events.redeliver(&principal, message).await?;
                Ok(pb::RedeliverWebhookResponse {
                    webhook: Some(convert::webhook_to_proto(&row, None)),
                    scheduled,
                })
            })
            .await
    }
}

#[tonic::async_trait]
impl WebhookLogService for WebhookLogApi {
    async fn get_webhook_log(
        &self,
        request: Request<pb::GetWebhookLogRequest>,
    ) -> Result<Response<pb::GetWebhookLogResponse>, Status> {
        let principal = auth::principal(&request)?;
        let row = self.0.log(&principal, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetWebhookLogResponse { webhook_log: Some(convert::log_to_proto(&row)) }))
    }

    async fn list_webhook_logs(
        &self,
        request: Request<pb::ListWebhookLogsRequest>,
    ) -> Result<Response<pb::ListWebhookLogsResponse>, Status> {
        let principal = auth::principal(&request)?;
        let query = request.get_ref().query.clone().unwrap_or_default();
        let listing = self.0.logs(&principal, &query).await?;
        Ok(Response::new(pb::ListWebhookLogsResponse {
            webhook_logs: listing.items.iter().map(convert::log_to_proto).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }
}
