//! `/payment_intents`: drafted payments, priced — and the processing
//! settings they are priced with (`/processing_settings` for the
//! partner's own, `/processing_accounts/{id}/processing_settings` for one
//! account's).
//!
//! Shapes as in the payment intents reference: `payer`, `recipient` and
//! `payment_method` as `{"id": …}`; amounts as `{"value": 100, "currency":
//! "USD"}`; `fees` lines with `type`, `amount` and `rate`; statuses in
//! capitals. `PUT` with `{"status": "CANCELED"}` (or `DELETE`) cancels.

use axum::{
    Extension, Json,
    extract::{Path, State},
    routing::get,
};
use http::Method;
use paymesh_kit::json::decimal_json;
use paymesh_proto::{
    common::v1 as common,
    intents::v1::{self as pb},
};
use prost_types::FieldMask;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::{
    AppState,
    auth::Caller,
    body::{RequestBody, Shape},
    error::ApiError,
    fields::Reader,
    openapi::{self, Operation, Routes, schema_ref},
    resources::accounts::{PAYOUT_METHODS, word},
    rest::{self, Call, Collection, Listed, Object, Offers, Parsed, Purpose, Reply, attrs_json, timestamp},
};

/// The payment intents collection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PaymentIntents;

/// Money as REST shows it: `{"value": 102.9, "currency": "USD"}`.
fn money(m: Option<common::Money>) -> Value {
    m.map_or(Value::Null, |m| {
        let value = m.amount.parse::<Decimal>().map_or(Value::String(m.amount.clone()), decimal_json);
        json!({"value": value, "currency": m.currency})
    })
}

const FEE_TYPES: &[(&str, i32)] = &[
    ("SERVICE_FEE", pb::FeeType::ServiceFee as i32),
    ("EXPEDITED_PROCESSING_FEE", pb::FeeType::ExpeditedProcessingFee as i32),
    ("EXPEDITED_HANDLING_FEE", pb::FeeType::ExpeditedHandlingFee as i32),
    ("DELIVERY_FEE", pb::FeeType::DeliveryFee as i32),
];

const STATUSES: &[(&str, i32)] = &[
    ("INCOMPLETE", pb::PaymentIntentStatus::Incomplete as i32),
    ("CAPTURABLE", pb::PaymentIntentStatus::Capturable as i32),
    ("EXPIRED", pb::PaymentIntentStatus::Expired as i32),
    ("CAPTURED", pb::PaymentIntentStatus::Captured as i32),
    ("CANCELED", pb::PaymentIntentStatus::Canceled as i32),
];

const FUNDING_TYPES: &[(&str, i32)] = &[
    ("credit", pb::FundingType::Credit as i32),
    ("debit", pb::FundingType::Debit as i32),
    ("bank_account", pb::FundingType::BankAccount as i32),
];

fn fees(lines: Vec<pb::Fee>) -> Value {
    Value::Array(
        lines
            .into_iter()
            .map(|f| {
                let rate = if f.rate.is_empty() { Value::Null } else { Value::String(f.rate) };
                json!({"amount": money(f.amount), "type": word(FEE_TYPES, f.r#type), "rate": rate})
            })
            .collect(),
    )
}

fn reference(id: Option<String>) -> Value {
    id.map_or(Value::Null, |id| json!({"id": id}))
}

fn to_json(i: pb::PaymentIntent) -> Object {
    let details = i.details.unwrap_or_default();
    rest::object(json!({
        "id": i.id,
        "object": "payment_intent",
        "fees": fees(i.fees),
        "source_amount": money(i.source_amount),
        "target_amount": money(i.target_amount),
        "payment_method": reference(i.payment_method_id),
        "recipient": reference(i.recipient_id),
        "payer": reference(i.payer_id),
        "details": {
            "account_name": details.account_name,
            "account_number": details.account_number,
            "memo": details.memo,
        },
        "status": word(STATUSES, i.status),
        "status_reasons": i.status_reasons.into_iter()
            .map(|r| json!({"code": r.code, "field": r.field, "message": r.message}))
            .collect::<Vec<_>>(),
        "delivery_date": i.delivery_date,
        "is_expedited": i.is_expedited,
        "speed": rest::text_or_null(i.speed),
        "created_at": timestamp(i.create_time),
        "modified_at": timestamp(i.update_time),
        "expires_at": timestamp(i.expire_time),
        "delivery_options": i.delivery_options.into_iter().map(|o| json!({
            "cutoff_time": timestamp(o.cutoff_time),
            "delivery_date": o.delivery_date,
            "fees": fees(o.fees),
            "speed": o.speed,
            "expedited": o.expedited,
            "source_amount": money(o.source_amount),
        })).collect::<Vec<_>>(),
        "fee": money(i.fee),
        "cust_conv_fee": money(i.cust_conv_fee),
        "funding_type": word(FUNDING_TYPES, i.funding_type),
        "payout_method": word(PAYOUT_METHODS, i.payout_method),
        "transaction_id": i.transaction_id,
        "livemode": i.livemode,
        "attrs": attrs_json(i.attrs),
    }))
}

/// `{"id": …}` (or null) naming a payer, recipient or method.
fn read_reference(r: &mut Reader<'_>, key: &str, value: Value) -> Option<Option<String>> {
    match value {
        Value::Null => Some(None),
        Value::Object(mut map) => {
            for other in map.keys().filter(|k| *k != "id") {
                r.problem(&format!("{key}.{other}"), "Unknown attribute");
            }
            match map.remove("id") {
                Some(Value::String(id)) => Some(Some(id)),
                Some(Value::Null) | None => Some(None),
                Some(_) => {
                    r.problem(&format!("{key}.id"), "Must be a string");
                    None
                }
            }
        }
        _ => {
            r.problem(key, "Must be an object with an id, or null");
            None
        }
    }
}

fn from_json(object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::PaymentIntent>, Object> {
    let mut r = Reader::new(purpose);
    let mut m = pb::PaymentIntent::default();
    let mut id = String::new();
    let mut custom = None;
    for (key, mut value) in object {
        if r.common(&key, &mut value, &["payment_intent"], "payment_intent", &mut id, &mut custom) {
            continue;
        }
        match key.as_str() {
            "payer" | "recipient" | "payment_method" => {
                if let Some(reference) = read_reference(&mut r, &key, value) {
                    match key.as_str() {
                        "payer" => m.payer_id = reference,
                        "recipient" => m.recipient_id = reference,
                        _ => m.payment_method_id = reference,
                    }
                    r.changed(&format!("{key}_id"));
                }
            }
            "target_amount" => match value {
                Value::Null => r.changed("target_amount"),
                Value::Object(parts) => {
                    let mut amount = common::Money::default();
                    for (part, value) in parts {
                        let path = format!("target_amount.{part}");
                        match part.as_str() {
                            "value" => {
                                if let Some(number) = r.number(&path, value) {
                                    amount.amount = number;
                                }
                            }
                            "currency" => {
                                if let Some(code) = r.text(&path, value) {
                                    amount.currency = code;
                                }
                            }
                            _ => r.unknown(&path),
                        }
                    }
                    if amount.amount.is_empty() {
                        r.problem("target_amount.value", "Required");
                    }
                    if amount.currency.is_empty() {
                        r.problem("target_amount.currency", "Required");
                    }
                    m.target_amount = Some(amount);
                    r.changed("target_amount");
                }
                _ => r.problem("target_amount", "Must be an object: {\"value\": 100, \"currency\": \"USD\"}"),
            },
            "details" => {
                let Some(parts) = r.object(&key, value) else { continue };
                let details = m.details.get_or_insert_with(Default::default);
                for (part, value) in parts {
                    let path = format!("details.{part}");
                    let slot = match part.as_str() {
                        "account_name" => &mut details.account_name,
                        "account_number" => &mut details.account_number,
                        "memo" => &mut details.memo,
                        _ => {
                            r.unknown(&path);
                            continue;
                        }
                    };
                    if let Some(text) = r.nullable(&path, value) {
                        *slot = text;
                        r.changed(&path);
                    }
                }
            }
            "delivery_date" => {
                if let Some(date) = r.nullable(&key, value) {
                    m.delivery_date = date;
                    r.changed("delivery_date");
                }
            }
            "is_expedited" => {
                if let Some(expedited) = r.boolean(&key, value) {
                    m.is_expedited = expedited;
                    r.changed("is_expedited");
                }
            }
            "status" if !purpose.creates() => match value.as_str() {
                Some("CANCELED") => {
                    m.status = pb::PaymentIntentStatus::Canceled as i32;
                    r.changed("status");
                }
                _ => r.read_only(&key, value),
            },
            "status" | "fees" | "source_amount" | "status_reasons" | "expires_at" | "delivery_options"
            | "fee" | "cust_conv_fee" | "funding_type" | "payout_method" | "speed" | "transaction_id" => {
                r.read_only(&key, value)
            }
            _ => r.unknown(&key),
        }
    }
    m.id = id.clone();
    m.attrs = custom;
    r.finish(m, &id)
}

impl Collection for PaymentIntents {
    type Item = pb::PaymentIntent;

    fn object(&self) -> &'static str {
        "payment_intent"
    }

    fn path(&self) -> &'static str {
        "/payment_intents"
    }

    fn not_found(&self) -> ApiError {
        ApiError::not_found("Payment intent not found")
    }

    fn render(&self, intent: pb::PaymentIntent) -> Object {
        to_json(intent)
    }

    fn parse(&self, object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::PaymentIntent>, Object> {
        from_json(object, purpose)
    }

    fn offers(&self) -> Offers {
        Offers::ALL
    }

    fn get<'a>(&'a self, state: &'a AppState, caller: &'a Caller, id: String) -> Call<'a, pb::PaymentIntent> {
        Box::pin(async move {
            let request = caller.grpc(pb::GetPaymentIntentRequest { id });
            let intent = state.payment_intents.clone().get_payment_intent(request).await?;
            intent.into_inner().payment_intent.ok_or_else(|| tonic::Status::not_found("no intent"))
        })
    }

    fn list<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        query: common::ListQuery,
    ) -> Call<'a, Listed<pb::PaymentIntent>> {
        Box::pin(async move {
            let request = caller.grpc(pb::ListPaymentIntentsRequest { query: Some(query) });
            let pb::ListPaymentIntentsResponse { payment_intents, computed, groups } =
                state.payment_intents.clone().list_payment_intents(request).await?.into_inner();
            Ok(Listed { items: payment_intents, computed, groups })
        })
    }

    rest::grpc_create! {
        client: payment_intents, item: pb::PaymentIntent, field: payment_intent, plural: payment_intents,
        one: create_payment_intent(pb::CreatePaymentIntentRequest), many: batch_create_payment_intents(pb::BatchCreatePaymentIntentsRequest),
    }

    fn update<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        items: Vec<(pb::PaymentIntent, Vec<String>)>,
        many: bool,
    ) -> Call<'a, Vec<pb::PaymentIntent>> {
        Box::pin(async move {
            let mut client = state.payment_intents.clone();
            // Two calls could half succeed: a request cancels, or changes,
            // never both.
            let cancels = items.iter().filter(|(_, paths)| paths.iter().any(|p| p == "status")).count();
            if cancels > 0 && items.iter().any(|(_, paths)| paths.len() > 1) {
                return Err(cancel_alone());
            }
            if cancels > 0 && cancels < items.len() {
                return Err(paymesh_kit::Error::invalid(
                    "requests",
                    "Cancel every intent of a list, or none: change the others in a request of their own",
                )
                .into());
            }
            let mut ids: Vec<String> = items.iter().map(|(intent, _)| intent.id.clone()).collect();
            // Without a change the service answers 400 (nothing named).
            match (cancels > 0, many) {
                (true, true) => {
                    let request = caller.grpc(pb::BatchCancelPaymentIntentsRequest { ids });
                    Ok(client.batch_cancel_payment_intents(request).await?.into_inner().payment_intents)
                }
                (true, false) => {
                    let request =
                        caller.grpc(pb::CancelPaymentIntentRequest { id: ids.pop().unwrap_or_default() });
                    Ok(client
                        .cancel_payment_intent(request)
                        .await?
                        .into_inner()
                        .payment_intent
                        .into_iter()
                        .collect())
                }
                (false, many) => {
                    let mut requests: Vec<pb::UpdatePaymentIntentRequest> = items
                        .into_iter()
                        .map(|(intent, paths)| pb::UpdatePaymentIntentRequest {
                            payment_intent: Some(intent),
                            update_mask: Some(FieldMask { paths }),
                        })
                        .collect();
                    if many {
                        let request = caller.grpc(pb::BatchUpdatePaymentIntentsRequest { requests });
                        Ok(client.batch_update_payment_intents(request).await?.into_inner().payment_intents)
                    } else {
                        let request = caller.grpc(requests.pop().unwrap_or_default());
                        let updated = client.update_payment_intent(request).await?.into_inner();
                        Ok(updated.payment_intent.into_iter().collect())
                    }
                }
            }
        })
    }

    fn update_by_query<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        filters: Vec<common::Filter>,
        (intent, paths): (pb::PaymentIntent, Vec<String>),
    ) -> Call<'a, Vec<pb::PaymentIntent>> {
        Box::pin(async move {
            let mut client = state.payment_intents.clone();
            if paths.iter().any(|p| p == "status") {
                if paths.len() > 1 {
                    return Err(cancel_alone());
                }
                let request = caller.grpc(pb::CancelPaymentIntentsByQueryRequest { filters });
                return Ok(client
                    .cancel_payment_intents_by_query(request)
                    .await?
                    .into_inner()
                    .payment_intents);
            }
            let request = caller.grpc(pb::UpdatePaymentIntentsByQueryRequest {
                filters,
                payment_intent: Some(intent),
                update_mask: Some(FieldMask { paths }),
            });
            Ok(client.update_payment_intents_by_query(request).await?.into_inner().payment_intents)
        })
    }

    rest::grpc_delete! {
        client: payment_intents, item: pb::PaymentIntent, field: payment_intent, plural: payment_intents,
        one: cancel_payment_intent(pb::CancelPaymentIntentRequest), many: batch_cancel_payment_intents(pb::BatchCancelPaymentIntentsRequest), query: cancel_payment_intents_by_query(pb::CancelPaymentIntentsByQueryRequest),
    }
}

/// A cancel sent with other changes.
fn cancel_alone() -> tonic::Status {
    paymesh_kit::Error::invalid(
        "payment_intent.status",
        "Cancel with {\"status\": \"CANCELED\"} alone, without other changes",
    )
    .into()
}

/// The settings fields, as REST and the wire name them.
const SETTINGS_FIELDS: &[&str] = &[
    "credit_trans_rate",
    "credit_trans_cost",
    "credit_conv_fee_alloc",
    "debit_trans_rate",
    "debit_trans_cost",
    "debit_conv_fee_alloc",
    "bank_account_trans_rate",
    "bank_account_trans_cost",
    "bank_account_conv_fee_alloc",
];

fn settings_slot<'a>(s: &'a mut pb::ProcessingSettings, name: &str) -> Option<&'a mut Option<String>> {
    Some(match name {
        "credit_trans_rate" => &mut s.credit_trans_rate,
        "credit_trans_cost" => &mut s.credit_trans_cost,
        "credit_conv_fee_alloc" => &mut s.credit_conv_fee_alloc,
        "debit_trans_rate" => &mut s.debit_trans_rate,
        "debit_trans_cost" => &mut s.debit_trans_cost,
        "debit_conv_fee_alloc" => &mut s.debit_conv_fee_alloc,
        "bank_account_trans_rate" => &mut s.bank_account_trans_rate,
        "bank_account_trans_cost" => &mut s.bank_account_trans_cost,
        "bank_account_conv_fee_alloc" => &mut s.bank_account_conv_fee_alloc,
        _ => return None,
    })
}

fn number_json(text: &str) -> Value {
    text.parse::<Decimal>().map_or(Value::String(text.to_owned()), decimal_json)
}

fn settings_json(mut s: pb::ProcessingSettings) -> Value {
    let mut object = Map::new();
    object.insert("object".into(), json!("processing_settings"));
    object.insert("processing_id".into(), rest::text_or_null(std::mem::take(&mut s.processing_id)));
    for name in SETTINGS_FIELDS {
        let value =
            settings_slot(&mut s, name).and_then(|v| v.take()).map_or(Value::Null, |v| number_json(&v));
        object.insert((*name).to_owned(), value);
    }
    object.insert(
        "expedite_fees".into(),
        Value::Array(
            s.expedite_fees
                .into_iter()
                .map(|e| {
                    json!({
                        "payout_method": word(PAYOUT_METHODS, e.payout_method),
                        "speed": e.speed,
                        "rate": number_json(&e.rate),
                        "handling_fee": number_json(&e.handling_fee),
                        "delivery_fee": number_json(&e.delivery_fee),
                    })
                })
                .collect(),
        ),
    );
    object.insert("billing_preference".into(), rest::text_or_null(s.billing_preference.unwrap_or_default()));
    object.insert("overridden".into(), json!(s.overridden));
    Value::Object(object)
}

/// The settings message and mask of a `PUT` body.
fn settings_from_json(
    processing_id: String,
    body: Object,
) -> Result<(pb::ProcessingSettings, Vec<String>), Object> {
    let mut r = Reader::new(Purpose::Update { path_id: "" });
    let mut s = pb::ProcessingSettings { processing_id, ..Default::default() };
    let mut paths = Vec::new();
    for (key, value) in body {
        match key.as_str() {
            "expedite_fees" => {
                let Value::Array(items) = value else {
                    r.problem(
                        &key,
                        "Must be a list of {payout_method, speed, rate, handling_fee, delivery_fee}",
                    );
                    continue;
                };
                for (i, item) in items.into_iter().enumerate() {
                    let at = format!("expedite_fees[{i}]");
                    let Some(parts) = r.object(&at, item) else { continue };
                    let mut fee = pb::ExpediteFee::default();
                    for (part, value) in parts {
                        let path = format!("{at}.{part}");
                        match part.as_str() {
                            "payout_method" => {
                                fee.payout_method = r.choice(&path, value, PAYOUT_METHODS).unwrap_or_default()
                            }
                            "speed" => fee.speed = r.text(&path, value).unwrap_or_default(),
                            "rate" => fee.rate = r.number(&path, value).unwrap_or_default(),
                            "handling_fee" => fee.handling_fee = r.number(&path, value).unwrap_or_default(),
                            "delivery_fee" => fee.delivery_fee = r.number(&path, value).unwrap_or_default(),
                            _ => r.unknown(&path),
                        }
                    }
                    s.expedite_fees.push(fee);
                }
                paths.push(key);
            }
            "billing_preference" => {
                s.billing_preference = match value {
                    Value::Null => None,
                    value => Some(r.text("billing_preference", value).unwrap_or_default()),
                };
                paths.push(key);
            }
            "object" | "processing_id" | "overridden" => {}
            name => match (settings_slot(&mut s, name), value) {
                (Some(slot), Value::Null) => {
                    *slot = None;
                    paths.push(key);
                }
                (Some(slot), value) => {
                    if let Some(number) = r.number(name, value) {
                        *slot = Some(number);
                        paths.push(key);
                    }
                }
                (None, _) => r.unknown(name),
            },
        }
    }
    r.finish((s, paths), "").map(|parsed| parsed.message)
}

async fn get_settings(state: &AppState, caller: &Caller, processing_id: String) -> Reply {
    let request = caller.grpc(pb::GetProcessingSettingsRequest { processing_id });
    let reply = state.pricing.clone().get_processing_settings(request).await;
    let settings = reply.map_err(|e| settings_error(&e))?.into_inner().settings.unwrap_or_default();
    Ok(Json(settings_json(settings)))
}

async fn put_settings(state: &AppState, caller: &Caller, processing_id: String, body: RequestBody) -> Reply {
    let Shape::Object(object) = body.shape()? else {
        return Err(ApiError::bad_request("Processing settings take one object, not a list"));
    };
    let (settings, paths) = settings_from_json(processing_id, object).map_err(ApiError::invalid)?;
    let request = caller.grpc(pb::UpdateProcessingSettingsRequest {
        settings: Some(settings),
        update_mask: Some(FieldMask { paths }),
    });
    let reply = state.pricing.clone().update_processing_settings(request).await;
    let settings = reply.map_err(|e| settings_error(&e))?.into_inner().settings.unwrap_or_default();
    Ok(Json(settings_json(settings)))
}

fn settings_error(status: &tonic::Status) -> ApiError {
    if status.code() == tonic::Code::NotFound {
        return ApiError::not_found("Processing account not found");
    }
    ApiError::from_status(status, "settings")
}

/// The routes of payment intents and processing settings.
pub(crate) fn routes() -> Routes {
    let settings = schema_ref("processing_settings");
    let body = openapi::inferred("processing_settings");
    let example = json!({"cust_conv_fee_card_rate": 0.029, "billing_preference": "netted_daily"});
    let get_op = |id: &str, summary: &str| {
        Operation::new(Method::GET, id, summary).tag("processing_settings").reply(settings.clone())
    };
    let put_op = |id: &str, summary: &str| {
        Operation::new(Method::PUT, id, summary)
            .tag("processing_settings")
            .describe(
                "The rates and fees to change; `null` clears one so the partner's (or the platform's) \
                 applies again. `overridden` lists what is set at this level.",
            )
            .body(body.clone(), Some(example.clone()))
            .reply(settings.clone())
    };
    rest::routes(PaymentIntents)
        .route(
            "/processing_settings",
            get(|state: State<AppState>, caller: Extension<Caller>| async move {
                get_settings(&state, &caller, String::new()).await
            })
            .put(|state: State<AppState>, caller: Extension<Caller>, body: RequestBody| async move {
                put_settings(&state, &caller, String::new(), body).await
            }),
            [
                get_op("get_processing_settings", "Get the partner's processing settings"),
                put_op("update_processing_settings", "Update the partner's processing settings"),
            ],
        )
        .route(
            "/processing_accounts/{id}/processing_settings",
            get(|state: State<AppState>, caller: Extension<Caller>, id: Path<String>| async move {
                get_settings(&state, &caller, id.0).await
            })
            .put(
                |state: State<AppState>, caller: Extension<Caller>, id: Path<String>, body: RequestBody| async move {
                    put_settings(&state, &caller, id.0, body).await
                },
            ),
            [
                get_op("get_account_processing_settings", "Get a processing account's settings"),
                put_op("update_account_processing_settings", "Update a processing account's settings"),
            ],
        )
        .schema("processing_settings", openapi::inferred("processing_settings"))
}
