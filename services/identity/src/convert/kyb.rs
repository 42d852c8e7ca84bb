//! Legal entities and owners on the wire. SSNs and EINs leave only masked.

use chrono::{DateTime, NaiveDate, Utc};
use paymesh_kit::{Error, Violation, batch, json};
use paymesh_proto::identity::v1 as pb;
use prost_types::FieldMask;
use uuid::Uuid;

use super::{Fields, attrs, id, kyc_status, optional_text, timestamp};
use crate::domain::{
    account::{Email, Name, Phone},
    kyc::Verification,
    legal_entity::{
        AddressPatch, Ein, LegalEntity, LegalEntityPatch, LegalEntityType, Owner, OwnerPatch, OwnerType,
        Ownership, SecretPatch, Ssn, birth_date, is_masked, mask_ein, mask_ssn, start_date,
        state_incorporated, website,
    },
};

fn entity_type(value: i32) -> Result<LegalEntityType, String> {
    let parsed = pb::LegalEntityType::try_from(value).ok().and_then(|t| match t {
        pb::LegalEntityType::Unspecified => None,
        other => LegalEntityType::parse(other.as_str_name().trim_start_matches("LEGAL_ENTITY_TYPE_")),
    });
    match parsed {
        Some(kind) => Ok(kind),
        None if value == 0 => Err("Required".to_owned()),
        None => {
            Err(format!("Must be one of: {}", crate::domain::legal_entity::LEGAL_ENTITY_TYPES.join(", ")))
        }
    }
}

fn entity_type_to(kind: LegalEntityType) -> i32 {
    pb::LegalEntityType::from_str_name(&format!("LEGAL_ENTITY_TYPE_{}", kind.as_str()))
        .map_or(0, |t| t as i32)
}

fn owner_type(value: i32) -> Result<OwnerType, String> {
    match pb::OwnerType::try_from(value) {
        Ok(pb::OwnerType::Unspecified | pb::OwnerType::BeneficialOwner) => Ok(OwnerType::BeneficialOwner),
        Ok(pb::OwnerType::ControlPerson) => Ok(OwnerType::ControlPerson),
        Err(_) => Err("Must be beneficial_owner or control_person".to_owned()),
    }
}

fn owner_type_to(kind: OwnerType) -> i32 {
    (match kind {
        OwnerType::BeneficialOwner => pb::OwnerType::BeneficialOwner,
        OwnerType::ControlPerson => pb::OwnerType::ControlPerson,
    }) as i32
}

/// A new sensitive number: a masked value cannot stand for one.
fn new_secret<T>(raw: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    if is_masked(raw) {
        return Err("Send the whole number, not a masked one".to_owned());
    }
    optional_text(raw, parse)
}

/// A change to a sensitive number.
fn secret_patch<T>(raw: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<SecretPatch<T>, String> {
    if raw.trim().is_empty() {
        Ok(SecretPatch::Clear)
    } else if is_masked(raw) {
        Ok(SecretPatch::Masked(raw.trim().to_owned()))
    } else {
        parse(raw).map(SecretPatch::Set)
    }
}

/// The legal entity (and its owners) a create request asks for.
pub(crate) fn new_legal_entity(
    entity: Option<pb::LegalEntity>,
    livemode: bool,
    now: DateTime<Utc>,
) -> Result<(LegalEntity, Vec<Owner>), Vec<Violation>> {
    let Some(entity) = entity else { return Err(vec![Violation::new("legal_entity", "Required")]) };
    let pb::LegalEntity {
        id: _,
        legal_name,
        r#type,
        ein,
        address,
        phone_number,
        website: site,
        start_date: started,
        state_incorporated: state,
        contact_name,
        contact_email,
        contact_title,
        kyb_status: _,
        kyb_status_reasons: _,
        owners,
        attrs: custom,
        livemode: _,
        create_time: _,
        update_time: _,
    } = entity;
    let today = now.date_naive();
    let mut f = Fields::new("legal_entity");
    let legal_name = f.take("legal_name", Name::parse(&legal_name));
    let kind = f.take("type", entity_type(r#type));
    let ein = f.take("ein", new_secret(&ein, Ein::parse));
    let address = f.address("address", address.as_ref());
    let phone = f.take("phone_number", optional_text(&phone_number, Phone::parse));
    let site = f.take("website", optional_text(&site, website));
    let started = f.take("start_date", optional_text(&started, |raw| start_date(raw, today)));
    let state = f.take("state_incorporated", optional_text(&state, state_incorporated));
    let contact_name = f.take("contact_name", optional_text(&contact_name, Name::parse));
    let contact_email = f.take("contact_email", optional_text(&contact_email, Email::parse));
    let contact_title = f.take("contact_title", optional_text(&contact_title, Name::parse));
    let custom = f.take("attrs", attrs(custom));
    let entity_id = Uuid::now_v7();
    let mut violations = Vec::new();
    let mut parsed_owners = Vec::with_capacity(owners.len());
    if owners.len() > 25 {
        f.push("owners", "At most 25 owners");
    }
    for (i, owner) in owners.into_iter().enumerate() {
        match new_owner_of(owner, entity_id, livemode, now, &format!("legal_entity.owners[{i}]")) {
            Ok(owner) => parsed_owners.push(owner),
            Err(v) => violations.extend(v),
        }
    }
    let ok = f.ok() && violations.is_empty();
    let mut all = f.into_violations();
    all.extend(violations);
    match (
        legal_name,
        kind,
        ein,
        address,
        phone,
        site,
        started,
        state,
        contact_name,
        contact_email,
        contact_title,
        custom,
    ) {
        (
            Some(legal_name),
            Some(kind),
            Some(ein),
            Some(address),
            Some(phone),
            Some(website),
            Some(start_date),
            Some(state_incorporated),
            Some(contact_name),
            Some(contact_email),
            Some(contact_title),
            Some(attrs),
        ) if ok => Ok((
            LegalEntity {
                id: entity_id,
                livemode,
                legal_name,
                kind,
                ein: ein.map(crate::domain::Sealed::Given),
                address,
                phone,
                website,
                start_date,
                state_incorporated,
                contact_name,
                contact_email,
                contact_title,
                verification: Verification::unverified(),
                attrs,
                created_at: now,
                modified_at: now,
            },
            parsed_owners,
        )),
        _ => Err(all),
    }
}

/// The owner a CreateOwner request asks for.
pub(crate) fn new_owner(
    owner: Option<pb::Owner>,
    livemode: bool,
    now: DateTime<Utc>,
) -> Result<Owner, Vec<Violation>> {
    let Some(owner) = owner else { return Err(vec![Violation::new("owner", "Required")]) };
    let entity = match id(&owner.legal_entity_id) {
        Ok(entity) => entity,
        Err(_) if owner.legal_entity_id.trim().is_empty() => {
            return Err(vec![Violation::new("owner.legal_entity_id", "Required")]);
        }
        Err(why) => return Err(vec![Violation::new("owner.legal_entity_id", why)]),
    };
    new_owner_of(owner, entity, livemode, now, "owner")
}

fn new_owner_of(
    owner: pb::Owner,
    entity: Uuid,
    livemode: bool,
    now: DateTime<Utc>,
    prefix: &str,
) -> Result<Owner, Vec<Violation>> {
    let pb::Owner {
        id: _,
        legal_entity_id: _,
        full_name,
        title,
        ownership,
        birth_date: born,
        ssn,
        address,
        email,
        phone_number,
        r#type,
        kyc_status: _,
        kyc_status_reasons: _,
        attrs: custom,
        livemode: _,
        create_time: _,
        update_time: _,
    } = owner;
    let today = now.date_naive();
    let mut f = Fields::new(prefix);
    let full_name = f.take("full_name", Name::parse(&full_name));
    let title = f.take("title", optional_text(&title, Name::parse));
    let ownership = f.take("ownership", optional_text(&ownership, Ownership::parse));
    let born = f.take("birth_date", optional_text(&born, |raw| birth_date(raw, today)));
    let ssn = f.take("ssn", new_secret(&ssn, Ssn::parse));
    let address = f.address("address", address.as_ref());
    let email = f.take("email", optional_text(&email, Email::parse));
    let phone = f.take("phone_number", optional_text(&phone_number, Phone::parse));
    let kind = f.take("type", owner_type(r#type));
    let custom = f.take("attrs", attrs(custom));
    match (full_name, title, ownership, born, ssn, address, email, phone, kind, custom) {
        (
            Some(full_name),
            Some(title),
            Some(ownership),
            Some(birth_date),
            Some(ssn),
            Some(address),
            Some(email),
            Some(phone),
            Some(kind),
            Some(attrs),
        ) if f.ok() => Ok(Owner {
            id: Uuid::now_v7(),
            livemode,
            legal_entity_id: entity,
            full_name,
            title,
            ownership,
            birth_date,
            ssn: ssn.map(crate::domain::Sealed::Given),
            address,
            email,
            phone,
            kind,
            verification: Verification::unverified(),
            attrs,
            created_at: now,
            modified_at: now,
        }),
        _ => Err(f.into_violations()),
    }
}

/// Adds one part of an address (mask `address.city`) to the patch.
fn address_part(
    f: &mut Fields<'_>,
    patch: &mut Option<AddressPatch>,
    path: &str,
    address: Option<&paymesh_proto::common::v1::Address>,
) {
    let part = path.trim_start_matches("address.");
    if let Err(why) = patch.get_or_insert_with(AddressPatch::default).push_part(part, address) {
        f.push(path, why);
    }
}

/// The attributes a legal entity update may name.
pub(crate) const ENTITY_UPDATABLE: &[&str] = &[
    "legal_name",
    "type",
    "ein",
    "address",
    "address.<part>",
    "phone_number",
    "website",
    "start_date",
    "state_incorporated",
    "contact_name",
    "contact_email",
    "contact_title",
    "attrs",
];

/// The target and change of a legal entity update.
pub(crate) fn entity_patch(
    entity: Option<pb::LegalEntity>,
    mask: Option<FieldMask>,
    today: NaiveDate,
) -> Result<(Option<Uuid>, LegalEntityPatch), Vec<Violation>> {
    let Some(e) = entity else { return Err(vec![Violation::new("legal_entity", "Required")]) };
    let mut f = Fields::new("legal_entity");
    let mut patch = LegalEntityPatch::default();
    for path in mask.map(|m| m.paths).unwrap_or_default() {
        match path.as_str() {
            "legal_name" => patch.legal_name = f.take("legal_name", Name::parse(&e.legal_name)),
            "type" => patch.kind = f.take("type", entity_type(e.r#type)),
            "ein" => patch.ein = f.take("ein", secret_patch(&e.ein, Ein::parse)),
            "address" => patch.address = Some(AddressPatch::whole(&e.address.clone().unwrap_or_default())),
            part if part.starts_with("address.") => {
                address_part(&mut f, &mut patch.address, part, e.address.as_ref());
            }
            "phone_number" => {
                patch.phone = f.take("phone_number", optional_text(&e.phone_number, Phone::parse))
            }
            "website" => patch.website = f.take("website", optional_text(&e.website, website)),
            "start_date" => {
                patch.start_date =
                    f.take("start_date", optional_text(&e.start_date, |raw| start_date(raw, today)));
            }
            "state_incorporated" => {
                patch.state_incorporated =
                    f.take("state_incorporated", optional_text(&e.state_incorporated, state_incorporated));
            }
            "contact_name" => {
                patch.contact_name = f.take("contact_name", optional_text(&e.contact_name, Name::parse))
            }
            "contact_email" => {
                patch.contact_email = f.take("contact_email", optional_text(&e.contact_email, Email::parse));
            }
            "contact_title" => {
                patch.contact_title = f.take("contact_title", optional_text(&e.contact_title, Name::parse));
            }
            "attrs" => patch.attrs = Some(e.attrs.clone().map(json::from_struct)),
            "owners" => f.push("owners", "Change owners through their own resource (/legal_entity_owners)"),
            "kyb_status" | "kyb_status_reasons" => f.push(&path, "Read-only attribute"),
            other => f.unchangeable(other, ENTITY_UPDATABLE),
        }
    }
    if f.ok() { Ok((e.id.parse().ok(), patch)) } else { Err(f.into_violations()) }
}

/// The attributes an owner update may name.
pub(crate) const OWNER_UPDATABLE: &[&str] = &[
    "full_name",
    "title",
    "ownership",
    "birth_date",
    "ssn",
    "address",
    "address.<part>",
    "email",
    "phone_number",
    "type",
    "attrs",
];

/// The target and change of an owner update.
pub(crate) fn owner_patch(
    owner: Option<pb::Owner>,
    mask: Option<FieldMask>,
    today: NaiveDate,
) -> Result<(Option<Uuid>, OwnerPatch), Vec<Violation>> {
    let Some(o) = owner else { return Err(vec![Violation::new("owner", "Required")]) };
    let mut f = Fields::new("owner");
    let mut patch = OwnerPatch::default();
    for path in mask.map(|m| m.paths).unwrap_or_default() {
        match path.as_str() {
            "full_name" => patch.full_name = f.take("full_name", Name::parse(&o.full_name)),
            "title" => patch.title = f.take("title", optional_text(&o.title, Name::parse)),
            "ownership" => {
                patch.ownership = f.take("ownership", optional_text(&o.ownership, Ownership::parse))
            }
            "birth_date" => {
                patch.birth_date =
                    f.take("birth_date", optional_text(&o.birth_date, |raw| birth_date(raw, today)));
            }
            "ssn" => patch.ssn = f.take("ssn", secret_patch(&o.ssn, Ssn::parse)),
            "address" => patch.address = Some(AddressPatch::whole(&o.address.clone().unwrap_or_default())),
            part if part.starts_with("address.") => {
                address_part(&mut f, &mut patch.address, part, o.address.as_ref());
            }
            "email" => patch.email = f.take("email", optional_text(&o.email, Email::parse)),
            "phone_number" => {
                patch.phone = f.take("phone_number", optional_text(&o.phone_number, Phone::parse))
            }
            "type" => patch.kind = f.take("type", owner_type(o.r#type)),
            "attrs" => patch.attrs = Some(o.attrs.clone().map(json::from_struct)),
            "legal_entity_id" => f.push("legal_entity_id", "Cannot be changed"),
            "kyc_status" | "kyc_status_reasons" => f.push(&path, "Read-only attribute"),
            other => f.unchangeable(other, OWNER_UPDATABLE),
        }
    }
    if f.ok() { Ok((o.id.parse().ok(), patch)) } else { Err(f.into_violations()) }
}

/// Where the `i`-th item of a request's problems go: under `requests[i]`
/// in a batch (`many`), at the top for a request of one.
pub(crate) fn item(many: bool, i: usize) -> String {
    if many { format!("requests[{i}]") } else { String::new() }
}

/// The ids and patches `read` finds in update requests; every request's
/// problems at once, under `requests[i]` when `many`.
fn patches<R, P>(
    requests: Vec<R>,
    many: bool,
    read: impl Fn(R) -> (String, Result<P, Vec<Violation>>),
) -> Result<(Vec<String>, Vec<P>), Error> {
    let mut violations = Vec::new();
    let mut ids = Vec::with_capacity(requests.len());
    let mut patches = Vec::with_capacity(requests.len());
    for (i, request) in requests.into_iter().enumerate() {
        match read(request) {
            (id, Ok(patch)) => {
                ids.push(id);
                patches.push(patch);
            }
            (_, Err(v)) => violations.extend(batch::nested(v, &item(many, i))),
        }
    }
    batch::finish((ids, patches), violations)
}

/// Entity patches of update requests, by id, as at `today`; problems under
/// `requests[i]` when `many`.
pub(crate) fn entity_patches(
    requests: Vec<pb::UpdateLegalEntityRequest>,
    many: bool,
    today: NaiveDate,
) -> Result<(Vec<String>, Vec<LegalEntityPatch>), Error> {
    patches(requests, many, |pb::UpdateLegalEntityRequest { legal_entity, update_mask }| {
        let id = legal_entity.as_ref().map(|e| e.id.clone()).unwrap_or_default();
        (id, entity_patch(legal_entity, update_mask, today).map(|(_, patch)| patch))
    })
}

/// Owner patches of update requests, as [`entity_patches`].
pub(crate) fn owner_patches(
    requests: Vec<pb::UpdateOwnerRequest>,
    many: bool,
    today: NaiveDate,
) -> Result<(Vec<String>, Vec<OwnerPatch>), Error> {
    patches(requests, many, |pb::UpdateOwnerRequest { owner, update_mask }| {
        let id = owner.as_ref().map(|o| o.id.clone()).unwrap_or_default();
        (id, owner_patch(owner, update_mask, today).map(|(_, patch)| patch))
    })
}

/// A change by query must name something to change.
pub(crate) fn require_mask(mask: Option<FieldMask>) -> Result<Option<FieldMask>, Error> {
    match mask {
        Some(mask) if !mask.paths.is_empty() => Ok(Some(mask)),
        _ => Err(Error::invalid("update_mask", "Name at least one attribute to change")),
    }
}

/// A legal entity on the wire, its EIN masked.
pub(crate) fn entity_to_proto(entity: LegalEntity, owners: Vec<Owner>) -> pb::LegalEntity {
    let LegalEntity {
        id,
        livemode,
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
        verification,
        attrs,
        created_at,
        modified_at,
    } = entity;
    let text = |v: Option<&str>| v.unwrap_or_default().to_owned();
    pb::LegalEntity {
        id: id.to_string(),
        legal_name: legal_name.as_str().to_owned(),
        r#type: entity_type_to(kind),
        ein: ein.map(|e| mask_ein(e.last4())).unwrap_or_default(),
        address: Some(address.to_proto()),
        phone_number: text(phone.as_ref().map(Phone::as_str)),
        website: website.unwrap_or_default(),
        start_date: start_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        state_incorporated: state_incorporated.unwrap_or_default(),
        contact_name: text(contact_name.as_ref().map(Name::as_str)),
        contact_email: text(contact_email.as_ref().map(Email::as_str)),
        contact_title: text(contact_title.as_ref().map(Name::as_str)),
        kyb_status: kyc_status(verification.status),
        kyb_status_reasons: verification.reasons,
        owners: owners.into_iter().map(owner_to_proto).collect(),
        attrs: Some(json::to_struct(attrs.into_inner())),
        livemode,
        create_time: Some(timestamp(created_at)),
        update_time: Some(timestamp(modified_at)),
    }
}

/// An owner on the wire, the SSN masked.
pub(crate) fn owner_to_proto(owner: Owner) -> pb::Owner {
    let Owner {
        id,
        livemode,
        legal_entity_id,
        full_name,
        title,
        ownership,
        birth_date,
        ssn,
        address,
        email,
        phone,
        kind,
        verification,
        attrs,
        created_at,
        modified_at,
    } = owner;
    pb::Owner {
        id: id.to_string(),
        legal_entity_id: legal_entity_id.to_string(),
        full_name: full_name.as_str().to_owned(),
        title: title.map(|t| t.as_str().to_owned()).unwrap_or_default(),
        ownership: ownership.map(|o| o.value().to_string()).unwrap_or_default(),
        birth_date: birth_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        ssn: ssn.map(|s| mask_ssn(s.last4())).unwrap_or_default(),
        address: Some(address.to_proto()),
        email: email.map(|e| e.as_str().to_owned()).unwrap_or_default(),
        phone_number: phone.map(|p| p.as_str().to_owned()).unwrap_or_default(),
        r#type: owner_type_to(kind),
        kyc_status: kyc_status(verification.status),
        kyc_status_reasons: verification.reasons,
        attrs: Some(json::to_struct(attrs.into_inner())),
        livemode,
        create_time: Some(timestamp(created_at)),
        update_time: Some(timestamp(modified_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::accounts::address;

    fn fields(v: Vec<Violation>) -> Vec<String> {
        v.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn an_entity_may_start_with_its_name_and_type_only() {
        let entity = pb::LegalEntity {
            legal_name: "Acme Rentals LLC".into(),
            r#type: pb::LegalEntityType::LimitedLiabilityCompany as i32,
            ..pb::LegalEntity::default()
        };
        let (entity, owners) = new_legal_entity(Some(entity), false, Utc::now()).unwrap();
        assert!(owners.is_empty());
        assert!(entity.missing().contains(&"ein".to_owned()));
        assert_eq!(entity.kind, LegalEntityType::LimitedLiabilityCompany);
    }

    #[test]
    fn every_bad_entity_and_owner_attribute_is_named() {
        let entity = pb::LegalEntity {
            legal_name: String::new(),
            r#type: 99,
            ein: "07-1234567".into(),
            address: Some(address("1 Main St", "Albany", "ZZ", "12207")),
            website: "nope".into(),
            start_date: "2999-01-01".into(),
            owners: vec![pb::Owner {
                full_name: "Jane Doe".into(),
                ssn: "xxx-xx-1234".into(),
                ownership: "150".into(),
                ..pb::Owner::default()
            }],
            ..pb::LegalEntity::default()
        };
        assert_eq!(
            fields(new_legal_entity(Some(entity), false, Utc::now()).unwrap_err()),
            [
                "legal_entity.legal_name",
                "legal_entity.type",
                "legal_entity.ein",
                "legal_entity.address.state_province",
                "legal_entity.website",
                "legal_entity.start_date",
                "legal_entity.owners[0].ownership",
                "legal_entity.owners[0].ssn",
            ]
        );
    }

    #[test]
    fn outputs_mask_the_ssn_and_ein() {
        let entity = pb::LegalEntity {
            legal_name: "Acme".into(),
            r#type: pb::LegalEntityType::Corporation as i32,
            ein: "12-3456789".into(),
            owners: vec![pb::Owner {
                full_name: "Jane".into(),
                ssn: "123-45-6789".into(),
                ..pb::Owner::default()
            }],
            ..pb::LegalEntity::default()
        };
        let (entity, owners) = new_legal_entity(Some(entity), false, Utc::now()).unwrap();
        let wire = entity_to_proto(entity, owners);
        assert_eq!(wire.ein, "xx-xxx6789");
        assert_eq!(wire.owners[0].ssn, "xxx-xx-6789");
        assert_eq!(wire.r#type, pb::LegalEntityType::Corporation as i32);
    }

    #[test]
    fn a_masked_value_sent_back_is_kept_and_an_empty_one_clears() {
        let mask = FieldMask { paths: vec!["ein".into()] };
        let masked = pb::LegalEntity { ein: "xx-xxx6789".into(), ..pb::LegalEntity::default() };
        let (_, patch) = entity_patch(Some(masked), Some(mask.clone()), Utc::now().date_naive()).unwrap();
        assert_eq!(patch.ein, Some(SecretPatch::Masked("xx-xxx6789".into())));
        let cleared = pb::LegalEntity::default();
        let (_, patch) = entity_patch(Some(cleared), Some(mask), Utc::now().date_naive()).unwrap();
        assert_eq!(patch.ein, Some(SecretPatch::Clear));
    }
}
