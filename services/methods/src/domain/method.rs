//! A payment method: a card or a bank account that belongs to one account
//! of one partner, in one mode — what may change about it, how it is
//! described, and how it is fingerprinted.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit as _, Mac as _};
use paymesh_kit::{
    address::{Address, AddressPatch},
    auth::Scope,
    bank::{AccountNumber, CanadianAccountNumber, InstitutionNumber, RoutingNumber, TransitNumber},
    crypto::Sealed,
    values::{Attrs, AttrsPatch, Name, Phone},
};
use sha2::Sha256;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::card::{Brand, CardNumber, Expiry};

/// The kind of account a method belongs to: a customer pays with it; a
/// processing account is paid out to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A customer (payer).
    Customer,
    /// A processing account (payee).
    Processing,
}

impl Owner {
    /// The stored spelling (the identity account's type).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Processing => "processing",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(Self::Customer),
            "processing" => Some(Self::Processing),
            _ => None,
        }
    }
}

/// How a card is funded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CardType {
    /// Credit (also cards whose BIN is not in the table).
    Credit,
    /// Debit.
    Debit,
    /// Prepaid.
    Prepaid,
}

/// Every card type, as stored.
pub const CARD_TYPES: &[&str] = &["credit", "debit", "prepaid"];

impl CardType {
    /// The stored and REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credit => "credit",
            Self::Debit => "debit",
            Self::Prepaid => "prepaid",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "credit" => Some(Self::Credit),
            "debit" => Some(Self::Debit),
            "prepaid" => Some(Self::Prepaid),
            _ => None,
        }
    }
}

/// What the BIN table says of a card's issuer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BinInfo {
    /// The brand the issuer registered, when it differs from the ranges.
    pub brand: Option<Brand>,
    /// How the card is funded.
    pub card_type: CardType,
}

/// Checking or savings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountType {
    /// Checking.
    Checking,
    /// Savings.
    Savings,
}

/// Personal or business.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountClass {
    /// A person's account.
    Personal,
    /// A business's account.
    Business,
}

impl AccountType {
    /// The stored and REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Checking => "checking",
            Self::Savings => "savings",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "checking" => Some(Self::Checking),
            "savings" => Some(Self::Savings),
            _ => None,
        }
    }
}

impl AccountClass {
    /// The stored and REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Personal => "personal",
            Self::Business => "business",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "personal" => Some(Self::Personal),
            "business" => Some(Self::Business),
            _ => None,
        }
    }
}

/// Where a bank account is: its routing (US) or institution and transit
/// numbers (Canada), with its number.
#[derive(Clone, Debug, PartialEq)]
pub enum BankAccount {
    /// A US account.
    Us {
        /// The ABA routing number.
        routing_number: RoutingNumber,
        /// The account number.
        number: Sealed<AccountNumber>,
    },
    /// A Canadian account (EFT).
    Ca {
        /// The institution number.
        institution_number: InstitutionNumber,
        /// The transit number.
        transit_number: TransitNumber,
        /// The account number.
        number: Sealed<CanadianAccountNumber>,
    },
}

impl BankAccount {
    /// "US" or "CA".
    pub fn country(&self) -> &'static str {
        match self {
            Self::Us { .. } => "US",
            Self::Ca { .. } => "CA",
        }
    }

    /// The last four digits of the number.
    pub fn last4(&self) -> &str {
        match self {
            Self::Us { number, .. } => number.last4(),
            Self::Ca { number, .. } => number.last4(),
        }
    }

    /// Where the account is, all shown in clear: the routing number (US),
    /// or the institution and transit numbers (Canada); the others `None`.
    pub fn numbers(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        match self {
            Self::Us { routing_number, .. } => (Some(routing_number.as_str()), None, None),
            Self::Ca { institution_number, transit_number, .. } => {
                (None, Some(institution_number.as_str()), Some(transit_number.as_str()))
            }
        }
    }
}

/// The instrument a method holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Instrument {
    /// A card.
    Card {
        /// The number.
        number: Sealed<CardNumber>,
        /// The brand.
        brand: Brand,
        /// Credit, debit or prepaid.
        card_type: CardType,
        /// The first six digits.
        bin: String,
        /// The number's length (to mask it).
        length: u8,
        /// The expiry; a card on no account may have been given without
        /// one.
        expiry: Option<Expiry>,
    },
    /// A bank account.
    Bank {
        /// Where it is, and its number.
        account: BankAccount,
        /// Checking or savings.
        account_type: AccountType,
        /// Personal or business.
        account_class: AccountClass,
    },
}

impl Instrument {
    /// "card" or "bank_account".
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Card { .. } => "card",
            Self::Bank { .. } => "bank_account",
        }
    }

    /// The last four digits.
    pub fn last4(&self) -> &str {
        match self {
            Self::Card { number, .. } => number.last4(),
            Self::Bank { account, .. } => account.last4(),
        }
    }

    /// A readable description: "Visa x-4242", "Checking x-6789".
    pub fn description(&self) -> String {
        match self {
            Self::Card { brand, .. } => format!("{} x-{}", brand.label(), self.last4()),
            Self::Bank { account_type, .. } => {
                let kind = match account_type {
                    AccountType::Checking => "Checking",
                    AccountType::Savings => "Savings",
                };
                format!("{kind} x-{}", self.last4())
            }
        }
    }
}

/// A payment method.
#[derive(Clone, Debug, PartialEq)]
pub struct PaymentMethod {
    /// Its id.
    pub id: Uuid,
    /// Live or test mode.
    pub livemode: bool,
    /// The account it belongs to; `None` for a method on no account (a
    /// token for later, or a card charged once and not kept on file).
    pub account_id: Option<Uuid>,
    /// What kind of account that is (`None` exactly when there is none).
    pub owner: Option<Owner>,
    /// Whether its number serves one payment only and is then erased.
    pub single_use: bool,
    /// The name on the card or account.
    pub holder: Option<Name>,
    /// The holder's phone.
    pub phone: Option<Phone>,
    /// Whether it is the account's default method.
    pub is_default: bool,
    /// The card or bank account.
    pub instrument: Instrument,
    /// The billing address.
    pub billing_address: Address,
    /// The keyed fingerprint of its number.
    pub fingerprint: String,
    /// Custom attributes.
    pub attrs: Attrs,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub modified_at: DateTime<Utc>,
}

/// A method as a partner gives it, before it has an id and a fingerprint.
#[derive(Clone, Debug)]
pub struct NewMethod {
    /// The account it will belong to, if any.
    pub account_id: Option<Uuid>,
    /// Whether its number serves one payment only.
    pub single_use: bool,
    /// The name on the card or account.
    pub holder: Option<Name>,
    /// The holder's phone.
    pub phone: Option<Phone>,
    /// Whether it becomes the account's default.
    pub is_default: bool,
    /// The card or bank account, its number given.
    pub instrument: Instrument,
    /// The billing address.
    pub billing_address: Address,
    /// Custom attributes.
    pub attrs: Attrs,
}

impl NewMethod {
    /// The method, created at `now` with `id` in `scope` for an account of
    /// kind `owner` (`None` when it has no account), fingerprinted.
    pub fn create(
        self,
        id: Uuid,
        scope: Scope,
        owner: Option<Owner>,
        fingerprinter: &Fingerprinter,
        now: DateTime<Utc>,
    ) -> PaymentMethod {
        let Self { account_id, single_use, holder, phone, is_default, instrument, billing_address, attrs } =
            self;
        let fingerprint = fingerprinter.of(scope, &instrument).unwrap_or_default();
        PaymentMethod {
            id,
            livemode: scope.livemode,
            account_id,
            owner,
            single_use,
            holder,
            phone,
            is_default,
            instrument,
            billing_address,
            fingerprint,
            attrs,
            created_at: now,
            modified_at: now,
        }
    }
}

/// A change to a payment method: `None` leaves an attribute as it is.
#[derive(Clone, Debug, Default)]
pub struct MethodPatch {
    /// A new holder, or `Some(None)` to clear it.
    pub holder: Option<Option<Name>>,
    /// A new phone, or `Some(None)` to clear it.
    pub phone: Option<Option<Phone>>,
    /// Make it (or stop it being) the default.
    pub is_default: Option<bool>,
    /// Changes to parts of the billing address.
    pub billing_address: Option<AddressPatch>,
    /// A card's new expiry, as given (`MM/YY` or `MM/YYYY`).
    pub expiry: Option<String>,
    /// A merge patch for the custom attributes, or `Some(None)` to clear.
    pub attrs: AttrsPatch,
}

impl PaymentMethod {
    /// The method after `patch`, changed at `now`; problems name the
    /// attribute.
    pub fn apply(&self, patch: MethodPatch, now: DateTime<Utc>) -> Result<Self, Vec<(String, String)>> {
        let MethodPatch { holder, phone, is_default, billing_address, expiry, attrs } = patch;
        let mut problems = Vec::new();
        let attrs = self.attrs.patched(attrs).map_err(|why| problems.push(("attrs".to_owned(), why))).ok();
        let address = match billing_address {
            Some(patch) => patch
                .apply(&self.billing_address, "billing_address")
                .and_then(|a| self.require_postal_code(a))
                .map_err(|p| problems.extend(p))
                .ok(),
            None => Some(self.billing_address.clone()),
        };
        let mut instrument = self.instrument.clone();
        if let Some(raw) = expiry {
            match &mut instrument {
                // The stored expiry sent back as it is stays, even once past
                // (an object read may be sent back with other changes); a new
                // one must not be past.
                Instrument::Card { expiry, .. } => match Expiry::read(&raw) {
                    Ok(new) if Some(new) == *expiry => {}
                    Ok(new) => match new.check(now) {
                        Ok(()) => *expiry = Some(new),
                        Err(why) => problems.push(("card.expiry".to_owned(), why)),
                    },
                    Err(why) => problems.push(("card.expiry".to_owned(), why)),
                },
                Instrument::Bank { .. } => {
                    problems.push(("card.expiry".to_owned(), "Bank accounts have no expiry".to_owned()))
                }
            }
        }
        if is_default == Some(true) && self.account_id.is_none() {
            problems.push((
                "default_payment_method".to_owned(),
                "A method on no account cannot be a default".to_owned(),
            ));
        }
        match (attrs, address) {
            (Some(attrs), Some(billing_address)) if problems.is_empty() => Ok(Self {
                holder: holder.unwrap_or_else(|| self.holder.clone()),
                phone: phone.unwrap_or_else(|| self.phone.clone()),
                is_default: is_default.unwrap_or(self.is_default),
                instrument,
                billing_address,
                attrs,
                modified_at: now,
                ..self.clone()
            }),
            _ => Err(problems),
        }
    }

    /// A card on an account must keep its billing postal code.
    fn require_postal_code(&self, address: Address) -> Result<Address, Vec<(String, String)>> {
        if matches!(self.instrument, Instrument::Card { .. })
            && self.account_id.is_some()
            && address.postal_code.is_none()
        {
            return Err(vec![(
                "billing_address.postal_code".to_owned(),
                "Required for a card on an account".to_owned(),
            )]);
        }
        Ok(address)
    }
}

/// Keyed fingerprints of numbers: HMAC-SHA256 under the methods service's
/// fingerprint key, of the partner, the mode and the number, hex. The same
/// card twice under one partner and mode has one fingerprint; elsewhere an
/// unrelated one; without the key, a fingerprint says nothing of the number.
#[derive(Clone)]
pub struct Fingerprinter {
    key: Zeroizing<Vec<u8>>,
    development: bool,
}

/// The fingerprint key of development machines: public, so refused for
/// live-mode methods.
const DEVELOPMENT_FINGERPRINT_KEY: &[u8; 32] = b"paymesh-development-fingerprints";

impl std::fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprinter([redacted])")
    }
}

impl Fingerprinter {
    /// A fingerprinter with `key`.
    pub fn new(key: Vec<u8>) -> Self {
        Self { key: Zeroizing::new(key), development: false }
    }

    /// The fingerprinter of development machines, under a public key.
    pub fn development() -> Self {
        Self { key: Zeroizing::new(DEVELOPMENT_FINGERPRINT_KEY.to_vec()), development: true }
    }

    /// Whether its key is the public development one.
    pub fn is_development(&self) -> bool {
        self.development
    }

    /// The fingerprint of a card number.
    pub fn card(&self, scope: Scope, number: &CardNumber) -> String {
        self.digest(scope, &["card", number.expose()])
    }

    /// The fingerprint of a US bank account.
    pub fn us_bank(&self, scope: Scope, routing: &RoutingNumber, number: &AccountNumber) -> String {
        self.digest(scope, &["bank", "US", routing.as_str(), number.expose()])
    }

    /// The fingerprint of a Canadian bank account.
    pub fn ca_bank(
        &self,
        scope: Scope,
        institution: &InstitutionNumber,
        transit: &TransitNumber,
        number: &CanadianAccountNumber,
    ) -> String {
        self.digest(scope, &["bank", "CA", institution.as_str(), transit.as_str(), number.expose()])
    }

    /// The fingerprint of an instrument whose number was just given;
    /// `None` for one read back from storage (its fingerprint is stored).
    pub fn of(&self, scope: Scope, instrument: &Instrument) -> Option<String> {
        match instrument {
            Instrument::Card { number: Sealed::Given(number), .. } => Some(self.card(scope, number)),
            Instrument::Bank {
                account: BankAccount::Us { routing_number, number: Sealed::Given(number) },
                ..
            } => Some(self.us_bank(scope, routing_number, number)),
            Instrument::Bank {
                account: BankAccount::Ca { institution_number, transit_number, number: Sealed::Given(number) },
                ..
            } => Some(self.ca_bank(scope, institution_number, transit_number, number)),
            Instrument::Card { .. } | Instrument::Bank { .. } => None,
        }
    }

    /// The partner and the mode go in first: the same card has unrelated
    /// fingerprints under two partners, and in test and live mode.
    fn digest(&self, scope: Scope, parts: &[&str]) -> String {
        // HMAC takes keys of any length; this cannot fail.
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(scope.partner_id.as_bytes());
        mac.update(if scope.livemode { b"|live" } else { b"|test" });
        for part in parts {
            mac.update(b"|");
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_match_within_a_partner_only() {
        let f = Fingerprinter::new(vec![7; 32]);
        let a = Scope { partner_id: Uuid::now_v7(), livemode: false };
        let b = Scope { partner_id: Uuid::now_v7(), livemode: false };
        let a_live = Scope { livemode: true, ..a };
        let card = CardNumber::parse("4242 4242 4242 4242", true).unwrap();
        let same = CardNumber::parse("4242-4242-4242-4242", true).unwrap();
        assert_eq!(f.card(a, &card), f.card(a, &same));
        assert_ne!(f.card(a, &card), f.card(b, &card));
        assert_ne!(f.card(a, &card), f.card(a_live, &card));
        assert_ne!(f.card(a, &card), Fingerprinter::new(vec![8; 32]).card(a, &card));
        assert_eq!(f.card(a, &card).len(), 64);
        assert!(f.card(a, &card).bytes().all(|b| b.is_ascii_hexdigit()), "a keyed digest, not the number");
    }

    #[test]
    fn descriptions_name_the_brand_or_kind_and_the_last_four() {
        let card = CardNumber::parse("4242424242424242", true).unwrap();
        let instrument = Instrument::Card {
            brand: card.brand(),
            card_type: CardType::Credit,
            bin: card.bin().to_owned(),
            length: 16,
            expiry: Some(Expiry { year: 2030, month: 1 }),
            number: Sealed::Given(card),
        };
        assert_eq!(instrument.description(), "Visa x-4242");
        let bank = Instrument::Bank {
            account: BankAccount::Us {
                routing_number: RoutingNumber::parse("011000015").unwrap(),
                number: Sealed::Given(AccountNumber::parse("000123456789").unwrap()),
            },
            account_type: AccountType::Savings,
            account_class: AccountClass::Personal,
        };
        assert_eq!(bank.description(), "Savings x-6789");
    }
}
