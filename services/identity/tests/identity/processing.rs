//! Processing accounts: the default accounts, recipients and their
//! visibility, billers, payouts, and the activation lifecycle.

use paymesh_proto::{common::v1::ListQuery, identity::v1 as pb};
use prost_types::FieldMask;
use tonic::Code;

use super::{Identity, create, eq, key, reason, test_key, violations, with_key};

/// A partner-visible recipient with nothing but its required attributes.
pub(super) fn recipient(name: &str) -> pb::Account {
    pb::Account {
        r#type: pb::AccountType::Processing as i32,
        name: name.to_owned(),
        email: format!("{}@recipient.example", name.to_lowercase().replace(' ', ".")),
        processing: Some(pb::Processing {
            industry: "Property management".to_owned(),
            category: pb::RecipientCategory::Rent as i32,
            visibility: pb::Visibility::Partner as i32,
            ..pb::Processing::default()
        }),
        ..pb::Account::default()
    }
}

/// A check payout to a complete address.
pub(super) fn check_payout() -> (i32, Option<pb::PayoutDetails>) {
    (
        pb::PayoutMethod::Check as i32,
        Some(pb::PayoutDetails {
            mailing_address: Some(paymesh_proto::common::v1::Address {
                street_address: "1 Main St".to_owned(),
                city: "Albany".to_owned(),
                state_province: "NY".to_owned(),
                postal_code: "12207".to_owned(),
                ..Default::default()
            }),
            ..pb::PayoutDetails::default()
        }),
    )
}

pub(super) async fn create_account(identity: &Identity, key: &str, account: pb::Account) -> pb::Account {
    identity
        .accounts()
        .create_account(with_key(key, pb::CreateAccountRequest { account: Some(account) }))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap()
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

pub(super) async fn history(identity: &Identity, key: &str, id: &str) -> Vec<(i32, i32, String)> {
    identity
        .accounts()
        .list_processing_status_changes(with_key(
            key,
            pb::ListProcessingStatusChangesRequest { account_id: id.to_owned() },
        ))
        .await
        .unwrap()
        .into_inner()
        .changes
        .into_iter()
        .map(|c| (c.from_status, c.to_status, c.actor_type))
        .collect()
}

fn status(account: &pb::Account) -> pb::ProcessingStatus {
    pb::ProcessingStatus::try_from(account.processing.as_ref().unwrap().status).unwrap()
}

fn reasons(account: &pb::Account) -> Vec<String> {
    account.processing.as_ref().unwrap().status_reasons.clone()
}

fn set_status(id: &str, to: pb::ProcessingStatus, why: Option<&str>) -> pb::UpdateAccountRequest {
    pb::UpdateAccountRequest {
        account: Some(pb::Account {
            id: id.to_owned(),
            processing: Some(pb::Processing {
                status: to as i32,
                status_reason: why.map(str::to_owned),
                ..pb::Processing::default()
            }),
            ..pb::Account::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["processing.status".into(), "processing.status_reason".into()],
        }),
    }
}

use pb::ProcessingStatus as S;

#[tokio::test]
async fn every_partner_starts_with_a_default_processing_account_in_each_mode() {
    let identity = Identity::start().await;
    let test_default =
        get(&identity, test_key(&identity.acme), &identity.acme.default_accounts[0].to_string()).await;
    let p = test_default.processing.clone().unwrap();
    assert!(p.default && !test_default.livemode);
    assert_eq!(status(&test_default), S::Active, "active at once in test mode");
    assert_eq!(
        history(&identity, test_key(&identity.acme), &test_default.id).await,
        [
            (0, S::Pending as i32, "operator".to_owned()),
            (S::Pending as i32, S::Active as i32, "system".to_owned())
        ]
    );

    let live = key(&identity.acme, "secret_key_");
    let live_default = get(&identity, live, &identity.acme.default_accounts[1].to_string()).await;
    assert!(live_default.livemode);
    assert_eq!(status(&live_default), S::UpdateRequired, "live mode needs its KYB");
    assert_eq!(
        reasons(&live_default),
        [
            "payout_method: set a payout method and its details",
            "legal_entity_id: link the legal entity (KYB) of the business"
        ]
    );
    // The other mode's default does not exist for each key.
    let other = identity
        .accounts()
        .get_account(with_key(live, pb::GetAccountRequest { id: test_default.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::NotFound);
}

#[tokio::test]
async fn a_new_recipient_is_assessed_at_once_and_says_what_is_missing() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let created = create_account(&identity, key, recipient("Acme Rentals")).await;
    assert_eq!(status(&created), S::UpdateRequired);
    assert_eq!(reasons(&created).len(), 2);
    assert!(!created.processing.as_ref().unwrap().default);
    assert_eq!(
        history(&identity, key, &created.id).await,
        [
            (0, S::Pending as i32, "api_key".to_owned()),
            (S::Pending as i32, S::UpdateRequired as i32, "system".to_owned())
        ]
    );
    assert_eq!(
        identity.outbox_events(&created.id).await,
        ["account.processing_status", "account.created"],
        "the status change and the creation, in one transaction"
    );
}

#[tokio::test]
async fn recipient_attributes_are_checked_and_bad_ones_change_nothing() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let before = identity.count("SELECT count(*) FROM identity.accounts").await;
    let mut bad = recipient("Acme Rentals");
    let p = bad.processing.as_mut().unwrap();
    p.industry = String::new();
    p.category = 99;
    p.visibility = pb::Visibility::Payer as i32;
    p.legal_entity_id = Some("not-an-id".to_owned());
    p.payout_method = pb::PayoutMethod::Ach as i32;
    p.payout_details = Some(pb::PayoutDetails {
        routing_number: "011000016".to_owned(),
        account_number: "12".to_owned(),
        ..Default::default()
    });
    let status = identity
        .accounts()
        .create_account(with_key(key, pb::CreateAccountRequest { account: Some(bad) }))
        .await
        .unwrap_err();
    let fields: Vec<String> = violations(&status).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        [
            "account.processing.industry",
            "account.processing.category",
            "account.processing.visibility",
            "account.processing.payout_details.routing_number",
            "account.processing.payout_details.account_number",
            "account.processing.legal_entity_id",
        ]
    );
    // A payer that is no customer of this partner, and a biller.
    let mut private = recipient("Private");
    let p = private.processing.as_mut().unwrap();
    p.visibility = pb::Visibility::Payer as i32;
    p.payer_id = Some(identity.globex.default_accounts[0].to_string());
    let status = identity
        .accounts()
        .create_account(with_key(key, pb::CreateAccountRequest { account: Some(private) }))
        .await
        .unwrap_err();
    assert_eq!(
        violations(&status),
        [("account.processing.payer_id".to_owned(), "No such customer".to_owned())]
    );
    let mut biller = recipient("Fake Biller");
    biller.processing.as_mut().unwrap().visibility = pb::Visibility::Biller as i32;
    let status = identity
        .accounts()
        .create_account(with_key(key, pb::CreateAccountRequest { account: Some(biller) }))
        .await
        .unwrap_err();
    assert_eq!(violations(&status)[0].0, "account.processing.visibility");
    // The status is paymesh's to set on a new account.
    let mut eager = recipient("Eager");
    eager.processing.as_mut().unwrap().status = pb::ProcessingStatus::Active as i32;
    let status = identity
        .accounts()
        .create_account(with_key(key, pb::CreateAccountRequest { account: Some(eager) }))
        .await
        .unwrap_err();
    assert_eq!(
        violations(&status),
        [(
            "account.processing.status".to_owned(),
            "A new account starts pending and is assessed at once; ask for active or inactive with an update"
                .to_owned()
        )]
    );
    assert_eq!(identity.count("SELECT count(*) FROM identity.accounts").await, before);
}

#[tokio::test]
async fn payouts_are_validated_sealed_and_shown_only_by_their_last_four_digits() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let mut account = recipient("Acme Rentals");
    let p = account.processing.as_mut().unwrap();
    p.payout_method = pb::PayoutMethod::Ach as i32;
    p.payout_details = Some(pb::PayoutDetails {
        routing_number: "011000015".to_owned(),
        account_number: "000123456789".to_owned(),
        account_type: pb::BankAccountType::Savings as i32,
        ..Default::default()
    });
    let created = create_account(&identity, key, account).await;
    let details = created.processing.as_ref().unwrap().payout_details.clone().unwrap();
    assert_eq!(details.account_number, "", "never returned");
    assert_eq!(details.account_number_last4, "6789");
    assert_eq!(details.account_holder, "Acme Rentals", "defaults to the account name");
    assert_eq!(details.account_type, pb::BankAccountType::Savings as i32);

    let leaks = identity
        .count(
            "SELECT count(*) FROM identity.accounts WHERE payout_details::text LIKE '%123456789%' \
             OR position('123456789'::bytea in payout_account_sealed) > 0",
        )
        .await;
    assert_eq!(leaks, 0, "the account number is stored only sealed");
    let events =
        identity.count("SELECT count(*) FROM identity.outbox WHERE data::text LIKE '%123456789%'").await;
    assert_eq!(events, 0, "events carry only the last four digits");

    // Changing the holder keeps the stored number when none is sent.
    let update = pb::UpdateAccountRequest {
        account: Some(pb::Account {
            id: created.id.clone(),
            processing: Some(pb::Processing {
                payout_method: pb::PayoutMethod::Wire as i32,
                payout_details: Some(pb::PayoutDetails {
                    account_holder: "Acme Rentals LLC".to_owned(),
                    routing_number: "011000015".to_owned(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["processing.payout_method".into(), "processing.payout_details".into()],
        }),
    };
    let updated = identity
        .accounts()
        .update_account(with_key(key, update))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    let p = updated.processing.unwrap();
    assert_eq!(p.payout_method, pb::PayoutMethod::Wire as i32);
    assert_eq!(p.payout_details.as_ref().unwrap().account_number_last4, "6789");
    assert_eq!(p.payout_details.unwrap().account_holder, "Acme Rentals LLC");

    // A switch to EFT needs the Canadian account number.
    let to_eft = pb::UpdateAccountRequest {
        account: Some(pb::Account {
            id: created.id.clone(),
            processing: Some(pb::Processing {
                payout_method: pb::PayoutMethod::Eft as i32,
                payout_details: Some(pb::PayoutDetails {
                    institution_number: "001".to_owned(),
                    transit_number: "12345".to_owned(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["processing.payout_method".into(), "processing.payout_details".into()],
        }),
    };
    let status = identity.accounts().update_account(with_key(key, to_eft)).await.unwrap_err();
    assert_eq!(
        violations(&status),
        [("account.processing.payout_details.account_number".to_owned(), "Required".to_owned())]
    );
}

#[tokio::test]
async fn a_payer_sees_and_pays_only_the_recipients_it_may() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let payers = identity
        .accounts()
        .batch_create_accounts(with_key(
            key,
            pb::BatchCreateAccountsRequest {
                requests: vec![create("Ann", "ann@example.com"), create("Ben", "ben@example.com")],
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .accounts;
    let (ann, ben) = (&payers[0], &payers[1]);
    let shared = create_account(&identity, key, recipient("Shared Landlord")).await;
    let mut private = recipient("Ann's Landlord");
    let p = private.processing.as_mut().unwrap();
    p.visibility = pb::Visibility::Payer as i32;
    p.payer_id = Some(ann.id.clone());
    let private = create_account(&identity, key, private).await;
    let biller = "01938a00-0000-7000-8000-000000000003";

    let seen = |payer: &str| {
        let mut client = identity.accounts();
        let request = pb::ListRecipientsRequest {
            payer_id: payer.to_owned(),
            query: Some(ListQuery {
                filters: vec![eq(&["processing", "visibility"], &["payer", "partner"])],
                limit: 50,
                ..Default::default()
            }),
        };
        async move {
            let mut names: Vec<String> = client
                .list_recipients(with_key(key, request))
                .await
                .unwrap()
                .into_inner()
                .accounts
                .into_iter()
                .map(|a| a.name)
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(seen(&ann.id).await, ["Acme", "Ann's Landlord", "Shared Landlord"]);
    assert_eq!(seen(&ben.id).await, ["Acme", "Shared Landlord"]);

    let resolve = |payer: &str, recipient: &str| {
        let mut client = identity.accounts();
        let request =
            pb::ResolveRecipientRequest { payer_id: payer.to_owned(), recipient_id: recipient.to_owned() };
        async move { client.resolve_recipient(with_key(key, request)).await }
    };
    assert_eq!(resolve(&ann.id, &private.id).await.unwrap().into_inner().recipient.unwrap().id, private.id);
    let refused = resolve(&ben.id, &private.id).await.unwrap_err();
    assert_eq!((refused.code(), refused.message()), (Code::NotFound, "Recipient not found"));
    assert!(resolve(&ben.id, &shared.id).await.is_ok());
    assert!(resolve(&ben.id, biller).await.is_ok(), "billers are every payer's");
    assert_eq!(
        resolve(&ben.id, &ann.id).await.unwrap_err().code(),
        Code::NotFound,
        "a customer is no recipient"
    );

    // Another partner's payer and recipients do not exist here.
    let globex = test_key(&identity.globex);
    let mut client = identity.accounts();
    let foreign = client
        .resolve_recipient(with_key(
            globex,
            pb::ResolveRecipientRequest { payer_id: ann.id.clone(), recipient_id: shared.id.clone() },
        ))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound);
    let foreign = client
        .list_recipients(with_key(
            globex,
            pb::ListRecipientsRequest { payer_id: ann.id.clone(), query: None },
        ))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound);
}

#[tokio::test]
async fn billers_are_shared_by_every_partner_and_mode_and_changed_by_none() {
    let identity = Identity::start().await;
    let biller_query = || pb::ListAccountsRequest {
        query: Some(ListQuery {
            filters: vec![eq(&["processing", "visibility"], &["biller"])],
            ..Default::default()
        }),
    };
    let mut counts = Vec::new();
    for k in [test_key(&identity.acme), key(&identity.acme, "secret_key_"), test_key(&identity.globex)] {
        let billers = identity
            .accounts()
            .list_accounts(with_key(k, biller_query()))
            .await
            .unwrap()
            .into_inner()
            .accounts;
        assert!(billers.iter().all(|b| b.processing.as_ref().unwrap().status == S::Active as i32));
        counts.push(billers.len());
    }
    assert_eq!(counts, [12, 12, 12]);

    let key = test_key(&identity.acme);
    let biller = "01938a00-0000-7000-8000-000000000001";
    let rename = pb::UpdateAccountRequest {
        account: Some(pb::Account {
            id: biller.to_owned(),
            name: "Mine now".to_owned(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["name".into()] }),
    };
    let refused = identity.accounts().update_account(with_key(key, rename)).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(reason(&refused), "FORBIDDEN");
    let refused = identity
        .accounts()
        .delete_account(with_key(key, pb::DeleteAccountRequest { id: biller.to_owned() }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let by_query =
        pb::DeleteAccountsByQueryRequest { filters: vec![eq(&["processing", "visibility"], &["biller"])] };
    let deleted = identity
        .accounts()
        .delete_accounts_by_query(with_key(key, by_query))
        .await
        .unwrap()
        .into_inner()
        .accounts;
    assert!(deleted.is_empty(), "a partner's query never reaches the directory");
    assert_eq!(
        identity
            .count("SELECT count(*) FROM identity.accounts WHERE partner_id IS NULL AND deleted_at IS NULL")
            .await,
        12
    );
}

#[tokio::test]
async fn deactivation_is_final_and_other_statuses_are_paymeshs_to_set() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let account = create_account(&identity, key, recipient("Acme Rentals")).await;
    let mut client = identity.accounts();

    let early =
        client.update_account(with_key(key, set_status(&account.id, S::Active, None))).await.unwrap_err();
    let (field, why) = violations(&early).remove(0);
    assert_eq!(field, "account.processing.status");
    assert!(why.starts_with("Cannot be activated yet: payout_method"), "{why}");
    let reviewed =
        client.update_account(with_key(key, set_status(&account.id, S::InReview, None))).await.unwrap_err();
    assert!(violations(&reviewed)[0].1.starts_with("Only active or inactive"));

    let closed = client
        .update_account(with_key(key, set_status(&account.id, S::Inactive, Some("Moved away"))))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(status(&closed), S::Inactive);
    assert_eq!(reasons(&closed), ["Moved away"]);
    let changes = client
        .list_processing_status_changes(with_key(
            key,
            pb::ListProcessingStatusChangesRequest { account_id: account.id.clone() },
        ))
        .await
        .unwrap()
        .into_inner()
        .changes;
    let last = changes.last().unwrap();
    assert_eq!((last.to_status, last.actor_type.as_str()), (S::Inactive as i32, "api_key"));
    assert!(last.actor_id.is_some(), "the key that did it");
    assert_eq!(last.reasons, ["Moved away"]);

    let revived =
        client.update_account(with_key(key, set_status(&account.id, S::Active, None))).await.unwrap_err();
    assert_eq!(violations(&revived)[0].1, "An inactive processing account cannot be reactivated");
    assert_eq!(status(&get(&identity, key, &account.id).await), S::Inactive);
}

#[tokio::test]
async fn the_default_is_never_unset_nor_deleted() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let first = identity.acme.default_accounts[0].to_string();
    let mut client = identity.accounts();
    let unset = pb::UpdateAccountRequest {
        account: Some(pb::Account {
            id: first.clone(),
            processing: Some(pb::Processing::default()),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["processing.default".into()] }),
    };
    let status = client.update_account(with_key(key, unset)).await.unwrap_err();
    assert_eq!(violations(&status)[0].0, "account.processing.default");
    let deleted = client
        .delete_account(with_key(key, pb::DeleteAccountRequest { id: first.clone() }))
        .await
        .unwrap_err();
    assert_eq!(deleted.code(), Code::Aborted);
    // Moving it to another (active) account: see `reassessment`.
    assert_eq!(
        identity.count("SELECT count(*) FROM identity.accounts WHERE is_default AND livemode = false AND partner_id IS NOT NULL").await,
        2,
        "one default per partner and mode"
    );
}

#[tokio::test]
async fn a_customer_primary_processing_account_must_be_one_it_may_see() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let shared = create_account(&identity, key, recipient("Shared")).await;
    let mut with_primary = super::customer("Matt", "matt@example.com");
    with_primary.primary_processing_id = Some(shared.id.clone());
    let matt = create_account(&identity, key, with_primary).await;
    assert_eq!(matt.primary_processing_id.as_deref(), Some(shared.id.as_str()));
    assert_eq!(matt.kyc_status, pb::KycStatus::Unverified as i32);

    for unusable in [
        identity.globex.default_accounts[0].to_string(),
        "01938a00-0000-7000-8000-000000000001".to_owned(),
        matt.id.clone(),
    ] {
        let mut other = super::customer("Ann", "ann@example.com");
        other.primary_processing_id = Some(unusable);
        let status = identity
            .accounts()
            .create_account(with_key(key, pb::CreateAccountRequest { account: Some(other) }))
            .await
            .unwrap_err();
        assert_eq!(violations(&status)[0].0, "account.primary_processing_id");
    }
}
