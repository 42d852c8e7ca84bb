//! Connectors: what charges a card or debits a bank account. The payments
//! service talks to one [`Connector`]; test mode always uses the built-in
//! [`test_processor::TestProcessor`], live mode the connector an operator
//! configures (with none, live payments fail with a clear error and
//! nothing is charged).

pub mod test_processor;

use std::fmt;

use chrono::NaiveDate;
use paymesh_kit::{future::BoxFuture, money::Money};
use rust_decimal::Decimal;
use uuid::Uuid;

/// What is charged: the full numbers, as the methods service releases them to the
/// payments service for the payment in flight. Never logged: `Debug`
/// shows the last four digits only.
#[derive(Clone, PartialEq, Eq)]
pub enum Instrument {
    /// A card.
    Card {
        /// The card number, digits only.
        number: String,
        /// The last month the card is good for, as (year, month); `None`
        /// for a card charged without an expiry (not kept on file).
        expiry: Option<(i32, u32)>,
        /// The billing postal code, if the method has one.
        postal_code: Option<String>,
        /// Whether the BIN table says the card is prepaid.
        prepaid: bool,
    },
    /// A US or Canadian bank account.
    BankAccount {
        /// The account number, digits only.
        account_number: String,
    },
}

impl fmt::Debug for Instrument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last4 = |digits: &str| digits.get(digits.len().saturating_sub(4)..).unwrap_or("").to_owned();
        match self {
            Self::Card { number, expiry: Some((year, month)), .. } => {
                write!(f, "Card(x-{}, {month:02}/{year})", last4(number))
            }
            Self::Card { number, expiry: None, .. } => write!(f, "Card(x-{})", last4(number)),
            Self::BankAccount { account_number } => write!(f, "BankAccount(x-{})", last4(account_number)),
        }
    }
}

/// One charge asked of a connector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    /// The connector's idempotency reference: the payment's id. Asking
    /// again with the same reference answers what the first ask did and
    /// never authorizes twice (a live connector sends it as the processor's
    /// idempotency key).
    pub reference: Uuid,
    /// What to charge, fees included.
    pub amount: Money,
    /// What to charge it to.
    pub instrument: Instrument,
    /// The day it is made, on the service's clock (expiry is judged on it).
    pub today: NaiveDate,
}

paymesh_kit::words! {
    /// Why a card was declined: the codes of the Payload reference, in the
    /// order of its table; the word is the declined transaction's
    /// `status_code`.
    pub enum DeclineCode {
        /// The card has expired.
        CardExpired = "card_expired",
        /// The transaction appears to be a duplicate attempt.
        DuplicateAttempt = "duplicate_attempt",
        /// The amount exceeds the allowed limit for the account.
        ExceededLimit = "exceeded_limit",
        /// Declined by the issuer.
        GeneralDecline = "general_decline",
        /// Not enough balance.
        InsufficientBal = "insufficient_bal",
        /// The security code is invalid.
        InvalidCardCode = "invalid_card_code",
        /// The card number is invalid.
        InvalidCardNumber = "invalid_card_number",
        /// The ZIP code does not match the card.
        InvalidZip = "invalid_zip",
        /// Identified as suspicious.
        SuspiciousActivity = "suspicious_activity",
        /// Too many attempts.
        TooManyAttempts = "too_many_attempts",
    }
}

impl DeclineCode {
    /// The `status_message` of a declined transaction.
    pub const fn message(self) -> &'static str {
        match self {
            Self::CardExpired => "The card has expired.",
            Self::DuplicateAttempt => {
                "This transaction appears be a duplicate attempt and has been prevented."
            }
            Self::ExceededLimit => {
                "The amount of the transaction exceeds the allowed limit for this account."
            }
            Self::GeneralDecline => "The card has been declined, contact card issuer for more information.",
            Self::InsufficientBal => "The card does not have a sufficient balance to complete the payment.",
            Self::InvalidCardCode => "The security code is invalid, please check the number.",
            Self::InvalidCardNumber => "The card number is invalid, please check the number.",
            Self::InvalidZip => "The ZIP Code does not match the card.",
            Self::SuspiciousActivity => "This transaction has been identified as suspicious.",
            Self::TooManyAttempts => "Too many payment attempts have been made, please try again later.",
        }
    }
}

/// How risky a payment looks: a score from −1 (safe) to 1, and the flag
/// it earns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Risk {
    /// The score, two decimal places.
    pub score: Decimal,
    /// The flag of the score.
    pub flag: RiskFlag,
}

paymesh_kit::words! {
    /// What a risk score means for the payment (Payload's `risk_flag`).
    pub enum RiskFlag {
        /// Processed normally.
        Allowed = "allowed",
        /// Processed, and listed for the partner to review.
        InReview = "in_review",
        /// Refused (declined as `suspicious_activity`).
        Denied = "denied",
    }
}

/// What a connector answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The charge is authorized.
    Approved {
        /// The connector's reference of the authorization.
        authorization: String,
        /// The payment's risk.
        risk: Risk,
    },
    /// The charge is declined.
    Declined {
        /// Why.
        code: DeclineCode,
        /// The payment's risk.
        risk: Risk,
    },
}

/// Why a connector could not answer at all (nothing was charged).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The connector is unreachable or failed; retrying may work.
    #[error("the payment connector is unavailable: {0}")]
    Unavailable(String),
}

paymesh_kit::words! {
    /// An ACH return: why a bank refused a debit after it was accepted;
    /// the word is its NACHA return code.
    pub enum AchReturn {
        /// Insufficient funds.
        R01 = "R01",
        /// Account closed.
        R02 = "R02",
        /// No account, or unable to locate the account.
        R03 = "R03",
    }
}

impl AchReturn {
    /// The NACHA description.
    pub const fn message(self) -> &'static str {
        match self {
            Self::R01 => "Insufficient funds",
            Self::R02 => "Account closed",
            Self::R03 => "No account or unable to locate account",
        }
    }
}

/// What happens to an approved payment after it settles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aftermath {
    /// Nothing more.
    None,
    /// The bank returns the debit, some business days after settlement.
    BankReject {
        /// The return code.
        code: AchReturn,
        /// Business days after settlement.
        after_business_days: u32,
    },
    /// The payer disputes the card payment, some days after settlement;
    /// the dispute may later be overturned.
    Chargeback {
        /// Days after settlement.
        after_days: u32,
        /// Days after the chargeback when it is overturned, if it is.
        reversed_after_days: Option<u32>,
    },
}

/// A payment processor.
pub trait Connector: Send + Sync + fmt::Debug {
    /// The connector's name, for transactions and logs.
    fn name(&self) -> &'static str;

    /// Authorizes `charge`, once per [`Charge::reference`].
    fn authorize<'a>(&'a self, charge: &'a Charge) -> BoxFuture<'a, Result<Outcome, ConnectorError>>;

    /// Voids what was authorized for `reference`, if anything: a payment
    /// paymesh could not finish must leave no authorization behind. Voiding
    /// a reference never authorized, or already voided, succeeds.
    fn void(&self, reference: Uuid) -> BoxFuture<'_, Result<(), ConnectorError>>;

    /// What will happen to an approved payment to `instrument` after it
    /// settles (the test processor's scripted returns and disputes; live
    /// connectors report them as they come, and answer `None` here).
    fn aftermath(&self, instrument: &Instrument) -> Aftermath;
}
