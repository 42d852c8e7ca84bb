//! Bank accounts: US (ABA routing checksum) and Canadian (institution and
//! transit numbers), masked like cards.

use paymesh_proto::methods::v1 as pb;

use super::{Methods, bank, fields, test_key, violations};

#[tokio::test]
async fn us_and_canadian_accounts_are_tokenized_and_masked() {
    let vault = Methods::start().await;
    let key = test_key(&vault.acme);
    let shop = vault.recipient(key, "Corner Shop").await;
    let mut us = bank(&shop.id, "021000021", "1234567890");
    let b = us.bank_account.as_mut().unwrap();
    b.account_type = pb::BankAccountType::Savings as i32;
    b.account_class = pb::AccountClass::Business as i32;
    let us = vault.create(key, us).await.unwrap();
    assert_eq!(us.description, "Savings x-7890");
    let b = us.bank_account.unwrap();
    assert_eq!((b.account_number.as_str(), b.last4.as_str()), ("xxxxxx7890", "7890"));
    assert_eq!((b.routing_number.as_str(), b.country.as_str()), ("021000021", "US"));
    assert_eq!(
        (b.account_type, b.account_class),
        (pb::BankAccountType::Savings as i32, pb::AccountClass::Business as i32)
    );

    let ca = pb::PaymentMethod {
        bank_account: Some(pb::BankAccount {
            account_number: "1234567".to_owned(),
            institution_number: "001".to_owned(),
            transit_number: "12345".to_owned(),
            ..Default::default()
        }),
        ..bank(&shop.id, "", "")
    };
    let ca = vault.create(key, ca).await.unwrap();
    assert_eq!(ca.description, "Checking x-4567", "checking and personal by default");
    let b = ca.bank_account.unwrap();
    assert_eq!(
        (b.institution_number.as_str(), b.transit_number.as_str(), b.country.as_str()),
        ("001", "12345", "CA")
    );
    assert_eq!(b.account_class, pb::AccountClass::Personal as i32);
    assert!(b.routing_number.is_empty());

    let stored: i64 = vault
        .count("SELECT count(*) FROM methods.payment_methods WHERE position('1234567890' in number_sealed::text) > 0")
        .await;
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn bad_bank_accounts_name_every_problem() {
    let vault = Methods::start().await;
    let key = test_key(&vault.acme);
    let shop = vault.recipient(key, "Corner Shop").await;
    let cases = [
        (
            bank(&shop.id, "021000122", "12"),
            vec![
                ("payment_method.bank_account.routing_number", "Not a valid routing number (checksum)"),
                ("payment_method.bank_account.account_number", "An account number must be 4 to 17 digits"),
            ],
        ),
        (
            bank(&shop.id, "", "1234567890"),
            vec![(
                "payment_method.bank_account.routing_number",
                "Required (US), or give institution and transit numbers (Canada)",
            )],
        ),
        (
            pb::PaymentMethod {
                bank_account: Some(pb::BankAccount {
                    account_number: "1234567".to_owned(),
                    routing_number: "021000021".to_owned(),
                    institution_number: "001".to_owned(),
                    transit_number: "1234".to_owned(),
                    ..Default::default()
                }),
                ..bank(&shop.id, "", "")
            },
            vec![
                (
                    "payment_method.bank_account.routing_number",
                    "Give a routing number (US) or institution and transit numbers (Canada), not both",
                ),
                ("payment_method.bank_account.transit_number", "A transit number must be 5 digits"),
            ],
        ),
        (
            pb::PaymentMethod {
                bank_account: Some(pb::BankAccount {
                    account_number: "1234567890".to_owned(),
                    routing_number: "021000021".to_owned(),
                    account_type: 9,
                    ..Default::default()
                }),
                ..bank(&shop.id, "", "")
            },
            vec![("payment_method.bank_account.account_type", "Must be checking or savings")],
        ),
    ];
    for (method, expected) in cases {
        let status = vault.create(key, method).await.unwrap_err();
        let expected: Vec<(String, String)> =
            expected.into_iter().map(|(f, d)| (f.to_owned(), d.to_owned())).collect();
        assert_eq!(violations(&status), expected);
    }
    let with_card =
        pb::PaymentMethod { card: Some(pb::Card::default()), ..bank(&shop.id, "021000021", "1234567890") };
    assert_eq!(fields(&vault.create(key, with_card).await.unwrap_err()), ["payment_method.card"]);
    assert_eq!(vault.count("SELECT count(*) FROM methods.payment_methods").await, 0);
}
