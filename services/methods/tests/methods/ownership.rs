//! Who methods belong to and who may touch them: accounts confirmed by
//! identity, keys by kind, partners and modes apart, one default per
//! account (followed by identity for customers), soft deletion.

use paymesh_proto::methods::v1 as pb;
use tonic::Code;

use super::{Methods, card, key, test_key, violations, with_key};

#[tokio::test]
async fn a_method_belongs_to_an_account_of_the_partner_and_mode() {
    let vault = Methods::start().await;
    let acme = test_key(&vault.acme);
    let theirs = vault.customer(test_key(&vault.globex), "Ann Lee").await;
    let live = vault.customer(key(&vault.acme, "secret_key_"), "Matt Perez").await;
    let biller = "01938a00-0000-7000-8000-000000000001";
    let unknown = uuid_like();
    for (account, why) in [
        (theirs.id.as_str(), "No such account"),
        (live.id.as_str(), "No such account"),
        (unknown.as_str(), "No such account"),
        (biller, "Billers come from the biller directory and take no payment methods"),
    ] {
        let status = vault.create(acme, card(account, "4242424242424242", "12/30")).await.unwrap_err();
        assert_eq!(
            violations(&status),
            [("payment_method.account_id".to_owned(), why.to_owned())],
            "{account}"
        );
    }
    assert_eq!(vault.count("SELECT count(*) FROM methods.payment_methods").await, 0);
}

fn uuid_like() -> String {
    "0193aa00-0000-7000-8000-0000000000ff".to_owned()
}

#[tokio::test]
async fn another_partners_or_modes_methods_do_not_exist() {
    let vault = Methods::start().await;
    let acme = test_key(&vault.acme);
    let matt = vault.customer(acme, "Matt Perez").await;
    let method = vault.create(acme, card(&matt.id, "4242424242424242", "12/30")).await.unwrap();
    for other in [test_key(&vault.globex), key(&vault.acme, "secret_key_")] {
        assert_eq!(vault.get(other, &method.id).await.unwrap_err().code(), Code::NotFound);
        let change =
            pb::PaymentMethod { id: method.id.clone(), account_holder: "Eve".into(), ..Default::default() };
        assert_eq!(
            vault.update(other, change, &["account_holder"]).await.unwrap_err().code(),
            Code::NotFound
        );
        assert_eq!(vault.delete(other, &method.id).await.unwrap_err().code(), Code::NotFound);
        let listed = vault
            .methods()
            .list_payment_methods(with_key(other, pb::ListPaymentMethodsRequest { query: None }))
            .await
            .unwrap()
            .into_inner();
        assert!(listed.payment_methods.is_empty());
    }
    assert_eq!(vault.get(acme, "not-an-id").await.unwrap_err().code(), Code::NotFound);
    assert_eq!(vault.get(acme, &method.id).await.unwrap().account_holder, "Matt Perez", "unchanged");
}

#[tokio::test]
async fn client_keys_tokenize_but_never_read_back() {
    let vault = Methods::start().await;
    let secret = test_key(&vault.acme);
    let client = key(&vault.acme, "test_client_key_");
    let matt = vault.customer(secret, "Matt Perez").await;
    let created = vault.create(client, card(&matt.id, "4242424242424242", "12/30")).await.unwrap();
    assert_eq!(created.description, "Visa x-4242");
    let refusals = [
        vault.get(client, &created.id).await.map(|_| ()).unwrap_err(),
        vault.delete(client, &created.id).await.map(|_| ()).unwrap_err(),
        vault
            .update(
                client,
                pb::PaymentMethod { id: created.id.clone(), ..Default::default() },
                &["account_holder"],
            )
            .await
            .map(|_| ())
            .unwrap_err(),
        vault
            .methods()
            .list_payment_methods(with_key(client, pb::ListPaymentMethodsRequest { query: None }))
            .await
            .map(|_| ())
            .unwrap_err(),
    ];
    for refused in refusals {
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    }
    assert!(vault.get(secret, &created.id).await.is_ok());

    // A key the public holds must not redirect payouts, nor a customer's
    // charges: processing accounts and the default are for secret keys.
    let shop = vault.recipient(secret, "Corner Shop").await;
    let payout = super::bank(&shop.id, "021000021", "1234567890");
    let refused = vault.create(client, payout).await.unwrap_err();
    assert_eq!(
        violations(&refused),
        [(
            "payment_method.account_id".to_owned(),
            "Client keys tokenize customers' payment methods only; use a secret key for a processing account"
                .to_owned()
        )]
    );
    let mut default = card(&matt.id, "5555555555554444", "12/30");
    default.default_payment_method = true;
    let refused = vault.create(client, default).await.unwrap_err();
    assert_eq!(violations(&refused)[0].0, "payment_method.default_payment_method");
    assert_eq!(vault.count("SELECT count(*) FROM methods.payment_methods").await, 1);
    let merchant = vault.create(secret, super::bank(&shop.id, "021000021", "1234567890")).await.unwrap();
    assert_eq!(merchant.description, "Checking x-7890", "a secret key may");
}

#[tokio::test]
async fn one_default_per_account_and_identity_follows_it() {
    let vault = Methods::start().await;
    let key = test_key(&vault.acme);
    let matt = vault.customer(key, "Matt Perez").await;
    let default_of = |account: paymesh_proto::identity::v1::Account| account.default_payment_method_id;

    let mut first = card(&matt.id, "4242424242424242", "12/30");
    first.default_payment_method = true;
    let first = vault.create(key, first).await.unwrap();
    assert!(first.default_payment_method);
    assert_eq!(default_of(vault.account(key, &matt.id).await), Some(first.id.clone()));

    let second = vault.create(key, card(&matt.id, "5555555555554444", "12/30")).await.unwrap();
    assert!(!second.default_payment_method, "only when asked");
    let make_default =
        pb::PaymentMethod { id: second.id.clone(), default_payment_method: true, ..Default::default() };
    let second = vault.update(key, make_default, &["default_payment_method"]).await.unwrap();
    assert!(second.default_payment_method);
    assert!(!vault.get(key, &first.id).await.unwrap().default_payment_method, "the previous one gave way");
    assert_eq!(default_of(vault.account(key, &matt.id).await), Some(second.id.clone()));

    // Deleting the default leaves the customer without one; the row stays.
    let deleted = vault.delete(key, &second.id).await.unwrap();
    assert_eq!(deleted.id, second.id);
    assert!(!deleted.default_payment_method, "answered as it is once deleted");
    assert_eq!(vault.get(key, &second.id).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(default_of(vault.account(key, &matt.id).await), None);
    assert_eq!(
        vault.count("SELECT count(*) FROM methods.payment_methods WHERE deleted_at IS NOT NULL").await,
        1,
        "kept for the history of its payments"
    );
    assert_eq!(vault.delete(key, &second.id).await.unwrap_err().code(), Code::NotFound);

    // A processing account has its default too; identity is not asked.
    let shop = vault.recipient(key, "Corner Shop").await;
    let mut payout = super::bank(&shop.id, "021000021", "1234567890");
    payout.default_payment_method = true;
    assert!(vault.create(key, payout).await.unwrap().default_payment_method);

    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM methods.outbox WHERE resource_id = $1::uuid ORDER BY created_at, id",
    )
    .bind(&first.id)
    .fetch_all(&vault.pool)
    .await
    .unwrap();
    assert_eq!(events, ["payment_method.created", "payment_method.updated"]);
    assert_eq!(vault.count("SELECT count(*) FROM methods.default_syncs").await, 0, "every sync delivered");
}

#[tokio::test]
async fn identity_catches_up_with_a_default_it_missed() {
    let vault = Methods::start().await;
    let key = test_key(&vault.acme);
    let matt = vault.customer(key, "Matt Perez").await;
    let mut method = card(&matt.id, "4242424242424242", "12/30");
    method.default_payment_method = true;
    let method = vault.create(key, method).await.unwrap();
    // As if identity had been down when the methods service told it: stale there,
    // and the customer still queued here.
    sqlx::query("UPDATE identity.accounts SET default_payment_method_id = NULL WHERE id = $1::uuid")
        .bind(&matt.id)
        .execute(&vault.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO methods.default_syncs (account_id, partner_id, livemode, queued_at) \
         VALUES ($1::uuid, $2, false, now())",
    )
    .bind(&matt.id)
    .bind(vault.acme.id)
    .execute(&vault.pool)
    .await
    .unwrap();
    assert_eq!(vault.account(key, &matt.id).await.default_payment_method_id, None);
    let config = paymesh_methods::Config {
        fingerprint_key: Some(paymesh_kit::config::Secret::new(vec![1; 32])),
        ..paymesh_methods::Config::default()
    };
    let delivered = paymesh_methods::admin::sync_defaults(&vault.common, &config).await.unwrap();
    assert_eq!(delivered, 1);
    assert_eq!(vault.account(key, &matt.id).await.default_payment_method_id, Some(method.id));
    assert_eq!(vault.count("SELECT count(*) FROM methods.default_syncs").await, 0);
}

#[tokio::test]
async fn updates_change_only_what_they_name() {
    let vault = Methods::start().await;
    let key = test_key(&vault.acme);
    let matt = vault.customer(key, "Matt Perez").await;
    let method = vault.create(key, card(&matt.id, "4242424242424242", "12/30")).await.unwrap();
    let change = pb::PaymentMethod {
        id: method.id.clone(),
        account_holder: "Matthew Perez".to_owned(),
        billing_address: Some(paymesh_proto::common::v1::Address {
            city: "New York".to_owned(),
            postal_code: "99999999".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let status = vault
        .update(key, change.clone(), &["account_holder", "billing_address.postal_code"])
        .await
        .unwrap_err();
    assert_eq!(violations(&status)[0].0, "payment_method.billing_address.postal_code");
    let updated = vault.update(key, change, &["account_holder", "billing_address.city"]).await.unwrap();
    assert_eq!(updated.account_holder, "Matthew Perez");
    let address = updated.billing_address.unwrap();
    assert_eq!((address.city.as_str(), address.postal_code.as_str()), ("New York", "10001"));
    assert_eq!(updated.card, method.card, "the card is untouched");

    let refused = vault
        .update(
            key,
            pb::PaymentMethod { id: method.id.clone(), ..Default::default() },
            &["card.card_number", "nonsense"],
        )
        .await
        .unwrap_err();
    assert_eq!(
        violations(&refused),
        [
            (
                "payment_method.card.card_number".to_owned(),
                "Cannot change: tokenize the new card or bank account instead".to_owned()
            ),
            (
                "update_mask".to_owned(),
                "Unknown attribute \"nonsense\"; updatable: account_holder, billing_address, \
                 billing_address.<part>, phone_number, default_payment_method, card.expiry, attrs"
                    .to_owned()
            ),
        ]
    );
    let bank = vault.create(key, super::bank(&matt.id, "021000021", "1234567890")).await.unwrap();
    let expiry = pb::PaymentMethod {
        id: bank.id.clone(),
        card: Some(pb::Card { expiry: "12/30".into(), ..Default::default() }),
        ..Default::default()
    };
    assert_eq!(
        violations(&vault.update(key, expiry, &["card.expiry"]).await.unwrap_err()),
        [("payment_method.card.expiry".to_owned(), "Bank accounts have no expiry".to_owned())]
    );
    let cleared = pb::PaymentMethod { id: method.id.clone(), ..Default::default() };
    let status = vault.update(key, cleared, &["billing_address"]).await.unwrap_err();
    assert_eq!(
        violations(&status),
        [(
            "payment_method.billing_address.postal_code".to_owned(),
            "Required for a card on an account".to_owned()
        )]
    );
}
