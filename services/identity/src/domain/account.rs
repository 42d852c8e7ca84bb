//! Accounts: values parsed once at the edge, and the rules of change.
//!
//! Each attribute has a type that cannot hold an invalid value
//! ([`Name`], [`Email`], [`Phone`], [`Description`], [`Attrs`]); parsing one
//! returns the message a partner's developer sees when it is wrong.
//!
//! An account is a customer (a payer, with its KYC) or a processing account
//! (a payee, with its payout and activation, see `processing`): the
//! [`Profile`] holds what only one of them has.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    address::Address,
    bank::{AccountNumber, CanadianAccountNumber, InstitutionNumber, RoutingNumber, TransitNumber},
    crypto::Sealed,
};
use uuid::Uuid;

use super::{
    kyc::Verification,
    processing::{BankAccountType, Category, Payout, PayoutMethod, ProcessingStatus, Visibility},
};

pub use paymesh_kit::values::{
    Attrs, AttrsPatch, Description, Email, MAX_ATTRS_BYTES, MAX_ATTRS_DEPTH, MAX_DESCRIPTION_CHARS,
    MAX_NAME_CHARS, Name, Phone,
};

/// The kind of an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountType {
    /// A payer.
    Customer,
    /// A payee: a merchant or recipient.
    Processing,
}

impl AccountType {
    /// The stored and REST spelling.
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

/// Every stored account type, for the query whitelist.
pub const ACCOUNT_TYPES: &[&str] = &["customer", "processing"];

/// What only a customer has.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerProfile {
    /// Where its payments go when they name no processing account.
    pub primary_processing_id: Option<Uuid>,
    /// The payment method charged when a payment names only the customer
    /// (set by the payment methods service).
    pub default_payment_method_id: Option<Uuid>,
    /// Its KYC, from its documents.
    pub verification: Verification,
}

/// What only a processing account has.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessingProfile {
    /// Its primary industry.
    pub industry: Name,
    /// Its category.
    pub category: Category,
    /// Who may see and pay it.
    pub visibility: Visibility,
    /// Where its payouts go, once set.
    pub payout: Option<Payout>,
    /// Its activation status.
    pub status: ProcessingStatus,
    /// Why the status is what it is.
    pub status_reasons: Vec<String>,
    /// When the status last changed.
    pub status_at: DateTime<Utc>,
    /// Its legal entity (KYB).
    pub legal_entity_id: Option<Uuid>,
    /// Whether it is the partner's default processing account in its mode.
    pub is_default: bool,
    /// Whether it is active by design without KYB (the test-mode default,
    /// the billers): never assessed.
    pub kyb_exempt: bool,
}

impl ProcessingProfile {
    /// Whether paymesh re-weighs this account when its payout or KYB
    /// changes: unless it is exempt or inactive.
    pub fn is_assessed(&self) -> bool {
        !self.kyb_exempt && self.status.is_assessed()
    }
}

/// What one kind of account has and the other does not.
#[derive(Clone, Debug, PartialEq)]
pub enum Profile {
    /// A payer.
    Customer(CustomerProfile),
    /// A payee.
    Processing(ProcessingProfile),
}

impl Profile {
    /// The account type.
    pub fn kind(&self) -> AccountType {
        match self {
            Self::Customer(_) => AccountType::Customer,
            Self::Processing(_) => AccountType::Processing,
        }
    }
}

/// A payout as given in a request. The account number may be left out of
/// an update that keeps the same kind of bank account: the stored one is
/// kept.
#[derive(Clone, Debug, PartialEq)]
pub enum PayoutInput {
    /// ACH or wire.
    UsBank {
        /// ACH or wire.
        method: PayoutMethod,
        /// The name on the account (default: the account's name).
        holder: Option<Name>,
        /// The routing number.
        routing_number: RoutingNumber,
        /// The account number, unless kept.
        account_number: Option<AccountNumber>,
        /// Checking (default) or savings.
        account_type: BankAccountType,
    },
    /// EFT.
    Eft {
        /// The name on the account (default: the account's name).
        holder: Option<Name>,
        /// The institution number.
        institution_number: InstitutionNumber,
        /// The transit number.
        transit_number: TransitNumber,
        /// The account number, unless kept.
        account_number: Option<CanadianAccountNumber>,
    },
    /// Check.
    Check {
        /// Whom the check is made out to (default: the account's name).
        holder: Option<Name>,
        /// Where it is mailed.
        mailing_address: Address,
    },
}

impl PayoutInput {
    /// The payout this input describes, keeping the stored account number
    /// of `current` when none is given. Problems name the attribute under
    /// `payout_details`.
    pub fn resolve(
        self,
        current: Option<&Payout>,
        account_name: &Name,
    ) -> Result<Payout, (&'static str, String)> {
        let holder = |given: Option<Name>| given.unwrap_or_else(|| account_name.clone());
        let keep = "account_number";
        match self {
            Self::UsBank { method, holder: h, routing_number, account_number, account_type } => {
                let account_number = match (account_number, current) {
                    (Some(number), _) => Sealed::Given(number),
                    (None, Some(Payout::UsBank { account_number, .. })) => account_number.clone(),
                    (None, _) => return Err((keep, "Required".to_owned())),
                };
                Ok(Payout::UsBank { method, holder: holder(h), routing_number, account_number, account_type })
            }
            Self::Eft { holder: h, institution_number, transit_number, account_number } => {
                let account_number = match (account_number, current) {
                    (Some(number), _) => Sealed::Given(number),
                    (None, Some(Payout::Eft { account_number, .. })) => account_number.clone(),
                    (None, _) => return Err((keep, "Required".to_owned())),
                };
                Ok(Payout::Eft { holder: holder(h), institution_number, transit_number, account_number })
            }
            Self::Check { holder: h, mailing_address } => {
                if let Some(part) = mailing_address.missing().first() {
                    return Err((
                        "mailing_address",
                        format!("A complete address is required (missing {part})"),
                    ));
                }
                Ok(Payout::Check { holder: holder(h), mailing_address })
            }
        }
    }
}

/// What a new account of each kind is given.
// Built once per request and consumed at once: boxing the larger variant
// would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum NewProfile {
    /// A customer.
    Customer {
        /// Its primary processing account.
        primary_processing_id: Option<Uuid>,
    },
    /// A processing account.
    Processing {
        /// Its industry.
        industry: Name,
        /// Its category.
        category: Category,
        /// Who may see it.
        visibility: Visibility,
        /// Its payout, if already known.
        payout: Option<PayoutInput>,
        /// Its legal entity, if already known.
        legal_entity_id: Option<Uuid>,
        /// Whether it becomes the default processing account.
        is_default: bool,
    },
}

/// An account to create, every attribute valid.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAccount {
    /// Its name.
    pub name: Name,
    /// Its email address.
    pub email: Email,
    /// Its phone number, if given.
    pub phone: Option<Phone>,
    /// Its description, if given.
    pub description: Option<Description>,
    /// Its custom attributes.
    pub attrs: Attrs,
    /// What its kind of account is given.
    pub profile: NewProfile,
}

/// A change to a processing account's own attributes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessingPatch {
    /// A new industry.
    pub industry: Option<Name>,
    /// A new category.
    pub category: Option<Category>,
    /// A new visibility.
    pub visibility: Option<Visibility>,
    /// A new payout, or `Some(None)` to remove it.
    pub payout: Option<Option<PayoutInput>>,
    /// A new legal entity, or `Some(None)` to unlink it.
    pub legal_entity_id: Option<Option<Uuid>>,
    /// Make it (or stop it being) the default.
    pub is_default: Option<bool>,
    /// A requested status (only `active` or `inactive` may be asked for),
    /// with the reason given.
    pub status: Option<(ProcessingStatus, Option<String>)>,
}

impl ProcessingPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A change to an account: `None` leaves an attribute as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountPatch {
    /// A new name.
    pub name: Option<Name>,
    /// A new email address.
    pub email: Option<Email>,
    /// A new phone number, or `Some(None)` to clear it.
    pub phone: Option<Option<Phone>>,
    /// A new description, or `Some(None)` to clear it.
    pub description: Option<Option<Description>>,
    /// A merge patch for the custom attributes, or `Some(None)` to remove
    /// them all.
    pub attrs: AttrsPatch,
    /// Customers: a new primary processing account, or `Some(None)` to
    /// clear it.
    pub primary_processing_id: Option<Option<Uuid>>,
    /// Processing accounts: changes to their own attributes.
    pub processing: ProcessingPatch,
}

impl AccountPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        let Self { name, email, phone, description, attrs, primary_processing_id, processing } = self;
        name.is_none()
            && email.is_none()
            && phone.is_none()
            && description.is_none()
            && attrs.is_none()
            && primary_processing_id.is_none()
            && processing.is_empty()
    }
}

/// A stored account.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    /// Its id.
    pub id: Uuid,
    /// Live or test mode (for a shared biller, the reader's mode).
    pub livemode: bool,
    /// Its name.
    pub name: Name,
    /// Its email address.
    pub email: Email,
    /// Its phone number.
    pub phone: Option<Phone>,
    /// Its description.
    pub description: Option<Description>,
    /// Its custom attributes.
    pub attrs: Attrs,
    /// What its kind of account has.
    pub profile: Profile,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub modified_at: DateTime<Utc>,
}

/// The status a new processing account starts in, before its first
/// assessment.
pub const INITIAL_STATUS: ProcessingStatus = ProcessingStatus::Pending;

impl Account {
    /// The account type.
    pub fn kind(&self) -> AccountType {
        self.profile.kind()
    }

    /// The processing profile, if this is a processing account.
    pub fn processing(&self) -> Option<&ProcessingProfile> {
        match &self.profile {
            Profile::Processing(p) => Some(p),
            Profile::Customer(_) => None,
        }
    }

    /// The customer profile, if this is a customer.
    pub fn customer(&self) -> Option<&CustomerProfile> {
        match &self.profile {
            Profile::Customer(c) => Some(c),
            Profile::Processing(_) => None,
        }
    }

    /// A new account as created at `now`. A processing account starts
    /// `pending`, to be assessed by the caller; its payout is resolved here
    /// (problems name the attribute).
    pub fn create(
        new: NewAccount,
        livemode: bool,
        now: DateTime<Utc>,
    ) -> Result<Self, (&'static str, String)> {
        let NewAccount { name, email, phone, description, attrs, profile } = new;
        let profile = match profile {
            NewProfile::Customer { primary_processing_id } => Profile::Customer(CustomerProfile {
                primary_processing_id,
                default_payment_method_id: None,
                verification: Verification::unverified(),
            }),
            NewProfile::Processing {
                industry,
                category,
                visibility,
                payout,
                legal_entity_id,
                is_default,
            } => {
                let payout = payout.map(|p| p.resolve(None, &name)).transpose()?;
                Profile::Processing(ProcessingProfile {
                    industry,
                    category,
                    visibility,
                    payout,
                    status: INITIAL_STATUS,
                    status_reasons: Vec::new(),
                    status_at: now,
                    legal_entity_id,
                    is_default,
                    kyb_exempt: false,
                })
            }
        };
        Ok(Self {
            id: Uuid::now_v7(),
            livemode,
            name,
            email,
            phone,
            description,
            attrs,
            profile,
            created_at: now,
            modified_at: now,
        })
    }

    /// The account after `patch`, changed at `now`, except for a requested
    /// status (which the caller weighs). Fails naming the attribute when a
    /// change does not fit the account.
    pub fn apply(&self, patch: &AccountPatch, now: DateTime<Utc>) -> Result<Self, (&'static str, String)> {
        let AccountPatch { name, email, phone, description, attrs, primary_processing_id, processing } =
            patch;
        let attrs = self.attrs.patched(attrs.clone()).map_err(|why| ("attrs", why))?;
        let name = name.clone().unwrap_or_else(|| self.name.clone());
        let profile = match &self.profile {
            Profile::Customer(customer) => {
                if !processing.is_empty() {
                    return Err((
                        "processing",
                        "Only processing accounts have processing attributes".to_owned(),
                    ));
                }
                Profile::Customer(CustomerProfile {
                    primary_processing_id: primary_processing_id.unwrap_or(customer.primary_processing_id),
                    ..customer.clone()
                })
            }
            Profile::Processing(current) => {
                if primary_processing_id.is_some() {
                    return Err((
                        "primary_processing_id",
                        "Only customers have a primary processing account".to_owned(),
                    ));
                }
                let ProcessingPatch {
                    industry,
                    category,
                    visibility,
                    payout,
                    legal_entity_id,
                    is_default,
                    status: _,
                } = processing;
                let payout = match payout {
                    Some(Some(input)) => Some(
                        input
                            .clone()
                            .resolve(current.payout.as_ref(), &name)
                            .map_err(|(field, why)| (payout_field(field), why))?,
                    ),
                    Some(None) => None,
                    None => current.payout.clone(),
                };
                Profile::Processing(ProcessingProfile {
                    industry: industry.clone().unwrap_or_else(|| current.industry.clone()),
                    category: category.unwrap_or(current.category),
                    visibility: visibility.unwrap_or(current.visibility),
                    payout,
                    legal_entity_id: legal_entity_id.unwrap_or(current.legal_entity_id),
                    is_default: is_default.unwrap_or(current.is_default),
                    ..current.clone()
                })
            }
        };
        Ok(Self {
            name,
            email: email.clone().unwrap_or_else(|| self.email.clone()),
            phone: phone.clone().unwrap_or_else(|| self.phone.clone()),
            description: description.clone().unwrap_or_else(|| self.description.clone()),
            attrs,
            profile,
            modified_at: now,
            ..self.clone()
        })
    }
}

/// The full name of a payout detail attribute.
fn payout_field(field: &'static str) -> &'static str {
    match field {
        "account_number" => "processing.payout_details.account_number",
        "mailing_address" => "processing.payout_details.mailing_address",
        _ => "processing.payout_details",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let now = Utc::now();
        let account = Account::create(
            NewAccount {
                name: Name::parse("Matt Perez").unwrap(),
                email: Email::parse("matt@example.com").unwrap(),
                phone: Some(Phone::parse("(123) 456-7890").unwrap()),
                description: Some(Description::parse("vip").unwrap()),
                attrs: Attrs::default(),
                profile: NewProfile::Customer { primary_processing_id: None },
            },
            false,
            now,
        )
        .unwrap();
        let later = now + chrono::TimeDelta::seconds(5);
        let patch = AccountPatch {
            email: Some(Email::parse("matt@newwork.com").unwrap()),
            phone: Some(None),
            ..AccountPatch::default()
        };
        let changed = account.apply(&patch, later).unwrap();
        assert_eq!(changed.email.as_str(), "matt@newwork.com");
        assert_eq!(changed.phone, None);
        assert_eq!(changed.name, account.name);
        assert_eq!(changed.description, account.description);
        assert_eq!(changed.created_at, now);
        assert_eq!(changed.modified_at, later);
        assert_eq!(changed.id, account.id);
    }
}
