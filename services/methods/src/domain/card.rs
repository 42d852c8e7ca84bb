//! Cards, parsed once: the number (digits, brand, length, Luhn), the
//! expiry and the security code.
//!
//! | brand | leading digits | lengths |
//! |---|---|---|
//! | `visa` | 4 | 13, 16, 19 |
//! | `mastercard` | 51–55, 2221–2720 | 16 |
//! | `american_express` | 34, 37 | 15 |
//! | `discover` | 6011, 644–649, 65, 622126–622925 | 16–19 |
//! | `diners_club` | 300–305, 36, 38, 39 | 14–19 |
//! | `jcb` | 3528–3589 | 16–19 |
//! | `unionpay` | 62 (outside Discover's range) | 16–19 |
//!
//! A number must be Luhn-valid — except, in test mode only, the ten decline
//! test numbers of the Payload reference (`4111 1111 1111 9900` to `…9909`),
//! most of which fail the check on purpose. A number never prints: its
//! `Debug` shows the brand and last four digits.

use std::fmt;

use chrono::{DateTime, Datelike as _, Utc};
use zeroize::Zeroize as _;

/// A card brand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Brand {
    /// Visa.
    Visa,
    /// Mastercard.
    Mastercard,
    /// American Express.
    AmericanExpress,
    /// Discover.
    Discover,
    /// Diners Club.
    DinersClub,
    /// JCB.
    Jcb,
    /// UnionPay.
    UnionPay,
}

/// Every brand, as stored and on REST.
pub const BRANDS: &[&str] =
    &["visa", "mastercard", "american_express", "discover", "diners_club", "jcb", "unionpay"];

impl Brand {
    const ALL: [Self; 7] = [
        Self::Visa,
        Self::Mastercard,
        Self::AmericanExpress,
        Self::Discover,
        Self::DinersClub,
        Self::Jcb,
        Self::UnionPay,
    ];

    /// The stored and REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visa => "visa",
            Self::Mastercard => "mastercard",
            Self::AmericanExpress => "american_express",
            Self::Discover => "discover",
            Self::DinersClub => "diners_club",
            Self::Jcb => "jcb",
            Self::UnionPay => "unionpay",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == s)
    }

    /// The name people read, as in "Visa x-4242".
    pub fn label(self) -> &'static str {
        match self {
            Self::Visa => "Visa",
            Self::Mastercard => "Mastercard",
            Self::AmericanExpress => "American Express",
            Self::Discover => "Discover",
            Self::DinersClub => "Diners Club",
            Self::Jcb => "JCB",
            Self::UnionPay => "UnionPay",
        }
    }

    /// The brand whose ranges contain `digits`, if any.
    pub fn detect(digits: &str) -> Option<Self> {
        let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok());
        let in_range = |n: usize, low: u32, high: u32| prefix(n).is_some_and(|p| (low..=high).contains(&p));
        if digits.starts_with('4') {
            Some(Self::Visa)
        } else if in_range(2, 51, 55) || in_range(4, 2221, 2720) {
            Some(Self::Mastercard)
        } else if in_range(2, 34, 34) || in_range(2, 37, 37) {
            Some(Self::AmericanExpress)
        } else if in_range(4, 6011, 6011)
            || in_range(3, 644, 649)
            || in_range(2, 65, 65)
            || in_range(6, 622_126, 622_925)
        {
            Some(Self::Discover)
        } else if in_range(2, 62, 62) {
            Some(Self::UnionPay)
        } else if in_range(4, 3528, 3589) {
            Some(Self::Jcb)
        } else if in_range(3, 300, 305) || in_range(2, 36, 36) || in_range(2, 38, 39) {
            Some(Self::DinersClub)
        } else {
            None
        }
    }

    /// The lengths the brand issues.
    pub fn lengths(self) -> &'static [usize] {
        match self {
            Self::Visa => &[13, 16, 19],
            Self::Mastercard => &[16],
            Self::AmericanExpress => &[15],
            Self::Discover | Self::Jcb | Self::UnionPay => &[16, 17, 18, 19],
            Self::DinersClub => &[14, 15, 16, 17, 18, 19],
        }
    }

    /// The length of the security code: 4 for American Express, else 3.
    pub fn code_length(self) -> usize {
        if self == Self::AmericanExpress { 4 } else { 3 }
    }
}

/// The test numbers that trigger declines in test mode; accepted there
/// though most fail the Luhn check (Payload's decline table).
pub const DECLINE_TEST_NUMBERS: std::ops::RangeInclusive<u64> = 4_111_111_111_119_900..=4_111_111_111_119_909;

/// Whether `digits` passes the Luhn check.
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// A card number: digits only, of a length its brand issues, Luhn-valid.
/// Its digits are wiped from memory when it is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber {
    digits: String,
    brand: Brand,
}

impl Drop for CardNumber {
    fn drop(&mut self) {
        self.digits.zeroize();
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber({} …{})", self.brand.as_str(), self.last4())
    }
}

impl CardNumber {
    /// Parses a card number; `livemode` decides whether the decline test
    /// numbers are accepted. Messages never quote the number.
    pub fn parse(raw: &str, livemode: bool) -> Result<Self, String> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.is_empty() {
            return Err("Required".to_owned());
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("A card number may contain only digits, spaces and dashes".to_owned());
        }
        if !(12..=19).contains(&digits.len()) {
            return Err("A card number has 12 to 19 digits".to_owned());
        }
        let brand =
            Brand::detect(&digits).ok_or_else(|| "Not a card number of a supported brand".to_owned())?;
        if !brand.lengths().contains(&digits.len()) {
            return Err(format!(
                "{} card numbers have {} digits",
                brand.label(),
                spoken_list(brand.lengths())
            ));
        }
        let test_number = !livemode && digits.parse::<u64>().is_ok_and(|n| DECLINE_TEST_NUMBERS.contains(&n));
        if !luhn(&digits) && !test_number {
            return Err("Not a valid card number (check digit)".to_owned());
        }
        Ok(Self { digits, brand })
    }

    /// The brand, by range.
    pub fn brand(&self) -> Brand {
        self.brand
    }

    /// The first six digits (the issuer's BIN).
    pub fn bin(&self) -> &str {
        &self.digits[..6]
    }

    /// The last four digits.
    pub fn last4(&self) -> &str {
        &self.digits[self.digits.len() - 4..]
    }

    /// The digits, for the one place that seals them and the one that
    /// hands them to a connector.
    pub fn expose(&self) -> &str {
        &self.digits
    }
}

impl paymesh_kit::crypto::SensitiveNumber for CardNumber {
    fn digits(&self) -> &str {
        self.expose()
    }

    fn last4(&self) -> &str {
        CardNumber::last4(self)
    }
}

/// `[13, 16, 19]` as "13, 16 or 19".
fn spoken_list(items: &[usize]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(ToString::to_string).collect();
            format!("{} or {last}", init.join(", "))
        }
    }
}

/// The number as shown: every digit but the last four masked.
pub fn masked(length: usize, last4: &str) -> String {
    format!("{}{last4}", "x".repeat(length.saturating_sub(4)))
}

/// A card's expiry: a month and a four-digit year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expiry {
    /// The year, e.g. 2030.
    pub year: u16,
    /// The month, 1 to 12.
    pub month: u8,
}

impl Expiry {
    /// Parses `MM/YY` or `MM/YYYY` (a one-digit month is accepted) and
    /// refuses a card expired at `now` (see [`Expiry::check`]).
    pub fn parse(raw: &str, now: DateTime<Utc>) -> Result<Self, String> {
        let expiry = Self::read(raw)?;
        expiry.check(now)?;
        Ok(expiry)
    }

    /// Reads `MM/YY` or `MM/YYYY` (a one-digit month is accepted), whether
    /// or not it is past.
    pub fn read(raw: &str) -> Result<Self, String> {
        let invalid = || "Must be an expiry, MM/YY or MM/YYYY".to_owned();
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("Required".to_owned());
        }
        let (month, year) = raw.split_once('/').ok_or_else(invalid)?;
        let (month, year) = (month.trim(), year.trim());
        if !(1..=2).contains(&month.len()) || !matches!(year.len(), 2 | 4) {
            return Err(invalid());
        }
        let month: u8 = month.parse().map_err(|_| invalid())?;
        let mut year: u16 = year.parse().map_err(|_| invalid())?;
        if year < 100 {
            year += 2000;
        }
        if !(1..=12).contains(&month) {
            return Err("The month must be 01 to 12".to_owned());
        }
        Ok(Self { year, month })
    }

    /// Refuses a card expired at `now` — a card is valid through the last
    /// day of its expiry month — and expiries more than 20 years ahead.
    pub fn check(self, now: DateTime<Utc>) -> Result<(), String> {
        let current = Self {
            year: u16::try_from(now.year()).unwrap_or(0),
            month: u8::try_from(now.month()).unwrap_or(0),
        };
        if self < current {
            return Err("The card has expired".to_owned());
        }
        if self.year > current.year + 20 {
            return Err("Must be within the next 20 years".to_owned());
        }
        Ok(())
    }

    /// The expiry as shown: `MM/YYYY`.
    pub fn display(self) -> String {
        format!("{:02}/{}", self.month, self.year)
    }
}

/// Checks a security code against the brand's length. The code is never
/// kept: callers drop it after this check (or after the authorization it
/// travels with).
pub fn check_code(raw: &str, brand: Brand) -> Result<(), String> {
    let code = raw.trim();
    let want = brand.code_length();
    if code.len() != want || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{} security codes have {want} digits", brand.label()));
    }
    Ok(())
}

/// Checks a security code's shape when the brand is not known: three or
/// four digits.
pub fn check_code_shape(raw: &str) -> Result<(), String> {
    let code = raw.trim();
    if !(3..=4).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Security codes have 3 or 4 digits".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn brands_follow_their_ranges_and_lengths() {
        let cases = [
            ("4242 4242 4242 4242", Brand::Visa),
            ("4222222222222", Brand::Visa),
            ("5103-2088-7967-2792", Brand::Mastercard),
            ("2223003122003222", Brand::Mastercard),
            ("378282246310005", Brand::AmericanExpress),
            ("6011910275045718", Brand::Discover),
            ("6445644564456445", Brand::Discover),
            ("6221260000000000", Brand::Discover),
            ("6200000000000005", Brand::UnionPay),
            ("3530111333300000", Brand::Jcb),
            ("36227206271667", Brand::DinersClub),
            ("367200514064164", Brand::DinersClub),
        ];
        for (number, brand) in cases {
            let parsed = CardNumber::parse(number, true).unwrap_or_else(|e| panic!("{number}: {e}"));
            assert_eq!(parsed.brand(), brand, "{number}");
        }
        assert_eq!(
            CardNumber::parse("424242424242424", true).unwrap_err(),
            "Visa card numbers have 13, 16 or 19 digits"
        );
        assert_eq!(
            CardNumber::parse("37828224631000", true).unwrap_err(),
            "American Express card numbers have 15 digits"
        );
        assert_eq!(
            CardNumber::parse("9999999999999995", true).unwrap_err(),
            "Not a card number of a supported brand"
        );
    }

    #[test]
    fn the_luhn_check_refuses_mistyped_numbers_and_messages_never_quote_them() {
        assert!(luhn("4242424242424242") && luhn("79927398713"));
        assert!(!luhn("4242424242424241"));
        let error = CardNumber::parse("4242 4242 4242 4241", true).unwrap_err();
        assert_eq!(error, "Not a valid card number (check digit)");
        assert!(!error.contains("4241"));
        for bad in ["", "4242x4242", "42424242424"] {
            assert!(CardNumber::parse(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn decline_test_numbers_pass_in_test_mode_only() {
        for last in 0..=9 {
            let number = format!("41111111111199 0{last}").replace(' ', "");
            assert!(CardNumber::parse(&number, false).is_ok(), "{number}");
        }
        assert!(CardNumber::parse("4111111111119903", true).is_err(), "live mode checks every number");
        assert!(CardNumber::parse("4111111111119910", false).is_err(), "only the ten test numbers");
    }

    #[test]
    fn numbers_show_only_their_last_four_digits() {
        let number = CardNumber::parse("4242424242424242", true).unwrap();
        assert_eq!((number.bin(), number.last4()), ("424242", "4242"));
        assert_eq!(format!("{number:?}"), "CardNumber(visa …4242)");
        assert_eq!(masked(16, "4242"), "xxxxxxxxxxxx4242");
    }

    #[test]
    fn this_month_is_valid_and_last_month_is_not() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 23, 59, 59).unwrap();
        assert_eq!(Expiry::parse("11/26", now).unwrap(), Expiry { year: 2026, month: 11 });
        assert_eq!(Expiry::parse("11/2026", now).unwrap().display(), "11/2026");
        assert_eq!(Expiry::parse("10/26", now).unwrap_err(), "The card has expired");
        assert_eq!(Expiry::parse("1/27", now).unwrap(), Expiry { year: 2027, month: 1 });
        let january = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(Expiry::parse("12/26", january).unwrap_err(), "The card has expired");
        for bad in ["13/27", "00/27", "1227", "12/7", "12/20277", "ab/cd"] {
            assert!(Expiry::parse(bad, now).is_err(), "{bad}");
        }
        assert!(Expiry::parse("12/2050", now).unwrap_err().contains("20 years"));
        // Read back, a past expiry is still an expiry.
        assert_eq!(Expiry::read("10/26").unwrap(), Expiry { year: 2026, month: 10 });
        assert_eq!(Expiry::read(" ").unwrap_err(), "Required");
    }

    #[test]
    fn security_codes_have_their_brands_length() {
        assert!(check_code("123", Brand::Visa).is_ok());
        assert!(check_code("1234", Brand::AmericanExpress).is_ok());
        assert_eq!(check_code("1234", Brand::Visa).unwrap_err(), "Visa security codes have 3 digits");
        assert!(check_code("12a", Brand::Mastercard).is_err());
        assert!(check_code_shape("1234").is_ok() && check_code_shape("12").is_err());
    }
}
