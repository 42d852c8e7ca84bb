//! How a payment is funded: the pricing of a payment depends on it, and it
//! follows from the payment method — one rule for every service that asks.

use paymesh_proto::{intents::v1 as pi, methods::v1 as pm};

/// How a payment is funded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FundingType {
    /// A credit card, or a card of unknown type.
    Credit,
    /// A debit or prepaid card.
    Debit,
    /// A bank account.
    BankAccount,
}

impl FundingType {
    /// Every funding type.
    pub const ALL: [Self; 3] = [Self::Credit, Self::Debit, Self::BankAccount];

    /// The name used in settings fields and storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Credit => "credit",
            Self::Debit => "debit",
            Self::BankAccount => "bank_account",
        }
    }

    /// The funding type named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// A card's: debit and prepaid cards are debit, every other card
    /// (unknown ones included) credit.
    pub fn of_card(card_type: i32) -> Self {
        match pm::CardType::try_from(card_type) {
            Ok(pm::CardType::Debit | pm::CardType::Prepaid) => Self::Debit,
            _ => Self::Credit,
        }
    }

    /// A payment method's: its card's, or a bank account.
    pub fn of_method(method: &pm::PaymentMethod) -> Self {
        method.card.as_ref().map_or(Self::BankAccount, |card| Self::of_card(card.card_type))
    }

    /// The wire form.
    pub const fn to_proto(self) -> pi::FundingType {
        match self {
            Self::Credit => pi::FundingType::Credit,
            Self::Debit => pi::FundingType::Debit,
            Self::BankAccount => pi::FundingType::BankAccount,
        }
    }

    /// A funding type from the wire; `None` when unset or unknown.
    pub fn from_proto(value: i32) -> Option<Self> {
        match pi::FundingType::try_from(value) {
            Ok(pi::FundingType::Credit) => Some(Self::Credit),
            Ok(pi::FundingType::Debit) => Some(Self::Debit),
            Ok(pi::FundingType::BankAccount) => Some(Self::BankAccount),
            Ok(pi::FundingType::Unspecified) | Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_fund_by_their_type_and_everything_else_is_a_bank_account() {
        let card = |t: pm::CardType| pm::PaymentMethod {
            card: Some(pm::Card { card_type: t as i32, ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(FundingType::of_method(&card(pm::CardType::Debit)), FundingType::Debit);
        assert_eq!(FundingType::of_method(&card(pm::CardType::Prepaid)), FundingType::Debit);
        assert_eq!(FundingType::of_method(&card(pm::CardType::Credit)), FundingType::Credit);
        assert_eq!(FundingType::of_method(&card(pm::CardType::Unspecified)), FundingType::Credit);
        assert_eq!(FundingType::of_method(&pm::PaymentMethod::default()), FundingType::BankAccount);
        for funding in FundingType::ALL {
            assert_eq!(FundingType::from_proto(funding.to_proto() as i32), Some(funding));
            assert_eq!(FundingType::parse(funding.as_str()), Some(funding));
        }
    }
}
