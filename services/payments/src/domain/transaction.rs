//! A transaction and every change of its state: a payment approved,
//! declined, captured, voided, settled, refunded, returned by the bank or
//! charged back, and the refunds, deposits and reversals that follow it.
//! Each change says what it refuses and which posting it writes; the store
//! only persists what these methods decide.

use chrono::{DateTime, NaiveDate, Utc};
use paymesh_kit::{
    Error,
    money::{Currency, Money},
    payout::PayoutMethod,
};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    ledger::Posting,
    settlement::{pays_out_on, settles_at},
    words::{FundingStatus, Kind, MethodKind, Status, StatusChange},
};
use crate::connector::{AchReturn, DeclineCode, Risk};

/// A transaction: a payment, refund, deposit, reversal, chargeback or
/// chargeback reversal.
#[derive(Clone, Debug, PartialEq)]
pub struct Transaction {
    /// Its id.
    pub id: Uuid,
    /// Whether it moves live money.
    pub livemode: bool,
    /// What kind of movement it is.
    pub kind: Kind,
    /// Where it stands.
    pub status: Status,
    /// Why it stands there, as a word (a decline code, `settled`, …).
    pub status_code: String,
    /// Why it stands there, in a sentence.
    pub status_message: String,
    /// The amount moved (a payment's includes what the payer paid on top).
    pub amount: Money,
    /// The processing account's fee.
    pub fee: Money,
    /// The payer's convenience fee.
    pub cust_conv_fee: Money,
    /// Intent payments: the expedited-delivery fees the payer paid.
    pub delivery_fee: Money,
    /// Payments: how much was refunded.
    pub refunded: Decimal,
    /// Where a payment's money stands for the processing account.
    pub funding: FundingStatus,
    /// Payments: how risky the connector judged it.
    pub risk: Option<Risk>,
    /// The payer.
    pub customer_id: Option<Uuid>,
    /// The payment method charged or refunded.
    pub payment_method_id: Option<Uuid>,
    /// What the payment method is.
    pub method_kind: Option<MethodKind>,
    /// The processing account paid.
    pub processing_id: Option<Uuid>,
    /// The payment intent charged.
    pub payment_intent_id: Option<Uuid>,
    /// The partner's description.
    pub description: Option<String>,
    /// The partner's order number.
    pub order_number: Option<String>,
    /// The partner's custom attributes.
    pub attrs: Map<String, Value>,
    /// The connector that handled it.
    pub connector: String,
    /// The connector's reference of the authorization.
    pub authorization_ref: Option<String>,
    /// Bank payments: when they settle.
    pub settles_at: Option<DateTime<Utc>>,
    /// When it became processed (deposits take what settled before the day).
    pub settled_at: Option<DateTime<Utc>>,
    /// Bank payments: the day the bank returned the debit.
    pub rejected_on: Option<NaiveDate>,
    /// A cascaded payment: the declined attempts before this one.
    pub prior_attempts: Vec<Uuid>,
    /// Intent payments: the day the recipient is paid; deposits: the day
    /// paid out.
    pub delivery_date: Option<NaiveDate>,
    /// Intent payments and deposits: how the recipient is paid.
    pub payout_method: Option<PayoutMethod>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub modified_at: DateTime<Utc>,
    /// The ledger links, oldest first (read with the transaction).
    pub ledger: Vec<LedgerLink>,
    /// Payments: the invoices it pays (billing's allocations).
    pub allocations: Vec<Allocation>,
    /// Payments: made by paymesh's automatic billing (autopay) rather than
    /// through the API.
    pub automatic_billing: bool,
    /// Payments: held from being paid out until billing releases it (an
    /// invoice it pays accepts payments in full only).
    pub settlement_held: bool,
}

/// One invoice a payment pays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// The invoice, in the billing service: as given (unset when the payer
    /// names it), then as billing reserved it.
    pub invoice_id: Option<Uuid>,
    /// How much of the payment goes to it: as given, then as billing
    /// reserved it.
    pub amount: Option<Decimal>,
    /// The invoice payer it is made for: as given, then as billing
    /// reserved it.
    pub payer_id: Option<Uuid>,
}

impl Allocation {
    /// The allocations as stored: `[{"invoice_id", "amount", "payer_id"}]`,
    /// each possibly null.
    pub fn to_json(allocations: &[Self]) -> Value {
        Value::Array(
            allocations
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "invoice_id": a.invoice_id,
                        "amount": a.amount.map(|d| d.to_string()),
                        "payer_id": a.payer_id,
                    })
                })
                .collect(),
        )
    }

    /// The allocations stored as [`Allocation::to_json`] wrote them (older
    /// rows have no payer).
    pub fn from_json(value: &Value) -> Option<Vec<Self>> {
        fn id(value: Option<&Value>) -> Option<Option<Uuid>> {
            match value {
                None | Some(Value::Null) => Some(None),
                Some(v) => Some(Some(Uuid::parse_str(v.as_str()?).ok()?)),
            }
        }
        value
            .as_array()?
            .iter()
            .map(|a| {
                Some(Self {
                    invoice_id: id(a.get("invoice_id"))?,
                    amount: match a.get("amount")? {
                        Value::Null => None,
                        amount => Some(amount.as_str()?.parse().ok()?),
                    },
                    payer_id: id(a.get("payer_id"))?,
                })
            })
            .collect()
    }
}

/// A link between two transactions, seen from `transaction_id`.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerLink {
    /// Its id.
    pub id: Uuid,
    /// Whether it links live transactions.
    pub livemode: bool,
    /// The transaction it belongs to.
    pub transaction_id: Uuid,
    /// The transaction it points at.
    pub assoc_transaction_id: Uuid,
    /// The kind of the transaction it points at.
    pub entry_type: Kind,
    /// The amount, signed as `transaction_id` sees it.
    pub amount: Money,
    /// The partner's custom attributes.
    pub attrs: Map<String, Value>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// What a partner labels a transaction with.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Labels {
    /// A description.
    pub description: Option<String>,
    /// An order number.
    pub order_number: Option<String>,
    /// Custom attributes.
    pub attrs: Map<String, Value>,
}

/// Where and how a deposit pays out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payout {
    /// The processing account paid.
    pub processing: Uuid,
    /// The rail, if the account or intent names one.
    pub method: Option<PayoutMethod>,
    /// The day paid out.
    pub date: NaiveDate,
    /// Whether fees are withheld (netted) rather than billed monthly.
    pub netted: bool,
}

/// Why a refund is refused, and which part of the request it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundRefusal {
    /// The payment named cannot be refunded.
    Payment(String),
    /// The refund is in another currency than the payment.
    Currency(String),
    /// The refund is for more than is left.
    Amount(String),
}

/// What a refund moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refunded {
    /// The processing account bears the refund.
    pub posting: Posting,
    /// The payment was already paid out: a reversal takes the refund back.
    pub paid_out: bool,
}

/// What a bank return or a chargeback moved.
#[derive(Clone, Debug, PartialEq)]
pub struct Returned {
    /// The chargeback, if the return is one (a bank return has none: the
    /// payment itself becomes rejected).
    pub chargeback: Option<Transaction>,
    /// The processing account bears the amount.
    pub posting: Posting,
    /// How much: the payment's amount, or what a chargeback disputes.
    pub amount: Money,
    /// The payment was already paid out: a reversal takes it back.
    pub paid_out: bool,
}

impl Transaction {
    /// A new processed transaction of `kind` for `amount` at `now`, handled
    /// by `connector`: no fees, parties, labels or links; nothing refunded.
    /// The caller sets what applies.
    pub fn new(livemode: bool, kind: Kind, amount: Money, connector: &str, now: DateTime<Utc>) -> Self {
        let zero = Money::zero(amount.currency);
        Self {
            id: Uuid::now_v7(),
            livemode,
            kind,
            status: Status::Processed,
            status_code: String::new(),
            status_message: String::new(),
            amount,
            fee: zero,
            cust_conv_fee: zero,
            delivery_fee: zero,
            refunded: Decimal::ZERO,
            funding: FundingStatus::Captured,
            risk: None,
            customer_id: None,
            payment_method_id: None,
            method_kind: None,
            processing_id: None,
            payment_intent_id: None,
            description: None,
            order_number: None,
            attrs: Map::new(),
            connector: connector.to_owned(),
            authorization_ref: None,
            settles_at: None,
            settled_at: Some(now),
            rejected_on: None,
            prior_attempts: Vec::new(),
            delivery_date: None,
            payout_method: None,
            created_at: now,
            modified_at: now,
            ledger: Vec::new(),
            allocations: Vec::new(),
            automatic_billing: false,
            settlement_held: false,
        }
    }

    /// A payment of `amount` about to be charged through `connector`:
    /// pending until the attempt finishes — [`Transaction::approve`],
    /// [`Transaction::decline`] or [`Transaction::abandon`].
    pub fn payment(livemode: bool, amount: Money, connector: &str, now: DateTime<Utc>) -> Self {
        Self {
            status: Status::Pending,
            status_code: "pending".to_owned(),
            status_message: "Being charged.".to_owned(),
            funding: FundingStatus::Pending,
            settled_at: None,
            ..Self::new(livemode, Kind::Payment, amount, connector, now)
        }
    }

    /// A refund of `amount` through `connector`, processed at once; its
    /// parties are the payment's, set when [`Transaction::refund`] takes
    /// it.
    pub fn refund_of(livemode: bool, amount: Money, connector: &str, now: DateTime<Utc>) -> Self {
        Self {
            status_code: "refunded".to_owned(),
            status_message: "Refunded.".to_owned(),
            ..Self::new(livemode, Kind::Refund, amount, connector, now)
        }
    }

    /// `self` with the partner's `labels`.
    pub fn labelled(self, labels: Labels) -> Self {
        Self {
            description: labels.description,
            order_number: labels.order_number,
            attrs: labels.attrs,
            ..self
        }
    }

    /// A new processed transaction of `kind` for `amount` that follows
    /// `self` (a refund, reversal or chargeback of a payment): the same
    /// customer, method and processing account.
    fn following(
        &self,
        kind: Kind,
        amount: Money,
        (code, message): (&str, &str),
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            status_code: code.to_owned(),
            status_message: message.to_owned(),
            customer_id: self.customer_id,
            payment_method_id: self.payment_method_id,
            method_kind: self.method_kind,
            processing_id: self.processing_id,
            ..Self::new(self.livemode, kind, amount, &self.connector, now)
        }
    }

    /// What the payer paid on top of the recipient's amount, which the
    /// platform keeps: the convenience fee and any delivery fee.
    pub fn payer_fees(&self) -> Money {
        Money::new(self.cust_conv_fee.amount + self.delivery_fee.amount, self.amount.currency)
    }

    /// What a deposit pays out for this transaction: a payment's amount
    /// less what was refunded, less what the payer paid on top (the
    /// platform's), less the account's fee when fees are `netted`; a
    /// chargeback reversal's whole amount. May be negative (a payment
    /// refunded beyond the account's share).
    pub fn deposit_share(&self, netted: bool) -> Decimal {
        match self.kind {
            Kind::Payment => {
                let fee = if netted { self.fee.amount } else { Decimal::ZERO };
                self.amount.amount - self.refunded - self.payer_fees().amount - fee
            }
            _ => self.amount.amount,
        }
    }

    /// The processing account of a payment (every stored payment has one).
    pub fn processing(&self) -> Result<Uuid, Error> {
        self.processing_id.ok_or_else(|| {
            Error::Internal(anyhow::anyhow!("transaction {} has no processing account", self.id))
        })
    }

    /// What capturing the payment posts: the processor owes the whole
    /// amount, the account is owed it less every fee, the platform earns
    /// the fees.
    fn capture_posting(&self) -> Result<Posting, Error> {
        Ok(Posting::capture(self.processing()?, self.amount, self.fee, self.payer_fees()))
    }

    /// The connector declined the payment with `code`: it moves nothing
    /// and owes no fee.
    pub fn decline(&mut self, code: DeclineCode, risk: Risk) {
        self.status = Status::Declined;
        self.status_code = code.as_str().to_owned();
        self.status_message = code.message().to_owned();
        self.risk = Some(risk);
        self.owes_nothing();
    }

    /// The pending payment cannot be finished (`code`, `message`: why) and
    /// what the processor may have authorized was voided: no authorization
    /// stands, it moves nothing and owes no fee.
    pub fn abandon(&mut self, code: &str, message: &str, now: DateTime<Utc>) {
        self.status = Status::Voided;
        self.authorization_ref = None;
        self.status_code = code.to_owned();
        self.status_message = message.to_owned();
        self.settles_at = None;
        self.modified_at = now;
        self.owes_nothing();
    }

    /// Whether the payment was refused when it was made: declined by the
    /// processor, or voided by paymesh before anything moved
    /// ([`Transaction::abandon`]) — its request answers a refusal.
    pub fn refused(&self) -> bool {
        self.kind == Kind::Payment
            && (self.status == Status::Declined
                || (self.status == Status::Voided && self.authorization_ref.is_none()))
    }

    /// Nothing moved: no funding, no fee.
    fn owes_nothing(&mut self) {
        let zero = Money::zero(self.amount.currency);
        self.funding = FundingStatus::Pending;
        self.fee = zero;
        self.cust_conv_fee = zero;
        self.delivery_fee = zero;
    }

    /// The connector approved the payment (`authorization`): captured at
    /// once, with the posting that moves its money, or only `authorized`
    /// (held, to capture later; nothing moves yet).
    pub fn approve(
        &mut self,
        authorization: String,
        risk: Risk,
        authorized_only: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<Posting>, Error> {
        self.risk = Some(risk);
        self.authorization_ref = Some(authorization);
        if authorized_only {
            self.status = Status::Authorized;
            self.funding = FundingStatus::Pending;
            self.status_code = "authorized".to_owned();
            self.status_message = "Authorized; capture it to collect the funds.".to_owned();
            return Ok(None);
        }
        self.captured(now);
        self.capture_posting().map(Some)
    }

    /// Captures the authorized payment at `now`. Refused (with the reason)
    /// unless it is an authorized payment.
    pub fn capture(&mut self, now: DateTime<Utc>) -> Result<Result<Posting, String>, Error> {
        if let Some(why) = self.refuse(StatusChange::Capture) {
            return Ok(Err(why));
        }
        self.captured(now);
        self.capture_posting().map(Ok)
    }

    /// Marks the payment captured at `now`: a card payment is processed, a
    /// bank payment processing until it settles.
    fn captured(&mut self, now: DateTime<Utc>) {
        let kind = self.method_kind.unwrap_or(MethodKind::Card);
        self.status = kind.captured_status();
        self.funding = FundingStatus::Captured;
        self.status_code = "approved".to_owned();
        self.status_message = "Approved.".to_owned();
        match kind {
            MethodKind::BankAccount => self.settles_at = Some(settles_at(now, self.amount.currency)),
            MethodKind::Card => self.settled_at = Some(now),
        }
        self.modified_at = now;
    }

    /// Voids the payment at `now`, with the posting that undoes its capture
    /// if it was captured. Refused (with the reason) once it was settled
    /// and refunded or paid out, or partly refunded.
    pub fn void(&mut self, now: DateTime<Utc>) -> Result<Result<Option<Posting>, String>, Error> {
        if let Some(why) = self.refuse(StatusChange::Void) {
            return Ok(Err(why));
        }
        let was_captured = self.status != Status::Authorized;
        let undo = if was_captured { Some(self.capture_posting()?.reversed()) } else { None };
        self.status = Status::Voided;
        self.status_code = "voided".to_owned();
        self.status_message = "Voided before it settled; nothing was collected.".to_owned();
        self.funding = if was_captured { FundingStatus::Reversed } else { FundingStatus::Pending };
        self.settles_at = None;
        self.modified_at = now;
        Ok(Ok(undo))
    }

    /// Why `change` of the payment's status is refused, in the caller's
    /// words; `None` when it is allowed.
    fn refuse(&self, change: StatusChange) -> Option<String> {
        if self.kind != Kind::Payment {
            return Some(format!("Only payments can change status; this is a {}", self.kind.as_str()));
        }
        match (change, self.status) {
            (StatusChange::Capture, Status::Authorized) => None,
            (StatusChange::Capture, other) => {
                Some(format!("Only an authorized payment can be captured; this one is {}", other.as_str()))
            }
            (StatusChange::Void, Status::Authorized | Status::Processing | Status::Processed)
                if self.refunded > Decimal::ZERO =>
            {
                Some("The payment was partly refunded; refund what is left instead of voiding it".to_owned())
            }
            (StatusChange::Void, Status::Authorized | Status::Processing) => None,
            (StatusChange::Void, Status::Processed) if self.funding == FundingStatus::Captured => None,
            (StatusChange::Void, Status::Processed) => Some(
                "The payment was refunded or paid out; refund what is left instead of voiding it".to_owned(),
            ),
            (StatusChange::Void, other) => Some(format!("A {} payment cannot be voided", other.as_str())),
        }
    }

    /// The bank payment settled at `now`: processing → processed. Answers
    /// whether it did (only a processing payment settles).
    pub fn settle(&mut self, now: DateTime<Utc>) -> bool {
        if self.status != Status::Processing {
            return false;
        }
        self.status = Status::Processed;
        self.status_code = "settled".to_owned();
        self.status_message = "The bank payment settled.".to_owned();
        self.modified_at = now;
        self.settled_at = Some(now);
        true
    }

    /// Takes `refund` from this payment: the refund gets the payment's
    /// customer, method and processing account; the payment's refunded
    /// total grows (refunded in full, its funding says so). Refused when
    /// the payment is not a settled or settling payment with that much
    /// left in the refund's currency.
    pub fn refund(&mut self, refund: &mut Self) -> Result<Result<Refunded, RefundRefusal>, Error> {
        if let Some(refusal) = self.refuse_refund(refund.amount) {
            return Ok(Err(refusal));
        }
        let processing = self.processing()?;
        refund.customer_id = self.customer_id;
        refund.payment_method_id = self.payment_method_id;
        refund.method_kind = self.method_kind;
        refund.processing_id = Some(processing);
        let paid_out = self.funding == FundingStatus::Batched;
        self.refunded += refund.amount.amount;
        if self.refunded >= self.amount.amount {
            self.funding = FundingStatus::Refunded;
        }
        self.modified_at = refund.modified_at;
        Ok(Ok(Refunded { posting: Posting::debit_account(processing, refund.amount), paid_out }))
    }

    fn refuse_refund(&self, amount: Money) -> Option<RefundRefusal> {
        if self.kind != Kind::Payment {
            return Some(RefundRefusal::Payment(format!(
                "Only payments can be refunded; this is a {}",
                self.kind.as_str()
            )));
        }
        match self.status {
            Status::Processed | Status::Processing => {}
            Status::Authorized => {
                return Some(RefundRefusal::Payment(
                    "The payment is only authorized: void it instead".to_owned(),
                ));
            }
            other => {
                return Some(RefundRefusal::Payment(format!(
                    "A {} payment cannot be refunded",
                    other.as_str()
                )));
            }
        }
        if self.funding == FundingStatus::Reversed {
            return Some(RefundRefusal::Payment(
                "The payment was charged back or reversed; there is nothing left to refund".to_owned(),
            ));
        }
        if self.amount.currency != amount.currency {
            return Some(RefundRefusal::Currency(format!(
                "Must be the payment's currency, {}",
                self.amount.currency
            )));
        }
        let left = self.amount.amount - self.refunded;
        (amount.amount > left).then(|| {
            RefundRefusal::Amount(format!(
                "Must be at most {}: the payment's amount less what was already refunded",
                Money::new(left, amount.currency)
            ))
        })
    }

    /// The bank returned the payment's debit with `code` at `now`: the
    /// payment becomes rejected and the processing account bears the whole
    /// amount. `None` for a payment no longer processed (voided meanwhile):
    /// it is left alone.
    pub fn reject(&mut self, code: AchReturn, now: DateTime<Utc>) -> Result<Option<Returned>, Error> {
        if self.kind != Kind::Payment || self.status != Status::Processed {
            return Ok(None);
        }
        let paid_out = self.funding == FundingStatus::Batched;
        self.status = Status::Rejected;
        self.status_code = code.as_str().to_owned();
        self.status_message = format!("The bank returned the payment: {}.", code.message());
        self.funding = FundingStatus::Reversed;
        self.rejected_on = Some(now.date_naive());
        self.modified_at = now;
        let posting = Posting::debit_account(self.processing()?, self.amount);
        Ok(Some(Returned { chargeback: None, posting, amount: self.amount, paid_out }))
    }

    /// The payer disputed the payment at `now`: a chargeback of what was
    /// not refunded, borne by the processing account. `None` when nothing
    /// is left to dispute.
    pub fn charge_back(&mut self, now: DateTime<Utc>) -> Result<Option<Returned>, Error> {
        let disputed = self.amount.amount - self.refunded;
        let open = matches!(self.funding, FundingStatus::Captured | FundingStatus::Batched);
        if self.kind != Kind::Payment
            || self.status != Status::Processed
            || !open
            || disputed <= Decimal::ZERO
        {
            return Ok(None);
        }
        let amount = Money::new(disputed, self.amount.currency);
        let chargeback = Self {
            funding: FundingStatus::Reversed,
            ..self.following(
                Kind::Chargeback,
                amount,
                (
                    "chargeback",
                    "The payer disputed the payment; the card network returned the funds to them.",
                ),
                now,
            )
        };
        let paid_out = self.funding == FundingStatus::Batched;
        self.funding = FundingStatus::Reversed;
        self.modified_at = now;
        let posting = Posting::debit_account(self.processing()?, amount);
        Ok(Some(Returned { chargeback: Some(chargeback), posting, amount, paid_out }))
    }

    /// The dispute behind this chargeback was decided for the processing
    /// account at `now`: a chargeback reversal returns the amount to it
    /// (paid out with the next deposit), with its posting.
    pub fn overturn(&self, now: DateTime<Utc>) -> Result<(Self, Posting), Error> {
        let reversal = self.following(
            Kind::ChargebackReversal,
            self.amount,
            (
                "chargeback_reversed",
                "The dispute was decided for the processing account; the funds are returned.",
            ),
            now,
        );
        let posting = Posting::credit_account(self.processing()?, reversal.amount);
        Ok((reversal, posting))
    }

    /// Takes `amount` back from the processing account of this payment,
    /// which was already paid out: a reversal, with its posting.
    pub fn reversal(&self, amount: Money, now: DateTime<Utc>) -> Result<(Self, Posting), Error> {
        let reversal = Self {
            funding: FundingStatus::Reversed,
            ..self.following(
                Kind::Reversal,
                amount,
                ("reversed", "Debited from the processing account: the payment was already paid out."),
                now,
            )
        };
        let posting = Posting::credit_account(self.processing()?, amount);
        Ok((reversal, posting))
    }

    /// The transaction was taken in a deposit at `now`.
    pub fn batch(&mut self, now: DateTime<Utc>) {
        self.funding = FundingStatus::Batched;
        self.modified_at = now;
    }

    /// The delivery date of an intent's payment if it is paid out `today`:
    /// settled and not yet paid out, its date come, and `today` a business
    /// day of its rail.
    pub fn payout_due(&self, today: NaiveDate) -> Option<NaiveDate> {
        let due = self.status == Status::Processed
            && self.funding == FundingStatus::Captured
            && !self.settlement_held;
        let rail = self.payout_method.unwrap_or(PayoutMethod::for_currency(self.amount.currency));
        self.delivery_date.filter(|d| due && *d <= today && pays_out_on(today, rail))
    }

    /// A deposit of `items` (in `currency`) as `payout` says, through
    /// `connector` at `now`, with the posting that pays the account: each
    /// item's [`Transaction::deposit_share`], fees withheld when netted.
    /// `None` when they do not add up to more than zero (they wait for
    /// more).
    pub fn deposit(
        livemode: bool,
        (items, currency): (&[Self], Currency),
        payout: &Payout,
        connector: &str,
        now: DateTime<Utc>,
    ) -> Option<(Self, Posting)> {
        let total: Decimal = items.iter().map(|t| t.deposit_share(payout.netted)).sum();
        if total <= Decimal::ZERO {
            return None;
        }
        let withheld: Decimal = if payout.netted {
            items.iter().filter(|t| t.kind == Kind::Payment).map(|t| t.fee.amount).sum()
        } else {
            Decimal::ZERO
        };
        let deposit = Self {
            status_code: "deposited".to_owned(),
            status_message: if payout.netted {
                "Paid out to the processing account, fees withheld.".to_owned()
            } else {
                "Paid out to the processing account in full; fees are billed monthly.".to_owned()
            },
            fee: Money::new(withheld, currency),
            funding: FundingStatus::Batched,
            processing_id: Some(payout.processing),
            delivery_date: Some(payout.date),
            payout_method: payout.method,
            ..Self::new(livemode, Kind::Deposit, Money::new(total, currency), connector, now)
        };
        let posting = Posting::debit_account(payout.processing, deposit.amount);
        Some((deposit, posting))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::connector::RiskFlag;

    fn usd(cents: i64) -> Money {
        Money::new(Decimal::new(cents, 2), Currency::Usd)
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 9, 8, 15, 0, 0).unwrap()
    }

    const SAFE: Risk = Risk { score: Decimal::ZERO, flag: RiskFlag::Allowed };

    /// A card payment of `cents` captured now, for a fresh processing account.
    fn card_payment(cents: i64) -> Transaction {
        let mut payment = Transaction {
            processing_id: Some(Uuid::now_v7()),
            method_kind: Some(MethodKind::Card),
            ..Transaction::payment(false, usd(cents), "test", now())
        };
        payment.approve("auth".to_owned(), SAFE, false, now()).unwrap();
        payment
    }

    fn authorized() -> Transaction {
        let mut payment = Transaction { processing_id: Some(Uuid::now_v7()), ..card_payment(1_000) };
        payment.status = Status::Authorized;
        payment.funding = FundingStatus::Pending;
        payment
    }

    #[test]
    fn an_approved_card_payment_is_processed_and_a_bank_payment_settles_later() {
        let card = card_payment(10_000);
        assert_eq!((card.status, card.funding), (Status::Processed, FundingStatus::Captured));
        assert_eq!(card.settled_at, Some(now()));

        let mut bank = Transaction {
            processing_id: Some(Uuid::now_v7()),
            method_kind: Some(MethodKind::BankAccount),
            ..Transaction::payment(false, usd(10_000), "test", now())
        };
        let posting = bank.approve("auth".to_owned(), SAFE, false, now()).unwrap();
        assert!(posting.is_some());
        assert_eq!(bank.status, Status::Processing);
        assert_eq!(bank.settled_at, None);
        assert_eq!(bank.settles_at, Some(settles_at(now(), Currency::Usd)));
        let later = now() + chrono::TimeDelta::days(1);
        assert!(bank.settle(later));
        assert_eq!(
            (bank.status, bank.settled_at, bank.status_code.as_str()),
            (Status::Processed, Some(later), "settled")
        );
        assert!(!bank.settle(later), "a processed payment settles once");
    }

    #[test]
    fn a_declined_payment_moves_nothing_and_owes_no_fee() {
        let mut payment = Transaction { fee: usd(30), cust_conv_fee: usd(290), ..card_payment(10_290) };
        payment.decline(DeclineCode::InsufficientBal, SAFE);
        assert_eq!((payment.status, payment.funding), (Status::Declined, FundingStatus::Pending));
        assert_eq!(payment.status_code, "insufficient_bal");
        assert_eq!((payment.fee, payment.cust_conv_fee, payment.delivery_fee), (usd(0), usd(0), usd(0)));
    }

    #[test]
    fn an_authorized_payment_is_captured_once_and_voids_move_nothing_until_captured() {
        let mut payment = Transaction::payment(false, usd(500), "test", now());
        payment.processing_id = Some(Uuid::now_v7());
        assert_eq!(payment.approve("auth".to_owned(), SAFE, true, now()).unwrap(), None);
        assert_eq!(payment.status, Status::Authorized);
        let mut voided = payment.clone();
        assert_eq!(voided.void(now()).unwrap(), Ok(None));
        assert_eq!((voided.status, voided.funding), (Status::Voided, FundingStatus::Pending));

        let posting = payment.capture(now()).unwrap().unwrap();
        assert_eq!(posting, Posting::capture(payment.processing().unwrap(), usd(500), usd(0), usd(0)));
        assert!(payment.capture(now()).unwrap().unwrap_err().contains("Only an authorized payment"));
        // Voiding after capture undoes the capture's posting.
        assert_eq!(payment.void(now()).unwrap(), Ok(Some(posting.reversed())));
        assert_eq!(payment.funding, FundingStatus::Reversed);
    }

    #[test]
    fn status_changes_follow_the_lifecycle() {
        use FundingStatus as F;
        use StatusChange::{Capture, Void};
        let with = |status, funding, refunded| Transaction { status, funding, refunded, ..authorized() };
        assert_eq!(with(Status::Authorized, F::Pending, Decimal::ZERO).refuse(Capture), None);
        assert_eq!(with(Status::Authorized, F::Pending, Decimal::ZERO).refuse(Void), None);
        assert_eq!(with(Status::Processed, F::Captured, Decimal::ZERO).refuse(Void), None);
        assert_eq!(with(Status::Processing, F::Captured, Decimal::ZERO).refuse(Void), None);
        for (status, funding, change) in [
            (Status::Processed, F::Captured, Capture),
            (Status::Declined, F::Pending, Void),
            (Status::Voided, F::Pending, Void),
            (Status::Processed, F::Refunded, Void),
            (Status::Processed, F::Batched, Void),
        ] {
            assert!(with(status, funding, Decimal::ZERO).refuse(change).is_some(), "{status:?} {change:?}");
        }
        let partly_refunded = with(Status::Processed, F::Captured, Decimal::ONE).refuse(Void);
        assert!(partly_refunded.unwrap().contains("partly refunded"));
        let refund = Transaction { kind: Kind::Refund, ..with(Status::Processed, F::Pending, Decimal::ZERO) };
        assert!(refund.refuse(Void).is_some());
    }

    #[test]
    fn refunds_never_exceed_what_is_left_and_a_full_refund_says_so() {
        let mut payment = card_payment(1_000);
        let mut refund = Transaction::refund_of(false, usd(400), "test", now());
        let refunded = payment.refund(&mut refund).unwrap().unwrap();
        assert_eq!(
            refunded,
            Refunded {
                posting: Posting::debit_account(payment.processing().unwrap(), usd(400)),
                paid_out: false
            }
        );
        assert_eq!((refund.processing_id, refund.method_kind), (payment.processing_id, payment.method_kind));
        assert_eq!((payment.refunded, payment.funding), (Decimal::new(400, 2), FundingStatus::Captured));

        let mut too_much = Transaction::refund_of(false, usd(601), "test", now());
        let refused = payment.refund(&mut too_much).unwrap().unwrap_err();
        assert_eq!(
            refused,
            RefundRefusal::Amount(
                "Must be at most 6.00 USD: the payment's amount less what was already refunded".to_owned()
            )
        );
        let mut cad = Transaction::refund_of(false, Money::new(Decimal::ONE, Currency::Cad), "test", now());
        assert!(matches!(payment.refund(&mut cad).unwrap(), Err(RefundRefusal::Currency(_))));

        // Paid out, then refunded in full: a reversal must follow.
        payment.batch(now());
        let mut rest = Transaction::refund_of(false, usd(600), "test", now());
        assert!(payment.refund(&mut rest).unwrap().unwrap().paid_out);
        assert_eq!(payment.funding, FundingStatus::Refunded);

        for status in [Status::Authorized, Status::Declined, Status::Voided] {
            let mut refund = Transaction::refund_of(false, usd(1), "test", now());
            let mut payment = Transaction { status, ..card_payment(1_000) };
            assert!(
                matches!(payment.refund(&mut refund).unwrap(), Err(RefundRefusal::Payment(_))),
                "{status:?}"
            );
        }
    }

    #[test]
    fn a_bank_return_rejects_the_payment_and_a_chargeback_disputes_what_was_not_refunded() {
        let mut payment = card_payment(1_000);
        let returned = payment.reject(AchReturn::R01, now()).unwrap().unwrap();
        assert_eq!((payment.status, payment.funding), (Status::Rejected, FundingStatus::Reversed));
        assert_eq!(payment.status_message, "The bank returned the payment: Insufficient funds.");
        assert_eq!((returned.amount, returned.paid_out, returned.chargeback), (usd(1_000), false, None));
        assert_eq!(payment.reject(AchReturn::R01, now()).unwrap(), None, "a payment is returned once");

        let mut disputed = Transaction { refunded: Decimal::new(250, 2), ..card_payment(1_000) };
        disputed.batch(now());
        let returned = disputed.charge_back(now()).unwrap().unwrap();
        let chargeback = returned.chargeback.clone().unwrap();
        assert_eq!(
            (chargeback.kind, chargeback.amount, returned.paid_out),
            (Kind::Chargeback, usd(750), true)
        );
        assert_eq!(chargeback.processing_id, disputed.processing_id);
        assert_eq!(disputed.funding, FundingStatus::Reversed);
        assert_eq!(disputed.charge_back(now()).unwrap(), None, "nothing is left to dispute");

        let (overturned, posting) = chargeback.overturn(now()).unwrap();
        assert_eq!((overturned.kind, overturned.amount), (Kind::ChargebackReversal, usd(750)));
        assert_eq!(posting, Posting::credit_account(chargeback.processing().unwrap(), usd(750)));
    }

    #[test]
    fn deposits_pay_the_accounts_share_net_or_gross() {
        // 100.00 + 2.90 paid by the payer; 0.30 borne by the account; 10.00 refunded.
        let payment = Transaction {
            fee: usd(30),
            cust_conv_fee: usd(290),
            refunded: Decimal::new(1_000, 2),
            ..card_payment(10_290)
        };
        assert_eq!(payment.deposit_share(true), Decimal::new(8_970, 2));
        assert_eq!(payment.deposit_share(false), Decimal::new(9_000, 2));
        let reversal = Transaction::new(false, Kind::ChargebackReversal, usd(5_000), "test", now());
        assert_eq!(reversal.deposit_share(true), Decimal::new(5_000, 2));
        // Refunded beyond the account's share: negative, netted in the deposit.
        let refunded = Transaction {
            cust_conv_fee: usd(290),
            refunded: Decimal::new(10_200, 2),
            ..card_payment(10_290)
        };
        assert_eq!(refunded.deposit_share(true), Decimal::new(-200, 2));
        // An expedited intent: 100.00 + 2.90 service fee + 29.50 delivery fees.
        let expedited =
            Transaction { cust_conv_fee: usd(290), delivery_fee: usd(2_950), ..card_payment(13_240) };
        assert_eq!(expedited.deposit_share(true), Decimal::new(10_000, 2));

        let payout =
            Payout { processing: Uuid::now_v7(), method: None, date: now().date_naive(), netted: true };
        let (deposit, posting) = Transaction::deposit(
            false,
            (&[payment.clone(), reversal], Currency::Usd),
            &payout,
            "test",
            now(),
        )
        .unwrap();
        assert_eq!(
            (deposit.amount, deposit.fee, deposit.funding),
            (usd(13_970), usd(30), FundingStatus::Batched)
        );
        assert_eq!(posting, Posting::debit_account(payout.processing, usd(13_970)));
        assert_eq!(Transaction::deposit(false, (&[refunded], Currency::Usd), &payout, "test", now()), None);
    }

    #[test]
    fn an_intents_payment_is_paid_out_on_its_delivery_date_on_a_business_day_of_its_rail() {
        let labor_day = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
        let payment = Transaction {
            delivery_date: Some(labor_day),
            payout_method: Some(PayoutMethod::Ach),
            ..card_payment(1_000)
        };
        assert_eq!(payment.payout_due(labor_day.pred_opt().unwrap()), None, "not yet due");
        assert_eq!(payment.payout_due(labor_day), None, "no ACH on Labor Day");
        let tuesday = labor_day.succ_opt().unwrap();
        assert_eq!(payment.payout_due(tuesday), Some(labor_day));
        let paid = Transaction { funding: FundingStatus::Batched, ..payment };
        assert_eq!(paid.payout_due(tuesday), None, "paid out once");
    }
}
