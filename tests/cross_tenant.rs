//! Tenancy over the whole REST surface, derived from the gateway's own
//! OpenAPI description.
//!
//! The tests read `GET /openapi.json` from the running mesh and build their
//! cases from it, so a route, a write or an attribute added to a contract
//! is covered the day it appears, or breaks these tests until it is:
//!
//! - every operation on an id-addressed path (`/…/{id}…`, every method) is
//!   tried on a real object of Acme in test mode, made by the recipe of its
//!   resource ([`Kind`], [`Side::make`]), with every credential that is not
//!   Acme's test secret key: Globex's test secret key, Acme's live key (the
//!   other mode), Acme's client key and a merchant token of Acme bound to
//!   another processing account;
//! - every list, with every such credential, and every filter on an
//!   attribute holding an id, with the ids of the other partner and mode;
//! - every create or update whose body names another object by id
//!   (`payment_method_id`, `payer.id`, `ledger[].assoc_transaction_id`, …),
//!   naming Acme's objects from Globex and from Acme's other mode, and the
//!   list writes (`PUT`/`DELETE` of a list of ids, or `?mode=query`) on
//!   Acme's ids.
//!
//! Each attempt must get the answer an id that names nothing gets, byte for
//! byte (404, or 403 for a kind of key refused outright, with the standard
//! error object), must show none of another partner's or mode's ids, and
//! must change nothing: the object is read back with its owner's key after
//! every attempt and must be the same bytes, and everything every partner
//! lists in either mode is the same after all attempts as before. Once
//! that is checked, the same requests made by the owner (or naming the
//! caller's own objects) must succeed, which proves each refusal was about
//! whose object it is.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use paymesh_identity::CreatedPartner;
use paymesh_tests::{Http, Mesh, key};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";

/// Where the id of the object named goes in a path or body template.
const HOLE: &str = "{named}";

// === The gateway, raw ===

/// How a request is authenticated.
#[derive(Clone, Debug)]
enum Auth {
    /// An API key as the Basic user name.
    Key(String),
    /// An access token, as a Bearer token.
    Token(String),
    /// None: the public routes.
    Nobody,
}

/// An answer as it was sent: compared byte for byte.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    bytes: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// The answer with `id` written as `{id}`, to compare it with the
    /// answer about another id.
    fn about(&self, id: &str) -> (u16, String) {
        (self.status, self.text().replace(id, "{id}"))
    }

    /// Whether it is a list with nothing in it.
    fn is_empty_list(&self) -> bool {
        let body = self.json();
        body["object"] == "list" && body["values"].as_array().is_some_and(Vec::is_empty)
    }
}

#[derive(Clone, Debug)]
struct Api {
    http: Http,
}

impl Api {
    async fn call(&self, method: &Method, path: &str, auth: &Auth, body: Option<&Value>) -> Answer {
        let mut request = self.http.request(method.clone(), path, None);
        request = match auth {
            Auth::Key(key) => request.basic_auth(key, Some("")),
            Auth::Token(token) => request.bearer_auth(token),
            Auth::Nobody => request,
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        Answer { status, bytes: response.bytes().await.expect("a body").to_vec() }
    }
}

// === The description ===

/// One operation of the OpenAPI description.
#[derive(Clone, Debug)]
struct Operation {
    method: Method,
    path: String,
    doc: Value,
}

impl Operation {
    fn all(spec: &Value) -> Vec<Self> {
        let mut out = Vec::new();
        for (path, item) in spec["paths"].as_object().expect("paths") {
            for (method, doc) in item.as_object().expect("a path item") {
                // A stream never ends, so it is no read to compare: its
                // isolation is tested with the stream (tests/webhooks.rs).
                if doc["responses"]["200"]["content"].get("text/event-stream").is_some() {
                    continue;
                }
                let method = method.to_uppercase().parse().expect("an HTTP method");
                out.push(Self { method, path: path.clone(), doc: doc.clone() });
            }
        }
        out
    }

    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn by_id(&self) -> bool {
        self.path.contains("{id}")
    }

    /// Served without a key (health, the description itself).
    fn public(&self) -> bool {
        self.doc.get("security") == Some(&json!([]))
    }

    fn has_param(&self, name: &str) -> bool {
        self.doc["parameters"].as_array().is_some_and(|ps| ps.iter().any(|p| p["name"] == name))
    }

    /// A list read (it pages).
    fn lists(&self) -> bool {
        self.method == Method::GET && self.has_param("limit")
    }

    /// A write of a list of ids or of every match of a query.
    fn bulk(&self) -> bool {
        self.has_param("mode")
    }

    /// Whether its body may also be a list of objects.
    fn takes_lists(&self) -> bool {
        let schema = &self.doc["requestBody"]["content"]["application/json"]["schema"];
        schema["anyOf"]
            .as_array()
            .is_some_and(|alts| alts.iter().any(|a| a["properties"]["values"].is_object()))
    }

    /// The component schema of the objects it answers.
    fn answers(&self) -> Option<String> {
        component(&self.doc["responses"]["200"]["content"]["application/json"]["schema"])
    }
}

/// The component a schema is, is a list of, or is one of.
fn component(schema: &Value) -> Option<String> {
    if !schema.is_object() {
        return None;
    }
    if let Some(target) = schema["$ref"].as_str() {
        return target.rsplit('/').next().map(str::to_owned);
    }
    component(&schema["properties"]["values"]["items"])
        .or_else(|| schema["anyOf"].as_array()?.iter().find_map(component))
}

/// `schema` with its `$ref` followed.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(target) => spec.pointer(target.trim_start_matches('#')).expect("a reference resolves"),
        None => schema,
    }
}

/// The attributes of component `name` that hold an id, with whether a body
/// may write them; nested ones dotted (`processing.payer_id`), the items of
/// a list marked `[]` (`ledger[].assoc_transaction_id`).
fn id_attributes(spec: &Value, name: &str) -> BTreeMap<String, bool> {
    fn walk(
        spec: &Value,
        schema: &Value,
        prefix: &str,
        writable: bool,
        depth: usize,
        out: &mut BTreeMap<String, bool>,
    ) {
        let schema = resolve(spec, schema);
        if depth > 4 || !schema.is_object() {
            return;
        }
        for alternative in schema["anyOf"].as_array().into_iter().flatten() {
            walk(spec, alternative, prefix, writable, depth + 1, out);
        }
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            let writable = writable && property["readOnly"] != true;
            let attr = format!("{prefix}{name}");
            if name == "id" || name.ends_with("_id") {
                *out.entry(attr.clone()).or_default() |= writable;
            }
            walk(spec, property, &format!("{attr}."), writable, depth + 1, out);
            walk(spec, &resolve(spec, property)["items"], &format!("{attr}[]."), writable, depth + 1, out);
        }
    }
    let mut out = BTreeMap::new();
    walk(spec, &spec["components"]["schemas"][name], "", true, 0, &mut out);
    out
}

/// `body` with `attr` (dotted; `[]` the first item of a list) set to `value`.
fn with(mut body: Value, attr: &str, value: &str) -> Value {
    let mut at = &mut body;
    for part in attr.split('.') {
        let (name, item) = match part.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (part, false),
        };
        if !at.is_object() {
            *at = json!({});
        }
        let slot = at.as_object_mut().expect("an object").entry(name.to_owned()).or_insert(Value::Null);
        at = if item {
            if slot.as_array().is_none_or(Vec::is_empty) {
                *slot = json!([{}]);
            }
            &mut slot[0]
        } else {
            slot
        };
    }
    *at = json!(value);
    body
}

/// The value of `attr` (dotted; `[]` the first item of a list) in `object`.
fn lookup<'a>(object: &'a Value, attr: &str) -> &'a Value {
    attr.split('.').fold(object, |at, part| match part.strip_suffix("[]") {
        Some(name) => &at[name][0],
        None => &at[part],
    })
}

/// `template` with every [`HOLE`] replaced by `id`.
fn fill(template: &Value, id: &str) -> Value {
    match template {
        Value::String(s) => Value::String(s.replace(HOLE, id)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, id)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), fill(v, id))).collect()),
        other => other.clone(),
    }
}

// === The recipes: a real object of every resource ===

/// The resources an id-addressed path may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    AccessToken,
    Account,
    ApiKey,
    Customer,
    Document,
    LegalEntity,
    Owner,
    PaymentIntent,
    PaymentMethod,
    ProcessingAccount,
    Transaction,
    TransactionLedger,
    Event,
    Webhook,
    WebhookLog,
    Invoice,
    LineItem,
    BillingSchedule,
    BillingCharge,
    AutopayEnrollment,
    /// A payer of an invoice: no collection of its own, named by payments
    /// and items.
    InvoicePayer,
    InvoiceAttachment,
    PaymentLink,
}

impl Kind {
    const ALL: [Kind; 23] = [
        Kind::AccessToken,
        Kind::Account,
        Kind::ApiKey,
        Kind::Customer,
        Kind::Document,
        Kind::LegalEntity,
        Kind::Owner,
        Kind::PaymentIntent,
        Kind::PaymentMethod,
        Kind::ProcessingAccount,
        Kind::Transaction,
        Kind::TransactionLedger,
        Kind::Event,
        Kind::Webhook,
        Kind::WebhookLog,
        Kind::Invoice,
        Kind::LineItem,
        Kind::BillingSchedule,
        Kind::BillingCharge,
        Kind::AutopayEnrollment,
        Kind::InvoicePayer,
        Kind::InvoiceAttachment,
        Kind::PaymentLink,
    ];
}

/// The recipe book's index: the resource a path of the description
/// addresses, by its collection. A collection without a recipe here fails
/// the tests that meet it.
fn kind_of(path: &str) -> Option<Kind> {
    Some(match path.split('/').nth(1).unwrap_or_default() {
        "access_tokens" => Kind::AccessToken,
        "accounts" => Kind::Account,
        "api_keys" => Kind::ApiKey,
        "customers" => Kind::Customer,
        "documents" => Kind::Document,
        "legal_entities" => Kind::LegalEntity,
        "legal_entity_owners" => Kind::Owner,
        "payment_intents" => Kind::PaymentIntent,
        "payment_methods" => Kind::PaymentMethod,
        "processing_accounts" => Kind::ProcessingAccount,
        "transactions" => Kind::Transaction,
        "transaction_ledgers" => Kind::TransactionLedger,
        "events" => Kind::Event,
        "webhooks" => Kind::Webhook,
        "webhook_logs" => Kind::WebhookLog,
        "invoices" => Kind::Invoice,
        "line_items" => Kind::LineItem,
        "billing_schedules" => Kind::BillingSchedule,
        "billing_charges" => Kind::BillingCharge,
        "autopay_enrollments" => Kind::AutopayEnrollment,
        "invoice_attachments" => Kind::InvoiceAttachment,
        "payment_links" => Kind::PaymentLink,
        _ => return None,
    })
}

/// The body of a write on an object that would change it, had the caller
/// the right: `Some(None)` for no body, `None` for a write this file has no
/// body for (which fails the test naming it).
fn write_body(op: &Operation) -> Option<Option<Value>> {
    let changed = json!({"attrs": {"intruder": "was here"}});
    Some(Some(match (op.method.as_str(), op.path.as_str()) {
        ("GET" | "DELETE", _) => return Some(None),
        (
            "PUT",
            "/accounts/{id}"
            | "/customers/{id}"
            | "/processing_accounts/{id}"
            | "/legal_entities/{id}"
            | "/legal_entity_owners/{id}"
            | "/payment_methods/{id}"
            | "/payment_intents/{id}"
            | "/invoices/{id}"
            | "/line_items/{id}"
            | "/billing_schedules/{id}"
            | "/billing_charges/{id}"
            | "/autopay_enrollments/{id}"
            | "/payment_links/{id}",
        ) => changed,
        ("POST", "/payment_links/{id}/send") => json!({"email": "intruder@example.com"}),
        ("PUT", "/invoice_attachments/{id}") => json!({"file_name": "renamed.pdf"}),
        ("POST", "/invoices/{id}/items" | "/billing_schedules/{id}/charges") => json!({"amount": 1}),
        ("POST", "/invoices/{id}/attachments" | "/payment_links/{id}/attachments") => {
            json!({"file_name": "intruder.pdf", "content_type": "application/pdf",
            "content": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PDF)})
        }
        ("PUT", "/api_keys/{id}") => json!({"name": "Renamed"}),
        ("PUT", "/webhooks/{id}") => json!({"url": "https://127.0.0.1:9/intruder"}),
        ("POST", "/webhooks/{id}/rotate_secret") => json!({"grace_period_seconds": 0}),
        ("POST", "/webhooks/{id}/redeliver") => json!({"since": "2000-01-01T00:00:00Z"}),
        ("POST", "/api_keys/{id}/roll") => json!({"grace_period_seconds": 0}),
        ("POST", "/legal_entities/{id}/owners") => json!({"full_name": "Added Owner"}),
        ("PUT", "/processing_accounts/{id}/processing_settings") => json!({"credit_trans_cost": 9.99}),
        // An authorized payment: voiding releases it.
        ("PUT", "/transactions/{id}") => json!({"status": "voided"}),
        _ => return None,
    }))
}

/// The kind of object an attribute of a body names.
fn named_kind(attr: &str) -> Option<Kind> {
    Some(match attr {
        "account_id" | "customer_id" | "payer.id" | "processing.payer_id" | "payment_method.account_id" => {
            Kind::Customer
        }
        "processing_id" | "primary_processing_id" | "recipient.id" => Kind::ProcessingAccount,
        "payment_method_id" | "payment_method.id" => Kind::PaymentMethod,
        "legal_entity_id" | "processing.legal_entity_id" | "owners[].legal_entity_id" => Kind::LegalEntity,
        "owner_id" => Kind::Owner,
        "payment_intent_id" => Kind::PaymentIntent,
        // A refund names the payment it refunds.
        "ledger[].assoc_transaction_id" => Kind::Transaction,
        "invoice_id" | "items[].invoice_id" | "allocations[].invoice_id" => Kind::Invoice,
        "payment_link_id" => Kind::PaymentLink,
        "payers[].account_id" | "items[].allocations[].account_id" | "allocations[].account_id" => {
            Kind::Customer
        }
        "payer_id"
        | "items[].payer_id"
        | "items[].allocations[].payer_id"
        | "allocations[].payer_id"
        | "allocations[].invoice_payer_id" => Kind::InvoicePayer,
        "billing_schedule_id" | "charges[].billing_schedule_id" => Kind::BillingSchedule,
        _ => return None,
    })
}

/// What a body naming another's object must come to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Refused (400, 403 or 404) exactly as an id naming nothing is.
    Refused,
    /// Accepted with the attribute not followed, because the path or
    /// another attribute names the object (why): what is made belongs to
    /// the caller and shows nothing of the object named.
    Ignored(&'static str),
}

/// The rest of a valid body creating through `path` that names an object
/// in `attr`, made of the caller's own objects, and what naming another's
/// object there must come to; `None` when this file has no case for it.
fn creating(path: &str, attr: &str, mine: &BTreeMap<Kind, String>) -> Option<(Value, Outcome)> {
    // Live mode has no payments to name: an id naming nothing stands in.
    let own = |kind| mine.get(&kind).cloned().unwrap_or_else(|| Uuid::now_v7().to_string());
    let customer = json!({"name": "Named Payer", "email": "named@example.com"});
    let recipient = json!({"name": "Named Recipient", "email": "recipient@example.com",
        "processing": {"industry": "Property management", "category": "rent", "visibility": "payer",
            "payer_id": own(Kind::Customer), "payout_method": "ach",
            "payout_details": {"routing_number": "011000015", "account_number": "000123456789"}}});
    let as_account = |mut body: Value, kind: &str| {
        body["type"] = json!(kind);
        body
    };
    let document = |kind: &str| {
        json!({"type": kind, "file_name": "evidence.pdf", "content_type": "application/pdf",
            "content": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PDF)})
    };
    let card = json!({"type": "card", "card": {"card_number": "4242 4242 4242 4242", "expiry": "12/40"},
        "billing_address": {"postal_code": "10001"}});
    let billing_schedule = || {
        // Starting in 2099: no sweep bills it while the lists are compared.
        json!({"type": "subscription", "recurring_frequency": "monthly", "start_date": "2099-01-01",
            "customer_id": own(Kind::Customer),
            "charges": [{"amount": 10}]})
    };
    let attachment = || {
        json!({"file_name": "statement.pdf", "content_type": "application/pdf",
            "content": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PDF)})
    };
    let refused = Outcome::Refused;
    Some(match (path, attr) {
        ("/access_tokens", "account_id") => (json!({"type": "session_access"}), refused),
        ("/accounts", "primary_processing_id") => (as_account(customer, "customer"), refused),
        ("/accounts", "processing.legal_entity_id" | "processing.payer_id") => {
            (as_account(recipient, "processing"), refused)
        }
        ("/customers", "primary_processing_id" | "processing.legal_entity_id" | "processing.payer_id") => {
            (customer, refused)
        }
        (
            "/processing_accounts",
            "primary_processing_id" | "processing.legal_entity_id" | "processing.payer_id",
        ) => (recipient, refused),
        ("/documents", "account_id" | "owner_id") => (document("passport"), refused),
        ("/documents", "legal_entity_id") => (document("ein_letter"), refused),
        ("/legal_entities", "owners[].legal_entity_id") => (
            json!({"legal_name": "Named Holdings LLC", "type": "LIMITED_LIABILITY_COMPANY",
                "owners": [{"full_name": "Named Owner"}]}),
            Outcome::Ignored("an owner created with its legal entity belongs to that entity"),
        ),
        ("/legal_entity_owners", "legal_entity_id") => (json!({"full_name": "Named Owner"}), refused),
        ("/legal_entities/{id}/owners", "legal_entity_id") => {
            (json!({"full_name": "Named Owner"}), Outcome::Ignored("the path names the legal entity"))
        }
        ("/payment_intents", "payer.id" | "recipient.id" | "payment_method.id") => {
            (json!({"target_amount": {"value": 100, "currency": "USD"}}), refused)
        }
        ("/payment_methods", "account_id") => (card, refused),
        ("/transactions", "customer_id" | "processing_id") => {
            (json!({"type": "payment", "amount": 5, "payment_method_id": own(Kind::PaymentMethod)}), refused)
        }
        ("/transactions", "payment_method_id") => (json!({"type": "payment", "amount": 5}), refused),
        ("/transactions", "allocations[].invoice_id" | "allocations[].invoice_payer_id") => {
            (json!({"type": "payment", "amount": 5, "payment_method_id": own(Kind::PaymentMethod)}), refused)
        }
        ("/transactions", "payment_intent_id") => (json!({"type": "payment"}), refused),
        ("/transactions", "ledger[].assoc_transaction_id") => {
            (json!({"type": "refund", "amount": 1}), refused)
        }
        ("/transactions", "payment_method.account_id") => (
            json!({"type": "payment", "amount": 5, "customer_id": own(Kind::Customer), "payment_method": card}),
            Outcome::Ignored("the payment's customer_id names whose method an inline one is"),
        ),
        ("/invoices", "customer_id" | "processing_id") => {
            (json!({"customer_id": own(Kind::Customer), "items": [{"amount": 10}]}), refused)
        }
        ("/invoices", "items[].invoice_id") => (
            json!({"customer_id": own(Kind::Customer), "items": [{"amount": 10}]}),
            Outcome::Ignored("an item created with its invoice belongs to that invoice"),
        ),
        ("/invoices", "payers[].account_id") => {
            (json!({"customer_id": own(Kind::Customer), "items": [{"amount": 10}]}), refused)
        }
        ("/invoices", "items[].allocations[].account_id" | "items[].allocations[].payer_id") => (
            json!({"customer_id": own(Kind::Customer), "items": [{"amount": 10, "allocations": [{"amount": 5}]}]}),
            refused,
        ),
        ("/invoices", "items[].payer_id") => (
            json!({"customer_id": own(Kind::Customer),
                "items": [{"entry_type": "payment", "amount": 1}, {"amount": 10}]}),
            refused,
        ),
        ("/line_items", "allocations[].account_id" | "allocations[].payer_id") => {
            (json!({"invoice_id": own(Kind::Invoice), "amount": 1, "allocations": [{"amount": 1}]}), refused)
        }
        ("/line_items", "payer_id") => {
            (json!({"invoice_id": own(Kind::Invoice), "entry_type": "payment", "amount": 1}), refused)
        }
        ("/invoices/{id}/items", "allocations[].account_id" | "allocations[].payer_id") => {
            (json!({"amount": 1, "allocations": [{"amount": 1}]}), refused)
        }
        ("/invoices/{id}/items", "payer_id") => (json!({"entry_type": "payment", "amount": 1}), refused),
        ("/line_items", "invoice_id") => (json!({"amount": 1}), refused),
        ("/invoices/{id}/items", "invoice_id") => {
            (json!({"amount": 1}), Outcome::Ignored("the path names the invoice"))
        }
        ("/billing_schedules", "customer_id" | "processing_id" | "payers[].account_id") => {
            (billing_schedule(), refused)
        }
        ("/billing_schedules", "charges[].billing_schedule_id") => (
            billing_schedule(),
            Outcome::Ignored("a charge created with its schedule belongs to that schedule"),
        ),
        ("/billing_charges", "billing_schedule_id") => (json!({"amount": 1}), refused),
        ("/invoice_attachments", "invoice_id") => (attachment(), refused),
        ("/payment_links", "processing_id" | "customer_id" | "invoice_id") => {
            (json!({"description": "Dues", "amount": 5}), refused)
        }
        ("/invoices/{id}/attachments", "invoice_id") => {
            (attachment(), Outcome::Ignored("the path names the invoice"))
        }
        ("/payment_links/{id}/attachments", "payment_link_id") => {
            (attachment(), Outcome::Ignored("the path names the payment link"))
        }
        ("/invoice_attachments", "payment_link_id") => (attachment(), refused),
        // A file has one owner: naming the other one as well is refused.
        ("/invoices/{id}/attachments", "payment_link_id")
        | ("/payment_links/{id}/attachments", "invoice_id") => (attachment(), refused),
        ("/autopay_enrollments", "customer_id" | "payment_method_id" | "billing_schedule_id") => (
            json!({"customer_id": own(Kind::Customer), "payment_method_id": own(Kind::PaymentMethod)}),
            refused,
        ),
        ("/billing_schedules/{id}/charges", "billing_schedule_id") => {
            (json!({"amount": 1}), Outcome::Ignored("the path names the billing schedule"))
        }
        _ => return None,
    })
}

/// Filters the query language does not offer, and why.
const UNFILTERABLE: &[(&str, &str, &str)] = &[(
    "/api_keys",
    "rolled_to_id",
    "not among the attributes identity lets keys be queried by; a roll is read on the old key",
)];

/// The query-language spelling of attribute `attr` (`processing[payer_id]`;
/// an object's `payer.id` is its field `payer_id`).
fn filter_name(attr: &str) -> String {
    let attr = attr.strip_suffix(".id").map_or_else(|| attr.to_owned(), |head| format!("{head}_id"));
    let mut parts = attr.split('.');
    let head = parts.next().unwrap_or_default().to_owned();
    parts.fold(head, |name, part| format!("{name}[{part}]"))
}

// === One partner in one mode ===

/// A partner in one mode: its secret key, and every id it made.
#[derive(Debug)]
struct Side {
    api: Api,
    key: String,
    live: bool,
    default_processing: String,
    ids: BTreeSet<String>,
    /// The customer of the objects bodies name (its card, its billing
    /// schedule), once made: enrollments are made for it, so that a
    /// control naming its card or schedule is the enrollment's own.
    named_customer: Option<String>,
}

fn id(object: &Value) -> String {
    object["id"].as_str().expect("an id").to_owned()
}

impl Side {
    fn new(api: &Api, partner: &CreatedPartner, live: bool) -> Self {
        let key = key(partner, if live { "secret_key_" } else { "test_secret_key_" }).to_owned();
        let default_processing = partner.default_accounts[usize::from(live)].to_string();
        let ids = BTreeSet::from([default_processing.clone()]);
        Self { api: api.clone(), key, live, default_processing, ids, named_customer: None }
    }

    fn auth(&self) -> Auth {
        Auth::Key(self.key.clone())
    }

    async fn post(&mut self, path: &str, body: Value) -> Value {
        let answer = self.api.call(&Method::POST, path, &self.auth(), Some(&body)).await;
        assert_eq!(answer.status, 200, "making POST {path} {body}: {}", answer.text());
        let made = answer.json();
        self.ids.insert(id(&made));
        made
    }

    fn n(&self) -> usize {
        self.ids.len()
    }

    async fn customer(&mut self) -> String {
        let n = self.n();
        id(&self
            .post(
                "/customers",
                json!({"name": format!("Payer {n}"), "email": format!("payer{n}@example.com")}),
            )
            .await)
    }

    async fn account(&mut self) -> String {
        let n = self.n();
        let body = json!({"type": "customer", "name": format!("Account {n}"), "email": format!("account{n}@example.com")});
        id(&self.post("/accounts", body).await)
    }

    /// A recipient that one new payer may see and pay, paid out by ACH.
    async fn processing_account(&mut self) -> String {
        let payer = self.customer().await;
        let n = self.n();
        id(&self
            .post(
                "/processing_accounts",
                json!({"name": format!("Recipient {n}"), "email": format!("recipient{n}@example.com"),
                    "processing": {"industry": "Property management", "category": "rent", "visibility": "payer",
                        "payer_id": payer, "payout_method": "ach",
                        "payout_details": {"routing_number": "011000015", "account_number": "000123456789"}}}),
            )
            .await)
    }

    /// A recipient every payer may see, for a merchant portal.
    async fn portal(&mut self) -> String {
        let body = json!({"name": "Portal Recipient", "email": "portal@example.com",
            "processing": {"industry": "Retail", "category": "retail", "visibility": "partner"}});
        id(&self.post("/processing_accounts", body).await)
    }

    async fn card(&mut self, customer: &str) -> String {
        let body = json!({"type": "card", "account_id": customer,
            "card": {"card_number": "4242 4242 4242 4242", "expiry": "12/40"}, "billing_address": {"postal_code": "10001"}});
        id(&self.post("/payment_methods", body).await)
    }

    async fn legal_entity(&mut self) -> String {
        let n = self.n();
        id(&self
            .post(
                "/legal_entities",
                json!({"legal_name": format!("Holdings {n} LLC"), "type": "LIMITED_LIABILITY_COMPANY"}),
            )
            .await)
    }

    async fn owner(&mut self, entity: &str) -> String {
        let n = self.n();
        id(&self
            .post(
                "/legal_entity_owners",
                json!({"legal_entity_id": entity, "full_name": format!("Owner {n}")}),
            )
            .await)
    }

    async fn document(&mut self, customer: &str) -> String {
        let body = json!({"type": "passport", "account_id": customer, "file_name": "passport.pdf",
            "content_type": "application/pdf",
            "content": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PDF)});
        id(&self.post("/documents", body).await)
    }

    async fn api_key(&mut self) -> String {
        let n = self.n();
        id(&self.post("/api_keys", json!({"type": "secret", "name": format!("Job {n}")})).await)
    }

    /// A hosted page's session token for `customer`: its id and the token.
    async fn session(&mut self, customer: &str) -> (String, String) {
        let made =
            self.post("/access_tokens", json!({"type": "session_access", "account_id": customer})).await;
        (id(&made), made["access_token"].as_str().expect("a token").to_owned())
    }

    /// An intent of a new payer with a card, to the default recipient.
    async fn intent(&mut self) -> String {
        let payer = self.customer().await;
        let card = self.card(&payer).await;
        let body = json!({"target_amount": {"value": 100, "currency": "USD"}, "payer": {"id": payer},
            "recipient": {"id": self.default_processing}, "payment_method": {"id": card}});
        id(&self.post("/payment_intents", body).await)
    }

    /// A card payment of a new payer: processed, or only authorized.
    async fn payment(&mut self, authorized: bool) -> String {
        let payer = self.customer().await;
        let card = self.card(&payer).await;
        let mut body = json!({"type": "payment", "amount": 10, "payment_method_id": card});
        if authorized {
            body["status"] = json!("authorized");
        }
        id(&self.post("/transactions", body).await)
    }

    /// The ledger entry linking a refund to its payment.
    async fn ledger_entry(&mut self) -> String {
        let payment = self.payment(false).await;
        let refund = self
            .post(
                "/transactions",
                json!({"type": "refund", "amount": 1, "ledger": [{"assoc_transaction_id": payment}]}),
            )
            .await;
        let entry = refund["ledger"][0]["id"].as_str().expect("a refund's ledger entry").to_owned();
        self.ids.insert(entry.clone());
        entry
    }

    /// A webhook for every trigger, posting where nothing listens (its
    /// deliveries fail, and are logged).
    async fn webhook(&mut self) -> String {
        let n = self.n();
        id(&self
            .post("/webhooks", json!({"url": format!("https://127.0.0.1:9/hook-{n}"), "trigger": "*"}))
            .await)
    }

    /// Polls `path` (a list) until it has an object; its id.
    async fn first_of(&mut self, path: &str) -> String {
        for _ in 0..200 {
            let answer = self.api.call(&Method::GET, path, &self.auth(), None).await;
            assert_eq!(answer.status, 200, "GET {path}: {}", answer.text());
            if let Some(first) = answer.json()["values"].as_array().and_then(|v| v.first()).map(id) {
                self.ids.insert(first.clone());
                return first;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("GET {path} stayed empty");
    }

    /// An invoice of a new customer.
    async fn invoice(&mut self) -> String {
        id(&self.invoice_object().await)
    }

    /// An invoice of a new customer, as made.
    async fn invoice_object(&mut self) -> Value {
        let customer = self.customer().await;
        let made =
            self.post("/invoices", json!({"customer_id": customer, "items": [{"amount": 29.99}]})).await;
        // Its items and payers are its partner's and mode's too.
        self.ids.extend(made["items"].as_array().into_iter().flatten().map(id));
        self.ids.extend(made["payers"].as_array().into_iter().flatten().map(id));
        made
    }

    /// A monthly billing schedule of a new customer.
    async fn billing_schedule(&mut self) -> String {
        let customer = self.customer().await;
        self.billing_schedule_of(&customer).await
    }

    /// A monthly billing schedule of `customer`.
    async fn billing_schedule_of(&mut self, customer: &str) -> String {
        // Starting in 2099: no sweep bills it (an invoice appearing by
        // itself would change the lists the tests compare).
        let body = json!({"type": "subscription", "recurring_frequency": "monthly", "start_date": "2099-01-01",
            "customer_id": customer,
            "charges": [{"amount": 39.99}]});
        let made = self.post("/billing_schedules", body).await;
        self.ids.extend(made["charges"].as_array().into_iter().flatten().map(id));
        id(&made)
    }

    /// The event of a new customer's creation.
    async fn event(&mut self) -> String {
        let customer = self.customer().await;
        self.first_of(&format!("/events?resource_id={customer}")).await
    }

    /// The log of a failed delivery to a new webhook: a new processing
    /// account's status fires it.
    async fn webhook_log(&mut self) -> String {
        let webhook = self.webhook().await;
        self.processing_account().await;
        self.first_of(&format!("/webhook_logs?webhook_id={webhook}")).await
    }

    /// The recipe of each resource: a new object of `kind`, or `None` where
    /// it cannot exist in this mode.
    async fn make(&mut self, kind: Kind) -> Option<String> {
        Some(match kind {
            Kind::AccessToken => {
                let customer = self.customer().await;
                self.session(&customer).await.0
            }
            Kind::Account => self.account().await,
            Kind::ApiKey => self.api_key().await,
            Kind::Customer => self.customer().await,
            Kind::Document => {
                let customer = self.customer().await;
                self.document(&customer).await
            }
            Kind::LegalEntity => self.legal_entity().await,
            Kind::Owner => {
                let entity = self.legal_entity().await;
                self.owner(&entity).await
            }
            Kind::PaymentIntent => self.intent().await,
            Kind::PaymentMethod => {
                let customer = self.customer().await;
                self.card(&customer).await
            }
            Kind::ProcessingAccount => self.processing_account().await,
            // Live mode has no processor until an operator configures one.
            Kind::Transaction | Kind::TransactionLedger if self.live => return None,
            // Authorized: a capture or a void would change it.
            Kind::Transaction => self.payment(true).await,
            Kind::TransactionLedger => self.ledger_entry().await,
            Kind::Event => self.event().await,
            Kind::Webhook => self.webhook().await,
            Kind::WebhookLog => self.webhook_log().await,
            Kind::Invoice => self.invoice().await,
            Kind::InvoicePayer => id(&self.invoice_object().await["payers"][0]),
            Kind::PaymentLink => {
                id(&self.post("/payment_links", json!({"description": "Dues", "amount": 5})).await)
            }
            Kind::InvoiceAttachment => {
                let invoice = self.invoice().await;
                let body = json!({"invoice_id": invoice, "file_name": "statement.pdf", "content_type": "application/pdf",
                    "content": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PDF)});
                id(&self.post("/invoice_attachments", body).await)
            }
            Kind::LineItem => {
                let invoice = self.invoice().await;
                id(&self.post("/line_items", json!({"invoice_id": invoice, "amount": 2.5})).await)
            }
            Kind::BillingSchedule => self.billing_schedule().await,
            Kind::AutopayEnrollment => {
                let customer = match self.named_customer.clone() {
                    Some(customer) => customer,
                    None => self.customer().await,
                };
                let card = self.card(&customer).await;
                let body = json!({"customer_id": customer, "payment_method_id": card});
                id(&self.post("/autopay_enrollments", body).await)
            }
            Kind::BillingCharge => {
                let schedule = self.billing_schedule().await;
                id(&self
                    .post("/billing_charges", json!({"billing_schedule_id": schedule, "amount": 3}))
                    .await)
            }
        })
    }

    /// The objects bodies name: a payer with a card, the default recipient,
    /// a legal entity with an owner, an intent ready to be charged and (in
    /// test mode) a processed payment.
    async fn named_objects(&mut self) -> BTreeMap<Kind, String> {
        let customer = self.customer().await;
        let card = self.card(&customer).await;
        let entity = self.legal_entity().await;
        let owner = self.owner(&entity).await;
        if !self.live {
            // The default recipient is payable once it has a payout
            // method: the intent below is then ready to be charged.
            let payout = json!({"processing": {"payout_method": "ach",
                "payout_details": {"routing_number": "011000015", "account_number": "000123456789"}}});
            let path = format!("/processing_accounts/{}", self.default_processing);
            let answer = self.api.call(&Method::PUT, &path, &self.auth(), Some(&payout)).await;
            assert_eq!(answer.status, 200, "{}", answer.text());
        }
        let intent = self.intent().await;
        let mut out = BTreeMap::from([
            (Kind::Customer, customer),
            (Kind::PaymentMethod, card),
            (Kind::LegalEntity, entity),
            (Kind::Owner, owner),
            (Kind::PaymentIntent, intent),
            (Kind::ProcessingAccount, self.default_processing.clone()),
        ]);
        let invoice = self.invoice_object().await;
        out.insert(Kind::Invoice, id(&invoice));
        out.insert(Kind::InvoicePayer, id(&invoice["payers"][0]));
        let schedule = self.billing_schedule_of(&out[&Kind::Customer]).await;
        out.insert(Kind::BillingSchedule, schedule);
        let link = id(&self.post("/payment_links", json!({"description": "Named", "amount": 5})).await);
        out.insert(Kind::PaymentLink, link);
        self.named_customer = Some(out[&Kind::Customer].clone());
        if !self.live {
            out.insert(Kind::Transaction, self.payment(false).await);
        }
        out
    }
}

// === Who tries ===

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    AcmeTest,
    AcmeLive,
    AcmeClient,
    AcmeLiveClient,
    AcmeMerchant,
    GlobexTest,
    GlobexLive,
    GlobexClient,
}

impl Who {
    /// The credentials tried on Acme's test objects.
    const INTRUDERS: [Who; 4] = [Who::GlobexTest, Who::AcmeLive, Who::AcmeClient, Who::AcmeMerchant];

    fn name(self) -> &'static str {
        match self {
            Who::AcmeTest => "Acme's test secret key",
            Who::AcmeLive => "Acme's live secret key",
            Who::AcmeClient => "Acme's test client key",
            Who::AcmeLiveClient => "Acme's live client key",
            Who::AcmeMerchant => "a merchant token of another Acme processing account",
            Who::GlobexTest => "Globex's test secret key",
            Who::GlobexLive => "Globex's live secret key",
            Who::GlobexClient => "Globex's test client key",
        }
    }

    /// What it may answer about an object it may not reach: 404 as for no
    /// object at all, or 403 where its kind of key is refused outright
    /// (client keys only tokenize and redeem; merchant tokens only read
    /// their own processing account).
    fn refused(self) -> &'static [u16] {
        match self {
            Who::AcmeTest | Who::AcmeLive | Who::GlobexTest | Who::GlobexLive => &[404],
            Who::AcmeClient | Who::AcmeLiveClient | Who::GlobexClient => &[403],
            Who::AcmeMerchant => &[403, 404],
        }
    }

    /// The secret key of the partner and mode it acts in, which sees what
    /// it made.
    fn secret(self) -> Option<Who> {
        match self {
            Who::AcmeTest | Who::AcmeClient | Who::AcmeMerchant => Some(Who::AcmeTest),
            Who::AcmeLive | Who::AcmeLiveClient => Some(Who::AcmeLive),
            Who::GlobexTest | Who::GlobexClient => Some(Who::GlobexTest),
            Who::GlobexLive => Some(Who::GlobexLive),
        }
    }
}

// === Findings ===

#[derive(Debug, Default)]
struct Report {
    problems: Vec<String>,
}

impl Report {
    fn problem(&mut self, request: &str, answer: &Answer, why: &str) {
        self.problems.push(format!("{request}\n    -> {} {}\n    {why}", answer.status, answer.text()));
    }

    fn assert_clean(&self, what: &str) {
        assert!(
            self.problems.is_empty(),
            "{what}: {} problem(s)\n\n{}",
            self.problems.len(),
            self.problems.join("\n\n")
        );
    }
}

/// Why `answer` is not a refusal with one of `allowed` (200 only as an
/// empty list) and the standard error object, if it is not.
fn not_refused(answer: &Answer, allowed: &[u16]) -> Option<String> {
    if !allowed.contains(&answer.status) {
        return Some(format!("expected one of {allowed:?}"));
    }
    if answer.status == 200 {
        return (!answer.is_empty_list()).then(|| "a success that is not an empty list".to_owned());
    }
    let body = answer.json();
    let types: &[&str] = match answer.status {
        400 => &["InvalidAttributes", "BadRequest"],
        403 => &["Forbidden"],
        404 => &["NotFound"],
        _ => &[],
    };
    let description = body["description"].as_str().unwrap_or_default();
    let standard = body["object"] == "error"
        && types.iter().any(|t| body["error_type"] == *t)
        && !description.is_empty()
        && body["error_description"] == description;
    (!standard).then(|| "not the standard error object".to_owned())
}

fn describe(method: &Method, path: &str, body: Option<&Value>, who: Who) -> String {
    let body = body.map(|b| format!(" {b}")).unwrap_or_default();
    format!("{method} {path}{body} with {}", who.name())
}

// === The world: a mesh, both partners in both modes, the description ===

/// An attempt on an object of Acme's test mode that must be refused.
#[derive(Clone, Debug)]
struct Probe {
    who: Who,
    method: Method,
    /// The path and body, with [`HOLE`] where the id of the object named goes.
    path: String,
    body: Option<Value>,
    /// Acme's object named, and its kind (to read it back).
    named: String,
    kind: Kind,
    /// The statuses it may answer.
    refused: &'static [u16],
    outcome: Outcome,
    /// The list the caller would find an object made by the request in.
    view: Option<String>,
    /// Afterwards: the request naming this instead (the caller's own
    /// object) must succeed or be refused alike; `None`: Acme's own key
    /// making the same request must succeed.
    own: Option<String>,
}

#[derive(Debug)]
struct World {
    _mesh: Mesh,
    api: Api,
    spec: Value,
    ops: Vec<Operation>,
    acme: Side,
    acme_live: Side,
    globex: Side,
    globex_live: Side,
    keys: BTreeMap<Who, Auth>,
    /// The processing account the merchant token opens.
    portal: String,
}

impl World {
    async fn start() -> Self {
        // Thousands of requests in seconds, from a few keys: no rate limit.
        // Webhooks post to loopback, where nothing listens: their
        // deliveries fail and are logged.
        let mesh = Mesh::start_with(&[
            ("PAYMESH_RATE_LIMIT_PER_SEC", "0"),
            ("PAYMESH_WEBHOOK_ALLOW_PRIVATE", "true"),
        ])
        .await;
        let api = Api { http: mesh.http() };
        let spec = api.call(&Method::GET, "/openapi.json", &Auth::Nobody, None).await;
        assert_eq!(spec.status, 200, "{}", spec.text());
        let spec = spec.json();
        let ops = Operation::all(&spec);
        let mut acme = Side::new(&api, &mesh.acme, false);
        let portal = acme.portal().await;
        acme.ids.remove(&portal);
        let token = acme.post("/access_tokens", json!({"type": "merchant", "account_id": portal})).await;
        let merchant = token["access_token"].as_str().expect("a merchant token").to_owned();
        let keys = BTreeMap::from([
            (Who::AcmeTest, Auth::Key(key(&mesh.acme, "test_secret_key_").to_owned())),
            (Who::AcmeLive, Auth::Key(key(&mesh.acme, "secret_key_").to_owned())),
            (Who::AcmeClient, Auth::Key(key(&mesh.acme, "test_client_key_").to_owned())),
            (Who::AcmeLiveClient, Auth::Key(key(&mesh.acme, "client_key_").to_owned())),
            (Who::AcmeMerchant, Auth::Token(merchant)),
            (Who::GlobexTest, Auth::Key(key(&mesh.globex, "test_secret_key_").to_owned())),
            (Who::GlobexLive, Auth::Key(key(&mesh.globex, "secret_key_").to_owned())),
            (Who::GlobexClient, Auth::Key(key(&mesh.globex, "test_client_key_").to_owned())),
        ]);
        Self {
            acme_live: Side::new(&api, &mesh.acme, true),
            globex: Side::new(&api, &mesh.globex, false),
            globex_live: Side::new(&api, &mesh.globex, true),
            acme,
            api,
            spec,
            ops,
            keys,
            portal,
            _mesh: mesh,
        }
    }

    fn auth(&self, who: Who) -> &Auth {
        &self.keys[&who]
    }

    /// The side whose objects `who` makes (for the controls).
    fn side_of(&mut self, who: Who) -> &mut Side {
        match who {
            Who::AcmeTest | Who::AcmeClient | Who::AcmeMerchant => &mut self.acme,
            Who::AcmeLive | Who::AcmeLiveClient => &mut self.acme_live,
            Who::GlobexTest | Who::GlobexClient => &mut self.globex,
            Who::GlobexLive => &mut self.globex_live,
        }
    }

    /// Every id `who` must never be shown: everything of the other
    /// partner, of the other mode and, for client keys and merchant
    /// tokens, everything but a merchant's own processing account.
    fn foreign(&self, who: Who) -> BTreeSet<String> {
        let sees = match who {
            Who::AcmeTest => Some(&self.acme),
            Who::AcmeLive => Some(&self.acme_live),
            Who::GlobexTest => Some(&self.globex),
            Who::GlobexLive => Some(&self.globex_live),
            _ => None,
        };
        let mut out: BTreeSet<String> = [&self.acme, &self.acme_live, &self.globex, &self.globex_live]
            .into_iter()
            .filter(|side| !sees.is_some_and(|s| std::ptr::eq(*side, s)))
            .flat_map(|side| side.ids.iter().cloned())
            .collect();
        if !matches!(who, Who::AcmeTest | Who::AcmeMerchant) {
            out.insert(self.portal.clone());
        }
        out
    }

    /// The GET operations of the description on `kind`'s objects.
    fn reads_of(&self, kind: Kind) -> Vec<&Operation> {
        self.ops
            .iter()
            .filter(|op| op.method == Method::GET && op.by_id() && kind_of(&op.path) == Some(kind))
            .collect()
    }

    /// Everything the description reads about Acme's test object `id`,
    /// read with Acme's test key.
    async fn read_back(&self, kind: Kind, id: &str) -> Vec<(String, Answer)> {
        let mut out = Vec::new();
        for op in self.reads_of(kind) {
            let path = op.path.replace("{id}", id);
            let answer = self.api.call(&Method::GET, &path, self.auth(Who::AcmeTest), None).await;
            out.push((path, answer));
        }
        out
    }

    /// Every list and collection read, by every partner in either mode.
    async fn everything(&self) -> BTreeMap<String, Answer> {
        // Events reach the log, and their webhooks' deliveries are tried, a
        // moment after their change: read them once every change made so
        // far is there and every delivery due has been tried (the clock
        // stands still, so no retry falls due during the attempts).
        self._mesh.until_events_delivered().await;
        let mut out = BTreeMap::new();
        for who in [Who::AcmeTest, Who::AcmeLive, Who::GlobexTest, Who::GlobexLive] {
            for op in self.ops.iter().filter(|op| op.method == Method::GET && !op.by_id() && !op.public()) {
                let path = if op.lists() { format!("{}?limit=1000", op.path) } else { op.path.clone() };
                let answer = self.api.call(&Method::GET, &path, self.auth(who), None).await;
                out.insert(format!("GET {path} with {}", who.name()), answer);
            }
        }
        out
    }

    fn compare_everything(
        report: &mut Report,
        before: &BTreeMap<String, Answer>,
        after: &BTreeMap<String, Answer>,
    ) {
        for (read, answer) in after {
            if before.get(read) != Some(answer) {
                let was = before.get(read).map(Answer::text).unwrap_or_default();
                report.problem(read, answer, &format!("changed during the attempts; it was: {was}"));
            }
        }
    }

    /// The list a request through `op` would make objects in.
    fn view_of(&self, op: &Operation) -> Option<String> {
        let answers = op.answers()?;
        self.ops
            .iter()
            .filter(|list| list.lists() && !list.by_id() && list.answers().as_deref() == Some(&answers))
            .min_by_key(|list| !op.path.starts_with(&list.path))
            .map(|list| format!("{}?limit=1000", list.path))
    }

    /// Makes the attempt, checks the answer and that nothing changed.
    /// Returns the answer, for the control.
    async fn attempt(&self, report: &mut Report, probe: &Probe) -> Answer {
        let auth = self.auth(probe.who);
        let path = probe.path.replace(HOLE, &probe.named);
        let body = probe.body.as_ref().map(|b| fill(b, &probe.named));
        let request = describe(&probe.method, &path, body.as_ref(), probe.who);
        let view = match (&probe.view, probe.who.secret()) {
            (Some(list), Some(owner)) => Some((list.clone(), owner)),
            _ => None,
        };
        let viewed = match &view {
            Some((list, owner)) => Some(self.api.call(&Method::GET, list, self.auth(*owner), None).await),
            None => None,
        };
        let owned = self.read_back(probe.kind, &probe.named).await;
        for (read, answer) in &owned {
            if answer.status != 200 {
                report.problem(
                    &format!("GET {read} with Acme's test secret key"),
                    answer,
                    "the owner cannot read it",
                );
            }
        }

        let answer = self.api.call(&probe.method, &path, auth, body.as_ref()).await;
        match probe.outcome {
            Outcome::Refused => {
                if let Some(why) = not_refused(&answer, probe.refused) {
                    report.problem(&request, &answer, &format!("LEAK? {why}"));
                }
                let nobody = Uuid::now_v7().to_string();
                let missing_path = probe.path.replace(HOLE, &nobody);
                let missing_body = probe.body.as_ref().map(|b| fill(b, &nobody));
                let missing = self.api.call(&probe.method, &missing_path, auth, missing_body.as_ref()).await;
                if answer.about(&probe.named) != missing.about(&nobody) {
                    report.problem(
                        &request,
                        &answer,
                        &format!(
                            "LEAK? answered otherwise than about an id naming nothing, which gets: {} {}",
                            missing.status,
                            missing.text()
                        ),
                    );
                }
            }
            Outcome::Ignored(why) => {
                if answer.status != 200 {
                    report.problem(&request, &answer, &format!("expected to be accepted ({why})"));
                }
            }
        }
        // A refusal may name what it was asked about, as it would an id
        // naming nothing (compared above); nothing else.
        let asked = if probe.outcome == Outcome::Refused { probe.named.as_str() } else { "" };
        let text = answer.text();
        if let Some(shown) =
            self.foreign(probe.who).iter().find(|id| **id != asked && text.contains(id.as_str()))
        {
            report.problem(&request, &answer, &format!("LEAK: shows {shown}, which is not the caller's"));
        }

        if let (Some((list, owner)), Some(before)) = (&view, &viewed)
            && probe.outcome == Outcome::Refused
        {
            let after = self.api.call(&Method::GET, list, self.auth(*owner), None).await;
            if &after != before {
                report.problem(&request, &answer, &format!("LEAK: GET {list} changed: {}", after.text()));
            }
        }
        if self.read_back(probe.kind, &probe.named).await != owned {
            report.problem(
                &request,
                &answer,
                &format!("LEAK: Acme's {:?} {} changed", probe.kind, probe.named),
            );
        }
        answer
    }

    /// A hosted page redeeming a session token.
    async fn redeem(&self, who: Who, token: &str) -> Answer {
        let body = json!({"access_token": token});
        self.api.call(&Method::POST, "/access_tokens/redeem", self.auth(who), Some(&body)).await
    }

    /// Once every attempt is checked: the same request made by the owner,
    /// or naming the caller's own object, goes through (or is refused
    /// exactly as the attempt was), so the refusals were about ownership.
    async fn control(&self, report: &mut Report, probe: &Probe, attempt: &Answer) {
        let (who, id) = match &probe.own {
            Some(own) => (probe.who, own.as_str()),
            None => (Who::AcmeTest, probe.named.as_str()),
        };
        let path = probe.path.replace(HOLE, id);
        let body = probe.body.as_ref().map(|b| fill(b, id));
        let answer = self.api.call(&probe.method, &path, self.auth(who), body.as_ref()).await;
        let alike = probe.own.is_some() && answer.about(id) == attempt.about(&probe.named);
        if answer.status != 200 && !alike {
            report.problem(
                &describe(&probe.method, &path, body.as_ref(), who),
                &answer,
                "the control failed: this request is refused even for its owner, so its refusal above proves nothing",
            );
        }
    }
}

// === The tests ===

#[tokio::test]
async fn only_the_owner_reaches_an_object_by_its_id() {
    let mut world = World::start().await;
    let ops: Vec<Operation> = world.ops.iter().filter(|op| op.by_id()).cloned().collect();
    let unprepared: Vec<String> = ops
        .iter()
        .filter_map(|op| match (kind_of(&op.path), write_body(op)) {
            (None, _) => {
                Some(format!("{}: no recipe makes the object it addresses (see kind_of)", op.name()))
            }
            (_, None) => Some(format!("{}: no body for this write (see write_body)", op.name())),
            _ => None,
        })
        .collect();
    assert!(unprepared.is_empty(), "id-addressed operations without a recipe:\n{}", unprepared.join("\n"));

    // A fresh object for each operation, so each control acts on its own.
    let mut probes = Vec::new();
    for op in &ops {
        let kind = kind_of(&op.path).expect("checked");
        let named = world.acme.make(kind).await.expect("every resource exists in test mode");
        for who in Who::INTRUDERS {
            probes.push(Probe {
                who,
                method: op.method.clone(),
                path: op.path.replace("{id}", HOLE),
                body: write_body(op).expect("checked"),
                named: named.clone(),
                kind,
                refused: who.refused(),
                outcome: Outcome::Refused,
                view: None,
                own: None,
            });
        }
    }

    let mut report = Report::default();
    let before = world.everything().await;
    let mut attempts = Vec::new();
    for probe in &probes {
        attempts.push(world.attempt(&mut report, probe).await);
    }
    World::compare_everything(&mut report, &before, &world.everything().await);
    // Each object once, by its owner: the bodies above were good ones.
    for (probe, attempt) in probes.iter().zip(&attempts).filter(|(p, _)| p.who == Who::INTRUDERS[0]) {
        world.control(&mut report, probe, attempt).await;
    }

    println!(
        "cross-tenant: {} id-addressed operations × {} credentials = {} (operation × credential) pairs tried",
        ops.len(),
        Who::INTRUDERS.len(),
        probes.len()
    );
    report.assert_clean("objects by id");
}

#[tokio::test]
async fn lists_and_filters_show_nothing_of_another_partner_or_mode() {
    let mut world = World::start().await;
    let mut report = Report::default();

    // Acme's partner-wide pricing is Acme's test mode's alone.
    let others = [Who::GlobexTest, Who::GlobexLive, Who::AcmeLive];
    let mut settings = Vec::new();
    for who in others {
        settings.push(world.api.call(&Method::GET, "/processing_settings", world.auth(who), None).await);
    }
    let set = world
        .api
        .call(
            &Method::PUT,
            "/processing_settings",
            world.auth(Who::AcmeTest),
            Some(&json!({"credit_trans_cost": 0.37})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text());
    for (who, before) in others.into_iter().zip(&settings) {
        let after = world.api.call(&Method::GET, "/processing_settings", world.auth(who), None).await;
        if &after != before {
            report.problem(
                &format!("GET /processing_settings with {}", who.name()),
                &after,
                "LEAK: shows Acme's test pricing",
            );
        }
    }

    // One object of every resource, for both partners in both modes: a
    // filter that were ignored would show the caller's own.
    for kind in Kind::ALL {
        for who in [Who::AcmeTest, Who::AcmeLive, Who::GlobexTest, Who::GlobexLive] {
            world.side_of(who).make(kind).await;
        }
    }
    let before = world.everything().await;

    let lists: Vec<&Operation> =
        world.ops.iter().filter(|op| op.method == Method::GET && !op.by_id() && !op.public()).collect();
    let viewers =
        [Who::GlobexTest, Who::GlobexLive, Who::AcmeLive, Who::AcmeTest, Who::AcmeClient, Who::AcmeMerchant];
    let mut reads = 0;
    for op in &lists {
        for who in viewers {
            let path = if op.lists() { format!("{}?limit=1000", op.path) } else { op.path.clone() };
            let answer = world.api.call(&Method::GET, &path, world.auth(who), None).await;
            reads += 1;
            let request = format!("GET {path} with {}", who.name());
            let text = answer.text();
            if let Some(shown) = world.foreign(who).iter().find(|id| text.contains(id.as_str())) {
                report.problem(&request, &answer, &format!("LEAK: shows {shown}, which is not the caller's"));
            }
            let secret = matches!(who, Who::GlobexTest | Who::GlobexLive | Who::AcmeLive | Who::AcmeTest);
            if secret && answer.status != 200 {
                report.problem(&request, &answer, "a secret key cannot read its own list");
            }
            if answer.status != 200
                && let Some(why) = not_refused(&answer, &[403, 404])
            {
                report.problem(&request, &answer, &why);
            }
        }
    }

    // Every filter on an id, with the ids of the other partner and mode.
    let pairs = [
        (Who::GlobexTest, Who::AcmeTest),
        (Who::GlobexLive, Who::AcmeTest),
        (Who::AcmeLive, Who::AcmeTest),
        (Who::AcmeTest, Who::AcmeLive),
        (Who::GlobexTest, Who::AcmeLive),
    ];
    let mut filters = 0;
    for op in lists.iter().filter(|op| op.lists()) {
        let schema = op.answers().unwrap_or_else(|| panic!("{}: a list of what?", op.name()));
        for attr in id_attributes(&world.spec, &schema).into_keys() {
            if attr.contains("[]") || UNFILTERABLE.iter().any(|(path, a, _)| *path == op.path && *a == attr) {
                continue;
            }
            let name = filter_name(&attr);
            for (who, owner) in pairs {
                let ids = if owner == Who::AcmeTest { &world.acme.ids } else { &world.acme_live.ids };
                let value = ids.iter().map(String::as_str).collect::<Vec<_>>().join("|");
                let path = format!("{}?{name}={value}&limit=1000", op.path);
                // The owner's answer: the filter is understood (and finds
                // the owner's objects by id).
                let control = world.api.call(&Method::GET, &path, world.auth(owner), None).await;
                let found = control.json()["values"].as_array().map_or(0, Vec::len);
                // (Live mode has no payments to find.)
                if control.status != 200 || (attr == "id" && owner == Who::AcmeTest && found == 0) {
                    report.problem(
                        &format!("GET {path} with {}", owner.name()),
                        &control,
                        "the owner's filter is not understood or finds nothing: add it to UNFILTERABLE with a reason, or fix it",
                    );
                    continue;
                }
                let answer = world.api.call(&Method::GET, &path, world.auth(who), None).await;
                filters += 1;
                if answer.status != 200 || !answer.is_empty_list() {
                    report.problem(
                        &format!("GET {path} with {}", who.name()),
                        &answer,
                        "LEAK? expected an empty list",
                    );
                }
            }
        }
    }
    World::compare_everything(&mut report, &before, &world.everything().await);
    println!(
        "cross-tenant: {} collection reads × {} credentials = {reads} pairs, {filters} filters by another's ids tried",
        lists.len(),
        viewers.len()
    );
    report.assert_clean("lists and filters");
}

#[tokio::test]
async fn bodies_naming_another_partners_or_modes_objects_change_nothing() {
    let mut world = World::start().await;
    let acme = world.acme.named_objects().await;
    let globex = world.globex.named_objects().await;
    let live = world.acme_live.named_objects().await;
    let own = BTreeMap::from([
        (Who::GlobexTest, globex.clone()),
        (Who::GlobexClient, globex),
        (Who::AcmeLive, live),
    ]);

    // Every create (a POST where the same path lists) and every update
    // whose objects hold an id another body may write. (Actions such as
    // a roll are tried by id in the test above; redeeming is below.)
    let writes: Vec<Operation> = world
        .ops
        .iter()
        .filter(|op| {
            let lists_here = world.ops.iter().any(|list| list.path == op.path && list.lists());
            !op.public() && (op.method == Method::PUT || (op.method == Method::POST && lists_here))
        })
        .cloned()
        .collect();
    let mut probes = Vec::new();
    let mut unprepared = Vec::new();
    let mut skipped = Vec::new();
    for op in &writes {
        let Some(schema) = op.answers() else { continue };
        let view = world.view_of(op);
        for (attr, writable) in id_attributes(&world.spec, &schema) {
            if !writable {
                continue;
            }
            let Some(kind) = named_kind(&attr) else {
                unprepared.push(format!("{} {attr}: what does it name? (see named_kind)", op.name()));
                continue;
            };
            let (body, outcome) = if op.method == Method::POST {
                let Some(case) = creating(&op.path, &attr, &own[&Who::GlobexTest]) else {
                    unprepared.push(format!("{} {attr}: no case (see creating)", op.name()));
                    continue;
                };
                case
            } else {
                (json!({}), Outcome::Refused)
            };
            for who in [Who::GlobexTest, Who::AcmeLive, Who::GlobexClient] {
                let mine = &own[&who];
                let body = match op.method {
                    Method::POST => creating(&op.path, &attr, mine).expect("checked").0,
                    _ => body.clone(),
                };
                let body = with(body, &attr, HOLE);
                // A client key is refused before anything could be ignored.
                let outcome = if who.refused() == [403] { Outcome::Refused } else { outcome };
                let mut own = mine.get(&kind).cloned().unwrap_or_else(|| Uuid::now_v7().to_string());
                // The caller's own object the path or the list addresses.
                let mut target = String::new();
                if op.by_id() || op.bulk() {
                    let maker = who.secret().expect("a partner and mode");
                    let Some(id) = world.side_of(maker).make(kind_of(&op.path).expect("a recipe")).await
                    else {
                        skipped.push(format!(
                            "{} {attr} with {}: no such object in this mode",
                            op.name(),
                            who.name()
                        ));
                        continue;
                    };
                    target = id;
                    // The control names another of the caller's objects than
                    // the one the target already names: sending back what it
                    // holds changes nothing, and would prove nothing.
                    let path = format!("/{}/{target}", op.path.split('/').nth(1).unwrap_or_default());
                    let held = world.api.call(&Method::GET, &path, world.auth(maker), None).await.json();
                    if lookup(&held, &attr) == &json!(own) {
                        own =
                            world.side_of(maker).make(kind).await.expect("what it holds exists in its mode");
                    }
                }
                let forms = if op.bulk() {
                    let mut item = body;
                    item["id"] = json!(target);
                    vec![(op.path.clone(), json!({"object": "list", "values": [item]}))]
                } else if op.takes_lists() {
                    let path = op.path.replace("{id}", &target);
                    vec![(path.clone(), body.clone()), (path, json!({"object": "list", "values": [body]}))]
                } else {
                    vec![(op.path.replace("{id}", &target), body)]
                };
                for (path, body) in forms {
                    probes.push(Probe {
                        who,
                        method: op.method.clone(),
                        path,
                        body: Some(body),
                        named: acme[&kind].clone(),
                        kind,
                        refused: &[400, 403, 404],
                        outcome,
                        view: view.clone(),
                        own: Some(own.clone()),
                    });
                }
            }
        }
    }
    assert!(unprepared.is_empty(), "bodies naming objects without a case:\n{}", unprepared.join("\n"));
    let naming = probes.len();

    // Lists of Acme's ids, or queries matching them, written by others.
    let bulk_writes: Vec<Operation> = world.ops.iter().filter(|op| op.bulk()).cloned().collect();
    for op in &bulk_writes {
        let kind = kind_of(&op.path).unwrap_or_else(|| panic!("{}: no recipe", op.name()));
        let change = (op.method == Method::PUT).then(|| json!({"attrs": {"intruder": "was here"}}));
        let item = match &change {
            Some(change) => with(change.clone(), "id", HOLE),
            None => json!({"id": HOLE}),
        };
        let forms = [
            (op.path.clone(), Some(json!({"object": "list", "values": [item]}))),
            (format!("{}?id={HOLE}&mode=query", op.path), change.clone()),
        ];
        for (path, body) in forms {
            // One object per form: the owner's control of one must not
            // undo the other's.
            let named = world.acme.make(kind).await.expect("test mode");
            for who in Who::INTRUDERS {
                probes.push(Probe {
                    who,
                    method: op.method.clone(),
                    path: path.clone(),
                    body: body.clone(),
                    named: named.clone(),
                    kind,
                    refused: &[200, 400, 403, 404],
                    outcome: Outcome::Refused,
                    view: None,
                    own: None,
                });
            }
        }
    }
    let customer = world.acme.customer().await;
    let (token_id, token) = world.acme.session(&customer).await;

    let mut report = Report::default();
    let before = world.everything().await;
    let mut attempts = BTreeMap::new();
    for (n, probe) in probes.iter().enumerate().filter(|(_, p)| p.outcome == Outcome::Refused) {
        attempts.insert(n, world.attempt(&mut report, probe).await);
    }
    // A hosted page's session token, redeemed by another partner's page or
    // by the other mode's: as a token that does not exist, and still good.
    let redeemers = [Who::GlobexClient, Who::AcmeLiveClient];
    for who in redeemers {
        let record = world.read_back(Kind::AccessToken, &token_id).await;
        let answer = world.redeem(who, &token).await;
        let forged = format!("session_access_{}", Uuid::now_v7().simple());
        let missing = world.redeem(who, &forged).await;
        let request =
            describe(&Method::POST, "/access_tokens/redeem", Some(&json!({"access_token": token})), who);
        if let Some(why) = not_refused(&answer, &[400]) {
            report.problem(&request, &answer, &format!("LEAK? {why}"));
        }
        if answer.about(&token) != missing.about(&forged) {
            report.problem(
                &request,
                &answer,
                &format!("LEAK? a token that does not exist gets: {}", missing.text()),
            );
        }
        if world.read_back(Kind::AccessToken, &token_id).await != record {
            report.problem(&request, &answer, "LEAK: Acme's session token changed");
        }
    }
    World::compare_everything(&mut report, &before, &world.everything().await);

    // What is accepted with the foreign id ignored makes objects of the
    // caller's: tried after the comparison; Acme's side must still be as
    // it was.
    let acme_only = |all: BTreeMap<String, Answer>| -> BTreeMap<String, Answer> {
        all.into_iter().filter(|(read, _)| read.contains("Acme's test")).collect()
    };
    let acme_before = acme_only(before);
    for (n, probe) in probes.iter().enumerate().filter(|(_, p)| p.outcome != Outcome::Refused) {
        attempts.insert(n, world.attempt(&mut report, probe).await);
    }
    World::compare_everything(&mut report, &acme_before, &acme_only(world.everything().await));

    // Acme's own control once per object.
    for (n, probe) in probes.iter().enumerate().filter(|(_, p)| p.own.is_some() || p.who == Who::INTRUDERS[0])
    {
        world.control(&mut report, probe, &attempts[&n]).await;
    }
    let redeemed = world.redeem(Who::AcmeClient, &token).await;
    if redeemed.status != 200 {
        report.problem(
            "POST /access_tokens/redeem with Acme's test client key",
            &redeemed,
            "the token was spent",
        );
    }

    for line in &skipped {
        println!("cross-tenant: skipped {line}");
    }
    println!(
        "cross-tenant: {naming} bodies naming another's object, {} list writes on Acme's ids and {} redeems of Acme's token: {} (request × credential) pairs tried",
        probes.len() - naming,
        redeemers.len(),
        probes.len() + redeemers.len()
    );
    report.assert_clean("bodies naming another's objects");
}
