//! Onboarding through the gateway, end to end: a payer, a recipient with
//! its payout, KYB (legal entity and owners), documents, and activation —
//! with sensitive numbers masked in every response and absent from logs.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use paymesh_tests::{CapturedLogs, Mesh, key, test_key};
use reqwest::{
    Method,
    multipart::{Form, Part},
};
use serde_json::{Value, json};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";

async fn upload(mesh: &Mesh, key: &str, fields: &[(&str, &str)], file_name: &str) -> paymesh_tests::Reply {
    let http = mesh.http();
    let mut form = Form::new();
    for (name, value) in fields {
        form = form.text((*name).to_owned(), (*value).to_owned());
    }
    let part = Part::bytes(PDF.to_vec()).file_name(file_name.to_owned()).mime_str("application/pdf").unwrap();
    http.send(http.request(Method::POST, "/documents", Some(key)).multipart(form.part("file", part))).await
}

#[tokio::test]
async fn a_recipient_is_onboarded_and_activated_through_rest() {
    let logs = CapturedLogs::start();
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);

    // A payer.
    let payer =
        http.post("/customers", key, json!({"name": "Matt Perez", "email": "matt@example.com"})).await;
    assert_eq!(payer.status, 200, "{:?}", payer.body);
    assert_eq!(payer.body["kyc_status"], "unverified");
    let payer_id = payer.body["id"].as_str().unwrap().to_owned();

    // A recipient with its payout; not active yet, and it says why.
    let recipient = http
        .post(
            "/processing_accounts",
            key,
            json!({
                "name": "Acme Rentals", "email": "billing@acme.example",
                "processing": {
                    "industry": "Property management", "category": "rent", "visibility": "partner",
                    "payout_method": "ach",
                    "payout_details": {"routing_number": "011000015", "account_number": "000123456789"}
                }
            }),
        )
        .await;
    assert_eq!(recipient.status, 200, "{:?}", recipient.body);
    let recipient = recipient.body;
    let id = recipient["id"].as_str().unwrap().to_owned();
    assert_eq!(recipient["object"], "processing_account");
    assert_eq!(recipient["processing"]["status"], "update_required");
    assert_eq!(
        recipient["processing"]["status_reasons"],
        json!(["legal_entity_id: link the legal entity (KYB) of the business"])
    );
    assert_eq!(
        recipient["processing"]["payout_details"],
        json!({"account_holder": "Acme Rentals", "routing_number": "011000015", "account_number_last4": "6789", "account_type": "checking"})
    );

    // KYB: the legal entity with its owner, in one request.
    let entity = http
        .post(
            "/legal_entities",
            key,
            json!({
                "legal_name": "Acme Rentals LLC", "type": "LIMITED_LIABILITY_COMPANY", "ein": "12-3456789",
                "street_address": "1 Main St", "city": "Albany", "state_province": "NY", "postal_code": "12207",
                "phone_number": "(518) 555-0199", "start_date": "2015-06-01", "state_incorporated": "DE",
                "contact_name": "Jane Doe", "contact_email": "jane@acme.example", "contact_title": "CEO",
                "owners": [{
                    "full_name": "Jane Doe", "title": "CEO", "ownership": 100, "birth_date": "1980-04-01",
                    "ssn": "123-45-6789", "street_address": "2 Elm St", "city": "Albany", "state_province": "NY",
                    "postal_code": "12208", "email": "jane@acme.example", "phone_number": "(518) 555-0100"
                }]
            }),
        )
        .await;
    assert_eq!(entity.status, 200, "{:?}", entity.body);
    let entity = entity.body;
    assert_eq!(entity["ein"], "xx-xxx6789");
    assert_eq!(entity["owners"][0]["ssn"], "xxx-xx-6789");
    assert_eq!(entity["owners"][0]["ownership"], 100);
    let entity_id = entity["id"].as_str().unwrap().to_owned();
    let owner_id = entity["owners"][0]["id"].as_str().unwrap().to_owned();

    let linked = http
        .put(
            &format!("/processing_accounts/{id}"),
            key,
            json!({"processing": {"legal_entity_id": entity_id}}),
        )
        .await;
    assert_eq!(linked.status, 200, "{:?}", linked.body);
    assert_eq!(linked.body["processing"]["status"], "update_required");
    assert_eq!(
        linked.body["processing"]["status_reasons"],
        json!([
            "legal_entity: No identity document has been submitted",
            "owner Jane Doe: No identity document has been submitted"
        ])
    );

    // Documents: multipart for the entity, base64 JSON for the owner.
    let ein_letter =
        upload(&mesh, key, &[("type", "ein_letter"), ("legal_entity_id", &entity_id)], "ein-letter.pdf")
            .await;
    assert_eq!(ein_letter.status, 200, "{:?}", ein_letter.body);
    assert_eq!(ein_letter.body["status"], "verified");
    assert_eq!(ein_letter.body["file_name"], "ein-letter.pdf");
    let passport = http
        .post(
            "/documents",
            key,
            json!({
                "type": "passport", "owner_id": owner_id, "file_name": "passport.pdf",
                "content_type": "application/pdf",
                "content": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PDF)
            }),
        )
        .await;
    assert_eq!(passport.status, 200, "{:?}", passport.body);

    // Active by itself, with its history.
    let active = http.get(&format!("/processing_accounts/{id}"), key).await.body;
    assert_eq!(active["processing"]["status"], "active");
    assert_eq!(active["processing"]["status_reasons"], json!([]));
    let history = http.get(&format!("/processing_accounts/{id}/status_history"), key).await;
    let steps: Vec<(Value, Value, Value)> = history.body["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["from_status"].clone(), c["to_status"].clone(), c["actor_type"].clone()))
        .collect();
    assert_eq!(
        steps,
        [
            (Value::Null, json!("pending"), json!("api_key")),
            (json!("pending"), json!("update_required"), json!("system")),
            (json!("update_required"), json!("active"), json!("system")),
        ]
    );
    assert_eq!(
        http.get(&format!("/processing_accounts?processing[status]=active&id={id}"), key).await.body["values"]
            [0]["id"],
        id
    );

    // The payer may pay it; so may every payer of the partner.
    let recipients = http.get(&format!("/customers/{payer_id}/recipients?name=Acme%20Rentals"), key).await;
    assert_eq!(recipients.body["values"].as_array().unwrap().len(), 1, "{:?}", recipients.body);

    // The document comes back as it was sent.
    let document_id = ein_letter.body["id"].as_str().unwrap();
    let file = http.client_get_bytes(&format!("/documents/{document_id}/file"), key).await;
    assert_eq!(file.0, 200);
    assert_eq!(file.1.as_slice(), PDF);
    assert_eq!(file.2.as_deref(), Some("attachment; filename=\"ein-letter.pdf\""));

    // Nowhere in any log: the SSN, the EIN, the bank account number.
    drop(mesh);
    let text = logs.text();
    assert!(text.contains("request finished"), "logs were captured");
    for secret in ["123-45-6789", "123456789", "12-3456789", "000123456789"] {
        assert!(!text.contains(secret), "{secret} appears in the logs");
    }
}

#[tokio::test]
async fn kyb_bad_input_is_named_per_attribute_and_changes_nothing() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let key = test_key(&mesh.acme);
    let bad = http
        .post(
            "/legal_entities",
            key,
            json!({
                "legal_name": "", "type": "LLC", "ein": "07-1234567", "postal_code": "ABC",
                "owners": [{"full_name": "Jane", "ssn": "666-12-3456", "ownership": "lots", "secret": 1}]
            }),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error_type"], "InvalidAttributes");
    assert_eq!(
        bad.body["details"]["type"],
        "Must be one of: LIMITED_LIABILITY_COMPANY, CORPORATION, PUBLIC_CORPORATION, PARTNERSHIP, GOVERNMENT_AGENCY, ASSOCIATION_ESTATE_TRUST, TAX_EXEMPT_ORGANIZATION, INDIVIDUAL_SOLE_PROPRIETORSHIP"
    );
    assert_eq!(bad.body["details"]["owners[0]"]["secret"], "Unknown attribute");

    let fields = http
        .post(
            "/legal_entities",
            key,
            json!({
                "legal_name": "", "type": "CORPORATION", "ein": "07-1234567", "postal_code": "ABC",
                "owners": [{"full_name": "Jane", "ssn": "666-12-3456", "ownership": 250}]
            }),
        )
        .await;
    assert_eq!(fields.status, 400);
    assert_eq!(
        fields.body["details"],
        json!({
            "legal_name": "Required",
            "ein": "Not a valid EIN: the IRS does not assign the prefix 07",
            "postal_code": "Must be a ZIP code, e.g. 10001 or 10001-1234",
            "owners[0]": {
                "ownership": "Must be more than 0 and at most 100 (percent)",
                "ssn": "Not a valid social security number"
            }
        })
    );
    // In JSON a number is a number: its text is refused at the edge.
    let text = http
        .post(
            "/legal_entities",
            key,
            json!({"legal_name": "Acme LLC", "type": "CORPORATION", "ein": "12-3456789", "postal_code": "10001",
                   "owners": [{"full_name": "Jane", "ssn": "123-45-6789", "ownership": "100"}]}),
        )
        .await;
    assert_eq!(text.status, 400, "{:?}", text.body);
    assert_eq!(text.body["details"], json!({"owners[0]": {"ownership": "Must be a number"}}));
    assert_eq!(mesh.count("SELECT count(*) FROM identity.legal_entities").await, 0);

    // Documents are kept: they cannot be changed or deleted.
    let delete = http.delete("/documents/01a1ffb8-0000-7000-8000-000000000000", key, None).await;
    assert_eq!((delete.status, delete.body["error_type"].as_str()), (405, Some("MethodNotAllowed")));
    let missing_file = http
        .send(
            http.request(Method::POST, "/documents", Some(key))
                .multipart(Form::new().text("type", "passport")),
        )
        .await;
    assert_eq!(missing_file.status, 400);
    assert_eq!(missing_file.body["details"], json!({"file": "Required: the document's file"}));
}

#[tokio::test]
async fn billers_and_other_partners_data_through_rest() {
    let mesh = Mesh::start().await;
    let http = mesh.http();
    let acme = test_key(&mesh.acme);
    let billers = http.get("/processing_accounts?processing[visibility]=biller&limit=5", acme).await;
    assert_eq!(billers.body["values"].as_array().unwrap().len(), 5);
    let biller = billers.body["values"][0]["id"].as_str().unwrap().to_owned();
    let live = key(&mesh.acme, "secret_key_");
    assert_eq!(http.get(&format!("/processing_accounts/{biller}"), live).await.status, 200, "in both modes");
    let changed = http.put(&format!("/processing_accounts/{biller}"), acme, json!({"name": "Mine"})).await;
    assert_eq!((changed.status, changed.body["error_type"].as_str()), (403, Some("Forbidden")));

    // A customer id is not found among processing accounts, and the other way round.
    let payer =
        http.post("/customers", acme, json!({"name": "Matt", "email": "matt@example.com"})).await.body;
    let payer_id = payer["id"].as_str().unwrap();
    assert_eq!(http.get(&format!("/processing_accounts/{payer_id}"), acme).await.status, 404);
    assert_eq!(http.get(&format!("/customers/{biller}"), acme).await.status, 404);

    let entity =
        http.post("/legal_entities", acme, json!({"legal_name": "Acme", "type": "CORPORATION"})).await.body;
    let entity_id = entity["id"].as_str().unwrap();
    let globex = test_key(&mesh.globex);
    for path in [
        format!("/legal_entities/{entity_id}"),
        format!("/legal_entities/{entity_id}/owners"),
        format!("/customers/{payer_id}/recipients"),
    ] {
        let reply = http.get(&path, globex).await;
        assert_eq!(reply.status, 404, "{path}: {:?}", reply.body);
    }
    let owner = http
        .post(&format!("/legal_entities/{entity_id}/owners"), globex, json!({"full_name": "Hijack"}))
        .await;
    assert_eq!(owner.status, 404);
    let owner = http
        .post(
            &format!("/legal_entities/{entity_id}/owners"),
            acme,
            json!({"full_name": "Jane Doe", "ownership": 50}),
        )
        .await;
    assert_eq!(owner.status, 200, "{:?}", owner.body);
    assert_eq!(owner.body["legal_entity_id"], entity_id);
}
