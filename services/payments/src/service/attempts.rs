//! Charging one payment so that no crash, outage or hang-up can charge a
//! partner twice or leave a charge unrecorded. The payment is stored
//! `pending` with its attempt before the processor is asked, under the
//! payment's id as the processor's idempotency reference; everything after
//! can be done again — the processor answers the same reference the same,
//! intents captures an intent for the same payment once — so whoever
//! finishes the attempt (the request, a retry with its key after the lease,
//! the sweep) does it the same way, and the outcome is stored once, with
//! its postings, event and the answer kept for its key, in one database
//! transaction. What cannot be finished is voided at the processor and
//! shown voided.

use std::sync::Arc;

use paymesh_kit::{Error, auth::Scope, faults, idempotency::Claimed, money::Money};
use paymesh_proto::{common::v1::ErrorReason, payments::v1 as pb};
use tonic::Status;
use uuid::Uuid;

use super::{Payments, Plan};
use crate::{
    connector::{Aftermath, Charge, Connector, ConnectorError, Outcome},
    convert,
    domain::{Allocation, Labels, Posting, Transaction},
    store::{
        attempts::{Attempt, Finished, Outcome as Stored},
        notices::Notice,
    },
};

/// What a payment asks beyond its plan.
pub(super) struct Terms<'a> {
    /// Authorize only, to capture later.
    pub(super) authorize_only: bool,
    /// The partner's description, order number and attributes.
    pub(super) labels: Labels,
    /// A cascade's declined attempts before this one.
    pub(super) prior: &'a [Uuid],
    /// The invoices it pays.
    pub(super) allocations: &'a [Allocation],
    /// Made by automatic billing.
    pub(super) automatic_billing: bool,
}

/// The most billing notices one pass delivers.
const NOTICES_PER_PASS: i64 = 100;

/// A decline, or a payment paymesh voided itself, as the request's error:
/// a refusal naming the stored payment.
fn refused(payment: &Transaction) -> Error {
    Error::Refused {
        reason: ErrorReason::TransactionDeclined,
        object: "transaction",
        id: payment.id,
        code: payment.status_code.clone(),
        message: payment.status_message.clone(),
    }
}

/// What a stored payment answers its request: itself, or the refusal of a
/// decline or of a payment voided before anything moved.
fn answer_of(payment: Transaction) -> Result<Transaction, Error> {
    if payment.refused() {
        return Err(refused(&payment));
    }
    Ok(payment)
}

impl Payments {
    /// Charges `plan` once: stores the payment pending, then finishes it —
    /// approved (captured, or authorized only) or declined — with the
    /// declined attempts `prior` to it. A decline is `Error::Refused`
    /// naming the stored payment.
    pub(super) async fn attempt(
        &self,
        scope: Scope,
        connector: &Arc<dyn Connector>,
        plan: &Plan,
        terms: Terms<'_>,
        key: Option<&Claimed>,
    ) -> Result<Transaction, Error> {
        let Terms { authorize_only, labels, prior, allocations, automatic_billing } = terms;
        let now = self.clock.now();
        let payment = Transaction {
            allocations: allocations.to_vec(),
            automatic_billing,
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
            ..Transaction::payment(scope.livemode, plan.charged, connector.name(), now).labelled(labels)
        };
        self.store.start(scope, &payment, authorize_only, key.map(Claimed::key), now + self.lease).await?;
        if let Some(key) = key {
            key.hold();
        }
        self.complete(Attempt { scope, payment, authorize_only }, key).await
    }

    /// For a request that resumes a key whose first request died: the
    /// payment that request started, finished. `None` when it started none
    /// (nothing was charged, and the request runs afresh).
    pub(super) async fn resume(
        &self,
        scope: Scope,
        key: Option<&Claimed>,
    ) -> Option<Result<Transaction, Error>> {
        let key = key.filter(|k| k.resumed())?;
        if let Err(e) = faults::check("payments.before_resume").await {
            return Some(Err(e));
        }
        let until = self.clock.now() + self.lease;
        match self.store.attempt_with_key(scope, key.key(), until).await {
            Ok(Some(attempt)) => {
                key.hold();
                tracing::info!(transaction = %attempt.payment.id, "resuming a payment whose request died");
                Some(self.complete(attempt, Some(key)).await)
            }
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// Tells billing what became of payments that pay invoices: every
    /// notice not yet delivered, oldest first; a payment whose notice
    /// fails has its later ones wait for the next pass. Failures are
    /// logged: the sweep tries again.
    pub(crate) async fn deliver_notices(&self) -> u32 {
        let notices = match self.store.due_notices(self.clock.now(), NOTICES_PER_PASS).await {
            Ok(notices) => notices,
            Err(e) => {
                tracing::warn!(error = %e, "reading billing notices failed; will retry");
                return 0;
            }
        };
        let mut failed = std::collections::HashSet::new();
        let mut delivered = 0;
        for notice in notices {
            if failed.contains(&notice.transaction_id) {
                continue;
            }
            match self.send_notice(&notice).await {
                Ok(()) => delivered += 1,
                Err(e) => {
                    failed.insert(notice.transaction_id);
                    tracing::warn!(notice = %notice.id, transaction = %notice.transaction_id, error = %e, "billing did not take a notice; will retry");
                }
            }
        }
        delivered
    }

    /// Sends `notice` to billing and marks it delivered (one sent but not
    /// marked is sent again; billing settles it once).
    async fn send_notice(&self, notice: &Notice) -> Result<(), Error> {
        self.peers.settle_allocations(notice).await?;
        self.store.delivered(notice.id, self.clock.now()).await
    }

    /// Tells billing at once what became of payment `transaction` (its
    /// undelivered notices, in order), so that what a decline released is
    /// free for the next payment; what fails is left to the sweep.
    pub(crate) async fn deliver_notices_of(&self, transaction: Uuid) {
        let notices = match self.store.notices_of(transaction).await {
            Ok(notices) => notices,
            Err(e) => {
                tracing::warn!(transaction = %transaction, error = %e, "reading billing notices failed; the sweep retries");
                return;
            }
        };
        for notice in notices {
            if let Err(e) = self.send_notice(&notice).await {
                tracing::warn!(notice = %notice.id, transaction = %transaction, error = %e, "billing did not take a notice; the sweep retries");
                return;
            }
        }
    }

    /// Finishes at most `at_most` attempts whose requests died and whose
    /// lease ran out; answers how many were finished.
    pub(crate) async fn complete_abandoned(&self, at_most: u32) -> Result<u32, Error> {
        let now = self.clock.now();
        let mut finished = 0;
        for attempt in self.store.abandoned(now, now + self.lease, at_most).await? {
            let id = attempt.payment.id;
            match self.complete(attempt, None).await {
                Ok(_) | Err(Error::Refused { .. }) => finished += 1,
                Err(Error::Conflict(why)) => tracing::debug!(transaction = %id, why, "left to its retry"),
                Err(e) => {
                    tracing::warn!(transaction = %id, error = %e, "a payment attempt is still unfinished; will retry");
                }
            }
        }
        Ok(finished)
    }

    /// Asks the connector about the pending payment (again, if this
    /// resumes: the reference makes it answer the same), captures its
    /// intent, and stores the outcome. A failure before the outcome is
    /// stored leaves the attempt for a retry or the sweep.
    async fn complete(&self, attempt: Attempt, key: Option<&Claimed>) -> Result<Transaction, Error> {
        let Attempt { scope, mut payment, authorize_only } = attempt;
        let connector = self.connector(scope)?;
        let id = payment.id;
        faults::check("payments.before_authorize").await?;
        let method = payment.payment_method_id.ok_or_else(|| {
            Error::Internal(anyhow::anyhow!("pending payment {id} names no payment method"))
        })?;
        let instrument = match self.peers.instrument(scope, method, format!("authorize payment {id}")).await {
            Ok(instrument) => instrument,
            Err(Error::NotFound { .. }) => {
                let why =
                    "The payment method was deleted before the payment was finished; nothing was charged.";
                return self.abandon(scope, connector, payment, ("payment_method_deleted", why), key).await;
            }
            Err(e) => return Err(e),
        };
        if !payment.allocations.is_empty() {
            // The invoices are held for this payment before anything is
            // charged; if they cannot be, nothing is.
            let toward = payment.amount.amount - payment.cust_conv_fee.amount - payment.delivery_fee.amount;
            let pool = Money::new(toward, payment.amount.currency);
            match self
                .peers
                .reserve_allocations(scope, (id, payment.customer_id), pool, &payment.allocations)
                .await
            {
                Ok((reserved, held)) => {
                    payment.allocations = reserved;
                    payment.settlement_held = held;
                }
                Err(e) => {
                    // A resumed attempt may have been authorized before its
                    // request died: void it before forgetting, as when the
                    // processor is unreachable.
                    connector
                        .void(id)
                        .await
                        .map_err(|v| Error::Unavailable { reason: v.to_string(), retry_after: None })?;
                    self.store.forget(scope, id).await?;
                    if let Some(key) = key {
                        key.let_go();
                    }
                    self.deliver_notices_of(id).await;
                    return Err(e);
                }
            }
        }
        let charge = Charge {
            reference: id,
            amount: payment.amount,
            instrument,
            today: payment.created_at.date_naive(),
        };
        let outcome = match connector.authorize(&charge).await {
            Ok(outcome) => outcome,
            Err(e) => return self.unreachable(scope, connector, id, &e, key).await,
        };
        faults::check("payments.after_authorize").await?;
        match outcome {
            Outcome::Declined { code, risk } => {
                payment.decline(code, risk);
                self.finish(scope, &payment, (None, "decline", Aftermath::None), key).await
            }
            Outcome::Approved { authorization, risk } => {
                if let Some(intent) = payment.payment_intent_id {
                    match self.peers.capture_intent(scope, intent, id).await {
                        Ok(()) => {}
                        Err(Error::InvalidAttributes(violations)) => {
                            let why = violations
                                .iter()
                                .map(|v| v.description.as_str())
                                .collect::<Vec<_>>()
                                .join("; ");
                            let why = format!("{why}. The authorization was voided; nothing was charged.");
                            return self
                                .abandon(scope, connector, payment, ("intent_not_capturable", &why), key)
                                .await;
                        }
                        Err(e) => return Err(e),
                    }
                }
                let posting = payment.approve(authorization, risk, authorize_only, self.clock.now())?;
                let event = if authorize_only { "authorized" } else { "payment" };
                let aftermath = connector.aftermath(&charge.instrument);
                self.finish(scope, &payment, (posting.as_ref(), event, aftermath), key).await
            }
        }
    }

    /// The connector could not be asked: what it might have authorized is
    /// voided and the pending payment forgotten (nothing was charged; the
    /// key is released). If even the void fails, the attempt stays for the
    /// sweep.
    async fn unreachable(
        &self,
        scope: Scope,
        connector: &Arc<dyn Connector>,
        id: Uuid,
        error: &ConnectorError,
        key: Option<&Claimed>,
    ) -> Result<Transaction, Error> {
        let unavailable =
            |e: &ConnectorError| Error::Unavailable { reason: e.to_string(), retry_after: None };
        connector.void(id).await.map_err(|e| unavailable(&e))?;
        self.store.forget(scope, id).await?;
        if let Some(key) = key {
            key.let_go();
        }
        Err(unavailable(error))
    }

    /// The pending payment cannot be finished (`code`, `why`): what the
    /// processor may have authorized is voided, and the payment is stored
    /// voided, for the partner to see.
    async fn abandon(
        &self,
        scope: Scope,
        connector: &Arc<dyn Connector>,
        mut payment: Transaction,
        (code, why): (&str, &str),
        key: Option<&Claimed>,
    ) -> Result<Transaction, Error> {
        connector
            .void(payment.id)
            .await
            .map_err(|e| Error::Unavailable { reason: e.to_string(), retry_after: None })?;
        payment.abandon(code, why, self.clock.now());
        self.finish(scope, &payment, (None, "void", Aftermath::None), key).await
    }

    /// Stores the payment's outcome — `posting`, `event`, `aftermath` —
    /// with the answer kept for its key, and answers it (a decline or a
    /// voided payment as a refusal). If the attempt was finished by someone
    /// else meanwhile, answers what they stored; if a retry holds its key
    /// (this is the sweep), leaves it to the retry with `Conflict`.
    async fn finish(
        &self,
        scope: Scope,
        payment: &Transaction,
        (posting, event, aftermath): (Option<&Posting>, &'static str, Aftermath),
        key: Option<&Claimed>,
    ) -> Result<Transaction, Error> {
        let answer = answer_of(payment.clone());
        let response = pb::CreateTransactionResponse { transaction: Some(convert::to_proto(payment)) };
        let status = answer.as_ref().err().map(|_| Status::from(refused(payment)));
        let kept = match &status {
            Some(status) => Err(status),
            None => Ok(&response),
        };
        let stored = Stored { payment, posting, event, aftermath, answer: kept, now: self.clock.now() };
        match self.store.finish(scope, stored, key).await? {
            Finished::Now => {
                tracing::info!(transaction = %payment.id, status = payment.status.as_str(), "payment finished");
                faults::check("payments.after_commit").await?;
                if !payment.allocations.is_empty() {
                    // Billing hears at once (a cascade's next attempt may
                    // need what a decline released); the sweep retries.
                    self.deliver_notices_of(payment.id).await;
                }
                answer
            }
            Finished::Before(stored) => answer_of(*stored),
            Finished::Yielded => Err(Error::Conflict(
                "A retry of the payment's request holds its Idempotency-Key and finishes it".to_owned(),
            )),
        }
    }
}
