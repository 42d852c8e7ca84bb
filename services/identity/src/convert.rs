//! Wire ↔ domain: the one place proto messages become domain values and
//! back. Messages are destructured exhaustively, so a new field does not
//! compile until it is handled here.
//!
//! Field violations name the field as in the request message
//! (`account.email`); batch handlers nest them under their item.

use paymesh_kit::{Violation, json};
use paymesh_proto::identity::v1 as pb;
use prost_types::{FieldMask, Timestamp};
use uuid::Uuid;

use crate::domain::account::{
    Account, AccountPatch, AccountType, Attrs, Description, Email, Name, NewAccount, Phone,
};

fn field<T>(violations: &mut Vec<Violation>, name: &str, parsed: Result<T, String>) -> Option<T> {
    parsed.map_err(|why| violations.push(Violation::new(format!("account.{name}"), why))).ok()
}

fn attrs(value: Option<prost_types::Struct>) -> Result<Attrs, String> {
    Attrs::parse(value.map(json::from_struct).unwrap_or_default())
}

fn optional<T>(
    value: Option<String>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match value {
        Some(v) if !v.trim().is_empty() => parse(&v).map(Some),
        _ => Ok(None),
    }
}

/// The account a create request asks for.
pub(crate) fn new_account(account: Option<pb::Account>) -> Result<NewAccount, Vec<Violation>> {
    let Some(account) = account else {
        return Err(vec![Violation::new("account", "Required")]);
    };
    let pb::Account {
        id: _,
        r#type,
        name,
        email,
        phone_number,
        description,
        attrs: custom,
        livemode: _,
        create_time: _,
        update_time: _,
    } = account;
    let mut violations = Vec::new();
    let kind = field(&mut violations, "type", account_type(r#type));
    let name = field(&mut violations, "name", Name::parse(&name));
    let email = field(&mut violations, "email", Email::parse(&email));
    let phone = field(&mut violations, "phone_number", optional(phone_number, Phone::parse));
    let description = field(&mut violations, "description", optional(description, Description::parse));
    let attrs = field(&mut violations, "attrs", attrs(custom));
    match (kind, name, email, phone, description, attrs) {
        (Some(kind), Some(name), Some(email), Some(phone), Some(description), Some(attrs))
            if violations.is_empty() =>
        {
            Ok(NewAccount { kind, name, email, phone, description, attrs })
        }
        _ => Err(violations),
    }
}

fn account_type(value: i32) -> Result<AccountType, String> {
    match pb::AccountType::try_from(value) {
        Ok(pb::AccountType::Customer) => Ok(AccountType::Customer),
        Ok(pb::AccountType::Unspecified) => Err("Required".to_owned()),
        Err(_) => Err("Must be one of: customer".to_owned()),
    }
}

/// The attributes an update may name in its mask.
pub(crate) const UPDATABLE: &[&str] = &["name", "email", "phone_number", "description", "attrs"];

/// The target id (if it is one) and the change an update request asks for.
/// A malformed id is `None`: to the caller it is an account that does not
/// exist.
pub(crate) fn patch(
    account: Option<pb::Account>,
    mask: Option<FieldMask>,
) -> Result<(Option<Uuid>, AccountPatch), Vec<Violation>> {
    let Some(account) = account else {
        return Err(vec![Violation::new("account", "Required")]);
    };
    let pb::Account {
        id,
        r#type: _,
        name,
        email,
        phone_number,
        description,
        attrs: custom,
        livemode: _,
        create_time: _,
        update_time: _,
    } = account;
    let mut violations = Vec::new();
    let mut patch = AccountPatch::default();
    let mut name = Some(name);
    let mut email = Some(email);
    let mut phone_number = Some(phone_number);
    let mut description = Some(description);
    let mut custom = Some(custom);
    for path in mask.map(|m| m.paths).unwrap_or_default() {
        match path.as_str() {
            "name" => {
                if let Some(name) = name.take() {
                    patch.name = field(&mut violations, "name", Name::parse(&name));
                }
            }
            "email" => {
                if let Some(email) = email.take() {
                    patch.email = field(&mut violations, "email", Email::parse(&email));
                }
            }
            "phone_number" => {
                if let Some(phone) = phone_number.take() {
                    patch.phone = field(&mut violations, "phone_number", optional(phone, Phone::parse));
                }
            }
            "description" => {
                if let Some(text) = description.take() {
                    patch.description =
                        field(&mut violations, "description", optional(text, Description::parse));
                }
            }
            "attrs" => {
                if let Some(value) = custom.take() {
                    patch.attrs = Some(value.map(json::from_struct));
                }
            }
            "type" => violations.push(Violation::new("account.type", "Cannot be changed")),
            "id" | "livemode" | "create_time" | "update_time" => {
                violations.push(Violation::new(format!("account.{path}"), "Read-only attribute"));
            }
            other => violations.push(Violation::new(
                "update_mask",
                format!("Unknown attribute {other:?}; updatable: {}", UPDATABLE.join(", ")),
            )),
        }
    }
    if violations.is_empty() { Ok((id.parse().ok(), patch)) } else { Err(violations) }
}

fn timestamp(at: chrono::DateTime<chrono::Utc>) -> Timestamp {
    Timestamp { seconds: at.timestamp(), nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0) }
}

/// An account as the wire carries it.
pub(crate) fn to_proto(account: Account) -> pb::Account {
    let Account { id, livemode, kind, name, email, phone, description, attrs, created_at, modified_at } =
        account;
    pb::Account {
        id: id.to_string(),
        r#type: match kind {
            AccountType::Customer => pb::AccountType::Customer,
        } as i32,
        name: name.as_str().to_owned(),
        email: email.as_str().to_owned(),
        phone_number: phone.map(|p| p.as_str().to_owned()),
        description: description.map(|d| d.as_str().to_owned()),
        attrs: Some(json::to_struct(attrs.into_inner())),
        livemode,
        create_time: Some(timestamp(created_at)),
        update_time: Some(timestamp(modified_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> pb::Account {
        pb::Account {
            r#type: pb::AccountType::Customer as i32,
            name: "Matt Perez".to_owned(),
            email: "matt.perez@example.com".to_owned(),
            ..pb::Account::default()
        }
    }

    #[test]
    fn a_valid_account_parses() {
        let new = new_account(Some(valid())).unwrap();
        assert_eq!(new.name.as_str(), "Matt Perez");
        assert_eq!(new.phone, None);
    }

    #[test]
    fn every_invalid_attribute_is_named() {
        let account = pb::Account {
            r#type: 0,
            name: " ".to_owned(),
            email: "nope".to_owned(),
            phone_number: Some("12".to_owned()),
            ..pb::Account::default()
        };
        let fields: Vec<_> = new_account(Some(account)).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["account.type", "account.name", "account.email", "account.phone_number"]);
        assert_eq!(new_account(None).unwrap_err()[0].field, "account");
    }

    #[test]
    fn an_unknown_account_type_lists_the_known_ones() {
        let account = pb::Account { r#type: 77, ..valid() };
        let v = new_account(Some(account)).unwrap_err();
        assert_eq!(v[0].description, "Must be one of: customer");
    }

    #[test]
    fn the_mask_decides_what_changes() {
        let account = pb::Account {
            id: Uuid::now_v7().to_string(),
            name: "ignored, not in mask".to_owned(),
            email: "new@example.com".to_owned(),
            phone_number: None,
            ..pb::Account::default()
        };
        let mask = FieldMask { paths: vec!["email".to_owned(), "phone_number".to_owned()] };
        let (id, patch) = patch(Some(account), Some(mask)).unwrap();
        assert!(id.is_some());
        assert_eq!(patch.name, None);
        assert_eq!(patch.email.unwrap().as_str(), "new@example.com");
        assert_eq!(patch.phone, Some(None));
    }

    #[test]
    fn the_mask_refuses_what_cannot_change() {
        let mask = FieldMask { paths: vec!["type".into(), "id".into(), "secret".into(), "name".into()] };
        let v = patch(Some(pb::Account::default()), Some(mask)).unwrap_err();
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["account.type", "account.id", "update_mask", "account.name"]);
        assert_eq!(v[3].description, "Required");
    }

    #[test]
    fn a_malformed_id_is_no_account() {
        let account = pb::Account { id: "42".to_owned(), ..pb::Account::default() };
        let (id, _) = patch(Some(account), None).unwrap();
        assert_eq!(id, None);
    }
}
