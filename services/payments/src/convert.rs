//! The one mapping between the wire and the domain: requests read into
//! what they ask (every problem named by its path), transactions and
//! ledger links written back, and the data of their events.

use paymesh_kit::{
    Error,
    json::{self, timestamp},
    money::{Currency, Money},
    values::Attrs,
    wire::{self, Fields},
};
use paymesh_proto::{common::v1 as common, identity::v1 as id, methods::v1 as pm, payments::v1 as pb};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    connector::RiskFlag,
    domain::{
        Allocation, FundingStatus, Kind, Labels, LedgerLink, PayoutMethod, RefundRefusal, Status,
        StatusChange, Transaction,
    },
};

/// The longest description.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// The longest order number.
const MAX_ORDER_NUMBER_CHARS: usize = 100;

/// The field a refund names its payment by.
pub(crate) const REFUNDED_PAYMENT: &str = "transaction.ledger[0].assoc_transaction_id";

/// What a `CreateTransaction` asks for.
#[derive(Debug)]
pub(crate) enum NewTransaction {
    /// Charge (or authorize) a payment.
    Payment(PaymentRequest),
    /// Refund a payment.
    Refund(RefundRequest),
}

/// A payment asked for: what to charge, named one of four ways (a
/// payment method, a customer's default method, an intent, or a method
/// given inline for a customer).
#[derive(Debug)]
pub(crate) struct PaymentRequest {
    /// Authorize only, to capture later.
    pub(crate) authorize_only: bool,
    /// The amount (an intent's payment may leave it out).
    pub(crate) amount: Option<Money>,
    pub(crate) customer_id: Option<Uuid>,
    pub(crate) method_id: Option<Uuid>,
    pub(crate) processing_id: Option<Uuid>,
    pub(crate) intent_id: Option<Uuid>,
    /// A payment method given inline, stored for the customer first.
    pub(crate) inline_method: Option<Box<pm::PaymentMethod>>,
    pub(crate) labels: Labels,
    /// The invoices it pays.
    pub(crate) allocations: Vec<Allocation>,
    /// Made by automatic billing (only services may say so).
    pub(crate) automatic_billing: bool,
}

/// A refund asked for.
#[derive(Debug)]
pub(crate) struct RefundRequest {
    pub(crate) amount: Money,
    /// The payment refunded.
    pub(crate) payment_id: Uuid,
    pub(crate) labels: Labels,
}

/// What an `UpdateTransaction` asks of a transaction.
#[derive(Debug)]
pub(crate) enum Change {
    /// Capture or void it.
    Status(StatusChange),
    /// Relabel it: each `Some` replaces the label (with nothing, for
    /// `Some(None)`).
    Labels {
        description: Option<Option<String>>,
        order_number: Option<Option<String>>,
        attrs: Option<Map<String, Value>>,
    },
}

/// The parts of a transaction a partner gives; the rest paymesh makes.
struct Given {
    status: i32,
    amount: Option<common::Money>,
    customer_id: Option<String>,
    payment_method_id: Option<String>,
    processing_id: Option<String>,
    payment_intent_id: Option<String>,
    description: Option<String>,
    order_number: Option<String>,
    attrs: Option<prost_types::Struct>,
    ledger: Vec<pb::TransactionLedger>,
    payment_method: Option<pm::PaymentMethod>,
    allocations: Vec<pb::Allocation>,
    initiator: i32,
}

/// Reads a `CreateTransaction`'s transaction: a payment or a refund, or
/// every problem with it.
pub(crate) fn new_transaction(t: pb::Transaction) -> Result<NewTransaction, Error> {
    let pb::Transaction {
        r#type,
        status,
        amount,
        customer_id,
        payment_method_id,
        processing_id,
        payment_intent_id,
        description,
        order_number,
        attrs,
        ledger,
        payment_method,
        allocations,
        initiator,
        // Made by paymesh, never given (REST refuses them as read-only).
        id: _,
        settlement_held: _,
        status_code: _,
        status_message: _,
        fee: _,
        cust_conv_fee: _,
        funding_status: _,
        risk_score: _,
        risk_flag: _,
        refunded_amount: _,
        connector: _,
        livemode: _,
        create_time: _,
        update_time: _,
        prior_attempt_ids: _,
        settle_time: _,
        delivery_fee: _,
        delivery_date: _,
        payout_method: _,
        rejected_on: _,
    } = t;
    let given = Given {
        status,
        amount,
        customer_id,
        payment_method_id,
        processing_id,
        payment_intent_id,
        description,
        order_number,
        attrs,
        ledger,
        payment_method,
        allocations,
        initiator,
    };
    match pb::TransactionType::try_from(r#type) {
        Ok(pb::TransactionType::Payment) => payment(given).map(NewTransaction::Payment),
        Ok(pb::TransactionType::Refund) => refund(given).map(NewTransaction::Refund),
        Ok(pb::TransactionType::Unspecified) => {
            Err(Error::invalid("transaction.type", "Required: payment or refund"))
        }
        _ => Err(Error::invalid(
            "transaction.type",
            "Only payments and refunds can be created; deposits, reversals and chargebacks are made by paymesh",
        )),
    }
}

fn payment(mut t: Given) -> Result<PaymentRequest, Error> {
    let mut fields = Fields::new("transaction");
    let authorize_only = match pb::TransactionStatus::try_from(t.status) {
        Ok(pb::TransactionStatus::Unspecified | pb::TransactionStatus::Processed) => false,
        Ok(pb::TransactionStatus::Authorized) => true,
        _ => {
            fields.push("status", "On create: authorized (to capture later), or leave it out to charge now");
            false
        }
    };
    let amount = money(&mut fields, "amount", t.amount.as_ref());
    let customer_id = id_field(&mut fields, "customer_id", t.customer_id.as_ref());
    let method_id = id_field(&mut fields, "payment_method_id", t.payment_method_id.as_ref());
    let processing_id = id_field(&mut fields, "processing_id", t.processing_id.as_ref());
    let intent_id = id_field(&mut fields, "payment_intent_id", t.payment_intent_id.as_ref());
    let labels = labels(&mut fields, &mut t);
    if !t.ledger.is_empty() {
        fields.push("ledger", "Only refunds name an associated transaction");
    }
    let allocations = allocations(&mut fields, &t.allocations);
    let automatic_billing = match pb::PaymentInitiator::try_from(t.initiator) {
        Ok(pb::PaymentInitiator::Unspecified | pb::PaymentInitiator::Api) => false,
        Ok(pb::PaymentInitiator::AutomaticBilling) => true,
        Err(_) => {
            fields.push("initiator", "Must be api or automatic_billing");
            false
        }
    };
    let named = |raw: &Option<String>| raw.as_deref().is_some_and(|r| !r.trim().is_empty());
    if t.payment_method.is_some() {
        for (name, given) in
            [("payment_method_id", &t.payment_method_id), ("payment_intent_id", &t.payment_intent_id)]
        {
            if named(given) {
                fields.push(name, "Leave it out with an inline payment_method");
            }
        }
    } else if !named(&t.payment_method_id) && !named(&t.customer_id) && !named(&t.payment_intent_id) {
        fields.push(
            "payment_method_id",
            "Required: name a payment_method_id, a customer_id (its default method is charged), a \
             payment_intent_id, or give a payment_method",
        );
    }
    if t.amount.is_none() && !named(&t.payment_intent_id) {
        fields.push("amount", "Required");
    }
    if !fields.ok() {
        return Err(Error::InvalidAttributes(fields.into_violations()));
    }
    Ok(PaymentRequest {
        authorize_only,
        amount,
        customer_id,
        method_id,
        processing_id,
        intent_id,
        inline_method: t.payment_method.map(Box::new),
        labels,
        allocations,
        automatic_billing,
    })
}

/// The most invoices one payment pays.
const MAX_ALLOCATIONS: usize = 20;

/// A payment's allocations given on the wire.
fn allocations(fields: &mut Fields<'_>, given: &[pb::Allocation]) -> Vec<Allocation> {
    if given.len() > MAX_ALLOCATIONS {
        fields.push("allocations", format!("At most {MAX_ALLOCATIONS} invoices per payment"));
        return Vec::new();
    }
    let mut out: Vec<Allocation> = Vec::new();
    for (i, allocation) in given.iter().enumerate() {
        let pb::Allocation { invoice_id, amount, entry_type, invoice_payer_id } = allocation;
        let at = |name: &str| format!("allocations[{i}].{name}");
        if !matches!(
            pb::AllocationEntryType::try_from(*entry_type),
            Ok(pb::AllocationEntryType::Unspecified | pb::AllocationEntryType::Payment)
        ) {
            fields.push(&at("entry_type"), "An allocation is a payment item: payment");
        }
        let id = |raw: &String| paymesh_kit::wire::optional_id((!raw.trim().is_empty()).then_some(raw));
        let invoice = fields.take(&at("invoice_id"), id(invoice_id));
        let payer = fields.take(&at("invoice_payer_id"), id(invoice_payer_id));
        if let (Some(None), Some(None)) = (invoice, payer) {
            fields.push(&at("invoice_id"), "Required: the invoice paid (or its invoice_payer_id)");
        }
        let amount = match amount {
            Some(m) if !m.amount.trim().is_empty() => m
                .amount
                .trim()
                .parse::<Decimal>()
                .map_err(|_| fields.push(&at("amount"), "Must be a decimal number, e.g. 29.99"))
                .ok(),
            _ => None,
        };
        if let (Some(invoice_id), Some(payer_id)) = (invoice, payer) {
            if invoice_id.is_some() && out.iter().any(|a| a.invoice_id == invoice_id) {
                fields.push(&at("invoice_id"), "Named twice: one allocation per invoice");
            }
            if payer_id.is_some() && out.iter().any(|a| a.payer_id == payer_id) {
                fields.push(&at("invoice_payer_id"), "Named twice: one allocation per invoice payer");
            }
            out.push(Allocation { invoice_id, amount, payer_id });
        }
    }
    out
}

fn refund(mut t: Given) -> Result<RefundRequest, Error> {
    let mut fields = Fields::new("transaction");
    if t.status != pb::TransactionStatus::Unspecified as i32 {
        fields.push("status", "Refunds are processed at once; leave the status out");
    }
    let amount = money(&mut fields, "amount", t.amount.as_ref());
    if t.amount.is_none() {
        fields.push("amount", "Required");
    }
    if !t.allocations.is_empty() {
        fields.push(
            "allocations",
            "Only payments pay invoices; a refund owes its part of them again by itself",
        );
    }
    let required = "Required: the payment to refund";
    let payment_id = match t.ledger.as_slice() {
        [link] if link.assoc_transaction_id.trim().is_empty() => {
            fields.push("ledger[0].assoc_transaction_id", required);
            None
        }
        [link] => id_field(&mut fields, "ledger[0].assoc_transaction_id", Some(&link.assoc_transaction_id)),
        [] => {
            fields.push("ledger[0].assoc_transaction_id", required);
            None
        }
        _ => {
            fields.push("ledger", "A refund names one payment");
            None
        }
    };
    for (name, given) in [
        ("customer_id", &t.customer_id),
        ("payment_method_id", &t.payment_method_id),
        ("processing_id", &t.processing_id),
        ("payment_intent_id", &t.payment_intent_id),
    ] {
        if given.as_deref().is_some_and(|g| !g.trim().is_empty()) {
            fields.push(name, "A refund takes it from the payment it refunds; leave it out");
        }
    }
    let labels = labels(&mut fields, &mut t);
    match (amount, payment_id, fields.ok()) {
        (Some(amount), Some(payment_id), true) => Ok(RefundRequest { amount, payment_id, labels }),
        _ => Err(Error::InvalidAttributes(fields.into_violations())),
    }
}

/// Reads an `UpdateTransaction`: the transaction's id and the change the
/// update mask asks for. A status change stands alone.
pub(crate) fn change(request: pb::UpdateTransactionRequest) -> Result<(Uuid, Change), Error> {
    let pb::UpdateTransactionRequest { transaction, update_mask } = request;
    let t = transaction.unwrap_or_default();
    let id = wire::object_id(&t.id, || Error::NotFound { resource: "Transaction" })?;
    let paths = update_mask.map(|m| m.paths).unwrap_or_default();
    let mut fields = Fields::new("transaction");
    if paths.is_empty() {
        fields.push_path("update_mask", "Required: name the fields to change");
    }
    let mut status = None;
    let (mut description, mut order_number, mut attrs) = (None, None, None);
    for path in &paths {
        match path.as_str() {
            "status" => match pb::TransactionStatus::try_from(t.status) {
                Ok(pb::TransactionStatus::Processed) => status = Some(StatusChange::Capture),
                Ok(pb::TransactionStatus::Voided) => status = Some(StatusChange::Void),
                _ => fields.push("status", "Must be processed (to capture) or voided (to void)"),
            },
            "description" => {
                description =
                    Some(text(&mut fields, "description", t.description.clone(), MAX_DESCRIPTION_CHARS));
            }
            "order_number" => {
                order_number =
                    Some(text(&mut fields, "order_number", t.order_number.clone(), MAX_ORDER_NUMBER_CHARS));
            }
            "attrs" => attrs = fields.take("attrs", wire::attrs(t.attrs.clone())).map(Attrs::into_inner),
            other => fields.unchangeable(other, &["status", "description", "order_number", "attrs"]),
        }
    }
    if paths.iter().any(|p| p == "status") && paths.len() > 1 {
        fields.push_path("update_mask", "A status change stands alone; change other fields separately");
    }
    if !fields.ok() {
        return Err(Error::InvalidAttributes(fields.into_violations()));
    }
    let change = match status {
        Some(status) => Change::Status(status),
        None => Change::Labels { description, order_number, attrs },
    };
    Ok((id, change))
}

/// The error of a refused refund, on the field it concerns.
pub(crate) fn refund_refused(refusal: RefundRefusal) -> Error {
    match refusal {
        RefundRefusal::Payment(why) => Error::invalid(REFUNDED_PAYMENT, why),
        RefundRefusal::Currency(why) => Error::invalid("transaction.amount.currency", why),
        RefundRefusal::Amount(why) => Error::invalid("transaction.amount", why),
    }
}

/// An amount given on the wire. Payload's payments name no currency: they
/// are in dollars. Both parts are checked, so that one request names every
/// problem.
fn money(fields: &mut Fields<'_>, name: &str, money: Option<&common::Money>) -> Option<Money> {
    let money = money?;
    let code = if money.currency.trim().is_empty() { Currency::Usd.code() } else { money.currency.as_str() };
    let currency = fields.take(&format!("{name}.currency"), Currency::parse(code));
    let amount = fields.take(
        &format!("{name}.amount"),
        money
            .amount
            .trim()
            .parse::<Decimal>()
            .map_err(|_| "Must be a decimal number, e.g. \"100.00\"".to_owned()),
    )?;
    let checked =
        fields.take(&format!("{name}.amount"), Money::positive(amount, currency.unwrap_or(Currency::Usd)));
    currency.and(checked)
}

/// A label: trimmed, `None` when empty, at most `max` characters.
fn text(fields: &mut Fields<'_>, name: &str, value: Option<String>, max: usize) -> Option<String> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())?;
    if value.chars().count() > max {
        fields.push(name, format!("Must be at most {max} characters"));
        return None;
    }
    Some(value)
}

fn id_field(fields: &mut Fields<'_>, name: &str, raw: Option<&String>) -> Option<Uuid> {
    fields.take(name, wire::optional_id(raw.map(String::as_str))).flatten()
}

/// Reads the labels of `t`, recording their problems in `fields`.
fn labels(fields: &mut Fields<'_>, t: &mut Given) -> Labels {
    Labels {
        description: text(fields, "description", t.description.take(), MAX_DESCRIPTION_CHARS),
        order_number: text(fields, "order_number", t.order_number.take(), MAX_ORDER_NUMBER_CHARS),
        attrs: fields.take("attrs", wire::attrs(t.attrs.take())).map(Attrs::into_inner).unwrap_or_default(),
    }
}

const fn kind(k: Kind) -> pb::TransactionType {
    match k {
        Kind::Payment => pb::TransactionType::Payment,
        Kind::Refund => pb::TransactionType::Refund,
        Kind::Deposit => pb::TransactionType::Deposit,
        Kind::Reversal => pb::TransactionType::Reversal,
        Kind::Chargeback => pb::TransactionType::Chargeback,
        Kind::ChargebackReversal => pb::TransactionType::ChargebackReversal,
    }
}

const fn status(s: Status) -> pb::TransactionStatus {
    match s {
        Status::Pending => pb::TransactionStatus::Pending,
        Status::Authorized => pb::TransactionStatus::Authorized,
        Status::Processing => pb::TransactionStatus::Processing,
        Status::Processed => pb::TransactionStatus::Processed,
        Status::Declined => pb::TransactionStatus::Declined,
        Status::Voided => pb::TransactionStatus::Voided,
        Status::Rejected => pb::TransactionStatus::Rejected,
    }
}

const fn funding(f: FundingStatus) -> pb::FundingStatus {
    match f {
        FundingStatus::Pending => pb::FundingStatus::Pending,
        FundingStatus::Captured => pb::FundingStatus::Captured,
        FundingStatus::Batched => pb::FundingStatus::Batched,
        FundingStatus::Refunded => pb::FundingStatus::Refunded,
        FundingStatus::Reversed => pb::FundingStatus::Reversed,
    }
}

const fn risk_flag(flag: RiskFlag) -> pb::RiskFlag {
    match flag {
        RiskFlag::Allowed => pb::RiskFlag::Allowed,
        RiskFlag::InReview => pb::RiskFlag::InReview,
        RiskFlag::Denied => pb::RiskFlag::Denied,
    }
}

/// A ledger link on the wire.
pub(crate) fn link_to_proto(l: &LedgerLink) -> pb::TransactionLedger {
    pb::TransactionLedger {
        id: l.id.to_string(),
        transaction_id: l.transaction_id.to_string(),
        assoc_transaction_id: l.assoc_transaction_id.to_string(),
        amount: Some(l.amount.to_proto()),
        entry_type: l.entry_type.as_str().to_owned(),
        attrs: Some(json::to_struct(l.attrs.clone())),
        livemode: l.livemode,
        create_time: Some(timestamp(l.created_at)),
        update_time: Some(timestamp(l.created_at)),
    }
}

/// A transaction on the wire.
pub(crate) fn to_proto(t: &Transaction) -> pb::Transaction {
    let id = |id: Option<Uuid>| id.map(|id| id.to_string());
    pb::Transaction {
        id: t.id.to_string(),
        r#type: kind(t.kind) as i32,
        status: status(t.status) as i32,
        status_code: t.status_code.clone(),
        status_message: t.status_message.clone(),
        amount: Some(t.amount.to_proto()),
        fee: Some(t.fee.to_proto()),
        cust_conv_fee: Some(t.cust_conv_fee.to_proto()),
        funding_status: funding(t.funding) as i32,
        risk_score: t.risk.map(|r| r.score.to_string()).unwrap_or_default(),
        risk_flag: t.risk.map_or(pb::RiskFlag::Unspecified, |r| risk_flag(r.flag)) as i32,
        customer_id: id(t.customer_id),
        payment_method_id: id(t.payment_method_id),
        processing_id: id(t.processing_id),
        description: t.description.clone(),
        order_number: t.order_number.clone(),
        attrs: Some(json::to_struct(t.attrs.clone())),
        payment_intent_id: id(t.payment_intent_id),
        ledger: t.ledger.iter().map(link_to_proto).collect(),
        refunded_amount: Some(Money::new(t.refunded, t.amount.currency).to_proto()),
        connector: t.connector.clone(),
        livemode: t.livemode,
        create_time: Some(timestamp(t.created_at)),
        update_time: Some(timestamp(t.modified_at)),
        payment_method: None,
        prior_attempt_ids: t.prior_attempts.iter().map(ToString::to_string).collect(),
        settle_time: t.settled_at.map(timestamp),
        delivery_fee: Some(t.delivery_fee.to_proto()),
        delivery_date: t.delivery_date.map(|d| d.to_string()),
        payout_method: t.payout_method.map_or(id::PayoutMethod::Unspecified, PayoutMethod::to_proto) as i32,
        rejected_on: t.rejected_on.map(|d| d.to_string()),
        allocations: t
            .allocations
            .iter()
            .map(|a| pb::Allocation {
                invoice_id: a.invoice_id.map(|id| id.to_string()).unwrap_or_default(),
                amount: a.amount.map(|amount| Money::new(amount, t.amount.currency).to_proto()),
                entry_type: pb::AllocationEntryType::Payment as i32,
                invoice_payer_id: a.payer_id.map(|id| id.to_string()).unwrap_or_default(),
            })
            .collect(),
        initiator: if t.automatic_billing {
            pb::PaymentInitiator::AutomaticBilling
        } else {
            pb::PaymentInitiator::Api
        } as i32,
        settlement_held: t.settlement_held,
    }
}

/// The data of a transaction's event: amounts, status and ids, nothing of
/// the payment method's numbers.
pub(crate) fn event_data(t: &Transaction) -> Value {
    serde_json::json!({
        "id": t.id,
        "type": t.kind.as_str(),
        "status": t.status.as_str(),
        "status_code": t.status_code,
        "amount": t.amount.to_proto().amount,
        "fee": t.fee.to_proto().amount,
        "cust_conv_fee": t.cust_conv_fee.to_proto().amount,
        "delivery_fee": t.delivery_fee.to_proto().amount,
        "delivery_date": t.delivery_date.map(|d| d.to_string()),
        "payout_method": t.payout_method.map(PayoutMethod::as_str),
        "currency": t.amount.currency.code(),
        "funding_status": t.funding.as_str(),
        "customer_id": t.customer_id,
        "payment_method_id": t.payment_method_id,
        "processing_id": t.processing_id,
        "payment_intent_id": t.payment_intent_id,
        "ledger": t.ledger.iter().map(|l| serde_json::json!({
            "assoc_transaction_id": l.assoc_transaction_id,
            "entry_type": l.entry_type.as_str(),
            "amount": l.amount.to_proto().amount,
        })).collect::<Vec<_>>(),
        "allocations": Allocation::to_json(&t.allocations),
        "initiator": if t.automatic_billing { "automatic_billing" } else { "api" },
        "settlement_held": t.settlement_held,
    })
}
