//! Batches and changes by query over gRPC: all or none, every item's
//! problems under its index, one default per account however the request
//! is written, identity told the default once the batch commits, and
//! nothing of another partner's or mode's ever matched.

use paymesh_proto::{
    common::v1::{Condition, FieldRef, Filter, Operator},
    methods::v1 as pb,
};
use prost_types::FieldMask;

use super::{Methods, card, key, test_key, violations, with_key};

/// A far expiry, so these tests do not age.
const EXPIRY: &str = "12/34";

/// `attribute = value`.
fn equals(attribute: &str, value: &str) -> Filter {
    Filter {
        field: Some(FieldRef { path: attribute.split('.').map(str::to_owned).collect(), function: 0 }),
        any_of: vec![Condition { operator: Operator::Equal as i32, value: value.to_owned() }],
    }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
}

impl Methods {
    async fn create_batch(
        &self,
        key: &str,
        methods: Vec<pb::PaymentMethod>,
    ) -> Result<Vec<pb::PaymentMethod>, tonic::Status> {
        let requests = methods
            .into_iter()
            .map(|m| pb::CreatePaymentMethodRequest { payment_method: Some(m), single_use: false })
            .collect();
        let request = with_key(key, pb::BatchCreatePaymentMethodsRequest { requests });
        Ok(self.methods().batch_create_payment_methods(request).await?.into_inner().payment_methods)
    }

    async fn update_batch(
        &self,
        key: &str,
        changes: Vec<(pb::PaymentMethod, &[&str])>,
    ) -> Result<Vec<pb::PaymentMethod>, tonic::Status> {
        let requests = changes
            .into_iter()
            .map(|(m, paths)| pb::UpdatePaymentMethodRequest {
                payment_method: Some(m),
                update_mask: mask(paths),
            })
            .collect();
        let request = with_key(key, pb::BatchUpdatePaymentMethodsRequest { requests });
        Ok(self.methods().batch_update_payment_methods(request).await?.into_inner().payment_methods)
    }

    async fn update_query(
        &self,
        key: &str,
        filters: Vec<Filter>,
        change: pb::PaymentMethod,
        paths: &[&str],
    ) -> Result<Vec<pb::PaymentMethod>, tonic::Status> {
        let message = pb::UpdatePaymentMethodsByQueryRequest {
            filters,
            payment_method: Some(change),
            update_mask: mask(paths),
        };
        let request = with_key(key, message);
        Ok(self.methods().update_payment_methods_by_query(request).await?.into_inner().payment_methods)
    }

    async fn delete_batch(&self, key: &str, ids: &[&str]) -> Result<Vec<pb::PaymentMethod>, tonic::Status> {
        let ids = ids.iter().map(|id| (*id).to_owned()).collect();
        let request = with_key(key, pb::BatchDeletePaymentMethodsRequest { ids });
        Ok(self.methods().batch_delete_payment_methods(request).await?.into_inner().payment_methods)
    }

    async fn delete_query(
        &self,
        key: &str,
        filters: Vec<Filter>,
    ) -> Result<Vec<pb::PaymentMethod>, tonic::Status> {
        let request = with_key(key, pb::DeletePaymentMethodsByQueryRequest { filters });
        Ok(self.methods().delete_payment_methods_by_query(request).await?.into_inner().payment_methods)
    }
}

fn ids(methods: &[pb::PaymentMethod]) -> Vec<&str> {
    methods.iter().map(|m| m.id.as_str()).collect()
}

#[tokio::test]
async fn a_batch_create_is_all_or_none_and_names_each_bad_item() {
    let vault = Methods::start().await;
    let acme = test_key(&vault.acme);
    let matt = vault.customer(acme, "Matt Perez").await;
    let ann = vault.customer(acme, "Ann Lee").await;
    let theirs = vault.customer(test_key(&vault.globex), "Eve Adams").await;

    let status = vault
        .create_batch(
            acme,
            vec![
                card(&matt.id, "4242424242424242", EXPIRY),
                card(&matt.id, "4242424242424241", EXPIRY),
                card(&theirs.id, "5555555555554444", EXPIRY),
            ],
        )
        .await
        .unwrap_err();
    let found = violations(&status);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].0.starts_with("requests[1].payment_method.card"), "{found:?}");
    // The numbers are sound; the account of the third is another partner's.
    let mut third = card(&theirs.id, "5555555555554444", EXPIRY);
    third.account_holder = "Eve Adams".into();
    let status =
        vault.create_batch(acme, vec![card(&matt.id, "4242424242424242", EXPIRY), third]).await.unwrap_err();
    assert_eq!(
        violations(&status),
        [("requests[1].payment_method.account_id".to_owned(), "No such account".to_owned())]
    );

    // Two defaults for one account: which would win is not the caller's
    // to guess.
    let mut first = card(&matt.id, "4242424242424242", EXPIRY);
    first.default_payment_method = true;
    let mut second = card(&matt.id, "5555555555554444", EXPIRY);
    second.default_payment_method = true;
    let status = vault.create_batch(acme, vec![first.clone(), second]).await.unwrap_err();
    assert_eq!(violations(&status)[0].0, "requests[1].payment_method.default_payment_method");
    assert_eq!(vault.count("SELECT count(*) FROM methods.payment_methods").await, 0, "nothing was stored");

    let mut for_ann = card(&ann.id, "5555555555554444", EXPIRY);
    for_ann.default_payment_method = true;
    let created = vault
        .create_batch(acme, vec![first, card(&matt.id, "4000056655665556", EXPIRY), for_ann])
        .await
        .unwrap();
    assert_eq!(created.len(), 3);
    assert_eq!(
        created.iter().map(|m| m.default_payment_method).collect::<Vec<_>>(),
        [true, false, true],
        "in the order of the requests"
    );
    assert_eq!(vault.account(acme, &matt.id).await.default_payment_method_id, Some(created[0].id.clone()));
    assert_eq!(vault.account(acme, &ann.id).await.default_payment_method_id, Some(created[2].id.clone()));

    let requests = (0..=paymesh_kit::MAX_BATCH)
        .map(|_| pb::CreatePaymentMethodRequest {
            payment_method: Some(card(&matt.id, "4242424242424242", EXPIRY)),
            single_use: false,
        })
        .collect();
    let status = vault
        .methods()
        .batch_create_payment_methods(with_key(acme, pb::BatchCreatePaymentMethodsRequest { requests }))
        .await
        .unwrap_err();
    assert_eq!(violations(&status)[0].0, "requests");
}

#[tokio::test]
async fn a_batch_update_moves_the_default_once_and_refuses_unknown_ids() {
    let vault = Methods::start().await;
    let acme = test_key(&vault.acme);
    let matt = vault.customer(acme, "Matt Perez").await;
    let mut first = card(&matt.id, "4242424242424242", EXPIRY);
    first.default_payment_method = true;
    let created =
        vault.create_batch(acme, vec![first, card(&matt.id, "5555555555554444", EXPIRY)]).await.unwrap();
    let (old, new) = (created[0].id.clone(), created[1].id.clone());
    let theirs = {
        let eve = vault.customer(test_key(&vault.globex), "Eve Adams").await;
        vault.create(test_key(&vault.globex), card(&eve.id, "4242424242424242", EXPIRY)).await.unwrap().id
    };
    let live = {
        let live_key = key(&vault.acme, "secret_key_");
        let live_matt = vault.customer(live_key, "Matt Perez").await;
        vault.create(live_key, card(&live_matt.id, "4242424242424242", EXPIRY)).await.unwrap().id
    };

    let rename = |id: &str, name: &str| pb::PaymentMethod {
        id: id.to_owned(),
        account_holder: name.to_owned(),
        ..Default::default()
    };
    for stranger in [theirs.as_str(), live.as_str(), "not-an-id"] {
        let status = vault
            .update_batch(
                acme,
                vec![
                    (rename(&old, "Matthew"), &["account_holder"]),
                    (rename(stranger, "X"), &["account_holder"]),
                ],
            )
            .await
            .unwrap_err();
        assert_eq!(
            violations(&status),
            [("requests[1].payment_method.id".to_owned(), "No such payment method".to_owned())],
            "{stranger}"
        );
    }
    let status = vault
        .update_batch(
            acme,
            vec![(rename(&old, "A"), &["account_holder"]), (rename(&old, "B"), &["account_holder"])],
        )
        .await
        .unwrap_err();
    assert_eq!(
        violations(&status)[0],
        ("requests[1].payment_method.id".to_owned(), "Listed more than once".to_owned())
    );
    assert_eq!(vault.get(acme, &old).await.unwrap().account_holder, "Matt Perez", "nothing changed");

    // The old default renamed and the new one made the default, in either
    // order: one default, the new one, everywhere.
    let make_default =
        pb::PaymentMethod { id: new.clone(), default_payment_method: true, ..Default::default() };
    let updated = vault
        .update_batch(
            acme,
            vec![
                (rename(&old, "Matthew Perez"), &["account_holder"]),
                (make_default, &["default_payment_method"]),
            ],
        )
        .await
        .unwrap();
    assert_eq!(ids(&updated), [old.as_str(), new.as_str()]);
    assert_eq!(updated[0].account_holder, "Matthew Perez");
    assert!(!updated[0].default_payment_method && updated[1].default_payment_method, "{updated:?}");
    assert!(!vault.get(acme, &old).await.unwrap().default_payment_method);
    assert_eq!(vault.account(acme, &matt.id).await.default_payment_method_id, Some(new.clone()));
    assert_eq!(
        vault.count("SELECT count(*) FROM methods.payment_methods WHERE is_default").await,
        1,
        "one default"
    );

    // A bad change to one item is reported under it, and nothing changes.
    let bad_expiry = pb::PaymentMethod {
        id: new.clone(),
        card: Some(pb::Card { expiry: "13/99".into(), ..Default::default() }),
        ..Default::default()
    };
    let status = vault
        .update_batch(
            acme,
            vec![(rename(&old, "Nobody"), &["account_holder"]), (bad_expiry, &["card.expiry"])],
        )
        .await
        .unwrap_err();
    assert_eq!(violations(&status)[0].0, "requests[1].payment_method.card.expiry");
    assert_eq!(vault.get(acme, &old).await.unwrap().account_holder, "Matthew Perez");
}

#[tokio::test]
async fn changes_by_query_touch_every_match_of_the_partner_and_mode_only() {
    let vault = Methods::start().await;
    let acme = test_key(&vault.acme);
    let matt = vault.customer(acme, "Matt Perez").await;
    let ann = vault.customer(acme, "Ann Lee").await;
    let mine = vault
        .create_batch(
            acme,
            vec![
                card(&matt.id, "4242424242424242", EXPIRY),
                card(&matt.id, "5555555555554444", EXPIRY),
                card(&ann.id, "4242424242424242", EXPIRY),
            ],
        )
        .await
        .unwrap();
    let globex = test_key(&vault.globex);
    let eve = vault.customer(globex, "Eve Adams").await;
    let theirs = vault.create(globex, card(&eve.id, "4242424242424242", EXPIRY)).await.unwrap();

    let nickname = pb::PaymentMethod {
        attrs: Some(paymesh_kit::json::to_struct(
            serde_json::json!({"nickname": "travel"}).as_object().unwrap().clone(),
        )),
        ..Default::default()
    };
    let updated = vault
        .update_query(acme, vec![equals("card.card_brand", "visa")], nickname.clone(), &["attrs"])
        .await
        .unwrap();
    assert_eq!(ids(&updated).len(), 2, "Acme's two Visas");
    assert!(updated.iter().all(|m| m.attrs.as_ref().is_some_and(|a| a.fields.contains_key("nickname"))));
    assert!(
        vault.get(globex, &theirs.id).await.unwrap().attrs.is_none_or(|a| a.fields.is_empty()),
        "Globex's Visa untouched"
    );

    // No filter: refused, so that a forgotten one cannot reach everything.
    let status = vault.update_query(acme, vec![], nickname, &["attrs"]).await.unwrap_err();
    assert_eq!(violations(&status)[0].0, "filters");
    let status = vault.delete_query(acme, vec![]).await.unwrap_err();
    assert_eq!(violations(&status)[0].0, "filters");

    // Two of Matt's would both become his default: refused.
    let make_default = pb::PaymentMethod { default_payment_method: true, ..Default::default() };
    let status = vault
        .update_query(
            acme,
            vec![equals("account_id", &matt.id)],
            make_default.clone(),
            &["default_payment_method"],
        )
        .await
        .unwrap_err();
    assert_eq!(violations(&status)[0].0, "filters");
    assert_eq!(vault.count("SELECT count(*) FROM methods.payment_methods WHERE is_default").await, 0);
    let made = vault
        .update_query(acme, vec![equals("account_id", &ann.id)], make_default, &["default_payment_method"])
        .await
        .unwrap();
    assert_eq!(ids(&made), [mine[2].id.as_str()]);
    assert_eq!(vault.account(acme, &ann.id).await.default_payment_method_id, Some(mine[2].id.clone()));

    // Deleting by query: every match, the default given up.
    let deleted = vault.delete_query(acme, vec![equals("account_id", &ann.id)]).await.unwrap();
    assert_eq!(ids(&deleted), [mine[2].id.as_str()]);
    assert!(!deleted[0].default_payment_method);
    assert_eq!(vault.account(acme, &ann.id).await.default_payment_method_id, None);
    let none = vault.delete_query(acme, vec![equals("account_id", &eve.id)]).await.unwrap();
    assert!(none.is_empty(), "another partner's account matches nothing");
    assert!(vault.get(globex, &theirs.id).await.is_ok());
}

#[tokio::test]
async fn a_batch_delete_is_all_or_none() {
    let vault = Methods::start().await;
    let acme = test_key(&vault.acme);
    let matt = vault.customer(acme, "Matt Perez").await;
    let created = vault
        .create_batch(
            acme,
            vec![card(&matt.id, "4242424242424242", EXPIRY), card(&matt.id, "5555555555554444", EXPIRY)],
        )
        .await
        .unwrap();
    let unknown = "0193aa00-0000-7000-8000-0000000000ff";
    let status = vault.delete_batch(acme, &[&created[0].id, unknown]).await.unwrap_err();
    assert_eq!(violations(&status), [("ids[1]".to_owned(), "No such payment method".to_owned())]);
    assert_eq!(vault.count("SELECT count(*) FROM methods.payment_methods WHERE deleted_at IS NULL").await, 2);
    let deleted = vault.delete_batch(acme, &[&created[1].id, &created[0].id]).await.unwrap();
    assert_eq!(ids(&deleted), [created[1].id.as_str(), created[0].id.as_str()], "in the order of the ids");
    assert_eq!(vault.count("SELECT count(*) FROM methods.payment_methods WHERE deleted_at IS NULL").await, 0);
}
