//! Payment links: create, read, change, cancel and send them; the sweeps
//! that expire them, send their reminders and hand their emails to the
//! relay.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error,
    auth::{Principal, Scope},
    crypto::random_base62,
    money::{Currency, Money},
    query::{Listing, equal},
    values::Email,
    wire::{self, Fields},
};
use paymesh_proto::{billing::v1 as pb, common::v1 as common};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use super::{Billing, names, patched_attrs};
use crate::{
    convert,
    domain::{
        invoice::Status,
        link::{self, GivenField, GivenSection, LinkStatus, LinkType, Reminders},
    },
    store::{
        Store,
        links::{LinkRow, MessageRow, NewMessage, Related},
    },
};

/// The characters of a page's secret token (about 256 bits).
const TOKEN_CHARS: usize = 43;
/// The longest redirect URL.
const MAX_URL_CHARS: usize = 2000;
/// The most links one pass of a sweep handles.
const LINKS_PER_PASS: i64 = 200;
/// The most messages one pass hands to the relay.
const MESSAGES_PER_PASS: i64 = 50;
/// How often a message the relay refused is tried before it is `failed`.
const MAX_SENDS: i16 = 5;

/// The attributes an update may change.
const UPDATABLE: &[&str] = &[
    "description",
    "amount",
    "expires_at",
    "due_date",
    "reminders",
    "redirect_url",
    "additional_datafields",
    "status",
    "attrs",
];

/// Who manages links: the partner (a secret key, or a paymesh service),
/// or one merchant (a merchant token: the links of its processing account
/// only, as if no other existed).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Manager {
    /// The partner and mode.
    pub(crate) scope: Scope,
    /// A merchant token's processing account.
    pub(crate) merchant: Option<Uuid>,
}

impl Manager {
    /// The manager a credential makes; client keys manage no links.
    pub(crate) fn of(principal: &Principal) -> Result<Self, Error> {
        Ok(Self { scope: principal.scope(), merchant: principal.merchant_account()? })
    }

    /// Whether the manager may see `row`.
    fn sees(&self, row: &LinkRow) -> bool {
        self.merchant.is_none_or(|m| m == row.processing_id)
    }

    /// `row`, if the manager may see it; as missing otherwise.
    fn visible(&self, row: LinkRow) -> Result<LinkRow, Error> {
        if self.sees(&row) { Ok(row) } else { Err(Error::NotFound { resource: "Payment link" }) }
    }
}

/// A link with what its answer shows besides.
pub(crate) type LinkWithRelated = (LinkRow, Related);

/// A link as its events carry it.
pub(crate) fn link_json(row: &LinkRow, url: &str, now: DateTime<Utc>) -> Value {
    json!({
        "id": row.id, "object": "payment_link", "type": row.kind, "description": row.description,
        "amount": row.amount.map(paymesh_kit::json::decimal_json), "currency": row.currency,
        "processing_id": row.processing_id, "customer_id": row.customer_id, "invoice_id": row.invoice_id,
        "status": row.status_at(now).as_str(), "expires_at": row.expires_at, "transaction_id": row.transaction_id,
        "payment_count": row.payment_count, "amount_paid": paymesh_kit::json::decimal_json(row.amount_paid),
        "url": url, "due_date": row.due_date, "attrs": row.attrs.0,
        "created_at": row.created_at, "modified_at": row.modified_at,
    })
}

/// The sections given on the wire, as the domain reads them.
fn given_sections(given: &[pb::DataFieldSection]) -> Vec<GivenSection> {
    given
        .iter()
        .map(|s| GivenSection {
            section: s.section.clone(),
            fields: s
                .fields
                .iter()
                .map(|f| GivenField {
                    title: f.title.clone(),
                    required: f.required,
                    kind: f.r#type.clone(),
                    placeholder: f.placeholder.clone(),
                })
                .collect(),
        })
        .collect()
}

/// Records the domain's problems under `payment_link`.
fn push_all(fields: &mut Fields<'_>, problems: Vec<(String, String)>) {
    for (path, why) in problems {
        fields.push(&path, why);
    }
}

/// An email address, by the kit's rules, as given (trimmed).
pub(super) fn email_address(raw: &str) -> Result<String, String> {
    Email::parse(raw).map(|email| email.as_str().to_owned())
}

impl Billing {
    /// A link as the contract says it.
    pub(crate) fn link_proto(&self, row: &LinkRow, related: &Related) -> pb::PaymentLink {
        convert::link_to_proto(row, related, &self.link_url(row), self.clock.now())
    }

    /// What the answers of `links` show besides their rows, by link.
    async fn related(&self, links: &[Uuid]) -> Result<HashMap<Uuid, Related>, Error> {
        let mut related: HashMap<Uuid, Related> = HashMap::new();
        for message in self.store.link_messages(links).await? {
            related.entry(message.link_id).or_default().messages.push(message);
        }
        for file in self.store.link_attachments(links).await? {
            if let Some(link) = file.payment_link_id {
                related.entry(link).or_default().attachments.push(file);
            }
        }
        Ok(related)
    }

    /// `row` with what its answer shows besides.
    async fn with_related(&self, row: LinkRow) -> Result<LinkWithRelated, Error> {
        let related = self.related(&[row.id]).await?.remove(&row.id).unwrap_or_default();
        Ok((row, related))
    }

    /// The page address of a link.
    pub(crate) fn link_url(&self, row: &LinkRow) -> String {
        format!("{}/pay/{}", self.public_url, row.token)
    }

    /// A redirect URL: https, or http in test mode; empty is none.
    fn redirect_url(raw: &str, livemode: bool) -> Result<Option<String>, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        let uri: tonic::codegen::http::Uri = raw.parse().map_err(|_| "Must be a URL".to_owned())?;
        match (uri.scheme_str(), uri.host()) {
            _ if raw.chars().count() > MAX_URL_CHARS => Err("Must be at most 2000 characters".to_owned()),
            (Some("https"), Some(_)) => Ok(Some(raw.to_owned())),
            (Some("http"), Some(_)) if !livemode => Ok(Some(raw.to_owned())),
            (Some("http"), Some(_)) => Err("Must be an https URL in live mode".to_owned()),
            _ => Err("Must be an https URL".to_owned()),
        }
    }

    /// An expiry: in the future; unset is none.
    fn expiry(&self, given: Option<&prost_types::Timestamp>) -> Result<Option<DateTime<Utc>>, String> {
        let Some(given) = given else { return Ok(None) };
        let at = DateTime::from_timestamp(given.seconds, u32::try_from(given.nanos).unwrap_or(0))
            .ok_or_else(|| "Must be a date and time".to_owned())?;
        if at <= self.clock.now() { Err("Must be in the future".to_owned()) } else { Ok(Some(at)) }
    }

    /// Creates a payment link; with an inline customer, creates it first.
    /// A link made for a customer is emailed to it at once (Payload's
    /// automatic email).
    pub(crate) async fn create_link(
        &self,
        manager: Manager,
        given: pb::PaymentLink,
    ) -> Result<LinkWithRelated, Error> {
        let scope = manager.scope;
        let mut fields = Fields::new("payment_link");
        let kind = match pb::PaymentLinkType::try_from(given.r#type) {
            Ok(pb::PaymentLinkType::Reusable) => LinkType::Reusable,
            Ok(_) => LinkType::OneTime,
            Err(_) => {
                fields.push("type", "Must be one_time or reusable");
                LinkType::OneTime
            }
        };
        if !matches!(
            pb::PaymentLinkStatus::try_from(given.status),
            Ok(pb::PaymentLinkStatus::Unspecified | pb::PaymentLinkStatus::Active)
        ) {
            fields.push("status", "A new link is active");
        }
        let description = given.description.trim().to_owned();
        if description.is_empty() || description.chars().count() > 500 {
            fields.push("description", "Required: 1 to 500 characters");
        }
        let invoice_id = fields.take(
            "invoice_id",
            wire::optional_id((!given.invoice_id.is_empty()).then_some(&given.invoice_id)),
        );
        let customer_id = fields.take(
            "customer_id",
            wire::optional_id((!given.customer_id.is_empty()).then_some(&given.customer_id)),
        );
        let processing_id = fields.take(
            "processing_id",
            wire::optional_id((!given.processing_id.is_empty()).then_some(&given.processing_id)),
        );
        let (customer_id, processing_id) = match manager.merchant {
            None => (customer_id, processing_id),
            Some(merchant) => {
                if processing_id.flatten().is_some_and(|p| p != merchant) {
                    fields.push("processing_id", "A merchant's links pay its own processing account");
                }
                if customer_id.flatten().is_some() {
                    fields.push(
                        "customer_id",
                        "A merchant names the customer inline: customer.name and customer.email",
                    );
                }
                (Some(None), Some(Some(merchant)))
            }
        };
        let inline = given.customer.as_ref().map(|c| {
            let name = c.name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 200 {
                fields.push("customer.name", "Required: 1 to 200 characters");
            }
            let email = fields.take("customer.email", email_address(&c.email));
            (name, email.unwrap_or_default())
        });
        if inline.is_some() && matches!(customer_id, Some(Some(_))) {
            fields.push("customer", "Give customer_id or customer, not both");
        }
        let sections = link::datafields(&given_sections(&given.additional_datafields))
            .map_err(|problems| push_all(&mut fields, problems))
            .ok();
        let expires_at = fields.take("expires_at", self.expiry(given.expire_time.as_ref()));
        let redirect_url =
            fields.take("redirect_url", Self::redirect_url(&given.redirect_url, scope.livemode));
        let due_date = fields.take("due_date", convert::date(&given.due_date));
        let reminders = given
            .reminders
            .as_ref()
            .map_or(Ok(Reminders::default()), |r| Reminders::new(&r.days_before, &r.days_after));
        let reminders = reminders.map_err(|problems| push_all(&mut fields, problems)).ok();
        if reminders.as_ref().is_some_and(|r| !r.is_empty()) && matches!(due_date, Some(None)) {
            fields.push("reminders", "Reminders count from a due_date: give one");
        }
        let attrs = fields.take("attrs", convert::attrs(given.attrs));

        // The invoice decides the customer, the processing account and the
        // currency.
        let mut invoice = None;
        if let Some(Some(id)) = invoice_id {
            let mut conn = self.store.conn().await?;
            match Store::invoice(&mut conn, scope, id, false).await {
                Ok(found) if manager.merchant.is_some_and(|m| m != found.processing_id) => {
                    fields.push("invoice_id", "No such invoice");
                }
                Ok(found) => {
                    match found.status() {
                        Status::Paid => {
                            fields.push("invoice_id", "The invoice is paid: nothing is left to pay")
                        }
                        Status::Closed => {
                            fields.push("invoice_id", "The invoice is closed: it is not collected")
                        }
                        _ => {}
                    }
                    if customer_id.flatten().is_some_and(|c| c != found.customer_id) {
                        fields.push("customer_id", "Must be the invoice's customer");
                    }
                    if processing_id.flatten().is_some_and(|p| p != found.processing_id) {
                        fields.push("processing_id", "Must be the invoice's processing account");
                    }
                    if inline.is_some() {
                        fields.push("customer", "A link of an invoice is paid by the invoice's customer");
                    }
                    invoice = Some(found);
                }
                Err(Error::NotFound { .. }) => fields.push("invoice_id", "No such invoice"),
                Err(e) => return Err(e),
            }
        }
        let currency = match &invoice {
            Some(invoice) => {
                let given = given.amount.as_ref().map(|m| m.currency.trim()).unwrap_or_default();
                if !given.is_empty() && !given.eq_ignore_ascii_case(&invoice.currency) {
                    fields.push("currency", format!("Must be the invoice's currency, {}", invoice.currency));
                }
                Some(invoice.currency.clone())
            }
            None => {
                let code = given.amount.as_ref().map(|m| m.currency.as_str()).filter(|c| !c.is_empty());
                fields.take("currency", convert::currency(code.unwrap_or(given.currency.as_str())))
            }
        };
        let amount = match (&given.amount, &currency) {
            (Some(m), Some(currency)) if !m.amount.trim().is_empty() => {
                let amount = fields.take("amount", convert::unit_amount(Some(m), currency));
                match amount {
                    Some(a) if a <= Decimal::ZERO => {
                        fields.push("amount", "Must be greater than 0");
                        None
                    }
                    Some(a) if invoice.as_ref().is_some_and(|i| a > i.amount_due) => {
                        fields.push("amount", "Must be at most what is left to pay of the invoice");
                        None
                    }
                    other => other.map(Some),
                }
            }
            _ => Some(None),
        };
        // Identity is asked once for the customer and once for the named
        // processing account: their answers serve every check below.
        let customer = match (customer_id.flatten(), &invoice) {
            (_, Some(invoice)) => Some(invoice.customer_id),
            (given, None) => given,
        };
        let found = match customer {
            Some(id) => self.peers.customer(scope, id).await?,
            None => None,
        };
        if invoice.is_none() && customer.is_some() && found.is_none() {
            fields.push("customer_id", "No such customer");
        }
        let mut merchant = None;
        let processing = match (processing_id.flatten(), &invoice) {
            (_, Some(invoice)) => Some(invoice.processing_id),
            (Some(id), None) => {
                merchant = self.peers.processing_account_name(scope, id).await?;
                if merchant.is_none() {
                    fields.push("processing_id", "No such processing account");
                }
                Some(id)
            }
            (None, None) => match found.as_ref().and_then(|c| c.primary_processing_id) {
                Some(primary) => Some(primary),
                None => self.peers.default_processing_account(scope).await?,
            },
        };
        if processing.is_none() && fields.ok() {
            fields.push(
                "processing_id",
                "Required: the partner has no default processing account in this mode",
            );
        }
        let (
            Some(sections),
            Some(expires_at),
            Some(redirect_url),
            Some(due_date),
            Some(reminders),
            Some(attrs),
        ) = (sections, expires_at, redirect_url, due_date, reminders, attrs)
        else {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        };
        let (Some(currency), Some(amount), Some(processing_id), true) =
            (currency, amount, processing, fields.ok())
        else {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        };
        // The customer's email, for the automatic message.
        let (customer_id, recipient) = match (customer, inline) {
            (Some(id), _) => (Some(id), found.map(|c| c.email)),
            (None, Some((name, email))) => {
                let id = self.peers.create_customer(scope, (&name, &email), "payment_link.customer").await?;
                (Some(id), Some(email))
            }
            (None, None) => (None, None),
        };
        let recipient = recipient.filter(|e| email_address(e).is_ok());
        let token =
            random_base62(TOKEN_CHARS).map_err(|e| Error::Internal(anyhow::anyhow!("random source: {e}")))?;
        let now = self.clock.now();
        let new = LinkRow {
            id: Uuid::now_v7(),
            livemode: scope.livemode,
            token,
            kind: kind.as_str().to_owned(),
            description,
            amount,
            currency,
            processing_id,
            customer_id,
            invoice_id: invoice.as_ref().map(|i| i.id),
            additional_datafields: Json(sections),
            status: LinkStatus::Active.as_str().to_owned(),
            expires_at,
            transaction_id: None,
            payment_count: 0,
            amount_paid: Decimal::ZERO,
            redirect_url,
            due_date,
            reminders: Json(reminders.to_json()),
            attrs: Json(attrs),
            created_at: now,
            modified_at: now,
        };
        let merchant = match merchant {
            Some(name) => name,
            None => self.merchant_name(scope, processing_id).await?,
        };
        let mut tx = self.store.begin().await?;
        let row = Store::insert_link(&mut tx, scope, &new).await?;
        let url = self.link_url(&row);
        Store::record(&mut tx, scope, ("payment_link", "created"), row.id, link_json(&row, &url, now), now)
            .await?;
        if let Some(recipient) = recipient {
            self.queue_message(&mut tx, scope, (&row, &merchant), ("email", recipient), None).await?;
        }
        tx.commit().await?;
        tracing::info!(link = %row.id, kind = row.kind, "payment link created");
        self.deliver_now().await;
        self.with_related(row).await
    }

    /// The merchant's name: its processing account's.
    pub(super) async fn merchant_name(&self, scope: Scope, processing: Uuid) -> Result<String, Error> {
        Ok(self
            .peers
            .processing_account_name(scope, processing)
            .await?
            .unwrap_or_else(|| "paymesh".to_owned()))
    }

    /// Records a message about `link` to `recipient` over `channel`, in
    /// `tx`: an email is queued for the relay (or recorded without one); a
    /// webhook message is carried by the `payment_link.sent` event.
    /// `reminder_on` makes it that day's reminder (`None` when that day's
    /// is already recorded).
    async fn queue_message(
        &self,
        tx: &mut sqlx::PgConnection,
        scope: Scope,
        (link, merchant): (&LinkRow, &str),
        (channel, recipient): (&'static str, String),
        reminder_on: Option<chrono::NaiveDate>,
    ) -> Result<Option<MessageRow>, Error> {
        let url = self.link_url(link);
        let amount =
            link.amount.map(|a| Money::new(a, Currency::parse(&link.currency).unwrap_or(Currency::Usd)));
        let mail = link::email(
            merchant,
            &link.description,
            amount.map(|m| m.to_string()).as_deref(),
            link.due_date,
            &url,
            reminder_on.is_some(),
        );
        let status = match channel {
            "webhook" => "sent",
            _ if self.mailer.relays() => "queued",
            _ => "recorded",
        };
        let new =
            NewMessage { channel, reminder_on, recipient, subject: mail.subject, body: mail.body, status };
        let now = self.clock.now();
        let Some(message) = Store::insert_message(tx, scope, link.id, &new, now).await? else {
            return Ok(None);
        };
        let data = json!({
            "id": link.id, "object": "payment_link", "url": url, "message": {
                "id": message.id, "channel": message.channel, "kind": message.kind, "recipient": message.recipient,
                "subject": message.subject, "body": message.body, "status": message.status,
            },
        });
        Store::record(tx, scope, ("payment_link", "sent"), link.id, data, now).await?;
        Ok(Some(message))
    }

    /// One link with its messages and files.
    pub(crate) async fn link(&self, manager: Manager, id: &str) -> Result<LinkWithRelated, Error> {
        let id = wire::object_id(id, || Error::NotFound { resource: "Payment link" })?;
        let row =
            manager.visible(Store::link(&mut *self.store.conn().await?, manager.scope, id, false).await?)?;
        self.with_related(row).await
    }

    /// The links a query matches, with the messages and files of each.
    pub(crate) async fn links(
        &self,
        manager: Manager,
        mut query: common::ListQuery,
    ) -> Result<(Listing<LinkRow>, HashMap<Uuid, Related>), Error> {
        if let Some(merchant) = manager.merchant {
            query.filters.push(equal(&["processing_id"], &merchant.to_string()));
        }
        let listing = self.store.links(manager.scope, &query, self.limits).await?;
        let ids: Vec<Uuid> = listing.items.iter().map(|l| l.id).collect();
        let related = self.related(&ids).await?;
        Ok((listing, related))
    }

    /// Changes a link, or cancels it. Only an active link changes (its
    /// custom attributes always may).
    pub(crate) async fn update_link(
        &self,
        manager: Manager,
        request: pb::UpdatePaymentLinkRequest,
    ) -> Result<LinkWithRelated, Error> {
        let scope = manager.scope;
        let given = request.payment_link.unwrap_or_default();
        let id = wire::object_id(&given.id, || Error::NotFound { resource: "Payment link" })?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let stored = manager.visible(Store::link(&mut tx, scope, id, true).await?)?;
        let status = stored.status_at(now);
        let mut row = stored.clone();
        let mut fields = Fields::new("payment_link");
        for path in &paths {
            let path = path.as_str();
            if status != LinkStatus::Active && path != "attrs" {
                let reason = status.closed_reason().unwrap_or_default();
                return Err(Error::Conflict(format!("{reason}: only its attrs change")));
            }
            match path {
                "description" => {
                    let description = given.description.trim();
                    if description.is_empty() || description.chars().count() > 500 {
                        fields.push("description", "Required: 1 to 500 characters");
                    } else {
                        description.clone_into(&mut row.description);
                    }
                }
                p if names(p, "amount") => match &given.amount {
                    Some(m) if !m.amount.trim().is_empty() => {
                        match fields.take("amount", convert::unit_amount(Some(m), &stored.currency)) {
                            Some(a) if a <= Decimal::ZERO => fields.push("amount", "Must be greater than 0"),
                            Some(a) => row.amount = Some(a),
                            None => {}
                        }
                    }
                    _ => row.amount = None,
                },
                "expires_at" | "expire_time" => {
                    if let Some(at) = fields.take("expires_at", self.expiry(given.expire_time.as_ref())) {
                        row.expires_at = at;
                    }
                }
                "due_date" => {
                    if let Some(due) = fields.take("due_date", convert::date(&given.due_date)) {
                        row.due_date = due;
                    }
                }
                p if names(p, "reminders") => {
                    let r = given.reminders.clone().unwrap_or_default();
                    match Reminders::new(&r.days_before, &r.days_after) {
                        Ok(reminders) => row.reminders = Json(reminders.to_json()),
                        Err(problems) => push_all(&mut fields, problems),
                    }
                }
                "redirect_url" => {
                    if let Some(url) =
                        fields.take("redirect_url", Self::redirect_url(&given.redirect_url, scope.livemode))
                    {
                        row.redirect_url = url;
                    }
                }
                p if names(p, "additional_datafields") => {
                    match link::datafields(&given_sections(&given.additional_datafields)) {
                        Ok(sections) => row.additional_datafields = Json(sections),
                        Err(problems) => push_all(&mut fields, problems),
                    }
                }
                "status" => match pb::PaymentLinkStatus::try_from(given.status) {
                    Ok(pb::PaymentLinkStatus::Canceled) => {
                        LinkStatus::Canceled.as_str().clone_into(&mut row.status)
                    }
                    Ok(pb::PaymentLinkStatus::Active) => {}
                    _ => fields.push("status", "An update may only cancel a link: canceled"),
                },
                p if names(p, "attrs") => {
                    if let Some(attrs) =
                        fields.take("attrs", patched_attrs(&stored.attrs.0, given.attrs.clone()))
                    {
                        row.attrs = Json(attrs);
                    }
                }
                other => fields.unchangeable(other, UPDATABLE),
            }
        }
        if !Reminders::from_json(&row.reminders.0).is_empty() && row.due_date.is_none() {
            fields.push("reminders", "Reminders count from a due_date: give one");
        }
        if !fields.ok() {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        }
        let row = Store::save_link(&mut tx, &row, now).await?;
        let change =
            if row.status == "canceled" && stored.status != "canceled" { "canceled" } else { "updated" };
        let url = self.link_url(&row);
        Store::record(&mut tx, scope, ("payment_link", change), row.id, link_json(&row, &url, now), now)
            .await?;
        tx.commit().await?;
        self.with_related(row).await
    }

    /// Sends an active link to its customer (or `email`), by email or to
    /// the partner's webhooks.
    pub(crate) async fn send_link(
        &self,
        manager: Manager,
        request: pb::SendPaymentLinkRequest,
    ) -> Result<LinkWithRelated, Error> {
        let scope = manager.scope;
        let id = wire::object_id(&request.id, || Error::NotFound { resource: "Payment link" })?;
        let channel = match request.channel.trim() {
            "" | "email" => "email",
            "webhook" => "webhook",
            _ => return Err(Error::invalid("channel", "Must be email or webhook")),
        };
        let stored = manager.visible(Store::link(&mut *self.store.conn().await?, scope, id, false).await?)?;
        let recipient = if request.email.trim().is_empty() {
            let customer = match stored.customer_id {
                Some(c) => self.peers.customer(scope, c).await?,
                None => None,
            };
            customer.map(|c| c.email).filter(|e| !e.trim().is_empty()).ok_or_else(|| {
                Error::invalid("email", "Required: the link has no customer with an email address")
            })?
        } else {
            email_address(&request.email).map_err(|why| Error::invalid("email", why))?
        };
        let merchant = self.merchant_name(scope, stored.processing_id).await?;
        let mut tx = self.store.begin().await?;
        let row = Store::link(&mut tx, scope, id, true).await?;
        if let Some(reason) = row.status_at(self.clock.now()).closed_reason() {
            return Err(Error::Conflict(format!("{reason}: it is not sent")));
        }
        self.queue_message(&mut tx, scope, (&row, &merchant), (channel, recipient), None).await?;
        tx.commit().await?;
        self.deliver_now().await;
        self.with_related(row).await
    }

    /// Hands queued messages to the relay now, for an answer that shows
    /// them sent; what fails here is left to the sweep.
    async fn deliver_now(&self) {
        if self.mailer.relays()
            && let Err(e) = self.deliver_messages().await
        {
            tracing::warn!(error = %e, "payment-link emails not handed over; the sweep will retry");
        }
    }

    /// Hands queued messages to the relay: `sent`, or after several
    /// refusals `failed` with the relay's reason. Returns how many were
    /// handled.
    pub(crate) async fn deliver_messages(&self) -> Result<usize, Error> {
        if !self.mailer.relays() {
            return Ok(0);
        }
        let mut tx = self.store.begin().await?;
        let queued = Store::queued_messages(&mut tx, MESSAGES_PER_PASS).await?;
        for message in &queued {
            let outcome = self.mailer.send(&message.recipient, &message.subject, &message.body).await;
            let now = self.clock.now();
            let (status, error) = match &outcome {
                Ok(()) => ("sent", None),
                Err(why) if message.attempts + 1 >= MAX_SENDS => ("failed", Some(why.as_str())),
                Err(why) => ("queued", Some(why.as_str())),
            };
            Store::message_handed(&mut tx, message.id, status, error, now).await?;
            if let Err(why) = outcome {
                tracing::warn!(message = %message.id, error = %why, "payment-link email refused");
            }
        }
        tx.commit().await?;
        Ok(queued.len())
    }

    /// Marks active links past their expiry `expired`.
    pub(crate) async fn expire_links(&self) -> Result<usize, Error> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let expired = Store::expire_links(&mut tx, now, LINKS_PER_PASS).await?;
        for (partner_id, row) in &expired {
            let scope = Scope { partner_id: *partner_id, livemode: row.livemode };
            let data = link_json(row, &self.link_url(row), now);
            Store::record(&mut tx, scope, ("payment_link", "expired"), row.id, data, now).await?;
        }
        tx.commit().await?;
        Ok(expired.len())
    }

    /// Sends the reminders whose day has come to the links' customers.
    pub(crate) async fn send_reminders(&self) -> Result<usize, Error> {
        let today = self.today();
        let mut sent = 0;
        for (partner_id, row) in self.store.reminding_links(today, LINKS_PER_PASS).await? {
            let scope = Scope { partner_id, livemode: row.livemode };
            let (Some(due), Some(customer)) = (row.due_date, row.customer_id) else { continue };
            let Some(day) =
                Reminders::from_json(&row.reminders.0).due_on(due, row.created_at.date_naive(), today)
            else {
                continue;
            };
            let Some(email) = self.peers.customer(scope, customer).await?.map(|c| c.email) else { continue };
            if email_address(&email).is_err() {
                continue;
            }
            let merchant = self.merchant_name(scope, row.processing_id).await?;
            let mut tx = self.store.begin().await?;
            let locked = Store::link(&mut tx, scope, row.id, true).await?;
            if locked.status_at(self.clock.now()) != LinkStatus::Active {
                continue;
            }
            if self
                .queue_message(&mut tx, scope, (&locked, &merchant), ("email", email), Some(day))
                .await?
                .is_some()
            {
                sent += 1;
            }
            tx.commit().await?;
        }
        if sent > 0 {
            self.deliver_now().await;
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_are_https_or_http_in_test_mode() {
        assert_eq!(Billing::redirect_url("", true).unwrap(), None);
        assert!(Billing::redirect_url("https://shop.example/thanks", true).unwrap().is_some());
        assert!(Billing::redirect_url("http://localhost:3000/ok", false).unwrap().is_some());
        assert!(Billing::redirect_url("http://shop.example/thanks", true).is_err());
        assert!(Billing::redirect_url("javascript:alert(1)", false).is_err());
        assert!(Billing::redirect_url("/relative", false).is_err());
    }
}
