//! `GET /events/stream`: the caller's events as Server-Sent Events, as
//! they are recorded — Payload's real-time event model over plain HTTP.
//!
//! Each event is one SSE message: `id` is the event id, `event` its type
//! (`transaction.payment`), `data` the event object as `/events/{id}`
//! shows it. `types=transaction.*,account.created` keeps only those;
//! a reconnecting client's `Last-Event-ID` (or `after_id=`) resumes after
//! the last event it got, so a dropped connection loses nothing within the
//! retention. A comment is sent every 15 s so that proxies keep the
//! connection open.

use std::{convert::Infallible, time::Duration};

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
};
use paymesh_proto::events::v1::{SubscribeRequest, event_service_client::EventServiceClient};
use prost::Message as _;
use prost_reflect::DynamicMessage;
use tokio_stream::{Stream, StreamExt as _};

use crate::{
    auth::Caller,
    error::ApiError,
    rest::{read::Object, render::render},
    state::AppState,
};

/// How often an idle stream says it is alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /events/stream`.
pub(crate) async fn events(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut types = Vec::new();
    let mut after_id = String::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "types" | "types[]" => {
                types.extend(value.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned))
            }
            "after_id" => after_id = value.into_owned(),
            other => {
                return Err(ApiError::invalid_field(
                    other,
                    "Unknown parameter: the stream takes types and after_id",
                ));
            }
        }
    }
    if let Some(last) = headers.get("last-event-id").and_then(|v| v.to_str().ok()) {
        after_id = last.to_owned();
    }
    let events =
        subscribe(&state, &caller, SubscribeRequest { types, after_id }).await?.map(|(event, object)| {
            let data = serde_json::to_string(&object).unwrap_or_default();
            Ok(Event::default().id(event.id).event(event.r#type).data(data))
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// The caller's events as they are recorded (those `request` asks for),
/// each with the event object as `/events/{id}` shows it; the stream ends
/// when the events service ends it.
pub(crate) async fn subscribe(
    state: &AppState,
    caller: &Caller,
    request: SubscribeRequest,
) -> Result<impl Stream<Item = (paymesh_proto::events::v1::Event, Object)> + use<>, ApiError> {
    let descriptor = state
        .surface
        .routes
        .iter()
        .find(|r| r.path == "/events")
        .and_then(|r| r.collection.as_ref())
        .map(|c| c.message.clone())
        .ok_or_else(ApiError::internal)?;
    let channel = state.channel_named("events").ok_or_else(ApiError::internal)?;
    let mut request = caller.grpc(request);
    // A stream lasts as long as its client stays: no request deadline.
    request.metadata_mut().remove("grpc-timeout");
    let stream = EventServiceClient::new(channel)
        .subscribe(request)
        .await
        .map_err(|status| ApiError::from_status(&status, &|field| (None, vec![field.to_owned()])))?
        .into_inner();
    let surface = state.surface.clone();
    Ok(stream.map_while(move |item| {
        let event = item.ok()?.event?;
        let dynamic = DynamicMessage::decode(descriptor.clone(), event.encode_to_vec().as_slice()).ok()?;
        let object = render(&surface, &dynamic, None);
        Some((event, object))
    }))
}
