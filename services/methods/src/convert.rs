//! Wire ↔ domain: the one place `paymesh.methods.v1` messages become
//! domain values and back. Messages are destructured exhaustively, so a new
//! field does not compile until it is handled here. Outbound, numbers are
//! only ever masked; inbound, a card's security code is checked and
//! dropped.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Violation,
    address::AddressPatch,
    bank::{AccountNumber, CanadianAccountNumber, InstitutionNumber, RoutingNumber, TransitNumber},
    crypto::Sealed,
    json,
    values::{Name, Phone},
    wire::{Fields, attrs, id, optional},
};
use paymesh_proto::methods::v1 as pb;
use prost_types::FieldMask;
use zeroize::Zeroizing;

use crate::domain::{
    bins::BinTable,
    card::{Brand, CardNumber, Expiry, check_code, check_code_shape, masked},
    method::{
        AccountClass, AccountType, BankAccount, CardType, Instrument, MethodPatch, NewMethod, PaymentMethod,
    },
};

/// How many masking characters precede a bank account's last four digits
/// (its length is not kept).
const BANK_MASK: usize = 10;

// === Inbound ===

/// A new method from a create request, in `livemode` at `now`;
/// `single_use` for a card charged once and not kept (see
/// `CreatePaymentMethodRequest.single_use`).
pub(crate) fn new_method(
    method: Option<pb::PaymentMethod>,
    single_use: bool,
    livemode: bool,
    now: DateTime<Utc>,
    bins: &BinTable,
) -> Result<NewMethod, Vec<Violation>> {
    let Some(method) = method else { return Err(vec![Violation::new("payment_method", "Required")]) };
    let pb::PaymentMethod {
        id: _,
        r#type,
        account_id,
        account_holder,
        description: _,
        default_payment_method,
        card,
        bank_account,
        billing_address,
        phone_number,
        fingerprint: _,
        attrs: custom,
        livemode: _,
        create_time: _,
        update_time: _,
    } = method;
    let mut f = Fields::new("payment_method");
    // Kept on an account: what later charges need is required. An id
    // given but malformed still says the partner meant one.
    let named = account_id.as_deref().is_some_and(|a| !a.trim().is_empty());
    let on_account = named && !single_use;
    let account_id = f.take("account_id", optional(account_id, id));
    if single_use && named {
        f.push("account_id", "A single-use method belongs to no account");
    }
    if default_payment_method && account_id == Some(None) {
        f.push("default_payment_method", "A method on no account cannot be a default; name its account_id");
    }
    let holder = f.take("account_holder", optional(Some(account_holder), Name::parse));
    let phone = f.take("phone_number", optional(phone_number, Phone::parse));
    let address = f.address("billing_address", billing_address.as_ref());
    let custom = f.take("attrs", attrs(custom));
    let instrument = match pb::PaymentMethodType::try_from(r#type) {
        Ok(pb::PaymentMethodType::Card) => {
            if bank_account.is_some() {
                f.push("bank_account", "Only bank account methods have bank account details");
            }
            match card {
                Some(card) => new_card(&mut f, card, (livemode, on_account), now, bins),
                None => {
                    f.push("card", "Required for a card");
                    None
                }
            }
        }
        Ok(pb::PaymentMethodType::BankAccount) => {
            if card.is_some() {
                f.push("card", "Only card methods have card details");
            }
            match bank_account {
                Some(bank) => new_bank_account(&mut f, bank, livemode),
                None => {
                    f.push("bank_account", "Required for a bank account");
                    None
                }
            }
        }
        Ok(pb::PaymentMethodType::Unspecified) => {
            f.push("type", "Required: card or bank_account");
            None
        }
        Err(_) => {
            f.push("type", "Must be card or bank_account");
            None
        }
    };
    if r#type == pb::PaymentMethodType::Card as i32
        && on_account
        && let Some(address) = &address
        && address.postal_code.is_none()
    {
        f.push("billing_address.postal_code", "Required for a card on an account");
    }
    match (account_id, holder, phone, address, custom, instrument) {
        (
            Some(account_id),
            Some(holder),
            Some(phone),
            Some(billing_address),
            Some(attrs),
            Some(instrument),
        ) if f.ok() => Ok(NewMethod {
            account_id,
            single_use,
            holder,
            phone,
            is_default: default_payment_method,
            instrument,
            billing_address,
            attrs,
        }),
        _ => Err(f.into_violations()),
    }
}

/// A card given in `livemode`; `on_account` when it is kept on an account,
/// which needs its expiry.
fn new_card(
    f: &mut Fields<'_>,
    card: pb::Card,
    (livemode, on_account): (bool, bool),
    now: DateTime<Utc>,
    bins: &BinTable,
) -> Option<Instrument> {
    let pb::Card { card_number, expiry, card_code, card_brand: _, card_type: _, last4: _, bin: _ } = card;
    // The number and the code are wiped from memory once read.
    let (card_number, card_code) = (Zeroizing::new(card_number), Zeroizing::new(card_code));
    let number = f.take("card.card_number", CardNumber::parse(&card_number, livemode));
    let expiry = f.take(
        "card.expiry",
        match expiry.trim() {
            "" if !on_account => Ok(None),
            "" => Err("Required for a card on an account".to_owned()),
            _ => Expiry::parse(&expiry, now).map(Some),
        },
    );
    let classified = number.as_ref().map(|n| bins.classify(n));
    if !card_code.trim().is_empty() {
        // Against the brand when the number says which; its shape at least.
        let checked = match classified {
            Some((brand, _)) => check_code(&card_code, brand),
            None => check_code_shape(&card_code),
        };
        f.take("card.card_code", checked);
    }
    let (brand, card_type) = classified?;
    let number = number?;
    Some(Instrument::Card {
        brand,
        card_type,
        bin: number.bin().to_owned(),
        length: u8::try_from(number.expose().len()).unwrap_or(19),
        expiry: expiry?,
        number: Sealed::Given(number),
    })
}

fn new_bank_account(f: &mut Fields<'_>, bank: pb::BankAccount, livemode: bool) -> Option<Instrument> {
    let pb::BankAccount {
        account_number,
        routing_number,
        account_type,
        account_class,
        institution_number,
        transit_number,
        last4: _,
        country: _,
    } = bank;
    let account_number = Zeroizing::new(account_number);
    let account_type = f.take(
        "bank_account.account_type",
        match pb::BankAccountType::try_from(account_type) {
            Ok(pb::BankAccountType::Unspecified | pb::BankAccountType::Checking) => Ok(AccountType::Checking),
            Ok(pb::BankAccountType::Savings) => Ok(AccountType::Savings),
            Err(_) => Err("Must be checking or savings".to_owned()),
        },
    );
    let account_class = f.take(
        "bank_account.account_class",
        match pb::AccountClass::try_from(account_class) {
            Ok(pb::AccountClass::Unspecified | pb::AccountClass::Personal) => Ok(AccountClass::Personal),
            Ok(pb::AccountClass::Business) => Ok(AccountClass::Business),
            Err(_) => Err("Must be personal or business".to_owned()),
        },
    );
    let canadian = !institution_number.trim().is_empty() || !transit_number.trim().is_empty();
    let account = if canadian {
        if !routing_number.trim().is_empty() {
            f.push(
                "bank_account.routing_number",
                "Give a routing number (US) or institution and transit numbers (Canada), not both",
            );
        }
        let institution =
            f.take("bank_account.institution_number", InstitutionNumber::parse(&institution_number));
        let transit = f.take("bank_account.transit_number", TransitNumber::parse(&transit_number));
        let number = f.take("bank_account.account_number", CanadianAccountNumber::parse(&account_number));
        Some(BankAccount::Ca {
            institution_number: institution?,
            transit_number: transit?,
            number: Sealed::Given(number?),
        })
    } else {
        let routing = f.take(
            "bank_account.routing_number",
            if routing_number.trim().is_empty() {
                Err("Required (US), or give institution and transit numbers (Canada)".to_owned())
            } else {
                RoutingNumber::parse_in(&routing_number, livemode)
            },
        );
        let number = f.take("bank_account.account_number", AccountNumber::parse(&account_number));
        Some(BankAccount::Us { routing_number: routing?, number: Sealed::Given(number?) })
    };
    Some(Instrument::Bank { account: account?, account_type: account_type?, account_class: account_class? })
}

/// The attributes an update may name.
pub(crate) const UPDATABLE: &[&str] = &[
    "account_holder",
    "billing_address",
    "billing_address.<part>",
    "phone_number",
    "default_payment_method",
    "card.expiry",
    "attrs",
];

/// The id and the changes of an update request.
pub(crate) fn patch(
    method: Option<pb::PaymentMethod>,
    mask: Option<FieldMask>,
) -> Result<(String, MethodPatch), Vec<Violation>> {
    let Some(method) = method else { return Err(vec![Violation::new("payment_method", "Required")]) };
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        return Err(vec![Violation::new("update_mask", "Name at least one attribute to change")]);
    }
    let mut f = Fields::new("payment_method");
    let mut patch = MethodPatch::default();
    for path in &paths {
        match path.as_str() {
            "account_holder" => {
                patch.holder =
                    f.take("account_holder", optional(Some(method.account_holder.clone()), Name::parse));
            }
            "phone_number" => {
                patch.phone = f.take("phone_number", optional(method.phone_number.clone(), Phone::parse))
            }
            "default_payment_method" => patch.is_default = Some(method.default_payment_method),
            "billing_address" => {
                patch.billing_address =
                    Some(AddressPatch::whole(&method.billing_address.clone().unwrap_or_default()));
            }
            part if part.starts_with("billing_address.") => {
                let name = &part["billing_address.".len()..];
                if let Err(why) = patch
                    .billing_address
                    .get_or_insert_with(AddressPatch::default)
                    .push_part(name, method.billing_address.as_ref())
                {
                    f.push(part, why);
                }
            }
            "card.expiry" => {
                patch.expiry = Some(method.card.as_ref().map(|c| c.expiry.clone()).unwrap_or_default())
            }
            "attrs" => {
                patch.attrs = Some(match method.attrs.clone() {
                    Some(value) => f.take("attrs", attrs(Some(value)).map(|a| a.into_inner())),
                    None => None,
                });
            }
            number @ ("card.card_number"
            | "bank_account.account_number"
            | "bank_account.routing_number"
            | "bank_account.institution_number"
            | "bank_account.transit_number"
            | "type"
            | "account_id") => {
                f.push(number, "Cannot change: tokenize the new card or bank account instead");
            }
            other => f.unchangeable(other, UPDATABLE),
        }
    }
    if f.ok() { Ok((method.id, patch)) } else { Err(f.into_violations()) }
}

// === Outbound ===

/// A method on the wire: its numbers masked.
pub(crate) fn to_proto(method: &PaymentMethod) -> pb::PaymentMethod {
    let (r#type, card, bank_account) = match &method.instrument {
        Instrument::Card { number, brand, card_type, bin, length, expiry } => (
            pb::PaymentMethodType::Card,
            Some(pb::Card {
                card_number: masked(usize::from(*length), number.last4()),
                expiry: expiry.map(|e| e.display()).unwrap_or_default(),
                card_code: String::new(),
                card_brand: brand_to(*brand) as i32,
                card_type: card_type_to(*card_type) as i32,
                last4: number.last4().to_owned(),
                bin: bin.clone(),
            }),
            None,
        ),
        Instrument::Bank { account, account_type, account_class } => {
            let (routing_number, institution_number, transit_number) = bank_numbers(account);
            (
                pb::PaymentMethodType::BankAccount,
                None,
                Some(pb::BankAccount {
                    account_number: masked(BANK_MASK, account.last4()),
                    routing_number,
                    account_type: match account_type {
                        AccountType::Checking => pb::BankAccountType::Checking,
                        AccountType::Savings => pb::BankAccountType::Savings,
                    } as i32,
                    account_class: match account_class {
                        AccountClass::Personal => pb::AccountClass::Personal,
                        AccountClass::Business => pb::AccountClass::Business,
                    } as i32,
                    institution_number,
                    transit_number,
                    last4: account.last4().to_owned(),
                    country: account.country().to_owned(),
                }),
            )
        }
    };
    pb::PaymentMethod {
        id: method.id.to_string(),
        r#type: r#type as i32,
        account_id: method.account_id.map(|a| a.to_string()),
        account_holder: method.holder.as_ref().map(|h| h.as_str().to_owned()).unwrap_or_default(),
        description: method.instrument.description(),
        default_payment_method: method.is_default,
        card,
        bank_account,
        billing_address: (!method.billing_address.is_empty()).then(|| method.billing_address.to_proto()),
        phone_number: method.phone.as_ref().map(|p| p.as_str().to_owned()),
        fingerprint: method.fingerprint.clone(),
        attrs: Some(json::to_struct(method.attrs.as_map().clone())),
        livemode: method.livemode,
        create_time: Some(json::timestamp(method.created_at)),
        update_time: Some(json::timestamp(method.modified_at)),
    }
}

/// A bank account's routing (US), institution and transit (Canada)
/// numbers, empty where they do not apply.
fn bank_numbers(account: &BankAccount) -> (String, String, String) {
    let (routing, institution, transit) = account.numbers();
    let text = |n: Option<&str>| n.unwrap_or_default().to_owned();
    (text(routing), text(institution), text(transit))
}

/// A brand on the wire.
pub(crate) fn brand_to(brand: Brand) -> pb::CardBrand {
    match brand {
        Brand::Visa => pb::CardBrand::Visa,
        Brand::Mastercard => pb::CardBrand::Mastercard,
        Brand::AmericanExpress => pb::CardBrand::AmericanExpress,
        Brand::Discover => pb::CardBrand::Discover,
        Brand::DinersClub => pb::CardBrand::DinersClub,
        Brand::Jcb => pb::CardBrand::Jcb,
        Brand::UnionPay => pb::CardBrand::Unionpay,
    }
}

/// A card type on the wire.
pub(crate) fn card_type_to(card_type: CardType) -> pb::CardType {
    match card_type {
        CardType::Credit => pb::CardType::Credit,
        CardType::Debit => pb::CardType::Debit,
        CardType::Prepaid => pb::CardType::Prepaid,
    }
}

/// What Detokenize releases of a method, given its opened number.
pub(crate) fn secrets(
    method: &PaymentMethod,
    number: &str,
) -> (Option<pb::CardSecret>, Option<pb::BankAccountSecret>) {
    match &method.instrument {
        Instrument::Card { expiry, .. } => (
            Some(pb::CardSecret {
                number: number.to_owned(),
                expiry_month: expiry.map_or(0, |e| u32::from(e.month)),
                expiry_year: expiry.map_or(0, |e| u32::from(e.year)),
            }),
            None,
        ),
        Instrument::Bank { account, .. } => {
            let (routing_number, institution_number, transit_number) = bank_numbers(account);
            (
                None,
                Some(pb::BankAccountSecret {
                    account_number: number.to_owned(),
                    routing_number,
                    institution_number,
                    transit_number,
                }),
            )
        }
    }
}
