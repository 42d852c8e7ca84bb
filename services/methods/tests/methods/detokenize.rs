//! Detokenize: the payments service alone gets numbers back, for the
//! partner and mode it acts for; every call is audited, and the audit
//! cannot be rewritten.

use paymesh_proto::methods::v1 as pb;
use tonic::Code;

use super::{Methods, bank, card, key, test_key, with_key};

fn ask(id: &str, purpose: &str) -> pb::DetokenizeRequest {
    pb::DetokenizeRequest { id: id.to_owned(), purpose: purpose.to_owned() }
}

/// The audit's `(outcome, reason, caller_kind, caller)` rows, oldest first.
async fn audit(vault: &Methods) -> Vec<(String, Option<String>, String, String)> {
    sqlx::query_as(
        "SELECT outcome, reason, caller_kind, caller FROM methods.detokenizations ORDER BY created_at, id",
    )
    .fetch_all(&vault.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn only_the_payments_service_gets_numbers_and_every_call_is_audited() {
    let vault = Methods::start().await;
    let secret = test_key(&vault.acme);
    let matt = vault.customer(secret, "Matt Perez").await;
    let method = vault.create(secret, card(&matt.id, "4242 4242 4242 4242", "07/2031")).await.unwrap();
    let scope = Methods::scope(&vault.acme, false);
    let payments = vault.common.service_keys.token("payments");

    // A partner's own key, even a secret one, is refused.
    let refused = vault.vault().detokenize(with_key(secret, ask(&method.id, "charge"))).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(refused.message(), "Only the paymesh payments service may make this call");
    // So is another service.
    let other = vault.common.service_keys.token("billing");
    let refused =
        vault.vault().detokenize(other.request(scope, ask(&method.id, "charge"))).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    let released = vault
        .vault()
        .detokenize(payments.request(scope, ask(&method.id, "authorize payment 0193")))
        .await
        .unwrap()
        .into_inner();
    let secret_card = released.card.unwrap();
    assert_eq!(
        (secret_card.number.as_str(), secret_card.expiry_month, secret_card.expiry_year),
        ("4242424242424242", 7, 2031)
    );
    assert_eq!(released.payment_method.unwrap().description, "Visa x-4242");
    assert!(released.bank_account.is_none());

    // Acting for another partner or mode, the method does not exist.
    for elsewhere in [Methods::scope(&vault.globex, false), Methods::scope(&vault.acme, true)] {
        let status = vault.vault().detokenize(payments.request(elsewhere, ask(&method.id, "charge"))).await;
        assert_eq!(status.unwrap_err().code(), Code::NotFound);
    }
    let no_purpose =
        vault.vault().detokenize(payments.request(scope, ask(&method.id, " "))).await.unwrap_err();
    assert_eq!(no_purpose.code(), Code::InvalidArgument);

    let rows = audit(&vault).await;
    let outcomes: Vec<(&str, Option<&str>, &str)> =
        rows.iter().map(|(o, r, k, _)| (o.as_str(), r.as_deref(), k.as_str())).collect();
    assert_eq!(
        outcomes,
        [
            ("refused", Some("caller is not the payments service"), "secret"),
            ("refused", Some("caller is not the payments service"), "service"),
            ("released", None, "service"),
            ("refused", Some("no such payment method"), "service"),
            ("refused", Some("no such payment method"), "service"),
            ("refused", Some("no valid purpose"), "service"),
        ]
    );
    assert_eq!(rows[1].3, "billing");
    assert_eq!(rows[2].3, "payments");
    let purpose: String = sqlx::query_scalar(
        "SELECT purpose FROM methods.detokenizations WHERE outcome = 'released' AND payment_method_id = $1::uuid",
    )
    .bind(&method.id)
    .fetch_one(&vault.pool)
    .await
    .unwrap();
    assert_eq!(purpose, "authorize payment 0193");

    // The audit is append-only.
    let rewrite =
        sqlx::query("UPDATE methods.detokenizations SET outcome = 'released'").execute(&vault.pool).await;
    assert!(rewrite.unwrap_err().to_string().contains("append-only"));
    let erase = sqlx::query("DELETE FROM methods.detokenizations").execute(&vault.pool).await;
    assert!(erase.unwrap_err().to_string().contains("append-only"));
}

#[tokio::test]
async fn bank_accounts_release_their_routing_and_deleted_methods_nothing() {
    let vault = Methods::start().await;
    let secret = key(&vault.acme, "secret_key_");
    let shop = vault.recipient(secret, "Corner Shop").await;
    let method = vault.create(secret, bank(&shop.id, "021000021", "1234567890")).await.unwrap();
    assert!(method.livemode);
    let scope = Methods::scope(&vault.acme, true);
    let payments = vault.common.service_keys.token("payments");
    let released =
        vault.vault().detokenize(payments.request(scope, ask(&method.id, "payout"))).await.unwrap();
    let account = released.into_inner().bank_account.unwrap();
    assert_eq!(
        (account.account_number.as_str(), account.routing_number.as_str()),
        ("1234567890", "021000021")
    );

    vault.delete(secret, &method.id).await.unwrap();
    let gone =
        vault.vault().detokenize(payments.request(scope, ask(&method.id, "payout"))).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    assert_eq!(vault.count("SELECT count(*) FROM methods.detokenizations").await, 2);
}

#[tokio::test]
async fn whatever_a_caller_sends_is_audited() {
    let vault = Methods::start().await;
    let scope = Methods::scope(&vault.acme, false);
    let payments = vault.common.service_keys.token("payments");
    let secret = test_key(&vault.acme);
    // A NUL byte, which PostgreSQL refuses in text, and an oversized id.
    let nul = vault.vault().detokenize(with_key(secret, ask("x\0y", "a\0b"))).await.unwrap_err();
    assert_eq!(nul.code(), Code::PermissionDenied);
    let long = "x".repeat(10_000);
    let unknown = vault.vault().detokenize(payments.request(scope, ask(&long, "charge"))).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT requested_id, purpose, outcome FROM methods.detokenizations ORDER BY created_at, id",
    )
    .fetch_all(&vault.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].0.as_str(), rows[0].1.as_str()), ("x\u{fffd}y", "a\u{fffd}b"));
    assert_eq!(rows[1].0.chars().count(), 200, "kept, cut short");
    assert_eq!(rows[1].2, "refused");
}
