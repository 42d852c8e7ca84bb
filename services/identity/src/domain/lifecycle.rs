//! The rules of changing accounts: how a processing account's status moves
//! and who moved it, what a partner may ask of the status, which account is
//! the partner's default, what may be deleted, and which references a
//! change must check.
//!
//! Nothing here reads or writes: the service reads what a rule weighs
//! (the locked account, its legal entity, what a reference names), asks
//! the rule, and writes what it decides, in the order the store documents.
//!
//! The default: every partner has exactly one default processing account
//! per mode, and it is always `active` — payments that name no processing
//! account go to it. So a default can be replaced by another, never unset,
//! deactivated or deleted; and only an active account can become it.

use chrono::{DateTime, Utc};
use paymesh_kit::values::{Attrs, Description, Email, Name};
use uuid::Uuid;

use super::{
    account::{Account, NewAccount, NewProfile, Profile},
    processing::{Assessment, Category, ProcessingStatus, Visibility},
};

// === Who changes things ===

/// Who made a change, for the status history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A partner's API key.
    ApiKey(Uuid),
    /// paymesh itself, weighing an account's KYB.
    System,
    /// An operator, through the `paymesh` command.
    Operator,
}

impl Actor {
    /// The stored and REST spelling of the kind of actor.
    pub fn kind(self) -> &'static str {
        match self {
            Self::ApiKey(_) => "api_key",
            Self::System => "system",
            Self::Operator => "operator",
        }
    }

    /// The actor's id, if it has one (an API key).
    pub fn id(self) -> Option<Uuid> {
        match self {
            Self::ApiKey(id) => Some(id),
            Self::System | Self::Operator => None,
        }
    }

    /// The actor stored as `kind` and `id`.
    pub fn parse(kind: &str, id: Option<Uuid>) -> Option<Self> {
        match (kind, id) {
            ("api_key", Some(id)) => Some(Self::ApiKey(id)),
            ("system", None) => Some(Self::System),
            ("operator", None) => Some(Self::Operator),
            _ => None,
        }
    }
}

/// One change in a processing account's status history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    /// Its id.
    pub id: Uuid,
    /// The processing account.
    pub account_id: Uuid,
    /// The status before (none for the first).
    pub from: Option<ProcessingStatus>,
    /// The status after.
    pub to: ProcessingStatus,
    /// Why.
    pub reasons: Vec<String>,
    /// Who.
    pub actor: Actor,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Why the first entry of every processing account's history was made.
pub const CREATED: &str = "Created";

// === What a change does ===

/// What to do to one locked account.
#[derive(Debug)]
pub enum Change {
    /// Write this new state (the same id), and, for a processing account,
    /// weigh the status asked for: `active` or `inactive` with a reason.
    Update(Account, Option<(ProcessingStatus, Option<String>)>),
    /// Soft-delete it at this time.
    Delete(Account, DateTime<Utc>),
}

// === Moving the status ===

/// What a [`transition`] changed, and so what must be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Nothing: the status and its reasons are as they were (or the account
    /// has no status).
    Unchanged,
    /// Only the reasons of the same status.
    Reasons,
    /// The status moved from this one: the history gets an entry and the
    /// account an `account.processing_status` event.
    Moved {
        /// The status before.
        from: ProcessingStatus,
    },
}

/// A processing account moved to `to` at `at` for `reasons`, and what that
/// changed. A move the lifecycle does not allow is refused (a bug: paymesh
/// only asks for moves it weighed). Other accounts are returned unchanged.
pub fn transition(
    mut account: Account,
    to: ProcessingStatus,
    reasons: Vec<String>,
    at: DateTime<Utc>,
) -> Result<(Account, Transition), String> {
    let Profile::Processing(processing) = &mut account.profile else {
        return Ok((account, Transition::Unchanged));
    };
    let from = processing.status;
    if from == to {
        if processing.status_reasons == reasons {
            return Ok((account, Transition::Unchanged));
        }
        processing.status_reasons = reasons;
        return Ok((account, Transition::Reasons));
    }
    if !from.may_become(to) {
        return Err(format!("transition {} → {} is not allowed", from.as_str(), to.as_str()));
    }
    processing.status = to;
    processing.status_reasons = reasons;
    processing.status_at = at;
    account.modified_at = at;
    Ok((account, Transition::Moved { from }))
}

/// What a status a partner asked for comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The status it already has: weigh the account as after any change.
    Reassess,
    /// Deactivate it, for these reasons.
    Deactivate(Vec<String>),
    /// Activate it, if [`activation`] allows.
    Activate,
}

/// Weighs a status a partner asked for, with the reason given: `inactive`
/// always succeeds (from any status but inactive, and never for the
/// default); `active` needs the requirements met (see [`activation`]);
/// nothing else may be asked for. The error says why not.
pub fn weigh_request(
    account: &Account,
    requested: ProcessingStatus,
    reason: Option<String>,
) -> Result<Request, String> {
    let Some(processing) = account.processing() else {
        return Err("Only processing accounts have a status".to_owned());
    };
    let current = processing.status;
    match requested {
        _ if current == requested => Ok(Request::Reassess),
        _ if current == ProcessingStatus::Inactive => {
            Err("An inactive processing account cannot be reactivated".to_owned())
        }
        ProcessingStatus::Inactive if processing.is_default => {
            Err("The default processing account cannot be deactivated; make another one the default first"
                .to_owned())
        }
        ProcessingStatus::Inactive => {
            Ok(Request::Deactivate(vec![reason.unwrap_or_else(|| "Deactivated".to_owned())]))
        }
        ProcessingStatus::Active => Ok(Request::Activate),
        _ => Err("Only active or inactive may be asked for; paymesh sets the others".to_owned()),
    }
}

/// Whether an account weighed as `assessment` may be activated on request;
/// the error lists what is missing.
pub fn activation(assessment: &Assessment) -> Result<(), String> {
    if assessment.status == ProcessingStatus::Active {
        Ok(())
    } else {
        Err(format!("Cannot be activated yet: {}", assessment.reasons.join("; ")))
    }
}

// === The default ===

/// Whether `after` becomes the partner's default processing account in a
/// change from `before`; refused when it would stop being the default
/// (another one must be made the default instead).
pub fn becomes_default(before: &Account, after: &Account) -> Result<bool, String> {
    match (before.processing(), after.processing()) {
        (Some(was), Some(now)) => {
            if was.is_default && !now.is_default {
                return Err(
                    "Every partner has a default processing account; make another one the default instead"
                        .to_owned(),
                );
            }
            Ok(now.is_default && !was.is_default)
        }
        _ => Ok(false),
    }
}

/// Refuses to make an account that is not active the default: payments
/// that name no processing account go to the default.
pub fn may_be_default(account: &Account) -> Result<(), String> {
    match account.processing() {
        Some(p) if p.status != ProcessingStatus::Active => Err(format!(
            "Only an active processing account can be the default; this one is {}: {}",
            p.status.as_str(),
            p.status_reasons.join("; ")
        )),
        _ => Ok(()),
    }
}

/// Refuses to delete the default processing account.
pub fn may_delete(account: &Account) -> Result<(), String> {
    if account.processing().is_some_and(|p| p.is_default) {
        return Err(
            "The default processing account cannot be deleted; make another one the default first".to_owned()
        );
    }
    Ok(())
}

/// The default processing account a new partner gets in one mode, named
/// after the partner and reachable at its email: exempt from KYB in test
/// mode (where it is active at once, see [`default_activation`]), pending
/// and assessed like any other in live mode.
pub fn default_processing_account(
    name: &Name,
    email: &Email,
    livemode: bool,
    now: DateTime<Utc>,
) -> Result<Account, String> {
    let new = NewAccount {
        name: name.clone(),
        email: email.clone(),
        phone: None,
        description: Some(Description::parse("Default processing account")?),
        attrs: Attrs::default(),
        profile: NewProfile::Processing {
            industry: Name::parse("General")?,
            category: Category::parse("other")?,
            visibility: Visibility::Partner,
            payout: None,
            legal_entity_id: None,
            is_default: true,
        },
    };
    let mut account = Account::create(new, livemode, now).map_err(|(_, why)| why)?;
    if let Profile::Processing(processing) = &mut account.profile {
        processing.kyb_exempt = !livemode;
    }
    Ok(account)
}

/// How a new partner's default processing account starts: in test mode
/// active at once, for these reasons; in live mode (`None`) assessed like
/// any other, since it needs its KYB.
pub fn default_activation(livemode: bool) -> Option<Vec<String>> {
    (!livemode).then(|| vec!["Test mode: the default processing account is active at once".to_owned()])
}

// === References ===

/// What a changed account refers to that must be checked against the
/// partner's other objects (see [`references_to_check`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct References {
    /// A customer's primary processing account: one the customer may see.
    pub primary_processing_id: Option<Uuid>,
    /// A private recipient's payer: a customer.
    pub payer_id: Option<Uuid>,
    /// A processing account's legal entity.
    pub legal_entity_id: Option<Uuid>,
}

/// The references of `account` to check: on a creation (`before` is
/// `None`) every one; on an update only those that changed — a reference
/// that was valid when it was made stays, even if what it names has since
/// been deleted. A processing account may not claim to be a biller (those
/// come from the curated directory): the error names the attribute.
pub fn references_to_check(
    account: &Account,
    before: Option<&Account>,
) -> Result<References, (&'static str, String)> {
    match &account.profile {
        Profile::Customer(customer) => {
            let unchanged = before
                .and_then(Account::customer)
                .is_some_and(|was| was.primary_processing_id == customer.primary_processing_id);
            Ok(References {
                primary_processing_id: customer.primary_processing_id.filter(|_| !unchanged),
                ..References::default()
            })
        }
        Profile::Processing(processing) => {
            if processing.visibility == Visibility::Biller {
                return Err((
                    "processing.visibility",
                    "Billers come from the curated directory; use payer or partner".to_owned(),
                ));
            }
            let was = before.and_then(Account::processing);
            Ok(References {
                primary_processing_id: None,
                payer_id: processing
                    .visibility
                    .payer_id()
                    .filter(|_| was.is_none_or(|was| was.visibility != processing.visibility)),
                legal_entity_id: processing
                    .legal_entity_id
                    .filter(|_| was.is_none_or(|was| was.legal_entity_id != processing.legal_entity_id)),
            })
        }
    }
}

/// Whether a processing account of `visibility` (`None`: none of the
/// partner's) may be the primary processing account of `customer`: one the
/// customer may see, and not a biller.
pub fn may_be_primary(visibility: Option<Visibility>, customer: Uuid) -> bool {
    visibility.is_some_and(|v| v != Visibility::Biller && v.admits(customer))
}

/// Whether a change from `before` to `after` starts a customer's KYC over:
/// its documents verified the old name.
pub fn resets_customer_kyc(before: &Account, after: &Account) -> bool {
    after.customer().is_some() && before.name != after.name
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::domain::{
        account::{AccountPatch, ProcessingPatch},
        kyc::Verification,
    };

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z").unwrap().to_utc()
    }

    fn processing(status: ProcessingStatus, is_default: bool) -> Account {
        let name = Name::parse("Acme Rentals").unwrap();
        let email = Email::parse("pay@acme.example").unwrap();
        let mut account = default_processing_account(&name, &email, true, now()).unwrap();
        let Profile::Processing(p) = &mut account.profile else { unreachable!() };
        p.status = status;
        p.is_default = is_default;
        account
    }

    fn customer() -> Account {
        Account::create(
            NewAccount {
                name: Name::parse("Matt Perez").unwrap(),
                email: Email::parse("matt@example.com").unwrap(),
                phone: None,
                description: None,
                attrs: Attrs::default(),
                profile: NewProfile::Customer { primary_processing_id: None },
            },
            false,
            now(),
        )
        .unwrap()
    }

    fn status(account: &Account) -> (ProcessingStatus, Vec<String>) {
        let p = account.processing().unwrap();
        (p.status, p.status_reasons.clone())
    }

    #[test]
    fn actors_round_trip_through_their_stored_spelling() {
        let key = Uuid::now_v7();
        for actor in [Actor::ApiKey(key), Actor::System, Actor::Operator] {
            assert_eq!(Actor::parse(actor.kind(), actor.id()), Some(actor));
        }
        assert_eq!(Actor::ApiKey(key).id(), Some(key));
        assert_eq!(Actor::parse("api_key", None), None);
        assert_eq!(Actor::parse("system", Some(key)), None);
        assert_eq!(Actor::parse("robot", None), None);
    }

    #[test]
    fn a_transition_moves_the_status_and_says_from_where() {
        let later = now() + TimeDelta::seconds(5);
        let account = processing(ProcessingStatus::Pending, false);
        let reasons = vec!["payout_method: set a payout method and its details".to_owned()];
        let (moved, what) =
            transition(account.clone(), ProcessingStatus::UpdateRequired, reasons.clone(), later).unwrap();
        assert_eq!(what, Transition::Moved { from: ProcessingStatus::Pending });
        assert_eq!(status(&moved), (ProcessingStatus::UpdateRequired, reasons.clone()));
        assert_eq!(moved.processing().unwrap().status_at, later);
        assert_eq!(moved.modified_at, later);

        // The same status: only new reasons are news, and the time stays.
        let again = later + TimeDelta::seconds(5);
        let (same, what) =
            transition(moved.clone(), ProcessingStatus::UpdateRequired, reasons.clone(), again).unwrap();
        assert_eq!((same.clone(), what), (moved.clone(), Transition::Unchanged));
        let fewer = vec!["legal_entity: 1 document is under review".to_owned()];
        let (changed, what) =
            transition(moved.clone(), ProcessingStatus::UpdateRequired, fewer.clone(), again).unwrap();
        assert_eq!(what, Transition::Reasons);
        assert_eq!(status(&changed), (ProcessingStatus::UpdateRequired, fewer));
        assert_eq!(changed.processing().unwrap().status_at, later);
        assert_eq!(changed.modified_at, later);
    }

    #[test]
    fn a_transition_the_lifecycle_forbids_is_refused_and_customers_have_none() {
        let inactive = processing(ProcessingStatus::Inactive, false);
        assert_eq!(
            transition(inactive, ProcessingStatus::Active, Vec::new(), now()).unwrap_err(),
            "transition inactive → active is not allowed"
        );
        let account = customer();
        let (same, what) = transition(account.clone(), ProcessingStatus::Active, Vec::new(), now()).unwrap();
        assert_eq!((same, what), (account, Transition::Unchanged));
    }

    #[test]
    fn partners_may_ask_only_for_active_or_inactive() {
        use ProcessingStatus as S;
        let ask = |current, default, requested, reason: Option<&str>| {
            weigh_request(&processing(current, default), requested, reason.map(str::to_owned))
        };
        assert_eq!(ask(S::Active, false, S::Active, None), Ok(Request::Reassess));
        assert_eq!(ask(S::Inactive, false, S::Inactive, None), Ok(Request::Reassess));
        assert_eq!(ask(S::UpdateRequired, false, S::Active, None), Ok(Request::Activate));
        assert_eq!(
            ask(S::Active, false, S::Inactive, Some("Closed the shop")),
            Ok(Request::Deactivate(vec!["Closed the shop".to_owned()]))
        );
        assert_eq!(
            ask(S::InReview, false, S::Inactive, None),
            Ok(Request::Deactivate(vec!["Deactivated".to_owned()]))
        );
        assert_eq!(
            ask(S::Inactive, false, S::Active, None).unwrap_err(),
            "An inactive processing account cannot be reactivated"
        );
        assert_eq!(
            ask(S::Active, true, S::Inactive, None).unwrap_err(),
            "The default processing account cannot be deactivated; make another one the default first"
        );
        for other in [S::Pending, S::InReview, S::UpdateRequired] {
            assert_eq!(
                ask(S::Active, false, other, None).unwrap_err(),
                "Only active or inactive may be asked for; paymesh sets the others"
            );
        }
        assert_eq!(
            weigh_request(&customer(), S::Active, None).unwrap_err(),
            "Only processing accounts have a status"
        );
    }

    #[test]
    fn activation_needs_every_requirement_met() {
        let met = Assessment { status: ProcessingStatus::Active, reasons: Vec::new() };
        assert_eq!(activation(&met), Ok(()));
        let unmet = Assessment {
            status: ProcessingStatus::UpdateRequired,
            reasons: vec!["payout_method: set one".to_owned(), "owners: add one".to_owned()],
        };
        assert_eq!(
            activation(&unmet).unwrap_err(),
            "Cannot be activated yet: payout_method: set one; owners: add one"
        );
        let reviewing =
            Assessment { status: ProcessingStatus::InReview, reasons: vec!["in review".to_owned()] };
        assert!(activation(&reviewing).is_err());
    }

    #[test]
    fn the_default_is_replaced_never_unset() {
        let plain = processing(ProcessingStatus::Active, false);
        let default = processing(ProcessingStatus::Active, true);
        assert_eq!(becomes_default(&plain, &default), Ok(true));
        assert_eq!(becomes_default(&default, &default), Ok(false));
        assert_eq!(becomes_default(&plain, &plain), Ok(false));
        assert_eq!(
            becomes_default(&default, &plain).unwrap_err(),
            "Every partner has a default processing account; make another one the default instead"
        );
        assert_eq!(becomes_default(&customer(), &customer()), Ok(false));
    }

    #[test]
    fn only_an_active_account_may_be_the_default() {
        assert_eq!(may_be_default(&processing(ProcessingStatus::Active, true)), Ok(()));
        assert_eq!(may_be_default(&customer()), Ok(()));
        let mut pending = processing(ProcessingStatus::UpdateRequired, true);
        let Profile::Processing(p) = &mut pending.profile else { unreachable!() };
        p.status_reasons = vec!["payout_method: set one".to_owned(), "owners: add one".to_owned()];
        assert_eq!(
            may_be_default(&pending).unwrap_err(),
            "Only an active processing account can be the default; this one is update_required: \
             payout_method: set one; owners: add one"
        );
    }

    #[test]
    fn the_default_cannot_be_deleted() {
        assert_eq!(may_delete(&processing(ProcessingStatus::Active, false)), Ok(()));
        assert_eq!(may_delete(&customer()), Ok(()));
        assert_eq!(
            may_delete(&processing(ProcessingStatus::Active, true)).unwrap_err(),
            "The default processing account cannot be deleted; make another one the default first"
        );
    }

    #[test]
    fn a_partners_default_is_active_at_once_only_in_test_mode() {
        let name = Name::parse("Acme").unwrap();
        let email = Email::parse("payments@acme.example").unwrap();
        for livemode in [false, true] {
            let account = default_processing_account(&name, &email, livemode, now()).unwrap();
            let p = account.processing().unwrap();
            assert_eq!((account.livemode, p.kyb_exempt, p.is_default), (livemode, !livemode, true));
            assert_eq!(p.status, ProcessingStatus::Pending);
            assert_eq!(p.visibility, Visibility::Partner);
            assert_eq!((p.industry.as_str(), p.category.as_str()), ("General", "other"));
            assert_eq!(account.name, name);
            assert_eq!(
                account.description.as_ref().map(Description::as_str),
                Some("Default processing account")
            );
        }
        assert_eq!(
            default_activation(false),
            Some(vec!["Test mode: the default processing account is active at once".to_owned()])
        );
        assert_eq!(default_activation(true), None);
    }

    #[test]
    fn only_references_that_changed_are_checked() {
        let entity = Uuid::now_v7();
        let payer = Uuid::now_v7();
        let mut recipient = processing(ProcessingStatus::Pending, false);
        let Profile::Processing(p) = &mut recipient.profile else { unreachable!() };
        p.visibility = Visibility::Payer(payer);
        p.legal_entity_id = Some(entity);
        assert_eq!(
            references_to_check(&recipient, None),
            Ok(References {
                primary_processing_id: None,
                payer_id: Some(payer),
                legal_entity_id: Some(entity)
            })
        );
        assert_eq!(references_to_check(&recipient, Some(&recipient)), Ok(References::default()));
        let patch = AccountPatch {
            processing: ProcessingPatch {
                legal_entity_id: Some(Some(Uuid::now_v7())),
                ..ProcessingPatch::default()
            },
            ..AccountPatch::default()
        };
        let relinked = recipient.apply(&patch, now()).unwrap();
        let check = references_to_check(&relinked, Some(&recipient)).unwrap();
        assert_eq!(
            (check.payer_id, check.legal_entity_id),
            (None, relinked.processing().unwrap().legal_entity_id)
        );

        let primary = Uuid::now_v7();
        let mut payer_account = customer();
        let Profile::Customer(c) = &mut payer_account.profile else { unreachable!() };
        c.primary_processing_id = Some(primary);
        assert_eq!(
            references_to_check(&payer_account, Some(&customer())).unwrap().primary_processing_id,
            Some(primary)
        );
        assert_eq!(references_to_check(&payer_account, Some(&payer_account)), Ok(References::default()));
    }

    #[test]
    fn nobody_makes_a_biller_and_billers_are_nobodys_primary() {
        let mut biller = processing(ProcessingStatus::Pending, false);
        let Profile::Processing(p) = &mut biller.profile else { unreachable!() };
        p.visibility = Visibility::Biller;
        assert_eq!(
            references_to_check(&biller, None).unwrap_err(),
            (
                "processing.visibility",
                "Billers come from the curated directory; use payer or partner".to_owned()
            )
        );
        let me = Uuid::now_v7();
        assert!(may_be_primary(Some(Visibility::Partner), me));
        assert!(may_be_primary(Some(Visibility::Payer(me)), me));
        assert!(!may_be_primary(Some(Visibility::Payer(Uuid::now_v7())), me));
        assert!(!may_be_primary(Some(Visibility::Biller), me));
        assert!(!may_be_primary(None, me));
    }

    #[test]
    fn a_customers_kyc_starts_over_only_when_its_name_changes() {
        let before = customer();
        let renamed = before
            .apply(
                &AccountPatch {
                    name: Some(Name::parse("Matthew Perez").unwrap()),
                    ..AccountPatch::default()
                },
                now(),
            )
            .unwrap();
        let reached = before
            .apply(
                &AccountPatch {
                    email: Some(Email::parse("matt@new.example").unwrap()),
                    ..AccountPatch::default()
                },
                now(),
            )
            .unwrap();
        assert!(resets_customer_kyc(&before, &renamed));
        assert!(!resets_customer_kyc(&before, &reached));
        let recipient = processing(ProcessingStatus::Active, false);
        let renamed_recipient = recipient
            .apply(
                &AccountPatch { name: Some(Name::parse("Acme Homes").unwrap()), ..AccountPatch::default() },
                now(),
            )
            .unwrap();
        assert!(!resets_customer_kyc(&recipient, &renamed_recipient));
        assert_eq!(before.customer().unwrap().verification, Verification::unverified());
    }
}
