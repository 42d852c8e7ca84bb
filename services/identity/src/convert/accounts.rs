//! Accounts on the wire: customers and processing accounts.

use paymesh_kit::{
    Violation,
    bank::{AccountNumber, CanadianAccountNumber, InstitutionNumber, RoutingNumber, TransitNumber},
    batch, json,
};
use paymesh_proto::identity::v1 as pb;
use prost_types::FieldMask;
use uuid::Uuid;

use super::{Fields, attrs, kyc_status, optional, optional_id, optional_text, timestamp};
use crate::domain::{
    account::{
        Account, AccountPatch, Description, Email, Name, NewAccount, NewProfile, PayoutInput, Phone, Profile,
    },
    lifecycle::StatusChange,
    processing::{BankAccountType, CATEGORIES, Category, Payout, PayoutMethod, ProcessingStatus, Visibility},
};

/// The account a create request asks for.
pub(crate) fn new_account(account: Option<pb::Account>) -> Result<NewAccount, Vec<Violation>> {
    let Some(account) = account else {
        return Err(vec![Violation::new("account", "Required")]);
    };
    let pb::Account {
        id: _,
        r#type,
        name,
        email,
        phone_number,
        description,
        attrs: custom,
        livemode: _,
        create_time: _,
        update_time: _,
        primary_processing_id,
        default_payment_method_id,
        kyc_status: _,
        kyc_status_reasons: _,
        processing,
    } = account;
    let mut f = Fields::new("account");
    let kind = f.take("type", account_type(r#type));
    let name = f.take("name", Name::parse(&name));
    let email = f.take("email", Email::parse(&email));
    let phone = f.take("phone_number", optional(phone_number, Phone::parse));
    let description = f.take("description", optional(description, Description::parse));
    let attrs = f.take("attrs", attrs(custom));
    if default_payment_method_id.is_some_and(|v| !v.is_empty()) {
        f.push("default_payment_method_id", "Read-only attribute: set it through the payment methods");
    }
    let profile = match kind {
        Some(pb::AccountType::Customer) => {
            if processing.is_some() {
                f.push("processing", "Only processing accounts have processing attributes");
            }
            f.take("primary_processing_id", optional_id(primary_processing_id.as_deref()))
                .map(|primary_processing_id| NewProfile::Customer { primary_processing_id })
        }
        Some(pb::AccountType::Processing) => {
            if primary_processing_id.is_some_and(|v| !v.is_empty()) {
                f.push("primary_processing_id", "Only customers have a primary processing account");
            }
            match processing {
                None => {
                    f.push("processing", "Required for a processing account");
                    None
                }
                Some(p) => new_processing(&mut f, p),
            }
        }
        _ => None,
    };
    match (name, email, phone, description, attrs, profile) {
        (Some(name), Some(email), Some(phone), Some(description), Some(attrs), Some(profile)) if f.ok() => {
            Ok(NewAccount { name, email, phone, description, attrs, profile })
        }
        _ => Err(f.into_violations()),
    }
}

fn account_type(value: i32) -> Result<pb::AccountType, String> {
    match pb::AccountType::try_from(value) {
        Ok(pb::AccountType::Unspecified) => Err("Required".to_owned()),
        Ok(t) => Ok(t),
        Err(_) => Err("Must be one of: customer, processing".to_owned()),
    }
}

fn new_processing(f: &mut Fields<'_>, p: pb::Processing) -> Option<NewProfile> {
    let pb::Processing {
        industry,
        category,
        visibility,
        payer_id,
        payout_method,
        payout_details,
        status,
        status_reasons: _,
        status_time: _,
        legal_entity_id,
        default,
        status_reason,
    } = p;
    if status != pb::ProcessingStatus::Unspecified as i32 {
        f.push(
            "processing.status",
            "A new account starts pending and is assessed at once; ask for active or inactive with an update",
        );
    }
    if status_reason.is_some_and(|r| !r.trim().is_empty()) {
        f.push("processing.status_reason", "Give it with a status, on an update");
    }
    let industry = f.take("processing.industry", Name::parse(&industry));
    let category = f.take("processing.category", category_from(category));
    let visibility = f.take("processing.visibility", visibility_from(visibility, payer_id.as_deref()));
    let payout = match payout_from(payout_method, payout_details) {
        Ok(payout) => payout,
        Err(problems) => {
            for (field, why) in problems {
                f.push(&format!("processing.{field}"), why);
            }
            None
        }
    };
    let legal_entity_id = f.take("processing.legal_entity_id", optional_id(legal_entity_id.as_deref()));
    match (industry, category, visibility, legal_entity_id) {
        (Some(industry), Some(category), Some(visibility), Some(legal_entity_id)) => {
            Some(NewProfile::Processing {
                industry,
                category,
                visibility,
                payout,
                legal_entity_id,
                is_default: default,
            })
        }
        _ => None,
    }
}

/// The wire enum's values name the categories: `RECIPIENT_CATEGORY_RENT`
/// is `rent`.
const CATEGORY_PREFIX: &str = "RECIPIENT_CATEGORY_";

fn category_from(value: i32) -> Result<Category, String> {
    let invalid = || format!("Must be one of: {}", CATEGORIES.join(", "));
    match pb::RecipientCategory::try_from(value) {
        Ok(pb::RecipientCategory::Unspecified) => Err("Required".to_owned()),
        Ok(c) => c
            .as_str_name()
            .strip_prefix(CATEGORY_PREFIX)
            .and_then(|name| Category::parse(&name.to_ascii_lowercase()).ok())
            .ok_or_else(invalid),
        Err(_) => Err(invalid()),
    }
}

/// The wire value of a category.
fn category_to(category: Category) -> i32 {
    let name = format!("{CATEGORY_PREFIX}{}", category.as_str().to_ascii_uppercase());
    pb::RecipientCategory::from_str_name(&name)
        .map_or(pb::RecipientCategory::Unspecified as i32, |c| c as i32)
}

fn visibility_from(value: i32, payer_id: Option<&str>) -> Result<Visibility, String> {
    let payer = optional_id(payer_id).map_err(|why| format!("payer_id: {why}"))?;
    match (pb::Visibility::try_from(value), payer) {
        (Ok(pb::Visibility::Payer), Some(payer)) => Ok(Visibility::Payer(payer)),
        (Ok(pb::Visibility::Payer), None) => {
            Err("A payer recipient needs payer_id, the one customer who may see it".to_owned())
        }
        (Ok(pb::Visibility::Partner), None) => Ok(Visibility::Partner),
        (Ok(pb::Visibility::Biller), None) => Ok(Visibility::Biller),
        (Ok(pb::Visibility::Partner | pb::Visibility::Biller), Some(_)) => {
            Err("payer_id is only for visibility payer".to_owned())
        }
        (Ok(pb::Visibility::Unspecified), _) => Err("Required: payer, partner or biller".to_owned()),
        (Err(_), _) => Err("Must be one of: payer, partner, biller".to_owned()),
    }
}

fn visibility_to(visibility: Visibility) -> i32 {
    (match visibility {
        Visibility::Payer(_) => pb::Visibility::Payer,
        Visibility::Partner => pb::Visibility::Partner,
        Visibility::Biller => pb::Visibility::Biller,
    }) as i32
}

/// A payout from its method and details; problems are named relative to
/// `processing` (`payout_details.routing_number`).
fn payout_from(
    method: i32,
    details: Option<pb::PayoutDetails>,
) -> Result<Option<PayoutInput>, Vec<(String, String)>> {
    let method = match pb::PayoutMethod::try_from(method) {
        Ok(pb::PayoutMethod::Unspecified) => {
            return if details.is_some() {
                Err(vec![("payout_method".to_owned(), "Required with payout details".to_owned())])
            } else {
                Ok(None)
            };
        }
        Ok(pb::PayoutMethod::Ach) => PayoutMethod::Ach,
        Ok(pb::PayoutMethod::Wire) => PayoutMethod::Wire,
        Ok(pb::PayoutMethod::Check) => PayoutMethod::Check,
        Ok(pb::PayoutMethod::Eft) => PayoutMethod::Eft,
        Err(_) => {
            return Err(vec![(
                "payout_method".to_owned(),
                "Must be one of: ach, wire, check, eft".to_owned(),
            )]);
        }
    };
    let Some(details) = details else {
        return Err(vec![(
            "payout_details".to_owned(),
            format!("Required with payout method {}", method.as_str()),
        )]);
    };
    let pb::PayoutDetails {
        account_holder,
        routing_number,
        account_number,
        account_number_last4: _,
        account_type,
        institution_number,
        transit_number,
        mailing_address,
    } = details;
    let mut problems = Vec::new();
    let mut take = |name: &str, parsed: Result<_, String>| {
        parsed.map_err(|why| problems.push((format!("payout_details.{name}"), why))).ok()
    };
    let holder = take("account_holder", optional_text(&account_holder, Name::parse)).flatten();
    let unused = |problems: &mut Vec<(String, String)>, name: &str, given: bool| {
        if given {
            problems
                .push((format!("payout_details.{name}"), format!("Not used by {} payouts", method.as_str())));
        }
    };
    let input = match method {
        PayoutMethod::Ach | PayoutMethod::Wire => {
            let routing = RoutingNumber::parse(&routing_number)
                .map_err(|why| problems.push(("payout_details.routing_number".to_owned(), why)))
                .ok();
            let number = optional_text(&account_number, AccountNumber::parse)
                .map_err(|why| problems.push(("payout_details.account_number".to_owned(), why)))
                .ok()
                .flatten();
            let kind = match pb::BankAccountType::try_from(account_type) {
                Ok(pb::BankAccountType::Savings) => BankAccountType::Savings,
                Ok(pb::BankAccountType::Checking | pb::BankAccountType::Unspecified) => {
                    BankAccountType::Checking
                }
                Err(_) => {
                    problems.push((
                        "payout_details.account_type".to_owned(),
                        "Must be checking or savings".to_owned(),
                    ));
                    BankAccountType::Checking
                }
            };
            unused(&mut problems, "institution_number", !institution_number.is_empty());
            unused(&mut problems, "transit_number", !transit_number.is_empty());
            unused(&mut problems, "mailing_address", mailing_address.is_some());
            routing.map(|routing_number| PayoutInput::UsBank {
                method,
                holder: holder.clone(),
                routing_number,
                account_number: number,
                account_type: kind,
            })
        }
        PayoutMethod::Eft => {
            let institution = InstitutionNumber::parse(&institution_number)
                .map_err(|why| problems.push(("payout_details.institution_number".to_owned(), why)))
                .ok();
            let transit = TransitNumber::parse(&transit_number)
                .map_err(|why| problems.push(("payout_details.transit_number".to_owned(), why)))
                .ok();
            let number = optional_text(&account_number, CanadianAccountNumber::parse)
                .map_err(|why| problems.push(("payout_details.account_number".to_owned(), why)))
                .ok()
                .flatten();
            unused(&mut problems, "routing_number", !routing_number.is_empty());
            unused(&mut problems, "mailing_address", mailing_address.is_some());
            match (institution, transit) {
                (Some(institution_number), Some(transit_number)) => Some(PayoutInput::Eft {
                    holder: holder.clone(),
                    institution_number,
                    transit_number,
                    account_number: number,
                }),
                _ => None,
            }
        }
        PayoutMethod::Check => {
            unused(&mut problems, "routing_number", !routing_number.is_empty());
            unused(&mut problems, "account_number", !account_number.is_empty());
            unused(&mut problems, "institution_number", !institution_number.is_empty());
            unused(&mut problems, "transit_number", !transit_number.is_empty());
            match mailing_address.as_ref().map(paymesh_kit::address::Address::parse) {
                None => {
                    problems.push((
                        "payout_details.mailing_address".to_owned(),
                        "Required for check payouts".to_owned(),
                    ));
                    None
                }
                Some(Err(parts)) => {
                    for (part, why) in parts {
                        problems.push((format!("payout_details.mailing_address.{part}"), why));
                    }
                    None
                }
                Some(Ok(address)) => {
                    Some(PayoutInput::Check { holder: holder.clone(), mailing_address: address })
                }
            }
        }
    };
    if problems.is_empty() { Ok(input) } else { Err(problems) }
}

/// The attributes an update may name in its mask.
pub(crate) const UPDATABLE: &[&str] = &[
    "name",
    "email",
    "phone_number",
    "description",
    "attrs",
    "primary_processing_id",
    "processing.industry",
    "processing.category",
    "processing.visibility",
    "processing.payer_id",
    "processing.payout_method",
    "processing.payout_details",
    "processing.legal_entity_id",
    "processing.default",
    "processing.status",
    "processing.status_reason",
];

/// The target id (if it is one) and the change an update request asks for.
/// A malformed id is `None`: to the caller it is an account that does not
/// exist.
pub(crate) fn patch(
    account: Option<pb::Account>,
    mask: Option<FieldMask>,
) -> Result<(Option<Uuid>, AccountPatch), Vec<Violation>> {
    let Some(account) = account else {
        return Err(vec![Violation::new("account", "Required")]);
    };
    let pb::Account {
        id,
        r#type: _,
        name,
        email,
        phone_number,
        description,
        attrs: custom,
        livemode: _,
        create_time: _,
        update_time: _,
        primary_processing_id,
        default_payment_method_id: _,
        kyc_status: _,
        kyc_status_reasons: _,
        processing,
    } = account;
    let processing = processing.unwrap_or_default();
    let paths: Vec<String> = mask.map(|m| m.paths).unwrap_or_default();
    let has = |path: &str| paths.iter().any(|p| p == path);
    let mut f = Fields::new("account");
    let mut patch = AccountPatch::default();
    for path in &paths {
        match path.as_str() {
            "name" => patch.name = f.take("name", Name::parse(&name)),
            "email" => patch.email = f.take("email", Email::parse(&email)),
            "phone_number" => {
                patch.phone = f.take("phone_number", optional(phone_number.clone(), Phone::parse))
            }
            "description" => {
                patch.description = f.take("description", optional(description.clone(), Description::parse));
            }
            "attrs" => patch.attrs = Some(custom.clone().map(json::from_struct)),
            "primary_processing_id" => {
                patch.primary_processing_id =
                    f.take("primary_processing_id", optional_id(primary_processing_id.as_deref()));
            }
            "processing.industry" => {
                patch.processing.industry = f.take("processing.industry", Name::parse(&processing.industry));
            }
            "processing.category" => {
                patch.processing.category = f.take("processing.category", category_from(processing.category));
            }
            "processing.visibility" | "processing.payer_id" => {
                if patch.processing.visibility.is_none() {
                    // payer_id alone means a private recipient of that payer.
                    let visibility = if has("processing.visibility") {
                        processing.visibility
                    } else {
                        pb::Visibility::Payer as i32
                    };
                    patch.processing.visibility = f.take(
                        "processing.visibility",
                        visibility_from(visibility, processing.payer_id.as_deref()),
                    );
                }
            }
            "processing.payout_method" | "processing.payout_details" => {
                if patch.processing.payout.is_none() {
                    match payout_from(processing.payout_method, processing.payout_details.clone()) {
                        Ok(payout) => patch.processing.payout = Some(payout),
                        Err(problems) => {
                            for (field, why) in problems {
                                f.push(&format!("processing.{field}"), why);
                            }
                        }
                    }
                }
            }
            "processing.legal_entity_id" => {
                patch.processing.legal_entity_id =
                    f.take("processing.legal_entity_id", optional_id(processing.legal_entity_id.as_deref()));
            }
            "processing.default" => patch.processing.is_default = Some(processing.default),
            "processing.status" => {
                let requested = match pb::ProcessingStatus::try_from(processing.status) {
                    Ok(pb::ProcessingStatus::Active) => Ok(ProcessingStatus::Active),
                    Ok(pb::ProcessingStatus::Inactive) => Ok(ProcessingStatus::Inactive),
                    _ => Err("Only active or inactive may be asked for; paymesh sets the others".to_owned()),
                };
                if let Some(status) = f.take("processing.status", requested) {
                    let reason = processing.status_reason.clone().filter(|r| !r.trim().is_empty());
                    if reason.as_ref().is_some_and(|r| r.chars().count() > 1000) {
                        f.push("processing.status_reason", "Must be at most 1000 characters");
                    }
                    patch.processing.status = Some((status, reason));
                }
            }
            "processing.status_reason" => {
                if !has("processing.status") {
                    f.push("processing.status_reason", "Give it with a status");
                }
            }
            "type" => f.push("type", "Cannot be changed"),
            "default_payment_method_id" => {
                f.push(
                    "default_payment_method_id",
                    "Read-only attribute: set it through the payment methods",
                );
            }
            "kyc_status" | "kyc_status_reasons" | "processing.status_reasons" | "processing.status_time" => {
                f.push(path, "Read-only attribute");
            }
            other => f.unchangeable(other, UPDATABLE),
        }
    }
    if f.ok() { Ok((id.parse().ok(), patch)) } else { Err(f.into_violations()) }
}

/// The targets and changes of a batch of update requests; every
/// request's problems at once, under `requests[i]`.
pub(crate) fn patches(
    requests: Vec<pb::UpdateAccountRequest>,
) -> Result<Vec<(Option<Uuid>, AccountPatch)>, Vec<Violation>> {
    let mut violations = Vec::new();
    let mut patches = Vec::with_capacity(requests.len());
    for (i, pb::UpdateAccountRequest { account, update_mask }) in requests.into_iter().enumerate() {
        match patch(account, update_mask) {
            Ok(parsed) => patches.push(parsed),
            Err(v) => violations.extend(batch::nested(v, &format!("requests[{i}]"))),
        }
    }
    if violations.is_empty() { Ok(patches) } else { Err(violations) }
}

/// An account as the wire carries it.
pub(crate) fn to_proto(account: Account) -> pb::Account {
    let Account { id, livemode, name, email, phone, description, attrs, profile, created_at, modified_at } =
        account;
    let mut out = pb::Account {
        id: id.to_string(),
        r#type: match profile {
            Profile::Customer(_) => pb::AccountType::Customer,
            Profile::Processing(_) => pb::AccountType::Processing,
        } as i32,
        name: name.as_str().to_owned(),
        email: email.as_str().to_owned(),
        phone_number: phone.map(|p| p.as_str().to_owned()),
        description: description.map(|d| d.as_str().to_owned()),
        attrs: Some(json::to_struct(attrs.into_inner())),
        livemode,
        create_time: Some(timestamp(created_at)),
        update_time: Some(timestamp(modified_at)),
        ..pb::Account::default()
    };
    match profile {
        Profile::Customer(c) => {
            out.primary_processing_id = c.primary_processing_id.map(|id| id.to_string());
            out.default_payment_method_id = c.default_payment_method_id.map(|id| id.to_string());
            out.kyc_status = kyc_status(c.verification.status);
            out.kyc_status_reasons = c.verification.reasons;
        }
        Profile::Processing(p) => {
            out.processing = Some(pb::Processing {
                industry: p.industry.as_str().to_owned(),
                category: category_to(p.category),
                visibility: visibility_to(p.visibility),
                payer_id: p.visibility.payer_id().map(|id| id.to_string()),
                payout_method: p.payout.as_ref().map_or(0, |p| p.method().to_proto() as i32),
                payout_details: p.payout.as_ref().map(payout_details_to),
                status: status_to(p.status),
                status_reasons: p.status_reasons,
                status_time: Some(timestamp(p.status_at)),
                legal_entity_id: p.legal_entity_id.map(|id| id.to_string()),
                default: p.is_default,
                status_reason: None,
            });
        }
    }
    out
}

fn payout_details_to(payout: &Payout) -> pb::PayoutDetails {
    let mut details = pb::PayoutDetails::default();
    match payout {
        Payout::UsBank { holder, routing_number, account_number, account_type, .. } => {
            details.account_holder = holder.as_str().to_owned();
            details.routing_number = routing_number.as_str().to_owned();
            details.account_number_last4 = account_number.last4().to_owned();
            details.account_type = match account_type {
                BankAccountType::Checking => pb::BankAccountType::Checking,
                BankAccountType::Savings => pb::BankAccountType::Savings,
            } as i32;
        }
        Payout::Eft { holder, institution_number, transit_number, account_number } => {
            details.account_holder = holder.as_str().to_owned();
            details.institution_number = institution_number.as_str().to_owned();
            details.transit_number = transit_number.as_str().to_owned();
            details.account_number_last4 = account_number.last4().to_owned();
        }
        Payout::Check { holder, mailing_address } => {
            details.account_holder = holder.as_str().to_owned();
            details.mailing_address = Some(mailing_address.to_proto());
        }
    }
    details
}

/// A processing status on the wire.
pub(crate) fn status_to(status: ProcessingStatus) -> i32 {
    (match status {
        ProcessingStatus::Pending => pb::ProcessingStatus::Pending,
        ProcessingStatus::Active => pb::ProcessingStatus::Active,
        ProcessingStatus::InReview => pb::ProcessingStatus::InReview,
        ProcessingStatus::UpdateRequired => pb::ProcessingStatus::UpdateRequired,
        ProcessingStatus::Inactive => pb::ProcessingStatus::Inactive,
    }) as i32
}

/// A status change on the wire.
pub(crate) fn change_to_proto(change: StatusChange) -> pb::ProcessingStatusChange {
    let StatusChange { id, account_id, from, to, reasons, actor, created_at } = change;
    pb::ProcessingStatusChange {
        id: id.to_string(),
        account_id: account_id.to_string(),
        from_status: from.map_or(0, status_to),
        to_status: status_to(to),
        reasons,
        actor_type: actor.kind().to_owned(),
        actor_id: actor.id().map(|id| id.to_string()),
        create_time: Some(timestamp(created_at)),
    }
}

/// An address on the wire, for tests of other modules.
#[cfg(test)]
pub(crate) fn address(
    street: &str,
    city: &str,
    state: &str,
    postal: &str,
) -> paymesh_proto::common::v1::Address {
    paymesh_proto::common::v1::Address {
        street_address: street.to_owned(),
        unit_number: String::new(),
        city: city.to_owned(),
        state_province: state.to_owned(),
        postal_code: postal.to_owned(),
        country: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_has_its_wire_value_and_back() {
        for name in CATEGORIES {
            let category = Category::parse(name).unwrap();
            let wire = category_to(category);
            assert_ne!(wire, pb::RecipientCategory::Unspecified as i32, "{name}");
            assert_eq!(category_from(wire), Ok(category), "{name}");
        }
        let values = (1..100).filter(|v| pb::RecipientCategory::try_from(*v).is_ok()).count();
        assert_eq!(values, CATEGORIES.len(), "the wire enum and the domain name the same categories");
    }

    fn customer() -> pb::Account {
        pb::Account {
            r#type: pb::AccountType::Customer as i32,
            name: "Matt Perez".to_owned(),
            email: "matt.perez@example.com".to_owned(),
            ..pb::Account::default()
        }
    }

    fn recipient(processing: pb::Processing) -> pb::Account {
        pb::Account {
            r#type: pb::AccountType::Processing as i32,
            name: "Acme Rentals".to_owned(),
            email: "billing@acme.example".to_owned(),
            processing: Some(processing),
            ..pb::Account::default()
        }
    }

    fn processing() -> pb::Processing {
        pb::Processing {
            industry: "Property management".to_owned(),
            category: pb::RecipientCategory::Rent as i32,
            visibility: pb::Visibility::Partner as i32,
            ..pb::Processing::default()
        }
    }

    fn fields(violations: Vec<Violation>) -> Vec<String> {
        violations.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn a_valid_customer_parses() {
        let new = new_account(Some(customer())).unwrap();
        assert_eq!(new.name.as_str(), "Matt Perez");
        assert_eq!(new.profile, NewProfile::Customer { primary_processing_id: None });
    }

    #[test]
    fn every_invalid_attribute_is_named() {
        let account = pb::Account {
            r#type: 0,
            name: " ".to_owned(),
            email: "nope".to_owned(),
            phone_number: Some("12".to_owned()),
            ..pb::Account::default()
        };
        assert_eq!(
            fields(new_account(Some(account)).unwrap_err()),
            ["account.type", "account.name", "account.email", "account.phone_number"]
        );
        assert_eq!(new_account(None).unwrap_err()[0].field, "account");
    }

    #[test]
    fn an_unknown_account_type_lists_the_known_ones() {
        let account = pb::Account { r#type: 77, ..customer() };
        assert_eq!(
            new_account(Some(account)).unwrap_err()[0].description,
            "Must be one of: customer, processing"
        );
    }

    #[test]
    fn a_recipient_needs_its_processing_attributes() {
        let new = new_account(Some(recipient(processing()))).unwrap();
        let NewProfile::Processing { category, visibility, payout, .. } = new.profile else {
            panic!("processing")
        };
        assert_eq!((category.as_str(), visibility, payout), ("rent", Visibility::Partner, None));

        let bare = pb::Account { processing: None, ..recipient(processing()) };
        assert_eq!(fields(new_account(Some(bare)).unwrap_err()), ["account.processing"]);

        let empty = recipient(pb::Processing::default());
        assert_eq!(
            fields(new_account(Some(empty)).unwrap_err()),
            ["account.processing.industry", "account.processing.category", "account.processing.visibility"]
        );
        let private_without_payer =
            recipient(pb::Processing { visibility: pb::Visibility::Payer as i32, ..processing() });
        assert!(new_account(Some(private_without_payer)).unwrap_err()[0].description.contains("payer_id"));
        let customer_with_processing = pb::Account { processing: Some(processing()), ..customer() };
        assert_eq!(fields(new_account(Some(customer_with_processing)).unwrap_err()), ["account.processing"]);
    }

    #[test]
    fn payouts_need_the_details_of_their_method() {
        let ach = pb::Processing {
            payout_method: pb::PayoutMethod::Ach as i32,
            payout_details: Some(pb::PayoutDetails {
                routing_number: "011000016".to_owned(),
                account_number: "12".to_owned(),
                transit_number: "12345".to_owned(),
                ..pb::PayoutDetails::default()
            }),
            ..processing()
        };
        assert_eq!(
            fields(new_account(Some(recipient(ach))).unwrap_err()),
            [
                "account.processing.payout_details.routing_number",
                "account.processing.payout_details.account_number",
                "account.processing.payout_details.transit_number",
            ]
        );
        let check = pb::Processing {
            payout_method: pb::PayoutMethod::Check as i32,
            payout_details: Some(pb::PayoutDetails {
                mailing_address: Some(address("1 Main St", "Albany", "NY", "1220")),
                ..pb::PayoutDetails::default()
            }),
            ..processing()
        };
        assert_eq!(
            fields(new_account(Some(recipient(check))).unwrap_err()),
            ["account.processing.payout_details.mailing_address.postal_code"]
        );
        let no_details = pb::Processing { payout_method: pb::PayoutMethod::Eft as i32, ..processing() };
        assert_eq!(
            fields(new_account(Some(recipient(no_details))).unwrap_err()),
            ["account.processing.payout_details"]
        );
    }

    #[test]
    fn the_mask_decides_what_changes() {
        let account = pb::Account {
            id: Uuid::now_v7().to_string(),
            name: "ignored, not in mask".to_owned(),
            email: "new@example.com".to_owned(),
            phone_number: None,
            ..pb::Account::default()
        };
        let mask = FieldMask { paths: vec!["email".to_owned(), "phone_number".to_owned()] };
        let (id, patch) = patch(Some(account), Some(mask)).unwrap();
        assert!(id.is_some());
        assert_eq!(patch.name, None);
        assert_eq!(patch.email.unwrap().as_str(), "new@example.com");
        assert_eq!(patch.phone, Some(None));
    }

    #[test]
    fn the_mask_refuses_what_cannot_change() {
        let mask = FieldMask {
            paths: vec![
                "type".into(),
                "id".into(),
                "secret".into(),
                "name".into(),
                "processing.status".into(),
            ],
        };
        let v = patch(Some(pb::Account::default()), Some(mask)).unwrap_err();
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            ["account.type", "account.id", "update_mask", "account.name", "account.processing.status"]
        );
        assert_eq!(v[3].description, "Required");
    }

    #[test]
    fn a_status_request_carries_its_reason() {
        let account = pb::Account {
            processing: Some(pb::Processing {
                status: pb::ProcessingStatus::Inactive as i32,
                status_reason: Some("Closed the business".to_owned()),
                ..pb::Processing::default()
            }),
            ..pb::Account::default()
        };
        let mask = FieldMask { paths: vec!["processing.status".into(), "processing.status_reason".into()] };
        let (_, patch) = patch(Some(account), Some(mask)).unwrap();
        assert_eq!(
            patch.processing.status,
            Some((ProcessingStatus::Inactive, Some("Closed the business".to_owned())))
        );
    }

    #[test]
    fn a_malformed_id_is_no_account() {
        let account = pb::Account { id: "42".to_owned(), ..pb::Account::default() };
        let (id, _) = patch(Some(account), None).unwrap();
        assert_eq!(id, None);
    }
}
