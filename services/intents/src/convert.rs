//! The one mapping between the wire (`paymesh.intents.v1`) and the service.
//!
//! Problems are named with the REST spelling of the attribute under
//! `payment_intent` (`payment_intent.payer.id`,
//! `payment_intent.target_amount.value`), so the gateway's error details
//! read like the request a partner sent.

use chrono::{DateTime, NaiveDate, Utc};
use paymesh_kit::{
    Error,
    json::timestamp,
    money::Money,
    values::{Attrs, Description},
    wire::{self, Fields},
};
use paymesh_proto::{identity::v1 as id, intents::v1 as pb};
use uuid::Uuid;

use crate::{
    domain::{
        delivery::{DeliveryOption, PayoutMethod},
        intent::Status,
        pricing::{
            BillingPreference, ExpediteFee, FeeKind, FeeLine, Field, FundingType, Overrides, Settings,
        },
    },
    store::{Details, Intent},
};

/// What the partner controls of an intent; the rest is computed.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Draft {
    pub(crate) payer_id: Option<Uuid>,
    pub(crate) recipient_id: Option<Uuid>,
    pub(crate) payment_method_id: Option<Uuid>,
    pub(crate) target: Option<Money>,
    pub(crate) details: Details,
    pub(crate) requested_date: Option<NaiveDate>,
    pub(crate) is_expedited: bool,
    pub(crate) attrs: Attrs,
}

impl Draft {
    /// The partner's part of a stored intent.
    pub(crate) fn of(intent: &Intent) -> Self {
        Self {
            payer_id: intent.payer_id,
            recipient_id: intent.recipient_id,
            payment_method_id: intent.payment_method_id,
            target: intent.target,
            details: intent.details.clone(),
            requested_date: intent.requested_date,
            is_expedited: intent.is_expedited,
            attrs: Attrs::from_stored(intent.attrs.clone()),
        }
    }
}

/// The attributes an update may name.
const UPDATABLE: &[&str] = &[
    "payer_id",
    "recipient_id",
    "payment_method_id",
    "target_amount",
    "details",
    "details.account_name",
    "details.account_number",
    "details.memo",
    "delivery_date",
    "is_expedited",
    "attrs",
];

fn target(fields: &mut Fields<'_>, money: &paymesh_proto::common::v1::Money) -> Option<Money> {
    let parsed = match Money::from_proto(money) {
        Ok(money) => money,
        Err((part, why)) => {
            fields.push(&format!("target_amount.{}", if part == "amount" { "value" } else { part }), why);
            return None;
        }
    };
    fields.take("target_amount.value", Money::positive(parsed.amount, parsed.currency))
}

fn detail(raw: Option<String>) -> Result<Option<String>, String> {
    wire::optional(raw, |v| Description::parse(v.trim()).map(|d| d.as_str().to_owned()))
}

fn date(raw: Option<&str>) -> Result<Option<NaiveDate>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| "Must be a date as YYYY-MM-DD".to_owned()),
    }
}

/// Reads the pieces of `intent` named by `names` (every piece on create)
/// over `draft`.
fn read_into(draft: &mut Draft, intent: pb::PaymentIntent, names: &[&str]) -> Result<(), Error> {
    let mut fields = Fields::new("payment_intent");
    let named = |name: &str| names.contains(&name);
    // Every field named, so that a new one cannot be forgotten here.
    let pb::PaymentIntent {
        id: _,
        payer_id,
        recipient_id,
        payment_method_id,
        target_amount,
        details,
        delivery_date,
        is_expedited,
        attrs,
        // Computed by the service; never read from a request.
        source_amount: _,
        fees: _,
        status: _,
        status_reasons: _,
        delivery_options: _,
        expire_time: _,
        create_time: _,
        update_time: _,
        livemode: _,
        fee: _,
        cust_conv_fee: _,
        funding_type: _,
        payout_method: _,
        speed: _,
        transaction_id: _,
    } = intent;
    let details = details.unwrap_or_default();
    for name in names {
        match *name {
            "payer_id" => {
                draft.payer_id = fields.take("payer.id", wire::optional_id(payer_id.as_deref())).flatten()
            }
            "recipient_id" => {
                draft.recipient_id =
                    fields.take("recipient.id", wire::optional_id(recipient_id.as_deref())).flatten();
            }
            "payment_method_id" => {
                draft.payment_method_id = fields
                    .take("payment_method.id", wire::optional_id(payment_method_id.as_deref()))
                    .flatten();
            }
            "target_amount" => draft.target = target_amount.as_ref().and_then(|m| target(&mut fields, m)),
            "delivery_date" => {
                draft.requested_date = fields.take("delivery_date", date(delivery_date.as_deref())).flatten();
            }
            "is_expedited" => draft.is_expedited = is_expedited,
            "attrs" => {
                if let Some(attrs) = fields.take("attrs", wire::attrs(attrs.clone())) {
                    draft.attrs = attrs;
                }
            }
            "details" | "details.account_name" | "details.account_number" | "details.memo" => {}
            other => fields.unchangeable(other, UPDATABLE),
        }
    }
    let whole = named("details");
    if whole || named("details.account_name") {
        draft.details.account_name =
            fields.take("details.account_name", detail(details.account_name)).flatten();
    }
    if whole || named("details.account_number") {
        draft.details.account_number =
            fields.take("details.account_number", detail(details.account_number)).flatten();
    }
    if whole || named("details.memo") {
        draft.details.memo = fields.take("details.memo", detail(details.memo)).flatten();
    }
    if fields.ok() { Ok(()) } else { Err(Error::InvalidAttributes(fields.into_violations())) }
}

/// The draft of a create request.
pub(crate) fn draft(intent: Option<pb::PaymentIntent>) -> Result<Draft, Error> {
    let mut draft = Draft::default();
    let all = [
        "payer_id",
        "recipient_id",
        "payment_method_id",
        "target_amount",
        "details",
        "delivery_date",
        "is_expedited",
        "attrs",
    ];
    read_into(&mut draft, intent.unwrap_or_default(), &all)?;
    Ok(draft)
}

/// `current` with an update applied. Returns whether a delivery date was
/// named (and must then be one of the options).
pub(crate) fn updated(
    current: Draft,
    intent: pb::PaymentIntent,
    mask: Option<prost_types::FieldMask>,
) -> Result<(Draft, bool), Error> {
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        return Err(Error::invalid("update_mask", "Name at least one attribute to change"));
    }
    let names: Vec<&str> = paths.iter().map(String::as_str).collect();
    let mut draft = current;
    read_into(&mut draft, intent, &names)?;
    let date_named = names.contains(&"delivery_date");
    // Expedited without a date: the fastest option, not a date chosen earlier.
    if names.contains(&"is_expedited") && !date_named {
        draft.requested_date = None;
    }
    Ok((draft, date_named))
}

/// The wire form of a fee line.
pub(crate) fn fee(line: &FeeLine, currency: paymesh_kit::money::Currency) -> pb::Fee {
    let kind = match line.kind {
        FeeKind::ServiceFee => pb::FeeType::ServiceFee,
        FeeKind::ExpeditedProcessing => pb::FeeType::ExpeditedProcessingFee,
        FeeKind::ExpeditedHandling => pb::FeeType::ExpeditedHandlingFee,
        FeeKind::Delivery => pb::FeeType::DeliveryFee,
    };
    pb::Fee {
        r#type: kind as i32,
        amount: Some(Money::new(line.amount, currency).to_proto()),
        rate: line.rate_text(),
    }
}

/// The wire form of a delivery option priced with `fees` and `source`.
pub(crate) fn option(
    option: &DeliveryOption,
    fees: &[FeeLine],
    source: Option<Money>,
    currency: paymesh_kit::money::Currency,
) -> pb::DeliveryOption {
    pb::DeliveryOption {
        delivery_date: option.date.to_string(),
        cutoff_time: Some(timestamp(option.cutoff)),
        fees: fees.iter().map(|l| fee(l, currency)).collect(),
        speed: option.speed.clone(),
        expedited: option.expedited,
        source_amount: source.map(Money::to_proto),
    }
}

/// The wire form of an intent, its status as it reads at `now`.
pub(crate) fn to_proto(intent: &Intent, now: DateTime<Utc>) -> pb::PaymentIntent {
    let currency = intent.target.map(|m| m.currency).unwrap_or(paymesh_kit::money::Currency::Usd);
    let status = match intent.status.at(now, intent.expires_at) {
        Status::Incomplete => pb::PaymentIntentStatus::Incomplete,
        Status::Capturable => pb::PaymentIntentStatus::Capturable,
        Status::Expired => pb::PaymentIntentStatus::Expired,
        Status::Captured => pb::PaymentIntentStatus::Captured,
        Status::Canceled => pb::PaymentIntentStatus::Canceled,
    };
    pb::PaymentIntent {
        id: intent.id.to_string(),
        payer_id: intent.payer_id.map(|i| i.to_string()),
        recipient_id: intent.recipient_id.map(|i| i.to_string()),
        payment_method_id: intent.payment_method_id.map(|i| i.to_string()),
        target_amount: intent.target.map(Money::to_proto),
        source_amount: intent.source.map(Money::to_proto),
        fees: intent.fees.iter().map(|l| fee(l, currency)).collect(),
        details: Some(pb::Details {
            account_name: intent.details.effective_account_name().map(str::to_owned),
            account_number: intent.details.account_number.clone(),
            memo: intent.details.memo.clone(),
        }),
        status: status as i32,
        status_reasons: intent
            .reasons
            .iter()
            .map(|r| pb::StatusReason {
                code: r.code.clone(),
                field: r.field.clone(),
                message: r.message.clone(),
            })
            .collect(),
        delivery_date: intent.delivery_date.map(|d| d.to_string()),
        is_expedited: intent.is_expedited,
        delivery_options: intent
            .options
            .iter()
            .map(|o| option(&o.option, &o.fees, o.source, currency))
            .collect(),
        expire_time: Some(timestamp(intent.expires_at)),
        create_time: Some(timestamp(intent.created_at)),
        update_time: Some(timestamp(intent.modified_at)),
        livemode: intent.livemode,
        attrs: Some(paymesh_kit::json::to_struct(intent.attrs.clone())),
        fee: intent.fee.map(Money::to_proto),
        cust_conv_fee: intent.cust_conv_fee.map(Money::to_proto),
        funding_type: intent.funding.map_or(pb::FundingType::Unspecified, FundingType::to_proto) as i32,
        payout_method: intent.payout.map_or(id::PayoutMethod::Unspecified, PayoutMethod::to_proto) as i32,
        speed: intent.speed.clone().unwrap_or_default(),
        transaction_id: intent.transaction_id.map(|i| i.to_string()),
    }
}

/// The wire form of settings in force, with the fields set at this level.
pub(crate) fn settings_to_proto(
    processing_id: Option<Uuid>,
    settings: &Settings,
    here: &Overrides,
) -> pb::ProcessingSettings {
    let value =
        |f: &str| Field::parse(f).and_then(|f| settings.fields.get(&f)).map(|v| v.normalize().to_string());
    let mut overridden: Vec<String> = here.fields.keys().map(|f| f.name()).collect();
    overridden.extend(here.expedite.keys().map(|(p, s)| format!("expedite_fees.{}.{s}", p.as_str())));
    if here.billing.is_some() {
        overridden.push("billing_preference".to_owned());
    }
    pb::ProcessingSettings {
        processing_id: processing_id.map(|i| i.to_string()).unwrap_or_default(),
        credit_trans_rate: value("credit_trans_rate"),
        credit_trans_cost: value("credit_trans_cost"),
        credit_conv_fee_alloc: value("credit_conv_fee_alloc"),
        debit_trans_rate: value("debit_trans_rate"),
        debit_trans_cost: value("debit_trans_cost"),
        debit_conv_fee_alloc: value("debit_conv_fee_alloc"),
        bank_account_trans_rate: value("bank_account_trans_rate"),
        bank_account_trans_cost: value("bank_account_trans_cost"),
        bank_account_conv_fee_alloc: value("bank_account_conv_fee_alloc"),
        expedite_fees: settings
            .expedite
            .iter()
            .map(|((p, speed), fee)| pb::ExpediteFee {
                payout_method: p.to_proto() as i32,
                speed: speed.clone(),
                rate: fee.rate.normalize().to_string(),
                handling_fee: fee.handling_fee.to_string(),
                delivery_fee: fee.delivery_fee.to_string(),
            })
            .collect(),
        overridden,
        billing_preference: Some(settings.billing.as_str().to_owned()),
    }
}

fn settings_field(settings: &pb::ProcessingSettings, name: &str) -> Option<Option<String>> {
    Some(
        match name {
            "credit_trans_rate" => &settings.credit_trans_rate,
            "credit_trans_cost" => &settings.credit_trans_cost,
            "credit_conv_fee_alloc" => &settings.credit_conv_fee_alloc,
            "debit_trans_rate" => &settings.debit_trans_rate,
            "debit_trans_cost" => &settings.debit_trans_cost,
            "debit_conv_fee_alloc" => &settings.debit_conv_fee_alloc,
            "bank_account_trans_rate" => &settings.bank_account_trans_rate,
            "bank_account_trans_cost" => &settings.bank_account_trans_cost,
            "bank_account_conv_fee_alloc" => &settings.bank_account_conv_fee_alloc,
            _ => return None,
        }
        .clone(),
    )
}

/// `current` overrides with an update applied: each named field set, or
/// cleared when absent; `expedite_fees` sets each speed given (a speed
/// must exist in `speeds`).
pub(crate) fn settings_updated(
    current: Overrides,
    settings: &pb::ProcessingSettings,
    mask: Option<prost_types::FieldMask>,
    speeds: &crate::domain::delivery::Speeds,
) -> Result<Overrides, Error> {
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    let mut fields = Fields::new("settings");
    if paths.is_empty() {
        fields.push_path("update_mask", "Name at least one setting to change");
    }
    let mut overrides = current;
    for path in &paths {
        if path == "expedite_fees" {
            for (i, given) in settings.expedite_fees.iter().enumerate() {
                let at = format!("expedite_fees[{i}]");
                let Some(payout) = PayoutMethod::from_proto(given.payout_method) else {
                    fields.push(&format!("{at}.payout_method"), "Must be one of ach, wire, check, eft");
                    continue;
                };
                if !speeds.is_expedited(payout, &given.speed) {
                    fields.push(
                        &format!("{at}.speed"),
                        format!(
                            "Must be an expedited speed of {}: {}",
                            payout.as_str(),
                            speeds.expedited_names(payout).join(", ")
                        ),
                    );
                    continue;
                }
                let number = |name: &str, raw: &str, fields: &mut Fields<'_>| {
                    fields.take(
                        &format!("{at}.{name}"),
                        raw.trim().parse().map_err(|_| "Must be a decimal number".to_owned()),
                    )
                };
                let (Some(rate), Some(handling_fee), Some(delivery_fee)) = (
                    number("rate", &given.rate, &mut fields),
                    number("handling_fee", &given.handling_fee, &mut fields),
                    number("delivery_fee", &given.delivery_fee, &mut fields),
                ) else {
                    continue;
                };
                match (ExpediteFee { rate, handling_fee, delivery_fee }).check() {
                    Ok(fee) => {
                        overrides.expedite.insert((payout, given.speed.clone()), fee);
                    }
                    Err(problems) => {
                        for (name, why) in problems {
                            fields.push(&format!("{at}.{name}"), why);
                        }
                    }
                }
            }
            continue;
        }
        if path == "billing_preference" {
            match settings.billing_preference.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
                None => overrides.billing = None,
                Some(word) => match BillingPreference::parse(word) {
                    Some(preference) => overrides.billing = Some(preference),
                    None => fields.push(path, "Must be netted_daily or billed_monthly"),
                },
            }
            continue;
        }
        let (Some(field), Some(value)) = (Field::parse(path), settings_field(settings, path)) else {
            fields.unchangeable(
                path,
                &[
                    "credit_trans_rate",
                    "…_trans_cost",
                    "…_conv_fee_alloc",
                    "expedite_fees",
                    "billing_preference",
                ],
            );
            continue;
        };
        match value.filter(|v| !v.trim().is_empty()) {
            None => {
                overrides.fields.remove(&field);
            }
            Some(raw) => {
                let parsed = raw
                    .trim()
                    .parse()
                    .map_err(|_| "Must be a decimal number".to_owned())
                    .and_then(|v| field.check(v));
                if let Some(v) = fields.take(path, parsed) {
                    overrides.fields.insert(field, v);
                }
            }
        }
    }
    if fields.ok() { Ok(overrides) } else { Err(Error::InvalidAttributes(fields.into_violations())) }
}
