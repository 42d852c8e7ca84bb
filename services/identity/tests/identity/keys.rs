//! API keys: creation, listing without secrets, revocation that bites at
//! once, rolling with a grace period, and permissions enforced on gRPC.

use chrono::{TimeDelta, Utc};
use paymesh_kit::clock::Clock;
use paymesh_proto::identity::v1 as pb;
use prost_types::FieldMask;
use tonic::Code;

use super::{Identity, create, customers_query, key, processing, reason, test_key, violations, with_key};

fn permission(method: pb::PermissionMethod, resource: &str) -> pb::Permission {
    pb::Permission { method: method as i32, resource: resource.to_owned() }
}

async fn new_key(
    identity: &Identity,
    by: &str,
    kind: pb::KeyKind,
    permissions: Vec<pb::Permission>,
) -> (pb::ApiKey, String) {
    let request = pb::CreateApiKeyRequest {
        api_key: Some(pb::ApiKey {
            kind: kind as i32,
            name: "Reporting".to_owned(),
            permissions,
            ..Default::default()
        }),
    };
    let created = identity.api_keys().create_api_key(with_key(by, request)).await.unwrap().into_inner();
    (created.api_key.unwrap(), created.key)
}

async fn works(identity: &Identity, key: &str) -> Result<(), Code> {
    identity
        .accounts()
        .list_accounts(with_key(key, pb::ListAccountsRequest { query: customers_query() }))
        .await
        .map(|_| ())
        .map_err(|s| s.code())
}

#[tokio::test]
async fn a_new_key_works_in_its_mode_and_is_never_shown_again() {
    let identity = Identity::start().await;
    let admin = test_key(&identity.acme);
    let (record, secret) = new_key(&identity, admin, pb::KeyKind::Secret, vec![]).await;
    assert!(secret.starts_with("test_secret_key_") && secret.len() == 48);
    assert_eq!((record.prefix.as_str(), record.last4.as_str()), ("test_secret_key_", &secret[44..]));
    assert!(!record.livemode);
    assert_eq!(record.status, pb::ApiKeyStatus::Active as i32);
    assert_eq!(works(&identity, &secret).await, Ok(()));

    let listed = identity
        .api_keys()
        .list_api_keys(with_key(admin, pb::ListApiKeysRequest { query: None }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.api_keys.len(), 3, "the two test keys of the partner and the new one");
    let text = format!("{listed:?}");
    assert!(!text.contains(&secret[16..]), "a list never holds a secret");
    let stored = identity
        .count(&format!(
            "SELECT count(*) FROM identity.api_keys WHERE key_hash::text LIKE '%{}%'",
            &secret[16..]
        ))
        .await;
    assert_eq!(stored, 0);
    let leaked = identity
        .count(&format!("SELECT count(*) FROM identity.outbox WHERE data::text LIKE '%{}%'", &secret[16..]))
        .await;
    assert_eq!(leaked, 0);

    // Another partner, or the other mode, cannot see it.
    for other in [test_key(&identity.globex), key(&identity.acme, "secret_key_")] {
        let get = identity
            .api_keys()
            .get_api_key(with_key(other, pb::GetApiKeyRequest { id: record.id.clone() }))
            .await;
        assert_eq!(get.unwrap_err().code(), Code::NotFound);
        let revoke = identity
            .api_keys()
            .revoke_api_key(with_key(other, pb::RevokeApiKeyRequest { id: record.id.clone() }))
            .await;
        assert_eq!(revoke.unwrap_err().code(), Code::NotFound);
    }
    let client_key = key(&identity.acme, "test_client_key_");
    let refused = identity
        .api_keys()
        .list_api_keys(with_key(client_key, pb::ListApiKeysRequest { query: None }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once() {
    let identity = Identity::start().await;
    let admin = test_key(&identity.acme);
    let (record, secret) = new_key(&identity, admin, pb::KeyKind::Secret, vec![]).await;
    assert_eq!(works(&identity, &secret).await, Ok(()), "and is now cached");
    let revoked = identity
        .api_keys()
        .revoke_api_key(with_key(admin, pb::RevokeApiKeyRequest { id: record.id.clone() }))
        .await
        .unwrap()
        .into_inner()
        .api_key
        .unwrap();
    assert_eq!(revoked.status, pb::ApiKeyStatus::Revoked as i32);
    assert_eq!(works(&identity, &secret).await, Err(Code::Unauthenticated), "evicted from identity's cache");

    let again = identity
        .api_keys()
        .revoke_api_key(with_key(admin, pb::RevokeApiKeyRequest { id: record.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::Aborted);
    let (own, own_secret) = new_key(&identity, admin, pb::KeyKind::Secret, vec![]).await;
    let itself = identity
        .api_keys()
        .revoke_api_key(with_key(&own_secret, pb::RevokeApiKeyRequest { id: own.id }))
        .await
        .unwrap_err();
    assert_eq!(violations(&itself)[0].1, "A key cannot revoke itself; use another key, or roll this one");
    assert_eq!(identity.outbox_events(&record.id).await, ["api_key.created", "api_key.revoked"]);
}

#[tokio::test]
async fn a_rolled_key_keeps_working_for_its_grace_period_only() {
    let clock = Clock::manual(Utc::now());
    let identity = Identity::start_with(&[], clock.clone()).await;
    let admin = test_key(&identity.acme);
    let (record, old) = new_key(
        &identity,
        admin,
        pb::KeyKind::Secret,
        vec![permission(pb::PermissionMethod::Get, "/customers")],
    )
    .await;
    assert_eq!(works(&identity, &old).await, Ok(()));
    let rolled = identity
        .api_keys()
        .roll_api_key(with_key(
            admin,
            pb::RollApiKeyRequest { id: record.id.clone(), grace_period_seconds: 3600 },
        ))
        .await
        .unwrap()
        .into_inner();
    let replacement = rolled.api_key.unwrap();
    let previous = rolled.previous.unwrap();
    assert_eq!(previous.status, pb::ApiKeyStatus::Expiring as i32);
    assert_eq!(previous.rolled_to_id.as_deref(), Some(replacement.id.as_str()));
    assert_eq!(replacement.permissions, previous.permissions, "the same permissions");
    assert_ne!(rolled.key, old);
    assert_eq!(works(&identity, &rolled.key).await, Ok(()));
    assert_eq!(works(&identity, &old).await, Ok(()), "within the grace period");

    clock.advance(TimeDelta::seconds(3601));
    assert_eq!(
        works(&identity, &old).await,
        Err(Code::Unauthenticated),
        "the cache never outlives the expiry"
    );
    assert_eq!(works(&identity, &rolled.key).await, Ok(()));

    let twice = identity
        .api_keys()
        .roll_api_key(with_key(
            admin,
            pb::RollApiKeyRequest { id: record.id.clone(), grace_period_seconds: 0 },
        ))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::Aborted);
    let too_long = identity
        .api_keys()
        .roll_api_key(with_key(
            admin,
            pb::RollApiKeyRequest { id: replacement.id.clone(), grace_period_seconds: 700_000 },
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&too_long)[0].0, "grace_period_seconds");
    let at_once = identity
        .api_keys()
        .roll_api_key(with_key(
            admin,
            pb::RollApiKeyRequest { id: replacement.id.clone(), grace_period_seconds: 0 },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(works(&identity, &rolled.key).await, Err(Code::Unauthenticated), "no grace: gone at once");
    assert_eq!(works(&identity, &at_once.key).await, Ok(()));
}

#[tokio::test]
async fn a_restricted_key_makes_only_the_requests_it_is_permitted() {
    let identity = Identity::start().await;
    let admin = test_key(&identity.acme);
    let shared = processing::create_account(&identity, admin, processing::recipient("Shared")).await;
    let (_, reader) = new_key(
        &identity,
        admin,
        pb::KeyKind::Secret,
        vec![permission(pb::PermissionMethod::Get, "/customers")],
    )
    .await;
    let mut accounts = identity.accounts();

    // Reading customers is permitted; processing accounts are out of sight.
    identity.accounts().create_account(with_key(admin, create("Matt", "matt@example.com"))).await.unwrap();
    let all = accounts
        .list_accounts(with_key(&reader, pb::ListAccountsRequest { query: None }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        !all.accounts.is_empty() && all.accounts.iter().all(|a| a.r#type == pb::AccountType::Customer as i32)
    );
    let hidden = accounts
        .get_account(with_key(&reader, pb::GetAccountRequest { id: shared.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);

    // Writing is not, nor other resources.
    let refused =
        accounts.create_account(with_key(&reader, create("Ann", "ann@example.com"))).await.unwrap_err();
    assert_eq!((refused.code(), reason(&refused).as_str()), (Code::PermissionDenied, "FORBIDDEN"));
    let refused = identity
        .legal_entities()
        .list_legal_entities(with_key(&reader, pb::ListLegalEntitiesRequest { query: None }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    // Authenticating needs no permission.
    assert!(identity.auth().authenticate(with_key(&reader, pb::AuthenticateRequest {})).await.is_ok());
}

#[tokio::test]
async fn a_restricted_key_cannot_grant_more_than_it_holds() {
    let identity = Identity::start().await;
    let admin = test_key(&identity.acme);
    let (_, manager) = new_key(
        &identity,
        admin,
        pb::KeyKind::Secret,
        vec![
            permission(pb::PermissionMethod::Any, "/api_keys"),
            permission(pb::PermissionMethod::Get, "/customers"),
        ],
    )
    .await;
    let create = |permissions: Vec<pb::Permission>| pb::CreateApiKeyRequest {
        api_key: Some(pb::ApiKey { kind: pb::KeyKind::Secret as i32, permissions, ..Default::default() }),
    };
    let wider = identity.api_keys().create_api_key(with_key(&manager, create(vec![]))).await.unwrap_err();
    assert!(violations(&wider)[0].1.contains("full access"));
    let other = identity
        .api_keys()
        .create_api_key(with_key(
            &manager,
            create(vec![permission(pb::PermissionMethod::Post, "/customers")]),
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&other)[0].1, "This key does not hold the permission POST /customers itself");
    let ok = identity
        .api_keys()
        .create_api_key(with_key(&manager, create(vec![permission(pb::PermissionMethod::Get, "/customers")])))
        .await
        .unwrap()
        .into_inner();
    // Nor widen an existing key.
    let widen = pb::UpdateApiKeyRequest {
        api_key: Some(pb::ApiKey { id: ok.api_key.unwrap().id, permissions: vec![], ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["permissions".into()] }),
    };
    let refused = identity.api_keys().update_api_key(with_key(&manager, widen)).await.unwrap_err();
    assert!(violations(&refused)[0].1.contains("full access"));
}

#[tokio::test]
async fn a_restricted_key_manages_only_keys_it_could_have_granted() {
    let identity = Identity::start().await;
    let admin = test_key(&identity.acme);
    let principal = identity.auth().authenticate(with_key(admin, pb::AuthenticateRequest {})).await.unwrap();
    let admin_id = principal.into_inner().principal.unwrap().key_id;
    let (_, manager) = new_key(
        &identity,
        admin,
        pb::KeyKind::Secret,
        vec![
            permission(pb::PermissionMethod::Any, "/api_keys"),
            permission(pb::PermissionMethod::Get, "/customers"),
        ],
    )
    .await;
    let (narrow, _) = new_key(
        &identity,
        admin,
        pb::KeyKind::Secret,
        vec![permission(pb::PermissionMethod::Get, "/customers")],
    )
    .await;
    let mut keys = identity.api_keys();

    // The unrestricted key is out of its reach: no roll, revoke or rename.
    let roll = |id: &str| pb::RollApiKeyRequest { id: id.to_owned(), grace_period_seconds: 0 };
    let rename = pb::UpdateApiKeyRequest {
        api_key: Some(pb::ApiKey { id: admin_id.clone(), name: "Mine now".into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["name".into()] }),
    };
    let refusals = [
        keys.roll_api_key(with_key(&manager, roll(&admin_id))).await.map(|_| ()).unwrap_err(),
        keys.revoke_api_key(with_key(&manager, pb::RevokeApiKeyRequest { id: admin_id.clone() }))
            .await
            .map(|_| ())
            .unwrap_err(),
        keys.update_api_key(with_key(&manager, rename)).await.map(|_| ()).unwrap_err(),
    ];
    for refused in refusals {
        assert_eq!((refused.code(), reason(&refused).as_str()), (Code::PermissionDenied, "FORBIDDEN"));
        assert!(
            refused.message().contains("cannot manage a key holding permissions"),
            "{}",
            refused.message()
        );
    }
    assert_eq!(works(&identity, admin).await, Ok(()), "the unrestricted key still works");
    let record = keys.get_api_key(with_key(admin, pb::GetApiKeyRequest { id: admin_id })).await.unwrap();
    let record = record.into_inner().api_key.unwrap();
    assert!(record.rolled_to_id.is_none() && record.revoke_time.is_none() && record.name != "Mine now");

    // A key it could have granted, it may roll.
    let rolled = keys.roll_api_key(with_key(&manager, roll(&narrow.id))).await.unwrap().into_inner();
    assert_eq!(rolled.api_key.unwrap().permissions, narrow.permissions);

    // Client keys: a restricted key holding what they do (tokenizing
    // methods, redeeming session tokens) may issue and revoke them.
    let (_, keeper) = new_key(
        &identity,
        admin,
        pb::KeyKind::Secret,
        vec![
            permission(pb::PermissionMethod::Any, "/api_keys"),
            permission(pb::PermissionMethod::Post, "/payment_methods"),
            permission(pb::PermissionMethod::Post, "/access_tokens"),
        ],
    )
    .await;
    let (client, _) = new_key(&identity, &keeper, pb::KeyKind::Client, vec![]).await;
    keys.revoke_api_key(with_key(&keeper, pb::RevokeApiKeyRequest { id: client.id.clone() })).await.unwrap();
    let (other_client, _) = new_key(&identity, admin, pb::KeyKind::Client, vec![]).await;
    let refused =
        keys.revoke_api_key(with_key(&manager, pb::RevokeApiKeyRequest { id: other_client.id })).await;
    assert_eq!(refused.unwrap_err().code(), Code::PermissionDenied, "the manager holds no client powers");
}

#[tokio::test]
async fn client_keys_take_no_permissions_and_readers_of_customers_see_their_recipients() {
    let identity = Identity::start().await;
    let admin = test_key(&identity.acme);
    let request = pb::CreateApiKeyRequest {
        api_key: Some(pb::ApiKey {
            kind: pb::KeyKind::Client as i32,
            name: "Checkout".into(),
            permissions: vec![permission(pb::PermissionMethod::Get, "/customers")],
            ..Default::default()
        }),
    };
    let refused = identity.api_keys().create_api_key(with_key(admin, request)).await.unwrap_err();
    assert_eq!(
        violations(&refused),
        [(
            "api_key.permissions".to_owned(),
            "Client keys are restricted by their kind; permissions apply to secret keys".to_owned()
        )]
    );

    // Recipients are part of reading a payer, whatever the key may do with
    // processing accounts directly.
    processing::create_account(&identity, admin, processing::recipient("Shared")).await;
    let payer = identity.accounts().create_account(with_key(admin, create("Matt", "matt@example.com"))).await;
    let payer = payer.unwrap().into_inner().account.unwrap();
    let (_, reader) = new_key(
        &identity,
        admin,
        pb::KeyKind::Secret,
        vec![permission(pb::PermissionMethod::Get, "/customers")],
    )
    .await;
    let recipients = identity
        .accounts()
        .list_recipients(with_key(
            &reader,
            pb::ListRecipientsRequest { payer_id: payer.id.clone(), query: None },
        ))
        .await
        .unwrap()
        .into_inner()
        .accounts;
    assert!(recipients.iter().any(|a| a.name == "Shared"), "{recipients:?}");
    let (_, outsider) = new_key(
        &identity,
        admin,
        pb::KeyKind::Secret,
        vec![permission(pb::PermissionMethod::Get, "/processing_accounts")],
    )
    .await;
    let hidden = identity
        .accounts()
        .list_recipients(with_key(&outsider, pb::ListRecipientsRequest { payer_id: payer.id, query: None }))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
}

#[tokio::test]
async fn bad_key_requests_name_each_problem() {
    let identity = Identity::start().await;
    let admin = test_key(&identity.acme);
    let request = pb::CreateApiKeyRequest {
        api_key: Some(pb::ApiKey {
            kind: 0,
            name: "x".repeat(201),
            permissions: vec![
                permission(pb::PermissionMethod::Get, "transactions"),
                pb::Permission { method: 0, resource: "/x".into() },
            ],
            ..Default::default()
        }),
    };
    let status = identity.api_keys().create_api_key(with_key(admin, request)).await.unwrap_err();
    let fields: Vec<String> = violations(&status).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["api_key.kind", "api_key.name", "api_key.permissions[0]", "api_key.permissions[1]"]);
    assert_eq!(
        identity.count("SELECT count(*) FROM identity.api_keys").await,
        8,
        "the partners' own keys only"
    );
}
