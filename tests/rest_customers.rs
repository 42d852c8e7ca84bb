//! Customers through the gateway, end to end: the whole mesh in-process,
//! a fresh database, real HTTP and gRPC.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use paymesh_proto::identity::v1::{self as pb, account_service_client::AccountServiceClient};
use paymesh_tests::{Mesh, authorized, key, test_key};
use reqwest::{Method, header::CONTENT_TYPE};
use serde_json::{Value, json};

fn names(body: &Value) -> Vec<String> {
    body["values"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_customer_is_created_read_listed_updated_and_deleted() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);

    let created = http
        .post(
            "/customers",
            key,
            json!({"email": "matt.perez@example.com", "full_name": "Matt Perez", "attrs": {"plan": "gold"}}),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let customer = created.body;
    let id = customer["id"].as_str().unwrap().to_owned();
    assert_eq!(customer["object"], "customer");
    assert_eq!(customer["type"], "customer");
    assert_eq!(customer["name"], "Matt Perez");
    assert_eq!(customer["attrs"], json!({"plan": "gold"}));
    assert_eq!(customer["livemode"], false);
    assert_eq!(customer["phone_number"], Value::Null);
    assert!(customer["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(customer["created_at"], customer["modified_at"]);

    let fetched = http.get(&format!("/customers/{id}"), key).await;
    assert_eq!((fetched.status, &fetched.body), (200, &customer));
    let as_account = http.get(&format!("/accounts/{id}"), key).await;
    assert_eq!(as_account.body["object"], "account");
    assert_eq!(as_account.body["email"], "matt.perez@example.com");

    let listed = http.get("/customers", key).await;
    assert_eq!(listed.body["object"], "list");
    assert_eq!(listed.body["values"], json!([customer]));

    let updated = http
        .put(&format!("/customers/{id}"), key, json!({"email": "matt.perez@newwork.com", "attrs": {"seats": 2}, "phone_number": "(123) 456-7890"}))
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["email"], "matt.perez@newwork.com");
    assert_eq!(updated.body["attrs"], json!({"plan": "gold", "seats": 2}));
    assert_eq!(updated.body["phone_number"], "(123) 456-7890");
    assert_eq!(updated.body["name"], "Matt Perez");
    assert_ne!(updated.body["modified_at"], customer["modified_at"]);

    let deleted = http.delete(&format!("/customers/{id}"), key, None).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["id"], id.as_str());
    let gone = http.get(&format!("/customers/{id}"), key).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.body,
        json!({"object": "error", "error_type": "NotFound", "description": "Customer not found",
               "error_description": "Customer not found"})
    );
    assert!(http.get("/customers", key).await.body["values"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn accounts_need_their_type_and_forms_work_like_payloads_curl() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);

    let untyped = http.post("/accounts", key, json!({"email": "a@example.com", "name": "A"})).await;
    assert_eq!(untyped.status, 400);
    assert_eq!(untyped.body["details"], json!({"type": "Required"}));

    let form = http
        .send(
            http.request(Method::POST, "/accounts", Some(key))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("email=matt.perez%40example.com&full_name=Matt+Perez&type=customer&attrs[custom]=data"),
        )
        .await;
    assert_eq!(form.status, 200, "{:?}", form.body);
    assert_eq!(form.body["object"], "account");
    assert_eq!(form.body["attrs"], json!({"custom": "data"}));

    let bulk_form = http
        .send(
            http.request(Method::POST, "/accounts", Some(key))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body("[0]email=a1%40example.com&[0]full_name=A+One&[0]type=customer&[1]email=a2%40example.com&[1]full_name=A+Two&[1]type=customer"),
        )
        .await;
    assert_eq!(bulk_form.status, 200, "{:?}", bulk_form.body);
    assert_eq!(names(&bulk_form.body), ["A One", "A Two"]);
}

#[tokio::test]
async fn bulk_creates_updates_and_deletes_are_all_or_nothing() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);

    let bad = http
        .post(
            "/customers",
            key,
            json!({"object": "list", "values": [
                {"email": "matt@example.com", "name": "Matt"},
                {"email": "not-an-email", "name": "Andrea"},
            ]}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error_type"], "InvalidAttributes");
    assert_eq!(
        bad.body["details"],
        json!({"object": "list", "values": [{}, {"email": "Must be a valid email address"}]})
    );
    assert_eq!(mesh.count("SELECT count(*) FROM identity.accounts WHERE type = 'customer'").await, 0);

    let created = http
        .post(
            "/customers",
            key,
            json!({"object": "list", "values": [
                {"email": "matt@example.com", "name": "Matt"},
                {"email": "andrea@example.com", "name": "Andrea"},
            ]}),
        )
        .await;
    assert_eq!(created.status, 200);
    assert_eq!(names(&created.body), ["Matt", "Andrea"]);
    let ids: Vec<String> = created.body["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();

    let unknown = "01a1ffb8-0000-7000-8000-000000000000";
    let bad_update = http
        .put(
            "/customers",
            key,
            json!({"object": "list", "values": [
                {"id": ids[0], "name": "Matthew"}, {"id": unknown, "name": "Nobody"},
            ]}),
        )
        .await;
    assert_eq!(bad_update.status, 400);
    assert_eq!(
        bad_update.body["details"],
        json!({"object": "list", "values": [{}, {"id": "No such customer"}]})
    );
    assert_eq!(http.get(&format!("/customers/{}", ids[0]), key).await.body["name"], "Matt");

    let updated = http
        .put(
            "/customers",
            key,
            json!({"object": "list", "values": [
                {"id": ids[0], "name": "Matthew"}, {"id": ids[1], "email": "andrea@newwork.com"},
            ]}),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(names(&updated.body), ["Matthew", "Andrea"]);
    assert_eq!(updated.body["values"][1]["email"], "andrea@newwork.com");

    let deleted = http
        .delete(
            "/customers",
            key,
            Some(json!({"object": "list", "values": [{"id": ids[0]}, {"id": ids[1]}]})),
        )
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(deleted.body["values"].as_array().unwrap().len(), 2);
    assert!(http.get("/customers", key).await.body["values"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn lists_filter_order_and_page_with_the_query_language() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let people = [
        ("Carol", "carol@example.com", "gold"),
        ("alice", "alice@other.org", "free"),
        ("Bob", "bob@example.com", "gold"),
        ("Dave", "dave@example.com", "free"),
    ];
    for (name, email, plan) in people {
        let reply = http
            .post("/customers", key, json!({"name": name, "email": email, "attrs": {"plan": plan}}))
            .await;
        assert_eq!(reply.status, 200);
    }

    assert_eq!(
        names(&http.get("/customers", key).await.body),
        ["Dave", "Bob", "alice", "Carol"],
        "newest first"
    );
    assert_eq!(
        names(&http.get("/customers?order_by=name", key).await.body),
        ["Bob", "Carol", "Dave", "alice"]
    );
    assert_eq!(
        names(&http.get("/customers?order_by=lower(name)&limit=2&offset=1", key).await.body),
        ["Bob", "Carol"]
    );
    assert_eq!(names(&http.get("/customers?order_by=desc(name)&limit=1", key).await.body), ["alice"]);
    assert_eq!(
        names(&http.get("/customers?attrs[plan]=gold&order_by=name", key).await.body),
        ["Bob", "Carol"]
    );
    assert_eq!(
        names(&http.get("/customers?email=%3F*example.com&name=!Bob&order_by=name", key).await.body),
        ["Carol", "Dave"]
    );
    assert_eq!(names(&http.get("/customers?name=Bob|Dave&order_by=name", key).await.body), ["Bob", "Dave"]);
    assert_eq!(
        names(&http.get("/customers?name=%3EB&name=%3CD&order_by=name", key).await.body),
        ["Bob", "Carol"]
    );

    let selected = http.get("/customers?name=alice&fields=name,upper(email)", key).await;
    let alice = selected.body["values"][0]["id"].clone();
    assert!(alice.is_string(), "a selection keeps the id: {:?}", selected.body);
    assert_eq!(
        selected.body["values"],
        json!([{"id": alice, "object": "customer", "type": "customer", "name": "alice",
               "upper(email)": "ALICE@OTHER.ORG"}])
    );
    let starred = http.get("/customers?name=alice&fields=*,length(name)", key).await;
    assert_eq!(starred.body["values"][0]["length(name)"], 5);
    assert_eq!(starred.body["values"][0]["email"], "alice@other.org");

    let grouped = http.get("/customers?fields=count(id),attrs[plan]&group_by=attrs[plan]", key).await;
    assert_eq!(grouped.status, 200, "{:?}", grouped.body);
    assert_eq!(
        grouped.body["values"],
        json!([{"attrs[plan]": "free", "count(id)": 2}, {"attrs[plan]": "gold", "count(id)": 2}])
    );

    // A malformed name is refused by the gateway; the service never sees the query.
    let malformed = http.get("/customers?secret=1&order_by=name%3Bdrop", key).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.body["details"], json!({"name;drop": "Malformed attribute"}));
    // Well-formed but unknown names and limits are refused by the service's whitelist.
    let unknown = http.get("/customers?secret=1&limit=100000", key).await;
    assert_eq!(
        unknown.body["details"],
        json!({"secret": "Unknown attribute", "limit": "Must be at most 1000"})
    );
}

#[tokio::test]
async fn updates_and_deletes_by_query_act_on_every_match() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    for (name, email) in [
        ("Matt", "matt.perez@example.com"),
        ("Matt", "matt.perez@example.com"),
        ("Andrea", "andrea@example.com"),
    ] {
        http.post("/customers", key, json!({"name": name, "email": email})).await;
    }

    let updated = http
        .put(
            "/customers?email=matt.perez@example.com&mode=query",
            key,
            json!({"email": "matt.perez@newwork.com"}),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["values"].as_array().unwrap().len(), 2);
    assert_eq!(
        http.get("/customers?email=matt.perez@newwork.com", key).await.body["values"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let unfiltered = http.put("/customers?mode=query", key, json!({"description": "everyone"})).await;
    assert_eq!(unfiltered.status, 400);
    assert!(
        unfiltered.body["details"]["mode"]
            .as_str()
            .unwrap()
            .starts_with("An update or delete by query needs at least one filter")
    );
    let unfiltered = http.delete("/customers?mode=query", key, None).await;
    assert_eq!(unfiltered.status, 400);
    assert_eq!(
        mesh.count(
            "SELECT count(*) FROM identity.accounts WHERE type = 'customer' AND description IS NOT NULL"
        )
        .await,
        0
    );

    let without_mode = http.put("/customers?email=andrea@example.com", key, json!({"name": "X"})).await;
    assert_eq!(without_mode.status, 400);
    assert_eq!(without_mode.body["error_type"], "BadRequest");

    let deleted = http.delete("/customers?name=Matt&mode=query", key, None).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["values"].as_array().unwrap().len(), 2);
    assert_eq!(names(&http.get("/customers", key).await.body), ["Andrea"]);
}

#[tokio::test]
async fn keys_decide_who_sees_what() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let acme = test_key(&mesh.acme);
    let acme_live = key(&mesh.acme, "secret_key_");
    let globex = test_key(&mesh.globex);

    let id =
        http.post("/customers", acme, json!({"name": "Matt", "email": "matt@example.com"})).await.body["id"]
            .as_str()
            .unwrap()
            .to_owned();

    for wrong in ["", "test_secret_key_nope", &format!("test_secret_key_{}", "A".repeat(32))] {
        let reply = http.send(http.request(Method::GET, "/customers", Some(wrong))).await;
        assert_eq!(reply.status, 401, "{wrong:?}");
        assert_eq!(reply.body["error_type"], "Unauthorized");
    }
    let bearer = http.send(http.request(Method::GET, "/customers", None).bearer_auth(acme)).await;
    assert_eq!(bearer.status, 200);
    let none = http.send(http.request(Method::GET, "/customers", None)).await;
    assert_eq!(none.status, 401);

    for other in [globex, acme_live] {
        assert_eq!(http.get(&format!("/customers/{id}"), other).await.status, 404);
        assert_eq!(http.put(&format!("/customers/{id}"), other, json!({"name": "Hijack"})).await.status, 404);
        assert_eq!(http.delete(&format!("/customers/{id}"), other, None).await.status, 404);
        assert!(http.get("/customers", other).await.body["values"].as_array().unwrap().is_empty());
        let by_query = http.delete(&format!("/customers?id={id}&mode=query"), other, None).await;
        assert_eq!(by_query.body["values"], json!([]));
    }
    let live = http.post("/customers", acme_live, json!({"name": "Live", "email": "live@example.com"})).await;
    assert_eq!(live.body["livemode"], true);
    assert_eq!(names(&http.get("/customers", acme).await.body), ["Matt"]);
    assert_eq!(names(&http.get("/customers", acme_live).await.body), ["Live"]);

    let client_key = key(&mesh.acme, "test_client_key_");
    let forbidden = http.get("/customers", client_key).await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.body["error_type"], "Forbidden");

    assert_eq!(http.get(&format!("/customers/{id}"), acme).await.body["name"], "Matt");
}

#[tokio::test]
async fn grpc_and_rest_see_the_same_customers() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let mut grpc = AccountServiceClient::new(mesh.identity_channel());
    let request = authorized(
        key,
        pb::CreateAccountRequest {
            account: Some(pb::Account {
                r#type: pb::AccountType::Customer as i32,
                name: "Via gRPC".to_owned(),
                email: "grpc@example.com".to_owned(),
                ..Default::default()
            }),
        },
    );
    let created = grpc.create_account(request).await.unwrap().into_inner().account.unwrap();

    let rest = http.get(&format!("/customers/{}", created.id), key).await;
    assert_eq!(rest.status, 200);
    assert_eq!(rest.body["name"], "Via gRPC");

    let via_rest =
        http.post("/customers", key, json!({"name": "Via REST", "email": "rest@example.com"})).await;
    let request =
        authorized(key, pb::GetAccountRequest { id: via_rest.body["id"].as_str().unwrap().to_owned() });
    assert_eq!(
        grpc.get_account(request).await.unwrap().into_inner().account.unwrap().email,
        "rest@example.com"
    );
}

#[tokio::test]
async fn an_object_read_can_be_sent_back_but_read_only_values_cannot_change() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let customer = http
        .post("/accounts", key, json!({"type": "customer", "name": "Matt", "email": "matt@example.com"}))
        .await
        .body;
    let id = customer["id"].as_str().unwrap().to_owned();

    let mut round_trip = customer.clone();
    round_trip["name"] = json!("Matthew");
    let reply = http.put(&format!("/accounts/{id}"), key, round_trip.clone()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["name"], "Matthew");

    let mut forged = reply.body.clone();
    forged["created_at"] = json!("2001-01-01T00:00:00Z");
    forged["livemode"] = json!(true);
    let refused = http.put(&format!("/accounts/{id}"), key, forged).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.body["details"],
        json!({"created_at": "Read-only attribute", "livemode": "Read-only attribute"})
    );

    let batch = http
        .put("/accounts", key, json!({"object": "list", "values": [{"id": id, "created_at": "2001-01-01T00:00:00Z", "name": "X"}]}))
        .await;
    assert_eq!(batch.status, 400);
    assert_eq!(
        batch.body["details"],
        json!({"object": "list", "values": [{"created_at": "Read-only attribute"}]})
    );
    assert_eq!(http.get(&format!("/accounts/{id}"), key).await.body["name"], "Matthew");
}

#[tokio::test]
async fn batches_are_bounded_and_query_updates_need_a_change() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let values: Vec<Value> = (0..=paymesh_kit::MAX_BATCH)
        .map(|i| json!({"name": "N", "email": format!("n{i}@example.com")}))
        .collect();
    let too_many = http.post("/customers", key, json!({"object": "list", "values": values})).await;
    assert_eq!(too_many.status, 400);
    assert_eq!(too_many.body["details"], json!({"values": "At most 100 items per request"}));

    let nothing = http.put("/customers?name=Matt&mode=query", key, json!({})).await;
    assert_eq!(nothing.status, 400);
    assert_eq!(nothing.body["description"], "Send at least one attribute to change");
    assert_eq!(mesh.count("SELECT count(*) FROM identity.accounts WHERE type = 'customer'").await, 0);
}

#[tokio::test]
async fn batch_ids_are_matched_in_any_uuid_spelling() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let id =
        http.post("/customers", key, json!({"name": "Matt", "email": "matt@example.com"})).await.body["id"]
            .as_str()
            .unwrap()
            .to_uppercase();
    let updated = http
        .put("/customers", key, json!({"object": "list", "values": [{"id": id, "name": "Matthew"}]}))
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(names(&updated.body), ["Matthew"]);
}
