//! Payment links end to end: created, read, listed, changed, canceled and
//! sent through REST (the reference's form encoding and JSON) and gRPC;
//! their hosted pay page paid once per submission, a one-time link once,
//! a decline shown and retried, typed amounts and further fields, a link
//! of an invoice paying it; canceled and expired links saying so; emails
//! through an SMTP relay, recorded without one, or sent as webhook events;
//! reminders on the clock; bad input refused with nothing written; and
//! another partner or mode seeing nothing. The same page in a real
//! browser is `tests/js/pay_page.mjs`, run at the end.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use paymesh_proto::billing::v1::{self as pb, payment_link_service_client::PaymentLinkServiceClient};
use paymesh_tests::{
    Mesh, authorized, browser_flow, form_encode as encode, live_key, run_browser_test, test_key,
};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

fn values(body: &Value) -> &Vec<Value> {
    body["values"].as_array().expect("a list")
}

async fn customer(mesh: &Mesh, key: &str, email: &str) -> String {
    let made = mesh.http().post("/customers", key, json!({"name": "Ada Payer", "email": email})).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    made.body["id"].as_str().unwrap().to_owned()
}

async fn link(mesh: &Mesh, key: &str, body: Value) -> Value {
    let made = mesh.http().post("/payment_links", key, body).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    made.body
}

/// A page as the browser gets it: the status and the HTML.
async fn page(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The submission id a rendered form carries.
fn submission(html: &str) -> String {
    let at = html.find("name=\"submission_id\" value=\"").expect("a form with a submission id");
    let rest = &html[at + "name=\"submission_id\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The reference a confirmation shows.
fn reference(html: &str) -> String {
    let at = html.find("Reference <code>").expect("a confirmation with its reference");
    let rest = &html[at + "Reference <code>".len()..];
    rest[..rest.find('<').unwrap()].to_owned()
}

const GOOD_CARD: &[(&str, &str)] = &[
    ("method", "card"),
    ("card_number", "4242 4242 4242 4242"),
    ("expiry", "12/30"),
    ("card_code", "123"),
    ("postal_code", "10001"),
];
const DECLINED_CARD: &[(&str, &str)] = &[
    ("method", "card"),
    ("card_number", "4111 1111 1111 9903"),
    ("expiry", "12/30"),
    ("card_code", "123"),
    ("postal_code", "10001"),
];
const PAYER: &[(&str, &str)] = &[("payer_name", "Ada Payer"), ("payer_email", "ada@example.com")];

/// Submits a page's form: the status and the HTML answered.
async fn submit(url: &str, submission: &str, fields: &[&[(&str, &str)]]) -> (u16, String) {
    let mut form: Vec<(&str, &str)> = vec![("submission_id", submission)];
    for group in fields {
        form.extend_from_slice(group);
    }
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let body: Vec<String> = form.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    let response = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
    (status, location.unwrap_or(response.text().await.unwrap()))
}

/// What a payment paid toward its link: its amount less any convenience
/// fee the processing settings add.
fn toward(payment: &Value) -> f64 {
    let fee = payment["cust_conv_fee"].as_f64().unwrap_or(0.0);
    ((payment["amount"].as_f64().unwrap() - fee) * 100.0).round() / 100.0
}

/// The payments a link took.
async fn payments_of(mesh: &Mesh, key: &str, link: &str) -> Vec<Value> {
    let found = mesh.http().get(&format!("/transactions?attrs[payment_link_id]={link}"), key).await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    values(&found.body).clone()
}

#[tokio::test]
async fn links_are_created_read_listed_changed_and_canceled_through_rest_and_grpc() {
    let mesh = Mesh::start().await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let processing = mesh.acme.default_accounts[0].to_string();

    // The reference's curl, form-encoded as written.
    let form = format!("type=one_time&description=Payment+Request&amount=10&processing_id={processing}");
    let made = http
        .send(
            http.request(Method::POST, "/payment_links", Some(key))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form),
        )
        .await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    let body = &made.body;
    assert_eq!(
        (body["object"].as_str(), body["type"].as_str(), body["status"].as_str()),
        (Some("payment_link"), Some("one_time"), Some("active"))
    );
    assert_eq!((body["amount"].as_f64(), body["currency"].as_str()), (Some(10.0), Some("USD")));
    assert_eq!(body["processing_id"], processing.as_str());
    let url = body["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/pay/", mesh.url)), "{url}");
    assert!(url.len() > mesh.url.len() + 40, "a long secret token: {url}");
    let id = body["id"].as_str().unwrap().to_owned();

    // "Include Additional Data Fields": the curl sends the list as JSON
    // text (the reference's own text lacks a quote, `{"title:"…`, which is
    // refused as what it is; corrected, it is read).
    let with_fields = |fields: &str| {
        format!(
            "type=one_time&description=Payment+Request&amount=10&additional_datafields={}",
            encode(fields)
        )
    };
    let form_post = |body: String| {
        http.request(Method::POST, "/payment_links", Some(key))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    let typo = http
        .send(form_post(with_fields(r#"[{"section":"Extra Fields","fields":[{"title:"Field Name"}]}]"#)))
        .await;
    assert_eq!(typo.status, 400, "{:?}", typo.body);
    assert!(typo.body["details"]["additional_datafields"].as_str().unwrap().contains("not a JSON list"));
    let fixed = http
        .send(form_post(with_fields(r#"[{"section":"Extra Fields","fields":[{"title":"Field Name"}]}]"#)))
        .await;
    assert_eq!(fixed.status, 200, "{:?}", fixed.body);
    assert_eq!(fixed.body["additional_datafields"][0]["fields"][0]["title"], "Field Name");

    // Without a processing account, the partner's default one.
    let plain = link(&mesh, key, json!({"description": "Dues"})).await;
    assert_eq!(
        (plain["processing_id"].as_str(), plain["type"].as_str()),
        (Some(processing.as_str()), Some("one_time"))
    );

    // Read, listed with the query language, changed.
    assert_eq!(http.get(&format!("/payment_links/{id}"), key).await.body["url"], url);
    let listed = http.get("/payment_links?amount=>5&status=active&order_by=created_at&limit=1", key).await;
    assert_eq!(
        values(&listed.body).iter().map(|l| l["id"].as_str().unwrap()).collect::<Vec<_>>(),
        [id.as_str()]
    );
    let changed = http
        .put(
            &format!("/payment_links/{id}"),
            key,
            json!({"description": "Invoice #12", "due_date": "2030-01-31", "attrs": {"order": "12"}}),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(
        (changed.body["description"].as_str(), changed.body["due_date"].as_str()),
        (Some("Invoice #12"), Some("2030-01-31"))
    );
    // A link is canceled, not deleted; once canceled it stays so.
    let deleted = http.delete(&format!("/payment_links/{id}"), key, None).await;
    assert_eq!(deleted.status, 405, "{:?}", deleted.body);
    let canceled = http.put(&format!("/payment_links/{id}"), key, json!({"status": "canceled"})).await;
    assert_eq!(canceled.body["status"], "canceled", "{:?}", canceled.body);
    let again = http.put(&format!("/payment_links/{id}"), key, json!({"description": "x"})).await;
    assert_eq!(again.status, 409, "{:?}", again.body);
    assert!(again.body["description"].as_str().unwrap().contains("canceled"), "{:?}", again.body);
    let reopened = http.put(&format!("/payment_links/{id}"), key, json!({"status": "paid"})).await;
    assert_eq!(reopened.status, 400, "{:?}", reopened.body);
    // Its attributes still change.
    let tagged = http.put(&format!("/payment_links/{id}"), key, json!({"attrs": {"note": "void"}})).await;
    assert_eq!(tagged.body["attrs"]["note"], "void", "{:?}", tagged.body);

    // The same through gRPC.
    let mut grpc = PaymentLinkServiceClient::new(mesh.billing_channel());
    let created = grpc
        .create_payment_link(authorized(
            key,
            pb::CreatePaymentLinkRequest {
                payment_link: Some(pb::PaymentLink {
                    r#type: pb::PaymentLinkType::Reusable as i32,
                    description: "Donations".into(),
                    processing_id: processing.clone(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .payment_link
        .unwrap();
    assert_eq!(created.status, pb::PaymentLinkStatus::Active as i32);
    assert!(created.url.contains("/pay/"));
    let read = grpc
        .get_payment_link(authorized(key, pb::GetPaymentLinkRequest { id: created.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.payment_link.unwrap().description, "Donations");
    let refused = grpc
        .create_payment_link(authorized(
            key,
            pb::CreatePaymentLinkRequest { payment_link: Some(pb::PaymentLink::default()) },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let sent = grpc
        .send_payment_link(authorized(
            key,
            pb::SendPaymentLinkRequest {
                id: created.id,
                channel: String::new(),
                email: "ada@example.com".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .payment_link
        .unwrap();
    assert_eq!(sent.messages.len(), 1);
    assert_eq!(
        (sent.messages[0].status.as_str(), sent.messages[0].recipient.as_str()),
        ("recorded", "ada@example.com")
    );

    // Every change is an event.
    mesh.until_events_published().await;
    let events = http.get(&format!("/events?resource_id={id}&order_by=created_at"), key).await;
    let kinds: Vec<&str> = values(&events.body).iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in ["payment_link.created", "payment_link.updated", "payment_link.canceled"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
}

#[tokio::test]
async fn bad_input_is_refused_per_field_and_changes_nothing() {
    let mesh = Mesh::start().await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let customer = customer(&mesh, key, "ada@example.com").await;
    let other_customer = customer_of_globex(&mesh).await;
    let problems = [
        (json!({"type": "weekly", "description": "x"}), "type"),
        (json!({"description": ""}), "description"),
        (json!({"description": "x", "amount": -1}), "amount"),
        (json!({"description": "x", "amount": 0.001}), "amount"),
        (json!({"description": "x", "amount": 10, "currency": "XYZ"}), "currency"),
        (json!({"description": "x", "expires_at": "2001-01-01T00:00:00Z"}), "expires_at"),
        (json!({"description": "x", "redirect_url": "ftp://shop.example"}), "redirect_url"),
        (json!({"description": "x", "reminders": {"days_before": [3]}}), "reminders"),
        (
            json!({"description": "x", "reminders": {"days_after": [0]}, "due_date": "2030-01-01"}),
            "reminders",
        ),
        (json!({"description": "x", "due_date": "tomorrow"}), "due_date"),
        (json!({"description": "x", "customer_id": other_customer}), "customer_id"),
        (json!({"description": "x", "processing_id": uuid::Uuid::now_v7().to_string()}), "processing_id"),
        (json!({"description": "x", "invoice_id": uuid::Uuid::now_v7().to_string()}), "invoice_id"),
        (
            json!({"description": "x", "customer_id": customer, "customer": {"name": "B", "email": "b@example.com"}}),
            "customer",
        ),
        (json!({"description": "x", "customer": {"name": "B", "email": "not an email"}}), "customer"),
        (
            json!({"description": "x", "additional_datafields": [{"section": "S", "fields": [{"title": "Unit"}, {"title": "unit"}]}]}),
            "additional_datafields",
        ),
        (
            json!({"description": "x", "additional_datafields": [{"section": "S", "fields": []}]}),
            "additional_datafields",
        ),
        (json!({"description": "x", "status": "paid"}), "status"),
    ];
    for (body, field) in problems {
        let reply = http.post("/payment_links", key, body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {:?}", reply.body);
        assert_eq!(reply.body["error_type"], "InvalidAttributes", "{body}: {:?}", reply.body);
        let named = reply.body["details"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k == field || k.starts_with(&format!("{field}[")));
        assert!(named, "{body}: no problem with {field} in {:?}", reply.body);
    }
    assert!(values(&http.get("/payment_links", key).await.body).is_empty(), "nothing was written");
    // No customer was made by a refused inline customer either.
    assert_eq!(values(&http.get("/customers", key).await.body).len(), 1);

    // Updates: unknown attributes, bad values, and sending without an address.
    let made = link(&mesh, key, json!({"description": "Dues", "amount": 5})).await;
    let id = made["id"].as_str().unwrap();
    for (body, field) in [
        (json!({"type": "reusable"}), "type"),
        (json!({"amount": 0}), "amount"),
        (json!({"expires_at": "2001-01-01T00:00:00Z"}), "expires_at"),
        (json!({"reminders": {"days_before": [1]}}), "reminders"),
    ] {
        let reply = http.put(&format!("/payment_links/{id}"), key, body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {:?}", reply.body);
        assert!(reply.body["details"].get(field).is_some(), "{body}: {:?}", reply.body);
    }
    let unchanged = http.get(&format!("/payment_links/{id}"), key).await.body;
    assert_eq!(
        (unchanged["amount"].as_f64(), unchanged["modified_at"].clone()),
        (Some(5.0), made["modified_at"].clone())
    );
    let unsent = http.post(&format!("/payment_links/{id}/send"), key, json!({})).await;
    assert_eq!(unsent.status, 400, "{:?}", unsent.body);
    assert!(unsent.body["details"]["email"].as_str().unwrap().contains("no customer"), "{:?}", unsent.body);
    let wrong = http
        .post(&format!("/payment_links/{id}/send"), key, json!({"channel": "fax", "email": "a@b.example"}))
        .await;
    assert_eq!(wrong.status, 400, "{:?}", wrong.body);
    assert!(
        http.get(&format!("/payment_links/{id}"), key).await.body["messages"].as_array().unwrap().is_empty()
    );
}

async fn customer_of_globex(mesh: &Mesh) -> String {
    customer(mesh, test_key(&mesh.globex), "other@example.com").await
}

#[tokio::test]
async fn another_partner_or_mode_sees_nothing() {
    let mesh = Mesh::start().await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let made = link(&mesh, key, json!({"description": "Dues", "amount": 5})).await;
    let id = made["id"].as_str().unwrap();
    for other in [test_key(&mesh.globex), live_key(&mesh.acme)] {
        assert_eq!(http.get(&format!("/payment_links/{id}"), other).await.status, 404);
        assert!(values(&http.get("/payment_links", other).await.body).is_empty());
        assert_eq!(
            http.put(&format!("/payment_links/{id}"), other, json!({"status": "canceled"})).await.status,
            404
        );
        let send =
            http.post(&format!("/payment_links/{id}/send"), other, json!({"email": "a@b.example"})).await;
        assert_eq!(send.status, 404, "{:?}", send.body);
    }
    assert_eq!(http.get(&format!("/payment_links/{id}"), key).await.body["status"], "active");
    // A page of no link is not found, and says so.
    let (status, html) = page(&format!("{}/pay/{}", mesh.url, "x".repeat(43))).await;
    assert_eq!(status, 404);
    assert!(html.contains("Payment link not found"));
}

#[tokio::test]
async fn the_pay_page_charges_once_per_submission_and_a_one_time_link_once() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let made =
        link(&mesh, key, json!({"type": "one_time", "description": "Payment Request", "amount": 10})).await;
    let (id, url) = (made["id"].as_str().unwrap(), made["url"].as_str().unwrap());

    let (status, html) = page(url).await;
    assert_eq!(status, 200);
    assert!(html.contains("Payment Request") && html.contains("$10.00") && html.contains("Acme"), "{html}");
    assert!(html.contains("name=\"payer_email\""), "a link without a customer asks who pays");
    let sent = submission(&html);
    // The same submission twice (a double click, a reload): one payment.
    let (first, second) =
        tokio::join!(submit(url, &sent, &[PAYER, GOOD_CARD]), submit(url, &sent, &[PAYER, GOOD_CARD]));
    let (ok, again) = if first.0 == 200 { (first, second) } else { (second, first) };
    assert_eq!(ok.0, 200, "{}", ok.1);
    assert!(ok.1.contains("Payment received"), "{}", ok.1);
    let transaction = reference(&ok.1);
    // The other one answers the same payment, or that it is under way.
    assert!(again.0 == 200 && reference(&again.1) == transaction || again.0 == 422, "{again:?}");
    let (reloaded, html) = submit(url, &sent, &[PAYER, GOOD_CARD]).await;
    assert_eq!((reloaded, reference(&html)), (200, transaction.clone()));

    let payments = payments_of(&mesh, key, id).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!((payments[0]["id"].as_str(), toward(&payments[0])), (Some(transaction.as_str()), 10.0));
    let paid = mesh.http().get(&format!("/payment_links/{id}"), key).await.body;
    assert_eq!(
        (paid["status"].as_str(), paid["transaction_id"].as_str()),
        (Some("paid"), Some(transaction.as_str()))
    );
    assert_eq!((paid["payment_count"].as_u64(), paid["amount_paid"].as_f64()), (Some(1), Some(10.0)));
    // The payer became a customer, and the payment is theirs.
    let payer = paid["customer_id"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| payments[0]["customer_id"].as_str().map(str::to_owned));
    assert!(payer.is_some(), "{payments:?}");

    // A new submission of a paid one-time link charges nothing.
    let (status, html) = page(url).await;
    assert_eq!(status, 200);
    assert!(html.contains("already been paid") && !html.contains("<form"), "{html}");
    let (status, html) = submit(url, "another-submission-0001", &[PAYER, GOOD_CARD]).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("already been paid"));
    assert_eq!(payments_of(&mesh, key, id).await.len(), 1);
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_declined_card_shows_its_message_and_a_retry_pays() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let made = link(&mesh, key, json!({"description": "Payment Request", "amount": 10})).await;
    let (id, url) = (made["id"].as_str().unwrap(), made["url"].as_str().unwrap());
    let (_, html) = page(url).await;
    let (status, html) = submit(url, &submission(&html), &[PAYER, DECLINED_CARD]).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(!html.contains("4111 1111 1111 9903") && !html.contains("4111111111119903"), "never echoed");
    assert!(html.contains("value=\"Ada Payer\""), "what the payer typed is kept");
    let declined = payments_of(&mesh, key, id).await;
    assert_eq!(declined.len(), 1);
    assert_eq!(declined[0]["status"], "declined");
    let message = declined[0]["status_message"].as_str().unwrap_or("declined");
    assert!(html.contains(message), "the decline's own message ({message}) is shown: {html}");
    assert_eq!(mesh.http().get(&format!("/payment_links/{id}"), key).await.body["status"], "active");

    // The re-rendered form carries a new submission: the retry is charged.
    let (status, html) = submit(url, &submission(&html), &[PAYER, GOOD_CARD]).await;
    assert_eq!(status, 200, "{html}");
    let transaction = reference(&html);
    let paid = mesh.http().get(&format!("/payment_links/{id}"), key).await.body;
    assert_eq!(
        (paid["status"].as_str(), paid["transaction_id"].as_str()),
        (Some("paid"), Some(transaction.as_str()))
    );

    // Bad input on the page is shown field by field, and charges nothing.
    let other = link(&mesh, key, json!({"description": "More", "amount": 3})).await;
    let other_url = other["url"].as_str().unwrap();
    let (_, html) = page(other_url).await;
    let bad_card: &[(&str, &str)] =
        &[("method", "card"), ("card_number", "4242"), ("expiry", "13/99"), ("postal_code", "10001")];
    let (status, html) = submit(other_url, &submission(&html), &[&[("payer_name", "")], bad_card]).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
    assert!(
        payments_of(&mesh, key, other["id"].as_str().unwrap())
            .await
            .iter()
            .all(|p| p["status"] != "processed")
    );
}

#[tokio::test]
async fn a_reusable_link_takes_typed_amounts_and_answers_its_fields() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let made = link(
        &mesh,
        key,
        json!({
            "type": "reusable", "description": "Donations", "redirect_url": "https://shop.example/thanks?from=pay",
            "additional_datafields": [{"section": "Extra Fields", "fields": [
                {"title": "Unit", "required": true}, {"title": "Note", "placeholder": "Anything else"}]}],
        }),
    )
    .await;
    let (id, url) = (made["id"].as_str().unwrap(), made["url"].as_str().unwrap());
    let (_, html) = page(url).await;
    assert!(
        html.contains("name=\"amount\"") && html.contains("Extra Fields") && html.contains("Anything else"),
        "{html}"
    );
    // A required field left out, and no amount: said under each input.
    let (status, html) = submit(url, &submission(&html), &[PAYER, GOOD_CARD]).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("id=\"f-amount-error\"") && html.contains("id=\"f-answer-Unit-error\""), "{html}");
    assert!(payments_of(&mesh, key, id).await.is_empty());

    let answers: &[(&str, &str)] = &[("amount", "12.34"), ("answer:Unit", "4B"), ("answer:Note", "")];
    let (status, location) = submit(url, &submission(&html), &[PAYER, GOOD_CARD, answers]).await;
    // The link's redirect, with the payment named.
    assert_eq!(status, 303, "{location}");
    assert!(location.starts_with("https://shop.example/thanks?from=pay&transaction_id="), "{location}");
    let (_, html) = page(url).await;
    let (status, _) =
        submit(url, &submission(&html), &[PAYER, GOOD_CARD, &[("amount", "5"), ("answer:Unit", "7")]]).await;
    assert_eq!(status, 303);

    let payments = payments_of(&mesh, key, id).await;
    let mut amounts: Vec<f64> = payments.iter().map(toward).collect();
    amounts.sort_by(f64::total_cmp);
    assert_eq!(amounts, [5.0, 12.34]);
    assert!(
        payments.iter().any(|p| p["attrs"]["Unit"] == "4B"),
        "answers are stored in the payment's attrs: {payments:?}"
    );
    let after = mesh.http().get(&format!("/payment_links/{id}"), key).await.body;
    assert_eq!(
        (after["status"].as_str(), after["payment_count"].as_u64(), after["amount_paid"].as_f64()),
        (Some("active"), Some(2), Some(17.34))
    );
}

#[tokio::test]
async fn a_link_of_an_invoice_pays_its_balance() {
    let mesh = Mesh::start().await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let customer = customer(&mesh, key, "ada@example.com").await;
    let invoice = http
        .post("/invoices", key, json!({"customer_id": customer, "description": "December rent", "items": [
            {"type": "rent", "description": "Rent", "amount": 25}, {"description": "Parking", "amount": 4.99}]}))
        .await;
    assert_eq!(invoice.status, 200, "{:?}", invoice.body);
    let invoice_id = invoice.body["id"].as_str().unwrap();
    let made = link(&mesh, key, json!({"description": "December rent", "invoice_id": invoice_id})).await;
    assert_eq!(made["customer_id"].as_str(), Some(customer.as_str()), "the invoice's customer");
    assert_eq!(made["amount"], Value::Null);
    // The invoice's customer was sent the link at once.
    assert_eq!(made["messages"][0]["recipient"], "ada@example.com");
    let url = made["url"].as_str().unwrap();
    let (_, html) = page(url).await;
    assert!(
        html.contains("Parking") && html.contains("$29.99") && !html.contains("name=\"payer_email\""),
        "{html}"
    );
    let (status, html) = submit(url, &submission(&html), &[GOOD_CARD]).await;
    assert_eq!(status, 200, "{html}");
    let paid = http.get(&format!("/invoices/{invoice_id}"), key).await.body;
    assert_eq!((paid["status"].as_str(), paid["amount_due"].as_f64()), (Some("paid"), Some(0.0)), "{paid:?}");
    let (_, html) = page(url).await;
    assert!(html.contains("already been paid"), "{html}");
    // A paid invoice takes no new link.
    let refused =
        http.post("/payment_links", key, json!({"description": "x", "invoice_id": invoice_id})).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert!(refused.body["details"]["invoice_id"].as_str().unwrap().contains("paid"));
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn canceled_and_expired_links_say_so_and_take_nothing() {
    let mesh = Mesh::start_at("2026-03-01T12:00:00Z").await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let canceled = link(&mesh, key, json!({"description": "Dues", "amount": 5})).await;
    let (id, url) = (canceled["id"].as_str().unwrap(), canceled["url"].as_str().unwrap());
    let (_, html) = page(url).await;
    let form = submission(&html);
    http.put(&format!("/payment_links/{id}"), key, json!({"status": "canceled"})).await;
    let (_, html) = page(url).await;
    assert!(html.contains("was canceled") && !html.contains("<form"), "{html}");
    // A form opened before the cancel is refused too.
    let (status, html) = submit(url, &form, &[PAYER, GOOD_CARD]).await;
    assert_eq!(status, 409, "{html}");
    assert!(payments_of(&mesh, key, id).await.is_empty());

    let expiring =
        link(&mesh, key, json!({"description": "Dues", "amount": 5, "expires_at": "2026-03-01T13:00:00Z"}))
            .await;
    let (id, url) = (expiring["id"].as_str().unwrap(), expiring["url"].as_str().unwrap());
    mesh.set_clock("2026-03-01T13:00:01Z");
    let (_, html) = page(url).await;
    assert!(html.contains("has expired"), "{html}");
    // The sweep stores it, and says so.
    for _ in 0..400 {
        if http.get(&format!("/payment_links?status=expired&id={id}"), key).await.body["values"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(http.get(&format!("/payment_links/{id}"), key).await.body["status"], "expired");
    let sent = http.post(&format!("/payment_links/{id}/send"), key, json!({"email": "a@b.example"})).await;
    assert_eq!(sent.status, 409, "{:?}", sent.body);
    mesh.until_events_published().await;
    let events = http.get(&format!("/events?resource_id={id}&type=payment_link.expired"), key).await;
    assert_eq!(values(&events.body).len(), 1, "{:?}", events.body);
}

/// A fake SMTP relay on a port of its own: its address, and each message's
/// DATA as it comes.
async fn smtp_relay() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (sender, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sender = sender.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 relay.test ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            sender.send(data.take().unwrap()).ok();
                            write.write_all(b"250 2.0.0 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 relay.test\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.ok();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (address, received)
}

#[tokio::test]
async fn links_are_emailed_through_the_relay_or_sent_as_webhook_events() {
    let (relay, mut received) = smtp_relay().await;
    let smtp = format!("smtp://{relay}");
    let mesh = Mesh::start_with(&[
        ("PAYMESH_SMTP_URL", &smtp),
        ("PAYMESH_MAIL_FROM", "Acme billing <billing@acme.example>"),
    ])
    .await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let customer = customer(&mesh, key, "ada@example.com").await;
    // A link made for a customer is emailed to it at once (Payload's
    // automatic email), through the relay.
    let made = link(&mesh, key, json!({"description": "Payment Request", "amount": 10, "customer_id": customer, "due_date": "2030-05-01"})).await;
    let (id, url) = (made["id"].as_str().unwrap(), made["url"].as_str().unwrap());
    let mail = tokio::time::timeout(Duration::from_secs(15), received.recv()).await.unwrap().unwrap();
    assert!(mail.contains("To: ada@example.com"), "{mail}");
    assert!(
        mail.contains("From: \"Acme billing\" <billing@acme.example>")
            || mail.contains("From: Acme billing <billing@acme.example>"),
        "{mail}"
    );
    assert!(mail.contains("Subject: Payment requested by"), "{mail}");
    assert!(mail.contains("May 1, 2030"), "{mail}");
    assert!(mail.replace("=\n", "").contains(url), "the page's address is in the email: {mail}");
    let messages = http.get(&format!("/payment_links/{id}"), key).await.body["messages"].clone();
    assert_eq!(
        (messages[0]["status"].as_str(), messages[0]["channel"].as_str()),
        (Some("sent"), Some("email")),
        "{messages:?}"
    );
    assert!(messages[0]["sent_at"].is_string());

    // Sent again on request, to another address.
    let again =
        http.post(&format!("/payment_links/{id}/send"), key, json!({"email": "billing@ada.example"})).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    let mail = tokio::time::timeout(Duration::from_secs(15), received.recv()).await.unwrap().unwrap();
    assert!(mail.contains("To: billing@ada.example"), "{mail}");

    // Or to the partner's webhooks, as an event that carries the email.
    let hooked = http.post(&format!("/payment_links/{id}/send"), key, json!({"channel": "webhook"})).await;
    assert_eq!(hooked.status, 200, "{:?}", hooked.body);
    let last = hooked.body["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["channel"].as_str(), last["status"].as_str()), (Some("webhook"), Some("sent")));
    mesh.until_events_published().await;
    let events =
        http.get(&format!("/events?resource_id={id}&type=payment_link.sent&order_by=created_at"), key).await;
    let events = values(&events.body);
    assert_eq!(events.len(), 3, "{events:?}");
    let carried = &events[2]["data"];
    assert_eq!(
        (carried["message"]["channel"].as_str(), carried["url"].as_str()),
        (Some("webhook"), Some(url)),
        "{carried:?}"
    );
    assert!(carried["message"]["body"].as_str().unwrap().contains(url));
    // No more email went to the relay for the webhook message.
    assert!(tokio::time::timeout(Duration::from_millis(300), received.recv()).await.is_err());
}

#[tokio::test]
async fn reminders_go_out_on_their_days_until_the_link_is_paid() {
    let mesh = Mesh::start_at("2026-04-01T12:00:00Z").await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let customer = customer(&mesh, key, "ada@example.com").await;
    let made = link(
        &mesh,
        key,
        json!({"description": "Rent", "amount": 10, "customer_id": customer, "due_date": "2026-04-10",
               "reminders": {"days_before": [3], "days_after": [1]}}),
    )
    .await;
    let (id, url) = (made["id"].as_str().unwrap(), made["url"].as_str().unwrap());
    assert_eq!(made["reminders"], json!({"days_before": [3], "days_after": [1]}));
    let reminders = |body: &Value| -> Vec<Value> {
        body["messages"].as_array().unwrap().iter().filter(|m| m["kind"] == "reminder").cloned().collect()
    };
    let until_reminders = |count: usize| {
        let http = http.clone();
        async move {
            for _ in 0..400 {
                let body = http.get(&format!("/payment_links/{id}"), key).await.body;
                if reminders(&body).len() >= count {
                    return body;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("{count} reminders never went out");
        }
    };
    // Not before their day.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(reminders(&http.get(&format!("/payment_links/{id}"), key).await.body).is_empty());
    mesh.set_clock("2026-04-07T09:00:00Z");
    let body = until_reminders(1).await;
    let first = &reminders(&body)[0];
    assert_eq!(
        (first["recipient"].as_str(), first["status"].as_str()),
        (Some("ada@example.com"), Some("recorded"))
    );
    assert!(first["subject"].as_str().unwrap().starts_with("Reminder:"));
    // Once a day only, however many sweeps pass.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reminders(&http.get(&format!("/payment_links/{id}"), key).await.body).len(), 1);
    mesh.set_clock("2026-04-11T09:00:00Z");
    until_reminders(2).await;

    // Paid, it reminds no more.
    let (_, html) = page(url).await;
    let (status, html) = submit(url, &submission(&html), &[GOOD_CARD]).await;
    assert_eq!(status, 200, "{html}");
    http.put(&format!("/payment_links/{id}"), key, json!({"attrs": {"x": "1"}})).await;
    mesh.set_clock("2026-04-30T09:00:00Z");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reminders(&http.get(&format!("/payment_links/{id}"), key).await.body).len(), 2);
}

/// The page in a real browser: `tests/js/pay_page.mjs` (Chromium driven by
/// playwright-core) opens three links from a partner page on another
/// origin, pays one, sees a decline and retries another, double-submits
/// the third, and checks no card number reaches the partner page or the
/// console. Its screenshots go to `target/screenshots`.
#[tokio::test]
async fn the_pay_page_works_in_a_real_browser() {
    let mesh = Mesh::start().await;
    let key = test_key(&mesh.acme);
    let mut links = Vec::new();
    for _ in 0..3 {
        let made =
            link(&mesh, key, json!({"type": "one_time", "description": "Payment Request", "amount": 10}))
                .await;
        links.push((made["id"].as_str().unwrap().to_owned(), made["url"].as_str().unwrap().to_owned()));
    }
    let env =
        [("LINK_PAY", links[0].1.as_str()), ("LINK_DECLINE", &links[1].1), ("LINK_DOUBLE", &links[2].1)];
    let lines = run_browser_test(&mesh, "pay_page.mjs", &env).await;
    let of = |flow: &str| browser_flow(&lines, flow);

    // What the browser saw is what the API says: each link paid, once.
    for ((id, _), flow) in links.iter().zip(["pay", "retried", "double"]) {
        let shown = of(flow)["transaction_id"].as_str().unwrap().to_owned();
        let paid = mesh.http().get(&format!("/payment_links/{id}"), key).await.body;
        assert_eq!(
            (paid["status"].as_str(), paid["transaction_id"].as_str()),
            (Some("paid"), Some(shown.as_str())),
            "{flow}"
        );
        let processed: Vec<Value> =
            payments_of(&mesh, key, id).await.into_iter().filter(|p| p["status"] == "processed").collect();
        assert_eq!(processed.len(), 1, "{flow}: {processed:?}");
    }
    assert!(!of("declined")["message"].as_str().unwrap().is_empty());
    mesh.assert_ledger_invariants().await;
}

/// Another processing account (merchant) of the partner, in test mode.
async fn other_shop(mesh: &Mesh, key: &str) -> String {
    let shop = mesh
        .http()
        .post(
            "/processing_accounts",
            key,
            json!({"name": "Other Shop", "email": "shop@example.com",
                "processing": {"industry": "Retail", "category": "retail", "visibility": "partner"}}),
        )
        .await;
    assert_eq!(shop.status, 200, "{:?}", shop.body);
    shop.body["id"].as_str().unwrap().to_owned()
}

/// A request with a merchant token, as connectFi's portals send it.
fn as_merchant(mesh: &Mesh, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    mesh.http().request(method, path, None).header("x-connectfi-jwtoken", token)
}

#[tokio::test]
async fn a_merchant_token_manages_its_own_links_and_nothing_else() {
    // Each process trusts a resolved token for 200 ms here (5 s by default).
    let mesh = Mesh::start_with(&[("PAYMESH_AUTH_CACHE_TTL_MS", "200")]).await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let mine = mesh.acme.default_accounts[0].to_string();
    let shop = other_shop(&mesh, key).await;
    let theirs = link(&mesh, key, json!({"description": "Theirs", "amount": 3, "processing_id": shop})).await;
    let theirs = theirs["id"].as_str().unwrap();
    let issued = http.post("/access_tokens", key, json!({"type": "merchant", "account_id": mine})).await;
    let (token, token_id) = (
        issued.body["access_token"].as_str().unwrap().to_owned(),
        issued.body["id"].as_str().unwrap().to_owned(),
    );

    // Its links pay its own processing account; a customer is named inline.
    let made = http
        .send(as_merchant(&mesh, Method::POST, "/payment_links", &token).json(&json!({
            "description": "Portal link", "amount": 12.5,
            "customer": {"name": "Ada Payer", "email": "ada@example.com"}})))
        .await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    assert_eq!(made.body["processing_id"], mine.as_str());
    let id = made.body["id"].as_str().unwrap().to_owned();
    // As Bearer too.
    let bearer =
        http.send(http.request(Method::GET, &format!("/payment_links/{id}"), None).bearer_auth(&token)).await;
    assert_eq!(bearer.status, 200, "{:?}", bearer.body);
    for (body, field) in [
        (json!({"description": "x", "processing_id": shop}), "processing_id"),
        (
            json!({"description": "x", "customer_id": customer(&mesh, key, "b@example.com").await}),
            "customer_id",
        ),
    ] {
        let refused = http.send(as_merchant(&mesh, Method::POST, "/payment_links", &token).json(&body)).await;
        assert_eq!(refused.status, 400, "{body}: {:?}", refused.body);
        assert!(refused.body["details"].get(field).is_some(), "{body}: {:?}", refused.body);
    }

    // It lists, sends and cancels its own, and sees nothing of another
    // merchant's, even by id or filter.
    let listed = http.send(as_merchant(&mesh, Method::GET, "/payment_links", &token)).await;
    let ids: Vec<&str> = values(&listed.body).iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id.as_str()]);
    let filtered = http
        .send(as_merchant(&mesh, Method::GET, &format!("/payment_links?processing_id={shop}"), &token))
        .await;
    assert!(values(&filtered.body).is_empty(), "{:?}", filtered.body);
    for (method, path, body) in [
        (Method::GET, format!("/payment_links/{theirs}"), None),
        (Method::PUT, format!("/payment_links/{theirs}"), Some(json!({"status": "canceled"}))),
        (Method::POST, format!("/payment_links/{theirs}/send"), Some(json!({"email": "x@example.com"}))),
    ] {
        let mut request = as_merchant(&mesh, method.clone(), &path, &token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = http.send(request).await;
        assert_eq!(reply.status, 404, "{method} {path}: {:?}", reply.body);
    }
    assert_eq!(http.get(&format!("/payment_links/{theirs}"), key).await.body["status"], "active");
    let sent = http
        .send(as_merchant(&mesh, Method::POST, &format!("/payment_links/{id}/send"), &token).json(&json!({})))
        .await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    assert_eq!(sent.body["messages"].as_array().unwrap().len(), 2, "the automatic email and this one");
    let canceled = http
        .send(
            as_merchant(&mesh, Method::PUT, &format!("/payment_links/{id}"), &token)
                .json(&json!({"status": "canceled"})),
        )
        .await;
    assert_eq!(canceled.body["status"], "canceled", "{:?}", canceled.body);
    // It refunds its own payments, and sees and refunds no other's.
    let paid_link = http
        .send(
            as_merchant(&mesh, Method::POST, "/payment_links", &token)
                .json(&json!({"description": "Paid", "amount": 20})),
        )
        .await;
    let url = paid_link.body["url"].as_str().unwrap().to_owned();
    let (_, html) = page(&url).await;
    let (status, html) = submit(&url, &submission(&html), &[PAYER, GOOD_CARD]).await;
    assert_eq!(status, 200, "{html}");
    let own_payment = reference(&html);
    let theirs_url =
        http.get(&format!("/payment_links/{theirs}"), key).await.body["url"].as_str().unwrap().to_owned();
    let (_, html) = page(&theirs_url).await;
    let (status, html) = submit(&theirs_url, &submission(&html), &[PAYER, GOOD_CARD]).await;
    assert_eq!(status, 200, "{html}");
    let their_payment = reference(&html);
    let refund =
        |payment: &str| json!({"type": "refund", "amount": 5, "ledger": [{"assoc_transaction_id": payment}]});
    let refunded = http
        .send(as_merchant(&mesh, Method::POST, "/transactions", &token).json(&refund(&own_payment)))
        .await;
    assert_eq!(
        (refunded.status, refunded.body["type"].as_str()),
        (200, Some("refund")),
        "{:?}",
        refunded.body
    );
    let stolen = http
        .send(as_merchant(&mesh, Method::POST, "/transactions", &token).json(&refund(&their_payment)))
        .await;
    assert_eq!(stolen.status, 400, "{:?}", stolen.body);
    assert_eq!(
        stolen.body["details"]["ledger[0]"]["assoc_transaction_id"], "No such payment",
        "{:?}",
        stolen.body
    );
    let theirs_read =
        http.send(as_merchant(&mesh, Method::GET, &format!("/transactions/{their_payment}"), &token)).await;
    assert_eq!(theirs_read.status, 404, "{:?}", theirs_read.body);
    let seen = http.send(as_merchant(&mesh, Method::GET, "/transactions", &token)).await;
    let processing: Vec<&str> =
        values(&seen.body).iter().map(|t| t["processing_id"].as_str().unwrap_or_default()).collect();
    assert!(!processing.is_empty() && processing.iter().all(|p| *p == mine), "{processing:?}");
    let payment = http
        .send(
            as_merchant(&mesh, Method::POST, "/transactions", &token)
                .json(&json!({"type": "payment", "amount": 1})),
        )
        .await;
    assert_eq!(payment.status, 403, "{:?}", payment.body);
    let their_refunds = http.get(&format!("/transactions?type=refund&processing_id={shop}"), key).await;
    assert!(values(&their_refunds.body).is_empty(), "{:?}", their_refunds.body);

    // Nothing else of the partner's: customers stay closed to it.
    assert_eq!(http.send(as_merchant(&mesh, Method::GET, "/customers", &token)).await.status, 403);

    // The portal page, framed only by the allowed origins.
    let portal = reqwest::get(format!("{}/portal", mesh.url)).await.unwrap();
    assert_eq!(portal.status(), 200);
    let policy = portal.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.contains("frame-ancestors") && policy.contains("connect-src 'self'"), "{policy}");
    // From the portal's own origin, a browser may use the token; a secret
    // key may not be used from a browser, even there.
    let origin = mesh.url.clone();
    let from_portal =
        http.send(as_merchant(&mesh, Method::GET, "/payment_links", &token).header("origin", &origin)).await;
    assert_eq!(from_portal.status, 200, "{:?}", from_portal.body);
    let secret_in_page =
        http.send(http.request(Method::GET, "/payment_links", Some(key)).header("origin", &origin)).await;
    assert_eq!(secret_in_page.status, 403, "{:?}", secret_in_page.body);

    // Revoked, the token is refused (within the cache time).
    assert_eq!(http.delete(&format!("/access_tokens/{token_id}"), key, None).await.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let revoked = http.send(as_merchant(&mesh, Method::GET, "/payment_links", &token)).await;
    assert_eq!(revoked.status, 401, "{:?}", revoked.body);
}

/// The merchant portal in a real browser: `tests/js/portal.mjs` frames
/// `/portal#token=…` in a partner page on another origin, creates,
/// searches, sends and cancels a link, sees no other merchant's link, and
/// is turned away with a revoked token.
#[tokio::test]
async fn the_merchant_portal_works_in_a_real_browser() {
    let mesh = Mesh::start_with(&[("PAYMESH_AUTH_CACHE_TTL_MS", "200")]).await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let mine = mesh.acme.default_accounts[0].to_string();
    let other = other_shop(&mesh, key).await;
    let theirs =
        link(&mesh, key, json!({"description": "Theirs", "amount": 3, "processing_id": other})).await;
    let token = |account: String| {
        let http = http.clone();
        async move {
            let issued =
                http.post("/access_tokens", key, json!({"type": "merchant", "account_id": account})).await;
            assert_eq!(issued.status, 200, "{:?}", issued.body);
            (
                issued.body["access_token"].as_str().unwrap().to_owned(),
                issued.body["id"].as_str().unwrap().to_owned(),
            )
        }
    };
    let (valid, _) = token(mine.clone()).await;
    let (revoked, revoked_id) = token(mine).await;
    assert_eq!(http.delete(&format!("/access_tokens/{revoked_id}"), key, None).await.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let env = [
        ("MERCHANT_TOKEN", valid.as_str()),
        ("REVOKED_TOKEN", &revoked),
        ("OTHER_LINK_ID", theirs["id"].as_str().unwrap()),
    ];
    let lines = run_browser_test(&mesh, "portal.mjs", &env).await;
    // What the page did is what the API says.
    let created = browser_flow(&lines, "canceled")["id"].as_str().unwrap().to_owned();
    let link = http.get(&format!("/payment_links/{created}"), key).await.body;
    assert_eq!(
        (link["status"].as_str(), link["description"].as_str()),
        (Some("canceled"), Some("Portal test"))
    );
    assert_eq!(link["processing_id"], mesh.acme.default_accounts[0].to_string().as_str());
    assert_eq!(
        link["messages"].as_array().unwrap().len(),
        2,
        "emailed on creation, and sent once more: {link:?}"
    );
    assert_eq!(
        http.get(&format!("/payment_links/{}", theirs["id"].as_str().unwrap()), key).await.body["status"],
        "active"
    );
}

/// Records a page submission as billing does before it asks payments,
/// as if billing then stopped: its id.
async fn charging_attempt(mesh: &Mesh, link: &str, customer: &str, at: &str) -> uuid::Uuid {
    let id = uuid::Uuid::now_v7();
    let at: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
    sqlx::query(
        "INSERT INTO billing.payment_link_attempts (id, link_id, partner_id, livemode, submission_id, amount, \
         customer_id, status, created_at, modified_at) \
         VALUES ($1, $2, $3, false, $4, 10, $5, 'charging', $6, $6)",
    )
    .bind(id)
    .bind(uuid::Uuid::parse_str(link).unwrap())
    .bind(mesh.acme.id)
    .bind(format!("cut-short-{id}"))
    .bind(uuid::Uuid::parse_str(customer).unwrap())
    .bind(at)
    .execute(mesh.pool())
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn a_submission_cut_short_is_resolved_from_the_payment_it_made() {
    let mesh = Mesh::start_at("2026-05-01T12:00:00Z").await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let customer = customer(&mesh, key, "ada@example.com").await;
    let paid = link(&mesh, key, json!({"description": "Rent", "amount": 10, "customer_id": customer})).await;
    let unpaid =
        link(&mesh, key, json!({"description": "Dues", "amount": 10, "customer_id": customer})).await;
    let (paid_id, unpaid_id) = (paid["id"].as_str().unwrap(), unpaid["id"].as_str().unwrap());

    // Billing recorded a submission of each, and stopped: one payment was
    // made (it carries the submission's id), the other never was.
    let made = charging_attempt(&mesh, paid_id, &customer, "2026-05-01T12:00:00Z").await;
    charging_attempt(&mesh, unpaid_id, &customer, "2026-05-01T12:00:00Z").await;
    let payment = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 10, "customer_id": customer,
                "payment_method": {"type": "card", "card": {"card_number": "4242 4242 4242 4242", "expiry": "12/30"},
                    "billing_address": {"postal_code": "10001"}},
                "attrs": {"payment_link_id": paid_id, "payment_link_attempt_id": made.to_string()}}),
        )
        .await;
    assert_eq!(payment.status, 200, "{:?}", payment.body);
    let payment_id = payment.body["id"].as_str().unwrap().to_owned();

    // Meanwhile the one-time link takes no other submission.
    let (_, html) = page(paid["url"].as_str().unwrap()).await;
    let (status, html) = submit(paid["url"].as_str().unwrap(), &submission(&html), &[GOOD_CARD]).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("being processed"), "{html}");

    // Once it is stale, the sweep finds what happened.
    mesh.set_clock("2026-05-01T12:06:00Z");
    let mut resolved = Value::Null;
    for _ in 0..400 {
        resolved = http.get(&format!("/payment_links/{paid_id}"), key).await.body;
        if resolved["status"] == "paid" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        (resolved["status"].as_str(), resolved["transaction_id"].as_str()),
        (Some("paid"), Some(payment_id.as_str()))
    );
    assert_eq!(resolved["payment_count"], 1);
    // The other was never made: failed, and the link stays active.
    let mut failed = 0_i64;
    for _ in 0..400 {
        failed = sqlx::query_scalar(
            "SELECT count(*) FROM billing.payment_link_attempts WHERE link_id = $1 AND status = 'failed'",
        )
        .bind(uuid::Uuid::parse_str(unpaid_id).unwrap())
        .fetch_one(mesh.pool())
        .await
        .unwrap();
        if failed == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(failed, 1);
    assert_eq!(http.get(&format!("/payment_links/{unpaid_id}"), key).await.body["status"], "active");
    // The link whose payment never happened is paid normally afterwards.
    let (_, html) = page(unpaid["url"].as_str().unwrap()).await;
    let (status, html) = submit(unpaid["url"].as_str().unwrap(), &submission(&html), &[GOOD_CARD]).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(payments_of(&mesh, key, paid_id).await.len(), 1);
    mesh.assert_ledger_invariants().await;
}

/// The first bytes of a PDF, enough for the file rules.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

#[tokio::test]
async fn files_attached_to_a_link_are_offered_on_its_page() {
    let mesh = Mesh::start().await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let made = link(&mesh, key, json!({"description": "Lease", "amount": 10})).await;
    let (id, url) = (made["id"].as_str().unwrap(), made["url"].as_str().unwrap());
    let file = |name: &str| {
        json!({"file_name": name, "content_type": "application/pdf",
            "content": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PDF)})
    };
    let attached = http.post(&format!("/payment_links/{id}/attachments"), key, file("lease.pdf")).await;
    assert_eq!(attached.status, 200, "{:?}", attached.body);
    assert_eq!(
        (attached.body["payment_link_id"].as_str(), attached.body["invoice_id"].clone()),
        (Some(id), Value::Null)
    );
    let file_id = attached.body["id"].as_str().unwrap().to_owned();
    let listed = http.get(&format!("/payment_links/{id}/attachments"), key).await;
    assert_eq!(values(&listed.body).len(), 1, "{:?}", listed.body);
    // The link shows its files, read alone or listed, over REST and gRPC.
    let read = http.get(&format!("/payment_links/{id}"), key).await;
    let shown: Vec<(&str, &str)> = read.body["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["file_name"].as_str().unwrap()))
        .collect();
    assert_eq!(shown, [(file_id.as_str(), "lease.pdf")], "{:?}", read.body);
    let among = http.get(&format!("/payment_links?id={id}"), key).await;
    assert_eq!(values(&among.body)[0]["attachments"], read.body["attachments"]);
    let over_grpc = PaymentLinkServiceClient::new(mesh.billing_channel())
        .get_payment_link(authorized(key, pb::GetPaymentLinkRequest { id: id.to_owned() }))
        .await
        .unwrap()
        .into_inner()
        .payment_link
        .unwrap();
    assert_eq!(over_grpc.attachments.iter().map(|f| f.file_name.as_str()).collect::<Vec<_>>(), ["lease.pdf"]);

    // The page offers it, and serves it by the page's token only.
    let (_, html) = page(url).await;
    assert!(html.contains(&format!("/files/{file_id}\">lease.pdf</a>")), "{html}");
    let served = reqwest::get(format!("{url}/files/{file_id}")).await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "application/pdf");
    assert_eq!(served.bytes().await.unwrap().as_ref(), PDF);
    let other = link(&mesh, key, json!({"description": "Other", "amount": 1})).await;
    let elsewhere =
        reqwest::get(format!("{}/files/{file_id}", other["url"].as_str().unwrap())).await.unwrap();
    assert_eq!(elsewhere.status(), 404, "a file is served by its own link's page only");

    // Bad input, another partner or mode, and a closed link change nothing.
    let both = http
        .post("/invoice_attachments", key, {
            let mut body = file("x.pdf");
            body["payment_link_id"] = json!(id);
            body["invoice_id"] = json!(uuid::Uuid::now_v7().to_string());
            body
        })
        .await;
    assert_eq!(both.status, 400, "{:?}", both.body);
    for other in [test_key(&mesh.globex), live_key(&mesh.acme)] {
        let refused =
            http.post(&format!("/payment_links/{id}/attachments"), other, file("intruder.pdf")).await;
        assert_eq!(refused.status, 404, "{:?}", refused.body);
        let mut naming = file("intruder.pdf");
        naming["payment_link_id"] = json!(id);
        let named = http.post("/invoice_attachments", other, naming).await;
        assert_eq!(named.body["details"]["payment_link_id"], "No such payment link", "{:?}", named.body);
        let listed = http.get(&format!("/payment_links/{id}/attachments"), other).await;
        assert!(listed.status == 404 || values(&listed.body).is_empty(), "{:?}", listed.body);
    }
    http.put(&format!("/payment_links/{id}"), key, json!({"status": "canceled"})).await;
    let late = http.post(&format!("/payment_links/{id}/attachments"), key, file("late.pdf")).await;
    assert_eq!(late.status, 400, "{:?}", late.body);
    assert!(
        late.body["details"]["payment_link_id"].as_str().unwrap().contains("canceled"),
        "{:?}",
        late.body
    );
    let kept = http.delete(&format!("/invoice_attachments/{file_id}"), key, None).await;
    assert_eq!(kept.status, 409, "{:?}", kept.body);
    assert_eq!(values(&http.get(&format!("/payment_links/{id}/attachments"), key).await.body).len(), 1);
}

#[tokio::test]
async fn a_merchant_attaches_and_removes_files_of_its_own_links_only() {
    let mesh = Mesh::start().await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let mine = mesh.acme.default_accounts[0].to_string();
    let shop = other_shop(&mesh, key).await;
    let own = link(&mesh, key, json!({"description": "Mine", "amount": 5})).await;
    let theirs = link(&mesh, key, json!({"description": "Theirs", "amount": 5, "processing_id": shop})).await;
    let (own, theirs) = (own["id"].as_str().unwrap().to_owned(), theirs["id"].as_str().unwrap().to_owned());
    let issued = http.post("/access_tokens", key, json!({"type": "merchant", "account_id": mine})).await;
    let token = issued.body["access_token"].as_str().unwrap().to_owned();
    let file = json!({"file_name": "invoice.pdf", "content_type": "application/pdf",
        "content": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PDF)});

    let attached = http
        .send(
            as_merchant(&mesh, Method::POST, &format!("/payment_links/{own}/attachments"), &token)
                .json(&file),
        )
        .await;
    assert_eq!(attached.status, 200, "{:?}", attached.body);
    let file_id = attached.body["id"].as_str().unwrap().to_owned();
    // Another merchant's link takes none from it, by path or by body.
    let path = http
        .send(
            as_merchant(&mesh, Method::POST, &format!("/payment_links/{theirs}/attachments"), &token)
                .json(&file),
        )
        .await;
    assert!(matches!(path.status, 400 | 404), "{:?}", path.body);
    let mut naming = file.clone();
    naming["payment_link_id"] = json!(theirs);
    let body =
        http.send(as_merchant(&mesh, Method::POST, "/invoice_attachments", &token).json(&naming)).await;
    assert_eq!(body.body["details"]["payment_link_id"], "No such payment link", "{:?}", body.body);
    // The partner's file on the other merchant's link is invisible to it.
    let partners = http.post(&format!("/payment_links/{theirs}/attachments"), key, file.clone()).await;
    let partners = partners.body["id"].as_str().unwrap().to_owned();
    let listed = http.send(as_merchant(&mesh, Method::GET, "/invoice_attachments", &token)).await;
    let ids: Vec<&str> = values(&listed.body).iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [file_id.as_str()]);
    for (method, path) in [
        (Method::GET, format!("/invoice_attachments/{partners}")),
        (Method::GET, format!("/invoice_attachments/{partners}/file")),
        (Method::DELETE, format!("/invoice_attachments/{partners}")),
    ] {
        let reply = http.send(as_merchant(&mesh, method.clone(), &path, &token)).await;
        assert_eq!(reply.status, 404, "{method} {path}: {:?}", reply.body);
    }
    // Its own it removes.
    let removed = http
        .send(as_merchant(&mesh, Method::DELETE, &format!("/invoice_attachments/{file_id}"), &token))
        .await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    assert_eq!(http.get(&format!("/invoice_attachments/{partners}"), key).await.status, 200);
}
