//! Keys and tokens through the gateway: restricted keys checked on the
//! exact REST path, revocation across the gateway's cache, rolling, and
//! access tokens as partners and hosted pages use them.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use paymesh_tests::{Mesh, key, test_key};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_restricted_key_is_held_to_its_permissions_on_every_path() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let admin = test_key(&mesh.acme);
    http.post("/customers", admin, json!({"name": "Matt", "email": "matt@example.com"})).await;

    let created = http
        .post(
            "/api_keys",
            admin,
            json!({"type": "secret", "name": "Reporting", "permissions": [{"method": "GET", "resource": "/customers"}]}),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let reader = created.body["key"].as_str().unwrap().to_owned();
    assert!(reader.starts_with("test_secret_key_"));
    assert_eq!(created.body["redacted"], format!("test_secret_key_…{}", &reader[reader.len() - 4..]));
    assert_eq!(created.body["permissions"], json!([{"method": "GET", "resource": "/customers"}]));

    assert_eq!(http.get("/customers", &reader).await.status, 200);
    let customer = http.get("/customers", &reader).await.body["values"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(http.get(&format!("/customers/{customer}"), &reader).await.status, 200);
    for (method, path) in [
        (Method::POST, "/customers"),
        (Method::GET, "/processing_accounts"),
        (Method::GET, "/accounts"),
        (Method::GET, "/api_keys"),
        (Method::DELETE, "/customers"),
    ] {
        let reply = http.send(http.request(method.clone(), path, Some(&reader)).json(&json!({}))).await;
        assert_eq!(reply.status, 403, "{method} {path}: {:?}", reply.body);
        assert_eq!(reply.body["error_type"], "Forbidden");
        assert_eq!(reply.body["description"], format!("This key's permissions do not allow {method} {path}"));
    }

    // The key's record never shows the key again.
    let id = created.body["id"].as_str().unwrap();
    let record = http.get(&format!("/api_keys/{id}"), admin).await.body;
    assert_eq!(record["key"], serde_json::Value::Null);
    assert_eq!(record["status"], "active");
    assert!(!record.to_string().contains(&reader[16..]));

    let bad = http
        .post(
            "/api_keys",
            admin,
            json!({"type": "root", "permissions": [{"method": "FETCH", "resource": "customers"}]}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body["details"],
        json!({"type": "Must be one of: secret, client", "permissions[0]": {"method": "Must be one of: GET, POST, PUT, DELETE, *"}})
    );
}

#[tokio::test]
async fn a_revoked_key_stops_working_within_the_cache_time_everywhere() {
    // Each process trusts a resolved key for 200 ms here (5 s by default).
    let mesh = Mesh::start_with(&[("PAYMESH_AUTH_CACHE_TTL_MS", "200")]).await;
    let http = mesh.http();
    let admin = test_key(&mesh.acme);
    let created = http.post("/api_keys", admin, json!({"type": "secret"})).await.body;
    let doomed = created["key"].as_str().unwrap().to_owned();
    assert_eq!(http.get("/customers", &doomed).await.status, 200, "now cached by the gateway");

    let revoked = http.delete(&format!("/api_keys/{}", created["id"].as_str().unwrap()), admin, None).await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert_eq!(revoked.body["status"], "revoked");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = http.get("/customers", &doomed).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body["error_type"], "Unauthorized");

    let itself = http.delete(&format!("/api_keys/{}", created["id"].as_str().unwrap()), &doomed, None).await;
    assert_eq!(itself.status, 401);
}

#[tokio::test]
async fn a_rolled_key_hands_over_to_its_replacement() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let admin = test_key(&mesh.acme);
    let created = http.post("/api_keys", admin, json!({"type": "secret", "name": "Nightly job"})).await.body;
    let id = created["id"].as_str().unwrap();
    let rolled =
        http.post(&format!("/api_keys/{id}/roll"), admin, json!({"grace_period_seconds": 3600})).await;
    assert_eq!(rolled.status, 200, "{:?}", rolled.body);
    let new_key = rolled.body["key"].as_str().unwrap();
    assert_eq!(rolled.body["name"], "Nightly job");
    assert_eq!(rolled.body["previous"]["status"], "expiring");
    assert_eq!(rolled.body["previous"]["rolled_to_id"], rolled.body["id"]);
    assert_eq!(http.get("/customers", new_key).await.status, 200);
    assert_eq!(
        http.get("/customers", created["key"].as_str().unwrap()).await.status,
        200,
        "the grace period"
    );

    let bad = http
        .post(
            &format!("/api_keys/{}/roll", rolled.body["id"].as_str().unwrap()),
            admin,
            json!({"grace_period_seconds": -1}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["details"], json!({"grace_period_seconds": "Must be a whole number of seconds"}));
    let too_long = http
        .post(
            &format!("/api_keys/{}/roll", rolled.body["id"].as_str().unwrap()),
            admin,
            json!({"grace_period_seconds": 9_999_999}),
        )
        .await;
    assert_eq!(too_long.status, 400, "{:?}", too_long.body);
    assert!(too_long.body["details"]["grace_period_seconds"].as_str().unwrap().contains("seven days"));
    let globex = http.post(&format!("/api_keys/{id}/roll"), test_key(&mesh.globex), json!({})).await;
    assert_eq!(globex.status, 404);
}

#[tokio::test]
async fn a_merchant_token_opens_one_processing_account_and_nothing_else() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let admin = test_key(&mesh.acme);
    let account = mesh.acme.default_accounts[0].to_string();
    let issued = http.post("/access_tokens", admin, json!({"type": "merchant", "account_id": account})).await;
    assert_eq!(issued.status, 200, "{:?}", issued.body);
    assert_eq!(issued.body["object"], "access_token");
    let jwt = issued.body["access_token"].as_str().unwrap().to_owned();

    let own = http
        .send(http.request(Method::GET, &format!("/processing_accounts/{account}"), None).bearer_auth(&jwt))
        .await;
    assert_eq!(own.status, 200, "{:?}", own.body);
    assert_eq!(own.body["processing"]["default"], true);
    let history = http
        .send(
            http.request(Method::GET, &format!("/processing_accounts/{account}/status_history"), None)
                .bearer_auth(&jwt),
        )
        .await;
    assert_eq!(history.status, 200, "{:?}", history.body);
    let customers = http.send(http.request(Method::GET, "/customers", None).bearer_auth(&jwt)).await;
    assert_eq!(customers.status, 403);
    let other = mesh.acme.default_accounts[1].to_string();
    let theirs = http
        .send(http.request(Method::GET, &format!("/processing_accounts/{other}"), None).bearer_auth(&jwt))
        .await;
    assert_eq!(theirs.status, 404);

    // One character inside the signature, where all six bits count (the
    // last character carries padding bits: changing it can make the text
    // malformed instead of forged).
    let mut bytes = jwt.clone().into_bytes();
    let at = bytes.len() - 10;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let forged = http
        .send(
            http.request(Method::GET, &format!("/processing_accounts/{account}"), None)
                .bearer_auth(&tampered),
        )
        .await;
    assert_eq!(forged.status, 401);
    assert_eq!(forged.body["description"], "Invalid token signature");
}

#[tokio::test]
async fn a_session_token_is_redeemed_once_by_the_hosted_page() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let admin = test_key(&mesh.acme);
    let client = key(&mesh.acme, "test_client_key_");
    let customer =
        http.post("/customers", admin, json!({"name": "Matt", "email": "matt@example.com"})).await.body;
    let customer_id = customer["id"].as_str().unwrap();
    let issued = http
        .post("/access_tokens", admin, json!({"type": "session_access", "account_id": customer_id}))
        .await;
    assert_eq!(issued.status, 200, "{:?}", issued.body);
    let token = issued.body["access_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("session_access_"));
    assert_eq!(issued.body["status"], "active");

    // A client key may not issue tokens, only redeem them.
    let refused = http
        .post("/access_tokens", client, json!({"type": "session_access", "account_id": customer_id}))
        .await;
    assert_eq!(refused.status, 403);
    let redeemed = http.post("/access_tokens/redeem", client, json!({"access_token": token})).await;
    assert_eq!(redeemed.status, 200, "{:?}", redeemed.body);
    assert_eq!(redeemed.body["status"], "redeemed");
    assert_eq!(redeemed.body["account"]["id"], customer_id);
    // The caller's key is fine; the token is what is refused.
    let again = http.post("/access_tokens/redeem", client, json!({"access_token": token})).await;
    assert_eq!(again.status, 400);
    assert_eq!(
        again.body["details"],
        json!({"access_token": "This session token has already been used; issue a new one"})
    );
    let forged = http
        .post(
            "/access_tokens/redeem",
            client,
            json!({"access_token": format!("session_access_{}", "x".repeat(32))}),
        )
        .await;
    assert_eq!(
        (forged.status, &forged.body["details"]),
        (400, &json!({"access_token": "Invalid session token"}))
    );
    let malformed = http.post("/access_tokens/redeem", client, json!({"access_token": 5})).await;
    assert_eq!(malformed.body["details"], json!({"access_token": "Must be a string"}));

    let listed = http.get("/access_tokens?status=redeemed", admin).await;
    assert_eq!(listed.body["values"].as_array().unwrap().len(), 1, "{:?}", listed.body);
    assert!(!listed.body.to_string().contains(&token[15..]), "a token is never shown again");
    let bad = http
        .post(
            "/access_tokens",
            admin,
            json!({"type": "merchant", "account_id": customer_id, "expires_at": "2030-01-01"}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["details"], json!({"expires_at": "Read-only attribute"}));
}

#[tokio::test]
async fn each_key_is_held_to_its_rate_and_told_when_to_retry() {
    let mesh =
        Mesh::start_with(&[("PAYMESH_RATE_LIMIT_PER_SEC", "1"), ("PAYMESH_RATE_LIMIT_BURST", "3")]).await;
    let http = mesh.http();
    let acme = test_key(&mesh.acme);
    for _ in 0..3 {
        assert_eq!(http.get("/customers", acme).await.status, 200);
    }
    let limited =
        http.post("/customers", acme, json!({"name": "Too Many", "email": "many@example.com"})).await;
    assert_eq!(limited.status, 429, "{:?}", limited.body);
    assert_eq!(limited.body["error_type"], "TooManyRequests");
    let retry: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After: {retry}");
    // Refused before any service: nothing was created.
    assert_eq!(
        mesh.count("SELECT count(*) FROM identity.accounts WHERE email = 'many@example.com'").await,
        0
    );
    // Another partner's key, and the same partner's live key, have their own.
    assert_eq!(http.get("/customers", test_key(&mesh.globex)).await.status, 200);
    assert_eq!(http.get("/customers", key(&mesh.acme, "secret_key_")).await.status, 200);
    // A bad key is refused as such, not counted against anyone.
    assert_eq!(http.get("/customers", "test_secret_key_unknown").await.status, 401);
    // Once the bucket refills, the key is served again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(http.get("/customers", acme).await.status, 200);
}

#[tokio::test]
async fn browsers_tokenize_with_client_keys_only() {
    let shop = "https://shop.example";
    let mesh = Mesh::start_with(&[("PAYMESH_CORS_ORIGINS", shop)]).await;
    let http = mesh.http();
    let (secret, client) = (test_key(&mesh.acme), key(&mesh.acme, "test_client_key_"));
    let payer = http.post("/customers", secret, json!({"name": "Matt", "email": "matt@example.com"})).await;
    let payer = payer.body["id"].as_str().unwrap().to_owned();

    // The preflight of the tokenization route, from the shop's page.
    let preflight = |path: &str, method: &str, origin: &str| {
        http.request(Method::OPTIONS, path, None)
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "authorization, content-type")
    };
    let ok = preflight("/payment_methods", "POST", shop).send().await.unwrap();
    assert_eq!(ok.status(), 204);
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], shop);
    assert_eq!(h["access-control-allow-methods"], "POST");
    assert!(h["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    assert_eq!(h["vary"], "origin");
    // Other routes, methods and origins are refused.
    for (path, method, origin) in [
        ("/customers", "POST", shop),
        ("/payment_methods", "GET", shop),
        ("/payment_methods", "POST", "https://evil.example"),
    ] {
        let refused = preflight(path, method, origin).send().await.unwrap();
        assert_eq!(refused.status(), 403, "{method} {path} from {origin}");
        assert!(refused.headers().get("access-control-allow-origin").is_none());
    }

    // The page tokenizes a card with the client key; it may read the answer.
    let card = json!({"type": "card", "account_id": payer,
        "card": {"card_number": "4242 4242 4242 4242", "expiry": "12/40"}, "billing_address": {"postal_code": "10001"}});
    let request =
        http.request(Method::POST, "/payment_methods", Some(client)).header("origin", shop).json(&card);
    let tokenized = http.send(request).await;
    assert_eq!(tokenized.status, 200, "{:?}", tokenized.body);
    assert_eq!(tokenized.headers["access-control-allow-origin"], shop);
    assert!(tokenized.headers["access-control-expose-headers"].to_str().unwrap().contains("x-request-id"));
    // Its errors are readable too.
    let request =
        http.request(Method::POST, "/payment_methods", Some(client)).header("origin", shop).json(&json!({}));
    let invalid = http.send(request).await;
    assert_eq!(
        (invalid.status, invalid.headers["access-control-allow-origin"].to_str().unwrap()),
        (400, shop)
    );

    // A secret key in a page is refused before anything is done; so is a
    // client key from another origin.
    let before = mesh.count("SELECT count(*) FROM identity.accounts").await;
    let request = http
        .request(Method::POST, "/customers", Some(secret))
        .header("origin", shop)
        .json(&json!({"name": "Ann", "email": "ann@example.com"}));
    let refused = http.send(request).await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    assert_eq!(
        refused.body["description"],
        "Only client keys may be used from a browser; keep secret keys on your server"
    );
    assert_eq!(mesh.count("SELECT count(*) FROM identity.accounts").await, before);
    let request = http
        .request(Method::POST, "/payment_methods", Some(client))
        .header("origin", "https://evil.example")
        .json(&card);
    assert_eq!(http.send(request).await.status, 403);

    // Servers send no Origin: nothing changes for them.
    let listed = http.get("/customers", secret).await;
    assert_eq!(listed.status, 200);
    assert!(listed.headers.get("access-control-allow-origin").is_none());
}
