//! Wire ↔ stored values: the one mapping between the contract's messages
//! and the rows of the events service.

use paymesh_kit::json::{timestamp, to_struct};
use paymesh_proto::events::v1 as pb;
use serde_json::{Map, Value};

use crate::{
    domain::trigger::{Change, PlacePayEvent, Trigger},
    store::{EventRow, LogRow, WebhookRow},
};

/// The contract's word of a trigger.
pub(crate) const fn trigger_to_proto(trigger: Trigger) -> pb::WebhookTrigger {
    match trigger {
        Trigger::Payment => pb::WebhookTrigger::Payment,
        Trigger::Refund => pb::WebhookTrigger::Refund,
        Trigger::Void => pb::WebhookTrigger::Void,
        Trigger::AutomaticPayment => pb::WebhookTrigger::AutomaticPayment,
        Trigger::Decline => pb::WebhookTrigger::Decline,
        Trigger::Chargeback => pb::WebhookTrigger::Chargeback,
        Trigger::ChargebackReversal => pb::WebhookTrigger::ChargebackReversal,
        Trigger::BankAccountReject => pb::WebhookTrigger::BankAccountReject,
        Trigger::ProcessingStatus => pb::WebhookTrigger::ProcessingStatus,
        Trigger::Any => pb::WebhookTrigger::Any,
    }
}

/// The trigger of the contract's number, if it names one.
pub(crate) fn trigger_from_proto(number: i32) -> Option<Trigger> {
    Trigger::ALL.iter().copied().find(|t| trigger_to_proto(*t) as i32 == number)
}

/// The contract's number of a PlacePay event name.
const fn placepay_event_to_proto(event: PlacePayEvent) -> pb::PlacePayEvent {
    match event {
        PlacePayEvent::AutomaticPayment => pb::PlacePayEvent::AutomaticPayment,
        PlacePayEvent::AchFailure => pb::PlacePayEvent::AchFailure,
        PlacePayEvent::Refund => pb::PlacePayEvent::Refund,
        PlacePayEvent::Void => pb::PlacePayEvent::Void,
        PlacePayEvent::Chargeback => pb::PlacePayEvent::Chargeback,
        PlacePayEvent::ChargebackReversal => pb::PlacePayEvent::ChargebackReversal,
    }
}

/// The PlacePay event of the contract's number, if it names one.
pub(crate) fn placepay_event_from_proto(number: i32) -> Option<PlacePayEvent> {
    PlacePayEvent::ALL.iter().copied().find(|e| placepay_event_to_proto(*e) as i32 == number)
}

/// A webhook as a PlacePay registration says it, with its secret when
/// just made.
pub(crate) fn event_callback_to_proto(row: &WebhookRow, secret: Option<&str>) -> pb::EventCallback {
    let event = Trigger::parse(&row.trigger).and_then(PlacePayEvent::of);
    pb::EventCallback {
        id: row.id.to_string(),
        callback_url: row.url.clone(),
        event: event.map_or(0, |e| placepay_event_to_proto(e) as i32),
        secret: secret.unwrap_or_default().to_owned(),
    }
}

fn trigger_number(word: &str) -> i32 {
    Trigger::parse(word).map_or(0, |t| trigger_to_proto(t) as i32)
}

fn object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// An event as the contract says it.
pub(crate) fn event_to_proto(row: &EventRow) -> pb::Event {
    let change = match Change::parse(&row.change) {
        Some(Change::Insert) => pb::ObjectChange::Insert,
        Some(Change::Update) => pb::ObjectChange::Update,
        Some(Change::Delete) => pb::ObjectChange::Delete,
        None => pb::ObjectChange::Unspecified,
    };
    pb::Event {
        id: row.id.to_string(),
        r#type: row.kind.clone(),
        resource: row.resource.clone(),
        resource_id: row.resource_id.to_string(),
        data: Some(to_struct(object(&row.data))),
        change: change as i32,
        livemode: row.livemode,
        attrs: Some(to_struct(Map::new())),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.created_at)),
    }
}

/// A webhook as the contract says it; `secret` only in the answers of
/// create and rotate.
pub(crate) fn webhook_to_proto(row: &WebhookRow, secret: Option<&str>) -> pb::Webhook {
    let status = match row.status.as_str() {
        "enabled" => pb::WebhookStatus::Enabled,
        _ => pb::WebhookStatus::Disabled,
    };
    let reason = match row.disabled_reason.as_deref() {
        Some("requested") => pb::WebhookDisabledReason::Requested,
        Some("gone") => pb::WebhookDisabledReason::Gone,
        Some("failing") => pb::WebhookDisabledReason::Failing,
        _ => pb::WebhookDisabledReason::Unspecified,
    };
    pb::Webhook {
        id: row.id.to_string(),
        url: row.url.clone(),
        trigger: trigger_number(&row.trigger),
        status: status as i32,
        disabled_reason: reason as i32,
        disable_time: row.disabled_at.map(timestamp),
        secret: secret.unwrap_or_default().to_owned(),
        previous_secret_expire_time: row.previous_secret_expires_at.map(timestamp),
        failing_since: row.failing_since.map(timestamp),
        attrs: Some(to_struct(object(&row.attrs))),
        livemode: row.livemode,
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.modified_at)),
    }
}

/// A webhook log as the contract says it.
pub(crate) fn log_to_proto(row: &LogRow) -> pb::WebhookLog {
    let outcome = match row.outcome.as_str() {
        "succeeded" => pb::AttemptOutcome::Succeeded,
        "failed" => pb::AttemptOutcome::Failed,
        _ => pb::AttemptOutcome::GaveUp,
    };
    pb::WebhookLog {
        id: row.id.to_string(),
        webhook_id: row.webhook_id.to_string(),
        event_id: row.event_id.to_string(),
        trigger: trigger_number(&row.trigger),
        triggered_on: Some(pb::TriggeredOn {
            id: row.triggered_on_id.to_string(),
            object: row.triggered_on_object.clone(),
            r#type: row.triggered_on_type.clone().unwrap_or_default(),
        }),
        url: row.url.clone(),
        attempt: u32::try_from(row.attempt).unwrap_or(0),
        outcome: outcome as i32,
        http_status: row.http_status.and_then(|s| u32::try_from(s).ok()),
        duration_ms: u32::try_from(row.duration_ms).unwrap_or(0),
        response: row.response.clone(),
        error: row.error.clone().unwrap_or_default(),
        next_attempt_time: row.next_attempt_at.map(timestamp),
        attrs: Some(to_struct(Map::new())),
        livemode: row.livemode,
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.created_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trigger_has_its_own_number_and_back() {
        for trigger in Trigger::ALL {
            let number = trigger_to_proto(*trigger) as i32;
            assert_ne!(number, 0);
            assert_eq!(trigger_from_proto(number), Some(*trigger));
        }
        assert_eq!(trigger_from_proto(0), None);
    }
}
