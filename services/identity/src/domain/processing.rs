//! Processing accounts — the payees of payments: what they are, who may
//! see them, how they are paid out, and their activation lifecycle.
//!
//! ```text
//! pending ─┬─▶ active ◀──────────▶ in_review ◀──▶ update_required
//!          ├─▶ in_review             (active ◀──▶ update_required too)
//!          └─▶ update_required
//! every status but inactive ─▶ inactive (final)
//! ```
//!
//! paymesh moves the status itself: whenever anything the activation
//! depends on changes (the account's payout, its legal entity, an owner, a
//! document), [`assess`] weighs the requirements — anything missing or
//! rejected means `update_required`, everything present but something under
//! review `in_review`, everything verified `active` — and the reasons say
//! what is missing. This holds after activation too: an active account
//! whose KYB changes (an entity or owner changed, unlinked, a verification
//! reset or rejected) or whose payout is removed is weighed again, and
//! leaves `active` until the requirements are met again. A new payout
//! account replacing another is not verified (no micro-deposits yet). Partners may deactivate an account
//! (final), or ask for activation, which succeeds only when [`assess`] says
//! so. Accounts active by design without KYB — the test-mode default and
//! the billers — are exempt from assessment.

use paymesh_kit::{
    address::Address,
    bank::{AccountNumber, CanadianAccountNumber, InstitutionNumber, RoutingNumber, TransitNumber},
    crypto::Sealed,
    values::Name,
};
use uuid::Uuid;

use super::{
    kyc::VerificationStatus,
    legal_entity::{LegalEntity, Owner},
};

// === Category and visibility ===

/// The kinds of payees.
pub const CATEGORIES: &[&str] = &[
    "utilities",
    "telecommunications",
    "rent",
    "mortgage",
    "insurance",
    "taxes",
    "government",
    "education",
    "healthcare",
    "childcare",
    "legal_services",
    "professional_services",
    "construction",
    "suppliers",
    "logistics",
    "software",
    "marketing",
    "travel",
    "auto",
    "charity",
    "membership",
    "retail",
    "other",
];

/// A payee category, one of [`CATEGORIES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Category(&'static str);

impl Category {
    /// Parses a category name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        CATEGORIES
            .iter()
            .find(|c| **c == raw)
            .map(|c| Self(c))
            .ok_or_else(|| format!("Must be one of: {}", CATEGORIES.join(", ")))
    }

    /// The category's name.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// Who may see and pay a processing account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// Only this payer (a customer account).
    Payer(Uuid),
    /// Every payer of the partner.
    Partner,
    /// Every payer of every partner: the curated biller directory.
    Biller,
}

/// Every visibility, as stored.
pub const VISIBILITIES: &[&str] = &["payer", "partner", "biller"];

impl Visibility {
    /// The stored and REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payer(_) => "payer",
            Self::Partner => "partner",
            Self::Biller => "biller",
        }
    }

    /// The one payer who may see the account, if it is private.
    pub fn payer_id(self) -> Option<Uuid> {
        match self {
            Self::Payer(id) => Some(id),
            Self::Partner | Self::Biller => None,
        }
    }

    /// Whether `payer` may see and pay an account of this visibility.
    pub fn admits(self, payer: Uuid) -> bool {
        match self {
            Self::Payer(id) => id == payer,
            Self::Partner | Self::Biller => true,
        }
    }
}

// === Payouts ===

pub use paymesh_kit::payout::PayoutMethod;

/// Checking or savings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BankAccountType {
    /// A checking account.
    Checking,
    /// A savings account.
    Savings,
}

impl BankAccountType {
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

/// Where a processing account's payouts go.
#[derive(Clone, Debug, PartialEq)]
pub enum Payout {
    /// ACH or wire to a US bank account.
    UsBank {
        /// ACH or wire.
        method: PayoutMethod,
        /// The name on the account.
        holder: Name,
        /// The ABA routing number.
        routing_number: RoutingNumber,
        /// The account number.
        account_number: Sealed<AccountNumber>,
        /// Checking or savings.
        account_type: BankAccountType,
    },
    /// EFT to a Canadian bank account.
    Eft {
        /// The name on the account.
        holder: Name,
        /// The financial institution number.
        institution_number: InstitutionNumber,
        /// The branch transit number.
        transit_number: TransitNumber,
        /// The account number.
        account_number: Sealed<CanadianAccountNumber>,
    },
    /// A check mailed to an address.
    Check {
        /// Whom the check is made out to.
        holder: Name,
        /// Where it is mailed (complete).
        mailing_address: Address,
    },
}

impl Payout {
    /// The payout method.
    pub fn method(&self) -> PayoutMethod {
        match self {
            Self::UsBank { method, .. } => *method,
            Self::Eft { .. } => PayoutMethod::Eft,
            Self::Check { .. } => PayoutMethod::Check,
        }
    }

    /// The last four digits of the bank account, if it is one.
    pub fn account_last4(&self) -> Option<&str> {
        match self {
            Self::UsBank { account_number, .. } => Some(account_number.last4()),
            Self::Eft { account_number, .. } => Some(account_number.last4()),
            Self::Check { .. } => None,
        }
    }
}

// === Status ===

/// Where a processing account's activation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProcessingStatus {
    /// Activation underway.
    Pending,
    /// May receive payments.
    Active,
    /// Everything submitted, something under review.
    InReview,
    /// Something missing or rejected.
    UpdateRequired,
    /// Deactivated; final.
    Inactive,
}

/// Every processing status, as stored.
pub const PROCESSING_STATUSES: &[&str] = &["pending", "active", "in_review", "update_required", "inactive"];

impl ProcessingStatus {
    /// The stored and REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::InReview => "in_review",
            Self::UpdateRequired => "update_required",
            Self::Inactive => "inactive",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            "in_review" => Some(Self::InReview),
            "update_required" => Some(Self::UpdateRequired),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }

    /// Whether the lifecycle allows moving from `self` to `next`.
    pub fn may_become(self, next: Self) -> bool {
        use ProcessingStatus as S;
        matches!(
            (self, next),
            (S::Pending, S::Active | S::InReview | S::UpdateRequired | S::Inactive)
                | (S::InReview, S::Active | S::UpdateRequired | S::Inactive)
                | (S::UpdateRequired, S::Active | S::InReview | S::Inactive)
                | (S::Active, S::InReview | S::UpdateRequired | S::Inactive)
        )
    }

    /// Whether paymesh re-weighs an account in this status when its payout
    /// or KYB changes: in every status but the final one.
    pub fn is_assessed(self) -> bool {
        self != Self::Inactive
    }
}

/// The outcome of weighing an account's activation requirements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    /// Active, in review or update required.
    pub status: ProcessingStatus,
    /// Every requirement not yet met, in words a partner can act on.
    pub reasons: Vec<String>,
}

/// Weighs the activation requirements of a processing account: a payout,
/// a legal entity that is complete and verified, and at least one owner,
/// each complete and verified.
pub fn assess(payout: Option<&Payout>, entity: Option<(&LegalEntity, &[Owner])>) -> Assessment {
    let mut missing = Vec::new();
    let mut reviewing = Vec::new();
    if payout.is_none() {
        missing.push("payout_method: set a payout method and its details".to_owned());
    }
    match entity {
        None => missing.push("legal_entity_id: link the legal entity (KYB) of the business".to_owned()),
        Some((entity, owners)) => {
            let gaps = entity.missing();
            if !gaps.is_empty() {
                missing.push(format!("legal_entity: missing {}", gaps.join(", ")));
            }
            weigh(
                "legal_entity",
                entity.verification.status,
                &entity.verification.reasons,
                &mut missing,
                &mut reviewing,
            );
            if owners.is_empty() {
                missing.push("owners: add at least one owner of the legal entity".to_owned());
            }
            for owner in owners {
                let who = format!("owner {}", owner.full_name.as_str());
                let gaps = owner.missing();
                if !gaps.is_empty() {
                    missing.push(format!("{who}: missing {}", gaps.join(", ")));
                }
                weigh(
                    &who,
                    owner.verification.status,
                    &owner.verification.reasons,
                    &mut missing,
                    &mut reviewing,
                );
            }
        }
    }
    let status = if !missing.is_empty() {
        ProcessingStatus::UpdateRequired
    } else if !reviewing.is_empty() {
        ProcessingStatus::InReview
    } else {
        ProcessingStatus::Active
    };
    missing.extend(reviewing);
    Assessment { status, reasons: missing }
}

fn weigh(
    who: &str,
    status: VerificationStatus,
    reasons: &[String],
    missing: &mut Vec<String>,
    reviewing: &mut Vec<String>,
) {
    let explain = |list: &mut Vec<String>| {
        if reasons.is_empty() {
            list.push(format!("{who}: not verified"));
        }
        list.extend(reasons.iter().map(|r| format!("{who}: {r}")));
    };
    match status {
        VerificationStatus::Verified => {}
        VerificationStatus::Pending => explain(reviewing),
        VerificationStatus::Unverified | VerificationStatus::Rejected => explain(missing),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, Utc};
    use paymesh_proto::common::v1 as common;

    use super::*;
    use paymesh_kit::values::{Attrs, Email, Phone};

    use crate::domain::{
        kyc::Verification,
        legal_entity::{Ein, LegalEntityType, OwnerType, Ownership, Ssn},
    };

    fn address() -> Address {
        Address::parse(&common::Address {
            street_address: "1 Main St".into(),
            unit_number: String::new(),
            city: "Albany".into(),
            state_province: "NY".into(),
            postal_code: "12207".into(),
            country: "US".into(),
        })
        .unwrap()
    }

    fn verified() -> Verification {
        Verification { status: VerificationStatus::Verified, reasons: vec![] }
    }

    fn entity(verification: Verification) -> LegalEntity {
        LegalEntity {
            id: Uuid::now_v7(),
            livemode: false,
            legal_name: Name::parse("Acme Rentals LLC").unwrap(),
            kind: LegalEntityType::LimitedLiabilityCompany,
            ein: Some(Sealed::Given(Ein::parse("12-3456789").unwrap())),
            address: address(),
            phone: Some(Phone::parse("(518) 555-0100").unwrap()),
            website: None,
            start_date: NaiveDate::from_ymd_opt(2015, 1, 1),
            state_incorporated: Some("DE".into()),
            contact_name: Some(Name::parse("Jane Doe").unwrap()),
            contact_email: Some(Email::parse("jane@acme.example").unwrap()),
            contact_title: Some(Name::parse("CEO").unwrap()),
            verification,
            attrs: Attrs::default(),
            created_at: Utc::now(),
            modified_at: Utc::now(),
        }
    }

    fn owner(entity: &LegalEntity, verification: Verification) -> Owner {
        Owner {
            id: Uuid::now_v7(),
            livemode: false,
            legal_entity_id: entity.id,
            full_name: Name::parse("Jane Doe").unwrap(),
            title: Some(Name::parse("CEO").unwrap()),
            ownership: Some(Ownership::parse("100").unwrap()),
            birth_date: NaiveDate::from_ymd_opt(1980, 1, 1),
            ssn: Some(Sealed::Given(Ssn::parse("123-45-6789").unwrap())),
            address: address(),
            email: Some(Email::parse("jane@acme.example").unwrap()),
            phone: Some(Phone::parse("(518) 555-0100").unwrap()),
            kind: OwnerType::BeneficialOwner,
            verification,
            attrs: Attrs::default(),
            created_at: Utc::now(),
            modified_at: Utc::now(),
        }
    }

    fn check() -> Payout {
        Payout::Check { holder: Name::parse("Acme Rentals LLC").unwrap(), mailing_address: address() }
    }

    #[test]
    fn the_lifecycle_allows_only_the_documented_moves() {
        use ProcessingStatus as S;
        let all = [S::Pending, S::Active, S::InReview, S::UpdateRequired, S::Inactive];
        let allowed: Vec<(S, S)> = all
            .iter()
            .flat_map(|a| all.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.may_become(*b))
            .collect();
        assert_eq!(
            allowed,
            [
                (S::Pending, S::Active),
                (S::Pending, S::InReview),
                (S::Pending, S::UpdateRequired),
                (S::Pending, S::Inactive),
                (S::Active, S::InReview),
                (S::Active, S::UpdateRequired),
                (S::Active, S::Inactive),
                (S::InReview, S::Active),
                (S::InReview, S::UpdateRequired),
                (S::InReview, S::Inactive),
                (S::UpdateRequired, S::Active),
                (S::UpdateRequired, S::InReview),
                (S::UpdateRequired, S::Inactive),
            ]
        );
        for s in PROCESSING_STATUSES {
            assert_eq!(ProcessingStatus::parse(s).unwrap().as_str(), *s);
        }
    }

    #[test]
    fn nothing_submitted_requires_an_update_and_says_what() {
        let a = assess(None, None);
        assert_eq!(a.status, ProcessingStatus::UpdateRequired);
        assert_eq!(
            a.reasons,
            [
                "payout_method: set a payout method and its details",
                "legal_entity_id: link the legal entity (KYB) of the business"
            ]
        );
    }

    #[test]
    fn an_incomplete_entity_or_owner_names_each_missing_attribute() {
        let mut e = entity(verified());
        e.ein = None;
        e.contact_title = None;
        let mut o = owner(&e, verified());
        o.ssn = None;
        let a = assess(Some(&check()), Some((&e, std::slice::from_ref(&o))));
        assert_eq!(a.status, ProcessingStatus::UpdateRequired);
        assert_eq!(a.reasons, ["legal_entity: missing ein, contact_title", "owner Jane Doe: missing ssn"]);
        let a = assess(Some(&check()), Some((&e, &[])));
        assert!(a.reasons.contains(&"owners: add at least one owner of the legal entity".to_owned()));
    }

    #[test]
    fn review_and_rejection_decide_between_in_review_and_update_required() {
        let pending = Verification {
            status: VerificationStatus::Pending,
            reasons: vec!["1 document is under review".into()],
        };
        let e = entity(pending.clone());
        let o = owner(&e, verified());
        let a = assess(Some(&check()), Some((&e, std::slice::from_ref(&o))));
        assert_eq!(a.status, ProcessingStatus::InReview);
        assert_eq!(a.reasons, ["legal_entity: 1 document is under review"]);

        let o = owner(&e, Verification::unverified());
        let a = assess(Some(&check()), Some((&e, std::slice::from_ref(&o))));
        assert_eq!(a.status, ProcessingStatus::UpdateRequired);
        assert_eq!(
            a.reasons,
            [
                "owner Jane Doe: No identity document has been submitted",
                "legal_entity: 1 document is under review"
            ]
        );
    }

    #[test]
    fn everything_complete_and_verified_activates() {
        let e = entity(verified());
        let o = owner(&e, verified());
        let a = assess(Some(&check()), Some((&e, std::slice::from_ref(&o))));
        assert_eq!(a, Assessment { status: ProcessingStatus::Active, reasons: vec![] });
    }

    #[test]
    fn categories_and_visibility() {
        assert_eq!(Category::parse("rent").unwrap().as_str(), "rent");
        assert!(Category::parse("casino").unwrap_err().starts_with("Must be one of: utilities"));
        let payer = Uuid::now_v7();
        assert!(Visibility::Payer(payer).admits(payer));
        assert!(!Visibility::Payer(payer).admits(Uuid::now_v7()));
        assert!(Visibility::Partner.admits(payer) && Visibility::Biller.admits(payer));
    }
}
