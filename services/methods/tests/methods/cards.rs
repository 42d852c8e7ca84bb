//! Cards: tokenized, masked everywhere, typed by the BIN table, checked
//! field by field; the security code checked and dropped; expiry edges.

use chrono::{TimeZone as _, Utc};
use paymesh_kit::clock::Clock;
use paymesh_proto::methods::v1 as pb;

use super::{Methods, card, fields, test_key, violations};

#[tokio::test]
async fn a_card_is_tokenized_and_shown_only_masked() {
    let vault = Methods::start().await;
    let key = test_key(&vault.acme);
    let matt = vault.customer(key, "Matt Perez").await;
    let mut method = card(&matt.id, "4242 4242 4242 4242", "12/30");
    method.card.as_mut().unwrap().card_code = "123".to_owned();
    let created = vault.create(key, method).await.unwrap();
    assert_eq!(created.description, "Visa x-4242");
    assert_eq!(created.account_id, Some(matt.id.clone()));
    assert!(!created.livemode);
    let c = created.card.clone().unwrap();
    assert_eq!(c.card_number, "xxxxxxxxxxxx4242");
    assert_eq!(c.expiry, "12/2030");
    assert_eq!(c.card_code, "", "the security code never comes back");
    assert_eq!((c.card_brand, c.card_type), (pb::CardBrand::Visa as i32, pb::CardType::Credit as i32));
    assert_eq!((c.last4.as_str(), c.bin.as_str()), ("4242", "424242"));
    assert_eq!(created.fingerprint.len(), 64);
    assert_eq!(vault.get(key, &created.id).await.unwrap(), created, "read back as created");

    // Only ciphertext is stored: no number, no code.
    let row: (Vec<u8>, String, Option<String>) =
        sqlx::query_as("SELECT number_sealed, last4, bin FROM methods.payment_methods WHERE id = $1::uuid")
            .bind(&created.id)
            .fetch_one(&vault.pool)
            .await
            .unwrap();
    assert!(!String::from_utf8_lossy(&row.0).contains("4242424242424242"));
    assert_eq!((row.1.as_str(), row.2.as_deref()), ("4242", Some("424242")));
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = 'methods' AND table_name = 'payment_methods'",
    )
    .fetch_all(&vault.pool)
    .await
    .unwrap();
    let code_like = |c: &str| ["card_code", "security", "cvv", "cvc"].iter().any(|word| c.contains(word));
    assert!(!columns.iter().any(|c| code_like(c)), "{columns:?}");
    let events: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT data FROM methods.outbox WHERE resource_id = $1::uuid")
            .bind(&created.id)
            .fetch_all(&vault.pool)
            .await
            .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["description"], "Visa x-4242");
    assert!(!events[0].to_string().contains("4242424242424242"));
}

#[tokio::test]
async fn brands_come_from_the_number_and_types_from_the_bin_table() {
    let vault = Methods::start().await;
    let key = test_key(&vault.acme);
    let matt = vault.customer(key, "Matt Perez").await;
    let cases = [
        // The seeds' test cards.
        ("5103 2088 7967 2792", "Mastercard x-2792", pb::CardBrand::Mastercard, pb::CardType::Credit),
        (
            "3672 005140 64164",
            "American Express x-4164",
            pb::CardBrand::AmericanExpress,
            pb::CardType::Credit,
        ),
        ("6011 9102 7504 5718", "Discover x-5718", pb::CardBrand::Discover, pb::CardType::Credit),
        ("4444 3333 2222 1111", "Visa x-1111", pb::CardBrand::Visa, pb::CardType::Credit),
        ("5555 5555 5555 4444", "Mastercard x-4444", pb::CardBrand::Mastercard, pb::CardType::Credit),
        // Debit and prepaid BINs.
        ("4000 0566 5566 5556", "Visa x-5556", pb::CardBrand::Visa, pb::CardType::Debit),
        ("5200 8282 8282 8210", "Mastercard x-8210", pb::CardBrand::Mastercard, pb::CardType::Debit),
        ("5105 1051 0510 5100", "Mastercard x-5100", pb::CardBrand::Mastercard, pb::CardType::Prepaid),
        // A BIN the table does not know: credit.
        ("4012 8888 8888 1881", "Visa x-1881", pb::CardBrand::Visa, pb::CardType::Credit),
        (
            "3782 822463 10005",
            "American Express x-0005",
            pb::CardBrand::AmericanExpress,
            pb::CardType::Credit,
        ),
    ];
    for (number, description, brand, card_type) in cases {
        let created = vault.create(key, card(&matt.id, number, "01/2031")).await.unwrap();
        let c = created.card.unwrap();
        assert_eq!(created.description, description, "{number}");
        assert_eq!((c.card_brand, c.card_type), (brand as i32, card_type as i32), "{number}");
    }
}

#[tokio::test]
async fn bad_cards_name_every_problem_and_store_nothing() {
    let vault = Methods::start().await;
    let key = test_key(&vault.acme);
    let matt = vault.customer(key, "Matt Perez").await;
    let mut bad = card(&matt.id, "4242 4242 4242 4241", "13/30");
    bad.card.as_mut().unwrap().card_code = "12".to_owned();
    bad.billing_address = None;
    bad.phone_number = Some("nope".to_owned());
    let status = vault.create(key, bad).await.unwrap_err();
    assert_eq!(
        violations(&status),
        [
            (
                "payment_method.phone_number".to_owned(),
                "Must be a phone number of 10 to 15 digits, e.g. (123) 456-7890".to_owned(),
            ),
            (
                "payment_method.card.card_number".to_owned(),
                "Not a valid card number (check digit)".to_owned()
            ),
            ("payment_method.card.expiry".to_owned(), "The month must be 01 to 12".to_owned()),
            ("payment_method.card.card_code".to_owned(), "Security codes have 3 or 4 digits".to_owned()),
            (
                "payment_method.billing_address.postal_code".to_owned(),
                "Required for a card on an account".to_owned()
            ),
        ]
    );
    // With a good number, the code is checked against its brand.
    let mut amex = card(&matt.id, "3782 822463 10005", "12/30");
    amex.card.as_mut().unwrap().card_code = "123".to_owned();
    amex.billing_address = None;
    assert_eq!(
        violations(&vault.create(key, amex).await.unwrap_err()),
        [
            (
                "payment_method.card.card_code".to_owned(),
                "American Express security codes have 4 digits".to_owned()
            ),
            (
                "payment_method.billing_address.postal_code".to_owned(),
                "Required for a card on an account".to_owned()
            ),
        ]
    );
    let shapes = [
        (
            pb::PaymentMethod { account_id: Some(matt.id.clone()), ..Default::default() },
            vec!["payment_method.type"],
        ),
        (
            pb::PaymentMethod {
                r#type: pb::PaymentMethodType::Card as i32,
                account_id: Some(matt.id.clone()),
                ..Default::default()
            },
            vec!["payment_method.card", "payment_method.billing_address.postal_code"],
        ),
        // On no account, a card still needs its card.
        (
            pb::PaymentMethod { r#type: pb::PaymentMethodType::Card as i32, ..Default::default() },
            vec!["payment_method.card"],
        ),
        (
            pb::PaymentMethod {
                bank_account: Some(pb::BankAccount::default()),
                ..card(&matt.id, "4242424242424242", "12/30")
            },
            vec!["payment_method.bank_account"],
        ),
        (
            card("not-an-id", "", ""),
            vec![
                "payment_method.account_id",
                "payment_method.card.card_number",
                "payment_method.card.expiry",
            ],
        ),
        (card(&matt.id, "4242 4242 4242 424", "12/30"), vec!["payment_method.card.card_number"]),
        (card(&matt.id, "9999 9999 9999 9995", "12/30"), vec!["payment_method.card.card_number"]),
        // A bad number hides neither the code's nor the postal code's problems.
        (
            pb::PaymentMethod {
                billing_address: None,
                card: Some(pb::Card {
                    card_number: "4242".into(),
                    expiry: "12/30".into(),
                    card_code: "12345".into(),
                    ..Default::default()
                }),
                ..card(&matt.id, "", "")
            },
            vec![
                "payment_method.card.card_number",
                "payment_method.card.card_code",
                "payment_method.billing_address.postal_code",
            ],
        ),
    ];
    for (method, expected) in shapes {
        assert_eq!(fields(&vault.create(key, method).await.unwrap_err()), expected);
    }
    assert_eq!(vault.count("SELECT count(*) FROM methods.payment_methods").await, 0);
    assert_eq!(vault.count("SELECT count(*) FROM methods.outbox").await, 0);
}

#[tokio::test]
async fn a_card_is_good_through_its_expiry_month() {
    let clock = Clock::manual(Utc.with_ymd_and_hms(2026, 11, 30, 23, 0, 0).unwrap());
    let vault = Methods::start_with(&[], clock.clone()).await;
    let key = test_key(&vault.acme);
    let matt = vault.customer(key, "Matt Perez").await;
    let this_month = vault.create(key, card(&matt.id, "4242424242424242", "11/26")).await.unwrap();
    assert_eq!(this_month.card.unwrap().expiry, "11/2026");
    let last_month = vault.create(key, card(&matt.id, "4242424242424242", "10/2026")).await.unwrap_err();
    assert_eq!(
        violations(&last_month),
        [("payment_method.card.expiry".to_owned(), "The card has expired".to_owned())]
    );
    // Once it has expired, it can still be edited (its expiry sent back
    // as it is), but not renewed to a past expiry.
    clock.advance(chrono::TimeDelta::days(2));
    let renamed = pb::PaymentMethod {
        id: this_month.id.clone(),
        account_holder: "Matthew Perez".to_owned(),
        card: Some(pb::Card { expiry: "11/2026".to_owned(), ..Default::default() }),
        ..Default::default()
    };
    let renamed = vault.update(key, renamed, &["account_holder", "card.expiry"]).await.unwrap();
    assert_eq!(renamed.account_holder, "Matthew Perez");
    let renewed = pb::PaymentMethod {
        id: this_month.id.clone(),
        card: Some(pb::Card { expiry: "11/26".to_owned(), ..Default::default() }),
        ..Default::default()
    };
    let renewed = pb::PaymentMethod {
        card: Some(pb::Card { expiry: "10/26".to_owned(), ..Default::default() }),
        ..renewed
    };
    let status = vault.update(key, renewed.clone(), &["card.expiry"]).await.unwrap_err();
    assert_eq!(violations(&status)[0].1, "The card has expired");
    let renewed = pb::PaymentMethod {
        card: Some(pb::Card { expiry: "11/2029".to_owned(), ..Default::default() }),
        ..renewed
    };
    let updated = vault.update(key, renewed, &["card.expiry"]).await.unwrap();
    assert_eq!(updated.card.unwrap().expiry, "11/2029");
}

#[tokio::test]
async fn the_decline_test_numbers_are_accepted_in_test_mode_only() {
    let vault = Methods::start().await;
    let key = test_key(&vault.acme);
    let matt = vault.customer(key, "Matt Perez").await;
    let declined = vault.create(key, card(&matt.id, "4111 1111 1111 9903", "12/30")).await.unwrap();
    assert_eq!(declined.description, "Visa x-9903");
    let live = super::key(&vault.acme, "secret_key_");
    let live_matt = vault.customer(live, "Matt Perez").await;
    let status = vault.create(live, card(&live_matt.id, "4111 1111 1111 9903", "12/30")).await.unwrap_err();
    assert_eq!(
        violations(&status)[0],
        ("payment_method.card.card_number".to_owned(), "Not a valid card number (check digit)".to_owned())
    );
}

#[tokio::test]
async fn the_same_card_has_one_fingerprint_per_partner() {
    let vault = Methods::start().await;
    let (acme, globex) = (test_key(&vault.acme), test_key(&vault.globex));
    let matt = vault.customer(acme, "Matt Perez").await;
    let ann = vault.customer(acme, "Ann Lee").await;
    let other = vault.customer(globex, "Matt Perez").await;
    let first = vault.create(acme, card(&matt.id, "4242 4242 4242 4242", "12/30")).await.unwrap();
    let again = vault.create(acme, card(&ann.id, "4242-4242-4242-4242", "01/31")).await.unwrap();
    let another = vault.create(acme, card(&matt.id, "5555 5555 5555 4444", "12/30")).await.unwrap();
    let elsewhere = vault.create(globex, card(&other.id, "4242424242424242", "12/30")).await.unwrap();
    assert_eq!(first.fingerprint, again.fingerprint, "the same card under one partner");
    assert_ne!(first.fingerprint, another.fingerprint);
    assert_ne!(first.fingerprint, elsewhere.fingerprint, "unrelated across partners");

    let query = paymesh_proto::common::v1::ListQuery {
        filters: vec![paymesh_proto::common::v1::Filter {
            field: Some(paymesh_proto::common::v1::FieldRef {
                path: vec!["fingerprint".into()],
                function: 0,
            }),
            any_of: vec![paymesh_proto::common::v1::Condition {
                operator: paymesh_proto::common::v1::Operator::Equal as i32,
                value: first.fingerprint.clone(),
            }],
        }],
        ..Default::default()
    };
    let listed = vault
        .methods()
        .list_payment_methods(super::with_key(acme, pb::ListPaymentMethodsRequest { query: Some(query) }))
        .await
        .unwrap()
        .into_inner()
        .payment_methods;
    let mut ids: Vec<String> = listed.into_iter().map(|m| m.id).collect();
    ids.sort();
    let mut expected = vec![first.id, again.id];
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn live_mode_needs_a_fingerprint_key() {
    let vault = Methods::start_with(&[(paymesh_methods::ENV_FINGERPRINT_KEY, "")], Clock::system()).await;
    let live = super::key(&vault.acme, "secret_key_");
    let matt = vault.customer(live, "Matt Perez").await;
    let refused = vault.create(live, card(&matt.id, "4242424242424242", "12/30")).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable);
    assert_eq!(
        refused.message(),
        "Live mode is not available: this deployment has no fingerprint key (PAYMESH_FINGERPRINT_KEY)"
    );
    let test = test_key(&vault.acme);
    let ann = vault.customer(test, "Ann Lee").await;
    assert!(vault.create(test, card(&ann.id, "4242424242424242", "12/30")).await.is_ok(), "test mode works");
    assert_eq!(vault.count("SELECT count(*) FROM methods.payment_methods WHERE livemode").await, 0);
}
