//! The operations of the events service: recording what the relays
//! publish, reading the event log, managing webhooks, and delivering.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use chrono::{DateTime, TimeDelta, Utc};
use paymesh_kit::{
    Error, Violation,
    auth::{Principal, Scope},
    clock::Clock,
    config::ListLimits,
    crypto::Keyring,
    idempotency::IdempotencyKeys,
    json::{from_struct, from_timestamp},
    query::Listing,
    wire,
};
use paymesh_proto::events::v1 as pb;
use serde_json::{Value, json};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::{
    config::Config,
    convert::{placepay_event_from_proto, trigger_from_proto, trigger_to_proto},
    deliver::Poster,
    domain::{
        address::{AddressPolicy, Host, WebhookUrl},
        retry::{self, Answer, Decision},
        signature::{self, SigningSecret},
        trigger::{Change, Initiator, PlacePayEvent, Trigger, TriggeredOn, fired},
    },
    store::{Attempted, Due, EventRow, HOLD, LogRow, NewEvent, Store, WebhookChange, WebhookRow},
};

/// The most events one `Publish` records.
const MAX_PUBLISHED: usize = 500;
/// The most deliveries one pass of the worker attempts.
const DELIVERIES_PER_PASS: i64 = 50;
/// A payload above this many bytes carries the object's id only.
const MAX_PAYLOAD_BYTES: usize = 20 * 1024;
/// The longest grace period of a rotated secret (seven days).
const MAX_GRACE_SECONDS: u32 = 7 * 86_400;

/// The events service.
#[derive(Clone, Debug)]
pub(crate) struct Events {
    pub(crate) store: Store,
    pub(crate) keys: IdempotencyKeys,
    pub(crate) clock: Clock,
    pub(crate) keyring: Keyring,
    pub(crate) config: Config,
    pub(crate) limits: ListLimits,
    pub(crate) http: Arc<Poster>,
}

/// The context under which a webhook's secret is sealed.
fn secret_context(webhook: Uuid) -> String {
    format!("events.webhooks.secret:{webhook}")
}

impl Events {
    fn policy(&self) -> AddressPolicy {
        AddressPolicy { allow_private: self.config.allow_private }
    }

    // === The event log ===

    /// Records the events a service's relay publishes: only services may,
    /// each event of the caller's partner and mode.
    pub(crate) async fn publish(
        &self,
        principal: &Principal,
        request: pb::PublishRequest,
    ) -> Result<Vec<Uuid>, Error> {
        if principal.service.is_none() {
            return Err(Error::Forbidden("Only paymesh services publish events".to_owned()));
        }
        let scope = principal.scope();
        if request.events.len() > MAX_PUBLISHED {
            return Err(Error::invalid("events", format!("At most {MAX_PUBLISHED} events per call")));
        }
        let mut problems = Vec::new();
        let mut events = Vec::with_capacity(request.events.len());
        for (i, event) in request.events.into_iter().enumerate() {
            let at = |name: &str| format!("events[{i}].{name}");
            let id = wire::id(&event.id).map_err(|why| problems.push(Violation::new(at("id"), why))).ok();
            if event.partner_id != scope.partner_id.to_string() || event.livemode != scope.livemode {
                problems.push(Violation::new(at("partner_id"), "Must be the caller's partner and mode"));
            }
            let valid_type = event.r#type.split('.').count() >= 2
                && event
                    .r#type
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            if !valid_type {
                problems.push(Violation::new(at("type"), "Must be <resource>.<change>, lower case"));
            }
            if event.resource.is_empty()
                || !event.resource.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                problems.push(Violation::new(at("resource"), "Must be a lower-case name"));
            }
            let resource_id = wire::id(&event.resource_id)
                .map_err(|why| problems.push(Violation::new(at("resource_id"), why)))
                .ok();
            let created_at = event.create_time.map(from_timestamp).and_then(Result::ok).or_else(|| {
                problems.push(Violation::new(at("create_time"), "Required"));
                None
            });
            let (Some(id), Some(resource_id), Some(created_at), true) =
                (id, resource_id, created_at, valid_type)
            else {
                continue;
            };
            let data = Value::Object(event.data.map(from_struct).unwrap_or_default());
            events.push(NewEvent {
                id,
                change: Change::of(&event.r#type),
                fired: fired(&event.r#type, initiator(&data)),
                kind: event.r#type,
                resource: event.resource,
                resource_id,
                data,
                created_at,
            });
        }
        if !problems.is_empty() {
            return Err(Error::InvalidAttributes(problems));
        }
        let recorded = self.store.publish(scope, &events, self.clock.now()).await?;
        tracing::debug!(recorded = recorded.len(), of = events.len(), "events published");
        Ok(recorded)
    }

    /// One event.
    pub(crate) async fn event(&self, principal: &Principal, id: &str) -> Result<EventRow, Error> {
        principal.require_secret_key()?;
        let id = wire::object_id(id, || Error::NotFound { resource: "Event" })?;
        self.store.event(principal.scope(), id).await
    }

    /// The events a query matches.
    pub(crate) async fn events(
        &self,
        principal: &Principal,
        query: &paymesh_proto::common::v1::ListQuery,
    ) -> Result<Listing<EventRow>, Error> {
        principal.require_secret_key()?;
        self.store.events(principal.scope(), query, self.limits).await
    }

    // === Webhooks ===

    /// Checks a webhook URL for `scope`, resolving its host now: every
    /// address it resolves to must be one webhooks may reach. A name that
    /// does not resolve (yet) is accepted: nothing can be reached through
    /// it, and every delivery resolves and checks it again.
    async fn checked_url(&self, scope: Scope, text: &str) -> Result<WebhookUrl, Violation> {
        let url = WebhookUrl::parse(text, scope.livemode, self.policy())?;
        if let Host::Name(name) = &url.host
            && let Ok(addresses) = tokio::net::lookup_host((name.as_str(), url.port)).await
        {
            for address in addresses {
                self.policy().check(address.ip()).map_err(|refused| refused.violation())?;
            }
        }
        Ok(url)
    }

    /// A new signing secret, and it sealed for webhook `id`.
    fn new_secret(&self, id: Uuid) -> Result<(SigningSecret, Vec<u8>), Error> {
        let secret = SigningSecret::generate()
            .map_err(|e| Error::Internal(anyhow::anyhow!("the random source failed: {e}")))?;
        let sealed = self
            .keyring
            .seal(secret.as_bytes(), &secret_context(id))
            .map_err(|e| Error::Internal(anyhow::anyhow!("sealing a webhook secret failed: {e}")))?;
        Ok((secret, sealed))
    }

    /// Registers a webhook; answers it with its secret (shown this once).
    pub(crate) async fn create_webhook(
        &self,
        principal: &Principal,
        webhook: pb::Webhook,
    ) -> Result<(WebhookRow, Zeroizing<String>), Error> {
        principal.require_secret_key()?;
        let scope = principal.scope();
        let mut problems = Vec::new();
        let url = match self.checked_url(scope, &webhook.url).await {
            Ok(url) => Some(url),
            Err(violation) => {
                problems.push(violation.nest("webhook"));
                None
            }
        };
        let trigger = trigger_from_proto(webhook.trigger);
        if trigger.is_none() {
            problems.push(Violation::new(
                "webhook.trigger",
                format!("Required: one of {}", Trigger::WORDS.join(", ")),
            ));
        }
        let enabled = match pb::WebhookStatus::try_from(webhook.status) {
            Ok(pb::WebhookStatus::Unspecified | pb::WebhookStatus::Enabled) => true,
            Ok(pb::WebhookStatus::Disabled) => false,
            Err(_) => {
                problems.push(Violation::new("webhook.status", "Must be enabled or disabled"));
                true
            }
        };
        let attrs = match wire::attrs(webhook.attrs) {
            Ok(attrs) => Some(attrs),
            Err(why) => {
                problems.push(Violation::new("webhook.attrs", why));
                None
            }
        };
        let (Some(url), Some(trigger), Some(attrs), true) = (url, trigger, attrs, problems.is_empty()) else {
            return Err(Error::InvalidAttributes(problems));
        };
        let id = Uuid::now_v7();
        let (secret, sealed) = self.new_secret(id)?;
        let attrs = Value::Object(attrs.into_inner());
        let row = self
            .store
            .insert_webhook(scope, (id, &url.text, trigger), enabled, &sealed, &attrs, self.clock.now())
            .await?;
        tracing::info!(webhook = %id, trigger = trigger.as_str(), "webhook created");
        Ok((row, secret.to_text()))
    }

    /// Registers a webhook under PlacePay's names: its callback URL and the
    /// Payload trigger of its event; problems are named as given.
    pub(crate) async fn create_event_callback(
        &self,
        principal: &Principal,
        callback: pb::EventCallback,
    ) -> Result<(WebhookRow, Zeroizing<String>), Error> {
        let event = placepay_event_from_proto(callback.event);
        let webhook = pb::Webhook {
            url: callback.callback_url,
            trigger: event.map_or(0, |e| trigger_to_proto(e.trigger()) as i32),
            ..Default::default()
        };
        let renamed = |v: Violation| match v.field.as_str() {
            "webhook.url" => Violation::new("event_callback.callback_url", v.description),
            "webhook.trigger" => Violation::new(
                "event_callback.event",
                format!("Required: one of {}", PlacePayEvent::WORDS.join(", ")),
            ),
            _ => v,
        };
        match self.create_webhook(principal, webhook).await {
            Err(Error::InvalidAttributes(problems)) => {
                Err(Error::InvalidAttributes(problems.into_iter().map(renamed).collect()))
            }
            other => other,
        }
    }

    /// One webhook.
    pub(crate) async fn webhook(&self, principal: &Principal, id: &str) -> Result<WebhookRow, Error> {
        principal.require_secret_key()?;
        let id = wire::object_id(id, || Error::NotFound { resource: "Webhook" })?;
        self.store.webhook(principal.scope(), id).await
    }

    /// The webhooks a query matches.
    pub(crate) async fn webhooks(
        &self,
        principal: &Principal,
        query: &paymesh_proto::common::v1::ListQuery,
    ) -> Result<Listing<WebhookRow>, Error> {
        principal.require_secret_key()?;
        self.store.webhooks(principal.scope(), query, self.limits).await
    }

    /// Changes a webhook's url, trigger, status or attrs (those the mask
    /// names).
    pub(crate) async fn update_webhook(
        &self,
        principal: &Principal,
        request: pb::UpdateWebhookRequest,
    ) -> Result<WebhookRow, Error> {
        principal.require_secret_key()?;
        let scope = principal.scope();
        let webhook = request.webhook.unwrap_or_default();
        let id = wire::object_id(&webhook.id, || Error::NotFound { resource: "Webhook" })?;
        let stored = self.store.webhook(scope, id).await?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let mut problems = Vec::new();
        let mut change = WebhookChange::default();
        for path in &paths {
            match path.as_str() {
                "url" => match self.checked_url(scope, &webhook.url).await {
                    Ok(url) => change.url = Some(url.text),
                    Err(violation) => problems.push(violation.nest("webhook")),
                },
                "trigger" => match trigger_from_proto(webhook.trigger) {
                    Some(trigger) => change.trigger = Some(trigger),
                    None => problems.push(Violation::new(
                        "webhook.trigger",
                        format!("Must be one of {}", Trigger::WORDS.join(", ")),
                    )),
                },
                "status" => match pb::WebhookStatus::try_from(webhook.status) {
                    Ok(pb::WebhookStatus::Enabled) => change.enabled = Some(true),
                    Ok(pb::WebhookStatus::Disabled) => change.enabled = Some(false),
                    _ => problems.push(Violation::new("webhook.status", "Must be enabled or disabled")),
                },
                "attrs" => {
                    let current = paymesh_kit::values::Attrs::from_stored(
                        stored.attrs.0.as_object().cloned().unwrap_or_default(),
                    );
                    let patch = webhook.attrs.clone().map(|s| Some(from_struct(s)));
                    match current.patched(Some(patch.flatten())) {
                        Ok(attrs) => change.attrs = Some(Value::Object(attrs.into_inner())),
                        Err(why) => problems.push(Violation::new("webhook.attrs", why)),
                    }
                }
                other => problems.push(Violation::new(
                    "update_mask",
                    format!("{other} cannot be changed: a webhook's url, trigger, status and attrs can"),
                )),
            }
        }
        if !problems.is_empty() {
            return Err(Error::InvalidAttributes(problems));
        }
        self.store.update_webhook(scope, id, &change, self.clock.now()).await
    }

    /// Deletes a webhook.
    pub(crate) async fn delete_webhook(&self, principal: &Principal, id: &str) -> Result<WebhookRow, Error> {
        principal.require_secret_key()?;
        let id = wire::object_id(id, || Error::NotFound { resource: "Webhook" })?;
        self.store.delete_webhook(principal.scope(), id, self.clock.now()).await
    }

    /// Replaces a webhook's secret; the previous one signs too during the
    /// grace period. Answers the webhook with its new secret.
    pub(crate) async fn rotate_secret(
        &self,
        principal: &Principal,
        request: pb::RotateWebhookSecretRequest,
    ) -> Result<(WebhookRow, Zeroizing<String>), Error> {
        principal.require_secret_key()?;
        let id = wire::object_id(&request.id, || Error::NotFound { resource: "Webhook" })?;
        let grace = request.grace_period_seconds.unwrap_or(86_400);
        if grace > MAX_GRACE_SECONDS {
            return Err(Error::invalid(
                "grace_period_seconds",
                format!("Must be 0 to {MAX_GRACE_SECONDS} seconds (seven days)"),
            ));
        }
        let scope = principal.scope();
        self.store.webhook(scope, id).await?;
        let (secret, sealed) = self.new_secret(id)?;
        let now = self.clock.now();
        let until = now + TimeDelta::seconds(i64::from(grace));
        let row = self.store.rotate_secret(scope, id, &sealed, until, now).await?;
        tracing::info!(webhook = %id, grace, "webhook secret rotated");
        Ok((row, secret.to_text()))
    }

    /// Delivers again one event, or every event since a time, to a
    /// webhook; answers it and how many deliveries were scheduled.
    pub(crate) async fn redeliver(
        &self,
        principal: &Principal,
        request: pb::RedeliverWebhookRequest,
    ) -> Result<(WebhookRow, u32), Error> {
        principal.require_secret_key()?;
        let scope = principal.scope();
        let id = wire::object_id(&request.id, || Error::NotFound { resource: "Webhook" })?;
        let webhook = self.store.webhook(scope, id).await?;
        let event = match request.event_id.as_deref() {
            Some(raw) => Some(wire::id(raw).map_err(|why| Error::invalid("event_id", why))?),
            None => None,
        };
        let since = match request.since {
            Some(at) => {
                Some(from_timestamp(at).map_err(|_| Error::invalid("since", "Must be a date and time"))?)
            }
            None => None,
        };
        if event.is_some() == since.is_some() {
            return Err(Error::InvalidAttributes(vec![
                Violation::new("event_id", "Give event_id or since, not both"),
                Violation::new("since", "Give event_id or since, not both"),
            ]));
        }
        if webhook.status != "enabled" {
            return Err(Error::invalid("id", "The webhook is disabled: enable it before redelivering"));
        }
        let now = self.clock.now();
        let scheduled = self
            .store
            .redeliver(scope, &webhook, (event, since), |kind| fired(kind, Initiator::Api), now)
            .await?;
        Ok((webhook, scheduled))
    }

    /// One webhook log.
    pub(crate) async fn log(&self, principal: &Principal, id: &str) -> Result<LogRow, Error> {
        principal.require_secret_key()?;
        let id = wire::object_id(id, || Error::NotFound { resource: "Webhook log" })?;
        self.store.log(principal.scope(), id).await
    }

    /// The webhook logs a query matches.
    pub(crate) async fn logs(
        &self,
        principal: &Principal,
        query: &paymesh_proto::common::v1::ListQuery,
    ) -> Result<Listing<LogRow>, Error> {
        principal.require_secret_key()?;
        self.store.logs(principal.scope(), query, self.limits).await
    }

    // === Delivery ===

    /// Attempts the deliveries that are due; answers how many.
    pub(crate) async fn deliver_due(&self) -> Result<usize, Error> {
        let now = self.clock.now();
        let due = self.store.due(now, now + HOLD, DELIVERIES_PER_PASS).await?;
        let count = due.len();
        // Attempts run side by side: one slow endpoint does not hold up
        // another's deliveries.
        let mut attempts = tokio::task::JoinSet::new();
        for due in due {
            let events = self.clone();
            attempts.spawn(async move {
                let attempted = events.attempt(&due).await;
                if let Err(e) = events.store.attempted(&due, &attempted).await {
                    tracing::warn!(delivery = %due.id, error = %e, "could not record a webhook attempt; it is retried");
                }
            });
        }
        while attempts.join_next().await.is_some() {}
        Ok(count)
    }

    /// Removes what passed retention.
    pub(crate) async fn forget_old(&self) -> Result<u64, Error> {
        let now = self.clock.now();
        let before = now - TimeDelta::days(i64::from(self.config.retention_days));
        self.store.forget_before(before, now).await
    }

    /// One attempt of `due`: posts the signed payload and says how it
    /// ended and what follows.
    async fn attempt(&self, due: &Due) -> Attempted {
        let now = self.clock.now();
        let attempt = u32::try_from(due.attempts).unwrap_or(0) + 1;
        let triggered_on = TriggeredOn::of(&due.kind, &due.resource_id.to_string(), &due.data.0);
        let on = (due.resource_id, triggered_on.object.clone(), triggered_on.kind.clone());
        let body = payload(due, &triggered_on);
        let started = Instant::now();
        let sent = self.post(due, &body, now).await;
        let duration_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let (answer, http_status, response, error) = match &sent {
            Ok((status, retry_after, response)) => (
                Answer::Status { code: *status, retry_after: retry_after.as_deref() },
                Some(*status),
                retry::response_excerpt(response),
                None,
            ),
            Err(why) => (Answer::NoAnswer, None, String::new(), Some(why.clone())),
        };
        let decision = retry::decide(attempt, answer, now);
        let delivered = decision == Decision::Delivered;
        let streak = retry::failing_since(due.failing_since, delivered, now);
        let (outcome, next, mut disable) = match decision {
            Decision::Delivered => ("succeeded", None, None),
            Decision::RetryAt(at) => ("failed", Some(at), None),
            Decision::GiveUp => ("gave_up", None, None),
            Decision::DisableWebhook => ("gave_up", None, Some("gone")),
        };
        if disable.is_none() && !delivered && retry::failing_too_long(streak, now) {
            disable = Some("failing");
        }
        let (outcome, next) = if disable.is_some() { ("gave_up", None) } else { (outcome, next) };
        if !delivered {
            tracing::info!(delivery = %due.id, attempt, status = ?http_status, error = ?error, "webhook attempt failed");
        }
        Attempted {
            outcome,
            http_status,
            duration_ms,
            response,
            error: error.map(|e| e.chars().take(500).collect()),
            next_attempt_at: next,
            delivered,
            disable,
            triggered_on: on,
            at: now,
        }
    }

    /// Posts `body` for `due` at `now`: the status, `Retry-After` and body
    /// of the answer, or why none came.
    async fn post(
        &self,
        due: &Due,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(u16, Option<String>, Vec<u8>), String> {
        let url = WebhookUrl::parse(&due.url, due.livemode, self.policy()).map_err(|v| v.description)?;
        let address = match &url.host {
            Host::Ip(ip) => SocketAddr::new(*ip, url.port),
            Host::Name(name) => {
                let mut addresses = tokio::net::lookup_host((name.as_str(), url.port))
                    .await
                    .map_err(|e| format!("the host does not resolve: {e}"))?;
                let first = addresses.next().ok_or_else(|| "the host does not resolve".to_owned())?;
                for address in std::iter::once(first).chain(addresses) {
                    self.policy().check(address.ip()).map_err(|refused| refused.to_string())?;
                }
                first
            }
        };
        let secrets = self.secrets(due, now).map_err(|e| e.to_string())?;
        let secrets: Vec<&SigningSecret> = secrets.iter().collect();
        let timestamp = now.timestamp();
        let id = due.event_id.to_string();
        let signature = signature::signature_header(&secrets, &id, timestamp, body);
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("user-agent", "paymesh-webhooks/1".to_owned()),
            (signature::HEADER_ID, id),
            (signature::HEADER_TIMESTAMP, timestamp.to_string()),
            (signature::HEADER_SIGNATURE, signature),
        ];
        let answered = self.http.post(&url.text, address, &headers, body.to_vec()).await?;
        Ok((answered.status, answered.retry_after, answered.body.to_vec()))
    }

    /// The secrets that sign `due`'s delivery at `now`: the current one,
    /// and the previous one during a rotation's grace period.
    fn secrets(&self, due: &Due, now: DateTime<Utc>) -> Result<Vec<SigningSecret>, Error> {
        let context = secret_context(due.webhook_id);
        let open = |sealed: &[u8]| -> Result<SigningSecret, Error> {
            let bytes = self
                .keyring
                .open(sealed, &context)
                .map_err(|e| Error::Internal(anyhow::anyhow!("a webhook secret does not open: {e}")))?;
            SigningSecret::from_bytes(bytes)
                .map_err(|v| Error::Internal(anyhow::anyhow!("{}", v.description)))
        };
        let mut secrets = vec![open(&due.secret_sealed)?];
        if let (Some(previous), Some(until)) = (&due.previous_secret_sealed, due.previous_secret_expires_at)
            && until > now
        {
            secrets.push(open(previous)?);
        }
        Ok(secrets)
    }
}

/// Who initiated the payment an event is about: automatic billing when
/// its data says so (`"initiator": "automatic_billing"`), else the API.
fn initiator(data: &Value) -> Initiator {
    if data.get("initiator").and_then(Value::as_str) == Some("automatic_billing") {
        Initiator::AutomaticBilling
    } else {
        Initiator::Api
    }
}

/// The body of a delivery: Payload's trigger payload, with the event and
/// its object (only the object's id above 20 kB).
fn payload(due: &Due, triggered_on: &TriggeredOn) -> Vec<u8> {
    let mut on = json!({"id": triggered_on.id, "object": triggered_on.object});
    if let Some(kind) = &triggered_on.kind {
        on["type"] = json!(kind);
    }
    let mut body = json!({
        "object": "webhook_trigger",
        "trigger": due.trigger,
        "triggered_on": on,
        "event": {"id": due.event_id.to_string(), "type": due.kind, "created_at": due.created_at},
        "data": due.data.0,
    });
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    if bytes.len() <= MAX_PAYLOAD_BYTES {
        return bytes;
    }
    body["data"] = json!({"id": due.resource_id.to_string()});
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(data: Value) -> Due {
        let now = Utc::now();
        Due {
            id: Uuid::now_v7(),
            partner_id: Uuid::now_v7(),
            livemode: false,
            webhook_id: Uuid::now_v7(),
            event_id: Uuid::now_v7(),
            trigger: "payment".to_owned(),
            attempts: 0,
            url: "https://partner.example/hook".to_owned(),
            secret_sealed: Vec::new(),
            previous_secret_sealed: None,
            previous_secret_expires_at: None,
            failing_since: None,
            kind: "transaction.payment".to_owned(),
            resource_id: Uuid::now_v7(),
            data: sqlx::types::Json(data),
            created_at: now,
        }
    }

    #[test]
    fn a_payload_carries_the_trigger_the_event_and_its_object_and_only_the_id_above_20_kb() {
        let small = due(json!({"id": "t1", "type": "payment", "amount": "10.00"}));
        let on = TriggeredOn::of(&small.kind, &small.resource_id.to_string(), &small.data.0);
        let body: Value = serde_json::from_slice(&payload(&small, &on)).unwrap_or_default();
        assert_eq!(body["object"], "webhook_trigger");
        assert_eq!(body["trigger"], "payment");
        assert_eq!(body["triggered_on"]["type"], "payment");
        assert_eq!(body["event"]["id"], small.event_id.to_string());
        assert_eq!(body["data"]["amount"], "10.00");

        let large = due(json!({"id": "t2", "type": "payment", "description": "x".repeat(30 * 1024)}));
        let bytes = payload(&large, &on);
        assert!(bytes.len() <= MAX_PAYLOAD_BYTES, "{} bytes", bytes.len());
        let body: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(body["data"], json!({"id": large.resource_id.to_string()}));
        assert_eq!(body["trigger"], "payment");
    }
}
