//! The payments operations: charge, authorize, capture, void, refund,
//! read; idempotent creation; settlement of bank payments.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use paymesh_kit::{
    Error, Violation,
    auth::{Principal, Scope},
    clock::Clock,
    config::ListLimits,
    idempotency::IdempotencyKeys,
    money::{Currency, Money},
    query::Listing,
    values::Attrs,
    wire::{self, Fields},
};
use paymesh_proto::{common::v1::ErrorReason, intents::v1 as pi, payments::v1 as pb};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::{
    connector::{Aftermath, Charge, Connector, Outcome},
    domain::{
        FundingStatus, Kind, MethodKind, PayoutMethod, Posting, Status as TxStatus, StatusChange,
        pays_out_on, refuse_change, settles_at, start_of_day,
    },
    peers::Peers,
    store::{LedgerLink, Store, Transaction},
};

/// The longest description.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// The longest order number.
const MAX_ORDER_NUMBER_CHARS: usize = 100;
/// Business days after acceptance when a bank payment settles.
/// The most methods a payment charged to a customer's default method
/// tries, the default included.
const MAX_CASCADE_ATTEMPTS: usize = 5;

/// Aftermaths applied per sweep at most (the rest wait for the next).
const SWEEP_BATCH: u32 = 200;

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Swept {
    /// Bank payments settled.
    pub(crate) settled: u64,
    /// Bank returns, chargebacks and chargeback reversals applied.
    pub(crate) aftermaths: u32,
    /// Deposits made.
    pub(crate) deposits: u32,
}

/// The payments service.
#[derive(Clone, Debug)]
pub(crate) struct Payments {
    pub(crate) store: Store,
    pub(crate) peers: Peers,
    /// The connector of test mode.
    pub(crate) test: Arc<dyn Connector>,
    /// The connector of live mode, if an operator configured one.
    pub(crate) live: Option<Arc<dyn Connector>>,
    pub(crate) clock: Clock,
    /// The idempotency keys of `CreateTransaction`.
    pub(crate) keys: IdempotencyKeys,
    pub(crate) limits: ListLimits,
}

fn money_of(
    fields: &mut Fields<'_>,
    name: &str,
    money: Option<&paymesh_proto::common::v1::Money>,
) -> Option<Money> {
    let money = money?;
    // Payload's payments name no currency: they are in dollars.
    let code = if money.currency.trim().is_empty() { Currency::Usd.code() } else { money.currency.as_str() };
    // Both parts are checked, so that one request names every problem.
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

/// What a partner labels a transaction with.
#[derive(Clone)]
struct Labels {
    description: Option<String>,
    order_number: Option<String>,
    attrs: serde_json::Map<String, serde_json::Value>,
}

/// Reads the labels of `t`, recording their problems in `fields`.
fn labels(fields: &mut Fields<'_>, t: &mut pb::Transaction) -> Labels {
    Labels {
        description: text(fields, "description", t.description.take(), MAX_DESCRIPTION_CHARS),
        order_number: text(fields, "order_number", t.order_number.take(), MAX_ORDER_NUMBER_CHARS),
        attrs: fields.take("attrs", wire::attrs(t.attrs.take())).map(Attrs::into_inner).unwrap_or_default(),
    }
}

/// A new transaction of `kind` for `amount` at `now`, handled by
/// `connector`, with the partner's labels. Its status is for the caller
/// to set.
fn draft(
    scope: Scope,
    kind: Kind,
    amount: Money,
    connector: &str,
    labels: Labels,
    now: DateTime<Utc>,
) -> Transaction {
    Transaction {
        description: labels.description,
        order_number: labels.order_number,
        attrs: labels.attrs,
        ..Transaction::new(scope.livemode, kind, amount, connector, now)
    }
}

/// What a new payment charges, once its pieces are resolved.
struct Plan {
    customer_id: Option<Uuid>,
    method_id: Uuid,
    kind: MethodKind,
    processing_id: Uuid,
    intent_id: Option<Uuid>,
    charged: Money,
    fee: Money,
    cust_conv_fee: Money,
    /// Intent payments: the payout to the recipient.
    payout: Option<IntentPayout>,
}

/// How and when an intent's recipient is paid, and what the payer paid
/// for the speed.
struct IntentPayout {
    delivery_fee: Money,
    delivery_date: NaiveDate,
    method: Option<PayoutMethod>,
}

impl Payments {
    fn connector(&self, scope: Scope) -> Result<&Arc<dyn Connector>, Error> {
        if !scope.livemode {
            return Ok(&self.test);
        }
        self.live.as_ref().ok_or_else(|| {
            Error::BadRequest(
                "Live payments are not enabled: this platform has no live payment connector configured. \
                 Nothing was charged."
                    .to_owned(),
            )
        })
    }

    /// Creates a payment or a refund.
    pub(crate) async fn create(
        &self,
        principal: &Principal,
        request: pb::CreateTransactionRequest,
    ) -> Result<pb::CreateTransactionResponse, Error> {
        principal.require_secret_key()?;
        let scope = principal.scope();
        let transaction = request.transaction.unwrap_or_default();
        let created = match pb::TransactionType::try_from(transaction.r#type) {
            Ok(pb::TransactionType::Payment) => self.pay(scope, transaction).await?,
            Ok(pb::TransactionType::Refund) => self.refund(scope, transaction).await?,
            Ok(pb::TransactionType::Unspecified) => {
                return Err(Error::invalid("transaction.type", "Required: payment or refund"));
            }
            _ => {
                return Err(Error::invalid(
                    "transaction.type",
                    "Only payments and refunds can be created; deposits, reversals and chargebacks are made \
                     by paymesh",
                ));
            }
        };
        Ok(pb::CreateTransactionResponse { transaction: Some(crate::convert::to_proto(&created)) })
    }

    async fn pay(&self, scope: Scope, mut t: pb::Transaction) -> Result<Transaction, Error> {
        let mut fields = Fields::new("transaction");
        let authorize_only = match pb::TransactionStatus::try_from(t.status) {
            Ok(pb::TransactionStatus::Unspecified | pb::TransactionStatus::Processed) => false,
            Ok(pb::TransactionStatus::Authorized) => true,
            _ => {
                fields.push(
                    "status",
                    "On create: authorized (to capture later), or leave it out to charge now",
                );
                false
            }
        };
        let amount = money_of(&mut fields, "amount", t.amount.as_ref());
        let customer_id = id_field(&mut fields, "customer_id", t.customer_id.as_ref());
        let method_id = id_field(&mut fields, "payment_method_id", t.payment_method_id.as_ref());
        let processing_id = id_field(&mut fields, "processing_id", t.processing_id.as_ref());
        let intent_id = id_field(&mut fields, "payment_intent_id", t.payment_intent_id.as_ref());
        let labels = labels(&mut fields, &mut t);
        if !t.ledger.is_empty() {
            fields.push("ledger", "Only refunds name an associated transaction");
        }
        let named = |raw: &Option<String>| raw.as_deref().is_some_and(|r| !r.trim().is_empty());
        let inline = t.payment_method.take();
        if inline.is_some() {
            if !named(&t.customer_id) {
                fields.push(
                    "customer_id",
                    "Required with an inline payment_method: the customer it is stored for",
                );
            }
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
        let connector = self.connector(scope)?;
        let method_id = match (inline, customer_id) {
            (Some(method), Some(customer)) => Some(self.peers.store_method(scope, customer, method).await?),
            _ => method_id,
        };
        let mut plan = match intent_id {
            Some(intent) => {
                self.plan_intent(scope, intent, amount, customer_id, method_id, processing_id).await?
            }
            None => self.plan_direct(scope, amount, customer_id, method_id, processing_id).await?,
        };
        // A customer named alone cascades: its default method first, then
        // its others, listed only once the default declines.
        let cascades = intent_id.is_none() && method_id.is_none();
        let mut others: Option<std::collections::VecDeque<Uuid>> = None;
        let mut prior = Vec::new();
        loop {
            match self.attempt(scope, connector, &plan, authorize_only, labels.clone(), &prior).await {
                Err(declined @ Error::Refused { id: transaction_id, .. }) => {
                    prior.push(transaction_id);
                    let (true, Some(customer)) = (cascades, customer_id) else { return Err(declined) };
                    let others = match others {
                        Some(ref mut others) => others,
                        None => {
                            let default = plan.method_id;
                            let listed = self.peers.methods_of(scope, customer).await?;
                            others.insert(
                                listed
                                    .into_iter()
                                    .filter(|m| *m != default)
                                    .take(MAX_CASCADE_ATTEMPTS - 1)
                                    .collect(),
                            )
                        }
                    };
                    plan = loop {
                        let Some(next) = others.pop_front() else { return Err(declined) };
                        match self.plan_direct(scope, amount, customer_id, Some(next), processing_id).await {
                            Ok(next) => break next,
                            Err(e) => {
                                tracing::warn!(method = %next, error = %e, "the cascade skipped a method");
                            }
                        }
                    };
                }
                other => return other,
            }
        }
    }

    /// Charges `plan` once: stores the payment approved (captured, or
    /// authorized only) or declined, with the declined attempts `prior`
    /// to it. A decline is `Error::Refused` naming the stored payment.
    async fn attempt(
        &self,
        scope: Scope,
        connector: &Arc<dyn Connector>,
        plan: &Plan,
        authorize_only: bool,
        labels: Labels,
        prior: &[Uuid],
    ) -> Result<Transaction, Error> {
        let now = self.clock.now();
        let mut transaction = Transaction {
            fee: plan.fee,
            cust_conv_fee: plan.cust_conv_fee,
            customer_id: plan.customer_id,
            payment_method_id: Some(plan.method_id),
            method_kind: Some(plan.kind),
            processing_id: Some(plan.processing_id),
            payment_intent_id: plan.intent_id,
            prior_attempts: prior.to_vec(),
            delivery_fee: plan.payout.as_ref().map_or(Money::zero(plan.charged.currency), |p| p.delivery_fee),
            delivery_date: plan.payout.as_ref().map(|p| p.delivery_date),
            payout_method: plan.payout.as_ref().and_then(|p| p.method),
            settled_at: None,
            rejected_on: None,
            ..draft(scope, Kind::Payment, plan.charged, connector.name(), labels, now)
        };
        let id = transaction.id;
        let instrument =
            self.peers.instrument(scope, plan.method_id, format!("authorize payment {id}")).await?;
        let charge = Charge { amount: plan.charged, instrument, today: now.date_naive() };
        let outcome = connector
            .authorize(&charge)
            .await
            .map_err(|e| Error::Unavailable { reason: e.to_string(), retry_after: None })?;
        match outcome {
            Outcome::Declined { code, risk } => {
                let zero = Money::zero(plan.charged.currency);
                transaction.status = TxStatus::Declined;
                transaction.funding = FundingStatus::Pending;
                transaction.status_code = code.as_str().to_owned();
                transaction.status_message = code.message().to_owned();
                transaction.risk_score = Some(risk.score);
                transaction.risk_flag = Some(risk.flag.as_str().to_owned());
                // A declined payment moves nothing and owes no fee.
                transaction.fee = zero;
                transaction.cust_conv_fee = zero;
                transaction.delivery_fee = zero;
                self.store.insert(scope, &transaction, None, "decline", Aftermath::None).await?;
                tracing::info!(transaction = %id, code = code.as_str(), "payment declined");
                Err(Error::Refused {
                    reason: ErrorReason::TransactionDeclined,
                    object: "transaction",
                    id,
                    code: code.as_str().to_owned(),
                    message: code.message().to_owned(),
                })
            }
            Outcome::Approved { authorization, risk } => {
                if let Some(intent) = plan.intent_id {
                    self.peers.capture_intent(scope, intent, id).await?;
                }
                transaction.risk_score = Some(risk.score);
                transaction.risk_flag = Some(risk.flag.as_str().to_owned());
                transaction.authorization_ref = Some(authorization);
                let posting = if authorize_only {
                    transaction.status = TxStatus::Authorized;
                    transaction.funding = FundingStatus::Pending;
                    transaction.status_code = "authorized".to_owned();
                    transaction.status_message = "Authorized; capture it to collect the funds.".to_owned();
                    None
                } else {
                    self.captured(&mut transaction, now);
                    Some(Posting::capture(
                        plan.processing_id,
                        plan.charged,
                        plan.fee,
                        transaction.payer_fees(),
                    ))
                };
                let event = if authorize_only { "authorized" } else { "payment" };
                let aftermath = connector.aftermath(&charge.instrument);
                self.store.insert(scope, &transaction, posting.as_ref(), event, aftermath).await?;
                tracing::info!(transaction = %id, status = transaction.status.as_str(), "payment approved");
                Ok(transaction)
            }
        }
    }

    /// Marks `transaction` captured at `now`.
    fn captured(&self, transaction: &mut Transaction, now: DateTime<Utc>) {
        let kind = transaction.method_kind.unwrap_or(MethodKind::Card);
        transaction.status = kind.captured_status();
        transaction.funding = FundingStatus::Captured;
        transaction.status_code = "approved".to_owned();
        transaction.status_message = "Approved.".to_owned();
        match kind {
            MethodKind::BankAccount => {
                transaction.settles_at = Some(settles_at(now, transaction.amount.currency));
            }
            MethodKind::Card => transaction.settled_at = Some(now),
        }
        transaction.modified_at = now;
    }

    async fn plan_intent(
        &self,
        scope: Scope,
        intent_id: Uuid,
        amount: Option<Money>,
        customer_id: Option<Uuid>,
        method_id: Option<Uuid>,
        processing_id: Option<Uuid>,
    ) -> Result<Plan, Error> {
        let field = "transaction.payment_intent_id";
        let intent = self
            .peers
            .intent(scope, intent_id)
            .await?
            .ok_or_else(|| Error::invalid(field, "No such payment intent"))?;
        if intent.status != pi::PaymentIntentStatus::Capturable as i32 {
            let status = pi::PaymentIntentStatus::try_from(intent.status).map_or("UNKNOWN".to_owned(), |s| {
                s.as_str_name().trim_start_matches("PAYMENT_INTENT_STATUS_").to_owned()
            });
            let reasons: Vec<&str> = intent.status_reasons.iter().map(|r| r.code.as_str()).collect();
            let why = if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join(", ")) };
            return Err(Error::invalid(
                field,
                format!("The payment intent is {status}{why}; only a CAPTURABLE one can be charged"),
            ));
        }
        let parse = |raw: Option<&String>| raw.and_then(|r| Uuid::parse_str(r).ok());
        let (payer, method, recipient) = (
            parse(intent.payer_id.as_ref()),
            parse(intent.payment_method_id.as_ref()),
            parse(intent.recipient_id.as_ref()),
        );
        let mut problems = Vec::new();
        for (name, given, held) in [
            ("customer_id", customer_id, payer),
            ("payment_method_id", method_id, method),
            ("processing_id", processing_id, recipient),
        ] {
            if given.is_some() && given != held {
                problems.push(Violation::new(
                    format!("transaction.{name}"),
                    "Must be the payment intent's, or left out",
                ));
            }
        }
        let money = |m: Option<&paymesh_proto::common::v1::Money>| m.and_then(|m| Money::from_proto(m).ok());
        let source = money(intent.source_amount.as_ref());
        if let (Some(given), Some(source)) = (amount, source)
            && given != source
        {
            problems.push(Violation::new(
                "transaction.amount",
                format!("Must be the payment intent's source amount, {source}, or left out"),
            ));
        }
        if !problems.is_empty() {
            return Err(Error::InvalidAttributes(problems));
        }
        let (Some(method), Some(recipient), Some(charged)) = (method, recipient, source) else {
            return Err(Error::Internal(anyhow::anyhow!(
                "a capturable intent lacks a method, recipient or amount"
            )));
        };
        let kind = self.peers.method(scope, method).await?.map(|m| m.kind).ok_or_else(|| {
            Error::invalid("transaction.payment_method_id", "The payment intent's payment method was deleted")
        })?;
        let zero = Money::zero(charged.currency);
        // Every fee line but the service fee (the convenience fee) is paid
        // for the delivery speed.
        let delivery_fee = intent
            .fees
            .iter()
            .filter(|f| f.r#type != pi::FeeType::ServiceFee as i32)
            .filter_map(|f| money(f.amount.as_ref()))
            .fold(zero, |sum, f| Money::new(sum.amount + f.amount, sum.currency));
        let delivery_date = intent.delivery_date.as_deref().and_then(|d| d.parse::<NaiveDate>().ok());
        let payout = delivery_date.map(|delivery_date| IntentPayout {
            delivery_fee,
            delivery_date,
            method: PayoutMethod::from_proto(intent.payout_method),
        });
        Ok(Plan {
            customer_id: payer,
            method_id: method,
            kind,
            processing_id: recipient,
            intent_id: Some(intent_id),
            charged,
            fee: money(intent.fee.as_ref()).unwrap_or(zero),
            cust_conv_fee: money(intent.cust_conv_fee.as_ref()).unwrap_or(zero),
            payout,
        })
    }

    async fn plan_direct(
        &self,
        scope: Scope,
        amount: Option<Money>,
        customer_id: Option<Uuid>,
        method_id: Option<Uuid>,
        processing_id: Option<Uuid>,
    ) -> Result<Plan, Error> {
        let Some(amount) = amount else { return Err(Error::invalid("transaction.amount", "Required")) };
        let customer = match customer_id {
            Some(id) => Some(
                self.peers
                    .customer(scope, id)
                    .await?
                    .ok_or_else(|| Error::invalid("transaction.customer_id", "No such customer"))?,
            ),
            None => None,
        };
        let method_id = match (method_id, customer_id) {
            (Some(id), _) => id,
            (None, Some(customer)) => self.peers.default_method(scope, customer).await?.ok_or_else(|| {
                Error::invalid(
                    "transaction.customer_id",
                    "The customer has no default payment method; name a payment_method_id",
                )
            })?,
            (None, None) => return Err(Error::invalid("transaction.payment_method_id", "Required")),
        };
        let method = self
            .peers
            .method(scope, method_id)
            .await?
            .ok_or_else(|| Error::invalid("transaction.payment_method_id", "No such payment method"))?;
        let (customer_id, customer) = match (customer_id, customer) {
            (Some(id), Some(customer)) => {
                if method.owner != id {
                    return Err(Error::invalid(
                        "transaction.payment_method_id",
                        "The payment method belongs to another account than the customer",
                    ));
                }
                (Some(id), Some(customer))
            }
            _ => match self.peers.customer(scope, method.owner).await? {
                Some(customer) => (Some(method.owner), Some(customer)),
                None => (None, None),
            },
        };
        let processing_id = match processing_id.or(customer.and_then(|c| c.primary_processing_id)) {
            Some(id) => id,
            None => self.peers.default_processing_account(scope).await?.ok_or_else(|| {
                Error::invalid(
                    "transaction.processing_id",
                    "Required: name a processing account (the partner has no default one)",
                )
            })?,
        };
        let payout = self
            .peers
            .processing_account(scope, processing_id)
            .await?
            .ok_or_else(|| Error::invalid("transaction.processing_id", "No such processing account"))?;
        let (fee, cust_conv_fee, charged) = self
            .peers
            .price(scope, processing_id, amount, method.funding, PayoutMethod::from_proto(payout))
            .await?;
        Ok(Plan {
            customer_id,
            method_id,
            kind: method.kind,
            processing_id,
            intent_id: None,
            charged,
            fee,
            cust_conv_fee,
            payout: None,
        })
    }

    async fn refund(&self, scope: Scope, mut t: pb::Transaction) -> Result<Transaction, Error> {
        let mut fields = Fields::new("transaction");
        if t.status != pb::TransactionStatus::Unspecified as i32 {
            fields.push("status", "Refunds are processed at once; leave the status out");
        }
        let amount = money_of(&mut fields, "amount", t.amount.as_ref());
        if t.amount.is_none() {
            fields.push("amount", "Required");
        }
        let required = "Required: the payment to refund";
        let payment_id = match t.ledger.as_slice() {
            [link] if link.assoc_transaction_id.trim().is_empty() => {
                fields.push("ledger[0].assoc_transaction_id", required);
                None
            }
            [link] => {
                id_field(&mut fields, "ledger[0].assoc_transaction_id", Some(&link.assoc_transaction_id))
            }
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
        let (Some(amount), Some(payment_id), true) = (amount, payment_id, fields.ok()) else {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        };
        let connector = self.connector(scope)?;
        let now = self.clock.now();
        let refund = Transaction {
            status: TxStatus::Processed,
            status_code: "refunded".to_owned(),
            status_message: "Refunded.".to_owned(),
            funding: FundingStatus::Captured,
            ..draft(scope, Kind::Refund, amount, connector.name(), labels, now)
        };
        let link = "transaction.ledger[0].assoc_transaction_id";
        let check = |payment: &Transaction| -> Result<Uuid, Error> {
            if payment.kind != Kind::Payment {
                return Err(Error::invalid(
                    link,
                    format!("Only payments can be refunded; this is a {}", payment.kind.as_str()),
                ));
            }
            match payment.status {
                TxStatus::Processed | TxStatus::Processing => {}
                TxStatus::Authorized => {
                    return Err(Error::invalid(link, "The payment is only authorized: void it instead"));
                }
                other => {
                    return Err(Error::invalid(
                        link,
                        format!("A {} payment cannot be refunded", other.as_str()),
                    ));
                }
            }
            if payment.funding == FundingStatus::Reversed {
                return Err(Error::invalid(
                    link,
                    "The payment was charged back or reversed; there is nothing left to refund",
                ));
            }
            if payment.amount.currency != amount.currency {
                return Err(Error::invalid(
                    "transaction.amount.currency",
                    format!("Must be the payment's currency, {}", payment.amount.currency),
                ));
            }
            let left = payment.amount.amount - payment.refunded;
            if amount.amount > left {
                return Err(Error::invalid(
                    "transaction.amount",
                    format!(
                        "Must be at most {}: the payment's amount less what was already refunded",
                        Money::new(left, amount.currency)
                    ),
                ));
            }
            payment.processing()
        };
        let refund = self.store.refund(scope, payment_id, refund, check).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::invalid(link, "No such payment"),
            other => other,
        })?;
        tracing::info!(refund = %refund.id, payment = %payment_id, "payment refunded");
        Ok(refund)
    }

    /// Transaction `id`.
    pub(crate) async fn get(&self, principal: &Principal, id: &str) -> Result<Transaction, Error> {
        principal.require_secret_key()?;
        let id = wire::object_id(id, || Error::NotFound { resource: "Transaction" })?;
        self.store.get(principal.scope(), id).await
    }

    /// Transactions matching `query`.
    pub(crate) async fn list(
        &self,
        principal: &Principal,
        request: &pb::ListTransactionsRequest,
    ) -> Result<Listing<Transaction>, Error> {
        principal.require_secret_key()?;
        let query = request.query.clone().unwrap_or_default();
        self.store.list(principal.scope(), &query, self.limits, request.include_ledger).await
    }

    /// Ledger link `id`.
    pub(crate) async fn ledger_link(&self, principal: &Principal, id: &str) -> Result<LedgerLink, Error> {
        principal.require_secret_key()?;
        let id = wire::object_id(id, || Error::NotFound { resource: "TransactionLedger" })?;
        self.store.ledger_link(principal.scope(), id).await
    }

    /// Ledger links matching `query`.
    pub(crate) async fn list_links(
        &self,
        principal: &Principal,
        request: &pb::ListTransactionLedgersRequest,
    ) -> Result<Listing<LedgerLink>, Error> {
        principal.require_secret_key()?;
        let query = request.query.clone().unwrap_or_default();
        self.store.list_links(principal.scope(), &query, self.limits).await
    }

    /// Captures, voids or relabels a transaction.
    pub(crate) async fn update(
        &self,
        principal: &Principal,
        request: pb::UpdateTransactionRequest,
    ) -> Result<Transaction, Error> {
        principal.require_secret_key()?;
        let scope = principal.scope();
        let t = request.transaction.unwrap_or_default();
        let id = wire::object_id(&t.id, || Error::NotFound { resource: "Transaction" })?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let mut fields = Fields::new("transaction");
        if paths.is_empty() {
            fields.push_path("update_mask", "Required: name the fields to change");
        }
        let mut change = None;
        let (mut description, mut order_number, mut attrs) = (None, None, None);
        for path in &paths {
            match path.as_str() {
                "status" => match pb::TransactionStatus::try_from(t.status) {
                    Ok(pb::TransactionStatus::Processed) => change = Some(StatusChange::Capture),
                    Ok(pb::TransactionStatus::Voided) => change = Some(StatusChange::Void),
                    _ => fields.push("status", "Must be processed (to capture) or voided (to void)"),
                },
                "description" => {
                    description =
                        Some(text(&mut fields, "description", t.description.clone(), MAX_DESCRIPTION_CHARS))
                }
                "order_number" => {
                    order_number = Some(text(
                        &mut fields,
                        "order_number",
                        t.order_number.clone(),
                        MAX_ORDER_NUMBER_CHARS,
                    ))
                }
                "attrs" => attrs = fields.take("attrs", wire::attrs(t.attrs.clone())),
                other => fields.unchangeable(other, &["status", "description", "order_number", "attrs"]),
            }
        }
        if paths.iter().any(|p| p == "status") && paths.len() > 1 {
            fields.push_path("update_mask", "A status change stands alone; change other fields separately");
        }
        if !fields.ok() {
            return Err(Error::InvalidAttributes(fields.into_violations()));
        }
        let now = self.clock.now();
        let updated = self
            .store
            .change(scope, id, |mut current| {
                current.modified_at = now;
                let Some(change) = change else {
                    if let Some(description) = description {
                        current.description = description;
                    }
                    if let Some(order_number) = order_number {
                        current.order_number = order_number;
                    }
                    if let Some(attrs) = attrs {
                        current.attrs = attrs.into_inner();
                    }
                    return Ok((current, None, "updated"));
                };
                if let Some(why) =
                    refuse_change(current.kind, current.status, current.funding, current.refunded, change)
                {
                    return Err(Error::invalid("transaction.status", why));
                }
                let processing = current.processing()?;
                let capture = Posting::capture(processing, current.amount, current.fee, current.payer_fees());
                match change {
                    StatusChange::Capture => {
                        self.captured(&mut current, now);
                        Ok((current, Some(capture), "payment"))
                    }
                    StatusChange::Void => {
                        let was_captured = current.status != TxStatus::Authorized;
                        current.status = TxStatus::Voided;
                        current.status_code = "voided".to_owned();
                        current.status_message =
                            "Voided before it settled; nothing was collected.".to_owned();
                        current.funding =
                            if was_captured { FundingStatus::Reversed } else { FundingStatus::Pending };
                        current.settles_at = None;
                        Ok((current, was_captured.then(|| capture.reversed()), "void"))
                    }
                }
            })
            .await?;
        tracing::info!(transaction = %id, status = updated.status.as_str(), "transaction updated");
        Ok(updated)
    }

    /// The work the clock makes due, in order: bank payments settle; bank
    /// returns, chargebacks and their reversals are applied; what settled
    /// before today is paid out in daily deposits, by each processing
    /// account's payout method; payments of intents are paid out one by
    /// one on their delivery dates, by the intent's payout method. Returns
    /// how many of each were done.
    pub(crate) async fn sweep(&self) -> Result<Swept, Error> {
        let now = self.clock.now();
        let settled = self.store.settle_due(now).await?;
        let aftermaths = self.store.apply_aftermaths(now, SWEEP_BATCH).await?;
        let mut deposits = 0;
        let before = start_of_day(now);
        for (scope, processing, currency) in self.store.depositable(before).await? {
            let netted = self.peers.fees_netted(scope, processing).await?;
            let method =
                self.peers.processing_account(scope, processing).await?.and_then(PayoutMethod::from_proto);
            // Money moves to recipients on business days of their rail.
            if !pays_out_on(now.date_naive(), method.unwrap_or(PayoutMethod::for_currency(currency))) {
                continue;
            }
            let connector = self.connector(scope)?.name();
            let made = self
                .store
                .deposit(scope, (processing, currency, method), before, netted, (connector, now))
                .await?;
            if let Some(deposit) = made {
                tracing::info!(deposit = %deposit.id, processing = %processing, items = deposit.ledger.len(), "deposit made");
                deposits += 1;
            }
        }
        for (scope, payment, processing) in self.store.payouts_due(now.date_naive(), SWEEP_BATCH).await? {
            let netted = self.peers.fees_netted(scope, processing).await?;
            let connector = self.connector(scope)?.name();
            if let Some(payout) = self.store.pay_out(scope, payment, netted, (connector, now)).await? {
                tracing::info!(deposit = %payout.id, payment = %payment, "intent payment paid out");
                deposits += 1;
            }
        }
        Ok(Swept { settled, aftermaths, deposits })
    }
}
