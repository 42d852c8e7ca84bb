//! The payments operations: charge, authorize, capture, void, refund,
//! read; idempotent creation; settlement of bank payments. Charging one
//! payment crash-safely is [`attempts`].

mod attempts;

use std::{collections::VecDeque, sync::Arc};

use chrono::{NaiveDate, TimeDelta};
use paymesh_kit::{
    Error, Violation,
    auth::{KeyKind, Principal, Scope},
    clock::Clock,
    config::ListLimits,
    idempotency::Claimed,
    idempotency::IdempotencyKeys,
    money::Money,
    query::{Listing, equal},
    wire,
};
use paymesh_proto::{intents::v1 as pi, payments::v1 as pb};
use uuid::Uuid;

use crate::{
    connector::Connector,
    convert::{self, Change, NewTransaction, PaymentRequest, RefundRequest},
    domain::{LedgerLink, MethodKind, PayoutMethod, StatusChange, Transaction, pays_out_on, start_of_day},
    peers::Peers,
    store::Store,
};

/// The most methods a payment charged to a customer's default method
/// tries, the default included.
const MAX_CASCADE_ATTEMPTS: usize = 5;

/// Aftermaths applied per sweep at most (the rest wait for the next).
const SWEEP_BATCH: u32 = 200;
/// The most held payments one question to billing names.
const HELD_PER_ASK: u32 = 500;

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Swept {
    /// Payment attempts finished after their requests died.
    pub(crate) attempts: u32,
    /// Bank payments settled.
    pub(crate) settled: u64,
    /// Bank returns, chargebacks and chargeback reversals applied.
    pub(crate) aftermaths: u32,
    /// Deposits made.
    pub(crate) deposits: u32,
    /// Payments released for settlement by their invoices.
    pub(crate) released: u32,
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
    /// How long a request (or the sweep) holds a payment attempt before
    /// another may finish it: the idempotency lease.
    pub(crate) lease: TimeDelta,
    pub(crate) limits: ListLimits,
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

    /// Creates a payment or a refund; `key` is the Idempotency-Key the
    /// request holds, if any.
    pub(crate) async fn create(
        &self,
        principal: &Principal,
        request: pb::CreateTransactionRequest,
        key: Option<&Claimed>,
    ) -> Result<Transaction, Error> {
        let scope = principal.scope();
        if principal.key_kind == KeyKind::Client {
            let payment =
                browser_payment(convert::new_transaction(request.transaction.unwrap_or_default())?)?;
            return self.pay(scope, payment, key).await;
        }
        let merchant = principal.merchant_account()?;
        let refund =
            request.transaction.as_ref().is_some_and(|t| t.r#type == pb::TransactionType::Refund as i32);
        if merchant.is_some() && !refund {
            return Err(Error::Forbidden(
                "A merchant token refunds its own payments; payments are made with a secret key".to_owned(),
            ));
        }
        match convert::new_transaction(request.transaction.unwrap_or_default())? {
            // A merchant token refunds its own processing account's
            // payments, and makes nothing else.
            NewTransaction::Refund(refund) if merchant.is_some() => {
                let own = match self.store.get(scope, refund.payment_id).await {
                    Ok(payment) => payment.processing_id == merchant,
                    Err(Error::NotFound { .. }) => false,
                    Err(other) => return Err(other),
                };
                if !own {
                    return Err(Error::invalid(convert::REFUNDED_PAYMENT, "No such payment"));
                }
                self.refund(scope, refund).await
            }
            NewTransaction::Payment(payment) if payment.automatic_billing && principal.service.is_none() => {
                Err(Error::invalid(
                    "transaction.initiator",
                    "Set by paymesh: only its automatic billing makes automatic payments",
                ))
            }
            NewTransaction::Payment(payment) => self.pay(scope, payment, key).await,
            NewTransaction::Refund(refund) => self.refund(scope, refund).await,
        }
    }

    /// Charges (or authorizes) a payment; a retry with the key of a request
    /// that died finishes the payment it started instead.
    async fn pay(
        &self,
        scope: Scope,
        mut request: PaymentRequest,
        key: Option<&Claimed>,
    ) -> Result<Transaction, Error> {
        if let Some(resumed) = self.resume(scope, key).await {
            return resumed;
        }
        // An inline method is kept on file for the customer the payment
        // names; with no customer it is single-use: charged, then deleted
        // (the vault erases its number).
        let Some(inline) = request.inline_method.take() else {
            return self.charge(scope, request, key).await;
        };
        let customer = request.customer_id;
        let stored = self.peers.store_method(scope, customer, *inline, key.map(Claimed::key)).await?;
        request.method_id = Some(stored);
        let paid = self.charge(scope, request, key).await;
        // Only once the payment is finished, approved or declined: an
        // attempt left for a retry or the sweep still needs the number.
        // What is not deleted here, the vault's sweep erases within the
        // hour.
        if customer.is_none()
            && matches!(paid, Ok(_) | Err(Error::Refused { .. }))
            && let Err(e) = self.peers.delete_method(scope, stored).await
        {
            tracing::warn!(payment_method_id = %stored, error = %e, "a single-use method was not deleted; the vault's sweep will");
        }
        paid
    }

    /// Charges (or authorizes) a payment whose method, if given, is stored.
    async fn charge(
        &self,
        scope: Scope,
        request: PaymentRequest,
        key: Option<&Claimed>,
    ) -> Result<Transaction, Error> {
        let PaymentRequest {
            authorize_only,
            amount,
            customer_id,
            method_id,
            processing_id,
            intent_id,
            inline_method: _,
            labels,
            allocations,
            automatic_billing,
        } = request;
        let connector = self.connector(scope)?;
        let mut plan = match intent_id {
            Some(intent) => {
                self.plan_intent(scope, intent, amount, customer_id, method_id, processing_id).await?
            }
            None => self.plan_direct(scope, amount, customer_id, method_id, processing_id).await?,
        };
        // A customer named alone cascades: its default method first, then
        // its others, listed only once the default declines.
        let cascades = intent_id.is_none() && method_id.is_none();
        let mut others: Option<VecDeque<Uuid>> = None;
        let mut prior = Vec::new();
        loop {
            let terms = attempts::Terms {
                authorize_only,
                labels: labels.clone(),
                prior: &prior,
                allocations: &allocations,
                automatic_billing,
            };
            match self.attempt(scope, connector, &plan, terms, key).await {
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
                if method.owner != Some(id) {
                    return Err(Error::invalid(
                        "transaction.payment_method_id",
                        "The payment method belongs to another account than the customer",
                    ));
                }
                (Some(id), Some(customer))
            }
            _ => match method.owner {
                Some(owner) => match self.peers.customer(scope, owner).await? {
                    Some(customer) => (Some(owner), Some(customer)),
                    None => (None, None),
                },
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

    async fn refund(&self, scope: Scope, request: RefundRequest) -> Result<Transaction, Error> {
        let RefundRequest { amount, payment_id, labels } = request;
        let connector = self.connector(scope)?;
        let refund = Transaction::refund_of(scope.livemode, amount, connector.name(), self.clock.now())
            .labelled(labels);
        let refund = match self.store.refund(scope, payment_id, refund).await {
            Ok(Ok(refund)) => refund,
            Ok(Err(refusal)) => return Err(convert::refund_refused(refusal)),
            Err(Error::NotFound { .. }) => {
                return Err(Error::invalid(convert::REFUNDED_PAYMENT, "No such payment"));
            }
            Err(other) => return Err(other),
        };
        tracing::info!(refund = %refund.id, payment = %payment_id, "payment refunded");
        // What it paid of invoices is owed again: billing hears at once.
        self.deliver_notices_of(payment_id).await;
        Ok(refund)
    }

    /// Transaction `id`.
    pub(crate) async fn get(&self, principal: &Principal, id: &str) -> Result<Transaction, Error> {
        let merchant = principal.merchant_account()?;
        let id = wire::object_id(id, || Error::NotFound { resource: "Transaction" })?;
        let found = self.store.get(principal.scope(), id).await?;
        if merchant.is_some_and(|m| found.processing_id != Some(m)) {
            return Err(Error::NotFound { resource: "Transaction" });
        }
        Ok(found)
    }

    /// Transactions matching `query`.
    pub(crate) async fn list(
        &self,
        principal: &Principal,
        request: &pb::ListTransactionsRequest,
    ) -> Result<Listing<Transaction>, Error> {
        let mut query = request.query.clone().unwrap_or_default();
        // A merchant token lists its own processing account's only.
        if let Some(merchant) = principal.merchant_account()? {
            query.filters.push(equal(&["processing_id"], &merchant.to_string()));
        }
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
        let (id, change) = convert::change(request)?;
        let now = self.clock.now();
        let refused = |why: String| Error::invalid("transaction.status", why);
        let updated = self
            .store
            .change(principal.scope(), id, |current| match change {
                Change::Labels { description, order_number, attrs } => {
                    current.modified_at = now;
                    if let Some(description) = description {
                        current.description = description;
                    }
                    if let Some(order_number) = order_number {
                        current.order_number = order_number;
                    }
                    if let Some(attrs) = attrs {
                        current.attrs = attrs;
                    }
                    Ok((None, "updated"))
                }
                Change::Status(StatusChange::Capture) => {
                    let posting = current.capture(now)?.map_err(refused)?;
                    Ok((Some(posting), "payment"))
                }
                Change::Status(StatusChange::Void) => {
                    let undo = current.void(now)?.map_err(refused)?;
                    Ok((undo, "void"))
                }
            })
            .await?;
        tracing::info!(transaction = %id, status = updated.status.as_str(), "transaction updated");
        if !updated.allocations.is_empty() {
            self.deliver_notices_of(id).await;
        }
        Ok(updated)
    }

    /// The work the clock makes due, in order: payment attempts whose
    /// requests died are finished; bank payments settle; bank
    /// returns, chargebacks and their reversals are applied; payments held
    /// for a full-settlement invoice are released once billing says it no
    /// longer holds them; what settled (and is not held) before today is
    /// paid out in daily deposits, by each processing
    /// account's payout method; payments of intents are paid out one by
    /// one on their delivery dates, by the intent's payout method. Returns
    /// how many of each were done.
    pub(crate) async fn sweep(&self) -> Result<Swept, Error> {
        let attempts = self.complete_abandoned(SWEEP_BATCH).await?;
        self.deliver_notices().await;
        let now = self.clock.now();
        let settled = self.store.settle_due(now).await?;
        let aftermaths = self.store.apply_aftermaths(now, SWEEP_BATCH).await?;
        let released = self.release_held().await;
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
        Ok(Swept { attempts, settled, aftermaths, deposits, released })
    }

    /// Releases for settlement the held payments whose invoices no longer
    /// hold them, as the billing service says; answers how many. Billing
    /// unreachable, they stay held until a later sweep.
    async fn release_held(&self) -> u32 {
        let mut released = 0;
        let mut after = None;
        loop {
            let page = match self.store.held(after, HELD_PER_ASK).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "held payments could not be read; will retry");
                    return released;
                }
            };
            let Some(&(_, last)) = page.last() else { return released };
            after = Some(last);
            let full = page.len() == HELD_PER_ASK as usize;
            let mut scopes: Vec<(Scope, Vec<Uuid>)> = Vec::new();
            for (scope, id) in page {
                match scopes.iter_mut().find(|(s, _)| *s == scope) {
                    Some((_, ids)) => ids.push(id),
                    None => scopes.push((scope, vec![id])),
                }
            }
            for (scope, ids) in scopes {
                let freed = match self.peers.releasable_settlements(scope, &ids).await {
                    Ok(freed) => freed,
                    Err(e) => {
                        tracing::warn!(error = %e, "billing could not say which held payments are free; will retry");
                        continue;
                    }
                };
                match self.store.release(scope, &freed, self.clock.now()).await {
                    Ok(n) => released += n,
                    Err(e) => tracing::warn!(error = %e, "held payments could not be released; will retry"),
                }
            }
            if !full {
                return released;
            }
        }
    }
}

/// What a client key (a browser's: Checkout, Secure Input) may create:
/// a payment authorized, not captured, of a card or bank account the payer
/// types in (inline), to the partner's default or a named processing
/// account. The partner's server confirms it with a secret key (`status`
/// processed), checking the amount the browser sent; a client key never
/// charges a stored method, a customer or an intent, nor refunds.
fn browser_payment(given: NewTransaction) -> Result<PaymentRequest, Error> {
    const WHY: &str = "Client keys authorize a payment of a method given inline; confirm it from your server \
                       with a secret key";
    let NewTransaction::Payment(payment) = given else {
        return Err(Error::Forbidden("Client keys make payments only; refund with a secret key".to_owned()));
    };
    let mut problems = Vec::new();
    if !payment.authorize_only {
        problems.push(Violation::new("transaction.status", format!("Must be authorized: {WHY}")));
    }
    if payment.inline_method.is_none() {
        problems.push(Violation::new("transaction.payment_method", format!("Required: {WHY}")));
    }
    for (name, given) in [
        ("customer_id", payment.customer_id.is_some()),
        ("payment_method_id", payment.method_id.is_some()),
        ("payment_intent_id", payment.intent_id.is_some()),
        ("allocations", !payment.allocations.is_empty()),
        ("initiator", payment.automatic_billing),
    ] {
        if given {
            problems.push(Violation::new(format!("transaction.{name}"), format!("Leave it out: {WHY}")));
        }
    }
    if problems.is_empty() { Ok(payment) } else { Err(Error::InvalidAttributes(problems)) }
}
