//! What keeps activation honest after it happened: an active account is
//! weighed again when its KYB changes, a verification starts over when
//! what it verified changes, the default account is always active, and
//! references are checked when they change.

use paymesh_proto::identity::v1 as pb;
use prost_types::FieldMask;
use tonic::Code;

use super::{
    Identity,
    documents::{Subject, kyc, send, upload},
    kyb::{complete_entity, complete_owner, create_entity},
    processing::{check_payout, create_account, history, recipient},
    test_key, violations, with_key,
};

use pb::ProcessingStatus as S;

/// A test-mode recipient made active the way a partner does it: a
/// complete legal entity, a payout, and a document for the entity and for
/// its owner. Answers the account and its entity.
async fn active_recipient(identity: &Identity, key: &str, name: &str) -> (pb::Account, pb::LegalEntity) {
    let entity =
        create_entity(identity, key, complete_entity(vec![complete_owner("Jane Doe", "123-45-6789", "100")]))
            .await;
    send(identity, key, upload(pb::DocumentType::EinLetter, Subject::Entity(&entity.id), "ein.pdf"))
        .await
        .unwrap();
    send(
        identity,
        key,
        upload(pb::DocumentType::Passport, Subject::Owner(&entity.owners[0].id), "passport.pdf"),
    )
    .await
    .unwrap();
    let mut account = recipient(name);
    let p = account.processing.as_mut().unwrap();
    (p.payout_method, p.payout_details) = check_payout();
    p.legal_entity_id = Some(entity.id.clone());
    let account = create_account(identity, key, account).await;
    assert_eq!(processing_status(&account), (S::Active, vec![]));
    (account, entity)
}

fn processing_status(account: &pb::Account) -> (S, Vec<String>) {
    let p = account.processing.as_ref().unwrap();
    (S::try_from(p.status).unwrap(), p.status_reasons.clone())
}

async fn get(identity: &Identity, key: &str, id: &str) -> pb::Account {
    identity
        .accounts()
        .get_account(with_key(key, pb::GetAccountRequest { id: id.to_owned() }))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap()
}

fn update(account: pb::Account, paths: &[&str]) -> pb::UpdateAccountRequest {
    pb::UpdateAccountRequest {
        account: Some(account),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
    }
}

async fn rename_owner(identity: &Identity, key: &str, id: &str, name: &str) -> pb::Owner {
    let request = pb::UpdateOwnerRequest {
        owner: Some(pb::Owner { id: id.to_owned(), full_name: name.to_owned(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["full_name".into()] }),
    };
    identity.legal_entities().update_owner(with_key(key, request)).await.unwrap().into_inner().owner.unwrap()
}

const CHANGED: &str = "Details changed since they were verified: submit a new identity document";

#[tokio::test]
async fn an_active_account_leaves_active_when_what_was_verified_changes() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let (account, entity) = active_recipient(&identity, key, "Acme Rentals").await;
    let owner = &entity.owners[0];

    // Contact details are not what the passport verified: nothing moves.
    let request = pb::UpdateOwnerRequest {
        owner: Some(pb::Owner {
            id: owner.id.clone(),
            email: "jane@new.example".into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["email".into()] }),
    };
    let same = identity.legal_entities().update_owner(with_key(key, request)).await.unwrap().into_inner();
    assert_eq!(same.owner.unwrap().kyc_status, pb::KycStatus::Verified as i32);
    assert_eq!(processing_status(&get(&identity, key, &account.id).await).0, S::Active);

    // The name is: the owner's KYC starts over, and the account leaves active.
    let renamed = rename_owner(&identity, key, &owner.id, "Jane Smith").await;
    assert_eq!(
        (renamed.kyc_status, renamed.kyc_status_reasons),
        (pb::KycStatus::Unverified as i32, vec![CHANGED.to_owned()])
    );
    let (status, reasons) = processing_status(&get(&identity, key, &account.id).await);
    assert_eq!(status, S::UpdateRequired);
    assert_eq!(reasons, [format!("owner Jane Smith: {CHANGED}")]);

    // A document of the new details activates it again; the old one no
    // longer counts (a rejection now is not outweighed by it).
    send(&identity, key, upload(pb::DocumentType::Passport, Subject::Owner(&owner.id), "reject.pdf"))
        .await
        .unwrap();
    assert_eq!(processing_status(&get(&identity, key, &account.id).await).0, S::UpdateRequired);
    send(&identity, key, upload(pb::DocumentType::Passport, Subject::Owner(&owner.id), "passport.pdf"))
        .await
        .unwrap();
    assert_eq!(processing_status(&get(&identity, key, &account.id).await), (S::Active, vec![]));

    // The same EIN sent again is no change.
    let same = pb::UpdateLegalEntityRequest {
        legal_entity: Some(pb::LegalEntity {
            id: entity.id.clone(),
            ein: "12-3456789".into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["ein".into()] }),
    };
    let kept = identity.legal_entities().update_legal_entity(with_key(key, same)).await.unwrap();
    assert_eq!(kept.into_inner().legal_entity.unwrap().kyb_status, pb::KycStatus::Verified as i32);
    assert_eq!(processing_status(&get(&identity, key, &account.id).await).0, S::Active);

    // A new EIN undoes the entity's verification the same way.
    let request = pb::UpdateLegalEntityRequest {
        legal_entity: Some(pb::LegalEntity {
            id: entity.id.clone(),
            ein: "98-7654321".into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["ein".into()] }),
    };
    let changed = identity.legal_entities().update_legal_entity(with_key(key, request)).await.unwrap();
    assert_eq!(changed.into_inner().legal_entity.unwrap().kyb_status, pb::KycStatus::Unverified as i32);
    let (status, reasons) = processing_status(&get(&identity, key, &account.id).await);
    assert_eq!((status, reasons), (S::UpdateRequired, vec![format!("legal_entity: {CHANGED}")]));

    // Unlinking the KYB altogether leaves it update_required too.
    let unlink = pb::Account {
        id: account.id.clone(),
        processing: Some(pb::Processing::default()),
        ..Default::default()
    };
    let unlinked = identity
        .accounts()
        .update_account(with_key(key, update(unlink, &["processing.legal_entity_id"])))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(
        processing_status(&unlinked),
        (S::UpdateRequired, vec!["legal_entity_id: link the legal entity (KYB) of the business".to_owned()])
    );
    let moves: Vec<(i32, i32)> =
        history(&identity, key, &account.id).await.into_iter().map(|(from, to, _)| (from, to)).collect();
    assert_eq!(
        moves[2..],
        [
            (S::Active as i32, S::UpdateRequired as i32),
            (S::UpdateRequired as i32, S::Active as i32),
            (S::Active as i32, S::UpdateRequired as i32),
        ]
    );
}

#[tokio::test]
async fn the_test_mode_default_is_active_by_design_and_never_reweighed() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let default = identity.acme.default_accounts[0].to_string();
    let before = history(&identity, key, &default).await;
    let renamed = pb::Account { id: default.clone(), name: "Acme Payments".into(), ..Default::default() };
    let account = identity
        .accounts()
        .update_account(with_key(key, update(renamed, &["name"])))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(processing_status(&account).0, S::Active, "no KYB, yet active: it is exempt");
    assert_eq!(history(&identity, key, &default).await, before);
}

#[tokio::test]
async fn a_customers_kyc_starts_over_when_its_name_changes() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let matt = create_account(&identity, key, super::customer("Matt Perez", "matt@example.com")).await;
    send(&identity, key, upload(pb::DocumentType::Passport, Subject::Account(&matt.id), "passport.pdf"))
        .await
        .unwrap();
    assert_eq!(kyc(&identity, key, &matt.id).await.0, pb::KycStatus::Verified as i32);

    let email = pb::Account { id: matt.id.clone(), email: "matt@new.example".into(), ..Default::default() };
    identity.accounts().update_account(with_key(key, update(email, &["email"]))).await.unwrap();
    assert_eq!(
        kyc(&identity, key, &matt.id).await.0,
        pb::KycStatus::Verified as i32,
        "not what was verified"
    );

    let name = pb::Account { id: matt.id.clone(), name: "Matthew Perez".into(), ..Default::default() };
    identity.accounts().update_account(with_key(key, update(name, &["name"]))).await.unwrap();
    assert_eq!(
        kyc(&identity, key, &matt.id).await,
        (pb::KycStatus::Unverified as i32, vec![CHANGED.to_owned()])
    );
    send(&identity, key, upload(pb::DocumentType::Passport, Subject::Account(&matt.id), "reject.pdf"))
        .await
        .unwrap();
    assert_eq!(
        kyc(&identity, key, &matt.id).await.0,
        pb::KycStatus::Rejected as i32,
        "the passport of the old name no longer counts"
    );
    let events = identity.outbox_events(&matt.id).await;
    assert_eq!(events.iter().filter(|e| *e == "account.kyc_status").count(), 3, "{events:?}");
}

#[tokio::test]
async fn the_default_is_always_an_active_account() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let first = identity.acme.default_accounts[0].to_string();

    // A new account is not active yet: it cannot be created the default.
    let mut pending = recipient("Not Yet");
    pending.processing.as_mut().unwrap().default = true;
    let before = identity.count("SELECT count(*) FROM identity.accounts").await;
    let refused = identity
        .accounts()
        .create_account(with_key(key, pb::CreateAccountRequest { account: Some(pending) }))
        .await
        .unwrap_err();
    let (field, why) = violations(&refused).remove(0);
    assert_eq!(field, "account.processing.default");
    assert!(
        why.starts_with("Only an active processing account can be the default; this one is update_required"),
        "{why}"
    );
    assert_eq!(identity.count("SELECT count(*) FROM identity.accounts").await, before, "nothing stored");
    assert!(get(&identity, key, &first).await.processing.unwrap().default);

    // An active one can become it; the previous default hears about it.
    let (second, _) = active_recipient(&identity, key, "New Default").await;
    let make_default = pb::Account {
        id: second.id.clone(),
        processing: Some(pb::Processing { default: true, ..Default::default() }),
        ..Default::default()
    };
    let second = identity
        .accounts()
        .update_account(with_key(key, update(make_default, &["processing.default"])))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert!(second.processing.as_ref().unwrap().default);
    let previous = get(&identity, key, &first).await;
    assert!(!previous.processing.unwrap().default);
    assert_ne!(previous.update_time, previous.create_time, "its modification time moved");
    assert_eq!(identity.outbox_events(&first).await.last().map(String::as_str), Some("account.updated"));

    // The default cannot be deactivated; the previous one now can.
    let deactivate = |id: &str| {
        let account = pb::Account {
            id: id.to_owned(),
            processing: Some(pb::Processing { status: S::Inactive as i32, ..Default::default() }),
            ..Default::default()
        };
        update(account, &["processing.status"])
    };
    let refused =
        identity.accounts().update_account(with_key(key, deactivate(&second.id))).await.unwrap_err();
    assert_eq!(
        violations(&refused),
        [(
            "account.processing.status".to_owned(),
            "The default processing account cannot be deactivated; make another one the default first"
                .to_owned()
        )]
    );
    let old = identity.accounts().update_account(with_key(key, deactivate(&first))).await.unwrap();
    assert_eq!(processing_status(&old.into_inner().account.unwrap()).0, S::Inactive);

    // One batch may move the default and change the previous default too.
    let (third, _) = active_recipient(&identity, key, "Third").await;
    let batch = pb::BatchUpdateAccountsRequest {
        requests: vec![
            update(
                pb::Account {
                    id: third.id.clone(),
                    processing: Some(pb::Processing { default: true, ..Default::default() }),
                    ..Default::default()
                },
                &["processing.default"],
            ),
            update(
                pb::Account { id: second.id.clone(), name: "Second".into(), ..Default::default() },
                &["name"],
            ),
        ],
    };
    let changed = identity.accounts().batch_update_accounts(with_key(key, batch)).await.unwrap().into_inner();
    let defaults: Vec<(String, bool)> =
        changed.accounts.iter().map(|a| (a.name.clone(), a.processing.as_ref().unwrap().default)).collect();
    assert_eq!(defaults, [("Third".to_owned(), true), ("Second".to_owned(), false)]);
}

#[tokio::test]
async fn references_are_checked_when_they_change_not_ever_after() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let shop = create_account(&identity, key, recipient("Corner Shop")).await;
    let mut with_primary = super::customer("Matt Perez", "matt@example.com");
    with_primary.primary_processing_id = Some(shop.id.clone());
    let matt = create_account(&identity, key, with_primary).await;
    identity
        .accounts()
        .delete_account(with_key(key, pb::DeleteAccountRequest { id: shop.id.clone() }))
        .await
        .unwrap();

    // Renaming the customer does not trip over the reference it already had.
    let name = pb::Account { id: matt.id.clone(), name: "Matthew Perez".into(), ..Default::default() };
    let renamed = identity.accounts().update_account(with_key(key, update(name, &["name"]))).await.unwrap();
    assert_eq!(
        renamed.into_inner().account.unwrap().primary_processing_id.as_deref(),
        Some(shop.id.as_str())
    );
    // Pointing it at the deleted account anew does.
    let other = create_account(&identity, key, recipient("Other Shop")).await;
    for target in [other.id.as_str(), shop.id.as_str()] {
        let primary = pb::Account {
            id: matt.id.clone(),
            primary_processing_id: Some(target.to_owned()),
            ..Default::default()
        };
        let result = identity
            .accounts()
            .update_account(with_key(key, update(primary, &["primary_processing_id"])))
            .await;
        if target == shop.id {
            let status = result.unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument);
            assert_eq!(violations(&status)[0].0, "account.primary_processing_id");
        } else {
            assert!(result.is_ok());
        }
    }
}
