//! `/legal_entities` and `/legal_entity_owners` (KYB), with the nested
//! `/legal_entities/{id}/owners`.
//!
//! Objects carry their address flat, as in the Payload reference
//! (`street_address`, `city`, …); sending one part changes only that part.
//! EINs and SSNs are only ever shown masked; sending a masked value back
//! leaves the stored number as it is. A legal entity is created with its
//! owners in one request when `owners` is given.

use axum::{
    Extension,
    extract::{Path, RawQuery, State},
    routing::get,
};
use http::Method;
use paymesh_proto::{common::v1 as common, identity::v1 as pb};
use serde_json::{Value, json};

use super::accounts::{ADDRESS_PARTS, KYC_STATUSES, address_json, set_address_part, word};
use crate::{
    AppState,
    auth::Caller,
    body::RequestBody,
    error::ApiError,
    fields::Reader,
    openapi::{self, Operation, Routes, schema_ref},
    rest::{
        self, Call, Collection, Listed, Object, Offers, Parsed, Purpose, Reply, attrs_json, equals, fetch,
        object, text_or_null, timestamp,
    },
};

const ENTITY_TYPES: &[(&str, i32)] = &[
    ("LIMITED_LIABILITY_COMPANY", pb::LegalEntityType::LimitedLiabilityCompany as i32),
    ("CORPORATION", pb::LegalEntityType::Corporation as i32),
    ("PUBLIC_CORPORATION", pb::LegalEntityType::PublicCorporation as i32),
    ("PARTNERSHIP", pb::LegalEntityType::Partnership as i32),
    ("GOVERNMENT_AGENCY", pb::LegalEntityType::GovernmentAgency as i32),
    ("ASSOCIATION_ESTATE_TRUST", pb::LegalEntityType::AssociationEstateTrust as i32),
    ("TAX_EXEMPT_ORGANIZATION", pb::LegalEntityType::TaxExemptOrganization as i32),
    ("INDIVIDUAL_SOLE_PROPRIETORSHIP", pb::LegalEntityType::IndividualSoleProprietorship as i32),
];

const OWNER_TYPES: &[(&str, i32)] = &[
    ("beneficial_owner", pb::OwnerType::BeneficialOwner as i32),
    ("control_person", pb::OwnerType::ControlPerson as i32),
];

/// Reads one attribute of an address given flat (`city`), into `address`,
/// marking the part changed (`address.city`).
fn address_part(r: &mut Reader<'_>, address: &mut Option<common::Address>, key: &str, value: Value) {
    if let Some(text) = r.nullable(key, value) {
        set_address_part(address.get_or_insert_with(common::Address::default), key, text.unwrap_or_default());
        r.changed(&format!("address.{key}"));
    }
}

/// Reads a text attribute kept as a plain string (empty clears it).
fn text_into(r: &mut Reader<'_>, key: &str, value: Value, slot: &mut String) {
    if let Some(text) = r.nullable(key, value) {
        *slot = text.unwrap_or_default();
        r.changed(key);
    }
}

/// Problems with `address.city` are about `city`, as REST objects carry
/// their address flat — at every level of the details.
fn flat_address(details: Value) -> Value {
    match details {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("address", Value::Object(parts)) => out.extend(parts),
                    (_, value) => {
                        out.insert(key, flat_address(value));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(flat_address).collect()),
        other => other,
    }
}

// === Legal entities ===

/// `/legal_entities`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LegalEntities;

impl Collection for LegalEntities {
    type Item = pb::LegalEntity;

    fn object(&self) -> &'static str {
        "legal_entity"
    }

    fn path(&self) -> &'static str {
        "/legal_entities"
    }

    fn not_found(&self) -> ApiError {
        ApiError::not_found("Legal entity not found")
    }

    fn render(&self, entity: pb::LegalEntity) -> Object {
        entity_json(entity)
    }

    fn parse(&self, object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::LegalEntity>, Object> {
        entity_from_json(object, purpose)
    }

    fn adjust_error(&self, error: ApiError) -> ApiError {
        error.map_details(flat_address)
    }

    fn offers(&self) -> Offers {
        Offers::ALL
    }

    fn get<'a>(&'a self, state: &'a AppState, caller: &'a Caller, id: String) -> Call<'a, pb::LegalEntity> {
        Box::pin(async move {
            let request = caller.grpc(pb::GetLegalEntityRequest { id });
            let entity =
                state.legal_entities.clone().get_legal_entity(request).await?.into_inner().legal_entity;
            entity.ok_or_else(|| tonic::Status::not_found("no legal entity"))
        })
    }

    fn list<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        query: common::ListQuery,
    ) -> Call<'a, Listed<pb::LegalEntity>> {
        Box::pin(async move {
            let request = caller.grpc(pb::ListLegalEntitiesRequest { query: Some(query) });
            let pb::ListLegalEntitiesResponse { legal_entities, computed, groups } =
                state.legal_entities.clone().list_legal_entities(request).await?.into_inner();
            Ok(Listed { items: legal_entities, computed, groups })
        })
    }

    rest::grpc_create! {
        client: legal_entities, item: pb::LegalEntity, field: legal_entity, plural: legal_entities,
        one: create_legal_entity(pb::CreateLegalEntityRequest), many: batch_create_legal_entities(pb::BatchCreateLegalEntitiesRequest),
    }

    rest::grpc_update! {
        client: legal_entities, item: pb::LegalEntity, field: legal_entity, plural: legal_entities,
        one: update_legal_entity(pb::UpdateLegalEntityRequest), many: batch_update_legal_entities(pb::BatchUpdateLegalEntitiesRequest), query: update_legal_entities_by_query(pb::UpdateLegalEntitiesByQueryRequest),
    }

    rest::grpc_delete! {
        client: legal_entities, item: pb::LegalEntity, field: legal_entity, plural: legal_entities,
        one: delete_legal_entity(pb::DeleteLegalEntityRequest), many: batch_delete_legal_entities(pb::BatchDeleteLegalEntitiesRequest), query: delete_legal_entities_by_query(pb::DeleteLegalEntitiesByQueryRequest),
    }
}

fn entity_from_json(object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::LegalEntity>, Object> {
    let mut r = Reader::new(purpose);
    let mut e = pb::LegalEntity::default();
    let mut id = String::new();
    let mut custom = None;
    for (key, mut value) in object {
        if r.common(&key, &mut value, &["legal_entity"], "legal_entity", &mut id, &mut custom) {
            continue;
        }
        match key.as_str() {
            "legal_name" => {
                if let Some(name) = r.text("legal_name", value) {
                    e.legal_name = name;
                    r.changed("legal_name");
                }
            }
            "type" => {
                if let Some(t) = r.choice("type", value, ENTITY_TYPES) {
                    e.r#type = t;
                    r.changed("type");
                }
            }
            "ein" => text_into(&mut r, "ein", value, &mut e.ein),
            "phone_number" => text_into(&mut r, "phone_number", value, &mut e.phone_number),
            "website" => text_into(&mut r, "website", value, &mut e.website),
            "start_date" => text_into(&mut r, "start_date", value, &mut e.start_date),
            "state_incorporated" => text_into(&mut r, "state_incorporated", value, &mut e.state_incorporated),
            "contact_name" => text_into(&mut r, "contact_name", value, &mut e.contact_name),
            "contact_email" => text_into(&mut r, "contact_email", value, &mut e.contact_email),
            "contact_title" => text_into(&mut r, "contact_title", value, &mut e.contact_title),
            part if ADDRESS_PARTS.contains(&part) => address_part(&mut r, &mut e.address, part, value),
            "owners" if purpose.creates() => match value {
                Value::Array(owners) => {
                    for (i, owner) in owners.into_iter().enumerate() {
                        let prefix = format!("owners[{i}]");
                        match owner {
                            Value::Object(fields) => e.owners.push(owner_fields(&mut r, fields, &prefix)),
                            _ => r.problem(&prefix, "Must be an object"),
                        }
                    }
                }
                _ => r.problem("owners", "Must be a list of owners"),
            },
            "owners" => r.read_only("owners", value),
            "kyb_status" | "kyb_status_reasons" => r.read_only(&key, value),
            _ => r.unknown(&key),
        }
    }
    e.attrs = custom;
    e.id = id.clone();
    r.finish(e, &id)
}

fn entity_json(e: pb::LegalEntity) -> Object {
    let pb::LegalEntity {
        id,
        legal_name,
        r#type,
        ein,
        address,
        phone_number,
        website,
        start_date,
        state_incorporated,
        contact_name,
        contact_email,
        contact_title,
        kyb_status,
        kyb_status_reasons,
        owners,
        attrs: custom,
        livemode,
        create_time,
        update_time,
    } = e;
    let mut out = object(json!({
        "id": id,
        "object": "legal_entity",
        "legal_name": legal_name,
        "type": word(ENTITY_TYPES, r#type),
        "ein": text_or_null(ein),
    }));
    out.extend(address_json(address));
    out.extend(object(json!({
        "phone_number": text_or_null(phone_number),
        "website": text_or_null(website),
        "start_date": text_or_null(start_date),
        "state_incorporated": text_or_null(state_incorporated),
        "contact_name": text_or_null(contact_name),
        "contact_email": text_or_null(contact_email),
        "contact_title": text_or_null(contact_title),
        "kyb_status": word(KYC_STATUSES, kyb_status),
        "kyb_status_reasons": kyb_status_reasons,
        "owners": owners.into_iter().map(|o| Value::Object(owner_json(o))).collect::<Vec<_>>(),
        "attrs": attrs_json(custom),
        "livemode": livemode,
        "created_at": timestamp(create_time),
        "modified_at": timestamp(update_time),
    })));
    out
}

// === Owners ===

/// `/legal_entity_owners`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owners;

impl Collection for Owners {
    type Item = pb::Owner;

    fn object(&self) -> &'static str {
        "legal_entity_owner"
    }

    fn path(&self) -> &'static str {
        "/legal_entity_owners"
    }

    fn message_field(&self) -> &'static str {
        "owner"
    }

    fn not_found(&self) -> ApiError {
        ApiError::not_found("Owner not found")
    }

    fn no_such(&self) -> String {
        "No such owner".to_owned()
    }

    fn render(&self, owner: pb::Owner) -> Object {
        owner_json(owner)
    }

    fn parse(&self, object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::Owner>, Object> {
        let mut r = Reader::new(purpose);
        let owner = owner_fields(&mut r, object, "");
        let id = owner.id.clone();
        r.finish(owner, &id)
    }

    fn adjust_error(&self, error: ApiError) -> ApiError {
        error.map_details(flat_address)
    }

    fn offers(&self) -> Offers {
        Offers::ALL
    }

    fn get<'a>(&'a self, state: &'a AppState, caller: &'a Caller, id: String) -> Call<'a, pb::Owner> {
        Box::pin(async move {
            let request = caller.grpc(pb::GetOwnerRequest { id });
            let owner = state.legal_entities.clone().get_owner(request).await?.into_inner().owner;
            owner.ok_or_else(|| tonic::Status::not_found("no owner"))
        })
    }

    fn list<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        query: common::ListQuery,
    ) -> Call<'a, Listed<pb::Owner>> {
        Box::pin(async move {
            let request = caller.grpc(pb::ListOwnersRequest { query: Some(query) });
            let pb::ListOwnersResponse { owners, computed, groups } =
                state.legal_entities.clone().list_owners(request).await?.into_inner();
            Ok(Listed { items: owners, computed, groups })
        })
    }

    rest::grpc_create! {
        client: legal_entities, item: pb::Owner, field: owner, plural: owners,
        one: create_owner(pb::CreateOwnerRequest), many: batch_create_owners(pb::BatchCreateOwnersRequest),
    }

    rest::grpc_update! {
        client: legal_entities, item: pb::Owner, field: owner, plural: owners,
        one: update_owner(pb::UpdateOwnerRequest), many: batch_update_owners(pb::BatchUpdateOwnersRequest), query: update_owners_by_query(pb::UpdateOwnersByQueryRequest),
    }

    rest::grpc_delete! {
        client: legal_entities, item: pb::Owner, field: owner, plural: owners,
        one: delete_owner(pb::DeleteOwnerRequest), many: batch_delete_owners(pb::BatchDeleteOwnersRequest), query: delete_owners_by_query(pb::DeleteOwnersByQueryRequest),
    }
}

/// An owner's attributes, read under `prefix` (`owners.0` inside an
/// entity, nothing for an owner on its own).
fn owner_fields(r: &mut Reader<'_>, fields: Object, prefix: &str) -> pb::Owner {
    let mut o = pb::Owner::default();
    let mut custom = None;
    let path = |key: &str| if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") };
    for (key, mut value) in fields {
        let at = path(&key);
        if prefix.is_empty()
            && r.common(
                &key,
                &mut value,
                &["legal_entity_owner"],
                "legal_entity_owner",
                &mut o.id,
                &mut custom,
            )
        {
            continue;
        }
        match key.as_str() {
            "legal_entity_id" if prefix.is_empty() => {
                if r.purpose().creates() {
                    if let Some(id) = r.text(&at, value) {
                        o.legal_entity_id = id;
                    }
                } else {
                    r.read_only(&at, value);
                }
            }
            "full_name" => {
                if let Some(name) = r.text(&at, value) {
                    o.full_name = name;
                    r.changed("full_name");
                }
            }
            "ownership" => {
                if let Some(share) = r.number(&at, value) {
                    o.ownership = share;
                    r.changed("ownership");
                }
            }
            "type" => {
                if let Some(t) = r.choice(&at, value, OWNER_TYPES) {
                    o.r#type = t;
                    r.changed("type");
                }
            }
            "title" | "birth_date" | "ssn" | "email" | "phone_number" => {
                if let Some(text) = r.nullable(&at, value) {
                    let text = text.unwrap_or_default();
                    match key.as_str() {
                        "title" => o.title = text,
                        "birth_date" => o.birth_date = text,
                        "ssn" => o.ssn = text,
                        "email" => o.email = text,
                        _ => o.phone_number = text,
                    }
                    r.changed(&key);
                }
            }
            part if ADDRESS_PARTS.contains(&part) => {
                if let Some(text) = r.nullable(&at, value) {
                    set_address_part(
                        o.address.get_or_insert_with(common::Address::default),
                        part,
                        text.unwrap_or_default(),
                    );
                    r.changed(&format!("address.{part}"));
                }
            }
            "attrs" if !prefix.is_empty() => {
                if let Some(parsed) = r.attrs(&at, value) {
                    o.attrs = parsed;
                }
            }
            "kyc_status" | "kyc_status_reasons" if prefix.is_empty() => r.read_only(&key, value),
            _ => r.unknown(&at),
        }
    }
    if prefix.is_empty() {
        o.attrs = custom;
    }
    o
}

fn owner_json(o: pb::Owner) -> Object {
    let pb::Owner {
        id,
        legal_entity_id,
        full_name,
        title,
        ownership,
        birth_date,
        ssn,
        address,
        email,
        phone_number,
        r#type,
        kyc_status,
        kyc_status_reasons,
        attrs: custom,
        livemode,
        create_time,
        update_time,
    } = o;
    let ownership = if ownership.is_empty() {
        Value::Null
    } else {
        serde_json::from_str::<Value>(&ownership).unwrap_or(Value::String(ownership))
    };
    let mut out = object(json!({
        "id": id,
        "object": "legal_entity_owner",
        "legal_entity_id": legal_entity_id,
        "full_name": full_name,
        "title": text_or_null(title),
        "ownership": ownership,
        "birth_date": text_or_null(birth_date),
        "ssn": text_or_null(ssn),
    }));
    out.extend(address_json(address));
    out.extend(object(json!({
        "email": text_or_null(email),
        "phone_number": text_or_null(phone_number),
        "type": word(OWNER_TYPES, r#type),
        "kyc_status": word(KYC_STATUSES, kyc_status),
        "kyc_status_reasons": kyc_status_reasons,
        "attrs": attrs_json(custom),
        "livemode": livemode,
        "created_at": timestamp(create_time),
        "modified_at": timestamp(update_time),
    })));
    out
}

// === Routes ===

/// The routes of legal entities and their owners.
pub(crate) fn routes() -> Routes {
    let owners = openapi::Doc::of(&Owners);
    let list_op = Operation::new(Method::GET, "list_legal_entity_owners_of", "List a legal entity's owners")
        .query(openapi::list_params())
        .reply(openapi::list_of(schema_ref(owners.name.as_str())));
    let add_op = owners.create().describe("An owner of this legal entity; `legal_entity_id` is the path's.");
    rest::routes(LegalEntities).merge(rest::routes(Owners)).route(
        "/legal_entities/{id}/owners",
        get(entity_owners).post(add_owner),
        [list_op, add_op.named("add_legal_entity_owner")],
    )
}

/// `GET /legal_entities/{id}/owners`.
async fn entity_owners(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Reply {
    fetch(&LegalEntities, &state, &caller, id.clone()).await?;
    rest::list_with(&Owners, &state, &caller, raw, vec![equals(&["legal_entity_id"], &[&id])]).await
}

/// `POST /legal_entities/{id}/owners`: an owner of that entity.
async fn add_owner(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: RequestBody,
) -> Reply {
    fetch(&LegalEntities, &state, &caller, id.clone()).await?;
    rest::create_with(&Owners, &state, &caller, body, |mut owner| {
        owner.insert("legal_entity_id".to_owned(), Value::String(id.clone()));
        owner
    })
    .await
}
