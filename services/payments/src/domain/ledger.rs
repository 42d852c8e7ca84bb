//! The double-entry journal: the accounts money moves between and the
//! balanced postings each money movement writes.

use paymesh_kit::money::Money;
use rust_decimal::Decimal;
use uuid::Uuid;

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
}
