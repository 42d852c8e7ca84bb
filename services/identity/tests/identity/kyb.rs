//! Legal entities and owners: incremental KYB data, masking of EINs and
//! SSNs everywhere, the 100% ownership cap (also under concurrency), and
//! tenancy.

use paymesh_proto::{common::v1::Address, identity::v1 as pb};
use prost_types::FieldMask;
use tonic::Code;

use super::{Identity, key, test_key, violations, with_key};

fn address() -> Option<Address> {
    Some(Address {
        street_address: "1 Main St".to_owned(),
        city: "Albany".to_owned(),
        state_province: "NY".to_owned(),
        postal_code: "12207".to_owned(),
        ..Address::default()
    })
}

/// An owner with every attribute activation needs.
pub(super) fn complete_owner(name: &str, ssn: &str, ownership: &str) -> pb::Owner {
    pb::Owner {
        full_name: name.to_owned(),
        title: "CEO".to_owned(),
        ownership: ownership.to_owned(),
        birth_date: "1980-04-01".to_owned(),
        ssn: ssn.to_owned(),
        address: address(),
        email: "owner@acme.example".to_owned(),
        phone_number: "(518) 555-0100".to_owned(),
        ..pb::Owner::default()
    }
}

/// A legal entity with every attribute activation needs, and its owners.
pub(super) fn complete_entity(owners: Vec<pb::Owner>) -> pb::LegalEntity {
    pb::LegalEntity {
        legal_name: "Acme Rentals LLC".to_owned(),
        r#type: pb::LegalEntityType::LimitedLiabilityCompany as i32,
        ein: "12-3456789".to_owned(),
        address: address(),
        phone_number: "(518) 555-0199".to_owned(),
        website: "https://acme.example".to_owned(),
        start_date: "2015-06-01".to_owned(),
        state_incorporated: "DE".to_owned(),
        contact_name: "Jane Doe".to_owned(),
        contact_email: "jane@acme.example".to_owned(),
        contact_title: "CEO".to_owned(),
        owners,
        ..pb::LegalEntity::default()
    }
}

pub(super) async fn create_entity(
    identity: &Identity,
    key: &str,
    entity: pb::LegalEntity,
) -> pb::LegalEntity {
    identity
        .legal_entities()
        .create_legal_entity(with_key(key, pb::CreateLegalEntityRequest { legal_entity: Some(entity) }))
        .await
        .unwrap()
        .into_inner()
        .legal_entity
        .unwrap()
}

#[tokio::test]
async fn an_entity_and_its_owners_are_created_together_and_shown_masked() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let entity = create_entity(
        &identity,
        key,
        complete_entity(vec![
            complete_owner("Jane Doe", "123-45-6789", "60"),
            complete_owner("John Roe", "234567890", "40"),
        ]),
    )
    .await;
    assert_eq!(entity.ein, "xx-xxx6789");
    assert_eq!(entity.kyb_status, pb::KycStatus::Unverified as i32);
    assert_eq!(entity.owners.len(), 2);
    assert_eq!(entity.owners[0].ssn, "xxx-xx-6789");
    assert_eq!(entity.owners[1].ssn, "xxx-xx-7890");
    assert_eq!(entity.owners[0].ownership, "60");
    assert_eq!(entity.address.as_ref().unwrap().postal_code, "12207");

    let fetched = identity
        .legal_entities()
        .get_legal_entity(with_key(key, pb::GetLegalEntityRequest { id: entity.id.clone() }))
        .await
        .unwrap()
        .into_inner()
        .legal_entity
        .unwrap();
    assert_eq!(fetched, entity);

    for (table, column, digits) in [
        ("legal_entities", "ein_sealed", "123456789"),
        ("legal_entity_owners", "ssn_sealed", "123456789"),
        ("legal_entity_owners", "ssn_sealed", "234567890"),
    ] {
        let sql = format!(
            "SELECT count(*) FROM identity.{table} WHERE position('{digits}'::bytea in {column}) > 0"
        );
        assert_eq!(identity.count(&sql).await, 0, "{table}.{column} holds only ciphertext");
    }
    let leaked = identity
        .count("SELECT count(*) FROM identity.outbox WHERE data::text ~ '123-?45-?6789|234-?56-?7890|12-?3456789'")
        .await;
    assert_eq!(leaked, 0, "events carry masked numbers only");
    assert_eq!(
        identity.outbox_events(&entity.id).await,
        ["legal_entity.created"],
        "and each owner has its own event"
    );
}

#[tokio::test]
async fn an_entity_may_grow_a_piece_at_a_time_and_masked_values_round_trip() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let draft = pb::LegalEntity {
        legal_name: "Acme Rentals LLC".to_owned(),
        r#type: pb::LegalEntityType::LimitedLiabilityCompany as i32,
        ..pb::LegalEntity::default()
    };
    let entity = create_entity(&identity, key, draft).await;
    assert_eq!(entity.ein, "");

    let mut client = identity.legal_entities();
    let update = |fields: pb::LegalEntity, paths: &[&str]| pb::UpdateLegalEntityRequest {
        legal_entity: Some(pb::LegalEntity { id: entity.id.clone(), ..fields }),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
    };
    let with_ein = client
        .update_legal_entity(with_key(
            key,
            update(pb::LegalEntity { ein: "98-7654321".to_owned(), ..Default::default() }, &["ein"]),
        ))
        .await
        .unwrap()
        .into_inner()
        .legal_entity
        .unwrap();
    assert_eq!(with_ein.ein, "xx-xxx4321");

    // Sending back the masked value changes nothing; another mask is refused.
    let kept = client
        .update_legal_entity(with_key(
            key,
            update(pb::LegalEntity { ein: "xx-xxx4321".to_owned(), ..Default::default() }, &["ein"]),
        ))
        .await
        .unwrap()
        .into_inner()
        .legal_entity
        .unwrap();
    assert_eq!(kept.ein, "xx-xxx4321");
    let wrong = client
        .update_legal_entity(with_key(
            key,
            update(pb::LegalEntity { ein: "xx-xxx0000".to_owned(), ..Default::default() }, &["ein"]),
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&wrong)[0].0, "legal_entity.ein");

    // One part of the address at a time; the whole is checked again.
    let city = pb::LegalEntity {
        address: Some(Address { city: "Toronto".to_owned(), ..Default::default() }),
        ..Default::default()
    };
    let moved = client
        .update_legal_entity(with_key(key, update(city, &["address.city"])))
        .await
        .unwrap()
        .into_inner()
        .legal_entity
        .unwrap();
    assert_eq!(moved.address.as_ref().unwrap().city, "Toronto");
    let canadian = pb::LegalEntity {
        address: Some(Address {
            country: "CA".to_owned(),
            postal_code: "10001".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let refused = client
        .update_legal_entity(with_key(key, update(canadian, &["address.country", "address.postal_code"])))
        .await
        .unwrap_err();
    assert_eq!(violations(&refused)[0].0, "legal_entity.address.postal_code");
}

#[tokio::test]
async fn every_bad_attribute_is_named_and_nothing_is_stored() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let mut bad = complete_entity(vec![pb::Owner {
        full_name: String::new(),
        ownership: "0".to_owned(),
        birth_date: "2020-01-01".to_owned(),
        ssn: "000-12-3456".to_owned(),
        email: "nope".to_owned(),
        r#type: 9,
        ..pb::Owner::default()
    }]);
    bad.ein = "00-1234567".to_owned();
    bad.website = "not a site".to_owned();
    bad.state_incorporated = "ZZ".to_owned();
    bad.contact_email = "@".to_owned();
    bad.start_date = "2015-13-01".to_owned();
    let status = identity
        .legal_entities()
        .create_legal_entity(with_key(key, pb::CreateLegalEntityRequest { legal_entity: Some(bad) }))
        .await
        .unwrap_err();
    let fields: Vec<String> = violations(&status).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        [
            "legal_entity.ein",
            "legal_entity.website",
            "legal_entity.start_date",
            "legal_entity.state_incorporated",
            "legal_entity.contact_email",
            "legal_entity.owners[0].full_name",
            "legal_entity.owners[0].ownership",
            "legal_entity.owners[0].birth_date",
            "legal_entity.owners[0].ssn",
            "legal_entity.owners[0].email",
            "legal_entity.owners[0].type",
        ]
    );
    assert_eq!(identity.count("SELECT count(*) FROM identity.legal_entities").await, 0);
    assert_eq!(identity.count("SELECT count(*) FROM identity.legal_entity_owners").await, 0);
}

#[tokio::test]
async fn owners_never_own_more_than_all_of_it() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let over = complete_entity(vec![
        complete_owner("A", "123-45-6789", "60"),
        complete_owner("B", "234-56-7890", "41"),
    ]);
    let status = identity
        .legal_entities()
        .create_legal_entity(with_key(key, pb::CreateLegalEntityRequest { legal_entity: Some(over) }))
        .await
        .unwrap_err();
    assert_eq!(violations(&status)[0].0, "legal_entity.owners");

    let entity =
        create_entity(&identity, key, complete_entity(vec![complete_owner("A", "123-45-6789", "60")])).await;
    let add = |ownership: &str| pb::CreateOwnerRequest {
        owner: Some(pb::Owner {
            legal_entity_id: entity.id.clone(),
            ..complete_owner("B", "234-56-7890", ownership)
        }),
    };
    let refused = identity.legal_entities().create_owner(with_key(key, add("40.01"))).await.unwrap_err();
    assert_eq!(
        violations(&refused),
        [(
            "owner.ownership".to_owned(),
            "The owners of a legal entity may own at most 100% together; this would make 100.01%".to_owned()
        )]
    );

    // Twenty concurrent owners of 5% each, on top of 60%: eight fit.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let mut client = identity.legal_entities();
        let entity_id = entity.id.clone();
        let key = key.to_owned();
        tasks.push(tokio::spawn(async move {
            let owner = pb::Owner {
                legal_entity_id: entity_id,
                ..complete_owner(&format!("Owner {i}"), "345-67-8901", "5")
            };
            client.create_owner(with_key(&key, pb::CreateOwnerRequest { owner: Some(owner) })).await.is_ok()
        }));
    }
    let mut added = 0;
    for task in tasks {
        added += usize::from(task.await.unwrap());
    }
    assert_eq!(added, 8);
    let total = identity
        .count(&format!(
            "SELECT sum(ownership)::bigint FROM identity.legal_entity_owners WHERE legal_entity_id = '{}' AND deleted_at IS NULL",
            entity.id
        ))
        .await;
    assert_eq!(total, 100);
}

#[tokio::test]
async fn entities_and_owners_of_others_do_not_exist() {
    let identity = Identity::start().await;
    let acme = test_key(&identity.acme);
    let entity =
        create_entity(&identity, acme, complete_entity(vec![complete_owner("A", "123-45-6789", "50")])).await;
    let owner = entity.owners[0].id.clone();
    for other in [test_key(&identity.globex), key(&identity.acme, "secret_key_")] {
        let mut client = identity.legal_entities();
        let get = client
            .get_legal_entity(with_key(other, pb::GetLegalEntityRequest { id: entity.id.clone() }))
            .await;
        assert_eq!(get.unwrap_err().code(), Code::NotFound);
        let get = client.get_owner(with_key(other, pb::GetOwnerRequest { id: owner.clone() })).await;
        assert_eq!(get.unwrap_err().code(), Code::NotFound);
        let delete = client.delete_owner(with_key(other, pb::DeleteOwnerRequest { id: owner.clone() })).await;
        assert_eq!(delete.unwrap_err().code(), Code::NotFound);
        let add = pb::CreateOwnerRequest {
            owner: Some(pb::Owner {
                legal_entity_id: entity.id.clone(),
                ..complete_owner("B", "234-56-7890", "10")
            }),
        };
        let status = client.create_owner(with_key(other, add)).await.unwrap_err();
        assert_eq!(
            violations(&status),
            [("owner.legal_entity_id".to_owned(), "No such legal entity".to_owned())]
        );
        let listed = client
            .list_legal_entities(with_key(other, pb::ListLegalEntitiesRequest { query: None }))
            .await
            .unwrap();
        assert!(listed.into_inner().legal_entities.is_empty());
    }
}

#[tokio::test]
async fn an_entity_in_use_cannot_be_deleted() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let entity = create_entity(&identity, key, complete_entity(vec![])).await;
    let mut account = super::processing::recipient("Acme Rentals");
    account.processing.as_mut().unwrap().legal_entity_id = Some(entity.id.clone());
    super::processing::create_account(&identity, key, account).await;
    let refused = identity
        .legal_entities()
        .delete_legal_entity(with_key(key, pb::DeleteLegalEntityRequest { id: entity.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Aborted);
    assert!(refused.message().contains("uses this legal entity"));
}

#[tokio::test]
async fn live_mode_numbers_are_never_sealed_under_the_development_keyring() {
    // No PAYMESH_KEKS: the public development keyring.
    let identity =
        Identity::start_with(&[(paymesh_kit::config::ENV_KEKS, "")], paymesh_kit::clock::Clock::system())
            .await;
    assert!(identity.common.keyring.is_development());
    let live = key(&identity.acme, "secret_key_");
    let refused = identity
        .legal_entities()
        .create_legal_entity(with_key(
            live,
            pb::CreateLegalEntityRequest { legal_entity: Some(complete_entity(vec![])) },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable);
    assert_eq!(
        refused.message(),
        "Live mode is not available: this deployment has no key-encryption key (PAYMESH_KEKS)"
    );
    assert_eq!(identity.count("SELECT count(*) FROM identity.legal_entities").await, 0);
    // Test mode works as on any development machine.
    create_entity(&identity, test_key(&identity.acme), complete_entity(vec![])).await;
}
