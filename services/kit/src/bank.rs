//! Bank account numbers, parsed once: the types every service that stores
//! or pays out to a bank account shares (identity for payouts, the methods service
//! for payers' accounts), so the rules are written once.
//!
//! - [`RoutingNumber`]: a US ABA routing transit number — nine digits whose
//!   weighted sum (3, 7, 1, …) is a multiple of ten.
//! - [`AccountNumber`]: a US account number, 4 to 17 digits.
//! - [`InstitutionNumber`], [`TransitNumber`], [`CanadianAccountNumber`]:
//!   the three parts of a Canadian EFT destination (3, 5 and 7 to 12
//!   digits).
//!
//! Spaces and dashes are accepted and dropped. Account numbers never print:
//! their `Debug` shows only the last four digits.

use std::fmt;

/// Strips spaces and dashes, then requires only digits, `min..=max` of them.
fn digits(raw: &str, min: usize, max: usize, what: &str) -> Result<String, String> {
    let cleaned: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if cleaned.is_empty() {
        return Err("Required".to_owned());
    }
    if !cleaned.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} may contain only digits"));
    }
    if !(min..=max).contains(&cleaned.len()) {
        return Err(if min == max {
            format!("{what} must be {min} digits")
        } else {
            format!("{what} must be {min} to {max} digits")
        });
    }
    Ok(cleaned)
}

/// The routing number of the Payload reference's bank examples, taken in
/// test mode only (live mode holds every number to its checksum).
pub const TEST_ROUTING_NUMBER: &str = "021000121";

/// A US ABA routing transit number with a valid checksum.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RoutingNumber(String);

impl RoutingNumber {
    /// Parses a routing number.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let number = digits(raw, 9, 9, "A routing number")?;
        let d: Vec<u32> = number.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8]);
        if !sum.is_multiple_of(10) {
            return Err("Not a valid routing number (checksum)".to_owned());
        }
        // The first two digits name a Federal Reserve district (00–12),
        // a thrift (21–32), electronic items (61–72) or travellers' checks (80).
        let prefix = d[0] * 10 + d[1];
        if !matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80) {
            return Err("Not a valid routing number (unknown Federal Reserve prefix)".to_owned());
        }
        Ok(Self(number))
    }

    /// Parses a routing number given in `livemode`: test mode also takes
    /// [`TEST_ROUTING_NUMBER`], the one the Payload reference's examples
    /// use, whose checksum does not hold.
    pub fn parse_in(raw: &str, livemode: bool) -> Result<Self, String> {
        match Self::parse(raw) {
            Err(_) if !livemode && digits(raw, 9, 9, "").is_ok_and(|d| d == TEST_ROUTING_NUMBER) => {
                Ok(Self(TEST_ROUTING_NUMBER.to_owned()))
            }
            parsed => parsed,
        }
    }

    /// The nine digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A value read back from storage, where it was validated on the way in.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for RoutingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoutingNumber({})", self.0)
    }
}

/// A secret number of which only the last four digits may be shown.
macro_rules! secret_digits {
    ($(#[$doc:meta])* $name:ident, $min:literal, $max:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Parses the number.
            pub fn parse(raw: &str) -> Result<Self, String> {
                digits(raw, $min, $max, $what).map(Self)
            }

            /// The digits, for the one place that encrypts them.
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// The last four digits, which may be shown.
            pub fn last4(&self) -> &str {
                &self.0[self.0.len() - 4..]
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(…{})", stringify!($name), self.last4())
            }
        }

        // The digits are wiped from memory once the number is dropped.
        impl Drop for $name {
            fn drop(&mut self) {
                zeroize::Zeroize::zeroize(&mut self.0);
            }
        }
    };
}

secret_digits!(
    /// A US bank account number: 4 to 17 digits.
    AccountNumber,
    4,
    17,
    "An account number"
);

secret_digits!(
    /// A Canadian bank account number: 7 to 12 digits.
    CanadianAccountNumber,
    7,
    12,
    "An account number"
);

/// A Canadian financial institution number: three digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstitutionNumber(String);

impl InstitutionNumber {
    /// Parses an institution number.
    pub fn parse(raw: &str) -> Result<Self, String> {
        digits(raw, 3, 3, "An institution number").map(Self)
    }

    /// The three digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A value read back from storage, where it was validated on the way in.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

/// A Canadian branch transit number: five digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitNumber(String);

impl TransitNumber {
    /// Parses a transit number.
    pub fn parse(raw: &str) -> Result<Self, String> {
        digits(raw, 5, 5, "A transit number").map(Self)
    }

    /// The five digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A value read back from storage, where it was validated on the way in.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_numbers_need_a_valid_checksum_and_prefix() {
        // Published routing numbers of real banks.
        for ok in ["011000015", "021000021", "026009593", "122105278", "322271627", "111000025"] {
            assert!(RoutingNumber::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(RoutingNumber::parse("0110-000 15").unwrap().as_str(), "011000015");
        assert_eq!(RoutingNumber::parse("011000016").unwrap_err(), "Not a valid routing number (checksum)");
        assert!(RoutingNumber::parse("500000005").unwrap_err().contains("prefix"));
        assert_eq!(RoutingNumber::parse("12345678").unwrap_err(), "A routing number must be 9 digits");
        assert_eq!(
            RoutingNumber::parse("01100001a").unwrap_err(),
            "A routing number may contain only digits"
        );
        assert_eq!(RoutingNumber::parse("").unwrap_err(), "Required");
    }

    #[test]
    fn test_mode_takes_the_references_test_routing_number() {
        assert!(RoutingNumber::parse(TEST_ROUTING_NUMBER).is_err(), "its checksum does not hold");
        assert_eq!(RoutingNumber::parse_in("0210-00121", false).unwrap().as_str(), TEST_ROUTING_NUMBER);
        assert_eq!(
            RoutingNumber::parse_in(TEST_ROUTING_NUMBER, true).unwrap_err(),
            "Not a valid routing number (checksum)"
        );
        assert_eq!(
            RoutingNumber::parse_in("011000016", false).unwrap_err(),
            "Not a valid routing number (checksum)"
        );
    }

    #[test]
    fn account_numbers_are_digits_of_bounded_length_and_never_print() {
        let number = AccountNumber::parse("0001-2345-6789").unwrap();
        assert_eq!(number.expose(), "000123456789");
        assert_eq!(number.last4(), "6789");
        assert_eq!(format!("{number:?}"), "AccountNumber(…6789)");
        assert!(AccountNumber::parse("123").is_err());
        assert!(AccountNumber::parse(&"1".repeat(18)).is_err());
        assert!(CanadianAccountNumber::parse("123456").is_err());
        assert!(CanadianAccountNumber::parse("1234567").is_ok());
    }

    #[test]
    fn eft_parts_have_fixed_lengths() {
        assert!(InstitutionNumber::parse("001").is_ok());
        assert!(InstitutionNumber::parse("01").is_err());
        assert!(TransitNumber::parse("12345").is_ok());
        assert!(TransitNumber::parse("1234").is_err());
    }
}
