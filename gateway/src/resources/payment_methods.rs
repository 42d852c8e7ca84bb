//! `/payment_methods`: cards and bank accounts in the vault.
//!
//! | request                                   | gRPC                   |
//! |-------------------------------------------|------------------------|
//! | `POST /payment_methods`                   | `CreatePaymentMethod`  |
//! | `GET /payment_methods/{id}`, `GET /payment_methods?…` | `GetPaymentMethod`, `ListPaymentMethods` |
//! | `PUT /payment_methods/{id}`               | `UpdatePaymentMethod`  |
//! | `DELETE /payment_methods/{id}`            | `DeletePaymentMethod`  |
//! | `GET /accounts/{id}/payment_methods` (and `/customers/…`, `/processing_accounts/…`) | `ListPaymentMethods` of one account |
//!
//! The shape is the SDK's: `type` is `card` or `bank_account`, and the
//! details nest under `card` (`card_number`, `expiry`, `card_code`) or
//! `bank_account` (`account_number`, `routing_number`, `account_type`,
//! `account_class`). The flat forms of the Payload reference are accepted
//! too (`card_number`, `expiration_date`, `full_name` at the top level).
//! Numbers come back masked; the security code never comes back.

use axum::{
    Extension,
    extract::{Path, RawQuery, State},
    routing::get,
};
use http::Method;
use paymesh_proto::{common::v1 as common, methods::v1 as pb};
use serde_json::{Value, json};

use super::accounts::{ADDRESS_PARTS, Flavor, address_json, set_address_part, word};
use crate::{
    AppState,
    auth::Caller,
    error::ApiError,
    fields::Reader,
    openapi::{self, Operation, Routes, schema_ref},
    rest::{
        self, Call, Collection, Listed, Object, Offers, Parsed, Purpose, Reply, attrs_json, equals, fetch,
        object, text_or_null, timestamp,
    },
};

const TYPES: &[(&str, i32)] = &[
    ("card", pb::PaymentMethodType::Card as i32),
    ("bank_account", pb::PaymentMethodType::BankAccount as i32),
];

const BRANDS: &[(&str, i32)] = &[
    ("visa", pb::CardBrand::Visa as i32),
    ("mastercard", pb::CardBrand::Mastercard as i32),
    ("american_express", pb::CardBrand::AmericanExpress as i32),
    ("discover", pb::CardBrand::Discover as i32),
    ("diners_club", pb::CardBrand::DinersClub as i32),
    ("jcb", pb::CardBrand::Jcb as i32),
    ("unionpay", pb::CardBrand::Unionpay as i32),
];

const CARD_TYPES: &[(&str, i32)] = &[
    ("credit", pb::CardType::Credit as i32),
    ("debit", pb::CardType::Debit as i32),
    ("prepaid", pb::CardType::Prepaid as i32),
];

const ACCOUNT_TYPES: &[(&str, i32)] =
    &[("checking", pb::BankAccountType::Checking as i32), ("savings", pb::BankAccountType::Savings as i32)];

const ACCOUNT_CLASSES: &[(&str, i32)] =
    &[("personal", pb::AccountClass::Personal as i32), ("business", pb::AccountClass::Business as i32)];

/// Card attributes the vault computes.
const CARD_OUTPUTS: &[&str] = &["card_brand", "card_type", "last4", "bin"];
/// Bank account attributes the vault computes.
const BANK_OUTPUTS: &[&str] = &["last4", "country"];
/// Numbers that cannot change: a new card or account is a new method.
const CARD_NUMBERS: &[&str] = &["card_number", "card_code"];
const BANK_NUMBERS: &[&str] = &["account_number"];

/// `/payment_methods`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PaymentMethods;

impl Collection for PaymentMethods {
    type Item = pb::PaymentMethod;

    fn object(&self) -> &'static str {
        "payment_method"
    }

    fn path(&self) -> &'static str {
        "/payment_methods"
    }

    fn not_found(&self) -> ApiError {
        ApiError::not_found("Payment method not found")
    }

    fn render(&self, method: pb::PaymentMethod) -> Object {
        to_json(method)
    }

    fn parse(&self, object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::PaymentMethod>, Object> {
        from_json(object, purpose)
    }

    fn offers(&self) -> Offers {
        Offers::ALL
    }

    fn get<'a>(&'a self, state: &'a AppState, caller: &'a Caller, id: String) -> Call<'a, pb::PaymentMethod> {
        Box::pin(async move {
            let request = caller.grpc(pb::GetPaymentMethodRequest { id });
            let method = state.payment_methods.clone().get_payment_method(request).await?;
            method.into_inner().payment_method.ok_or_else(|| tonic::Status::not_found("no method"))
        })
    }

    fn list<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        query: common::ListQuery,
    ) -> Call<'a, Listed<pb::PaymentMethod>> {
        Box::pin(async move {
            let request = caller.grpc(pb::ListPaymentMethodsRequest { query: Some(query) });
            let pb::ListPaymentMethodsResponse { payment_methods, computed, groups } =
                state.payment_methods.clone().list_payment_methods(request).await?.into_inner();
            Ok(Listed { items: payment_methods, computed, groups })
        })
    }

    rest::grpc_create! {
        client: payment_methods, item: pb::PaymentMethod, field: payment_method, plural: payment_methods,
        one: create_payment_method(pb::CreatePaymentMethodRequest), many: batch_create_payment_methods(pb::BatchCreatePaymentMethodsRequest),
    }

    rest::grpc_update! {
        client: payment_methods, item: pb::PaymentMethod, field: payment_method, plural: payment_methods,
        one: update_payment_method(pb::UpdatePaymentMethodRequest), many: batch_update_payment_methods(pb::BatchUpdatePaymentMethodsRequest), query: update_payment_methods_by_query(pb::UpdatePaymentMethodsByQueryRequest),
    }

    rest::grpc_delete! {
        client: payment_methods, item: pb::PaymentMethod, field: payment_method, plural: payment_methods,
        one: delete_payment_method(pb::DeletePaymentMethodRequest), many: batch_delete_payment_methods(pb::BatchDeletePaymentMethodsRequest), query: delete_payment_methods_by_query(pb::DeletePaymentMethodsByQueryRequest),
    }
}

/// The routes of payment methods, and of each account's.
pub(crate) fn routes() -> Routes {
    let mut routes = rest::routes(PaymentMethods);
    for flavor in [Flavor::Accounts, Flavor::Customers, Flavor::ProcessingAccounts] {
        let path = format!("{}/{{id}}/payment_methods", flavor.path());
        let noun = flavor.path().trim_start_matches('/');
        let op = Operation::new(
            Method::GET,
            format!("list_{noun}_payment_methods"),
            "List an account's payment methods",
        )
        .describe("The methods of one account; 404 when the account is not one this key may see.")
        .query(openapi::list_params())
        .reply(openapi::list_of(schema_ref("payment_method")));
        routes =
            routes.route(
                &path,
                get(
                    move |state: State<AppState>,
                          caller: Extension<Caller>,
                          id: Path<String>,
                          raw: RawQuery| async move {
                        of_account(flavor, &state, &caller, id.0, raw.0).await
                    },
                ),
                [op],
            );
    }
    routes
}

/// `GET /accounts/{id}/payment_methods`: the methods of one account (404
/// when the account is not one this key may see).
async fn of_account(
    flavor: Flavor,
    state: &AppState,
    caller: &Caller,
    id: String,
    raw: Option<String>,
) -> Reply {
    fetch(&flavor, state, caller, id.clone()).await?;
    rest::list_with(&PaymentMethods, state, caller, raw, vec![equals(&["account_id"], &[id.as_str()])]).await
}

// === REST → gRPC ===

/// A method given inline in another object (a payment's
/// `payment_method`), read as a new method; its problems nested as the
/// body is.
pub(crate) fn inline(object: Object) -> Result<pb::PaymentMethod, Object> {
    from_json(object, Purpose::Create).map(|parsed| parsed.message)
}

/// A method from its REST attributes.
fn from_json(object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::PaymentMethod>, Object> {
    let mut r = Reader::new(purpose);
    let mut m = pb::PaymentMethod::default();
    let mut id = String::new();
    let mut custom = None;
    let mut card: Option<pb::Card> = None;
    let mut bank: Option<pb::BankAccount> = None;
    for (key, mut value) in object {
        if r.common(&key, &mut value, &["payment_method"], "payment_method", &mut id, &mut custom) {
            continue;
        }
        match key.as_str() {
            "type" if purpose.creates() => {
                if let Some(kind) = r.choice("type", value, TYPES) {
                    m.r#type = kind;
                }
            }
            "account_id" if purpose.creates() => {
                if let Some(account) = r.text("account_id", value) {
                    m.account_id = account;
                }
            }
            "type" | "account_id" | "description" | "fingerprint" => r.read_only(&key, value),
            // `full_name` is the Payload reference's name for the holder.
            "account_holder" | "full_name" => {
                if let Some(holder) = r.nullable(&key, value) {
                    m.account_holder = holder.unwrap_or_default();
                    r.changed("account_holder");
                }
            }
            "phone_number" => {
                if let Some(phone) = r.nullable(&key, value) {
                    m.phone_number = phone;
                    r.changed("phone_number");
                }
            }
            "default_payment_method" => {
                if let Some(default) = r.boolean(&key, value) {
                    m.default_payment_method = default;
                    r.changed("default_payment_method");
                }
            }
            "billing_address" => {
                let Some(parts) = r.object(&key, value) else { continue };
                let address = m.billing_address.get_or_insert_with(common::Address::default);
                for (part, value) in parts {
                    let path = format!("billing_address.{part}");
                    if !ADDRESS_PARTS.contains(&part.as_str()) {
                        r.unknown(&path);
                    } else if let Some(text) = r.nullable(&path, value) {
                        set_address_part(address, &part, text.unwrap_or_default());
                        r.changed(&path);
                    }
                }
            }
            "card" => {
                let Some(fields) = r.object(&key, value) else { continue };
                for (field, value) in fields {
                    card_attribute(&mut r, card.get_or_insert_with(Default::default), &field, value);
                }
            }
            "bank_account" => {
                let Some(fields) = r.object(&key, value) else { continue };
                for (field, value) in fields {
                    bank_attribute(&mut r, bank.get_or_insert_with(Default::default), &field, value);
                }
            }
            // The flat forms: the card's or bank account's attributes at the
            // top level.
            "card_number" | "expiry" | "expiration_date" | "card_code" => {
                card_attribute(&mut r, card.get_or_insert_with(Default::default), &key, value);
            }
            "account_number" | "routing_number" | "account_type" | "account_class" | "institution_number"
            | "transit_number" => {
                bank_attribute(&mut r, bank.get_or_insert_with(Default::default), &key, value);
            }
            _ => r.unknown(&key),
        }
    }
    m.card = card;
    m.bank_account = bank;
    m.attrs = custom;
    m.id.clone_from(&id);
    r.finish(m, &id)
}

/// One attribute of a card (`expiration_date` is PlacePay's `expiry`).
fn card_attribute(r: &mut Reader<'_>, card: &mut pb::Card, field: &str, value: Value) {
    let path = format!("card.{field}");
    let creates = r.purpose().creates();
    match field {
        "card_number" | "card_code" if creates => {
            if let Some(text) = r.text(&path, value) {
                if field == "card_number" {
                    card.card_number = text;
                } else {
                    card.card_code = text;
                }
            }
        }
        "expiry" | "expiration_date" => {
            if let Some(text) = r.text(&path, value) {
                card.expiry = text;
                r.changed("card.expiry");
            }
        }
        _ if CARD_NUMBERS.contains(&field) => number_cannot_change(r, &path, value),
        _ if CARD_OUTPUTS.contains(&field) => r.read_only(&path, value),
        _ => r.unknown(&path),
    }
}

/// One attribute of a bank account.
fn bank_attribute(r: &mut Reader<'_>, bank: &mut pb::BankAccount, field: &str, value: Value) {
    let path = format!("bank_account.{field}");
    let creates = r.purpose().creates();
    match field {
        "account_number" | "routing_number" | "institution_number" | "transit_number" if creates => {
            if let Some(text) = r.text(&path, value) {
                match field {
                    "account_number" => bank.account_number = text,
                    "routing_number" => bank.routing_number = text,
                    "institution_number" => bank.institution_number = text,
                    _ => bank.transit_number = text,
                }
            }
        }
        "account_type" if creates => {
            if let Some(kind) = r.choice(&path, value, ACCOUNT_TYPES) {
                bank.account_type = kind;
            }
        }
        "account_class" if creates => {
            if let Some(class) = r.choice(&path, value, ACCOUNT_CLASSES) {
                bank.account_class = class;
            }
        }
        // Shown in clear, so sent back as read: compared with the stored.
        "account_type" | "account_class" | "routing_number" | "institution_number" | "transit_number" => {
            r.read_only(&path, value);
        }
        _ if BANK_NUMBERS.contains(&field) => number_cannot_change(r, &path, value),
        _ if BANK_OUTPUTS.contains(&field) => r.read_only(&path, value),
        _ => r.unknown(&path),
    }
}

/// A number sent with an update: the masked value read back is fine; any
/// other is refused, saying what to do instead.
fn number_cannot_change(r: &mut Reader<'_>, path: &str, value: Value) {
    if value.as_str().is_some_and(|v| v.starts_with('x')) {
        r.read_only(path, value);
    } else {
        r.problem(path, "Cannot change: tokenize the new card or bank account instead");
    }
}

// === gRPC → REST ===

fn to_json(method: pb::PaymentMethod) -> Object {
    let pb::PaymentMethod {
        id,
        r#type,
        account_id,
        account_holder,
        description,
        default_payment_method,
        card,
        bank_account,
        billing_address,
        phone_number,
        fingerprint,
        attrs: custom,
        livemode,
        create_time,
        update_time,
    } = method;
    let card = card.map_or(Value::Null, |c| {
        let pb::Card { card_number, expiry, card_code: _, card_brand, card_type, last4, bin } = c;
        json!({
            "card_number": card_number,
            "expiry": expiry,
            "card_brand": word(BRANDS, card_brand),
            "card_type": word(CARD_TYPES, card_type),
            "last4": last4,
            "bin": bin,
        })
    });
    let bank_account = bank_account.map_or(Value::Null, |b| {
        let pb::BankAccount {
            account_number,
            routing_number,
            account_type,
            account_class,
            institution_number,
            transit_number,
            last4,
            country,
        } = b;
        json!({
            "account_number": account_number,
            "routing_number": text_or_null(routing_number),
            "institution_number": text_or_null(institution_number),
            "transit_number": text_or_null(transit_number),
            "account_type": word(ACCOUNT_TYPES, account_type),
            "account_class": word(ACCOUNT_CLASSES, account_class),
            "last4": last4,
            "country": country,
        })
    });
    object(json!({
        "id": id,
        "object": "payment_method",
        "type": word(TYPES, r#type),
        "account_id": account_id,
        "account_holder": text_or_null(account_holder),
        "description": description,
        "default_payment_method": default_payment_method,
        "card": card,
        "bank_account": bank_account,
        "billing_address": address_json(billing_address),
        "phone_number": phone_number,
        "fingerprint": fingerprint,
        "livemode": livemode,
        "attrs": attrs_json(custom),
        "created_at": timestamp(create_time),
        "modified_at": timestamp(update_time),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> Object {
        object(value)
    }

    #[test]
    fn the_sdk_nested_shape_and_the_flat_one_read_alike() {
        let nested = body(json!({
            "type": "card", "account_id": "a",
            "card": {"card_number": "4242 4242 4242 4242", "expiry": "12/30", "card_code": "123"},
            "billing_address": {"postal_code": "10001"}
        }));
        let flat = body(json!({
            "type": "card", "account_id": "a", "full_name": "John Smith",
            "card_number": "4242 4242 4242 4242", "expiration_date": "12/30", "card_code": "123",
            "billing_address": {"postal_code": "10001"}
        }));
        let nested = from_json(nested, Purpose::Create).unwrap().message;
        let flat = from_json(flat, Purpose::Create).unwrap().message;
        assert_eq!(nested.card, flat.card);
        assert_eq!(flat.account_holder, "John Smith");
        assert_eq!(nested.card.unwrap().card_code, "123");

        let bank = body(json!({
            "type": "bank_account", "account_id": "a",
            "bank_account": {"account_number": "1234567890", "routing_number": "021000021", "account_type": "savings"}
        }));
        let bank = from_json(bank, Purpose::Create).unwrap().message.bank_account.unwrap();
        assert_eq!(bank.account_type, pb::BankAccountType::Savings as i32);
    }

    #[test]
    fn numbers_cannot_change_and_masked_ones_may_be_sent_back() {
        let update = Purpose::Update { path_id: "m" };
        let problems =
            from_json(body(json!({"card": {"card_number": "4000056655665556"}})), update).unwrap_err();
        assert_eq!(
            problems["card"]["card_number"],
            "Cannot change: tokenize the new card or bank account instead"
        );
        let parsed =
            from_json(body(json!({"card": {"card_number": "xxxxxxxxxxxx4242", "expiry": "01/31"}})), update)
                .unwrap();
        assert_eq!(parsed.mask, ["card.expiry"]);
        assert_eq!(parsed.read_only["card.card_number"], "xxxxxxxxxxxx4242");
        let problems = from_json(body(json!({"card": {"cvv": "1"}, "surprise": 1})), update).unwrap_err();
        assert_eq!(problems["card"]["cvv"], "Unknown attribute");
        assert_eq!(problems["surprise"], "Unknown attribute");
    }

    #[test]
    fn the_security_code_never_renders() {
        let method = pb::PaymentMethod {
            r#type: pb::PaymentMethodType::Card as i32,
            card: Some(pb::Card { card_code: "123".into(), last4: "4242".into(), ..Default::default() }),
            ..Default::default()
        };
        let json = Value::Object(to_json(method));
        assert!(json["card"].get("card_code").is_none());
        assert!(!json.to_string().contains("123"));
    }
}
