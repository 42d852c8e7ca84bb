//! Access tokens: one-time session tokens, and merchant tokens (JWT) as
//! credentials; expired, reused, revoked and forged tokens are refused.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{TimeDelta, Utc};
use paymesh_kit::clock::Clock;
use paymesh_proto::identity::v1 as pb;
use tonic::Code;

use super::{Identity, create, key, processing, test_key, violations, with_key};

async fn issue(
    identity: &Identity,
    by: &str,
    kind: pb::AccessTokenType,
    account: &str,
) -> (pb::AccessToken, String) {
    let request = pb::CreateAccessTokenRequest {
        access_token: Some(pb::AccessToken {
            r#type: kind as i32,
            account_id: account.to_owned(),
            ..Default::default()
        }),
    };
    let created =
        identity.access_tokens().create_access_token(with_key(by, request)).await.unwrap().into_inner();
    (created.access_token.unwrap(), created.token)
}

async fn redeem(
    identity: &Identity,
    by: &str,
    token: &str,
) -> Result<pb::RedeemSessionTokenResponse, tonic::Status> {
    identity
        .access_tokens()
        .redeem_session_token(with_key(by, pb::RedeemSessionTokenRequest { token: token.to_owned() }))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn a_session_token_opens_one_page_once_and_only_until_it_expires() {
    let clock = Clock::manual(Utc::now());
    let identity = Identity::start_with(&[], clock.clone()).await;
    let secret = test_key(&identity.acme);
    let client = key(&identity.acme, "test_client_key_");
    let matt = identity
        .accounts()
        .create_account(with_key(secret, create("Matt", "matt@example.com")))
        .await
        .unwrap();
    let matt = matt.into_inner().account.unwrap();

    let (record, token) = issue(&identity, secret, pb::AccessTokenType::SessionAccess, &matt.id).await;
    assert!(token.starts_with("session_access_"));
    assert_eq!(record.status, pb::AccessTokenStatus::Active as i32);
    let expiry = record.expire_time.unwrap().seconds - record.create_time.unwrap().seconds;
    assert_eq!(expiry, 15 * 60);

    let redeemed = redeem(&identity, client, &token).await.unwrap();
    assert_eq!(redeemed.account.unwrap().id, matt.id);
    assert_eq!(redeemed.access_token.unwrap().status, pb::AccessTokenStatus::Redeemed as i32);
    // The token is refused, not the caller: the errors name `token`.
    let refused = |status: tonic::Status| {
        assert_eq!(status.code(), Code::InvalidArgument);
        violations(&status).into_iter().map(|(field, why)| format!("{field}: {why}")).collect::<Vec<_>>()
    };
    let reused = redeem(&identity, client, &token).await.unwrap_err();
    assert_eq!(refused(reused), ["token: This session token has already been used; issue a new one"]);

    let (_, late) = issue(&identity, secret, pb::AccessTokenType::SessionAccess, &matt.id).await;
    clock.advance(TimeDelta::minutes(16));
    let expired = redeem(&identity, client, &late).await.unwrap_err();
    assert_eq!(refused(expired), ["token: This token has expired; issue a new one"]);

    let forged = format!("session_access_{}", "A".repeat(32));
    assert_eq!(
        refused(redeem(&identity, client, &forged).await.unwrap_err()),
        ["token: Invalid session token"]
    );
    assert_eq!(violations(&redeem(&identity, client, "nope").await.unwrap_err())[0].0, "token");
    // Another partner's client key cannot redeem it.
    let (_, fresh) = issue(&identity, secret, pb::AccessTokenType::SessionAccess, &matt.id).await;
    let other = redeem(&identity, key(&identity.globex, "test_client_key_"), &fresh).await.unwrap_err();
    assert_eq!(refused(other), ["token: Invalid session token"]);
    assert!(redeem(&identity, client, &fresh).await.is_ok(), "still unused");
    assert_eq!(
        identity
            .count(&format!(
                "SELECT count(*) FROM identity.access_tokens WHERE token_hash::text LIKE '%{}%'",
                &token[15..]
            ))
            .await,
        0
    );
}

#[tokio::test]
async fn a_merchant_token_reads_its_own_processing_account_for_an_hour() {
    let clock = Clock::manual(Utc::now());
    let identity = Identity::start_with(&[], clock.clone()).await;
    let secret = test_key(&identity.acme);
    let mine = processing::create_account(&identity, secret, processing::recipient("Acme Rentals")).await;
    let other = processing::create_account(&identity, secret, processing::recipient("Other")).await;
    let (record, jwt) = issue(&identity, secret, pb::AccessTokenType::Merchant, &mine.id).await;
    assert_eq!(jwt.split('.').count(), 3);
    assert_eq!(record.expire_time.unwrap().seconds - record.create_time.unwrap().seconds, 3600);

    let mut accounts = identity.accounts();
    let read =
        accounts.get_account(with_key(&jwt, pb::GetAccountRequest { id: mine.id.clone() })).await.unwrap();
    assert_eq!(read.into_inner().account.unwrap().name, "Acme Rentals");
    let history = accounts
        .list_processing_status_changes(with_key(
            &jwt,
            pb::ListProcessingStatusChangesRequest { account_id: mine.id.clone() },
        ))
        .await;
    assert!(history.is_ok());
    let theirs = accounts
        .get_account(with_key(&jwt, pb::GetAccountRequest { id: other.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(theirs.code(), Code::NotFound);
    let list =
        accounts.list_accounts(with_key(&jwt, pb::ListAccountsRequest { query: None })).await.unwrap_err();
    assert_eq!(list.code(), Code::PermissionDenied);
    let principal = identity.auth().authenticate(with_key(&jwt, pb::AuthenticateRequest {})).await.unwrap();
    let principal = principal.into_inner().principal.unwrap();
    assert_eq!(
        (principal.key_kind, principal.account_id.as_deref()),
        (pb::KeyKind::Merchant as i32, Some(mine.id.as_str()))
    );

    // Forged: another account in the claims, the signature kept.
    let parts: Vec<&str> = jwt.split('.').collect();
    let claims =
        String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap().replace(&mine.id, &other.id);
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims), parts[2]);
    let refused = accounts
        .get_account(with_key(&forged, pb::GetAccountRequest { id: other.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!((refused.code(), refused.message()), (Code::Unauthenticated, "Invalid token signature"));

    clock.advance(TimeDelta::minutes(61));
    let expired = accounts
        .get_account(with_key(&jwt, pb::GetAccountRequest { id: mine.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(
        (expired.code(), expired.message()),
        (Code::Unauthenticated, "This token has expired; issue a new one")
    );
}

#[tokio::test]
async fn a_revoked_merchant_token_stops_working() {
    let identity = Identity::start().await;
    let secret = test_key(&identity.acme);
    let mine = processing::create_account(&identity, secret, processing::recipient("Acme Rentals")).await;
    let (record, jwt) = issue(&identity, secret, pb::AccessTokenType::Merchant, &mine.id).await;
    // Used once, so identity's cache holds it; revoking evicts it.
    identity
        .accounts()
        .get_account(with_key(&jwt, pb::GetAccountRequest { id: mine.id.clone() }))
        .await
        .unwrap();
    identity
        .access_tokens()
        .revoke_access_token(with_key(secret, pb::RevokeAccessTokenRequest { id: record.id.clone() }))
        .await
        .unwrap();
    let refused = identity
        .accounts()
        .get_account(with_key(&jwt, pb::GetAccountRequest { id: mine.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(refused.message(), "This token has been revoked");
    let twice = identity
        .access_tokens()
        .revoke_access_token(with_key(secret, pb::RevokeAccessTokenRequest { id: record.id }))
        .await;
    assert_eq!(twice.unwrap_err().code(), Code::Aborted);
}

#[tokio::test]
async fn a_token_ends_with_its_account() {
    let identity = Identity::start().await;
    let secret = test_key(&identity.acme);
    let client = key(&identity.acme, "test_client_key_");
    let shop = processing::create_account(&identity, secret, processing::recipient("Corner Shop")).await;
    let (_, jwt) = issue(&identity, secret, pb::AccessTokenType::Merchant, &shop.id).await;
    // Used once, so identity's cache holds it; deactivating evicts it.
    identity
        .accounts()
        .get_account(with_key(&jwt, pb::GetAccountRequest { id: shop.id.clone() }))
        .await
        .unwrap();
    let deactivate = pb::UpdateAccountRequest {
        account: Some(pb::Account {
            id: shop.id.clone(),
            processing: Some(pb::Processing {
                status: pb::ProcessingStatus::Inactive as i32,
                ..Default::default()
            }),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["processing.status".into()] }),
    };
    identity.accounts().update_account(with_key(secret, deactivate)).await.unwrap();
    let refused = identity
        .accounts()
        .get_account(with_key(&jwt, pb::GetAccountRequest { id: shop.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), refused.message()),
        (Code::Unauthenticated, "The processing account of this token was deleted or deactivated")
    );

    let matt = identity.accounts().create_account(with_key(secret, create("Matt", "matt@example.com"))).await;
    let matt = matt.unwrap().into_inner().account.unwrap();
    let (_, session) = issue(&identity, secret, pb::AccessTokenType::SessionAccess, &matt.id).await;
    identity
        .accounts()
        .delete_account(with_key(secret, pb::DeleteAccountRequest { id: matt.id.clone() }))
        .await
        .unwrap();
    let gone = redeem(&identity, client, &session).await.unwrap_err();
    assert_eq!(
        violations(&gone),
        [("token".to_owned(), "The customer of this session token was deleted".to_owned())]
    );
    let unused: i64 = identity
        .count("SELECT count(*) FROM identity.access_tokens WHERE type = 'session_access' AND redeemed_at IS NULL")
        .await;
    assert_eq!(unused, 1, "a refused redemption uses nothing up");
}

#[tokio::test]
async fn tokens_are_bound_to_the_right_kind_of_account() {
    let identity = Identity::start().await;
    let secret = test_key(&identity.acme);
    let matt = identity
        .accounts()
        .create_account(with_key(secret, create("Matt", "matt@example.com")))
        .await
        .unwrap();
    let matt = matt.into_inner().account.unwrap();
    let recipient = identity.acme.default_accounts[0].to_string();
    let cases = [
        (
            pb::AccessTokenType::SessionAccess,
            recipient.as_str(),
            "No such customer: session tokens open a customer's pay page",
        ),
        (
            pb::AccessTokenType::Merchant,
            matt.id.as_str(),
            "No such processing account: merchant tokens open a merchant's portal",
        ),
        (
            pb::AccessTokenType::Merchant,
            "01938a00-0000-7000-8000-000000000001",
            "No such processing account: merchant tokens open a merchant's portal",
        ),
    ];
    for (kind, account, why) in cases {
        let request = pb::CreateAccessTokenRequest {
            access_token: Some(pb::AccessToken {
                r#type: kind as i32,
                account_id: account.to_owned(),
                ..Default::default()
            }),
        };
        let status =
            identity.access_tokens().create_access_token(with_key(secret, request)).await.unwrap_err();
        assert_eq!(violations(&status), [("access_token.account_id".to_owned(), why.to_owned())]);
    }
    let empty = pb::CreateAccessTokenRequest { access_token: Some(pb::AccessToken::default()) };
    let status = identity.access_tokens().create_access_token(with_key(secret, empty)).await.unwrap_err();
    let fields: Vec<String> = violations(&status).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["access_token.type", "access_token.account_id"]);
    // Another partner's customer does not exist here.
    let request = pb::CreateAccessTokenRequest {
        access_token: Some(pb::AccessToken {
            r#type: pb::AccessTokenType::SessionAccess as i32,
            account_id: matt.id.clone(),
            ..Default::default()
        }),
    };
    let status = identity
        .access_tokens()
        .create_access_token(with_key(test_key(&identity.globex), request))
        .await
        .unwrap_err();
    assert_eq!(violations(&status)[0].0, "access_token.account_id");
    assert_eq!(identity.count("SELECT count(*) FROM identity.access_tokens").await, 0);
}
