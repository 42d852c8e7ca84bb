//! Customers through every RPC of `AccountService`, authentication,
//! tenancy and bad input.

use paymesh_proto::{
    common::v1::{
        Aggregate, AggregateFunction, Condition, FieldRef, Filter, ListQuery, Operator, OrderBy,
        ScalarFunction,
    },
    identity::v1 as pb,
};
use prost_types::FieldMask;
use tonic::{Code, Request};
use tonic_types::StatusExt as _;

use super::{Identity, create, customer, customers_query, eq, field, key, test_key, violations, with_key};

#[tokio::test]
async fn an_account_goes_through_its_whole_life() {
    let identity = Identity::start().await;
    let mut client = identity.accounts();
    let key = test_key(&identity.acme);

    let mut new = customer("Matt Perez", "matt.perez@example.com");
    new.phone_number = Some("(123) 456-7890".to_owned());
    new.attrs =
        Some(paymesh_kit::json::to_struct(serde_json::json!({"plan": "gold"}).as_object().unwrap().clone()));
    let created = client
        .create_account(with_key(key, pb::CreateAccountRequest { account: Some(new) }))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(created.name, "Matt Perez");
    assert!(!created.livemode);
    assert_eq!(created.create_time, created.update_time);

    let fetched = client
        .get_account(with_key(key, pb::GetAccountRequest { id: created.id.clone() }))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(fetched, created);

    let update = pb::UpdateAccountRequest {
        account: Some(pb::Account {
            id: created.id.clone(),
            email: "matt.perez@newwork.com".to_owned(),
            attrs: Some(paymesh_kit::json::to_struct(
                serde_json::json!({"seats": 3}).as_object().unwrap().clone(),
            )),
            ..pb::Account::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["email".to_owned(), "phone_number".to_owned(), "attrs".to_owned()],
        }),
    };
    let updated = client.update_account(with_key(key, update)).await.unwrap().into_inner().account.unwrap();
    assert_eq!(updated.email, "matt.perez@newwork.com");
    assert_eq!(updated.phone_number, None, "in the mask and unset: cleared");
    assert_eq!(updated.name, "Matt Perez", "not in the mask: unchanged");
    let attrs = serde_json::Value::Object(paymesh_kit::json::from_struct(updated.attrs.clone().unwrap()));
    assert_eq!(attrs, serde_json::json!({"plan": "gold", "seats": 3}), "attrs merge");
    assert!(updated.update_time.unwrap().seconds >= created.create_time.unwrap().seconds);

    let deleted = client
        .delete_account(with_key(key, pb::DeleteAccountRequest { id: created.id.clone() }))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(deleted.id, created.id);
    let gone = client
        .get_account(with_key(key, pb::GetAccountRequest { id: created.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    assert_eq!(gone.get_error_details().error_info().unwrap().reason, "NOT_FOUND");

    assert_eq!(
        identity.outbox_events(&created.id).await,
        ["account.created", "account.updated", "account.deleted"]
    );
}

#[tokio::test]
async fn invalid_accounts_name_every_problem_and_change_nothing() {
    let identity = Identity::start().await;
    let mut client = identity.accounts();
    let key = test_key(&identity.acme);
    let bad = pb::Account {
        r#type: 0,
        name: String::new(),
        email: "matt.perez.example.com".to_owned(),
        phone_number: Some("555".to_owned()),
        description: Some("x".repeat(1001)),
        ..pb::Account::default()
    };
    let status = client
        .create_account(with_key(key, pb::CreateAccountRequest { account: Some(bad) }))
        .await
        .unwrap_err();
    let fields: Vec<_> = violations(&status).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        ["account.type", "account.name", "account.email", "account.phone_number", "account.description"]
    );
    assert_eq!(identity.stored_customers().await, 0);

    let status =
        client.create_account(with_key(key, pb::CreateAccountRequest { account: None })).await.unwrap_err();
    assert_eq!(violations(&status), [("account".to_owned(), "Required".to_owned())]);
}

#[tokio::test]
async fn calls_without_a_valid_secret_key_are_refused() {
    let identity = Identity::start().await;
    let mut client = identity.accounts();
    let request = || pb::ListAccountsRequest { query: None };

    let status = client.list_accounts(Request::new(request())).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.get_error_details().error_info().unwrap().reason, "UNAUTHORIZED");

    let forged = format!("test_secret_key_{}", "A".repeat(32));
    let status = client.list_accounts(with_key(&forged, request())).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "Invalid or revoked API key");

    let mut malformed = Request::new(request());
    malformed.metadata_mut().insert("authorization", "Token abc".parse().unwrap());
    assert_eq!(client.list_accounts(malformed).await.unwrap_err().code(), Code::Unauthenticated);

    let client_key = key(&identity.acme, "test_client_key_");
    let status = client.list_accounts(with_key(client_key, request())).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(status.get_error_details().error_info().unwrap().reason, "FORBIDDEN");
}

#[tokio::test]
async fn authenticate_returns_the_principal_of_the_key() {
    let identity = Identity::start().await;
    let mut auth = identity.auth();
    let live = key(&identity.acme, "secret_key_");
    let principal = auth
        .authenticate(with_key(live, pb::AuthenticateRequest {}))
        .await
        .unwrap()
        .into_inner()
        .principal
        .unwrap();
    assert_eq!(principal.partner_id, identity.acme.id.to_string());
    assert!(principal.livemode);
    assert_eq!(principal.key_kind, pb::KeyKind::Secret as i32);

    let status = auth.authenticate(Request::new(pb::AuthenticateRequest {})).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn other_partners_and_the_other_mode_see_nothing() {
    let identity = Identity::start().await;
    let mut client = identity.accounts();
    let acme_test = test_key(&identity.acme);
    let acme_live = key(&identity.acme, "secret_key_");
    let globex_test = test_key(&identity.globex);

    let created = client
        .create_account(with_key(acme_test, create("Matt Perez", "matt@example.com")))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();

    for other in [globex_test, acme_live] {
        let get = client.get_account(with_key(other, pb::GetAccountRequest { id: created.id.clone() })).await;
        assert_eq!(get.unwrap_err().code(), Code::NotFound);
        let update = pb::UpdateAccountRequest {
            account: Some(pb::Account {
                id: created.id.clone(),
                name: "Hijacked".to_owned(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask { paths: vec!["name".to_owned()] }),
        };
        assert_eq!(client.update_account(with_key(other, update)).await.unwrap_err().code(), Code::NotFound);
        let delete =
            client.delete_account(with_key(other, pb::DeleteAccountRequest { id: created.id.clone() })).await;
        assert_eq!(delete.unwrap_err().code(), Code::NotFound);
        let listed = client
            .list_accounts(with_key(other, pb::ListAccountsRequest { query: customers_query() }))
            .await
            .unwrap();
        assert!(listed.into_inner().accounts.is_empty());
        let by_query = pb::DeleteAccountsByQueryRequest { filters: vec![eq(&["id"], &[&created.id])] };
        let deleted = client.delete_accounts_by_query(with_key(other, by_query)).await.unwrap();
        assert!(deleted.into_inner().accounts.is_empty());
    }

    let still =
        client.get_account(with_key(acme_test, pb::GetAccountRequest { id: created.id.clone() })).await;
    assert_eq!(still.unwrap().into_inner().account.unwrap().name, "Matt Perez");

    let malformed =
        client.get_account(with_key(acme_test, pb::GetAccountRequest { id: "3bW9JN4".to_owned() })).await;
    assert_eq!(malformed.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn batches_are_all_or_nothing() {
    let identity = Identity::start().await;
    let mut client = identity.accounts();
    let key = test_key(&identity.acme);

    let batch = pb::BatchCreateAccountsRequest {
        requests: vec![create("Matt Perez", "matt@example.com"), create("Andrea Kearney", "not-an-email")],
    };
    let status = client.batch_create_accounts(with_key(key, batch)).await.unwrap_err();
    assert_eq!(
        violations(&status),
        [("requests[1].account.email".to_owned(), "Must be a valid email address".to_owned())]
    );
    assert_eq!(identity.stored_customers().await, 0);

    let batch = pb::BatchCreateAccountsRequest {
        requests: vec![
            create("Matt Perez", "matt@example.com"),
            create("Andrea Kearney", "andrea@example.com"),
        ],
    };
    let created = client.batch_create_accounts(with_key(key, batch)).await.unwrap().into_inner().accounts;
    assert_eq!(created.len(), 2);
    assert_eq!(created[1].name, "Andrea Kearney");

    let rename = |id: &str, name: &str| pb::UpdateAccountRequest {
        account: Some(pb::Account { id: id.to_owned(), name: name.to_owned(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["name".to_owned()] }),
    };
    let unknown = uuid::Uuid::now_v7().to_string();
    let batch = pb::BatchUpdateAccountsRequest {
        requests: vec![rename(&created[0].id, "Matthew Perez"), rename(&unknown, "Nobody")],
    };
    let status = client.batch_update_accounts(with_key(key, batch)).await.unwrap_err();
    assert_eq!(violations(&status), [("requests[1].account.id".to_owned(), "No such account".to_owned())]);
    let unchanged =
        client.get_account(with_key(key, pb::GetAccountRequest { id: created[0].id.clone() })).await;
    assert_eq!(unchanged.unwrap().into_inner().account.unwrap().name, "Matt Perez");

    let twice = pb::BatchUpdateAccountsRequest {
        requests: vec![rename(&created[0].id, "A"), rename(&created[0].id, "B")],
    };
    let status = client.batch_update_accounts(with_key(key, twice)).await.unwrap_err();
    assert_eq!(violations(&status)[0].1, "Listed more than once");

    let batch = pb::BatchUpdateAccountsRequest {
        requests: vec![rename(&created[0].id, "Matthew Perez"), rename(&created[1].id, "Andrea K.")],
    };
    let renamed = client.batch_update_accounts(with_key(key, batch)).await.unwrap().into_inner().accounts;
    assert_eq!(renamed.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["Matthew Perez", "Andrea K."]);

    let delete = pb::BatchDeleteAccountsRequest { ids: vec![created[0].id.clone(), unknown] };
    let status = client.batch_delete_accounts(with_key(key, delete)).await.unwrap_err();
    assert_eq!(violations(&status), [("ids[1]".to_owned(), "No such account".to_owned())]);
    assert_eq!(
        client
            .list_accounts(with_key(key, pb::ListAccountsRequest { query: customers_query() }))
            .await
            .unwrap()
            .into_inner()
            .accounts
            .len(),
        2
    );

    let too_many = pb::BatchCreateAccountsRequest {
        requests: (0..=paymesh_kit::MAX_BATCH).map(|i| create("N", &format!("n{i}@example.com"))).collect(),
    };
    let status = client.batch_create_accounts(with_key(key, too_many)).await.unwrap_err();
    assert_eq!(violations(&status), [("requests".to_owned(), "At most 100 items per request".to_owned())]);
}

#[tokio::test]
async fn updates_and_deletes_by_query_touch_only_matches() {
    let identity = Identity::start().await;
    let mut client = identity.accounts();
    let key = test_key(&identity.acme);
    for (name, email) in
        [("Matt", "matt@example.com"), ("Andrea", "andrea@example.com"), ("Matt", "matt2@example.com")]
    {
        client.create_account(with_key(key, create(name, email))).await.unwrap();
    }

    let update = pb::UpdateAccountsByQueryRequest {
        filters: vec![eq(&["name"], &["Matt"])],
        account: Some(pb::Account { description: Some("VIP".to_owned()), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["description".to_owned()] }),
    };
    let updated = client.update_accounts_by_query(with_key(key, update)).await.unwrap().into_inner().accounts;
    assert_eq!(updated.len(), 2);
    assert!(updated.iter().all(|a| a.description.as_deref() == Some("VIP")));

    let unfiltered = pb::DeleteAccountsByQueryRequest { filters: vec![] };
    let status = client.delete_accounts_by_query(with_key(key, unfiltered)).await.unwrap_err();
    assert_eq!(violations(&status)[0].0, "filters");

    let hostile =
        pb::DeleteAccountsByQueryRequest { filters: vec![eq(&["name'; DELETE FROM accounts; --"], &["x"])] };
    let status = client.delete_accounts_by_query(with_key(key, hostile)).await.unwrap_err();
    assert_eq!(violations(&status)[0].1, "Unknown attribute");
    assert_eq!(identity.stored_customers().await, 3);

    let delete = pb::DeleteAccountsByQueryRequest { filters: vec![eq(&["email"], &["andrea@example.com"])] };
    let deleted = client.delete_accounts_by_query(with_key(key, delete)).await.unwrap().into_inner().accounts;
    assert_eq!(deleted.len(), 1);
    let left = client
        .list_accounts(with_key(key, pb::ListAccountsRequest { query: customers_query() }))
        .await
        .unwrap();
    assert_eq!(left.into_inner().accounts.len(), 2);
}

#[tokio::test]
async fn lists_filter_order_page_compute_and_aggregate() {
    let identity = Identity::start().await;
    let mut client = identity.accounts();
    let key = test_key(&identity.acme);
    let names = ["Carol", "alice", "Bob", "Dave", "Erin"];
    for (i, name) in names.iter().enumerate() {
        let mut account = customer(name, &format!("{}@Example.com", name.to_lowercase()));
        account.attrs = Some(paymesh_kit::json::to_struct(
            serde_json::json!({"plan": if i % 2 == 0 { "gold" } else { "free" }})
                .as_object()
                .unwrap()
                .clone(),
        ));
        client
            .create_account(with_key(key, pb::CreateAccountRequest { account: Some(account) }))
            .await
            .unwrap();
    }
    let list = |mut query: ListQuery| {
        let mut client = client.clone();
        query.filters.push(eq(&["type"], &["customer"]));
        async move { client.list_accounts(with_key(key, pb::ListAccountsRequest { query: Some(query) })).await }
    };
    let names_of = |r: pb::ListAccountsResponse| r.accounts.into_iter().map(|a| a.name).collect::<Vec<_>>();

    let newest_first = list(ListQuery::default()).await.unwrap().into_inner();
    assert_eq!(names_of(newest_first), ["Erin", "Dave", "Bob", "alice", "Carol"]);

    let by_name = ListQuery {
        order_by: vec![OrderBy {
            field: Some(FieldRef { function: ScalarFunction::Lower as i32, ..field(&["name"]) }),
            descending: false,
        }],
        limit: 2,
        offset: 1,
        ..ListQuery::default()
    };
    assert_eq!(names_of(list(by_name).await.unwrap().into_inner()), ["Bob", "Carol"]);

    let gold = ListQuery { filters: vec![eq(&["attrs", "plan"], &["gold"])], ..ListQuery::default() };
    let mut gold_names = names_of(list(gold).await.unwrap().into_inner());
    gold_names.sort();
    assert_eq!(gold_names, ["Bob", "Carol", "Erin"]);

    let like = ListQuery {
        filters: vec![Filter {
            field: Some(field(&["email"])),
            any_of: vec![Condition { operator: Operator::Like as i32, value: "*@example.COM".to_owned() }],
        }],
        fields: vec![field(&["*"]), FieldRef { function: ScalarFunction::Lower as i32, ..field(&["email"]) }],
        limit: 1,
        ..ListQuery::default()
    };
    let response = list(like).await.unwrap().into_inner();
    assert_eq!(response.accounts.len(), 1);
    let computed = paymesh_kit::json::from_struct(response.computed[0].clone());
    assert_eq!(computed["lower(email)"], "erin@example.com");

    let grouped = ListQuery {
        group_by: vec![field(&["attrs", "plan"])],
        aggregates: vec![Aggregate {
            function: AggregateFunction::Count as i32,
            field: Some(field(&["id"])),
        }],
        ..ListQuery::default()
    };
    let groups: Vec<_> = list(grouped)
        .await
        .unwrap()
        .into_inner()
        .groups
        .into_iter()
        .map(|g| serde_json::Value::Object(paymesh_kit::json::from_struct(g)))
        .collect();
    assert_eq!(
        groups,
        [
            serde_json::json!({"attrs[plan]": "free", "count(id)": 2}),
            serde_json::json!({"attrs[plan]": "gold", "count(id)": 3}),
        ]
    );

    let by_year = ListQuery {
        filters: vec![Filter {
            field: Some(FieldRef { function: ScalarFunction::Year as i32, ..field(&["created_at"]) }),
            any_of: vec![Condition {
                operator: Operator::GreaterThanOrEqual as i32,
                value: "2020".to_owned(),
            }],
        }],
        ..ListQuery::default()
    };
    assert_eq!(list(by_year).await.unwrap().into_inner().accounts.len(), 5);

    let bad = ListQuery { filters: vec![eq(&["password"], &["x"])], limit: 5000, ..ListQuery::default() };
    let status = list(bad).await.unwrap_err();
    assert_eq!(
        violations(&status),
        [
            ("password".to_owned(), "Unknown attribute".to_owned()),
            ("limit".to_owned(), "Must be at most 1000".to_owned()),
        ]
    );
}

#[tokio::test]
async fn health_and_reflection_need_no_key() {
    let identity = Identity::start().await;
    let channel = identity.channel();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let response = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "paymesh.identity.v1.AccountService".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);

    // Both reflection versions list the services (grpcurl 1.8 speaks only v1alpha).
    use tokio_stream::StreamExt as _;
    use tonic_reflection::pb::{v1, v1alpha};
    let mut v1_client = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(String::new())),
    };
    let mut stream =
        v1_client.server_reflection_info(tokio_stream::iter([request])).await.unwrap().into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        stream.next().await.unwrap().unwrap().message_response
    else {
        panic!("no service list")
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"paymesh.identity.v1.AccountService".to_owned()), "{names:?}");
    assert!(names.contains(&"paymesh.identity.v1.AuthService".to_owned()), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health".to_owned()), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("paymesh.methods.")), "only what identity serves: {names:?}");

    let mut alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
            "paymesh.identity.v1.AccountService".to_owned(),
        )),
    };
    let mut stream = alpha.server_reflection_info(tokio_stream::iter([request])).await.unwrap().into_inner();
    let response = stream.next().await.unwrap().unwrap().message_response;
    assert!(
        matches!(response, Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()),
        "{response:?}"
    );
}
