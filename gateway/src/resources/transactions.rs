//! `/transactions` and `/transaction_ledgers`: payments, refunds and voids,
//! and the links between them.
//!
//! Shapes as in the Payload reference: `amount`, `fee` and `cust_conv_fee`
//! as numbers with `currency` beside them; lower-case `type`, `status`,
//! `funding_status` and `risk_flag`. A transaction's `ledger` (the entries
//! linking it to refunds, voids and deposits) is a non-default attribute:
//! reads show it when `fields` names it (`fields=*,ledger`); writes answer
//! it always. A refund is `{"type": "refund", "amount": …, "ledger": [{"assoc_transaction_id": …}]}`;
//! `PUT {"status": "processed"}` captures and `{"status": "voided"}` voids.
//! A declined payment answers 400 `TransactionDeclined` with the declined
//! transaction in `details`. `Idempotency-Key` on POST makes retries safe.

use paymesh_kit::json::decimal_json;
use paymesh_proto::{
    common::v1 as common,
    payments::v1::{self as pb},
};
use prost_types::FieldMask;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tonic_types::{ErrorDetails, StatusExt as _};

use crate::{
    AppState,
    auth::Caller,
    error::ApiError,
    fields::Reader,
    openapi::Routes,
    resources::accounts::{PAYOUT_METHODS, word},
    rest::{self, Call, Collection, Listed, Object, Offers, Parsed, Purpose, attrs_json, timestamp},
};

const TYPES: &[(&str, i32)] = &[
    ("payment", pb::TransactionType::Payment as i32),
    ("refund", pb::TransactionType::Refund as i32),
    ("deposit", pb::TransactionType::Deposit as i32),
    ("reversal", pb::TransactionType::Reversal as i32),
    ("chargeback", pb::TransactionType::Chargeback as i32),
    ("chargeback_reversal", pb::TransactionType::ChargebackReversal as i32),
];

const STATUSES: &[(&str, i32)] = &[
    ("authorized", pb::TransactionStatus::Authorized as i32),
    ("processing", pb::TransactionStatus::Processing as i32),
    ("processed", pb::TransactionStatus::Processed as i32),
    ("declined", pb::TransactionStatus::Declined as i32),
    ("voided", pb::TransactionStatus::Voided as i32),
    ("rejected", pb::TransactionStatus::Rejected as i32),
];

const FUNDING: &[(&str, i32)] = &[
    ("pending", pb::FundingStatus::Pending as i32),
    ("captured", pb::FundingStatus::Captured as i32),
    ("batched", pb::FundingStatus::Batched as i32),
    ("refunded", pb::FundingStatus::Refunded as i32),
    ("reversed", pb::FundingStatus::Reversed as i32),
];

const RISK_FLAGS: &[(&str, i32)] = &[
    ("allowed", pb::RiskFlag::Allowed as i32),
    ("in_review", pb::RiskFlag::InReview as i32),
    ("denied", pb::RiskFlag::Denied as i32),
];

/// A decimal string as a JSON number.
fn number(text: &str) -> Value {
    text.parse::<Decimal>().map_or(Value::Null, decimal_json)
}

fn amount(m: Option<&common::Money>) -> Value {
    m.map_or(Value::Null, |m| number(&m.amount))
}

fn link_json(l: pb::TransactionLedger) -> Object {
    rest::object(json!({
        "id": l.id,
        "object": "transaction_ledger",
        "transaction_id": l.transaction_id,
        "assoc_transaction_id": l.assoc_transaction_id,
        "amount": amount(l.amount.as_ref()),
        "currency": l.amount.map(|m| m.currency),
        "entry_type": l.entry_type,
        "livemode": l.livemode,
        "attrs": attrs_json(l.attrs),
        "created_at": timestamp(l.create_time),
        "modified_at": timestamp(l.update_time),
    }))
}

fn to_json(t: pb::Transaction) -> Object {
    let currency = t.amount.as_ref().map(|m| m.currency.clone());
    rest::object(json!({
        "id": t.id,
        "object": "transaction",
        "type": word(TYPES, t.r#type),
        "status": word(STATUSES, t.status),
        "status_code": rest::text_or_null(t.status_code),
        "status_message": rest::text_or_null(t.status_message),
        "amount": amount(t.amount.as_ref()),
        "currency": currency,
        "fee": amount(t.fee.as_ref()),
        "cust_conv_fee": amount(t.cust_conv_fee.as_ref()),
        "delivery_fee": amount(t.delivery_fee.as_ref()),
        "refunded_amount": amount(t.refunded_amount.as_ref()),
        "funding_status": word(FUNDING, t.funding_status),
        "risk_score": if t.risk_score.is_empty() { Value::Null } else { number(&t.risk_score) },
        "risk_flag": word(RISK_FLAGS, t.risk_flag),
        "customer_id": t.customer_id,
        "payment_method_id": t.payment_method_id,
        "processing_id": t.processing_id,
        "payment_intent_id": t.payment_intent_id,
        "description": t.description,
        "order_number": t.order_number,
        "connector": t.connector,
        "ledger": t.ledger.into_iter().map(|l| Value::Object(link_json(l))).collect::<Vec<_>>(),
        "prior_attempt_ids": t.prior_attempt_ids,
        "settled_at": timestamp(t.settle_time),
        "delivery_date": t.delivery_date,
        "payout_method": word(PAYOUT_METHODS, t.payout_method),
        "livemode": t.livemode,
        "attrs": attrs_json(t.attrs),
        "created_at": timestamp(t.create_time),
        "modified_at": timestamp(t.update_time),
    }))
}

fn from_json(object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::Transaction>, Object> {
    let mut r = Reader::new(purpose);
    let mut m = pb::Transaction::default();
    let mut id = String::new();
    let mut custom = None;
    let mut value_of_amount = None;
    let mut currency = None;
    for (key, mut value) in object {
        if r.common(
            &key,
            &mut value,
            &["transaction", "payment", "refund"],
            "transaction",
            &mut id,
            &mut custom,
        ) {
            continue;
        }
        match key.as_str() {
            "type" if purpose.creates() => {
                if let Some(kind) = r.choice(&key, value, TYPES) {
                    m.r#type = kind;
                }
            }
            "status" => {
                let allowed: &[(&str, i32)] = if purpose.creates() {
                    &[
                        ("authorized", pb::TransactionStatus::Authorized as i32),
                        ("processed", pb::TransactionStatus::Processed as i32),
                    ]
                } else {
                    &[
                        ("processed", pb::TransactionStatus::Processed as i32),
                        ("voided", pb::TransactionStatus::Voided as i32),
                    ]
                };
                if purpose.updates_one()
                    && !value.as_str().is_some_and(|v| allowed.iter().any(|(w, _)| *w == v))
                {
                    r.read_only(&key, value);
                    continue;
                }
                if let Some(status) = r.choice(&key, value, allowed) {
                    m.status = status;
                    r.changed("status");
                }
            }
            "amount" if purpose.creates() => value_of_amount = r.number(&key, value),
            "currency" if purpose.creates() => currency = r.text(&key, value),
            "customer_id" | "payment_method_id" | "processing_id" | "payment_intent_id"
                if purpose.creates() =>
            {
                if let Some(given) = r.nullable(&key, value) {
                    match key.as_str() {
                        "customer_id" => m.customer_id = given,
                        "payment_method_id" => m.payment_method_id = given,
                        "processing_id" => m.processing_id = given,
                        _ => m.payment_intent_id = given,
                    }
                }
            }
            "description" | "order_number" => {
                if let Some(given) = r.nullable(&key, value) {
                    if key == "description" {
                        m.description = given;
                    } else {
                        m.order_number = given;
                    }
                    r.changed(&key);
                }
            }
            "ledger" if purpose.creates() => {
                let items = match value {
                    Value::Array(items) => items,
                    // A form's `ledger[0][…]` arrives as an object keyed by index.
                    Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
                    _ => {
                        r.problem(&key, "Must be a list of {assoc_transaction_id}");
                        continue;
                    }
                };
                for (i, item) in items.into_iter().enumerate() {
                    let at = format!("ledger[{i}]");
                    let Some(parts) = r.object(&at, item) else { continue };
                    let mut link = pb::TransactionLedger::default();
                    for (part, value) in parts {
                        let path = format!("{at}.{part}");
                        match part.as_str() {
                            "assoc_transaction_id" => {
                                link.assoc_transaction_id = r.text(&path, value).unwrap_or_default()
                            }
                            _ => r.unknown(&path),
                        }
                    }
                    m.ledger.push(link);
                }
            }
            "payment_method" if purpose.creates() => {
                let Some(parts) = r.object(&key, value) else { continue };
                match super::payment_methods::inline(parts) {
                    Ok(method) => m.payment_method = Some(method),
                    Err(problems) => r.nested_problems(&key, problems),
                }
            }
            "type" | "amount" | "currency" | "customer_id" | "payment_method_id" | "processing_id"
            | "payment_intent_id" | "ledger" | "status_code" | "status_message" | "fee" | "cust_conv_fee"
            | "refunded_amount" | "funding_status" | "risk_score" | "risk_flag" | "connector"
            | "prior_attempt_ids" | "settled_at" | "payment_method" | "delivery_fee" | "delivery_date"
            | "payout_method" => r.read_only(&key, value),
            _ => r.unknown(&key),
        }
    }
    if let Some(value) = value_of_amount.filter(|v| !v.is_empty()) {
        m.amount =
            Some(common::Money { amount: value, currency: currency.unwrap_or_else(|| "USD".to_owned()) });
    }
    m.id = id.clone();
    m.attrs = custom;
    r.finish(m, &id)
}

/// The transactions collection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Transactions;

impl Transactions {
    /// A decline, with the declined transaction rendered into its details.
    async fn declined(state: &AppState, caller: &Caller, status: tonic::Status) -> tonic::Status {
        let details = status.get_error_details();
        let Some(info) = details.error_info() else { return status };
        let Some(id) = info.metadata.get("transaction_id").cloned() else { return status };
        let request = caller.grpc(pb::GetTransactionRequest { id });
        let Ok(found) = state.transactions.clone().get_transaction(request).await else { return status };
        let Some(transaction) = found.into_inner().transaction else { return status };
        let mut metadata = info.metadata.clone();
        metadata.insert("transaction".to_owned(), Value::Object(to_json(transaction)).to_string());
        let mut enriched = ErrorDetails::new();
        enriched.set_error_info(info.reason.clone(), info.domain.clone(), metadata);
        tonic::Status::with_error_details(status.code(), status.message(), enriched)
    }
}

impl Collection for Transactions {
    type Item = pb::Transaction;

    fn object(&self) -> &'static str {
        "transaction"
    }

    fn path(&self) -> &'static str {
        "/transactions"
    }

    fn not_found(&self) -> ApiError {
        ApiError::not_found("Transaction not found")
    }

    fn render(&self, transaction: pb::Transaction) -> Object {
        to_json(transaction)
    }

    fn parse(&self, object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::Transaction>, Object> {
        from_json(object, purpose)
    }

    fn non_default(&self) -> &'static [&'static str] {
        &["ledger"]
    }

    fn offers(&self) -> Offers {
        Offers { delete: false, ..Offers::ONE }
    }

    fn why_one_at_a_time(&self) -> &'static str {
        ". A payment, capture or void goes to its processor and cannot be rolled back with the others, \
         so a list could not be all or none"
    }

    fn refusal(&self, method: &http::Method, one: bool) -> String {
        match (method.as_str(), one) {
            ("DELETE", _) => {
                "Transactions are never deleted: void a payment with {\"status\": \"voided\"}, or refund it"
                    .to_owned()
            }
            ("PUT", false) => format!(
                "PUT /transactions takes one object at a time: PUT /transactions/{{id}}{}",
                self.why_one_at_a_time()
            ),
            (other, _) => format!("{other} is not allowed on /transactions"),
        }
    }

    fn get<'a>(&'a self, state: &'a AppState, caller: &'a Caller, id: String) -> Call<'a, pb::Transaction> {
        Box::pin(async move {
            let request = caller.grpc(pb::GetTransactionRequest { id });
            let found = state.transactions.clone().get_transaction(request).await?;
            found.into_inner().transaction.ok_or_else(|| tonic::Status::not_found("no transaction"))
        })
    }

    fn list<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        mut query: common::ListQuery,
    ) -> Call<'a, Listed<pb::Transaction>> {
        Box::pin(async move {
            // The ledger is a join, not a column: fetched only for a
            // selection that shows it, and asked for by its own flag.
            let before = query.fields.len();
            query.fields.retain(|f| f.path.first().is_none_or(|p| p != "ledger"));
            let include_ledger = query.fields.len() < before;
            let request = caller.grpc(pb::ListTransactionsRequest { query: Some(query), include_ledger });
            let pb::ListTransactionsResponse { transactions, computed, groups } =
                state.transactions.clone().list_transactions(request).await?.into_inner();
            Ok(Listed { items: transactions, computed, groups })
        })
    }

    fn create<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        items: Vec<pb::Transaction>,
        _many: bool,
    ) -> Call<'a, Vec<pb::Transaction>> {
        Box::pin(async move {
            let transaction = items.into_iter().next().unwrap_or_default();
            let request = caller.grpc(pb::CreateTransactionRequest { transaction: Some(transaction) });
            match state.transactions.clone().create_transaction(request).await {
                Ok(created) => Ok(created.into_inner().transaction.into_iter().collect()),
                Err(status) if status.code() == tonic::Code::FailedPrecondition => {
                    Err(Self::declined(state, caller, status).await)
                }
                Err(status) => Err(status),
            }
        })
    }

    fn update<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        items: Vec<(pb::Transaction, Vec<String>)>,
        _many: bool,
    ) -> Call<'a, Vec<pb::Transaction>> {
        Box::pin(async move {
            let (transaction, paths) = items.into_iter().next().unwrap_or_default();
            let request = caller.grpc(pb::UpdateTransactionRequest {
                transaction: Some(transaction),
                update_mask: Some(FieldMask { paths }),
            });
            let updated = state.transactions.clone().update_transaction(request).await?;
            Ok(updated.into_inner().transaction.into_iter().collect())
        })
    }
}

/// The transaction ledger collection (read-only).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TransactionLedgers;

impl Collection for TransactionLedgers {
    type Item = pb::TransactionLedger;

    fn object(&self) -> &'static str {
        "transaction_ledger"
    }

    fn path(&self) -> &'static str {
        "/transaction_ledgers"
    }

    fn not_found(&self) -> ApiError {
        ApiError::not_found("Transaction ledger entry not found")
    }

    fn render(&self, link: pb::TransactionLedger) -> Object {
        link_json(link)
    }

    fn parse(&self, object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::TransactionLedger>, Object> {
        let mut r = Reader::new(purpose);
        for (key, _) in object {
            r.problem(&key, "Ledger entries are written by paymesh with the transactions they link");
        }
        r.finish(pb::TransactionLedger::default(), "")
    }

    fn offers(&self) -> Offers {
        Offers::READ
    }

    fn refusal(&self, method: &http::Method, _one: bool) -> String {
        if method == http::Method::POST {
            "Ledger entries are written with the transactions they link: create a refund with ledger[0][assoc_transaction_id]"
                .to_owned()
        } else {
            "Ledger entries are append-only".to_owned()
        }
    }

    fn get<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        id: String,
    ) -> Call<'a, pb::TransactionLedger> {
        Box::pin(async move {
            let request = caller.grpc(pb::GetTransactionLedgerRequest { id });
            let found = state.transactions.clone().get_transaction_ledger(request).await?;
            found.into_inner().transaction_ledger.ok_or_else(|| tonic::Status::not_found("no entry"))
        })
    }

    fn list<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        query: common::ListQuery,
    ) -> Call<'a, Listed<pb::TransactionLedger>> {
        Box::pin(async move {
            let request = caller.grpc(pb::ListTransactionLedgersRequest { query: Some(query) });
            let pb::ListTransactionLedgersResponse { transaction_ledgers, computed, groups } =
                state.transactions.clone().list_transaction_ledgers(request).await?.into_inner();
            Ok(Listed { items: transaction_ledgers, computed, groups })
        })
    }
}

/// The routes of transactions and their ledger.
pub(crate) fn routes() -> Routes {
    rest::routes(Transactions).merge(rest::routes(TransactionLedgers))
}
