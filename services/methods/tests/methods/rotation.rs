//! Key rotation: every number's data key moves to the new key-encryption
//! key while the methods service keeps answering, and old ciphertexts open under
//! either key until then.

use base64::Engine as _;
use paymesh_kit::{
    config::CommonConfig,
    crypto::{Keyring, parse_keys},
    rewrap::{self, SealedColumn},
};

use super::{Methods, card, test_key};

fn random_key() -> String {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).unwrap();
    base64::engine::general_purpose::STANDARD.encode(key)
}

fn keyring(keys: &str, active: &str) -> Keyring {
    Keyring::new(parse_keys(keys).unwrap(), active.parse().unwrap()).unwrap()
}

async fn sealed(vault: &Methods, id: &str) -> Vec<u8> {
    sqlx::query_scalar("SELECT number_sealed FROM methods.payment_methods WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(&vault.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn rotation_rewraps_every_number_and_they_still_open() {
    let (old, new) = (random_key(), random_key());
    let vault =
        Methods::start_with(&[("PAYMESH_KEKS", &format!("old:{old}"))], paymesh_kit::clock::Clock::system())
            .await;
    let key = test_key(&vault.acme);
    let matt = vault.customer(key, "Matt Perez").await;
    let mut ids = Vec::new();
    for number in ["4242424242424242", "5555555555554444", "6011910275045718"] {
        ids.push(vault.create(key, card(&matt.id, number, "12/30")).await.unwrap().id);
    }
    let before = sealed(&vault, &ids[0]).await;
    assert_eq!(Keyring::key_id_of(&before).unwrap(), "old");

    // Both keys configured, the new one active: the operator's command.
    let both = keyring(&format!("new:{new},old:{old}"), "new");
    let common = CommonConfig { keyring: both.clone(), ..vault.common.clone() };
    let reports = paymesh_methods::admin::rotate_kek(&common).await.unwrap();
    let (column, report) = &reports[0];
    assert_eq!(column, "methods.payment_methods.number_sealed");
    assert_eq!((report.rewrapped, report.current, report.raced), (3, 0, 0));
    assert!(report.remaining.is_empty(), "{:?}", report.remaining);

    // Once every value moved, the old key can go.
    let only_new = keyring(&format!("new:{new}"), "new");
    let after = sealed(&vault, &ids[0]).await;
    assert_eq!(Keyring::key_id_of(&after).unwrap(), "new");
    let context = format!("methods.payment_methods.number:{}", ids[0]);
    assert_eq!(only_new.open_text(&after, &context).unwrap().as_str(), "4242424242424242");
    assert!(keyring(&format!("old:{old}"), "old").open_text(&after, &context).is_err());
    // A second pass has nothing left to do.
    let again = rewrap::rewrap_column(
        &vault.pool,
        &both,
        SealedColumn { batch: 1, ..paymesh_methods::SEALED_COLUMNS[0] },
    )
    .await
    .unwrap();
    assert_eq!((again.rewrapped, again.current), (0, 3), "a row at a time");
    let counts = rewrap::key_ids(&vault.pool, paymesh_methods::SEALED_COLUMNS[0]).await.unwrap();
    assert_eq!(counts.into_iter().collect::<Vec<_>>(), [("new".to_owned(), 3)]);

    // The running vault (still configured with the old key only) keeps
    // serving what it reads without opening it.
    let method = vault.get(key, &ids[1]).await.unwrap();
    assert_eq!(method.card.unwrap().last4, "4444");
}

#[tokio::test]
async fn values_already_under_the_active_key_are_left_as_they_are() {
    let (old, new) = (random_key(), random_key());
    let vault =
        Methods::start_with(&[("PAYMESH_KEKS", &format!("old:{old}"))], paymesh_kit::clock::Clock::system())
            .await;
    let key = test_key(&vault.acme);
    let matt = vault.customer(key, "Matt Perez").await;
    let id = vault.create(key, card(&matt.id, "4242424242424242", "12/30")).await.unwrap().id;
    let both = keyring(&format!("new:{new},old:{old}"), "new");
    // What a writer sealing anew under the active key (a process already
    // restarted with it) leaves behind.
    let fresh = both.seal(b"4242424242424242", &format!("methods.payment_methods.number:{id}")).unwrap();
    sqlx::query("UPDATE methods.payment_methods SET number_sealed = $2 WHERE id = $1::uuid")
        .bind(&id)
        .bind(&fresh)
        .execute(&vault.pool)
        .await
        .unwrap();
    let report = rewrap::rewrap_column(&vault.pool, &both, paymesh_methods::SEALED_COLUMNS[0]).await.unwrap();
    assert_eq!((report.rewrapped, report.current), (0, 1));
    assert_eq!(sealed(&vault, &id).await, fresh);
}
