//! `/accounts`, `/customers` and `/processing_accounts`: the identity
//! service's accounts in the Payload wire format.
//!
//! `/customers` and `/processing_accounts` are `/accounts` with the type
//! fixed: objects say `"object": "customer"` or `"processing_account"`
//! (the official SDK's classes), lists show only that type, and ids of the
//! other type are not found there. Besides the shared operations (see
//! `rest`):
//!
//! | request                                      | gRPC                          |
//! |----------------------------------------------|-------------------------------|
//! | `GET /customers/{id}/recipients`             | `ListRecipients`              |
//! | `GET /processing_accounts/{id}/status_history` | `ListProcessingStatusChanges` |

use axum::{
    Extension,
    extract::{Path, RawQuery, State},
    routing::get,
};
use http::Method;
use paymesh_proto::{common::v1 as common, identity::v1 as pb};
use serde_json::{Value, json};

use crate::{
    AppState,
    auth::Caller,
    error::ApiError,
    fields::Reader,
    openapi::{self, Operation, Routes, schema_ref},
    query,
    rest::{
        self, Call, Collection, Listed, Object, Offers, Parsed, Purpose, Reply, attrs_json, equals, fetch,
        list_response, object, text_or_null, timestamp,
    },
};

/// Which of the three paths serves the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `/accounts`: every account type; `type` is required on create.
    Accounts,
    /// `/customers`: only `customer` accounts.
    Customers,
    /// `/processing_accounts`: only `processing` accounts (and billers).
    ProcessingAccounts,
}

impl Flavor {
    fn fixed_type(self) -> Option<pb::AccountType> {
        match self {
            Self::Accounts => None,
            Self::Customers => Some(pb::AccountType::Customer),
            Self::ProcessingAccounts => Some(pb::AccountType::Processing),
        }
    }
}

const TYPES: &[(&str, i32)] =
    &[("customer", pb::AccountType::Customer as i32), ("processing", pb::AccountType::Processing as i32)];

const CATEGORIES: &[(&str, i32)] = &[
    ("utilities", pb::RecipientCategory::Utilities as i32),
    ("telecommunications", pb::RecipientCategory::Telecommunications as i32),
    ("rent", pb::RecipientCategory::Rent as i32),
    ("mortgage", pb::RecipientCategory::Mortgage as i32),
    ("insurance", pb::RecipientCategory::Insurance as i32),
    ("taxes", pb::RecipientCategory::Taxes as i32),
    ("government", pb::RecipientCategory::Government as i32),
    ("education", pb::RecipientCategory::Education as i32),
    ("healthcare", pb::RecipientCategory::Healthcare as i32),
    ("childcare", pb::RecipientCategory::Childcare as i32),
    ("legal_services", pb::RecipientCategory::LegalServices as i32),
    ("professional_services", pb::RecipientCategory::ProfessionalServices as i32),
    ("construction", pb::RecipientCategory::Construction as i32),
    ("suppliers", pb::RecipientCategory::Suppliers as i32),
    ("logistics", pb::RecipientCategory::Logistics as i32),
    ("software", pb::RecipientCategory::Software as i32),
    ("marketing", pb::RecipientCategory::Marketing as i32),
    ("travel", pb::RecipientCategory::Travel as i32),
    ("auto", pb::RecipientCategory::Auto as i32),
    ("charity", pb::RecipientCategory::Charity as i32),
    ("membership", pb::RecipientCategory::Membership as i32),
    ("retail", pb::RecipientCategory::Retail as i32),
    ("other", pb::RecipientCategory::Other as i32),
];

const VISIBILITIES: &[(&str, i32)] = &[
    ("payer", pb::Visibility::Payer as i32),
    ("partner", pb::Visibility::Partner as i32),
    ("biller", pb::Visibility::Biller as i32),
];

/// Payout methods as REST spells them.
pub(crate) const PAYOUT_METHODS: &[(&str, i32)] = &[
    ("ach", pb::PayoutMethod::Ach as i32),
    ("wire", pb::PayoutMethod::Wire as i32),
    ("check", pb::PayoutMethod::Check as i32),
    ("eft", pb::PayoutMethod::Eft as i32),
];

const STATUSES: &[(&str, i32)] = &[
    ("pending", pb::ProcessingStatus::Pending as i32),
    ("active", pb::ProcessingStatus::Active as i32),
    ("in_review", pb::ProcessingStatus::InReview as i32),
    ("update_required", pb::ProcessingStatus::UpdateRequired as i32),
    ("inactive", pb::ProcessingStatus::Inactive as i32),
];

/// Verification statuses (customers' KYC, entities' KYB, owners' KYC).
pub(crate) const KYC_STATUSES: &[(&str, i32)] = &[
    ("unverified", pb::KycStatus::Unverified as i32),
    ("pending", pb::KycStatus::Pending as i32),
    ("verified", pb::KycStatus::Verified as i32),
    ("rejected", pb::KycStatus::Rejected as i32),
];

const ACCOUNT_TYPES: &[(&str, i32)] =
    &[("checking", pb::BankAccountType::Checking as i32), ("savings", pb::BankAccountType::Savings as i32)];

/// The word of a wire enum value.
pub(crate) fn word(choices: &[(&'static str, i32)], value: i32) -> Value {
    choices.iter().find(|(_, v)| *v == value).map_or(Value::Null, |(w, _)| Value::String((*w).to_owned()))
}

// === The collection ===

impl Collection for Flavor {
    type Item = pb::Account;

    fn object(&self) -> &'static str {
        match self {
            Self::Accounts => "account",
            Self::Customers => "customer",
            Self::ProcessingAccounts => "processing_account",
        }
    }

    fn offers(&self) -> Offers {
        Offers::ALL
    }

    fn path(&self) -> &'static str {
        match self {
            Self::Accounts => "/accounts",
            Self::Customers => "/customers",
            Self::ProcessingAccounts => "/processing_accounts",
        }
    }

    fn message_field(&self) -> &'static str {
        "account"
    }

    fn not_found(&self) -> ApiError {
        ApiError::not_found(match self {
            Self::Accounts => "Account not found",
            Self::Customers => "Customer not found",
            Self::ProcessingAccounts => "Processing account not found",
        })
    }

    fn render(&self, account: pb::Account) -> Object {
        to_json(account, *self)
    }

    fn parse(&self, object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::Account>, Object> {
        from_json(object, *self, purpose)
    }

    fn fixed_filters(&self) -> Vec<paymesh_proto::common::v1::Filter> {
        self.fixed_type().map(|t| equals(&["type"], &[type_name(t)])).into_iter().collect()
    }

    fn owns(&self, item: &pb::Account) -> bool {
        self.fixed_type().is_none_or(|t| item.r#type == t as i32)
    }

    fn get<'a>(&'a self, state: &'a AppState, caller: &'a Caller, id: String) -> Call<'a, pb::Account> {
        Box::pin(async move {
            let response =
                state.accounts.clone().get_account(caller.grpc(pb::GetAccountRequest { id })).await?;
            response.into_inner().account.ok_or_else(|| tonic::Status::not_found("no account"))
        })
    }

    fn list<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        query: common::ListQuery,
    ) -> Call<'a, Listed<pb::Account>> {
        Box::pin(async move {
            let request = caller.grpc(pb::ListAccountsRequest { query: Some(query) });
            let pb::ListAccountsResponse { accounts, computed, groups } =
                state.accounts.clone().list_accounts(request).await?.into_inner();
            Ok(Listed { items: accounts, computed, groups })
        })
    }

    rest::grpc_create! {
        client: accounts, item: pb::Account, field: account, plural: accounts,
        one: create_account(pb::CreateAccountRequest), many: batch_create_accounts(pb::BatchCreateAccountsRequest),
    }

    rest::grpc_update! {
        client: accounts, item: pb::Account, field: account, plural: accounts,
        one: update_account(pb::UpdateAccountRequest), many: batch_update_accounts(pb::BatchUpdateAccountsRequest), query: update_accounts_by_query(pb::UpdateAccountsByQueryRequest),
    }

    rest::grpc_delete! {
        client: accounts, item: pb::Account, field: account, plural: accounts,
        one: delete_account(pb::DeleteAccountRequest), many: batch_delete_accounts(pb::BatchDeleteAccountsRequest), query: delete_accounts_by_query(pb::DeleteAccountsByQueryRequest),
    }
}

/// The routes of accounts, customers and processing accounts.
pub(crate) fn routes() -> Routes {
    let recipients_op =
        Operation::new(Method::GET, "list_customer_recipients", "List a customer's recipients")
            .describe("The processing accounts the customer may see and pay.")
            .reply(openapi::list_of(schema_ref("processing_account")));
    let history_op = Operation::new(
        Method::GET,
        "list_processing_status_changes",
        "List a processing account's status changes",
    )
    .describe("Who changed the status, why and when, oldest first.")
    .reply(openapi::list_of(schema_ref("processing_status_change")));
    rest::routes(Flavor::Accounts)
        .merge(rest::routes(Flavor::Customers))
        .merge(rest::routes(Flavor::ProcessingAccounts))
        .route("/customers/{id}/recipients", get(recipients), [recipients_op])
        .route("/processing_accounts/{id}/status_history", get(status_history), [history_op])
        .schema("processing_status_change", openapi::inferred("processing_status_change"))
}

/// `GET /customers/{id}/recipients`: the processing accounts a payer may
/// see and pay.
async fn recipients(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Reply {
    let params = query::parse(raw.as_deref())?;
    let grouped = !params.query.group_by.is_empty() || !params.query.aggregates.is_empty();
    let request = caller.grpc(pb::ListRecipientsRequest { payer_id: id, query: Some(params.query) });
    let pb::ListRecipientsResponse { accounts, computed, groups } = state
        .accounts
        .clone()
        .list_recipients(request)
        .await
        .map_err(|e| {
            if e.code() == tonic::Code::NotFound {
                Flavor::Customers.not_found()
            } else {
                rest::status(&Flavor::ProcessingAccounts, &e)
            }
        })?
        .into_inner();
    if grouped {
        return Ok(list_response(
            groups.into_iter().map(|g| Value::Object(paymesh_kit::json::from_struct(g))),
        ));
    }
    let mut computed = computed.into_iter().map(paymesh_kit::json::from_struct);
    Ok(list_response(accounts.into_iter().map(|a| {
        Value::Object(params.projection.apply(to_json(a, Flavor::ProcessingAccounts), computed.next(), &[]))
    })))
}

/// `GET /processing_accounts/{id}/status_history`: who changed the status,
/// why and when, oldest first.
async fn status_history(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Reply {
    fetch(&Flavor::ProcessingAccounts, &state, &caller, id.clone()).await?;
    let request = caller.grpc(pb::ListProcessingStatusChangesRequest { account_id: id });
    let changes = state
        .accounts
        .clone()
        .list_processing_status_changes(request)
        .await
        .map_err(|e| rest::status(&Flavor::ProcessingAccounts, &e))?
        .into_inner()
        .changes;
    Ok(list_response(changes.into_iter().map(|c| {
        let pb::ProcessingStatusChange {
            id,
            account_id,
            from_status,
            to_status,
            reasons,
            actor_type,
            actor_id,
            create_time,
        } = c;
        json!({
            "id": id,
            "object": "processing_status_change",
            "account_id": account_id,
            "from_status": word(STATUSES, from_status),
            "to_status": word(STATUSES, to_status),
            "reasons": reasons,
            "actor_type": actor_type,
            "actor_id": actor_id,
            "created_at": timestamp(create_time),
        })
    })))
}

// === JSON ⇄ proto ===

fn type_name(t: pb::AccountType) -> &'static str {
    match t {
        pb::AccountType::Customer => "customer",
        pb::AccountType::Processing => "processing",
        pb::AccountType::Unspecified => "",
    }
}

/// An account and its update mask from a REST object.
fn from_json(object: Object, flavor: Flavor, purpose: Purpose<'_>) -> Result<Parsed<pb::Account>, Object> {
    let mut r = Reader::new(purpose);
    let mut account = pb::Account::default();
    let mut id = String::new();
    let mut custom = None;
    if object.contains_key("name") && object.contains_key("full_name") {
        r.problem("full_name", "Send name or full_name, not both");
    }
    let objects = ["account", "customer", "processing_account"];
    for (key, mut value) in object {
        if r.common(&key, &mut value, &objects, flavor.object(), &mut id, &mut custom) {
            continue;
        }
        match key.as_str() {
            "type" => match (flavor.fixed_type(), purpose.creates()) {
                (Some(fixed), _) => {
                    if value.as_str() != Some(type_name(fixed)) {
                        r.problem("type", format!("Must be \"{}\" here", type_name(fixed)));
                    }
                }
                (None, true) => {
                    if let Some(t) = r.choice("type", value, TYPES) {
                        account.r#type = t;
                    }
                }
                (None, false) => r.read_only("type", value),
            },
            "name" | "full_name" => {
                if let Some(name) = r.text(&key, value) {
                    account.name = name;
                    r.changed("name");
                }
            }
            "email" => {
                if let Some(email) = r.text("email", value) {
                    account.email = email;
                    r.changed("email");
                }
            }
            "phone_number" | "description" | "primary_processing_id" => {
                if let Some(text) = r.nullable(&key, value) {
                    match key.as_str() {
                        "phone_number" => account.phone_number = text,
                        "description" => account.description = text,
                        _ => account.primary_processing_id = text,
                    }
                    r.changed(&key);
                }
            }
            "default_payment_method_id" | "kyc_status" | "kyc_status_reasons" => r.read_only(&key, value),
            "processing" => {
                if let Some(fields) = r.object("processing", value) {
                    account.processing = Some(processing_from_json(&mut r, fields));
                }
            }
            _ => r.unknown(&key),
        }
    }
    if let Some(fixed) = flavor.fixed_type() {
        account.r#type = fixed as i32;
    }
    account.attrs = custom;
    account.id = id.clone();
    r.finish(account, &id)
}

fn processing_from_json(r: &mut Reader<'_>, fields: Object) -> pb::Processing {
    let mut p = pb::Processing::default();
    for (key, value) in fields {
        let path = format!("processing.{key}");
        match key.as_str() {
            "industry" => {
                if let Some(text) = r.text(&path, value) {
                    p.industry = text;
                    r.changed(&path);
                }
            }
            "category" => {
                if let Some(c) = r.choice(&path, value, CATEGORIES) {
                    p.category = c;
                    r.changed(&path);
                }
            }
            "visibility" => {
                if let Some(v) = r.choice(&path, value, VISIBILITIES) {
                    p.visibility = v;
                    r.changed(&path);
                }
            }
            "payer_id" | "legal_entity_id" => {
                if let Some(text) = r.nullable(&path, value) {
                    if key == "payer_id" {
                        p.payer_id = text;
                    } else {
                        p.legal_entity_id = text;
                    }
                    r.changed(&path);
                }
            }
            "payout_method" => {
                if value.is_null() {
                    p.payout_method = 0;
                    r.changed(&path);
                } else if let Some(m) = r.choice(&path, value, PAYOUT_METHODS) {
                    p.payout_method = m;
                    r.changed(&path);
                }
            }
            "payout_details" => {
                if let Some(details) = r.object(&path, value) {
                    p.payout_details = Some(payout_from_json(r, details));
                    r.changed(&path);
                }
            }
            "default" => {
                if let Some(flag) = r.boolean(&path, value) {
                    p.default = flag;
                    r.changed(&path);
                }
            }
            "status" => {
                // Only a change is a request; the status read back is compared.
                if r.purpose().updates_one() && !matches!(value.as_str(), Some("active" | "inactive")) {
                    r.read_only(&path, value);
                } else if let Some(s) = r.choice(&path, value, STATUSES) {
                    p.status = s;
                    r.changed(&path);
                }
            }
            "status_reason" => {
                if let Some(reason) = r.nullable(&path, value) {
                    p.status_reason = reason;
                    r.changed(&path);
                }
            }
            "status_reasons" | "status_changed_at" => r.read_only(&path, value),
            _ => r.unknown(&path),
        }
    }
    p
}

fn payout_from_json(r: &mut Reader<'_>, fields: Object) -> pb::PayoutDetails {
    let mut d = pb::PayoutDetails::default();
    for (key, value) in fields {
        let path = format!("processing.payout_details.{key}");
        match key.as_str() {
            "account_holder" | "routing_number" | "account_number" | "institution_number"
            | "transit_number" => {
                if let Some(text) = r.nullable(&path, value) {
                    let text = text.unwrap_or_default();
                    match key.as_str() {
                        "account_holder" => d.account_holder = text,
                        "routing_number" => d.routing_number = text,
                        "account_number" => d.account_number = text,
                        "institution_number" => d.institution_number = text,
                        _ => d.transit_number = text,
                    }
                }
            }
            "account_type" => {
                if let Some(t) = r.choice(&path, value, ACCOUNT_TYPES) {
                    d.account_type = t;
                }
            }
            "mailing_address" => {
                if let Some(address) = r.object(&path, value) {
                    d.mailing_address = Some(address_from_json(r, &path, address));
                }
            }
            // Shown with the details; the number itself is write-only.
            "account_number_last4" => {}
            _ => r.unknown(&path),
        }
    }
    d
}

/// An address from its REST attributes (`street_address`, …).
pub(crate) fn address_from_json(r: &mut Reader<'_>, prefix: &str, fields: Object) -> common::Address {
    let mut a = common::Address::default();
    for (key, value) in fields {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        if !ADDRESS_PARTS.contains(&key.as_str()) {
            r.unknown(&path);
            continue;
        }
        if let Some(text) = r.nullable(&path, value) {
            set_address_part(&mut a, &key, text.unwrap_or_default());
        }
    }
    a
}

/// The attributes of an address, as REST names them.
pub(crate) const ADDRESS_PARTS: &[&str] =
    &["street_address", "unit_number", "city", "state_province", "postal_code", "country"];

/// Sets one part of an address by its REST name.
pub(crate) fn set_address_part(a: &mut common::Address, part: &str, text: String) {
    match part {
        "street_address" => a.street_address = text,
        "unit_number" => a.unit_number = text,
        "city" => a.city = text,
        "state_province" => a.state_province = text,
        "postal_code" => a.postal_code = text,
        _ => a.country = text,
    }
}

/// An address as REST shows it (empty parts are null).
pub(crate) fn address_json(address: Option<common::Address>) -> Object {
    let a = address.unwrap_or_default();
    object(json!({
        "street_address": text_or_null(a.street_address),
        "unit_number": text_or_null(a.unit_number),
        "city": text_or_null(a.city),
        "state_province": text_or_null(a.state_province),
        "postal_code": text_or_null(a.postal_code),
        "country": text_or_null(a.country),
    }))
}

/// An account as REST shows it.
fn to_json(account: pb::Account, flavor: Flavor) -> Object {
    let pb::Account {
        id,
        r#type,
        name,
        email,
        phone_number,
        description,
        attrs: custom,
        livemode,
        create_time,
        update_time,
        primary_processing_id,
        default_payment_method_id,
        kyc_status,
        kyc_status_reasons,
        processing,
    } = account;
    let kind = pb::AccountType::try_from(r#type).map_or("", type_name);
    let object_name = match (flavor, kind) {
        (Flavor::Accounts, _) => "account",
        (_, "processing") => "processing_account",
        _ => "customer",
    };
    let mut out = object(json!({
        "id": id,
        "object": object_name,
        "type": kind,
        "name": name,
        "email": email,
        "phone_number": phone_number,
        "description": description,
        "attrs": attrs_json(custom),
        "livemode": livemode,
        "created_at": timestamp(create_time),
        "modified_at": timestamp(update_time),
    }));
    match processing {
        Some(p) => {
            out.insert("processing".to_owned(), Value::Object(processing_json(p)));
        }
        None => {
            out.insert("primary_processing_id".to_owned(), json!(primary_processing_id));
            out.insert("default_payment_method_id".to_owned(), json!(default_payment_method_id));
            out.insert("kyc_status".to_owned(), word(KYC_STATUSES, kyc_status));
            out.insert("kyc_status_reasons".to_owned(), json!(kyc_status_reasons));
        }
    }
    out
}

fn processing_json(p: pb::Processing) -> Object {
    let pb::Processing {
        industry,
        category,
        visibility,
        payer_id,
        payout_method,
        payout_details,
        status,
        status_reasons,
        status_time,
        legal_entity_id,
        default,
        status_reason: _,
    } = p;
    let details = payout_details.map(|d| {
        let pb::PayoutDetails {
            account_holder,
            routing_number,
            account_number: _,
            account_number_last4,
            account_type,
            institution_number,
            transit_number,
            mailing_address,
        } = d;
        let mut details = object(json!({"account_holder": text_or_null(account_holder)}));
        match pb::PayoutMethod::try_from(payout_method) {
            Ok(pb::PayoutMethod::Ach | pb::PayoutMethod::Wire) => {
                details.insert("routing_number".to_owned(), text_or_null(routing_number));
                details.insert("account_number_last4".to_owned(), text_or_null(account_number_last4));
                details.insert("account_type".to_owned(), word(ACCOUNT_TYPES, account_type));
            }
            Ok(pb::PayoutMethod::Eft) => {
                details.insert("institution_number".to_owned(), text_or_null(institution_number));
                details.insert("transit_number".to_owned(), text_or_null(transit_number));
                details.insert("account_number_last4".to_owned(), text_or_null(account_number_last4));
            }
            _ => {
                details.insert("mailing_address".to_owned(), Value::Object(address_json(mailing_address)));
            }
        }
        Value::Object(details)
    });
    object(json!({
        "industry": industry,
        "category": word(CATEGORIES, category),
        "visibility": word(VISIBILITIES, visibility),
        "payer_id": payer_id,
        "payout_method": word(PAYOUT_METHODS, payout_method),
        "payout_details": details,
        "status": word(STATUSES, status),
        "status_reasons": status_reasons,
        "status_changed_at": timestamp(status_time),
        "legal_entity_id": legal_entity_id,
        "default": default,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> Object {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_seed_create_body_parses_on_customers() {
        let Parsed { message, .. } = from_json(
            body(json!({"email": "matt.perez@example.com", "full_name": "Matt Perez"})),
            Flavor::Customers,
            Purpose::Create,
        )
        .unwrap();
        assert_eq!(message.name, "Matt Perez");
        assert_eq!(message.r#type, pb::AccountType::Customer as i32);
    }

    #[test]
    fn accounts_need_a_known_type() {
        let problems = from_json(
            body(json!({"email": "a@x.com", "name": "A", "type": "admin"})),
            Flavor::Accounts,
            Purpose::Create,
        )
        .unwrap_err();
        assert_eq!(Value::Object(problems), json!({"type": "Must be one of: customer, processing"}));
        let problems = from_json(
            body(json!({"email": "a@x.com", "name": "A", "type": "processing"})),
            Flavor::Customers,
            Purpose::Create,
        )
        .unwrap_err();
        assert_eq!(Value::Object(problems), json!({"type": "Must be \"customer\" here"}));
    }

    #[test]
    fn wrong_types_unknown_and_read_only_attributes_are_named() {
        let object = body(json!({
            "email": 5, "name": null, "phone_number": [], "attrs": "x",
            "created_at": "2019-01-01", "id": "x", "secret": 1, "object": "invoice"
        }));
        let problems = from_json(object, Flavor::Customers, Purpose::Create).unwrap_err();
        assert_eq!(
            Value::Object(problems),
            json!({
                "email": "Must be a string", "name": "Required", "phone_number": "Must be a string or null",
                "attrs": "Must be an object", "created_at": "Read-only attribute", "id": "Read-only attribute",
                "secret": "Unknown attribute", "object": "Must be \"customer\""
            })
        );
    }

    #[test]
    fn processing_attributes_parse_with_nested_problems() {
        let recipient = body(json!({
            "name": "Acme Rentals", "email": "rent@acme.example",
            "processing": {
                "industry": "Property management", "category": "rent", "visibility": "partner",
                "payout_method": "ach", "default": "true",
                "payout_details": {"routing_number": "011000015", "account_number": "000123456789"}
            }
        }));
        let Parsed { message, .. } =
            from_json(recipient, Flavor::ProcessingAccounts, Purpose::Create).unwrap();
        let p = message.processing.unwrap();
        assert_eq!(p.category, pb::RecipientCategory::Rent as i32);
        assert_eq!(p.payout_method, pb::PayoutMethod::Ach as i32);
        assert!(p.default);
        assert_eq!(p.payout_details.unwrap().account_number, "000123456789");

        let bad = body(json!({"name": "A", "email": "a@x.com",
            "processing": {"category": "casino", "visibility": 3, "payout_details": {"iban": "x"}}}));
        let problems = from_json(bad, Flavor::ProcessingAccounts, Purpose::Create).unwrap_err();
        assert_eq!(problems["processing"]["visibility"], "Must be one of: payer, partner, biller");
        assert!(
            problems["processing"]["category"].as_str().unwrap().starts_with("Must be one of: utilities")
        );
        assert_eq!(problems["processing"]["payout_details"]["iban"], "Unknown attribute");
    }

    #[test]
    fn updates_mask_exactly_what_was_sent() {
        let object = body(json!({"email": "b@x.com", "description": null, "attrs": null}));
        let Parsed { message, mask, .. } =
            from_json(object, Flavor::Accounts, Purpose::Update { path_id: "1" }).unwrap();
        assert_eq!(message.email, "b@x.com");
        assert_eq!(mask, ["email", "description", "attrs"]);
        let mismatch = body(json!({"id": "2"}));
        assert!(from_json(mismatch, Flavor::Accounts, Purpose::Update { path_id: "1" }).is_err());
        let missing = body(json!({"email": "b@x.com"}));
        assert_eq!(
            Value::Object(from_json(missing, Flavor::Accounts, Purpose::BatchUpdate).unwrap_err()),
            json!({"id": "Required"})
        );
    }

    #[test]
    fn a_status_read_back_is_compared_and_a_change_is_requested() {
        let read_back = body(json!({"processing": {"status": "update_required", "status_reasons": []}}));
        let parsed =
            from_json(read_back, Flavor::ProcessingAccounts, Purpose::Update { path_id: "1" }).unwrap();
        assert!(parsed.mask.is_empty());
        assert_eq!(
            Value::Object(parsed.read_only),
            json!({"processing.status": "update_required", "processing.status_reasons": []})
        );
        let deactivate = body(json!({"processing": {"status": "inactive", "status_reason": "Closed"}}));
        let parsed =
            from_json(deactivate, Flavor::ProcessingAccounts, Purpose::Update { path_id: "1" }).unwrap();
        assert_eq!(parsed.mask, ["processing.status", "processing.status_reason"]);
    }
}
