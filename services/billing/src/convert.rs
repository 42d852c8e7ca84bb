//! Wire ↔ stored values: the one mapping between the contract's messages
//! and the rows of the billing service, and the objects its events carry.

use chrono::{DateTime, NaiveDate, Utc};
use paymesh_kit::{
    json::{decimal_json, timestamp, to_struct},
    money::{Currency, Money},
    values::{Attrs, Description},
    wire::{self, Fields},
};
use paymesh_proto::{billing::v1 as pb, common::v1 as common};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{
    domain::{
        invoice::{AcceptedPaymentState, Entry, MAX_QTY, Status, line_total},
        link::{self, LinkStatus, LinkType, Reminders},
        payers::{self, Kind, MAX_PAYERS, Payer, Share},
        schedule::{Frequency, GivenDays, Rule},
    },
    store::{
        AttachmentRow, ChargeRow, EnrollmentRow, InvoiceRow, ItemRow, NewItem, ScheduleRow,
        links::{LinkRow, Related},
    },
};

/// The longest `type` of an invoice, item, schedule or charge.
const MAX_TYPE_CHARS: usize = 64;

fn object(value: Option<&Value>) -> Map<String, Value> {
    value.and_then(Value::as_object).cloned().unwrap_or_default()
}

fn money(amount: Decimal, currency: &str) -> common::Money {
    Money::new(amount, Currency::parse(currency).unwrap_or(Currency::Usd)).to_proto()
}

/// The contract's word of an invoice status.
pub(crate) const fn status_to_proto(status: Status) -> pb::InvoiceStatus {
    match status {
        Status::Draft => pb::InvoiceStatus::Draft,
        Status::Pending => pb::InvoiceStatus::Pending,
        Status::PartiallyPaid => pb::InvoiceStatus::PartiallyPaid,
        Status::Paid => pb::InvoiceStatus::Paid,
        Status::Overdue => pb::InvoiceStatus::Overdue,
        Status::Closed => pb::InvoiceStatus::Closed,
    }
}

/// The status of the contract's number, if it names one.
pub(crate) fn status_from_proto(number: i32) -> Option<Status> {
    [Status::Draft, Status::Pending, Status::PartiallyPaid, Status::Paid, Status::Overdue, Status::Closed]
        .into_iter()
        .find(|s| status_to_proto(*s) as i32 == number)
}

/// The contract's number of a stored accepted payment state.
fn accepted_to_proto(word: &str) -> i32 {
    let state = match AcceptedPaymentState::parse(word) {
        Some(AcceptedPaymentState::Full) => pb::AcceptedPaymentState::Full,
        _ => pb::AcceptedPaymentState::Partial,
    };
    state as i32
}

/// The accepted payment state of the contract's number (unset: partial).
pub(crate) fn accepted_from_proto(number: i32) -> Result<AcceptedPaymentState, String> {
    match pb::AcceptedPaymentState::try_from(number) {
        Ok(pb::AcceptedPaymentState::Unspecified | pb::AcceptedPaymentState::Partial) => {
            Ok(AcceptedPaymentState::Partial)
        }
        Ok(pb::AcceptedPaymentState::Full) => Ok(AcceptedPaymentState::Full),
        Err(_) => Err("Must be partial or full".to_owned()),
    }
}

/// The contract's word of a frequency.
const fn frequency_to_proto(frequency: Frequency) -> pb::RecurringFrequency {
    match frequency {
        Frequency::Daily => pb::RecurringFrequency::Daily,
        Frequency::Weekly => pb::RecurringFrequency::Weekly,
        Frequency::Biweekly => pb::RecurringFrequency::Biweekly,
        Frequency::Bimonthly => pb::RecurringFrequency::Bimonthly,
        Frequency::Monthly => pb::RecurringFrequency::Monthly,
        Frequency::Quarterly => pb::RecurringFrequency::Quarterly,
        Frequency::Annually => pb::RecurringFrequency::Annually,
    }
}

/// The frequency of the contract's number, if it names one.
pub(crate) fn frequency_from_proto(number: i32) -> Option<Frequency> {
    Frequency::WORDS
        .iter()
        .filter_map(|w| Frequency::parse(w))
        .find(|f| frequency_to_proto(*f) as i32 == number)
}

/// An invoice with its items as the contract says it.
pub(crate) fn invoice_to_proto(row: &InvoiceRow, items: &[ItemRow]) -> pb::Invoice {
    let contact = row.billing_contact.as_ref().map(|c| {
        let text = |key: &str| c.0.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        pb::BillingContact {
            name: text("name"),
            email: text("email"),
            street_address1: text("street_address1"),
            city: text("city"),
            state_province: text("state_province"),
            postal_code: text("postal_code"),
        }
    });
    pb::Invoice {
        id: row.id.to_string(),
        r#type: row.kind.clone().unwrap_or_default(),
        description: row.description.clone().unwrap_or_default(),
        due_date: row.due_date.to_string(),
        status: status_to_proto(row.status()) as i32,
        customer_id: row.customer_id.to_string(),
        processing_id: row.processing_id.to_string(),
        billing_schedule_id: row.billing_schedule_id.map(|id| id.to_string()).unwrap_or_default(),
        billing_contact: contact,
        items: items.iter().filter(|i| i.invoice_id == row.id).map(item_to_proto).collect(),
        currency: row.currency.clone(),
        total_due: Some(money(row.total_due, &row.currency)),
        total_paid: Some(money(row.total_paid, &row.currency)),
        amount_due: Some(money(row.amount_due, &row.currency)),
        paid_time: row.paid_at.map(timestamp),
        attrs: Some(to_struct(object(Some(&row.attrs.0)))),
        livemode: row.livemode,
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.modified_at)),
        payers: row
            .payers
            .0
            .iter()
            .map(|p| pb::InvoicePayer {
                id: p.id.to_string(),
                account_id: p.account_id.to_string(),
                amount_allocated: Some(money(p.amount_allocated, &row.currency)),
                amount_paid: Some(money(p.amount_paid, &row.currency)),
                paid: p.paid(),
                last_payment_time: p.last_payment_at.map(timestamp),
            })
            .collect(),
        accepted_payment_state: accepted_to_proto(&row.accepted_payment_state),
        amount_unallocated: Some(money(row.amount_unallocated, &row.currency)),
        paid: row.status() == Status::Paid,
    }
}

/// An invoice attachment as the contract says it.
pub(crate) fn attachment_to_proto(row: &AttachmentRow) -> pb::InvoiceAttachment {
    pb::InvoiceAttachment {
        id: row.id.to_string(),
        invoice_id: row.invoice_id.map(|i| i.to_string()).unwrap_or_default(),
        payment_link_id: row.payment_link_id.map(|l| l.to_string()).unwrap_or_default(),
        file_name: row.file_name.clone(),
        content_type: row.content_type.clone(),
        size_bytes: row.size_bytes,
        sha256: row.sha256.clone(),
        attrs: Some(to_struct(object(Some(&row.attrs.0)))),
        livemode: row.livemode,
        create_time: Some(timestamp(row.created_at)),
    }
}

/// A line item as the contract says it.
pub(crate) fn item_to_proto(row: &ItemRow) -> pb::LineItem {
    pb::LineItem {
        id: row.id.to_string(),
        invoice_id: row.invoice_id.to_string(),
        entry_type: match Entry::parse(&row.entry_type) {
            Some(Entry::Payment) => pb::LineItemEntryType::Payment,
            _ => pb::LineItemEntryType::Charge,
        } as i32,
        r#type: row.kind.clone().unwrap_or_default(),
        description: row.description.clone().unwrap_or_default(),
        amount: Some(money(row.amount, &row.currency)),
        qty: Some(row.qty),
        total: Some(money(row.total, &row.currency)),
        incurred_date: row.incurred_date.map(|d| d.to_string()).unwrap_or_default(),
        transaction_id: row.transaction_id.map(|id| id.to_string()).unwrap_or_default(),
        attrs: Some(to_struct(object(Some(&row.attrs.0)))),
        livemode: row.livemode,
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.modified_at)),
        allocations: row
            .allocations
            .0
            .iter()
            .map(|s| pb::ItemAllocation {
                payer_id: s.payer_id.to_string(),
                account_id: s.account_id.to_string(),
                amount: Some(money(s.amount, &row.currency)),
                r#type: match s.kind {
                    Kind::Custom => pb::ItemAllocationType::Custom,
                    Kind::Auto => pb::ItemAllocationType::Auto,
                } as i32,
            })
            .collect(),
        payer_id: row.payer_id.map(|id| id.to_string()).unwrap_or_default(),
    }
}

/// A billing schedule with its charges as the contract says it.
pub(crate) fn schedule_to_proto(row: &ScheduleRow, charges: &[ChargeRow]) -> pb::BillingSchedule {
    let rule =
        Rule::from_stored(&row.recurring_frequency, row.billing_days.as_ref().map_or(&Value::Null, |d| &d.0));
    let day = |n: u32| Some(n);
    let (mut bimonthly, mut monthly, mut quarterly, mut annually) = (None, None, None, None);
    match rule {
        Some(Rule::Bimonthly { first, second }) => {
            bimonthly =
                Some(pb::BimonthlyDays { first_billing_day: day(first), second_billing_day: day(second) });
        }
        Some(Rule::Monthly { day: d }) => monthly = Some(pb::MonthlyDay { billing_day: day(d) }),
        Some(Rule::Quarterly(q)) => {
            let quarter = |(month, d): (u32, u32)| {
                Some(pb::QuarterDay { billing_month: day(month), billing_day: day(d) })
            };
            quarterly = Some(pb::QuarterlyDays {
                q1: quarter(q[0]),
                q2: quarter(q[1]),
                q3: quarter(q[2]),
                q4: quarter(q[3]),
            });
        }
        Some(Rule::Annually { month, day: d }) => {
            annually = Some(pb::AnnualDay { billing_month: day(month), billing_day: day(d) });
        }
        _ => {}
    }
    pb::BillingSchedule {
        id: row.id.to_string(),
        r#type: row.kind.clone(),
        description: row.description.clone().unwrap_or_default(),
        customer_id: row.customer_id.to_string(),
        processing_id: row.processing_id.to_string(),
        start_date: row.start_date.to_string(),
        end_date: row.end_date.map(|d| d.to_string()).unwrap_or_default(),
        recurring_frequency: Frequency::parse(&row.recurring_frequency)
            .map_or(0, |f| frequency_to_proto(f) as i32),
        bimonthly,
        monthly,
        quarterly,
        annually,
        charges: charges.iter().filter(|c| c.billing_schedule_id == row.id).map(charge_to_proto).collect(),
        currency: row.currency.clone(),
        next_billing_date: row.next_billing_date.map(|d| d.to_string()).unwrap_or_default(),
        prorated: row.prorated,
        attrs: Some(to_struct(object(Some(&row.attrs.0)))),
        livemode: row.livemode,
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.modified_at)),
        payers: row
            .invoice_payers()
            .iter()
            .map(|account| pb::BillingSchedulePayer { account_id: account.to_string() })
            .collect(),
        accepted_payment_state: accepted_to_proto(&row.accepted_payment_state),
    }
}

/// A billing charge as the contract says it.
pub(crate) fn charge_to_proto(row: &ChargeRow) -> pb::BillingCharge {
    pb::BillingCharge {
        id: row.id.to_string(),
        billing_schedule_id: row.billing_schedule_id.to_string(),
        r#type: row.kind.clone().unwrap_or_default(),
        description: row.description.clone().unwrap_or_default(),
        amount: Some(money(row.amount, &row.currency)),
        qty: Some(row.qty),
        total: Some(money(row.total, &row.currency)),
        attrs: Some(to_struct(object(Some(&row.attrs.0)))),
        livemode: row.livemode,
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.modified_at)),
        start_date: row.start_date.map(|d| d.to_string()).unwrap_or_default(),
    }
}

/// An autopay enrollment as the contract says it.
pub(crate) fn enrollment_to_proto(row: &EnrollmentRow) -> pb::AutopayEnrollment {
    pb::AutopayEnrollment {
        id: row.id.to_string(),
        customer_id: row.customer_id.to_string(),
        payment_method_id: row.payment_method_id.to_string(),
        billing_schedule_id: row.billing_schedule_id.map(|id| id.to_string()).unwrap_or_default(),
        upper_limit: row.upper_limit.map(|limit| money(limit, &row.currency)),
        status: if row.status == "canceled" { pb::AutopayStatus::Canceled } else { pb::AutopayStatus::Active }
            as i32,
        last_payment_status: row.last_payment_status.clone().unwrap_or_default(),
        last_payment_time: row.last_payment_at.map(timestamp),
        last_transaction_id: row.last_transaction_id.map(|id| id.to_string()).unwrap_or_default(),
        attrs: Some(to_struct(object(Some(&row.attrs.0)))),
        livemode: row.livemode,
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.modified_at)),
    }
}

/// A payment link as the contract says it, with its page's `url` and its
/// status at `now`.
pub(crate) fn link_to_proto(
    row: &LinkRow,
    related: &Related,
    url: &str,
    now: DateTime<Utc>,
) -> pb::PaymentLink {
    let kind = match row.kind() {
        LinkType::OneTime => pb::PaymentLinkType::OneTime,
        LinkType::Reusable => pb::PaymentLinkType::Reusable,
    };
    let status = match row.status_at(now) {
        LinkStatus::Active => pb::PaymentLinkStatus::Active,
        LinkStatus::Paid => pb::PaymentLinkStatus::Paid,
        LinkStatus::Canceled => pb::PaymentLinkStatus::Canceled,
        LinkStatus::Expired => pb::PaymentLinkStatus::Expired,
    };
    let reminders = Reminders::from_json(&row.reminders.0);
    pb::PaymentLink {
        id: row.id.to_string(),
        r#type: kind as i32,
        description: row.description.clone(),
        amount: row.amount.map(|a| money(a, &row.currency)),
        currency: row.currency.clone(),
        processing_id: row.processing_id.to_string(),
        customer_id: row.customer_id.map(|c| c.to_string()).unwrap_or_default(),
        customer: None,
        invoice_id: row.invoice_id.map(|i| i.to_string()).unwrap_or_default(),
        additional_datafields: link::sections(&row.additional_datafields.0)
            .into_iter()
            .map(|s| pb::DataFieldSection {
                section: s.section,
                fields: s
                    .fields
                    .into_iter()
                    .map(|f| pb::DataField {
                        title: f.title,
                        required: f.required,
                        r#type: f.kind,
                        placeholder: f.placeholder,
                    })
                    .collect(),
            })
            .collect(),
        url: url.to_owned(),
        status: status as i32,
        expire_time: row.expires_at.map(timestamp),
        transaction_id: row.transaction_id.map(|t| t.to_string()).unwrap_or_default(),
        payment_count: u32::try_from(row.payment_count).unwrap_or(0),
        amount_paid: Some(money(row.amount_paid, &row.currency)),
        redirect_url: row.redirect_url.clone().unwrap_or_default(),
        due_date: row.due_date.map(|d| d.to_string()).unwrap_or_default(),
        reminders: (!reminders.is_empty()).then_some(pb::PaymentLinkReminders {
            days_before: reminders.days_before,
            days_after: reminders.days_after,
        }),
        messages: related
            .messages
            .iter()
            .filter(|m| m.link_id == row.id)
            .map(|m| pb::PaymentLinkMessage {
                id: m.id.to_string(),
                channel: m.channel.clone(),
                kind: m.kind.clone(),
                recipient: m.recipient.clone(),
                subject: m.subject.clone(),
                status: m.status.clone(),
                error: m.error.clone().unwrap_or_default(),
                create_time: Some(timestamp(m.created_at)),
                sent_time: m.sent_at.map(timestamp),
            })
            .collect(),
        attrs: Some(to_struct(object(Some(&row.attrs.0)))),
        livemode: row.livemode,
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.modified_at)),
        attachments: related.attachments.iter().map(attachment_to_proto).collect(),
    }
}

// === Events: the objects as REST shows them ===

/// An invoice attachment as its events carry it (without its content).
pub(crate) fn attachment_json(row: &AttachmentRow) -> Value {
    json!({
        "id": row.id, "object": "invoice_attachment", "invoice_id": row.invoice_id,
        "payment_link_id": row.payment_link_id, "file_name": row.file_name,
        "content_type": row.content_type, "size_bytes": row.size_bytes, "sha256": row.sha256,
        "attrs": row.attrs.0, "created_at": row.created_at,
    })
}

/// A line item as its events carry it.
pub(crate) fn item_json(row: &ItemRow) -> Value {
    json!({
        "id": row.id, "object": "line_item", "invoice_id": row.invoice_id, "entry_type": row.entry_type,
        "type": row.kind, "description": row.description, "amount": decimal_json(row.amount), "qty": row.qty,
        "total": decimal_json(row.total), "incurred_date": row.incurred_date, "transaction_id": row.transaction_id,
        "attrs": row.attrs.0, "created_at": row.created_at, "modified_at": row.modified_at,
        "allocations": row.allocations.0.iter().map(|s| json!({
            "payer_id": s.payer_id, "account_id": s.account_id, "amount": decimal_json(s.amount), "type": s.kind,
        })).collect::<Vec<_>>(),
        "payer_id": row.payer_id,
    })
}

/// An invoice with its items as its events carry it.
pub(crate) fn invoice_json(row: &InvoiceRow, items: &[ItemRow]) -> Value {
    json!({
        "id": row.id, "object": "invoice", "type": row.kind, "description": row.description,
        "due_date": row.due_date, "status": row.status, "customer_id": row.customer_id,
        "processing_id": row.processing_id, "billing_schedule_id": row.billing_schedule_id,
        "billing_contact": row.billing_contact.as_ref().map(|c| &c.0), "currency": row.currency,
        "total_due": decimal_json(row.total_due), "total_paid": decimal_json(row.total_paid),
        "amount_due": decimal_json(row.amount_due), "paid_timestamp": row.paid_at,
        "items": items.iter().filter(|i| i.invoice_id == row.id).map(item_json).collect::<Vec<_>>(),
        "attrs": row.attrs.0, "created_at": row.created_at, "modified_at": row.modified_at,
        "payers": row.payers.0.iter().map(|p| json!({
            "id": p.id, "account_id": p.account_id, "amount_allocated": decimal_json(p.amount_allocated),
            "amount_paid": decimal_json(p.amount_paid), "paid": p.paid(), "last_payment_date": p.last_payment_at,
        })).collect::<Vec<_>>(),
        "accepted_payment_state": row.accepted_payment_state,
        "amount_unallocated": decimal_json(row.amount_unallocated),
        "paid": row.status() == Status::Paid,
    })
}

/// A billing charge as its events carry it.
pub(crate) fn charge_json(row: &ChargeRow) -> Value {
    json!({
        "id": row.id, "object": "billing_charge", "billing_schedule_id": row.billing_schedule_id,
        "type": row.kind, "description": row.description, "amount": decimal_json(row.amount), "qty": row.qty,
        "total": decimal_json(row.total), "attrs": row.attrs.0, "created_at": row.created_at,
        "modified_at": row.modified_at, "start_date": row.start_date,
    })
}

/// A billing schedule with its charges as its events carry it.
pub(crate) fn schedule_json(row: &ScheduleRow, charges: &[ChargeRow]) -> Value {
    json!({
        "id": row.id, "object": "billing_schedule", "type": row.kind, "description": row.description,
        "customer_id": row.customer_id, "processing_id": row.processing_id, "currency": row.currency,
        "start_date": row.start_date, "end_date": row.end_date, "recurring_frequency": row.recurring_frequency,
        (row.recurring_frequency.clone()): row.billing_days.as_ref().map(|d| &d.0),
        "next_billing_date": row.next_billing_date, "prorated": row.prorated,
        "charges": charges.iter().filter(|c| c.billing_schedule_id == row.id).map(charge_json).collect::<Vec<_>>(),
        "attrs": row.attrs.0, "created_at": row.created_at, "modified_at": row.modified_at,
        "payers": row.invoice_payers().iter().map(|a| json!({"account_id": a})).collect::<Vec<_>>(),
        "accepted_payment_state": row.accepted_payment_state,
    })
}

// === From the wire ===

/// A `type` attribute: at most 64 characters; empty is none.
pub(crate) fn kind(raw: &str) -> Result<Option<String>, String> {
    if raw.chars().count() > MAX_TYPE_CHARS {
        return Err(format!("Must be at most {MAX_TYPE_CHARS} characters"));
    }
    Ok((!raw.is_empty()).then(|| raw.to_owned()))
}

/// A description: at most 1000 characters; empty is none.
pub(crate) fn description(raw: &str) -> Result<Option<String>, String> {
    Description::parse(raw).map(|d| (!d.as_str().is_empty()).then(|| d.as_str().to_owned()))
}

/// A date, `YYYY-MM-DD`; empty is none.
pub(crate) fn date(raw: &str) -> Result<Option<NaiveDate>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map(Some).map_err(|_| "Must be a date, YYYY-MM-DD".to_owned())
}

/// A currency code; empty is USD.
pub(crate) fn currency(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Currency::Usd.code().to_owned());
    }
    Currency::parse(raw).map(|c| c.code().to_owned())
}

/// Custom attributes; unset is none.
pub(crate) fn attrs(value: Option<prost_types::Struct>) -> Result<Value, String> {
    paymesh_kit::wire::attrs(value).map(|a: Attrs| Value::Object(a.into_inner()))
}

/// An amount of one unit in `currency`: positive, negative (a credit) or
/// zero, at the minor unit at most, below the limit either way.
pub(crate) fn unit_amount(money: Option<&common::Money>, currency: &str) -> Result<Decimal, String> {
    let Some(money) = money else { return Err("Required".to_owned()) };
    let given = money.currency.trim();
    if !given.is_empty() && given != currency {
        return Err(format!("Must be in the currency of its invoice or schedule, {currency}"));
    }
    let amount = money
        .amount
        .trim()
        .parse::<Decimal>()
        .map_err(|_| "Must be a decimal number, e.g. 29.99".to_owned())?;
    let code = Currency::parse(currency).unwrap_or(Currency::Usd);
    if amount.normalize().scale() > code.minor_digits() {
        return Err(format!("Must have at most {} decimal places", code.minor_digits()));
    }
    Money::new(amount.abs(), code).within_limit()?;
    Ok(amount)
}

/// A quantity: 1 to 1,000,000; unset is 1.
pub(crate) fn qty(value: Option<i32>) -> Result<i32, String> {
    match value {
        None => Ok(1),
        Some(q) if (1..=MAX_QTY).contains(&q) => Ok(q),
        Some(_) => Err(format!("Must be a whole number from 1 to {MAX_QTY}")),
    }
}

/// A line item given on the wire (under `fields`' prefix), in `currency`.
pub(crate) fn new_item(fields: &mut Fields<'_>, item: pb::LineItem, currency: &str) -> Option<NewItem> {
    let pb::LineItem {
        id: _,
        invoice_id: _,
        entry_type,
        r#type,
        description: text,
        amount,
        qty: count,
        total: _,
        incurred_date,
        transaction_id: _,
        attrs: custom,
        livemode: _,
        create_time: _,
        update_time: _,
        allocations: _,
        payer_id,
    } = item;
    let entry = match pb::LineItemEntryType::try_from(entry_type) {
        Ok(pb::LineItemEntryType::Unspecified | pb::LineItemEntryType::Charge) => Some(Entry::Charge),
        Ok(pb::LineItemEntryType::Payment) => Some(Entry::Payment),
        Err(_) => {
            fields.push("entry_type", "Must be charge or payment");
            None
        }
    };
    let kind = fields.take("type", kind(&r#type));
    let description = fields.take("description", description(&text));
    let amount = fields.take("amount", unit_amount(amount.as_ref(), currency));
    let qty = fields.take("qty", qty(count));
    let incurred_date = fields.take("incurred_date", date(&incurred_date));
    let attrs = fields.take("attrs", attrs(custom));
    let payer_id = fields.take("payer_id", wire::optional_id((!payer_id.is_empty()).then_some(&payer_id)));
    if matches!((entry, payer_id), (Some(Entry::Charge), Some(Some(_)))) {
        fields.push(
            "payer_id",
            "Only a payment item names the payer that paid; a charge is divided by its allocations",
        );
    }
    let (entry, kind, description, amount, qty, incurred_date, attrs, payer_id) =
        (entry?, kind?, description?, amount?, qty?, incurred_date?, attrs?, payer_id?);
    Some(NewItem {
        entry,
        kind,
        description,
        amount,
        qty,
        total: line_total(amount, qty),
        incurred_date,
        attrs,
        transaction_id: None,
        parts: Vec::new(),
        payer_id,
    })
}

/// A payer's part of an item as given on the wire, not yet found among
/// the invoice's payers.
#[derive(Clone, Debug)]
pub(crate) struct GivenPart {
    /// The invoice payer, if named by id.
    pub(crate) payer_id: Option<Uuid>,
    /// The payer's customer account, if named so.
    pub(crate) account_id: Option<Uuid>,
    /// Its part.
    pub(crate) amount: Decimal,
}

/// The custom parts of an item given on the wire (under `fields`' prefix,
/// as `allocations[i]`), in `currency`.
pub(crate) fn given_parts(
    fields: &mut Fields<'_>,
    given: &[pb::ItemAllocation],
    currency: &str,
) -> Vec<GivenPart> {
    if given.len() > MAX_PAYERS {
        fields.push("allocations", format!("At most {MAX_PAYERS} parts, one per payer"));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, part) in given.iter().enumerate() {
        let at = |name: &str| format!("allocations[{i}].{name}");
        let id = |raw: &str| wire::optional_id((!raw.trim().is_empty()).then_some(raw));
        let payer_id = fields.take(&at("payer_id"), id(&part.payer_id));
        let account_id = fields.take(&at("account_id"), id(&part.account_id));
        if matches!((payer_id, account_id), (Some(None), Some(None))) {
            fields.push(&at("account_id"), "Required: the payer's customer account (or its payer_id)");
        }
        if part.r#type != 0 && part.r#type != pb::ItemAllocationType::Custom as i32 {
            fields.push(&at("type"), "A part given is custom; auto parts follow from the others");
        }
        let amount = match part.amount.as_ref() {
            Some(m) if !m.amount.trim().is_empty() => {
                fields.take(&at("amount"), unit_amount(Some(m), currency))
            }
            _ => {
                fields.push(&at("amount"), "Required: the payer's part of the item");
                None
            }
        };
        if let (Some(payer_id), Some(account_id), Some(amount)) = (payer_id, account_id, amount) {
            out.push(GivenPart { payer_id, account_id, amount });
        }
    }
    out
}

/// Places `item` among an invoice's `payers` (problems under `fields`'
/// prefix): a payment item's payer must be one of them; a charge's custom
/// parts, `given`, are each for one of them, of the item's sign, and
/// together at most its total.
pub(crate) fn place_item(
    fields: &mut Fields<'_>,
    payers: &[Payer],
    item: &mut NewItem,
    given: Vec<GivenPart>,
) {
    if let Some(payer) = item.payer_id
        && item.entry == Entry::Payment
        && !payers.iter().any(|p| p.id == payer)
    {
        fields.push("payer_id", "Not a payer of the invoice");
    }
    item.parts = parts(fields, payers, (item.entry, item.total), given);
}

/// The custom parts `given` of an item of `entry` and `total` among
/// `payers` (problems under `fields`' prefix, as `allocations`).
pub(crate) fn parts(
    fields: &mut Fields<'_>,
    payers: &[Payer],
    (entry, total): (Entry, Decimal),
    given: Vec<GivenPart>,
) -> Vec<Share> {
    if given.is_empty() {
        return Vec::new();
    }
    if entry == Entry::Payment {
        fields.push("allocations", "Only a charge is divided among payers; a payment names its payer_id");
        return Vec::new();
    }
    let mut parts: Vec<Share> = Vec::new();
    for (i, part) in given.into_iter().enumerate() {
        let found = payers.iter().find(|p| {
            part.payer_id.is_some_and(|id| id == p.id) || part.account_id.is_some_and(|id| id == p.account_id)
        });
        let Some(payer) = found else {
            let name = if part.payer_id.is_some() { "payer_id" } else { "account_id" };
            fields.push(
                &format!("allocations[{i}].{name}"),
                "Not a payer of the invoice: name it in its payers",
            );
            continue;
        };
        if parts.iter().any(|s| s.payer_id == payer.id) {
            fields.push(&format!("allocations[{i}]"), "Names a payer twice: one part per payer");
            continue;
        }
        parts.push(Share {
            payer_id: payer.id,
            account_id: payer.account_id,
            amount: part.amount,
            kind: Kind::Custom,
        });
    }
    let amounts: Vec<Decimal> = parts.iter().map(|s| s.amount).collect();
    if let Some(why) = payers::refusal(total, &amounts) {
        fields.push("allocations", why);
    }
    parts
}

/// A billing charge given on the wire (under `fields`' prefix), in
/// `currency`.
pub(crate) fn new_charge(
    fields: &mut Fields<'_>,
    charge: pb::BillingCharge,
    currency: &str,
) -> Option<NewItem> {
    let pb::BillingCharge {
        id: _,
        billing_schedule_id: _,
        r#type,
        description: text,
        amount,
        qty: count,
        total: _,
        attrs: custom,
        livemode: _,
        create_time: _,
        update_time: _,
        start_date,
    } = charge;
    let kind = fields.take("type", kind(&r#type));
    let start_date = fields.take("start_date", date(&start_date));
    let description = fields.take("description", description(&text));
    let amount = fields.take("amount", unit_amount(amount.as_ref(), currency));
    let qty = fields.take("qty", qty(count));
    let attrs = fields.take("attrs", attrs(custom));
    let (kind, description, amount, qty, attrs, start_date) =
        (kind?, description?, amount?, qty?, attrs?, start_date?);
    Some(NewItem {
        entry: Entry::Charge,
        kind,
        description,
        amount,
        qty,
        total: line_total(amount, qty),
        // A charge's first day.
        incurred_date: start_date,
        attrs,
        transaction_id: None,
        parts: Vec::new(),
        payer_id: None,
    })
}

/// A billing contact given on the wire; none when every part is empty.
pub(crate) fn contact(fields: &mut Fields<'_>, contact: Option<pb::BillingContact>) -> Option<Option<Value>> {
    let Some(pb::BillingContact { name, email, street_address1, city, state_province, postal_code }) =
        contact
    else {
        return Some(None);
    };
    let mut ok = true;
    let mut out = Map::new();
    for (key, value, max) in [
        ("name", name, 200),
        ("street_address1", street_address1, 200),
        ("city", city, 100),
        ("state_province", state_province, 100),
        ("postal_code", postal_code, 20),
    ] {
        if value.chars().count() > max {
            fields.push(&format!("billing_contact.{key}"), format!("Must be at most {max} characters"));
            ok = false;
        } else if !value.is_empty() {
            out.insert(key.to_owned(), Value::String(value));
        }
    }
    if !email.is_empty() {
        match paymesh_kit::values::Email::parse(&email) {
            Ok(email) => {
                out.insert("email".to_owned(), Value::String(email.as_str().to_owned()));
            }
            Err(why) => {
                fields.push("billing_contact.email", why);
                ok = false;
            }
        }
    }
    ok.then(|| (!out.is_empty()).then_some(Value::Object(out)))
}

/// The billing days given on the wire.
pub(crate) fn given_days(schedule: &pb::BillingSchedule) -> GivenDays {
    let quarter = |q: Option<&pb::QuarterDay>| q.map_or((None, None), |q| (q.billing_month, q.billing_day));
    GivenDays {
        bimonthly: schedule
            .bimonthly
            .as_ref()
            .map_or([None, None], |b| [b.first_billing_day, b.second_billing_day]),
        monthly: schedule.monthly.as_ref().and_then(|m| m.billing_day),
        quarterly: schedule.quarterly.as_ref().map_or([(None, None); 4], |q| {
            [quarter(q.q1.as_ref()), quarter(q.q2.as_ref()), quarter(q.q3.as_ref()), quarter(q.q4.as_ref())]
        }),
        annually: schedule.annually.as_ref().map_or((None, None), |a| (a.billing_month, a.billing_day)),
    }
}
