//! Legal entities (KYB) and their owners: the values, and what a complete
//! entity needs before a processing account using it can be activated.
//!
//! Entities and owners may be created with little more than a name and
//! completed over time; every value given must be valid, and
//! [`LegalEntity::missing`] and [`Owner::missing`] say what is still
//! needed. SSNs and EINs are [`Sealed`]: only their last four digits are
//! ever shown, masked as `xxx-xx-6789` and `xx-xxx6789`.

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
pub use paymesh_kit::address::AddressPatch;
use paymesh_kit::{
    address::{Address, Country},
    crypto::{Sealed, SensitiveNumber},
    values::{Attrs, AttrsPatch, Email, Name, Phone},
};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::kyc::Verification;

// === Values ===

/// The forms of business (the Payload reference's list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LegalEntityType {
    /// A limited liability company.
    LimitedLiabilityCompany,
    /// A privately held corporation.
    Corporation,
    /// A publicly traded corporation.
    PublicCorporation,
    /// A partnership.
    Partnership,
    /// A government agency.
    GovernmentAgency,
    /// An association, estate or trust.
    AssociationEstateTrust,
    /// A tax-exempt organisation.
    TaxExemptOrganization,
    /// An individual or sole proprietorship.
    IndividualSoleProprietorship,
}

/// Every legal entity type, as stored and on REST.
pub const LEGAL_ENTITY_TYPES: &[&str] = &[
    "LIMITED_LIABILITY_COMPANY",
    "CORPORATION",
    "PUBLIC_CORPORATION",
    "PARTNERSHIP",
    "GOVERNMENT_AGENCY",
    "ASSOCIATION_ESTATE_TRUST",
    "TAX_EXEMPT_ORGANIZATION",
    "INDIVIDUAL_SOLE_PROPRIETORSHIP",
];

impl LegalEntityType {
    const ALL: [Self; 8] = [
        Self::LimitedLiabilityCompany,
        Self::Corporation,
        Self::PublicCorporation,
        Self::Partnership,
        Self::GovernmentAgency,
        Self::AssociationEstateTrust,
        Self::TaxExemptOrganization,
        Self::IndividualSoleProprietorship,
    ];

    /// The stored and REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LimitedLiabilityCompany => "LIMITED_LIABILITY_COMPANY",
            Self::Corporation => "CORPORATION",
            Self::PublicCorporation => "PUBLIC_CORPORATION",
            Self::Partnership => "PARTNERSHIP",
            Self::GovernmentAgency => "GOVERNMENT_AGENCY",
            Self::AssociationEstateTrust => "ASSOCIATION_ESTATE_TRUST",
            Self::TaxExemptOrganization => "TAX_EXEMPT_ORGANIZATION",
            Self::IndividualSoleProprietorship => "INDIVIDUAL_SOLE_PROPRIETORSHIP",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The role of an owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OwnerType {
    /// Owns a share of the entity.
    BeneficialOwner,
    /// Controls the entity, whatever their share.
    ControlPerson,
}

/// Every owner type, as stored.
pub const OWNER_TYPES: &[&str] = &["beneficial_owner", "control_person"];

impl OwnerType {
    /// The stored and REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BeneficialOwner => "beneficial_owner",
            Self::ControlPerson => "control_person",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "beneficial_owner" => Some(Self::BeneficialOwner),
            "control_person" => Some(Self::ControlPerson),
            _ => None,
        }
    }
}

/// Keeps the digits of `raw`, allowing dashes and spaces between them.
fn nine_digits(raw: &str, what: &str) -> Result<String, String> {
    let digits: String = raw.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("Must be a {what} of 9 digits"));
    }
    Ok(digits)
}

/// An employer identification number with an IRS-assigned prefix.
#[derive(Clone, PartialEq, Eq)]
pub struct Ein(String);

impl Ein {
    /// Parses an EIN: nine digits, with or without the dash.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let digits = nine_digits(raw, "EIN")?;
        let prefix: u32 = digits[..2].parse().map_err(|_| "Must be a valid EIN".to_owned())?;
        // Prefixes the IRS assigns (its campuses and online issuance).
        let assigned = matches!(prefix, 1..=6 | 10..=16 | 20..=27 | 30..=39 | 40..=48 | 50..=68 | 71..=77 | 80..=88 | 90..=95 | 98 | 99);
        if !assigned {
            return Err(format!("Not a valid EIN: the IRS does not assign the prefix {:02}", prefix));
        }
        Ok(Self(digits))
    }

    /// The nine digits, for encryption.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Ein {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ein({})", mask_ein(self.last4()))
    }
}

impl SensitiveNumber for Ein {
    fn digits(&self) -> &str {
        self.expose()
    }

    fn last4(&self) -> &str {
        &self.0[5..]
    }
}

/// A social security number with a valid area, group and serial.
#[derive(Clone, PartialEq, Eq)]
pub struct Ssn(String);

impl Ssn {
    /// Parses an SSN: nine digits, with or without dashes.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let digits = nine_digits(raw, "social security number")?;
        let (area, group, serial) = (&digits[..3], &digits[3..5], &digits[5..]);
        if area == "000" || area == "666" || area.starts_with('9') || group == "00" || serial == "0000" {
            return Err("Not a valid social security number".to_owned());
        }
        Ok(Self(digits))
    }

    /// The nine digits, for encryption.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Ssn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ssn({})", mask_ssn(self.last4()))
    }
}

impl SensitiveNumber for Ssn {
    fn digits(&self) -> &str {
        self.expose()
    }

    fn last4(&self) -> &str {
        &self.0[5..]
    }
}

/// The masked EIN shown to partners: `xx-xxx6789`.
pub fn mask_ein(last4: &str) -> String {
    format!("xx-xxx{last4}")
}

/// The masked SSN shown to partners: `xxx-xx-6789`.
pub fn mask_ssn(last4: &str) -> String {
    format!("xxx-xx-{last4}")
}

/// Whether `raw` is a masked value (as returned by a read) rather than a
/// number: an update that sends back what it read changes nothing.
pub fn is_masked(raw: &str) -> bool {
    raw.trim().to_ascii_lowercase().starts_with("xx")
}

/// A change to a sensitive number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretPatch<T> {
    /// A new number.
    Set(T),
    /// No number any more.
    Clear,
    /// The masked value a read returned, sent back: it must equal the
    /// stored one's mask, and changes nothing.
    Masked(String),
}

/// Applies a secret patch to the stored value, `mask` spelling a last-four
/// as the API shows it.
fn apply_secret<T: SensitiveNumber + Clone>(
    current: &Option<Sealed<T>>,
    patch: Option<SecretPatch<T>>,
    mask: fn(&str) -> String,
    field: &'static str,
) -> Result<Option<Sealed<T>>, (&'static str, String)> {
    match patch {
        None => Ok(current.clone()),
        Some(SecretPatch::Set(value)) => Ok(Some(Sealed::Given(value))),
        Some(SecretPatch::Clear) => Ok(None),
        Some(SecretPatch::Masked(sent)) => match current {
            Some(stored) if mask(stored.last4()).eq_ignore_ascii_case(sent.trim()) => Ok(current.clone()),
            _ => Err((field, "Send the whole number; a masked value must equal the stored one".to_owned())),
        },
    }
}

/// A share of ownership: more than 0 and at most 100 percent, with at most
/// two decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ownership(Decimal);

impl Ownership {
    /// Parses a percentage such as `25` or `33.33`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value: Decimal = raw.trim().parse().map_err(|_| "Must be a number".to_owned())?;
        if value <= Decimal::ZERO || value > Decimal::ONE_HUNDRED {
            return Err("Must be more than 0 and at most 100 (percent)".to_owned());
        }
        if value.normalize().scale() > 2 {
            return Err("Must have at most two decimals".to_owned());
        }
        Ok(Self(value.normalize()))
    }

    /// The percentage.
    pub fn value(self) -> Decimal {
        self.0
    }

    /// A value read back from storage.
    pub fn from_stored(value: Decimal) -> Self {
        Self(value.normalize())
    }
}

/// Parses a date: `YYYY-MM-DD`, or the date part of a Payload timestamp
/// (`YYYY-MM-DD HH:MM:SS`, RFC 3339).
fn date(raw: &str) -> Result<NaiveDate, String> {
    let text = raw.trim();
    let day = text.get(..10).unwrap_or(text);
    let rest = text.get(10..).unwrap_or("");
    if !(rest.is_empty() || rest.starts_with([' ', 'T'])) {
        return Err("Must be a date, YYYY-MM-DD".to_owned());
    }
    NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| "Must be a date, YYYY-MM-DD".to_owned())
}

/// A birth date: the person is 18 to 120 years old today.
pub fn birth_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let born = date(raw)?;
    let years = today.years_since(born).ok_or_else(|| "Must be in the past".to_owned())?;
    if years < 18 {
        return Err("The owner must be at least 18 years old".to_owned());
    }
    if years > 120 {
        return Err("Must be within the last 120 years".to_owned());
    }
    Ok(born)
}

/// A business start date: not in the future, not before 1700.
pub fn start_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let started = date(raw)?;
    if started > today {
        return Err("Must not be in the future".to_owned());
    }
    if started.year() < 1700 {
        return Err("Must be after 1700".to_owned());
    }
    Ok(started)
}

/// The two-letter code of a US state or Canadian province.
pub fn state_incorporated(raw: &str) -> Result<String, String> {
    Country::Us
        .state(raw)
        .or_else(|_| Country::Ca.state(raw))
        .map_err(|_| "Must be a US state or Canadian province code, e.g. DE".to_owned())
}

/// A website: an `http(s)://` URL or a bare domain, at most 255 characters.
pub fn website(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    let invalid = || "Must be a website, e.g. https://example.com".to_owned();
    if text.len() > 255 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://")).unwrap_or(text);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    let ok = host.contains('.')
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-'])
        && host.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if ok { Ok(text.to_owned()) } else { Err(invalid()) }
}

// === Legal entities ===

/// A legal entity, with whatever of it is known.
#[derive(Clone, Debug, PartialEq)]
pub struct LegalEntity {
    /// Its id.
    pub id: Uuid,
    /// Live or test mode.
    pub livemode: bool,
    /// The registered name.
    pub legal_name: Name,
    /// The form of business.
    pub kind: LegalEntityType,
    /// The EIN.
    pub ein: Option<Sealed<Ein>>,
    /// Where the business is.
    pub address: Address,
    /// The business phone.
    pub phone: Option<Phone>,
    /// The website.
    pub website: Option<String>,
    /// When the business started.
    pub start_date: Option<NaiveDate>,
    /// Where it was incorporated.
    pub state_incorporated: Option<String>,
    /// The primary contact's name.
    pub contact_name: Option<Name>,
    /// The primary contact's email.
    pub contact_email: Option<Email>,
    /// The primary contact's title.
    pub contact_title: Option<Name>,
    /// The KYB status, from its documents.
    pub verification: Verification,
    /// Custom attributes.
    pub attrs: Attrs,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub modified_at: DateTime<Utc>,
}

impl LegalEntity {
    /// Whether `changed` differs from this entity in what its documents
    /// verify (name, form, EIN, address, start and place of incorporation):
    /// then its verification starts over.
    pub fn identity_changed(&self, changed: &Self) -> bool {
        self.legal_name != changed.legal_name
            || self.kind != changed.kind
            || self.ein != changed.ein
            || self.address != changed.address
            || self.start_date != changed.start_date
            || self.state_incorporated != changed.state_incorporated
    }

    /// What a complete entity still lacks, named as the API names it.
    pub fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        let mut need = |present: bool, name: &str| {
            if !present {
                missing.push(name.to_owned());
            }
        };
        need(self.ein.is_some(), "ein");
        for part in self.address.missing() {
            need(false, part);
        }
        need(self.phone.is_some(), "phone_number");
        need(self.start_date.is_some(), "start_date");
        need(self.state_incorporated.is_some(), "state_incorporated");
        need(self.contact_name.is_some(), "contact_name");
        need(self.contact_email.is_some(), "contact_email");
        need(self.contact_title.is_some(), "contact_title");
        missing
    }
}

/// A change to a legal entity: `None` leaves an attribute as it is,
/// `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default)]
pub struct LegalEntityPatch {
    /// A new legal name.
    pub legal_name: Option<Name>,
    /// A new form of business.
    pub kind: Option<LegalEntityType>,
    /// A new EIN, none, or the masked one sent back.
    pub ein: Option<SecretPatch<Ein>>,
    /// Changes to the address.
    pub address: Option<AddressPatch>,
    /// A new phone.
    pub phone: Option<Option<Phone>>,
    /// A new website.
    pub website: Option<Option<String>>,
    /// A new start date.
    pub start_date: Option<Option<NaiveDate>>,
    /// A new state of incorporation.
    pub state_incorporated: Option<Option<String>>,
    /// A new contact name.
    pub contact_name: Option<Option<Name>>,
    /// A new contact email.
    pub contact_email: Option<Option<Email>>,
    /// A new contact title.
    pub contact_title: Option<Option<Name>>,
    /// A merge patch for the custom attributes, or `Some(None)` to clear.
    pub attrs: AttrsPatch,
}

impl LegalEntity {
    /// The entity after `patch`, changed at `now`. Fails naming each
    /// attribute that does not fit: merged custom attributes too large, a
    /// merged address that is not valid, a masked number that is not the
    /// stored one.
    pub fn apply(&self, patch: LegalEntityPatch, now: DateTime<Utc>) -> Result<Self, Vec<(String, String)>> {
        let LegalEntityPatch {
            legal_name,
            kind,
            ein,
            address,
            phone,
            website,
            start_date,
            state_incorporated,
            contact_name,
            contact_email,
            contact_title,
            attrs,
        } = patch;
        let attrs = self.attrs.patched(attrs).map_err(|why| vec![("attrs".to_owned(), why)]);
        let ein = apply_secret(&self.ein, ein, mask_ein, "ein");
        let address = address.map_or_else(|| Ok(self.address.clone()), |p| p.apply(&self.address, "address"));
        let (attrs, ein, address) = collect3(attrs, ein, address)?;
        Ok(Self {
            legal_name: legal_name.unwrap_or_else(|| self.legal_name.clone()),
            kind: kind.unwrap_or(self.kind),
            ein,
            address,
            phone: phone.unwrap_or_else(|| self.phone.clone()),
            website: website.unwrap_or_else(|| self.website.clone()),
            start_date: start_date.unwrap_or(self.start_date),
            state_incorporated: state_incorporated.unwrap_or_else(|| self.state_incorporated.clone()),
            contact_name: contact_name.unwrap_or_else(|| self.contact_name.clone()),
            contact_email: contact_email.unwrap_or_else(|| self.contact_email.clone()),
            contact_title: contact_title.unwrap_or_else(|| self.contact_title.clone()),
            attrs,
            modified_at: now,
            ..self.clone()
        })
    }
}

// === Owners ===

/// A legal entity with its owners, oldest first.
pub type EntityWithOwners = (LegalEntity, Vec<Owner>);

/// An owner of a legal entity, with whatever of them is known.
#[derive(Clone, Debug, PartialEq)]
pub struct Owner {
    /// Its id.
    pub id: Uuid,
    /// Live or test mode.
    pub livemode: bool,
    /// The entity owned.
    pub legal_entity_id: Uuid,
    /// The owner's full name.
    pub full_name: Name,
    /// Their title at the company.
    pub title: Option<Name>,
    /// Their share.
    pub ownership: Option<Ownership>,
    /// Their birth date.
    pub birth_date: Option<NaiveDate>,
    /// Their SSN.
    pub ssn: Option<Sealed<Ssn>>,
    /// Their home address.
    pub address: Address,
    /// Their email.
    pub email: Option<Email>,
    /// Their phone.
    pub phone: Option<Phone>,
    /// Their role.
    pub kind: OwnerType,
    /// Their KYC status, from their documents.
    pub verification: Verification,
    /// Custom attributes.
    pub attrs: Attrs,
    /// When they were added.
    pub created_at: DateTime<Utc>,
    /// When they last changed.
    pub modified_at: DateTime<Utc>,
}

impl Owner {
    /// Whether `changed` differs from this owner in what their documents
    /// verify (name, birth date, SSN, address): then their verification
    /// starts over.
    pub fn identity_changed(&self, changed: &Self) -> bool {
        self.full_name != changed.full_name
            || self.birth_date != changed.birth_date
            || self.ssn != changed.ssn
            || self.address != changed.address
    }

    /// What a complete owner still lacks, named as the API names it.
    pub fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        let mut need = |present: bool, name: &str| {
            if !present {
                missing.push(name.to_owned());
            }
        };
        need(self.title.is_some(), "title");
        need(self.ownership.is_some(), "ownership");
        need(self.birth_date.is_some(), "birth_date");
        need(self.ssn.is_some(), "ssn");
        for part in self.address.missing() {
            need(false, part);
        }
        need(self.email.is_some(), "email");
        need(self.phone.is_some(), "phone_number");
        missing
    }
}

/// A change to an owner: `None` leaves an attribute as it is.
#[derive(Clone, Debug, Default)]
pub struct OwnerPatch {
    /// A new full name.
    pub full_name: Option<Name>,
    /// A new title.
    pub title: Option<Option<Name>>,
    /// A new share.
    pub ownership: Option<Option<Ownership>>,
    /// A new birth date.
    pub birth_date: Option<Option<NaiveDate>>,
    /// A new SSN, none, or the masked one sent back.
    pub ssn: Option<SecretPatch<Ssn>>,
    /// Changes to the address.
    pub address: Option<AddressPatch>,
    /// A new email.
    pub email: Option<Option<Email>>,
    /// A new phone.
    pub phone: Option<Option<Phone>>,
    /// A new role.
    pub kind: Option<OwnerType>,
    /// A merge patch for the custom attributes, or `Some(None)` to clear.
    pub attrs: AttrsPatch,
}

impl Owner {
    /// The owner after `patch`, changed at `now`; fails like
    /// [`LegalEntity::apply`].
    pub fn apply(&self, patch: OwnerPatch, now: DateTime<Utc>) -> Result<Self, Vec<(String, String)>> {
        let OwnerPatch { full_name, title, ownership, birth_date, ssn, address, email, phone, kind, attrs } =
            patch;
        let attrs = self.attrs.patched(attrs).map_err(|why| vec![("attrs".to_owned(), why)]);
        let ssn = apply_secret(&self.ssn, ssn, mask_ssn, "ssn");
        let address = address.map_or_else(|| Ok(self.address.clone()), |p| p.apply(&self.address, "address"));
        let (attrs, ssn, address) = collect3(attrs, ssn, address)?;
        Ok(Self {
            full_name: full_name.unwrap_or_else(|| self.full_name.clone()),
            title: title.unwrap_or_else(|| self.title.clone()),
            ownership: ownership.unwrap_or(self.ownership),
            birth_date: birth_date.unwrap_or(self.birth_date),
            ssn,
            address,
            email: email.unwrap_or_else(|| self.email.clone()),
            phone: phone.unwrap_or_else(|| self.phone.clone()),
            kind: kind.unwrap_or(self.kind),
            attrs,
            modified_at: now,
            ..self.clone()
        })
    }
}

/// Three results, or every problem among them.
fn collect3<A, B, C>(
    a: Result<A, Vec<(String, String)>>,
    b: Result<B, (&'static str, String)>,
    c: Result<C, Vec<(String, String)>>,
) -> Result<(A, B, C), Vec<(String, String)>> {
    match (a, b, c) {
        (Ok(a), Ok(b), Ok(c)) => Ok((a, b, c)),
        (a, b, c) => {
            let mut problems = a.err().unwrap_or_default();
            problems.extend(b.err().map(|(field, why)| (field.to_owned(), why)));
            problems.extend(c.err().unwrap_or_default());
            Err(problems)
        }
    }
}

/// Checks that owners' shares add up to at most 100 percent; the message
/// says by how much they exceed it.
pub fn check_total_ownership(shares: impl IntoIterator<Item = Ownership>) -> Result<(), String> {
    let total: Decimal = shares.into_iter().map(Ownership::value).sum();
    if total > Decimal::ONE_HUNDRED {
        return Err(format!(
            "The owners of a legal entity may own at most 100% together; this would make {}%",
            total.normalize()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn eins_need_nine_digits_and_an_assigned_prefix() {
        let ein = Ein::parse("12-3456789").unwrap();
        assert_eq!(ein.expose(), "123456789");
        assert_eq!(ein.last4(), "6789");
        assert_eq!(mask_ein(ein.last4()), "xx-xxx6789");
        assert!(Ein::parse("123456789").is_ok());
        assert!(Ein::parse("07-3456789").unwrap_err().contains("prefix 07"));
        assert!(Ein::parse("00-3456789").is_err());
        assert!(Ein::parse("12-345678").is_err());
        assert!(Ein::parse("12-34567890").is_err());
        assert!(Ein::parse("ab-cdefghi").is_err());
    }

    #[test]
    fn ssns_need_a_valid_area_group_and_serial() {
        let ssn = Ssn::parse("123-45-6789").unwrap();
        assert_eq!(ssn.expose(), "123456789");
        assert_eq!(mask_ssn(ssn.last4()), "xxx-xx-6789");
        for bad in ["000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000", "12-345-678"] {
            assert!(Ssn::parse(bad).is_err(), "{bad}");
        }
        assert!(is_masked("xxx-xx-6789") && is_masked("XX-XXX6789") && !is_masked("123-45-6789"));
    }

    #[test]
    fn ownership_is_a_bounded_percentage() {
        assert_eq!(Ownership::parse("25").unwrap().value(), Decimal::new(25, 0));
        assert_eq!(Ownership::parse("33.33").unwrap().value(), Decimal::new(3333, 2));
        assert_eq!(Ownership::parse("50.50").unwrap().value(), Decimal::new(505, 1));
        for bad in ["0", "-5", "100.01", "33.333", "lots"] {
            assert!(Ownership::parse(bad).is_err(), "{bad}");
        }
        let shares = |v: &[&str]| v.iter().map(|s| Ownership::parse(s).unwrap()).collect::<Vec<_>>();
        assert!(check_total_ownership(shares(&["60", "40"])).is_ok());
        assert_eq!(
            check_total_ownership(shares(&["60", "40.5"])).unwrap_err(),
            "The owners of a legal entity may own at most 100% together; this would make 100.5%"
        );
    }

    #[test]
    fn dates_are_checked_against_today() {
        let today = day("2026-11-22");
        assert_eq!(birth_date("1980-02-29", today).unwrap(), day("1980-02-29"));
        assert_eq!(birth_date("1980-02-28 00:00:00", today).unwrap(), day("1980-02-28"));
        assert!(birth_date("2008-11-22", today).is_ok(), "18 today");
        assert!(birth_date("2008-11-23", today).unwrap_err().contains("18"));
        assert!(birth_date("2027-01-01", today).unwrap_err().contains("past"));
        assert!(birth_date("1900-01-01", today).unwrap_err().contains("120"));
        assert!(birth_date("22/11/1980", today).is_err());
        assert!(birth_date("1980-02-30", today).is_err());
        assert!(start_date("2026-11-22", today).is_ok());
        assert!(start_date("2026-11-23", today).unwrap_err().contains("future"));
    }

    #[test]
    fn websites_and_states_are_checked() {
        for ok in ["https://example.com", "example.com/about", "http://sub.example.co.uk:8080/x"] {
            assert!(website(ok).is_ok(), "{ok}");
        }
        for bad in ["example", "https://", "javascript:alert(1)", "http://exa mple.com"] {
            assert!(website(bad).is_err(), "{bad}");
        }
        assert_eq!(state_incorporated("de").unwrap(), "DE");
        assert_eq!(state_incorporated("ON").unwrap(), "ON");
        assert!(state_incorporated("XX").is_err());
    }

    #[test]
    fn types_round_trip() {
        for s in LEGAL_ENTITY_TYPES {
            assert_eq!(LegalEntityType::parse(s).unwrap().as_str(), *s);
        }
        for s in OWNER_TYPES {
            assert_eq!(OwnerType::parse(s).unwrap().as_str(), *s);
        }
    }
}
