//! A payment intent's status: what the pieces it names are like, and every
//! reason it cannot be captured yet.

use chrono::{DateTime, Utc};
use paymesh_kit::money::Money;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{delivery::PayoutMethod, pricing::FundingType};

/// Where an intent stands, as stored. `EXPIRED` is never stored: an
/// incomplete or capturable intent past its expiry reads as expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Something is missing or unusable.
    Incomplete,
    /// Complete; a payment may use it before it expires.
    Capturable,
    /// Read after its expiry.
    Expired,
    /// A payment used it.
    Captured,
    /// Canceled by the partner.
    Canceled,
}

impl Status {
    /// Every status.
    pub const ALL: [Self; 5] =
        [Self::Incomplete, Self::Capturable, Self::Expired, Self::Captured, Self::Canceled];

    /// The wire and storage name, e.g. `CAPTURABLE`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "INCOMPLETE",
            Self::Capturable => "CAPTURABLE",
            Self::Expired => "EXPIRED",
            Self::Captured => "CAPTURED",
            Self::Canceled => "CANCELED",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// How a stored status reads at `now`, given the intent's expiry.
    pub fn at(self, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Self {
        match self {
            Self::Incomplete | Self::Capturable if now > expires_at => Self::Expired,
            other => other,
        }
    }

    /// Whether the intent may still change (neither captured, canceled
    /// nor expired).
    pub const fn is_open(self) -> bool {
        matches!(self, Self::Incomplete | Self::Capturable)
    }
}

/// One reason an intent is not capturable.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reason {
    /// A stable code, e.g. `payer_required`.
    pub code: String,
    /// The attribute it is about, e.g. `payer`.
    pub field: String,
    /// What to do, for people.
    pub message: String,
}

impl Reason {
    fn new(code: &str, field: &str, message: impl Into<String>) -> Self {
        Self { code: code.to_owned(), field: field.to_owned(), message: message.into() }
    }
}

/// What the payer is like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payer {
    /// The payer's id.
    pub id: Uuid,
    /// The payer's name (the default account name of remittance details).
    pub name: String,
    /// Whether the payer's KYC is verified.
    pub kyc_verified: bool,
    /// Whether the payer was deleted since it was chosen.
    pub deleted: bool,
}

impl Payer {
    /// A payer chosen earlier and deleted since.
    pub const fn deleted(id: Uuid) -> Self {
        Self { id, name: String::new(), kyc_verified: false, deleted: true }
    }
}

/// What the recipient is like, as the payer sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// The recipient's id.
    pub id: Uuid,
    /// Whether the payer (when there is one) may see and pay it.
    pub visible: bool,
    /// Whether its processing account is active.
    pub active: bool,
    /// How it is paid, once set.
    pub payout: Option<PayoutMethod>,
    /// Whether the recipient was deleted since it was chosen.
    pub deleted: bool,
}

impl Recipient {
    /// A recipient chosen earlier and deleted since.
    pub const fn deleted(id: Uuid) -> Self {
        Self { id, visible: true, active: false, payout: None, deleted: true }
    }
}

/// What the payment method is like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Method {
    /// The account that owns it; `None` for a method on no account (a
    /// token), which is no payer's.
    pub owner: Option<Uuid>,
    /// How it funds a payment.
    pub funding: FundingType,
    /// Whether its expiry (cards) has passed.
    pub expired: bool,
    /// Whether it was deleted since it was chosen.
    pub deleted: bool,
}

impl Method {
    /// A method chosen earlier and deleted since.
    pub const fn deleted(owner: Option<Uuid>) -> Self {
        Self { owner, funding: FundingType::Credit, expired: false, deleted: true }
    }
}

/// The limits an intent is held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest target amount.
    pub max_amount: Decimal,
    /// Above this target amount the payer's KYC must be verified.
    pub kyc_threshold: Decimal,
}

/// The pieces an intent names, looked up.
#[derive(Clone, Debug, Default)]
pub struct Pieces {
    /// The payer, if chosen.
    pub payer: Option<Payer>,
    /// The recipient, if chosen.
    pub recipient: Option<Recipient>,
    /// The payment method, if chosen.
    pub method: Option<Method>,
    /// The target amount, if given.
    pub amount: Option<Money>,
}

/// Every reason the pieces do not make a capturable intent, in the order
/// payer, recipient, payment method, amount; none when they do.
pub fn reasons(pieces: &Pieces, limits: Limits) -> Vec<Reason> {
    let mut reasons = Vec::new();
    match &pieces.payer {
        None => reasons.push(Reason::new("payer_required", "payer", "Choose the payer, a customer account")),
        Some(payer) if payer.deleted => {
            reasons.push(Reason::new("payer_deleted", "payer", "The payer was deleted; choose another"));
        }
        Some(payer) => {
            if let Some(amount) = pieces.amount
                && amount.amount > limits.kyc_threshold
                && !payer.kyc_verified
            {
                reasons.push(Reason::new(
                    "kyc_required",
                    "payer",
                    format!(
                        "Payments above {} need the payer's identity verified; upload an identity document",
                        Money::new(limits.kyc_threshold, amount.currency)
                    ),
                ));
            }
        }
    }
    match &pieces.recipient {
        None => reasons.push(Reason::new(
            "recipient_required",
            "recipient",
            "Choose the recipient, a processing account",
        )),
        Some(recipient) if recipient.deleted => {
            reasons.push(Reason::new(
                "recipient_deleted",
                "recipient",
                "The recipient was deleted; choose another",
            ));
        }
        Some(recipient) => {
            if !recipient.visible {
                reasons.push(Reason::new(
                    "recipient_not_visible",
                    "recipient",
                    "The payer may not pay this recipient: it is private to another payer",
                ));
            }
            if !recipient.active {
                reasons.push(Reason::new(
                    "recipient_not_active",
                    "recipient",
                    "The recipient's processing account is not active yet",
                ));
            }
            match (recipient.payout, pieces.amount.map(|a| a.currency)) {
                (None, _) => reasons.push(Reason::new(
                    "recipient_payout_method_required",
                    "recipient",
                    "The recipient has no payout method yet",
                )),
                (Some(payout), Some(currency)) if payout.currency() != currency => {
                    reasons.push(Reason::new(
                        "currency_not_supported",
                        "target_amount",
                        if payout == PayoutMethod::Eft {
                            "EFT pays Canadian dollars: use CAD for this recipient".to_owned()
                        } else {
                            format!(
                                "Only EFT pays Canadian dollars; this recipient is paid by {}",
                                payout.as_str()
                            )
                        },
                    ));
                }
                _ => {}
            }
        }
    }
    match &pieces.method {
        None => reasons.push(Reason::new(
            "payment_method_required",
            "payment_method",
            "Choose the payment method, a card or bank account of the payer",
        )),
        Some(method) => {
            if method.deleted {
                reasons.push(Reason::new(
                    "payment_method_deleted",
                    "payment_method",
                    "The payment method was deleted",
                ));
            } else if pieces.payer.as_ref().is_some_and(|p| !p.deleted && Some(p.id) != method.owner) {
                reasons.push(Reason::new(
                    "payment_method_not_payers",
                    "payment_method",
                    "The payment method belongs to another account than the payer",
                ));
            }
            if method.expired {
                reasons.push(Reason::new("payment_method_expired", "payment_method", "The card has expired"));
            }
        }
    }
    match pieces.amount {
        None => {
            reasons.push(Reason::new("target_amount_required", "target_amount", "Give the amount to pay"))
        }
        Some(amount) if amount.amount > limits.max_amount => reasons.push(Reason::new(
            "amount_over_limit",
            "target_amount",
            format!("Payments are limited to {}", Money::new(limits.max_amount, amount.currency)),
        )),
        Some(_) => {}
    }
    reasons
}

#[cfg(test)]
mod tests {
    use paymesh_kit::money::Currency;

    use super::*;

    const LIMITS: Limits = Limits {
        max_amount: Decimal::from_parts(25_000, 0, 0, false, 0),
        kyc_threshold: Decimal::from_parts(3_000, 0, 0, false, 0),
    };

    fn complete() -> Pieces {
        let payer = Uuid::now_v7();
        Pieces {
            payer: Some(Payer { id: payer, name: "Matt Perez".into(), kyc_verified: false, deleted: false }),
            recipient: Some(Recipient {
                id: Uuid::now_v7(),
                visible: true,
                active: true,
                payout: Some(PayoutMethod::Ach),
                deleted: false,
            }),
            method: Some(Method {
                owner: Some(payer),
                funding: FundingType::Credit,
                expired: false,
                deleted: false,
            }),
            amount: Some(Money::new(Decimal::ONE_HUNDRED, Currency::Usd)),
        }
    }

    fn codes(pieces: &Pieces) -> Vec<String> {
        reasons(pieces, LIMITS).into_iter().map(|r| r.code).collect()
    }

    #[test]
    fn a_complete_intent_has_no_reasons() {
        assert!(codes(&complete()).is_empty());
    }

    #[test]
    fn an_empty_intent_names_every_missing_piece() {
        assert_eq!(
            codes(&Pieces::default()),
            ["payer_required", "recipient_required", "payment_method_required", "target_amount_required"]
        );
    }

    #[test]
    fn every_unusable_piece_is_named() {
        let mut pieces = complete();
        pieces.amount = Some(Money::new(Decimal::from(30_000), Currency::Cad));
        let recipient = pieces.recipient.as_mut().unwrap();
        recipient.visible = false;
        recipient.active = false;
        let method = pieces.method.as_mut().unwrap();
        method.owner = Some(Uuid::now_v7());
        method.expired = true;
        assert_eq!(
            codes(&pieces),
            [
                "kyc_required",
                "recipient_not_visible",
                "recipient_not_active",
                "currency_not_supported",
                "payment_method_not_payers",
                "payment_method_expired",
                "amount_over_limit"
            ]
        );
    }

    #[test]
    fn pieces_deleted_since_they_were_chosen_are_named_alone() {
        let mut pieces = complete();
        let payer = pieces.payer.as_ref().unwrap().id;
        pieces.payer = Some(Payer::deleted(payer));
        pieces.recipient = Some(Recipient::deleted(Uuid::now_v7()));
        pieces.method = Some(Method::deleted(Some(payer)));
        assert_eq!(codes(&pieces), ["payer_deleted", "recipient_deleted", "payment_method_deleted"]);
    }

    #[test]
    fn kyc_is_needed_above_the_threshold_only() {
        let mut pieces = complete();
        pieces.amount = Some(Money::new(Decimal::from(3_000), Currency::Usd));
        assert!(codes(&pieces).is_empty(), "the threshold itself needs no KYC");
        pieces.amount = Some(Money::new(Decimal::new(300_001, 2), Currency::Usd));
        assert_eq!(codes(&pieces), ["kyc_required"]);
        pieces.payer.as_mut().unwrap().kyc_verified = true;
        assert!(codes(&pieces).is_empty());
    }

    #[test]
    fn eft_pays_cad_and_only_eft_does() {
        let mut pieces = complete();
        pieces.recipient.as_mut().unwrap().payout = Some(PayoutMethod::Eft);
        assert_eq!(codes(&pieces), ["currency_not_supported"]);
        pieces.amount = Some(Money::new(Decimal::ONE_HUNDRED, Currency::Cad));
        assert!(codes(&pieces).is_empty());
        pieces.recipient.as_mut().unwrap().payout = None;
        assert_eq!(codes(&pieces), ["recipient_payout_method_required"]);
    }

    #[test]
    fn expiry_shows_on_open_intents_only() {
        let now = Utc::now();
        let past = now - chrono::Duration::seconds(1);
        assert_eq!(Status::Capturable.at(now, past), Status::Expired);
        assert_eq!(Status::Incomplete.at(now, past), Status::Expired);
        assert_eq!(Status::Captured.at(now, past), Status::Captured);
        assert_eq!(Status::Capturable.at(now, now), Status::Capturable, "the expiry itself still counts");
    }
}
