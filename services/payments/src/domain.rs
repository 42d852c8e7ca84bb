//! The rules of transactions with no I/O: kinds, statuses, which status
//! changes are allowed, and the ledger postings each money movement writes.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use paymesh_kit::money::{Currency, Money};
use rust_decimal::Decimal;
use uuid::Uuid;

/// Declares a closed set of wire words: the enum, `as_str`, `parse`, `ALL`.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &[Self] = &[$(Self::$variant,)+];

            /// The wire word.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }

            /// The value named `word`.
            pub fn parse(word: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == word)
            }
        }
    };
}

words! {
    /// What kind of movement a transaction is.
    Kind {
        /// Money taken from a payer.
        Payment = "payment",
        /// Money returned to a payer.
        Refund = "refund",
        /// Money paid out to a processing account.
        Deposit = "deposit",
        /// A deposit taken back.
        Reversal = "reversal",
        /// A disputed card payment.
        Chargeback = "chargeback",
        /// A dispute decided for the processing account.
        ChargebackReversal = "chargeback_reversal",
    }
}

words! {
    /// Where a transaction stands.
    Status {
        /// Approved and held, not captured.
        Authorized = "authorized",
        /// Accepted, not settled (bank payments).
        Processing = "processing",
        /// Done.
        Processed = "processed",
        /// Refused by the processor.
        Declined = "declined",
        /// Canceled before it settled.
        Voided = "voided",
        /// Returned by the bank.
        Rejected = "rejected",
    }
}

words! {
    /// Where a payment's money stands for the processing account.
    FundingStatus {
        /// Not captured.
        Pending = "pending",
        /// Captured, not paid out.
        Captured = "captured",
        /// In a deposit.
        Batched = "batched",
        /// Refunded in full.
        Refunded = "refunded",
        /// Taken back.
        Reversed = "reversed",
    }
}

pub use paymesh_kit::payout::PayoutMethod;

/// What a payment method is, for settlement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodKind {
    /// A card: processed at capture.
    Card,
    /// A bank account: processing until it settles.
    BankAccount,
}

impl MethodKind {
    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::BankAccount => "bank_account",
        }
    }

    /// The kind stored as `word`.
    pub fn parse(word: &str) -> Option<Self> {
        [Self::Card, Self::BankAccount].into_iter().find(|k| k.as_str() == word)
    }

    /// The status of a payment of this kind once captured.
    pub const fn captured_status(self) -> Status {
        match self {
            Self::Card => Status::Processed,
            Self::BankAccount => Status::Processing,
        }
    }
}

/// A change a caller asks of a payment's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusChange {
    /// Capture an authorized payment.
    Capture,
    /// Void a payment that has not settled.
    Void,
}

/// Why a status change is refused, in the caller's words.
pub fn refuse_change(
    kind: Kind,
    status: Status,
    funding: FundingStatus,
    refunded: Decimal,
    change: StatusChange,
) -> Option<String> {
    if kind != Kind::Payment {
        return Some(format!("Only payments can change status; this is a {}", kind.as_str()));
    }
    match (change, status) {
        (StatusChange::Capture, Status::Authorized) => None,
        (StatusChange::Capture, other) => {
            Some(format!("Only an authorized payment can be captured; this one is {}", other.as_str()))
        }
        (StatusChange::Void, Status::Authorized | Status::Processing | Status::Processed)
            if refunded > Decimal::ZERO =>
        {
            Some("The payment was partly refunded; refund what is left instead of voiding it".to_owned())
        }
        (StatusChange::Void, Status::Authorized | Status::Processing) => None,
        (StatusChange::Void, Status::Processed) if funding == FundingStatus::Captured => None,
        (StatusChange::Void, Status::Processed) => {
            Some("The payment was refunded or paid out; refund what is left instead of voiding it".to_owned())
        }
        (StatusChange::Void, other) => Some(format!("A {} payment cannot be voided", other.as_str())),
    }
}

/// The ledger accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Account {
    /// What the processor owes the platform (an asset: debits positive).
    ProcessorClearing,
    /// The platform's fee revenue.
    PlatformFees,
    /// What the platform owes a processing account.
    ProcessingAccount(Uuid),
}

impl Account {
    /// The stored name, e.g. `processing_account:0192…`.
    pub fn name(self) -> String {
        match self {
            Self::ProcessorClearing => "processor_clearing".to_owned(),
            Self::PlatformFees => "platform_fees".to_owned(),
            Self::ProcessingAccount(id) => format!("processing_account:{id}"),
        }
    }
}

/// One line of a posting: a signed amount on an account (debit positive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The account.
    pub account: Account,
    /// The signed amount.
    pub amount: Money,
}

/// The entries of one money movement; they sum to zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting(Vec<Entry>);

impl Posting {
    /// A posting from `entries`, zero lines dropped. Refuses entries that
    /// do not balance or mix currencies (a bug, never a caller's error).
    fn new(entries: Vec<Entry>) -> Self {
        let entries: Vec<Entry> = entries.into_iter().filter(|e| !e.amount.amount.is_zero()).collect();
        let sum: Decimal = entries.iter().map(|e| e.amount.amount).sum();
        assert!(sum.is_zero(), "unbalanced posting: {entries:?}");
        assert!(
            entries.windows(2).all(|w| w[0].amount.currency == w[1].amount.currency),
            "posting mixes currencies: {entries:?}"
        );
        Self(entries)
    }

    /// A captured payment: the processor owes the whole amount; the
    /// processing account is owed it less every fee; the platform earns
    /// the fees: the account's (`fee`) and what the payer paid on top
    /// (`payer_fees`: the convenience fee and any delivery fee).
    pub fn capture(processing: Uuid, amount: Money, fee: Money, payer_fees: Money) -> Self {
        let fees = fee.amount + payer_fees.amount;
        let c = amount.currency;
        Self::new(vec![
            Entry { account: Account::ProcessorClearing, amount },
            Entry {
                account: Account::ProcessingAccount(processing),
                amount: Money::new(fees - amount.amount, c),
            },
            Entry { account: Account::PlatformFees, amount: Money::new(-fees, c) },
        ])
    }

    /// Money that leaves processor clearing on the processing account's
    /// behalf: a refund, a bank return or a chargeback the account bears
    /// (fees are not returned), or a deposit paid out to it.
    pub fn debit_account(processing: Uuid, amount: Money) -> Self {
        Self::new(vec![
            Entry { account: Account::ProcessingAccount(processing), amount },
            Entry {
                account: Account::ProcessorClearing,
                amount: Money::new(-amount.amount, amount.currency),
            },
        ])
    }

    /// Money that comes back into processor clearing for the processing
    /// account: a reversal drawn from its bank account, or an overturned
    /// chargeback returned to it.
    pub fn credit_account(processing: Uuid, amount: Money) -> Self {
        Self::debit_account(processing, amount).reversed()
    }

    /// The reverse of `self`: what undoes it (a void after capture).
    pub fn reversed(&self) -> Self {
        Self::new(
            self.0
                .iter()
                .map(|e| Entry {
                    account: e.account,
                    amount: Money::new(-e.amount.amount, e.amount.currency),
                })
                .collect(),
        )
    }

    /// The entries.
    pub fn entries(&self) -> &[Entry] {
        &self.0
    }
}

/// What a deposit pays out for one transaction it takes: a payment's
/// amount less what was refunded, less what the payer paid on top
/// (`payer_fees`: the convenience and delivery fees, the platform's), less
/// the account's fee when fees are netted (`netted`); a chargeback
/// reversal's whole amount. May be negative (a payment refunded beyond the
/// account's share).
pub fn deposit_share(
    kind: Kind,
    amount: Decimal,
    refunded: Decimal,
    fee: Decimal,
    payer_fees: Decimal,
    netted: bool,
) -> Decimal {
    match kind {
        Kind::Payment => amount - refunded - payer_fees - if netted { fee } else { Decimal::ZERO },
        _ => amount,
    }
}

/// How many business days after it is made a bank payment settles.
pub const BANK_SETTLEMENT_BUSINESS_DAYS: u32 = 1;

/// When a bank payment in `currency` made at `at` settles: the next
/// business day of its rail (ACH for dollars, EFT for Canadian dollars),
/// over weekends and bank holidays — one made the Friday before Labor Day
/// settles on Tuesday.
pub fn settles_at(at: DateTime<Utc>, currency: Currency) -> DateTime<Utc> {
    PayoutMethod::for_currency(currency).calendar().add_business_days_at(at, BANK_SETTLEMENT_BUSINESS_DAYS)
}

/// When the bank's return of a payment in `currency` that settled at
/// `settled` arrives, `days` business days later.
pub fn returned_at(settled: DateTime<Utc>, days: u32, currency: Currency) -> DateTime<Utc> {
    PayoutMethod::for_currency(currency).calendar().add_business_days_at(settled, days)
}

/// Whether `day` is one on which money moves to a recipient by `method`
/// (deposits and payouts): a business day of its rail.
pub fn pays_out_on(day: NaiveDate, method: PayoutMethod) -> bool {
    method.calendar().is_business_day(day)
}

/// The first instant of `at`'s UTC day: deposits made at `at` take what
/// settled before it.
pub fn start_of_day(at: DateTime<Utc>) -> DateTime<Utc> {
    at.date_naive().and_time(NaiveTime::MIN).and_utc()
}

/// The funding status of a payment that was `current` (captured, or
/// batched in a deposit) after refunds totalling `refunded` of its
/// `amount`: refunded in full, or as it was.
pub fn funding_after_refund(current: FundingStatus, amount: Decimal, refunded: Decimal) -> FundingStatus {
    if refunded >= amount { FundingStatus::Refunded } else { current }
}

#[cfg(test)]
mod tests {
    use paymesh_kit::money::Currency;

    use super::*;

    fn usd(cents: i64) -> Money {
        Money::new(Decimal::new(cents, 2), Currency::Usd)
    }

    fn sum(posting: &Posting) -> Decimal {
        posting.entries().iter().map(|e| e.amount.amount).sum()
    }

    #[test]
    fn a_capture_pays_the_account_less_fees_and_balances() {
        let account = Uuid::now_v7();
        let posting = Posting::capture(account, usd(10_290), usd(0), usd(290));
        assert_eq!(sum(&posting), Decimal::ZERO);
        assert_eq!(
            posting.entries(),
            &[
                Entry { account: Account::ProcessorClearing, amount: usd(10_290) },
                Entry { account: Account::ProcessingAccount(account), amount: usd(-10_000) },
                Entry { account: Account::PlatformFees, amount: usd(-290) },
            ]
        );
        // No fee at all: no zero line.
        assert_eq!(Posting::capture(account, usd(500), usd(0), usd(0)).entries().len(), 2);
    }

    #[test]
    fn a_reversal_undoes_a_posting_and_a_refund_balances() {
        let account = Uuid::now_v7();
        let capture = Posting::capture(account, usd(10_000), usd(125), usd(0));
        let undo = capture.reversed();
        for (a, b) in capture.entries().iter().zip(undo.entries()) {
            assert_eq!(a.amount.amount, -b.amount.amount);
        }
        assert_eq!(sum(&Posting::debit_account(account, usd(2_500))), Decimal::ZERO);
        assert_eq!(
            Posting::credit_account(account, usd(2_500)).entries(),
            &[
                Entry { account: Account::ProcessingAccount(account), amount: usd(-2_500) },
                Entry { account: Account::ProcessorClearing, amount: usd(2_500) },
            ]
        );
        assert_eq!(Account::ProcessingAccount(account).name(), format!("processing_account:{account}"));
    }

    #[test]
    fn status_changes_follow_the_lifecycle() {
        use FundingStatus as F;
        use StatusChange::{Capture, Void};
        assert_eq!(
            refuse_change(Kind::Payment, Status::Authorized, F::Pending, Decimal::ZERO, Capture),
            None
        );
        assert_eq!(refuse_change(Kind::Payment, Status::Authorized, F::Pending, Decimal::ZERO, Void), None);
        assert_eq!(refuse_change(Kind::Payment, Status::Processed, F::Captured, Decimal::ZERO, Void), None);
        assert_eq!(refuse_change(Kind::Payment, Status::Processing, F::Captured, Decimal::ZERO, Void), None);
        for (status, funding, change) in [
            (Status::Processed, F::Captured, Capture),
            (Status::Declined, F::Pending, Void),
            (Status::Voided, F::Pending, Void),
            (Status::Processed, F::Refunded, Void),
            (Status::Processed, F::Batched, Void),
        ] {
            let refused = refuse_change(Kind::Payment, status, funding, Decimal::ZERO, change);
            assert!(refused.is_some(), "{status:?} {change:?}");
        }
        let partly_refunded =
            refuse_change(Kind::Payment, Status::Processed, F::Captured, Decimal::ONE, Void);
        assert!(partly_refunded.unwrap().contains("partly refunded"));
        assert!(refuse_change(Kind::Refund, Status::Processed, F::Pending, Decimal::ZERO, Void).is_some());
    }

    #[test]
    fn deposits_pay_the_accounts_share_net_or_gross() {
        let d = |cents: i64| Decimal::new(cents, 2);
        // 100.00 + 2.90 paid by the payer; 0.30 borne by the account; 10.00 refunded.
        assert_eq!(deposit_share(Kind::Payment, d(10_290), d(1_000), d(30), d(290), true), d(8_970));
        assert_eq!(deposit_share(Kind::Payment, d(10_290), d(1_000), d(30), d(290), false), d(9_000));
        assert_eq!(deposit_share(Kind::ChargebackReversal, d(5_000), d(0), d(0), d(0), true), d(5_000));
        // Refunded beyond the account's share: negative, netted in the deposit.
        assert_eq!(deposit_share(Kind::Payment, d(10_290), d(10_200), d(0), d(290), true), d(-200));
        // An expedited intent: 100.00 + 2.90 service fee + 29.50 delivery fees.
        assert_eq!(deposit_share(Kind::Payment, d(13_240), d(0), d(0), d(3_240), true), d(10_000));
    }

    #[test]
    fn business_days_skip_weekends_and_holidays_and_days_start_at_midnight() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // Weekends are skipped, and so are the rail's bank holidays.
        assert_eq!(returned_at(at("2026-11-20T15:00:00Z"), 2, Currency::Usd), at("2026-11-24T15:00:00Z"));
        assert_eq!(returned_at(at("2026-11-23T15:00:00Z"), 2, Currency::Usd), at("2026-11-25T15:00:00Z"));
        assert_eq!(returned_at(at("2026-11-23T15:00:00Z"), 0, Currency::Usd), at("2026-11-23T15:00:00Z"));
        // Made the Friday before Labor Day, a bank payment settles on Tuesday.
        assert_eq!(settles_at(at("2025-08-29T15:00:00Z"), Currency::Usd), at("2025-09-02T15:00:00Z"));
        // Canada Day closes EFT: a Canadian payment made the day before
        // settles the day after.
        assert_eq!(settles_at(at("2025-06-30T15:00:00Z"), Currency::Cad), at("2025-07-02T15:00:00Z"));
        assert_eq!(settles_at(at("2025-06-30T15:00:00Z"), Currency::Usd), at("2025-07-01T15:00:00Z"));
        assert!(!pays_out_on(chrono::NaiveDate::from_ymd_opt(2025, 9, 1).unwrap(), PayoutMethod::Check));
        assert!(pays_out_on(chrono::NaiveDate::from_ymd_opt(2025, 9, 2).unwrap(), PayoutMethod::Ach));
        assert_eq!(start_of_day(at("2026-11-23T15:04:05Z")), at("2026-11-23T00:00:00Z"));
    }

    #[test]
    fn words_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(*kind));
        }
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(*status));
        }
        for funding in FundingStatus::ALL {
            assert_eq!(FundingStatus::parse(funding.as_str()), Some(*funding));
        }
        let (ten, four) = (Decimal::from(10), Decimal::from(4));
        assert_eq!(funding_after_refund(FundingStatus::Captured, ten, ten), FundingStatus::Refunded);
        assert_eq!(funding_after_refund(FundingStatus::Batched, ten, ten), FundingStatus::Refunded);
        assert_eq!(funding_after_refund(FundingStatus::Captured, ten, four), FundingStatus::Captured);
        assert_eq!(funding_after_refund(FundingStatus::Batched, ten, four), FundingStatus::Batched);
    }
}
