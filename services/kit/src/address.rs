//! Postal addresses in the United States and Canada, parsed once.
//!
//! An [`Address`] may be partial — KYB data arrives a piece at a time — but
//! every part given must be valid: the country is `US` or `CA` (default
//! `US`), the state or province a two-letter code of that country, the
//! postal code a ZIP (`12345`, `12345-6789`) or a Canadian postal code
//! (`A1A 1A1`, stored with the space, in upper case). [`Address::missing`]
//! says which parts a complete address still lacks.

use paymesh_proto::common::v1 as pb;

/// The US states, the District of Columbia and the territories.
const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
    "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    "AS", "GU", "MP", "PR", "VI",
];

/// The Canadian provinces and territories.
const CA_PROVINCES: &[&str] = &["AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"];

/// The longest street, unit or city, in characters.
const MAX_LINE_CHARS: usize = 200;

/// A country paymesh serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Country {
    /// The United States.
    Us,
    /// Canada.
    Ca,
}

impl Country {
    /// Parses an ISO 3166-1 alpha-2 code (any case); empty means `US`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "" | "US" => Ok(Self::Us),
            "CA" => Ok(Self::Ca),
            _ => Err("Must be US or CA".to_owned()),
        }
    }

    /// The ISO code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Us => "US",
            Self::Ca => "CA",
        }
    }

    /// Parses a state (US) or province (CA) code, any case.
    pub fn state(self, raw: &str) -> Result<String, String> {
        let code = raw.trim().to_ascii_uppercase();
        let (list, what) = match self {
            Self::Us => (US_STATES, "a US state code, e.g. NY"),
            Self::Ca => (CA_PROVINCES, "a Canadian province code, e.g. ON"),
        };
        if list.contains(&code.as_str()) { Ok(code) } else { Err(format!("Must be {what}")) }
    }

    /// Parses a postal code of this country into its standard spelling.
    pub fn postal_code(self, raw: &str) -> Result<String, String> {
        let code = raw.trim().to_ascii_uppercase();
        match self {
            Self::Us => {
                let (zip, plus4) = code.split_once('-').map_or((code.as_str(), None), |(a, b)| (a, Some(b)));
                let five = zip.len() == 5 && zip.bytes().all(|b| b.is_ascii_digit());
                let four = plus4.is_none_or(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit()));
                if five && four {
                    Ok(code)
                } else {
                    Err("Must be a ZIP code, e.g. 10001 or 10001-1234".to_owned())
                }
            }
            Self::Ca => {
                let compact: Vec<u8> = code.bytes().filter(|b| *b != b' ').collect();
                let shape = compact.len() == 6
                    && compact
                        .iter()
                        .enumerate()
                        .all(|(i, b)| if i % 2 == 0 { b.is_ascii_uppercase() } else { b.is_ascii_digit() });
                if shape {
                    let text = String::from_utf8_lossy(&compact).into_owned();
                    Ok(format!("{} {}", &text[..3], &text[3..]))
                } else {
                    Err("Must be a Canadian postal code, e.g. M5V 2T6".to_owned())
                }
            }
        }
    }
}

/// A postal address whose parts, where given, are valid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    /// Street number and name.
    pub street_address: Option<String>,
    /// Apartment, suite or unit.
    pub unit_number: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or province code.
    pub state_province: Option<String>,
    /// ZIP or postal code.
    pub postal_code: Option<String>,
    /// The country (US when not given).
    pub country: Option<Country>,
}

fn take<T>(
    problems: &mut Vec<(&'static str, String)>,
    field: &'static str,
    parsed: Result<T, String>,
) -> Option<T> {
    parsed.map_err(|why| problems.push((field, why))).ok()
}

fn line(raw: &str) -> Result<Option<String>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > MAX_LINE_CHARS {
        return Err(format!("Must be at most {MAX_LINE_CHARS} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("Must not contain control characters".to_owned());
    }
    Ok(Some(text.to_owned()))
}

impl Address {
    /// Parses an address from the wire; each problem is named by its part
    /// (`street_address`, `postal_code`, …).
    pub fn parse(address: &pb::Address) -> Result<Self, Vec<(&'static str, String)>> {
        let pb::Address { street_address, unit_number, city, state_province, postal_code, country } = address;
        let mut problems = Vec::new();
        let street_address = take(&mut problems, "street_address", line(street_address)).flatten();
        let unit_number = take(&mut problems, "unit_number", line(unit_number)).flatten();
        let city = take(&mut problems, "city", line(city)).flatten();
        let parsed_country = take(&mut problems, "country", Country::parse(country));
        let given_country = parsed_country.filter(|_| !country.trim().is_empty());
        // With an invalid country, the other parts are checked as American.
        let rules = parsed_country.unwrap_or(Country::Us);
        let state_province = (!state_province.trim().is_empty())
            .then(|| take(&mut problems, "state_province", rules.state(state_province)))
            .flatten();
        let postal_code = (!postal_code.trim().is_empty())
            .then(|| take(&mut problems, "postal_code", rules.postal_code(postal_code)))
            .flatten();
        if problems.is_empty() {
            Ok(Self {
                street_address,
                unit_number,
                city,
                state_province,
                postal_code,
                country: given_country,
            })
        } else {
            Err(problems)
        }
    }

    /// This address with some parts replaced (by their names:
    /// `street_address`, …, `country`), checked whole again — a postal code
    /// against the country the address ends up with.
    pub fn with_parts(&self, parts: &[(&str, String)]) -> Result<Self, Vec<(&'static str, String)>> {
        let mut wire = self.to_proto();
        if self.country.is_none() {
            wire.country = String::new();
        }
        for (part, value) in parts {
            let slot = match *part {
                "street_address" => &mut wire.street_address,
                "unit_number" => &mut wire.unit_number,
                "city" => &mut wire.city,
                "state_province" => &mut wire.state_province,
                "postal_code" => &mut wire.postal_code,
                _ => &mut wire.country,
            };
            slot.clone_from(value);
        }
        Self::parse(&wire)
    }

    /// An address read back from its columns, where it was validated on
    /// the way in.
    pub fn from_columns(
        street_address: Option<String>,
        unit_number: Option<String>,
        city: Option<String>,
        state_province: Option<String>,
        postal_code: Option<String>,
        country: Option<String>,
    ) -> Self {
        Self {
            street_address,
            unit_number,
            city,
            state_province,
            postal_code,
            country: country.as_deref().and_then(|c| Country::parse(c).ok()),
        }
    }

    /// The parts a complete address lacks (the unit number is optional).
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        for (name, part) in [
            ("street_address", &self.street_address),
            ("city", &self.city),
            ("state_province", &self.state_province),
            ("postal_code", &self.postal_code),
        ] {
            if part.is_none() {
                missing.push(name);
            }
        }
        missing
    }

    /// The address on the wire (absent parts empty; the country always set).
    pub fn to_proto(&self) -> pb::Address {
        let text = |part: &Option<String>| part.clone().unwrap_or_default();
        pb::Address {
            street_address: text(&self.street_address),
            unit_number: text(&self.unit_number),
            city: text(&self.city),
            state_province: text(&self.state_province),
            postal_code: text(&self.postal_code),
            country: self.country.unwrap_or(Country::Us).code().to_owned(),
        }
    }

    /// Whether no part is given.
    pub fn is_empty(&self) -> bool {
        self.street_address.is_none()
            && self.unit_number.is_none()
            && self.city.is_none()
            && self.state_province.is_none()
            && self.postal_code.is_none()
    }
}

/// Binds an address's six columns to a statement, in their usual order:
/// `street_address, unit_number, city, state_province, postal_code,
/// country`.
pub trait BindAddress {
    /// The statement with the address's parts bound next.
    #[must_use]
    fn bind_address(self, address: &Address) -> Self;
}

impl<'q> BindAddress for sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    fn bind_address(self, a: &Address) -> Self {
        self.bind(a.street_address.as_deref())
            .bind(a.unit_number.as_deref())
            .bind(a.city.as_deref())
            .bind(a.state_province.as_deref())
            .bind(a.postal_code.as_deref())
            .bind(a.country.map(Country::code))
    }
}

/// Changes to parts of an address (REST sends them flat, one by one): the
/// parts given replace the stored ones, and the whole is checked again (a
/// postal code against the country it ends up with).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressPatch(pub Vec<(&'static str, String)>);

impl AddressPatch {
    /// Every part of `address`, to replace the whole.
    pub fn whole(address: &pb::Address) -> Self {
        let a = address.clone();
        Self(vec![
            ("street_address", a.street_address),
            ("unit_number", a.unit_number),
            ("city", a.city),
            ("state_province", a.state_province),
            ("postal_code", a.postal_code),
            ("country", a.country),
        ])
    }

    /// Adds one part (by its name, `city`) with its value in `address`.
    pub fn push_part(&mut self, part: &str, address: Option<&pb::Address>) -> Result<(), String> {
        let a = address.cloned().unwrap_or_default();
        let (name, value) = match part {
            "street_address" => ("street_address", a.street_address),
            "unit_number" => ("unit_number", a.unit_number),
            "city" => ("city", a.city),
            "state_province" => ("state_province", a.state_province),
            "postal_code" => ("postal_code", a.postal_code),
            "country" => ("country", a.country),
            _ => return Err("Unknown part of an address".to_owned()),
        };
        self.0.push((name, value));
        Ok(())
    }

    /// `current` with these parts changed; problems are named
    /// `field.part`.
    pub fn apply(&self, current: &Address, field: &str) -> Result<Address, Vec<(String, String)>> {
        current.with_parts(&self.0).map_err(|problems| {
            problems.into_iter().map(|(part, why)| (format!("{field}.{part}"), why)).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(street: &str, city: &str, state: &str, postal: &str, country: &str) -> pb::Address {
        pb::Address {
            street_address: street.to_owned(),
            unit_number: String::new(),
            city: city.to_owned(),
            state_province: state.to_owned(),
            postal_code: postal.to_owned(),
            country: country.to_owned(),
        }
    }

    #[test]
    fn us_and_canadian_addresses_parse_into_standard_spelling() {
        let us = Address::parse(&address("123 Main St", "New York", "ny", "10001-1234", "")).unwrap();
        assert_eq!(us.state_province.as_deref(), Some("NY"));
        assert!(us.missing().is_empty());
        let ca = Address::parse(&address("1 Front St W", "Toronto", "on", "m5v2t6", "ca")).unwrap();
        assert_eq!(ca.postal_code.as_deref(), Some("M5V 2T6"));
        assert_eq!(ca.country, Some(Country::Ca));
    }

    #[test]
    fn each_bad_part_is_named() {
        let problems = Address::parse(&address("", "", "ZZ", "1234", "FR")).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["country", "state_province", "postal_code"]);
        let problems = Address::parse(&address("", "", "ON", "10001", "CA")).unwrap_err();
        assert_eq!(problems[0].0, "postal_code");
        assert!(Address::parse(&address("", "", "NY", "M5V 2T6", "US")).is_err());
    }

    #[test]
    fn parts_are_replaced_and_the_whole_checked_again() {
        let us = Address::parse(&address("1 Main St", "Albany", "NY", "12207", "")).unwrap();
        let moved = us.with_parts(&[("city", "Buffalo".into()), ("postal_code", "14201".into())]).unwrap();
        assert_eq!(
            (moved.city.as_deref(), moved.street_address.as_deref()),
            (Some("Buffalo"), Some("1 Main St"))
        );
        let problems = us.with_parts(&[("country", "CA".into())]).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["state_province", "postal_code"], "a US state and ZIP are not Canadian");
    }

    #[test]
    fn a_partial_address_says_what_it_lacks() {
        let partial = Address::parse(&address("123 Main St", "", "", "10001", "")).unwrap();
        assert_eq!(partial.missing(), ["city", "state_province"]);
        assert!(Address::parse(&address("", "", "", "", "")).unwrap().is_empty());
    }
}
