//! How a recipient is paid: the payout rails, the currency each pays in and
//! the holidays each observes. Identity stores a processing account's,
//! intents price and date deliveries by it, payments pay out and settle by
//! it — all with this one type.

use paymesh_proto::identity::v1 as pb;

use crate::{calendar::Calendar, money::Currency};

/// A payout rail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PayoutMethod {
    /// ACH to a US bank account.
    Ach,
    /// Wire to a US bank account.
    Wire,
    /// A paper check by mail.
    Check,
    /// EFT to a Canadian bank account.
    Eft,
}

impl PayoutMethod {
    /// Every payout method.
    pub const ALL: [Self; 4] = [Self::Ach, Self::Wire, Self::Check, Self::Eft];
    /// Every payout method's name, as stored and on REST.
    pub const NAMES: &'static [&'static str] = &["ach", "wire", "check", "eft"];

    /// The lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ach => "ach",
            Self::Wire => "wire",
            Self::Check => "check",
            Self::Eft => "eft",
        }
    }

    /// The payout method named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The currency the rail pays: Canadian dollars by EFT, US dollars
    /// otherwise.
    pub const fn currency(self) -> Currency {
        match self {
            Self::Eft => Currency::Cad,
            Self::Ach | Self::Wire | Self::Check => Currency::Usd,
        }
    }

    /// The bank rail money in `currency` moves on: EFT for Canadian
    /// dollars, ACH for US dollars.
    pub const fn for_currency(currency: Currency) -> Self {
        match currency {
            Currency::Cad => Self::Eft,
            Currency::Usd => Self::Ach,
        }
    }

    /// The holidays the rail observes: EFT crosses both countries' banks.
    pub const fn calendar(self) -> Calendar {
        match self {
            Self::Eft => Calendar::UnitedStatesAndCanada,
            Self::Ach | Self::Wire | Self::Check => Calendar::UnitedStates,
        }
    }

    /// The wire form.
    pub const fn to_proto(self) -> pb::PayoutMethod {
        match self {
            Self::Ach => pb::PayoutMethod::Ach,
            Self::Wire => pb::PayoutMethod::Wire,
            Self::Check => pb::PayoutMethod::Check,
            Self::Eft => pb::PayoutMethod::Eft,
        }
    }

    /// A payout method from the wire; `None` when unset or unknown.
    pub fn from_proto(value: i32) -> Option<Self> {
        match pb::PayoutMethod::try_from(value) {
            Ok(pb::PayoutMethod::Ach) => Some(Self::Ach),
            Ok(pb::PayoutMethod::Wire) => Some(Self::Wire),
            Ok(pb::PayoutMethod::Check) => Some(Self::Check),
            Ok(pb::PayoutMethod::Eft) => Some(Self::Eft),
            Ok(pb::PayoutMethod::Unspecified) | Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_eft_pays_canadian_dollars_and_each_currency_has_its_rail() {
        for method in PayoutMethod::ALL {
            assert_eq!(method.currency() == Currency::Cad, method == PayoutMethod::Eft);
            assert_eq!(PayoutMethod::parse(method.as_str()), Some(method));
            assert_eq!(PayoutMethod::from_proto(method.to_proto() as i32), Some(method));
        }
        for currency in Currency::ALL {
            assert_eq!(PayoutMethod::for_currency(currency).currency(), currency);
        }
        assert_eq!(PayoutMethod::NAMES, PayoutMethod::ALL.map(PayoutMethod::as_str));
    }
}
