//! Money: exact decimal amounts in a supported currency (DESIGN §5).
//!
//! Amounts are `rust_decimal::Decimal`, never floats. Amounts given by
//! partners are held at the currency's minor unit (a third decimal place
//! is refused); computed amounts (percentages of an amount) round half
//! away from zero to the cent with [`round_cents`].

use std::fmt;

use paymesh_proto::common::v1 as pb;
use rust_decimal::{Decimal, RoundingStrategy};

/// The currencies paymesh moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Currency {
    /// United States dollar.
    Usd,
    /// Canadian dollar.
    Cad,
}

impl Currency {
    /// Every supported currency.
    pub const ALL: [Self; 2] = [Self::Usd, Self::Cad];
    /// Their ISO 4217 codes, in the same order.
    pub const CODES: &'static [&'static str] = &["USD", "CAD"];

    /// The ISO 4217 code.
    pub const fn code(self) -> &'static str {
        Self::CODES[self as usize]
    }

    /// The currency of an ISO 4217 code (upper or lower case).
    pub fn parse(code: &str) -> Result<Self, String> {
        if code.trim().is_empty() {
            return Err("Required".to_owned());
        }
        Self::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code.trim()))
            .ok_or_else(|| format!("Must be one of {}", Self::CODES.join(", ")))
    }

    /// Decimal places of the minor unit.
    pub const fn minor_digits(self) -> u32 {
        2
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount in a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Money {
    /// The amount, at most at the currency's minor unit.
    pub amount: Decimal,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// `amount` in `currency`.
    pub const fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Nothing, in `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Self { amount: Decimal::ZERO, currency }
    }

    /// Every amount paymesh charges, pays out or quotes is below this (a
    /// trillion): a partner's amount, and the amount with its fees.
    pub const LIMIT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

    /// A partner's amount: `amount` must be positive, at the minor unit at
    /// most, and below [`Money::LIMIT`]. The error says what is wrong, for
    /// a field violation.
    pub fn positive(amount: Decimal, currency: Currency) -> Result<Self, String> {
        if amount <= Decimal::ZERO {
            return Err("Must be greater than 0".to_owned());
        }
        if amount.normalize().scale() > currency.minor_digits() {
            return Err(format!("Must have at most {} decimal places", currency.minor_digits()));
        }
        Self { amount, currency }.within_limit()
    }

    /// This amount, if it is below [`Money::LIMIT`]; the error says so.
    pub fn within_limit(self) -> Result<Self, String> {
        if self.amount >= Self::LIMIT {
            return Err("Must be less than 1,000,000,000,000".to_owned());
        }
        Ok(self)
    }

    /// The charge of `amount` with its fees (`self`), if it is below
    /// [`Money::LIMIT`]; the error, for the amount's field violation, says
    /// what the charge would be.
    pub fn charge_within_limit(self) -> Result<Self, String> {
        self.within_limit().map_err(|_| {
            format!("With its fees the charge would be {self}; a charge must be less than 1,000,000,000,000")
        })
    }

    /// The protobuf form, the amount with the minor unit's places
    /// (`"102.90"`).
    pub fn to_proto(self) -> pb::Money {
        pb::Money { amount: self.amount_text(), currency: self.currency.code().to_owned() }
    }

    /// The amount with the minor unit's places and no more than it needs
    /// (`102.9000` from a `numeric(20,4)` column reads `102.90`).
    fn amount_text(self) -> String {
        let mut amount = self.amount.normalize();
        amount.rescale(self.currency.minor_digits().max(amount.scale()));
        amount.to_string()
    }

    /// Parses the protobuf form; the error names the part that is wrong
    /// (`amount` or `currency`) and why.
    pub fn from_proto(money: &pb::Money) -> Result<Self, (&'static str, String)> {
        let currency = Currency::parse(&money.currency).map_err(|m| ("currency", m))?;
        let amount = money
            .amount
            .trim()
            .parse::<Decimal>()
            .map_err(|_| ("amount", "Must be a decimal number, e.g. \"100.00\"".to_owned()))?;
        Ok(Self { amount, currency })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_text(), self.currency)
    }
}

/// `value` rounded half away from zero to the cent (DESIGN §5).
pub fn round_cents(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A fraction as a percentage for people: `0.029` → `"2.90%"`, `0.00125` →
/// `"0.125%"` (two places at least, more when the rate has them).
pub fn percent(fraction: Decimal) -> String {
    let mut value = (fraction * Decimal::ONE_HUNDRED).normalize();
    if value.scale() < 2 {
        value.rescale(2);
    }
    format!("{value}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn fees_round_half_away_from_zero_to_the_cent() {
        // 2.90% of $100.005 is 2.900145: below the half, down.
        assert_eq!(round_cents(dec("100.005") * dec("0.029")), dec("2.90"));
        // 2.5% of $17.00 is 0.425: a half, away from zero (banker's
        // rounding would give 0.42).
        assert_eq!(round_cents(dec("17.00") * dec("0.025")), dec("0.43"));
        assert_eq!(round_cents(dec("-0.425")), dec("-0.43"));
        assert_eq!(round_cents(dec("0.4249")), dec("0.42"));
    }

    #[test]
    fn partner_amounts_are_positive_and_at_the_cent() {
        assert!(Money::positive(dec("100"), Currency::Usd).is_ok());
        assert!(Money::positive(dec("100.10"), Currency::Cad).is_ok());
        assert!(Money::positive(dec("100.100"), Currency::Usd).is_ok(), "trailing zeros are not places");
        assert_eq!(
            Money::positive(dec("100.005"), Currency::Usd).unwrap_err(),
            "Must have at most 2 decimal places"
        );
        assert_eq!(Money::positive(dec("0"), Currency::Usd).unwrap_err(), "Must be greater than 0");
        assert_eq!(Money::positive(dec("-1"), Currency::Usd).unwrap_err(), "Must be greater than 0");
        assert!(Money::positive(dec("1000000000000"), Currency::Usd).is_err());
        assert_eq!(Money::LIMIT, dec("1000000000000"));
        assert!(Money::positive(dec("999999999999.99"), Currency::Usd).is_ok());
        let charge = Money::new(dec("1029999999998.97"), Currency::Usd);
        assert!(charge.charge_within_limit().unwrap_err().contains("the charge would be"));
    }

    #[test]
    fn money_travels_as_a_decimal_string_with_cents() {
        let money = Money::new(dec("102.9"), Currency::Usd);
        assert_eq!(money.to_proto(), pb::Money { amount: "102.90".into(), currency: "USD".into() });
        assert_eq!(Money::from_proto(&money.to_proto()), Ok(money));
        assert_eq!(money.to_string(), "102.90 USD");
        let stored = Money::new(dec("102.9000"), Currency::Usd);
        assert_eq!(stored.to_proto().amount, "102.90", "as read back from numeric(20,4)");
        assert_eq!(
            Money::new(dec("0.125"), Currency::Usd).to_proto().amount,
            "0.125",
            "places are never lost"
        );
        let bad = pb::Money { amount: "ten".into(), currency: "USD".into() };
        assert_eq!(Money::from_proto(&bad).unwrap_err().0, "amount");
        let bad = pb::Money { amount: "1".into(), currency: "EUR".into() };
        assert_eq!(Money::from_proto(&bad).unwrap_err(), ("currency", "Must be one of USD, CAD".to_owned()));
        assert_eq!(Currency::parse("cad"), Ok(Currency::Cad));
    }

    #[test]
    fn rates_read_as_percentages() {
        assert_eq!(percent(dec("0.029")), "2.90%");
        assert_eq!(percent(dec("0.005")), "0.50%");
        assert_eq!(percent(dec("0.00125")), "0.125%");
        assert_eq!(percent(dec("0")), "0.00%");
        assert_eq!(percent(dec("1")), "100.00%");
    }
}
