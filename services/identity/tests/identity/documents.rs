//! Identity documents: checked uploads, test-mode review, KYC moved by
//! documents, sealed contents, live-mode operator review — and, through
//! KYB documents, a processing account's activation.

use paymesh_kit::clock::Clock;
use paymesh_proto::identity::v1 as pb;
use tonic::Code;

use super::{
    Identity, key,
    kyb::{complete_entity, complete_owner, create_entity},
    processing::{check_payout, create_account, history, recipient},
    test_key, violations, with_key,
};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";

pub(super) fn upload(
    kind: pb::DocumentType,
    subject: Subject<'_>,
    file_name: &str,
) -> pb::CreateDocumentRequest {
    let mut document = pb::Document {
        r#type: kind as i32,
        file_name: file_name.to_owned(),
        content_type: "application/pdf".to_owned(),
        ..pb::Document::default()
    };
    match subject {
        Subject::Account(id) => document.account_id = Some(id.to_owned()),
        Subject::Entity(id) => document.legal_entity_id = Some(id.to_owned()),
        Subject::Owner(id) => document.owner_id = Some(id.to_owned()),
    }
    pb::CreateDocumentRequest { document: Some(document), content: PDF.to_vec() }
}

#[derive(Clone, Copy)]
pub(super) enum Subject<'a> {
    Account(&'a str),
    Entity(&'a str),
    Owner(&'a str),
}

pub(super) async fn send(
    identity: &Identity,
    key: &str,
    request: pb::CreateDocumentRequest,
) -> Result<pb::Document, tonic::Status> {
    identity
        .documents()
        .create_document(with_key(key, request))
        .await
        .map(|r| r.into_inner().document.unwrap())
}

async fn customer(identity: &Identity, key: &str) -> pb::Account {
    create_account(identity, key, super::customer("Matt Perez", "matt@example.com")).await
}

pub(super) async fn kyc(identity: &Identity, key: &str, id: &str) -> (i32, Vec<String>) {
    let account = identity
        .accounts()
        .get_account(with_key(key, pb::GetAccountRequest { id: id.to_owned() }))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    (account.kyc_status, account.kyc_status_reasons)
}

#[tokio::test]
async fn test_mode_verifies_a_document_at_once_and_the_customer_with_it() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let matt = customer(&identity, key).await;
    assert_eq!(kyc(&identity, key, &matt.id).await.0, pb::KycStatus::Unverified as i32);

    let document =
        send(&identity, key, upload(pb::DocumentType::Passport, Subject::Account(&matt.id), "passport.pdf"))
            .await
            .unwrap();
    assert_eq!(document.status, pb::DocumentStatus::Verified as i32);
    assert_eq!(document.size_bytes, i64::try_from(PDF.len()).unwrap());
    assert!(document.review_time.is_some());
    assert_eq!(kyc(&identity, key, &matt.id).await, (pb::KycStatus::Verified as i32, vec![]));
    assert_eq!(identity.outbox_events(&document.id).await, ["document.created", "document.verified"]);
    assert!(identity.outbox_events(&matt.id).await.contains(&"account.kyc_status".to_owned()));

    // The content is stored sealed, and comes back whole.
    let leaks = identity
        .count("SELECT count(*) FROM identity.documents WHERE position('%PDF'::bytea in content_sealed) > 0")
        .await;
    assert_eq!(leaks, 0);
    let content = identity
        .documents()
        .get_document_content(with_key(key, pb::GetDocumentContentRequest { id: document.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(content.content, PDF);
}

#[tokio::test]
async fn a_file_named_reject_is_rejected_with_its_reason() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let matt = customer(&identity, key).await;
    let rejected = send(
        &identity,
        key,
        upload(pb::DocumentType::DriversLicense, Subject::Account(&matt.id), "Reject-blurry.pdf"),
    )
    .await
    .unwrap();
    assert_eq!(rejected.status, pb::DocumentStatus::Rejected as i32);
    assert!(rejected.status_reason.as_deref().unwrap().contains("\"reject\""));
    let (status, reasons) = kyc(&identity, key, &matt.id).await;
    assert_eq!(status, pb::KycStatus::Rejected as i32);
    assert!(reasons[0].starts_with("A document was rejected: "));

    // A good document afterwards verifies the customer.
    send(&identity, key, upload(pb::DocumentType::Passport, Subject::Account(&matt.id), "passport.pdf"))
        .await
        .unwrap();
    assert_eq!(kyc(&identity, key, &matt.id).await.0, pb::KycStatus::Verified as i32);
}

#[tokio::test]
async fn bad_uploads_are_refused_and_store_nothing() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let matt = customer(&identity, key).await;
    let entity = create_entity(&identity, key, complete_entity(vec![])).await;
    let mut png_claimed = upload(pb::DocumentType::Passport, Subject::Account(&matt.id), "passport.png");
    png_claimed.document.as_mut().unwrap().content_type = "image/png".to_owned();
    let mut html = upload(pb::DocumentType::Passport, Subject::Account(&matt.id), "passport.html");
    html.document.as_mut().unwrap().content_type = "text/html".to_owned();
    let mut empty = upload(pb::DocumentType::Passport, Subject::Account(&matt.id), "passport.pdf");
    empty.content.clear();
    let mut traversal = upload(pb::DocumentType::Passport, Subject::Account(&matt.id), "../../etc/passwd");
    traversal.document.as_mut().unwrap().r#type = 42;
    let cases = [
        (png_claimed, "document.content", "The content is not a PNG file, as its type (image/png) says"),
        (html, "document.content_type", "Must be one of: application/pdf, image/jpeg, image/png"),
        (empty, "document.content", "The file is empty"),
        (
            upload(pb::DocumentType::Passport, Subject::Entity(&entity.id), "p.pdf"),
            "document.type",
            "A passport identifies a person: attach it to a customer or an owner",
        ),
        (
            upload(pb::DocumentType::EinLetter, Subject::Account(&matt.id), "ein.pdf"),
            "document.type",
            "EIN letters identify a business: attach them to a legal entity",
        ),
        (
            upload(pb::DocumentType::Passport, Subject::Account(&entity.id), "p.pdf"),
            "document.account_id",
            "No such customer",
        ),
        (
            upload(pb::DocumentType::Passport, Subject::Owner(&matt.id), "p.pdf"),
            "document.owner_id",
            "No such owner",
        ),
    ];
    for (request, field, why) in cases {
        let status = send(&identity, key, request).await.unwrap_err();
        assert_eq!(violations(&status), [(field.to_owned(), why.to_owned())]);
    }
    let status = send(&identity, key, traversal).await.unwrap_err();
    let fields: Vec<String> = violations(&status).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["document.type", "document.file_name"]);
    assert_eq!(identity.count("SELECT count(*) FROM identity.documents").await, 0);
    assert_eq!(identity.count("SELECT count(*) FROM identity.outbox WHERE resource = 'document'").await, 0);
}

#[tokio::test]
async fn oversized_documents_are_refused() {
    let identity = Identity::start_with(&[("PAYMESH_MAX_DOCUMENT_BYTES", "2048")], Clock::system()).await;
    let key = test_key(&identity.acme);
    let matt = customer(&identity, key).await;
    let mut big = upload(pb::DocumentType::Passport, Subject::Account(&matt.id), "passport.pdf");
    big.content.extend(std::iter::repeat_n(b' ', 4096));
    let status = send(&identity, key, big).await.unwrap_err();
    assert_eq!(
        violations(&status),
        [("document.content".to_owned(), "The file is larger than 2048 bytes".to_owned())]
    );
}

#[tokio::test]
async fn kyb_documents_activate_a_processing_account_by_themselves() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let entity = create_entity(
        &identity,
        key,
        complete_entity(vec![complete_owner("Jane Doe", "123-45-6789", "100")]),
    )
    .await;
    let mut account = recipient("Acme Rentals");
    let p = account.processing.as_mut().unwrap();
    (p.payout_method, p.payout_details) = check_payout();
    p.legal_entity_id = Some(entity.id.clone());
    let account = create_account(&identity, key, account).await;
    let reasons = account.processing.as_ref().unwrap().status_reasons.clone();
    assert_eq!(
        reasons,
        [
            "legal_entity: No identity document has been submitted",
            "owner Jane Doe: No identity document has been submitted"
        ]
    );

    send(&identity, key, upload(pb::DocumentType::EinLetter, Subject::Entity(&entity.id), "ein.pdf"))
        .await
        .unwrap();
    let still = identity
        .accounts()
        .get_account(with_key(key, pb::GetAccountRequest { id: account.id.clone() }))
        .await
        .unwrap();
    let p = still.into_inner().account.unwrap().processing.unwrap();
    assert_eq!(p.status, pb::ProcessingStatus::UpdateRequired as i32);
    assert_eq!(p.status_reasons, ["owner Jane Doe: No identity document has been submitted"]);

    send(
        &identity,
        key,
        upload(pb::DocumentType::Passport, Subject::Owner(&entity.owners[0].id), "passport.pdf"),
    )
    .await
    .unwrap();
    let active = identity
        .accounts()
        .get_account(with_key(key, pb::GetAccountRequest { id: account.id.clone() }))
        .await
        .unwrap();
    let p = active.into_inner().account.unwrap().processing.unwrap();
    assert_eq!(p.status, pb::ProcessingStatus::Active as i32);
    assert!(p.status_reasons.is_empty());
    let changes = history(&identity, key, &account.id).await;
    assert_eq!(
        changes.last().unwrap(),
        &(
            pb::ProcessingStatus::UpdateRequired as i32,
            pb::ProcessingStatus::Active as i32,
            "system".to_owned()
        )
    );
    let events = identity.outbox_events(&account.id).await;
    assert_eq!(events.iter().filter(|e| *e == "account.processing_status").count(), 2);
}

#[tokio::test]
async fn live_documents_wait_for_an_operator_and_the_account_is_in_review_meanwhile() {
    let identity = Identity::start().await;
    let live = key(&identity.acme, "secret_key_");
    let entity = create_entity(
        &identity,
        live,
        complete_entity(vec![complete_owner("Jane Doe", "123-45-6789", "100")]),
    )
    .await;
    let entity_doc =
        send(&identity, live, upload(pb::DocumentType::EinLetter, Subject::Entity(&entity.id), "ein.pdf"))
            .await
            .unwrap();
    let owner_doc = send(
        &identity,
        live,
        upload(pb::DocumentType::Passport, Subject::Owner(&entity.owners[0].id), "reject.pdf"),
    )
    .await
    .unwrap();
    assert_eq!(entity_doc.status, pb::DocumentStatus::Pending as i32, "no test rule in live mode");
    assert_eq!(owner_doc.status, pb::DocumentStatus::Pending as i32);

    // The live default account takes the KYB: everything is in, under review.
    let default = identity.acme.default_accounts[1].to_string();
    let link = pb::UpdateAccountRequest {
        account: Some(pb::Account {
            id: default.clone(),
            processing: Some(pb::Processing {
                payout_method: check_payout().0,
                payout_details: check_payout().1,
                legal_entity_id: Some(entity.id.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec![
                "processing.payout_method".into(),
                "processing.payout_details".into(),
                "processing.legal_entity_id".into(),
            ],
        }),
    };
    let linked =
        identity.accounts().update_account(with_key(live, link)).await.unwrap().into_inner().account.unwrap();
    assert_eq!(linked.processing.unwrap().status, pb::ProcessingStatus::InReview as i32);

    let status = paymesh_identity::admin::review_document(
        &identity.common,
        &identity.pool,
        entity_doc.id.parse().unwrap(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(status.as_str(), "verified");
    paymesh_identity::admin::review_document(
        &identity.common,
        &identity.pool,
        owner_doc.id.parse().unwrap(),
        None,
    )
    .await
    .unwrap();
    let account = identity
        .accounts()
        .get_account(with_key(live, pb::GetAccountRequest { id: default.clone() }))
        .await
        .unwrap();
    assert_eq!(
        account.into_inner().account.unwrap().processing.unwrap().status,
        pb::ProcessingStatus::Active as i32
    );
    let again = paymesh_identity::admin::review_document(
        &identity.common,
        &identity.pool,
        owner_doc.id.parse().unwrap(),
        Some("late".into()),
    )
    .await;
    assert!(again.unwrap_err().to_string().contains("already verified"));
}

#[tokio::test]
async fn another_partners_documents_do_not_exist() {
    let identity = Identity::start().await;
    let key = test_key(&identity.acme);
    let matt = customer(&identity, key).await;
    let document =
        send(&identity, key, upload(pb::DocumentType::Passport, Subject::Account(&matt.id), "passport.pdf"))
            .await
            .unwrap();
    let globex = test_key(&identity.globex);
    let mut client = identity.documents();
    let get = client.get_document(with_key(globex, pb::GetDocumentRequest { id: document.id.clone() })).await;
    assert_eq!(get.unwrap_err().code(), Code::NotFound);
    let content = client
        .get_document_content(with_key(globex, pb::GetDocumentContentRequest { id: document.id.clone() }))
        .await;
    assert_eq!(content.unwrap_err().code(), Code::NotFound);
    let status =
        send(&identity, globex, upload(pb::DocumentType::Passport, Subject::Account(&matt.id), "p.pdf"))
            .await
            .unwrap_err();
    assert_eq!(violations(&status)[0].1, "No such customer");
}

#[tokio::test]
async fn rotating_the_kek_rewraps_every_sealed_value_of_identity() {
    use base64::Engine as _;
    let random = || {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).unwrap();
        base64::engine::general_purpose::STANDARD.encode(key)
    };
    let (old, new) = (random(), random());
    let identity = Identity::start_with(&[("PAYMESH_KEKS", &format!("old:{old}"))], Clock::system()).await;
    let live = key(&identity.acme, "secret_key_");
    let entity = create_entity(
        &identity,
        live,
        complete_entity(vec![complete_owner("Jane Doe", "123-45-6789", "100")]),
    )
    .await;
    send(&identity, live, upload(pb::DocumentType::EinLetter, Subject::Entity(&entity.id), "ein.pdf"))
        .await
        .unwrap();

    let both = paymesh_kit::crypto::Keyring::new(
        paymesh_kit::crypto::parse_keys(&format!("new:{new},old:{old}")).unwrap(),
        "new".parse().unwrap(),
    )
    .unwrap();
    let common = paymesh_kit::config::CommonConfig { keyring: both, ..identity.common.clone() };
    let reports = paymesh_identity::admin::rotate_kek(&common).await.unwrap();
    let rewrapped: Vec<(&str, u64)> =
        reports.iter().map(|(column, r)| (column.as_str(), r.rewrapped)).collect();
    assert_eq!(
        rewrapped,
        [
            ("identity.accounts.payout_account_sealed", 0),
            ("identity.legal_entities.ein_sealed", 1),
            ("identity.legal_entity_owners.ssn_sealed", 1),
            ("identity.documents.content_sealed", 1),
        ]
    );
    assert!(reports.iter().all(|(_, r)| r.remaining.is_empty()));
    // Only the new key is needed now.
    let only_new = paymesh_kit::crypto::Keyring::new(
        paymesh_kit::crypto::parse_keys(&format!("new:{new}")).unwrap(),
        "new".parse().unwrap(),
    )
    .unwrap();
    let ein: Vec<u8> =
        sqlx::query_scalar("SELECT ein_sealed FROM identity.legal_entities WHERE id = $1::uuid")
            .bind(&entity.id)
            .fetch_one(&identity.pool)
            .await
            .unwrap();
    let context = format!("identity.legal_entities.ein:{}", entity.id);
    assert_eq!(only_new.open_text(&ein, &context).unwrap().as_str(), "123456789");
}
