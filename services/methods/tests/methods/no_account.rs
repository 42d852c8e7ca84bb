//! Methods on no account: tokens made without an `account_id` (Payload's
//! tokenization, Secure Input), and single-use cards that a payment
//! charges and does not keep. What a reusable method needs (a card's
//! expiry and postal code) they may leave out; what they are given is
//! checked as ever; they are never a default; a deleted method's number is
//! erased.

use chrono::{TimeDelta, TimeZone as _, Utc};
use paymesh_kit::clock::Clock;
use paymesh_proto::methods::v1 as pb;
use tonic::Code;

use super::{Methods, card, key, test_key, violations, with_key};

/// A card with only a number, as the Payload reference's first payment
/// gives it.
fn bare_card(number: &str) -> pb::PaymentMethod {
    pb::PaymentMethod {
        r#type: pb::PaymentMethodType::Card as i32,
        card: Some(pb::Card { card_number: number.to_owned(), ..Default::default() }),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_card_on_no_account_needs_no_expiry_nor_postal_code_and_is_no_default() {
    let vault = Methods::start().await;
    let secret = test_key(&vault.acme);
    let token = vault.create(secret, bare_card("4242 4242 4242 4242")).await.unwrap();
    assert_eq!(token.account_id, None);
    assert_eq!(token.description, "Visa x-4242");
    assert_eq!(token.card.as_ref().unwrap().expiry, "");
    assert!(!token.default_payment_method);
    // Secure Input's browser key tokenizes on no account too.
    let client = key(&vault.acme, "test_client_key_");
    let mut from_browser = bare_card("5103 2088 7967 2792");
    from_browser.card.as_mut().unwrap().expiry = "12/40".to_owned();
    let from_browser = vault.create(client, from_browser).await.unwrap();
    assert_eq!(from_browser.card.unwrap().expiry, "12/2040");

    // What is given is still checked, and a default needs an account.
    let mut bad = bare_card("4242 4242 4242 4241");
    bad.card.as_mut().unwrap().expiry = "01/20".to_owned();
    bad.default_payment_method = true;
    let before = vault.count("SELECT count(*) FROM methods.payment_methods").await;
    assert_eq!(
        violations(&vault.create(secret, bad).await.unwrap_err()),
        [
            (
                "payment_method.default_payment_method".to_owned(),
                "A method on no account cannot be a default; name its account_id".to_owned()
            ),
            (
                "payment_method.card.card_number".to_owned(),
                "Not a valid card number (check digit)".to_owned()
            ),
            ("payment_method.card.expiry".to_owned(), "The card has expired".to_owned()),
        ]
    );
    let made_default =
        pb::PaymentMethod { id: token.id.clone(), default_payment_method: true, ..Default::default() };
    assert_eq!(
        violations(&vault.update(secret, made_default, &["default_payment_method"]).await.unwrap_err()),
        [(
            "payment_method.default_payment_method".to_owned(),
            "A method on no account cannot be a default".to_owned()
        )]
    );
    assert_eq!(vault.count("SELECT count(*) FROM methods.payment_methods").await, before);

    // Partners cannot ask for a single-use method: only services can.
    let request = pb::CreatePaymentMethodRequest {
        payment_method: Some(bare_card("4242424242424242")),
        single_use: true,
    };
    let refused = vault.methods().create_payment_method(with_key(secret, request)).await.unwrap_err();
    assert_eq!(
        violations(&refused),
        [("single_use".to_owned(), "Set by paymesh's services only".to_owned())]
    );

    // Another partner and the other mode do not see the token.
    for other in [test_key(&vault.globex), key(&vault.acme, "secret_key_")] {
        assert_eq!(vault.get(other, &token.id).await.unwrap_err().code(), Code::NotFound);
    }
}

#[tokio::test]
async fn single_use_methods_are_erased_once_deleted_or_after_an_hour() {
    let clock = Clock::manual(Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap());
    let vault = Methods::start_with(&[], clock.clone()).await;
    let secret = test_key(&vault.acme);
    let scope = Methods::scope(&vault.acme, false);
    let payments = vault.common.service_keys.token("payments");
    let single_use = |number: &str| pb::CreatePaymentMethodRequest {
        payment_method: Some(bare_card(number)),
        single_use: true,
    };
    let mut on_account = single_use("4242424242424242");
    let matt = vault.customer(secret, "Matt Perez").await;
    on_account.payment_method.as_mut().unwrap().account_id = Some(matt.id.clone());
    let refused =
        vault.methods().create_payment_method(payments.request(scope, on_account)).await.unwrap_err();
    assert_eq!(
        violations(&refused),
        [("payment_method.account_id".to_owned(), "A single-use method belongs to no account".to_owned())]
    );

    let used = vault
        .methods()
        .create_payment_method(payments.request(scope, single_use("4242424242424242")))
        .await
        .unwrap()
        .into_inner()
        .payment_method
        .unwrap();
    let forgotten = vault
        .methods()
        .create_payment_method(payments.request(scope, single_use("5103208879672792")))
        .await
        .unwrap()
        .into_inner()
        .payment_method
        .unwrap();
    let kept = vault.create(secret, card(&matt.id, "4242424242424242", "12/40")).await.unwrap();
    let released = vault
        .vault()
        .detokenize(payments.request(
            scope,
            pb::DetokenizeRequest { id: used.id.clone(), purpose: "authorize payment".to_owned() },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        released.card.map(|c| (c.number, c.expiry_month, c.expiry_year)),
        Some(("4242424242424242".to_owned(), 0, 0)),
        "no expiry is released as zeros"
    );
    // The payment deletes its method once finished: the number is erased.
    vault
        .methods()
        .delete_payment_method(
            payments.request(scope, pb::DeletePaymentMethodRequest { id: used.id.clone() }),
        )
        .await
        .unwrap();
    let erased = |id: &str| {
        format!(
            "SELECT count(*) FROM methods.payment_methods WHERE id = '{id}' AND number_sealed IS NULL AND deleted_at IS NOT NULL"
        )
    };
    assert_eq!(vault.count(&erased(&used.id)).await, 1);
    let again = vault
        .vault()
        .detokenize(payments.request(
            scope,
            pb::DetokenizeRequest { id: used.id.clone(), purpose: "authorize payment".to_owned() },
        ))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);

    // One its payment never deleted is erased by the sweep after an hour,
    // and only then; methods on accounts are never touched.
    assert_eq!(vault.count(&erased(&forgotten.id)).await, 0);
    clock.advance(TimeDelta::minutes(61));
    for _ in 0..200 {
        if vault.count(&erased(&forgotten.id)).await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(vault.count(&erased(&forgotten.id)).await, 1, "the sweep erased the forgotten method");
    assert_eq!(vault.get(secret, &kept.id).await.unwrap().id, kept.id);
}

#[tokio::test]
async fn test_mode_takes_the_references_test_routing_number_and_live_mode_does_not() {
    let vault = Methods::start().await;
    let bank = |routing: &str| pb::PaymentMethod {
        r#type: pb::PaymentMethodType::BankAccount as i32,
        bank_account: Some(pb::BankAccount {
            account_number: "1234567890".to_owned(),
            routing_number: routing.to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let made = vault.create(test_key(&vault.acme), bank("021000121")).await.unwrap();
    assert_eq!(made.bank_account.unwrap().routing_number, "021000121");
    let live = vault.create(key(&vault.acme, "secret_key_"), bank("021000121")).await.unwrap_err();
    assert_eq!(
        violations(&live),
        [(
            "payment_method.bank_account.routing_number".to_owned(),
            "Not a valid routing number (checksum)".to_owned()
        )]
    );
}
