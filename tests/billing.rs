//! Billing end to end: invoices and their items through REST (JSON and the
//! reference's form encoding) and gRPC, their status on the clock, billing
//! schedules with Payload's defaults billing on their dates (once, however
//! many replicas sweep), multi-payer invoices paid part by part and held
//! from deposits until paid in full, files attached to invoices, bad input
//! refused with nothing written, and another partner or mode seeing
//! nothing.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use paymesh_proto::billing::v1::{self as pb, invoice_service_client::InvoiceServiceClient};
use paymesh_tests::{Mesh, Reply, authorized, form_encode as encode, live_key, test_key};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

async fn customer(mesh: &Mesh, key: &str) -> String {
    let made =
        mesh.http().post("/customers", key, json!({"name": "Ada Payer", "email": "ada@example.com"})).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    made.body["id"].as_str().unwrap().to_owned()
}

/// Polls `GET path` until `done` holds of its body (for 15 s at most: the
/// sweeps run every 50 ms, but a loaded machine is slow); the body.
async fn until(mesh: &Mesh, path: &str, key: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..600 {
        let reply = mesh.http().get(path, key).await;
        assert_eq!(reply.status, 200, "GET {path}: {:?}", reply.body);
        if done(&reply.body) {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("GET {path} never came to what was awaited");
}

fn values(body: &Value) -> &Vec<Value> {
    body["values"].as_array().expect("a list")
}

fn details(reply: &Reply) -> &Value {
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(reply.body["details"].is_object(), "per-field details: {:?}", reply.body);
    &reply.body["details"]
}

/// The problem `details` names at `path` (dotted: nested objects), if any.
fn problem<'a>(details: &'a Value, path: &str) -> Option<&'a str> {
    path.split('.').try_fold(details, |at, part| at.get(part)).and_then(Value::as_str)
}

#[tokio::test]
async fn an_invoice_is_billed_part_paid_overdue_and_paid_as_its_items_and_the_clock_say() {
    let mesh = Mesh::start_at("2018-12-20T12:00:00Z").await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let customer = customer(&mesh, key).await;
    let processing = mesh.acme.default_accounts[0].to_string();

    // The reference's curl, form-encoded as written.
    let form = [
        ("type", "bill"),
        ("due_date", "2019-01-01"),
        ("processing_id", processing.as_str()),
        ("items[0][type]", "item1"),
        ("items[0][amount]", "29.99"),
        ("customer_id", customer.as_str()),
    ];
    let encoded: Vec<String> = form.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    let request = http
        .request(Method::POST, "/invoices", Some(key))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(encoded.join("&"));
    let made = http.send(request).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    let invoice = made.body.clone();
    let id = invoice["id"].as_str().unwrap().to_owned();
    assert_eq!(invoice["object"], "invoice");
    assert_eq!(invoice["status"], "pending");
    assert_eq!(invoice["type"], "bill");
    assert_eq!(invoice["due_date"], "2019-01-01");
    assert_eq!(invoice["customer_id"], customer.as_str());
    assert_eq!(invoice["processing_id"], processing.as_str());
    assert_eq!(invoice["currency"], "USD");
    assert_eq!((invoice["total_due"].clone(), invoice["amount_due"].clone()), (json!(29.99), json!(29.99)));
    assert_eq!(invoice["total_paid"], json!(0));
    assert_eq!(invoice["billing_schedule_id"], Value::Null);
    assert_eq!(invoice["paid_timestamp"], Value::Null);
    let item = &invoice["items"][0];
    assert_eq!(item["object"], "line_item");
    assert_eq!(item["entry_type"], "charge");
    assert_eq!(item["type"], "item1");
    assert_eq!(
        (item["amount"].clone(), item["qty"].clone(), item["total"].clone()),
        (json!(29.99), json!(1), json!(29.99))
    );
    assert_eq!(item["invoice_id"], id.as_str());

    // Read back, listed, and its items nested.
    assert_eq!(http.get(&format!("/invoices/{id}"), key).await.body, invoice);
    let listed = http.get("/invoices?status=pending&type=bill", key).await;
    assert_eq!(values(&listed.body).len(), 1);
    let items = http.get(&format!("/invoices/{id}/items"), key).await;
    assert_eq!(values(&items.body).len(), 1);

    // A payment the partner recorded pays part of it.
    let paid = http
        .post(&format!("/invoices/{id}/items"), key, json!({"entry_type": "payment", "amount": 10}))
        .await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    let now = http.get(&format!("/invoices/{id}"), key).await.body;
    assert_eq!(now["status"], "partially_paid");
    assert_eq!((now["total_paid"].clone(), now["amount_due"].clone()), (json!(10), json!(19.99)));

    // Past the due date with something left to pay: overdue.
    mesh.set_clock("2019-01-02T09:00:00Z");
    until(&mesh, &format!("/invoices/{id}"), key, |i| i["status"] == "overdue").await;

    // The rest paid: paid, with the time it was.
    let rest = http
        .post("/line_items", key, json!({"invoice_id": id, "entry_type": "payment", "amount": 19.99}))
        .await;
    assert_eq!(rest.status, 200, "{:?}", rest.body);
    let now = http.get(&format!("/invoices/{id}"), key).await.body;
    assert_eq!(now["status"], "paid");
    assert_eq!(now["amount_due"], json!(0));
    assert!(now["paid_timestamp"].as_str().unwrap().starts_with("2019-01-02"), "{now}");
    // A paid invoice is not closed, and nothing but pending or closed is
    // the partner's to set.
    let refused = http.put(&format!("/invoices/{id}"), key, json!({"status": "closed"})).await;
    assert!(problem(details(&refused), "status").unwrap().contains("paid invoice"), "{:?}", refused.body);
    // With payments on it, it cannot be deleted.
    assert_eq!(http.delete(&format!("/invoices/{id}"), key, None).await.status, 409);

    // A draft: issued by the partner, then closed; a closed invoice changes
    // no more.
    let draft = http
        .post(
            "/invoices",
            key,
            json!({"customer_id": customer, "status": "draft", "items": [{"amount": 5, "qty": 3}]}),
        )
        .await;
    assert_eq!(draft.status, 200, "{:?}", draft.body);
    let draft_id = draft.body["id"].as_str().unwrap().to_owned();
    assert_eq!(draft.body["status"], "draft");
    assert_eq!(draft.body["due_date"], "2019-01-02", "due today on the clock by default");
    assert_eq!(draft.body["total_due"], json!(15));
    let wrong = http.put(&format!("/invoices/{draft_id}"), key, json!({"status": "paid"})).await;
    assert!(problem(details(&wrong), "status").is_some(), "{:?}", wrong.body);
    let issued = http.put(&format!("/invoices/{draft_id}"), key, json!({"status": "pending"})).await;
    assert_eq!(issued.body["status"], "pending", "{:?}", issued.body);
    let closed = http.put(&format!("/invoices/{draft_id}"), key, json!({"status": "closed"})).await;
    assert_eq!(closed.body["status"], "closed", "{:?}", closed.body);
    let late_item = http.post(&format!("/invoices/{draft_id}/items"), key, json!({"amount": 1})).await;
    assert!(problem(details(&late_item), "invoice_id").unwrap().contains("closed"), "{:?}", late_item.body);
    // Closing it again is no change, and answers it.
    let again = http.put(&format!("/invoices/{draft_id}"), key, json!({"status": "closed"})).await;
    assert_eq!((again.status, again.body["status"].clone()), (200, json!("closed")), "{:?}", again.body);
    let late_change = http.put(&format!("/invoices/{draft_id}"), key, json!({"description": "later"})).await;
    assert_eq!(late_change.status, 409, "{:?}", late_change.body);
    // Nothing paid on it: it may be deleted, and is gone.
    assert_eq!(http.delete(&format!("/invoices/{draft_id}"), key, None).await.status, 200);
    assert_eq!(http.get(&format!("/invoices/{draft_id}"), key).await.status, 404);

    // A payment taken off reopens the invoice.
    let last_payment = rest.body["id"].as_str().unwrap();
    let removed = http.delete(&format!("/line_items/{last_payment}"), key, None).await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    let now = http.get(&format!("/invoices/{id}"), key).await.body;
    assert_eq!((now["amount_due"].clone(), now["status"].clone()), (json!(19.99), json!("overdue")));
    assert_eq!(now["paid_timestamp"], Value::Null);
    // An invoice keeps one item at least.
    let single =
        http.post("/invoices", key, json!({"customer_id": customer, "items": [{"amount": 7}]})).await;
    let only = single.body["items"][0]["id"].as_str().unwrap();
    assert_eq!(http.delete(&format!("/line_items/{only}"), key, None).await.status, 409);

    // Every change is an event.
    mesh.until_events_published().await;
    let events = http.get(&format!("/events?resource_id={id}&order_by=created_at"), key).await;
    let kinds: Vec<&str> = values(&events.body).iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in ["invoice.created", "invoice.partially_paid", "invoice.overdue", "invoice.paid"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }

    // Another partner, and the other mode, see nothing of it.
    for other in [test_key(&mesh.globex), live_key(&mesh.acme)] {
        assert_eq!(http.get(&format!("/invoices/{id}"), other).await.status, 404);
        assert!(values(&http.get("/invoices", other).await.body).is_empty());
        let naming = http.post("/line_items", other, json!({"invoice_id": id, "amount": 1})).await;
        assert_eq!(naming.status, 400, "{:?}", naming.body);
    }
}

#[tokio::test]
async fn invoices_are_served_over_grpc_and_one_idempotency_key_makes_one() {
    let mesh = Mesh::start().await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let partner = customer(&mesh, key).await;
    let customer = customer(&mesh, key).await;
    let mut client = InvoiceServiceClient::new(mesh.billing_channel());
    let invoice = pb::Invoice {
        customer_id: customer.clone(),
        description: "March rent".to_owned(),
        items: vec![pb::LineItem {
            amount: Some(paymesh_proto::common::v1::Money {
                amount: "1200.00".to_owned(),
                currency: "USD".to_owned(),
            }),
            qty: Some(1),
            ..Default::default()
        }],
        ..Default::default()
    };
    let made = client
        .create_invoice(authorized(key, pb::CreateInvoiceRequest { invoice: Some(invoice.clone()) }))
        .await
        .unwrap()
        .into_inner()
        .invoice
        .unwrap();
    assert_eq!(made.status, pb::InvoiceStatus::Pending as i32);
    assert_eq!(made.amount_due.as_ref().unwrap().amount, "1200.00");
    let read =
        client.get_invoice(authorized(key, pb::GetInvoiceRequest { id: made.id.clone() })).await.unwrap();
    assert_eq!(read.into_inner().invoice.unwrap(), made);
    for other in [test_key(&mesh.globex), live_key(&mesh.acme)] {
        let status = client
            .get_invoice(authorized(other, pb::GetInvoiceRequest { id: made.id.clone() }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound);
    }
    // Bad input over gRPC: InvalidArgument naming the field; nothing kept.
    let bad = pb::Invoice { customer_id: "nobody".to_owned(), ..invoice.clone() };
    let status = client
        .create_invoice(authorized(key, pb::CreateInvoiceRequest { invoice: Some(bad) }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(format!("{status:?}").contains("invoice.customer_id"), "{status:?}");

    // Two payers over gRPC: the customer's part is locked, the other's follows.
    let dollars = |amount: &str| {
        Some(paymesh_proto::common::v1::Money { amount: amount.to_owned(), currency: "USD".to_owned() })
    };
    let shared = pb::Invoice {
        payers: vec![
            pb::InvoicePayer { account_id: customer.clone(), ..Default::default() },
            pb::InvoicePayer { account_id: partner.clone(), ..Default::default() },
        ],
        items: vec![pb::LineItem {
            amount: dollars("1200.00"),
            allocations: vec![pb::ItemAllocation {
                account_id: customer.clone(),
                amount: dollars("700.00"),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..invoice.clone()
    };
    let made = client
        .create_invoice(authorized(key, pb::CreateInvoiceRequest { invoice: Some(shared.clone()) }))
        .await
        .unwrap()
        .into_inner()
        .invoice
        .unwrap();
    let parts: Vec<(&str, &str, i32)> = made.items[0]
        .allocations
        .iter()
        .map(|a| (a.account_id.as_str(), a.amount.as_ref().unwrap().amount.as_str(), a.r#type))
        .collect();
    assert_eq!(
        parts,
        [
            (customer.as_str(), "700.00", pb::ItemAllocationType::Custom as i32),
            (partner.as_str(), "500.00", pb::ItemAllocationType::Auto as i32)
        ]
    );
    assert_eq!(made.payers[1].amount_allocated.as_ref().unwrap().amount, "500.00");
    let twice = pb::Invoice {
        payers: vec![pb::InvoicePayer { account_id: partner.clone(), ..Default::default() }; 2],
        ..shared
    };
    let status = client
        .create_invoice(authorized(key, pb::CreateInvoiceRequest { invoice: Some(twice) }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(format!("{status:?}").contains("invoice.payers[1].account_id"), "{status:?}");

    // One key, one invoice: the retry answers the first answer.
    let body = json!({"customer_id": customer, "items": [{"amount": 50}]});
    let send =
        || http.request(Method::POST, "/invoices", Some(key)).header("Idempotency-Key", "inv-1").json(&body);
    let first = http.send(send()).await;
    let second = http.send(send()).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body, second.body);
    assert_eq!(mesh.count("SELECT count(*) FROM billing.invoices").await, 3);
}

#[tokio::test]
async fn bad_invoices_and_schedules_are_refused_per_field_and_change_nothing() {
    let mesh = Mesh::start().await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let customer = customer(&mesh, key).await;

    let empty = http.post("/invoices", key, json!({})).await;
    let problems = details(&empty);
    assert!(
        problem(problems, "customer_id").is_some() && problem(problems, "items").is_some(),
        "{problems:?}"
    );

    let wrong = http
        .post(
            "/invoices",
            key,
            json!({"customer_id": customer, "due_date": "2019-13-01", "currency": "XYZ",
                "items": [{"amount": 1.005}, {"amount": 5, "qty": 0}, {"description": "no amount"}]}),
        )
        .await;
    let problems = details(&wrong);
    for field in ["due_date", "currency"] {
        assert!(problem(problems, field).is_some(), "{field} missing from {problems:?}");
    }
    // Problems of an item are nested under it.
    for (item, field) in [("items[0]", "amount"), ("items[1]", "qty"), ("items[2]", "amount")] {
        assert!(problems[item][field].is_string(), "{item}.{field} missing from {problems:?}");
    }
    let unknown = http
        .post(
            "/invoices",
            key,
            json!({"customer_id": mesh.acme.default_accounts[0], "items": [{"amount": 1}]}),
        )
        .await;
    assert!(
        details(&unknown)["customer_id"].as_str().unwrap().contains("No such customer"),
        "{:?}",
        unknown.body
    );

    let schedule = |extra: Value| {
        let mut body = json!({"type": "subscription", "customer_id": customer, "recurring_frequency": "monthly",
            "charges": [{"amount": 39.99}]});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let day = http.post("/billing_schedules", key, schedule(json!({"monthly": {"billing_day": 32}}))).await;
    assert!(problem(details(&day), "monthly.billing_day").is_some(), "{:?}", day.body);
    let backwards = http
        .post(
            "/billing_schedules",
            key,
            schedule(json!({"start_date": "2027-02-01", "end_date": "2027-01-01"})),
        )
        .await;
    assert!(problem(details(&backwards), "end_date").is_some(), "{:?}", backwards.body);
    let mixed = http
        .post(
            "/billing_schedules",
            key,
            schedule(json!({"recurring_frequency": "weekly", "monthly": {"billing_day": 3}})),
        )
        .await;
    assert!(problem(details(&mixed), "monthly").is_some(), "{:?}", mixed.body);
    let hourly =
        http.post("/billing_schedules", key, schedule(json!({"recurring_frequency": "hourly"}))).await;
    assert!(problem(details(&hourly), "recurring_frequency").is_some(), "{:?}", hourly.body);
    let quarter = http
        .post(
            "/billing_schedules",
            key,
            schedule(json!({"recurring_frequency": "quarterly", "quarterly": {"q2": {"billing_month": 7}}})),
        )
        .await;
    assert!(problem(details(&quarter), "quarterly.q2.billing_month").is_some(), "{:?}", quarter.body);
    let untyped = http
        .post(
            "/billing_schedules",
            key,
            json!({"customer_id": customer, "recurring_frequency": "monthly", "charges": []}),
        )
        .await;
    let problems = details(&untyped);
    assert!(problem(problems, "type").is_some() && problem(problems, "charges").is_some(), "{problems:?}");

    assert_eq!(mesh.count("SELECT count(*) FROM billing.invoices").await, 0);
    assert_eq!(mesh.count("SELECT count(*) FROM billing.line_items").await, 0);
    assert_eq!(mesh.count("SELECT count(*) FROM billing.billing_schedules").await, 0);
    assert_eq!(mesh.count("SELECT count(*) FROM billing.outbox").await, 0);
}

#[tokio::test]
async fn the_monthly_schedule_of_2019_bills_twelve_invoices_on_the_first() {
    let mesh = Mesh::start_at("2019-01-01T08:00:00Z").await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let customer = customer(&mesh, key).await;
    let processing = mesh.acme.default_accounts[0].to_string();
    // As the Payload SDK sends the reference's example.
    let made = http
        .post(
            "/billing_schedules",
            key,
            json!({"start_date": "2019-01-01", "end_date": "2019-12-31", "recurring_frequency": "monthly",
                "type": "subscription", "processing_id": processing,
                "charges": [{"type": "option_1", "amount": 39.99}],
                "customer_id": customer}),
        )
        .await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    let schedule = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(made.body["object"], "billing_schedule");
    assert_eq!(made.body["monthly"], json!({"billing_day": 1}));
    assert_eq!(made.body["bimonthly"], Value::Null);
    assert_eq!(made.body["next_billing_date"], "2019-01-01");
    assert_eq!(made.body["charges"][0]["total"], json!(39.99));

    // The first billing date is today: billed at once.
    let path = format!("/billing_schedules/{schedule}/invoices");
    until(&mesh, &path, key, |b| values(b).len() == 1).await;
    // A year later, every full period of 2019 is billed, once.
    mesh.set_clock("2020-02-01T08:00:00Z");
    let listed = until(&mesh, &format!("{path}?order_by=due_date"), key, |b| {
        values(b).len() == 12 && values(b).iter().all(|i| i["status"] == "overdue")
    })
    .await;
    let dates: Vec<&str> = values(&listed).iter().map(|i| i["due_date"].as_str().unwrap()).collect();
    let expected: Vec<String> = (1..=12).map(|m| format!("2019-{m:02}-01")).collect();
    assert_eq!(dates, expected);
    for invoice in values(&listed) {
        assert_eq!(invoice["total_due"], json!(39.99));
        assert_eq!(invoice["type"], "subscription");
        assert_eq!(invoice["billing_schedule_id"], schedule.as_str());
        assert_eq!(invoice["items"][0]["type"], "option_1");
        // Unpaid past their due dates (the first was made on its date, and
        // fell overdue when the clock moved on).
        assert_eq!(invoice["status"], "overdue", "{invoice}");
    }
    let ended =
        until(&mesh, &format!("/billing_schedules/{schedule}"), key, |s| s["next_billing_date"].is_null())
            .await;
    assert_eq!(ended["end_date"], "2019-12-31");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(values(&http.get(&path, key).await.body).len(), 12, "nothing more is billed");
}

#[tokio::test]
async fn defaults_follow_the_day_of_creation_and_updates_apply_from_the_next_period() {
    let mesh = Mesh::start_at("2026-03-22T10:00:00Z").await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let customer = customer(&mesh, key).await;
    let create = |frequency: &str| {
        json!({"type": "plan", "customer_id": customer, "recurring_frequency": frequency, "start_date": "2026-04-01",
            "charges": [{"amount": 10}]})
    };
    let on_22nd = http.post("/billing_schedules", key, create("bimonthly")).await;
    assert_eq!(
        on_22nd.body["bimonthly"],
        json!({"first_billing_day": 8, "second_billing_day": 22}),
        "{:?}",
        on_22nd.body
    );
    assert_eq!(on_22nd.body["next_billing_date"], "2026-04-08");
    let quarterly = http.post("/billing_schedules", key, create("quarterly")).await;
    assert_eq!(
        quarterly.body["quarterly"],
        json!({"q1": {"billing_month": 1, "billing_day": 1}, "q2": {"billing_month": 4, "billing_day": 1},
            "q3": {"billing_month": 7, "billing_day": 1}, "q4": {"billing_month": 10, "billing_day": 1}})
    );
    let annual = http.post("/billing_schedules", key, create("annually")).await;
    assert_eq!(annual.body["annually"], json!({"billing_month": 3, "billing_day": 22}));
    mesh.set_clock("2026-04-03T10:00:00Z");
    let on_3rd = http.post("/billing_schedules", key, create("bimonthly")).await;
    assert_eq!(on_3rd.body["bimonthly"], json!({"first_billing_day": 3, "second_billing_day": 17}));

    // The reference's update: billed on the 3rd, then bimonthly on the
    // 1st and 15th from the next period.
    let id = on_3rd.body["id"].as_str().unwrap();
    until(&mesh, &format!("/billing_schedules/{id}/invoices"), key, |b| values(b).len() == 1).await;
    let changed = http
        .put(
            &format!("/billing_schedules/{id}"),
            key,
            json!({"recurring_frequency": "bimonthly", "bimonthly": {"first_billing_day": 1, "second_billing_day": 15}}),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body["bimonthly"], json!({"first_billing_day": 1, "second_billing_day": 15}));
    // The period billed on the 3rd runs to the 16th; the new days bill
    // from the first of them after it.
    assert_eq!(changed.body["next_billing_date"], "2026-05-01");
    let annually = http
        .put(
            &format!("/billing_schedules/{id}"),
            key,
            json!({"recurring_frequency": "annually",
            "annually": {"billing_month": 12, "billing_day": 31}}),
        )
        .await;
    assert_eq!(
        annually.body["annually"],
        json!({"billing_month": 12, "billing_day": 31}),
        "{:?}",
        annually.body
    );
    assert_eq!(annually.body["bimonthly"], Value::Null);
    assert_eq!(annually.body["next_billing_date"], "2026-12-31");

    // Charges: added, changed, and one kept at least.
    let charges = format!("/billing_schedules/{id}/charges");
    let added = http.post(&charges, key, json!({"amount": 2.5, "qty": 4, "description": "seats"})).await;
    assert_eq!(added.body["total"], json!(10), "{:?}", added.body);
    let charge = added.body["id"].as_str().unwrap().to_owned();
    let more = http.put(&format!("/billing_charges/{charge}"), key, json!({"qty": 6})).await;
    assert_eq!(more.body["total"], json!(15), "{:?}", more.body);
    assert_eq!(values(&http.get(&charges, key).await.body).len(), 2);
    assert_eq!(http.delete(&format!("/billing_charges/{charge}"), key, None).await.status, 200);
    let last = values(&http.get(&charges, key).await.body)[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(http.delete(&format!("/billing_charges/{last}"), key, None).await.status, 409);

    // Deleted, the schedule bills no more; its invoice stays.
    assert_eq!(http.delete(&format!("/billing_schedules/{id}"), key, None).await.status, 200);
    assert_eq!(http.get(&format!("/billing_schedules/{id}"), key).await.status, 404);
    assert_eq!(values(&http.get(&format!("/invoices?billing_schedule_id={id}"), key).await.body).len(), 1);
    for other in [test_key(&mesh.globex), live_key(&mesh.acme)] {
        let schedule = on_22nd.body["id"].as_str().unwrap();
        assert_eq!(http.get(&format!("/billing_schedules/{schedule}"), other).await.status, 404);
        let naming =
            http.post("/billing_charges", other, json!({"billing_schedule_id": schedule, "amount": 1})).await;
        assert_eq!(naming.status, 400, "{:?}", naming.body);
    }
}

#[tokio::test]
async fn two_replicas_sweeping_at_once_bill_each_date_once() {
    let mesh = Mesh::start_at("2019-01-01T08:00:00Z").await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    // A second billing replica on the same database and clock.
    let pool = paymesh_billing::open_database(&mesh.common).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = paymesh_billing::Config { sweep_interval: Duration::from_millis(10), ..Default::default() };
    let stop = CancellationToken::new();
    let (common, clock, stopped) = (mesh.common.clone(), mesh.intents_clock.clone(), stop.clone());
    let replica = tokio::spawn(async move {
        paymesh_billing::serve_with(&common, &config, pool, clock, listener, stopped.cancelled_owned()).await
    });

    let customer = customer(&mesh, key).await;
    let mut schedules = Vec::new();
    for n in 1..=3 {
        let made = http
            .post(
                "/billing_schedules",
                key,
                json!({"type": format!("daily-{n}"), "customer_id": customer, "recurring_frequency": "daily",
                    "start_date": "2019-01-01", "end_date": "2019-03-01", "charges": [{"amount": n}]}),
            )
            .await;
        assert_eq!(made.status, 200, "{:?}", made.body);
        schedules.push(made.body["id"].as_str().unwrap().to_owned());
    }
    // Sixty days at once: both replicas race for every schedule.
    mesh.set_clock("2019-03-02T08:00:00Z");
    for schedule in &schedules {
        let path = format!("/invoices?billing_schedule_id={schedule}&limit=100");
        until(&mesh, &path, key, |b| values(b).len() == 60).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mesh.count("SELECT count(*) FROM billing.invoices").await, 180);
    assert_eq!(
        mesh.count(
            "SELECT count(*) FROM (SELECT DISTINCT billing_schedule_id, due_date FROM billing.invoices) d"
        )
        .await,
        180
    );
    assert_eq!(
        mesh.count("SELECT count(*) FROM billing.outbox WHERE event_type = 'invoice.created'").await,
        180
    );
    stop.cancel();
    replica.await.unwrap().unwrap();
}

/// Another working card of `customer`.
async fn good_again(mesh: &Mesh, customer: &str) -> String {
    card(mesh, test_key(&mesh.acme), customer, "4242 4242 4242 4242").await
}

/// A card of `customer`, its default.
async fn card(mesh: &Mesh, key: &str, customer: &str, number: &str) -> String {
    let body = json!({"type": "card", "account_id": customer, "default_payment_method": true,
        "card": {"card_number": number, "expiry": "12/40"}, "billing_address": {"postal_code": "10001"}});
    let made = mesh.http().post("/payment_methods", key, body).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    made.body["id"].as_str().unwrap().to_owned()
}

async fn invoice(mesh: &Mesh, key: &str, customer: &str, amount: f64) -> String {
    let made = mesh
        .http()
        .post("/invoices", key, json!({"customer_id": customer, "items": [{"amount": amount}]}))
        .await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    made.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn payments_pay_invoices_through_their_allocations_never_beyond_the_balance() {
    let mesh = Mesh::start().await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let payer = customer(&mesh, key).await;
    card(&mesh, key, &payer, "4242 4242 4242 4242").await;

    // "Pay an Invoice", as the Payload SDK sends it.
    let first = invoice(&mesh, key, &payer, 29.99).await;
    let paid = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 29.99, "customer_id": payer,
                "allocations": [{"entry_type": "payment", "invoice_id": first}]}),
        )
        .await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    let payment = paid.body["id"].as_str().unwrap().to_owned();
    let now = http.get(&format!("/invoices/{first}"), key).await.body;
    // The invoice's only payer, its customer, paid.
    let only = &now["payers"][0];
    assert_eq!((only["account_id"].clone(), only["paid"].clone()), (json!(payer), json!(true)), "{now}");
    assert_eq!(
        paid.body["allocations"],
        json!([{"invoice_id": first, "amount": 29.99, "entry_type": "payment", "invoice_payer_id": only["id"]}])
    );
    assert_eq!(paid.body["settlement_held"], false);
    assert_eq!((now["status"].clone(), now["amount_due"].clone()), (json!("paid"), json!(0)), "{now}");
    let item = &now["items"][1];
    assert_eq!(
        (item["entry_type"].clone(), item["transaction_id"].clone()),
        (json!("payment"), json!(payment))
    );
    // It moves with its payment only.
    let paid_item = item["id"].as_str().unwrap();
    assert_eq!(http.delete(&format!("/line_items/{paid_item}"), key, None).await.status, 409);
    assert_eq!(http.put(&format!("/line_items/{paid_item}"), key, json!({"amount": 1})).await.status, 409);

    // A refund owes its part again.
    let refund = http
        .post(
            "/transactions",
            key,
            json!({"type": "refund", "amount": 20, "ledger": [{"assoc_transaction_id": payment}]}),
        )
        .await;
    assert_eq!(refund.status, 200, "{:?}", refund.body);
    let now = http.get(&format!("/invoices/{first}"), key).await.body;
    assert_eq!(
        (now["status"].clone(), now["amount_due"].clone()),
        (json!("partially_paid"), json!(20)),
        "{now}"
    );

    // More than is left to pay is refused, and nothing is charged.
    let second = invoice(&mesh, key, &payer, 50.0).await;
    let payments_before = mesh.count("SELECT count(*) FROM payments.transactions").await;
    let over = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 80, "customer_id": payer,
                "allocations": [{"invoice_id": second, "amount": 60}]}),
        )
        .await;
    assert_eq!(over.status, 400, "{:?}", over.body);
    assert!(
        problem(&over.body["details"], "allocations[0].amount").unwrap().contains("Exceeds"),
        "{:?}",
        over.body
    );
    assert_eq!(mesh.count("SELECT count(*) FROM payments.transactions").await, payments_before);

    // A declined payment releases what it held: the next one pays.
    let declining = customer(&mesh, key).await;
    card(&mesh, key, &declining, "4111 1111 1111 9908").await;
    let declined = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 50, "customer_id": declining, "allocations": [{"invoice_id": second}]}),
        )
        .await;
    assert_eq!(declined.body["error_type"], "TransactionDeclined", "{:?}", declined.body);
    // What the decline held is released: an invoice it named may still be
    // deleted (a scratch one, named by a declined payment too).
    let scratch = invoice(&mesh, key, &payer, 5.0).await;
    let named = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 5, "customer_id": declining, "allocations": [{"invoice_id": scratch}]}),
        )
        .await;
    assert_eq!(named.body["error_type"], "TransactionDeclined", "{:?}", named.body);
    assert_eq!(http.delete(&format!("/invoices/{scratch}"), key, None).await.status, 200);
    let whole = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 50, "customer_id": payer, "allocations": [{"invoice_id": second}]}),
        )
        .await;
    assert_eq!(whole.status, 200, "{:?}", whole.body);
    assert_eq!(http.get(&format!("/invoices/{second}"), key).await.body["status"], "paid");

    // Two payers paying the last 100.00 at once: one is charged.
    let last = invoice(&mesh, key, &payer, 100.0).await;
    let other = customer(&mesh, key).await;
    card(&mesh, key, &other, "5200 8282 8282 8210").await;
    let pay = |who: String| {
        let http = mesh.http();
        let body = json!({"type": "payment", "amount": 100, "customer_id": who, "allocations": [{"invoice_id": last}]});
        async move { http.post("/transactions", key, body).await }
    };
    let (a, b) = tokio::join!(pay(payer.clone()), pay(other.clone()));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "{:?} {:?}", a.body, b.body);
    let now = http.get(&format!("/invoices/{last}"), key).await.body;
    assert_eq!((now["status"].clone(), now["total_paid"].clone()), (json!("paid"), json!(100)), "{now}");

    // An authorized payment pays at once; its void owes it again.
    let held = invoice(&mesh, key, &payer, 12.5).await;
    let authorized = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "status": "authorized", "amount": 12.5, "customer_id": payer,
                "allocations": [{"invoice_id": held}]}),
        )
        .await;
    assert_eq!(authorized.status, 200, "{:?}", authorized.body);
    assert_eq!(http.get(&format!("/invoices/{held}"), key).await.body["status"], "paid");
    let id = authorized.body["id"].as_str().unwrap();
    let voided = http.put(&format!("/transactions/{id}"), key, json!({"status": "voided"})).await;
    assert_eq!(voided.status, 200, "{:?}", voided.body);
    let now = http.get(&format!("/invoices/{held}"), key).await.body;
    assert_eq!((now["status"].clone(), now["amount_due"].clone()), (json!("pending"), json!(12.5)), "{now}");

    // Another partner, or the other mode, cannot pay (or see) the invoice.
    for other_key in [test_key(&mesh.globex), live_key(&mesh.acme)] {
        let naming = http
            .post(
                "/transactions",
                other_key,
                json!({"type": "payment", "amount": 5, "allocations": [{"invoice_id": held}]}),
            )
            .await;
        assert_eq!(naming.status, 400, "{:?}", naming.body);
    }
    mesh.until_events_published().await;
    mesh.assert_ledger_invariants().await;
    assert_eq!(
        mesh.count("SELECT count(*) FROM payments.billing_notices WHERE delivered_at IS NULL").await,
        0
    );
}

#[tokio::test]
async fn autopay_charges_each_due_invoice_once_retries_declines_and_keeps_to_its_limit() {
    let mesh = Mesh::start_at("2027-03-01T09:00:00Z").await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let enroll = |customer: String, method: String, extra: Value| {
        let http = mesh.http();
        let mut body = json!({"customer_id": customer, "payment_method_id": method});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        async move {
            let made = http.post("/autopay_enrollments", key, body).await;
            assert_eq!(made.status, 200, "{:?}", made.body);
            made.body
        }
    };
    let due = |customer: &str| json!({"customer_id": customer, "due_date": "2027-03-05", "items": [{"amount": 75, "description": "March rent"}]});

    // A good card, enrolled: charged on the due date, once.
    let payer = customer(&mesh, key).await;
    let good = card(&mesh, key, &payer, "4242 4242 4242 4242").await;
    let enrollment = enroll(payer.clone(), good, json!({})).await;
    assert_eq!(
        (enrollment["object"].clone(), enrollment["status"].clone()),
        (json!("autopay_enrollment"), json!("active"))
    );
    let rent = http.post("/invoices", key, due(&payer)).await.body["id"].as_str().unwrap().to_owned();

    // A declining card, enrolled; and one above its enrollment's limit.
    let declining = customer(&mesh, key).await;
    let bad = card(&mesh, key, &declining, "4111 1111 1111 9908").await;
    let declined_enrollment = enroll(declining.clone(), bad, json!({})).await;
    let late_rent =
        http.post("/invoices", key, due(&declining)).await.body["id"].as_str().unwrap().to_owned();
    let careful = customer(&mesh, key).await;
    let careful_card = card(&mesh, key, &careful, "4242 4242 4242 4242").await;
    enroll(careful.clone(), careful_card, json!({"upper_limit": 10})).await;
    let big = http.post("/invoices", key, due(&careful)).await.body["id"].as_str().unwrap().to_owned();

    // Before the due date nothing is charged.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mesh.count("SELECT count(*) FROM payments.transactions").await, 0);

    mesh.set_clock("2027-03-05T09:00:00Z");
    until(&mesh, &format!("/invoices/{rent}"), key, |i| i["status"] == "paid").await;
    let id = enrollment["id"].as_str().unwrap();
    let shown =
        until(&mesh, &format!("/autopay_enrollments/{id}"), key, |e| e["last_payment_status"] == "processed")
            .await;
    let payment = shown["last_transaction_id"].as_str().unwrap().to_owned();
    let charged = http.get(&format!("/transactions/{payment}"), key).await.body;
    assert_eq!(charged["initiator"], "automatic_billing", "{charged}");
    assert_eq!(charged["allocations"][0]["invoice_id"], rent.as_str());
    let declined_id = declined_enrollment["id"].as_str().unwrap();
    until(&mesh, &format!("/autopay_enrollments/{declined_id}"), key, |e| {
        e["last_payment_status"] == "declined"
    })
    .await;
    let over = until(&mesh, &format!("/invoices/{big}"), key, |_| true).await;
    assert_eq!(over["status"], "pending");

    // More sweeps the same day charge nothing more.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let payments_of = |customer: &str| {
        let customer = customer.to_owned();
        let http = mesh.http();
        async move { values(&http.get(&format!("/transactions?customer_id={customer}"), key).await.body).len() }
    };
    assert_eq!(payments_of(&payer).await, 1);
    assert_eq!(payments_of(&declining).await, 1);
    assert_eq!(payments_of(&careful).await, 0, "above the limit, nothing is charged");
    assert_eq!(
        mesh.count("SELECT count(*) FROM billing.autopay_attempts WHERE status = 'over_limit'").await,
        1
    );

    // The decline is tried again a day later, then three days after that;
    // the third attempt, with a card that works, pays.
    mesh.set_clock("2027-03-06T09:00:00Z");
    until(&mesh, &format!("/transactions?customer_id={declining}"), key, |b| values(b).len() == 2).await;
    let fixed = card(&mesh, key, &declining, "5200 8282 8282 8210").await;
    let switched = http
        .put(&format!("/autopay_enrollments/{declined_id}"), key, json!({"payment_method_id": fixed}))
        .await;
    assert_eq!(switched.status, 200, "{:?}", switched.body);
    mesh.set_clock("2027-03-08T09:00:00Z");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(payments_of(&declining).await, 2, "not before three days");
    mesh.set_clock("2027-03-09T09:00:00Z");
    until(&mesh, &format!("/invoices/{late_rent}"), key, |i| i["status"] == "paid").await;
    assert_eq!(payments_of(&declining).await, 3);

    // Every autopay payment says automatic billing made it.
    mesh.until_events_published().await;
    let events = http.get("/events?type=transaction.payment|transaction.decline&limit=100", key).await.body;
    let autopays = values(&events).iter().filter(|e| e["data"]["initiator"] == "automatic_billing").count();
    assert_eq!(autopays, 4, "{events}");

    // Canceled, an enrollment charges nothing more.
    let canceled = http.put(&format!("/autopay_enrollments/{id}"), key, json!({"status": "canceled"})).await;
    assert_eq!(canceled.body["status"], "canceled", "{:?}", canceled.body);
    let next = http.post("/invoices", key, json!({"customer_id": payer, "items": [{"amount": 5}]})).await;
    assert_eq!(next.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(payments_of(&payer).await, 1);

    // PlacePay names the customer account_id.
    let placepay = http
        .post(
            "/autopay_enrollments",
            key,
            json!({"account_id": payer, "payment_method_id": good_again(&mesh, &payer).await}),
        )
        .await;
    assert_eq!(placepay.status, 200, "{:?}", placepay.body);
    assert_eq!(placepay.body["customer_id"], payer.as_str());

    // Bad enrollments are refused per field; other partners see none.
    let other_method = http
        .post("/autopay_enrollments", key, json!({"customer_id": payer, "payment_method_id": fixed}))
        .await;
    assert!(problem(details(&other_method), "payment_method_id").unwrap().contains("enrolled customer"));
    let empty = http.post("/autopay_enrollments", key, json!({})).await;
    assert!(
        problem(details(&empty), "customer_id").is_some()
            && problem(details(&empty), "payment_method_id").is_some()
    );
    for other in [test_key(&mesh.globex), live_key(&mesh.acme)] {
        assert_eq!(http.get(&format!("/autopay_enrollments/{id}"), other).await.status, 404);
    }
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_prorated_schedule_bills_the_days_of_its_partial_first_month() {
    let mesh = Mesh::start_at("2018-01-10T09:00:00Z").await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let tenant = customer(&mesh, key).await;
    // PlacePay's prorated recurring invoice: rent 1000 and an amenity 50 a
    // month from 2018-01-15, billed on the 1st.
    let made = http
        .post(
            "/billing_schedules",
            key,
            json!({"type": "rent", "customer_id": tenant, "recurring_frequency": "monthly",
                "monthly": {"billing_day": 1}, "start_date": "2018-01-15", "end_date": "2018-12-31",
                "prorated": true, "charges": [{"type": "rent", "amount": 1000}, {"type": "ammenity", "amount": 50}]}),
        )
        .await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    assert_eq!(
        (made.body["prorated"].clone(), made.body["next_billing_date"].clone()),
        (json!(true), json!("2018-01-15"))
    );
    let id = made.body["id"].as_str().unwrap();
    let path = format!("/billing_schedules/{id}/invoices?order_by=due_date");

    // January's 17 of 31 days, on the start date.
    mesh.set_clock("2018-01-15T09:00:00Z");
    let first = until(&mesh, &path, key, |b| values(b).len() == 1).await;
    let january = &values(&first)[0];
    assert_eq!(january["due_date"], "2018-01-15");
    let amounts: Vec<&Value> = january["items"].as_array().unwrap().iter().map(|i| &i["amount"]).collect();
    assert_eq!(amounts, [&json!(548.39), &json!(27.42)]);
    assert_eq!(january["total_due"], json!(575.81));

    // Then whole months.
    mesh.set_clock("2018-02-01T09:00:00Z");
    let both = until(&mesh, &path, key, |b| values(b).len() == 2).await;
    assert_eq!(values(&both)[1]["total_due"], json!(1050));
    let schedule = http.get(&format!("/billing_schedules/{id}"), key).await.body;
    assert_eq!(schedule["next_billing_date"], "2018-03-01");
}

#[tokio::test]
async fn an_autopay_sweep_cut_short_after_charging_sends_the_same_attempt_again_and_charges_once() {
    let mesh = Mesh::start_at("2027-03-01T09:00:00Z").await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let payer = customer(&mesh, key).await;
    let method = card(&mesh, key, &payer, "4242 4242 4242 4242").await;
    let enrolled = http
        .post("/autopay_enrollments", key, json!({"customer_id": payer, "payment_method_id": method}))
        .await;
    assert_eq!(enrolled.status, 200, "{:?}", enrolled.body);
    let rent = invoice(&mesh, key, &payer, 75.0).await;

    // The charge is made, and the sweep dies before it records how it ended.
    paymesh_kit::faults::arm("billing.autopay_after_charge", 1);
    mesh.set_clock("2027-03-02T09:00:00Z");
    until(&mesh, &format!("/transactions?customer_id={payer}"), key, |b| values(b).len() == 1).await;
    assert_eq!(
        mesh.count("SELECT count(*) FROM billing.autopay_attempts WHERE status = 'charging'").await,
        1,
        "the attempt is left sent, not ended"
    );

    // Later the attempt is sent again with its key: the payment it made is
    // the answer, and nothing more is charged.
    mesh.set_clock("2027-03-02T09:05:00Z");
    let id = enrolled.body["id"].as_str().unwrap();
    let shown =
        until(&mesh, &format!("/autopay_enrollments/{id}"), key, |e| e["last_payment_status"] == "processed")
            .await;
    let payments = http.get(&format!("/transactions?customer_id={payer}"), key).await.body;
    assert_eq!(values(&payments).len(), 1, "{payments}");
    assert_eq!(shown["last_transaction_id"], values(&payments)[0]["id"]);
    assert_eq!(http.get(&format!("/invoices/{rent}"), key).await.body["status"], "paid");
    assert_eq!(mesh.count("SELECT count(*) FROM billing.autopay_attempts").await, 1);
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn each_payer_of_a_multipayer_invoice_pays_its_part_and_full_settlement_waits_for_all() {
    // A Monday: the next day is a business day, when deposits are made.
    let mesh = Mesh::start_at("2025-09-08T12:00:00Z").await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let (first, second) = (customer(&mesh, key).await, customer(&mesh, key).await);
    card(&mesh, key, &first, "4242 4242 4242 4242").await;
    card(&mesh, key, &second, "5200 8282 8282 8210").await;

    // PlacePay's multi-payer invoice: 1,000 locked at 600 / 400, and an
    // amenity of 50 split evenly; paid out only once paid in full.
    let made = http
        .post(
            "/invoices",
            key,
            json!({"type": "rent", "due_date": "2025-10-01", "accepted_payment_state": "full",
                "items": [
                    {"type": "one_time_fee", "amount": 1000,
                     "allocations": [{"account_id": first, "amount": 600}, {"account_id": second, "amount": 400}]},
                    {"type": "ammenity", "amount": 50.01}],
                "payers": [{"account_id": first}, {"account_id": second}]}),
        )
        .await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    let invoice = made.body["id"].as_str().unwrap().to_owned();
    let payers = made.body["payers"].as_array().unwrap().clone();
    let (one, two) = (payers[0]["id"].as_str().unwrap(), payers[1]["id"].as_str().unwrap());
    assert_eq!(made.body["customer_id"], first.as_str(), "the first payer is the customer");
    assert_eq!(
        (made.body["total_due"].clone(), made.body["amount_unallocated"].clone()),
        (json!(1050.01), json!(0))
    );
    assert_eq!(
        [payers[0]["amount_allocated"].clone(), payers[1]["amount_allocated"].clone()],
        [json!(625.01), json!(425)]
    );
    assert_eq!(
        made.body["items"][0]["allocations"],
        json!([{"object": "invoice_item_allocation", "payer_id": one, "account_id": first, "amount": 600,
                "type": "custom"},
               {"object": "invoice_item_allocation", "payer_id": two, "account_id": second, "amount": 400,
                "type": "custom"}])
    );
    assert_eq!(
        made.body["items"][1]["allocations"],
        json!([{"object": "invoice_item_allocation", "payer_id": one, "account_id": first, "amount": 25.01,
                "type": "auto"},
               {"object": "invoice_item_allocation", "payer_id": two, "account_id": second, "amount": 25,
                "type": "auto"}])
    );

    // A payer pays its part at most (PlacePay's invoice_payer_allocations).
    let over = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 500, "customer_id": second,
                "invoice_payer_allocations": [{"invoice_payer_id": two, "amount": 500}]}),
        )
        .await;
    assert!(
        problem(details(&over), "allocations[0].amount")
            .unwrap()
            .contains("payer's part of the invoice (425.00)"),
        "{:?}",
        over.body
    );
    let part = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 425, "customer_id": second,
                "invoice_payer_allocations": [{"invoice_payer_id": two}]}),
        )
        .await;
    assert_eq!(part.status, 200, "{:?}", part.body);
    assert_eq!(part.body["allocations"][0]["amount"], json!(425));
    assert_eq!(part.body["allocations"][0]["invoice_id"], invoice.as_str());
    assert_eq!(part.body["settlement_held"], true, "{:?}", part.body);
    let held = part.body["id"].as_str().unwrap().to_owned();
    let listed = http.get("/transactions?settlement_held=true", key).await.body;
    assert_eq!(values(&listed).iter().map(|t| t["id"].clone()).collect::<Vec<_>>(), [json!(held)]);
    let now = http.get(&format!("/invoices/{invoice}"), key).await.body;
    assert_eq!(now["status"], "partially_paid");
    assert_eq!(
        [now["payers"][0]["paid"].clone(), now["payers"][1]["paid"].clone()],
        [json!(false), json!(true)],
        "{now}"
    );
    assert_eq!(now["payers"][1]["amount_paid"], json!(425));
    assert!(now["payers"][1]["last_payment_date"].is_string(), "{now}");

    // The next business day, the held payment is not paid out.
    mesh.intents_clock.advance(chrono::TimeDelta::days(1));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(http.get("/transactions?type=deposit", key).await.body["values"], json!([]));

    // The first payer pays its part without naming itself: the paying
    // customer is the payer paid for. The invoice is paid: both go out.
    let rest = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 625.01, "customer_id": first,
                "allocations": [{"invoice_id": invoice}]}),
        )
        .await;
    assert_eq!(rest.status, 200, "{:?}", rest.body);
    assert_eq!(rest.body["allocations"][0]["invoice_payer_id"], one);
    let now = http.get(&format!("/invoices/{invoice}"), key).await.body;
    assert_eq!((now["status"].clone(), now["amount_due"].clone()), (json!("paid"), json!(0)), "{now}");
    until(&mesh, &format!("/transactions/{held}"), key, |t| t["settlement_held"] == false).await;
    let deposits =
        until(&mesh, "/transactions?type=deposit&fields=*,ledger", key, |list| !values(list).is_empty())
            .await;
    let paid_out: Vec<&Value> = values(&deposits)[0]["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["assoc_transaction_id"])
        .collect();
    assert!(paid_out.contains(&&json!(held)), "{deposits}");

    // Partial settlement (the default): a payment goes out on its own.
    let partial = http
        .post(
            "/invoices",
            key,
            json!({"items": [{"amount": 100}], "payers": [{"account_id": first}, {"account_id": second}]}),
        )
        .await;
    assert_eq!(partial.body["accepted_payment_state"], "partial", "{:?}", partial.body);
    let half = partial.body["payers"][1]["id"].as_str().unwrap();
    assert_eq!(partial.body["payers"][1]["amount_allocated"], json!(50));
    let paid = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 50, "customer_id": second,
                "allocations": [{"invoice_payer_id": half}]}),
        )
        .await;
    assert_eq!((paid.status, paid.body["settlement_held"].clone()), (200, json!(false)), "{:?}", paid.body);

    // Two payments of one payer's last 50.00 at once: one is charged.
    let raced = http
        .post(
            "/invoices",
            key,
            json!({"items": [{"amount": 100}], "payers": [{"account_id": first}, {"account_id": second}]}),
        )
        .await;
    let part = raced.body["payers"][1]["id"].as_str().unwrap().to_owned();
    let pay_part = || {
        let http = mesh.http();
        let body = json!({"type": "payment", "amount": 50, "customer_id": second,
            "invoice_payer_allocations": [{"invoice_payer_id": part}]});
        async move { http.post("/transactions", key, body).await }
    };
    let (a, b) = tokio::join!(pay_part(), pay_part());
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "{:?} {:?}", a.body, b.body);
    let now = http.get(&format!("/invoices/{}", raced.body["id"].as_str().unwrap()), key).await.body;
    assert_eq!(
        (now["total_paid"].clone(), now["payers"][1]["paid"].clone()),
        (json!(50), json!(true)),
        "{now}"
    );

    // Bad payers and parts are refused per field, and nothing is written.
    let invoices_before = mesh.count("SELECT count(*) FROM billing.invoices").await;
    let stranger = "0190f5b0-0000-7000-8000-000000000000";
    let bad = http
        .post(
            "/invoices",
            key,
            json!({"items": [
                    {"amount": 100, "allocations": [{"account_id": first, "amount": 60}, {"account_id": first, "amount": 1}]},
                    {"amount": 10, "allocations": [{"account_id": stranger, "amount": 5}]},
                    {"amount": 10, "allocations": [{"account_id": second, "amount": 11}]},
                    {"amount": 10, "payer_id": one}],
                "payers": [{"account_id": first}, {"account_id": second}, {"account_id": second}, {}]}),
        )
        .await;
    let found = details(&bad);
    assert!(problem(found, "payers[2].account_id").unwrap().contains("twice"), "{found}");
    assert!(problem(found, "payers[3].account_id").unwrap().contains("Required"), "{found}");
    assert!(found.get("customer_id").is_none(), "the first payer is the customer: {found}");
    let sometimes = http
        .post("/invoices", key, json!({"items": [{"amount": 1}], "accepted_payment_state": "sometimes"}))
        .await;
    assert_eq!(problem(details(&sometimes), "accepted_payment_state"), Some("Must be one of: partial, full"));
    let bad = http
        .post(
            "/invoices",
            key,
            json!({"items": [
                    {"amount": 100, "allocations": [{"account_id": first, "amount": 60}, {"account_id": first, "amount": 1}]},
                    {"amount": 10, "allocations": [{"account_id": stranger, "amount": 5}]},
                    {"amount": 10, "allocations": [{"account_id": second, "amount": 11}]},
                    {"amount": 10, "payer_id": one}],
                "payers": [{"account_id": first}, {"account_id": second}]}),
        )
        .await;
    let found = details(&bad);
    let item = |i: usize, path: &str| problem(&found[format!("items[{i}]")], path).map(str::to_owned);
    assert!(item(0, "allocations[1]").unwrap().contains("twice"), "{found}");
    assert!(item(1, "allocations[0].account_id").unwrap().contains("Not a payer"), "{found}");
    assert!(item(2, "allocations").unwrap().contains("more than the item's total"), "{found}");
    assert!(item(3, "payer_id").unwrap().contains("Only a payment item"), "{found}");
    let unknown = http
        .post("/invoices", key, json!({"items": [{"amount": 1}], "payers": [{"account_id": stranger}]}))
        .await;
    assert_eq!(problem(details(&unknown), "payers[0].account_id"), Some("No such customer"));
    assert_eq!(mesh.count("SELECT count(*) FROM billing.invoices").await, invoices_before);

    // A custom part replaced by an update; the auto part follows.
    let item = partial.body["items"][0]["id"].as_str().unwrap();
    let changed = http
        .put(
            &format!("/line_items/{item}"),
            key,
            json!({"allocations": [{"account_id": first, "amount": 70}]}),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(
        [changed.body["allocations"][0]["amount"].clone(), changed.body["allocations"][1]["amount"].clone()],
        [json!(70), json!(30)]
    );
    let shrink = http.put(&format!("/line_items/{item}"), key, json!({"amount": 60})).await;
    assert!(problem(details(&shrink), "amount").unwrap().contains("allocations"), "{:?}", shrink.body);

    // Another partner cannot pay a payer of this one, nor the other mode.
    let globex = test_key(&mesh.globex);
    let outsider = customer(&mesh, globex).await;
    card(&mesh, globex, &outsider, "4242 4242 4242 4242").await;
    let naming = http
        .post(
            "/transactions",
            globex,
            json!({"type": "payment", "amount": 5, "customer_id": outsider,
                "allocations": [{"invoice_payer_id": half}]}),
        )
        .await;
    assert_eq!(
        problem(details(&naming), "allocations[0].invoice_payer_id"),
        Some("No such invoice payer"),
        "{:?}",
        naming.body
    );
    let live = http
        .post(
            "/transactions",
            live_key(&mesh.acme),
            json!({"type": "payment", "amount": 5, "allocations": [{"invoice_payer_id": half}]}),
        )
        .await;
    assert_eq!(live.status, 400, "{:?}", live.body);
    let now = http.get(&format!("/invoices/{}", partial.body["id"].as_str().unwrap()), key).await.body;
    assert_eq!(now["total_paid"], json!(50), "{now}");
    mesh.until_events_published().await;
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn files_are_attached_to_invoices_read_back_and_deleted_until_the_invoice_is_closed() {
    use reqwest::multipart::{Form, Part};
    let mesh = Mesh::start().await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let payer = customer(&mesh, key).await;
    let invoice = invoice(&mesh, key, &payer, 1200.0).await;
    let lease = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".to_vec();

    // A lease, uploaded as a form with its file; a receipt as JSON.
    let part = Part::bytes(lease.clone()).file_name("lease.pdf").mime_str("application/pdf").unwrap();
    let form = Form::new().part("file", part).text("attrs", r#"{"kind": "lease"}"#);
    let path = format!("/invoices/{invoice}/attachments");
    let made = http.send(http.request(Method::POST, &path, Some(key)).multipart(form)).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    assert_eq!(
        (made.body["object"].clone(), made.body["invoice_id"].clone(), made.body["file_name"].clone()),
        (json!("invoice_attachment"), json!(invoice), json!("lease.pdf"))
    );
    assert_eq!(made.body["size_bytes"], json!(lease.len()));
    assert_eq!(made.body["attrs"], json!({"kind": "lease"}));
    let png = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b"\x89PNG\r\n\x1a\nreceipt");
    let receipt = http
        .post(
            "/invoice_attachments",
            key,
            json!({"invoice_id": invoice, "file_name": "receipt.png", "content_type": "image/png", "content": png}),
        )
        .await;
    assert_eq!(receipt.status, 200, "{:?}", receipt.body);
    let listed = http.get(&path, key).await.body;
    let names: Vec<&Value> = values(&listed).iter().map(|a| &a["file_name"]).collect();
    // Newest first, as every list.
    assert_eq!(names, [&json!("receipt.png"), &json!("lease.pdf")]);

    // Over gRPC, the bytes travel as they are.
    let mut client =
        paymesh_proto::billing::v1::invoice_attachment_service_client::InvoiceAttachmentServiceClient::new(
            mesh.billing_channel(),
        );
    let request = pb::CreateInvoiceAttachmentRequest {
        invoice_attachment: Some(pb::InvoiceAttachment {
            invoice_id: invoice.clone(),
            file_name: "statement.pdf".to_owned(),
            content_type: "application/pdf".to_owned(),
            ..Default::default()
        }),
        content: lease.clone(),
    };
    let statement = client.create_invoice_attachment(authorized(key, request)).await.unwrap().into_inner();
    let statement = statement.invoice_attachment.unwrap();
    let read = client
        .get_invoice_attachment_content(authorized(
            key,
            pb::GetInvoiceAttachmentContentRequest { id: statement.id.clone() },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((read.content, read.invoice_attachment.unwrap().sha256), (lease.clone(), statement.sha256));
    let removed = client
        .delete_invoice_attachment(authorized(key, pb::DeleteInvoiceAttachmentRequest { id: statement.id }))
        .await;
    assert!(removed.is_ok(), "{removed:?}");

    // The file comes back as itself.
    let id = made.body["id"].as_str().unwrap();
    let (status, bytes, kind) = http.client_get_bytes(&format!("/invoice_attachments/{id}/file"), key).await;
    assert_eq!(
        (status, bytes, kind.as_deref()),
        (200, lease.clone(), Some("attachment; filename=\"lease.pdf\""))
    );

    // Bad files are refused per field, and nothing is kept.
    let before = mesh.count("SELECT count(*) FROM billing.invoice_attachments").await;
    let fake = http
        .post(
            &path,
            key,
            json!({"file_name": "../lease.pdf", "content_type": "image/png", "content": "JVBERi0x"}),
        )
        .await;
    let found = details(&fake);
    assert!(problem(found, "file_name").unwrap().contains("plain file name"), "{found}");
    assert_eq!(
        problem(found, "content"),
        Some("The content is not a PNG file, as its type (image/png) says")
    );
    let html = http
        .post(&path, key, json!({"file_name": "x.html", "content_type": "text/html", "content": "PGh0bWw+"}))
        .await;
    assert!(problem(details(&html), "content_type").unwrap().starts_with("Must be one of"));
    let nowhere = http
        .post(
            "/invoice_attachments",
            key,
            json!({"file_name": "a.pdf", "content_type": "application/pdf", "content": "JVBERi0x"}),
        )
        .await;
    assert!(problem(details(&nowhere), "invoice_id").unwrap().starts_with("Required"));
    let changed = http.put(&format!("/invoice_attachments/{id}"), key, json!({"file_name": "b.pdf"})).await;
    assert_eq!(changed.status, 405, "{:?}", changed.body);
    assert_eq!(mesh.count("SELECT count(*) FROM billing.invoice_attachments").await, before);

    // Another partner, or the other mode, finds none of them.
    for other in [test_key(&mesh.globex), live_key(&mesh.acme)] {
        assert_eq!(http.get(&format!("/invoice_attachments/{id}"), other).await.status, 404);
        assert_eq!(http.client_get_bytes(&format!("/invoice_attachments/{id}/file"), other).await.0, 404);
        assert_eq!(values(&http.get("/invoice_attachments", other).await.body).len(), 0);
    }

    // Deleted while the invoice is open; a closed invoice keeps its own.
    let deleted = http.delete(&format!("/invoice_attachments/{id}"), key, None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(http.get(&format!("/invoice_attachments/{id}"), key).await.status, 404);
    assert_eq!(http.put(&format!("/invoices/{invoice}"), key, json!({"status": "closed"})).await.status, 200);
    let kept = receipt.body["id"].as_str().unwrap();
    assert_eq!(http.delete(&format!("/invoice_attachments/{kept}"), key, None).await.status, 409);
    let late = http
        .post(&path, key, json!({"file_name": "late.png", "content_type": "image/png", "content": png}))
        .await;
    assert!(problem(details(&late), "invoice_id").unwrap().contains("closed"), "{:?}", late.body);
    mesh.until_events_published().await;
    assert_eq!(
        mesh.count("SELECT count(*) FROM billing.outbox WHERE event_type LIKE 'invoice_attachment.%'").await,
        5
    );
}

#[tokio::test]
async fn placepays_recurring_invoice_bills_its_payers_and_each_item_from_its_start() {
    let mesh = Mesh::start_at("2016-12-20T09:00:00Z").await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let (first, second) = (customer(&mesh, key).await, customer(&mesh, key).await);
    // PlacePay's recurring invoice: rent 1000 and an amenity 50 from
    // 2017-02-15, monthly through 2017, for two payers (its words:
    // payers, date_incurred; its template's items are the charges).
    let made = http
        .post(
            "/billing_schedules",
            key,
            json!({"type": "rent", "start_date": "2017-01-01", "end_date": "2017-12-31",
                "recurring_frequency": "monthly", "monthly": {"billing_day": 1}, "accepted_payment_state": "full",
                "charges": [{"type": "rent", "amount": 1000},
                            {"type": "ammenity", "amount": 50, "date_incurred": "2017-02-15"}],
                "payers": [{"account_id": first}, {"account_id": second}]}),
        )
        .await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    assert_eq!(made.body["customer_id"], first.as_str(), "the first payer is the customer");
    assert_eq!(made.body["payers"], json!([{"account_id": first}, {"account_id": second}]));
    assert_eq!(made.body["charges"][1]["start_date"], "2017-02-15");
    let id = made.body["id"].as_str().unwrap();
    let path = format!("/billing_schedules/{id}/invoices?order_by=due_date");

    // January and February bill the rent; the amenity starts with March,
    // the first full period after its start.
    mesh.set_clock("2017-03-01T09:00:00Z");
    let three = until(&mesh, &path, key, |b| values(b).len() == 3).await;
    let totals: Vec<&Value> = values(&three).iter().map(|i| &i["total_due"]).collect();
    assert_eq!(totals, [&json!(1000), &json!(1000), &json!(1050)]);
    let march = &values(&three)[2];
    assert_eq!(march["accepted_payment_state"], "full");
    let parts: Vec<(&Value, &Value)> = march["payers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (&p["account_id"], &p["amount_allocated"]))
        .collect();
    assert_eq!(parts, [(&json!(first), &json!(525)), (&json!(second), &json!(525))]);

    // Prorated, an amenity starting mid-month is billed for its days.
    let prorated = http
        .post(
            "/billing_schedules",
            key,
            json!({"type": "rent", "customer_id": second, "start_date": "2017-04-01", "recurring_frequency": "monthly",
                "monthly": {"billing_day": 1}, "prorated": true,
                "charges": [{"amount": 1000}, {"amount": 50, "start_date": "2017-04-10"}]}),
        )
        .await;
    assert_eq!(prorated.status, 200, "{:?}", prorated.body);
    let pid = prorated.body["id"].as_str().unwrap();
    mesh.set_clock("2017-05-01T09:00:00Z");
    let path = format!("/billing_schedules/{pid}/invoices?order_by=due_date");
    let two = until(&mesh, &path, key, |b| values(b).len() == 2).await;
    // April: 21 of its 30 days of 50.00; May: all of it.
    let totals: Vec<&Value> = values(&two).iter().map(|i| &i["total_due"]).collect();
    assert_eq!(totals, [&json!(1035), &json!(1050)]);

    // A payer that is no customer is refused, and nothing is made.
    let schedules = mesh.count("SELECT count(*) FROM billing.billing_schedules").await;
    let bad = http
        .post(
            "/billing_schedules",
            key,
            json!({"type": "rent", "recurring_frequency": "monthly", "charges": [{"amount": 1, "date_incurred": "someday"}],
                "payers": [{"account_id": "0190f5b0-0000-7000-8000-000000000000"}]}),
        )
        .await;
    let found = details(&bad);
    assert_eq!(problem(found, "payers[0].account_id"), Some("No such customer"), "{found}");
    assert!(problem(&found["charges[0]"], "start_date").is_some(), "{found}");
    assert_eq!(mesh.count("SELECT count(*) FROM billing.billing_schedules").await, schedules);
}

#[tokio::test]
async fn a_chargeback_owes_the_invoice_again_and_its_overturn_pays_it_again() {
    // A Monday: the days below are business days.
    let mesh = Mesh::start_at("2025-09-08T12:00:00Z").await;
    let (http, key) = (mesh.http(), test_key(&mesh.acme));
    let payer = customer(&mesh, key).await;
    // The test processor's card disputed on day 4 and won back on day 14.
    card(&mesh, key, &payer, "4000 0000 0000 2685").await;
    let rent = invoice(&mesh, key, &payer, 30.0).await;
    let paid = http
        .post(
            "/transactions",
            key,
            json!({"type": "payment", "amount": 30, "customer_id": payer, "allocations": [{"invoice_id": rent}]}),
        )
        .await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    let path = format!("/invoices/{rent}");
    assert_eq!(http.get(&path, key).await.body["status"], "paid");

    // Disputed: the invoice is owed again.
    mesh.intents_clock.advance(chrono::TimeDelta::days(4));
    let owed = until(&mesh, &path, key, |i| i["amount_due"] == json!(30)).await;
    assert_eq!(owed["total_paid"], json!(0), "{owed}");
    let chargeback = until(&mesh, "/transactions?type=chargeback", key, |l| !values(l).is_empty()).await;
    let chargeback = values(&chargeback)[0]["id"].clone();

    // Overturned: the money is back, and so is the payment on the invoice.
    mesh.intents_clock.advance(chrono::TimeDelta::days(10));
    let again = until(&mesh, &path, key, |i| i["status"] == "paid").await;
    assert_eq!((again["total_paid"].clone(), again["amount_due"].clone()), (json!(30), json!(0)), "{again}");
    let reversal =
        until(&mesh, "/transactions?type=chargeback_reversal", key, |l| !values(l).is_empty()).await;
    let reversal = values(&reversal)[0]["id"].clone();
    // Its items say which transaction took the money and which gave it back.
    let moved: Vec<(Value, Value)> = again["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["entry_type"] == "payment")
        .map(|i| (i["amount"].clone(), i["transaction_id"].clone()))
        .collect();
    assert_eq!(
        moved,
        [(json!(30), paid.body["id"].clone()), (json!(-30), chargeback), (json!(30), reversal)]
    );
    mesh.until_events_published().await;
    mesh.assert_ledger_invariants().await;
}
