//! The methods service's tables, through sqlx.
//!
//! Every statement is scoped by (partner, mode). Numbers are sealed here,
//! on their way in, under the keyring's active key-encryption key; reads
//! never decrypt them — only [`Store::open_number`] does, for Detokenize.
//! Changes to which method is an account's default take the account's
//! advisory lock, so two at once cannot leave two defaults (a unique index
//! backs this up).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error,
    address::{Address, BindAddress as _},
    auth::Scope,
    bank::{InstitutionNumber, RoutingNumber, TransitNumber},
    config::ListLimits,
    crypto::{Keyring, Sealed},
    db::{self, expect_one},
    outbox,
    query::{self, Column, ColumnType, Listing, Resource, list},
    rewrap::SealedColumn,
    values::{Attrs, Name, Phone},
};
use paymesh_proto::common::v1::{Filter, ListQuery};
use serde_json::{Map, Value, json};
use sqlx::{FromRow as _, PgConnection, PgPool, Postgres, Transaction, types::Json};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::domain::{
    bins::BinTable,
    card::{BRANDS, Brand, Expiry},
    method::{
        AccountClass, AccountType, BankAccount, BinInfo, CARD_TYPES, CardType, Instrument, Owner,
        PaymentMethod,
    },
};

/// The sealed columns of the methods service, for key rotation.
pub const SEALED_COLUMNS: &[SealedColumn] =
    &[SealedColumn { table: "payment_methods", column: "number_sealed", batch: 500 }];

macro_rules! method_columns {
    () => {
        "id, livemode, account_id, owner_type, single_use, type, account_holder, phone_number, is_default, number_sealed, \
         last4, fingerprint, card_brand, card_type, bin, card_length, expiry_month, expiry_year, country, \
         routing_number, institution_number, transit_number, account_type, account_class, street_address, \
         unit_number, city, state_province, postal_code, address_country, attrs, created_at, modified_at"
    };
}

/// What callers may filter, order, select and group methods by.
pub(crate) static PAYMENT_METHODS: Resource = Resource {
    name: "payment_method",
    table: "payment_methods",
    select: method_columns!(),
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "type", sql: "type", ty: ColumnType::Enum(&["card", "bank_account"]) },
        Column { name: "account_id", sql: "account_id", ty: ColumnType::Id },
        Column { name: "account_holder", sql: "account_holder", ty: ColumnType::Text },
        Column { name: "description", sql: "description", ty: ColumnType::Text },
        Column { name: "default_payment_method", sql: "is_default", ty: ColumnType::Bool },
        Column { name: "fingerprint", sql: "fingerprint", ty: ColumnType::Text },
        Column { name: "card.card_brand", sql: "card_brand", ty: ColumnType::Enum(BRANDS) },
        Column { name: "card.card_type", sql: "card_type", ty: ColumnType::Enum(CARD_TYPES) },
        Column { name: "card.last4", sql: "CASE WHEN type = 'card' THEN last4 END", ty: ColumnType::Text },
        Column { name: "card.bin", sql: "bin", ty: ColumnType::Text },
        Column { name: "card.expiry_month", sql: "expiry_month", ty: ColumnType::Integer },
        Column { name: "card.expiry_year", sql: "expiry_year", ty: ColumnType::Integer },
        Column {
            name: "bank_account.account_type",
            sql: "account_type",
            ty: ColumnType::Enum(&["checking", "savings"]),
        },
        Column {
            name: "bank_account.account_class",
            sql: "account_class",
            ty: ColumnType::Enum(&["personal", "business"]),
        },
        Column {
            name: "bank_account.last4",
            sql: "CASE WHEN type = 'bank_account' THEN last4 END",
            ty: ColumnType::Text,
        },
        Column { name: "bank_account.country", sql: "country", ty: ColumnType::Enum(&["US", "CA"]) },
        Column { name: "billing_address.postal_code", sql: "postal_code", ty: ColumnType::Text },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: true,
    shared_rows: false,
};

#[derive(sqlx::FromRow)]
struct MethodRow {
    id: Uuid,
    livemode: bool,
    account_id: Option<Uuid>,
    owner_type: Option<String>,
    single_use: bool,
    #[sqlx(rename = "type")]
    kind: String,
    account_holder: Option<String>,
    phone_number: Option<String>,
    is_default: bool,
    /// `None` once deleted: a deleted method's number is erased.
    number_sealed: Option<Vec<u8>>,
    last4: String,
    fingerprint: String,
    card_brand: Option<String>,
    card_type: Option<String>,
    bin: Option<String>,
    card_length: Option<i16>,
    expiry_month: Option<i16>,
    expiry_year: Option<i16>,
    country: Option<String>,
    routing_number: Option<String>,
    institution_number: Option<String>,
    transit_number: Option<String>,
    account_type: Option<String>,
    account_class: Option<String>,
    street_address: Option<String>,
    unit_number: Option<String>,
    city: Option<String>,
    state_province: Option<String>,
    postal_code: Option<String>,
    address_country: Option<String>,
    attrs: Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
}

impl TryFrom<MethodRow> for PaymentMethod {
    type Error = Error;

    fn try_from(row: MethodRow) -> Result<Self, Error> {
        let MethodRow {
            id,
            livemode,
            account_id,
            owner_type,
            single_use,
            kind,
            account_holder,
            phone_number,
            is_default,
            number_sealed,
            last4,
            fingerprint,
            card_brand,
            card_type,
            bin,
            card_length,
            expiry_month,
            expiry_year,
            country,
            routing_number,
            institution_number,
            transit_number,
            account_type,
            account_class,
            street_address,
            unit_number,
            city,
            state_province,
            postal_code,
            address_country,
            attrs,
            created_at,
            modified_at,
        } = row;
        let corrupt =
            |what: &str| Error::Internal(anyhow::anyhow!("payment method {id} has an unreadable {what}"));
        // An erased number reads as no ciphertext: nothing opens it (a
        // deleted method is never detokenized).
        let number_sealed = number_sealed.unwrap_or_default();
        let instrument = match kind.as_str() {
            "card" => Instrument::Card {
                brand: card_brand.as_deref().and_then(Brand::parse).ok_or_else(|| corrupt("brand"))?,
                card_type: card_type
                    .as_deref()
                    .and_then(CardType::parse)
                    .ok_or_else(|| corrupt("card type"))?,
                bin: bin.ok_or_else(|| corrupt("BIN"))?,
                length: card_length.and_then(|l| u8::try_from(l).ok()).ok_or_else(|| corrupt("length"))?,
                expiry: match (expiry_year.map(u16::try_from), expiry_month.map(u8::try_from)) {
                    (Some(Ok(year)), Some(Ok(month))) => Some(Expiry { year, month }),
                    (None, None) => None,
                    _ => return Err(corrupt("expiry")),
                },
                number: Sealed::Stored { ciphertext: number_sealed, last4 },
            },
            "bank_account" => Instrument::Bank {
                account: match (country.as_deref(), routing_number, institution_number, transit_number) {
                    (Some("US"), Some(routing), None, None) => BankAccount::Us {
                        routing_number: RoutingNumber::from_stored(routing),
                        number: Sealed::Stored { ciphertext: number_sealed, last4 },
                    },
                    (Some("CA"), None, Some(institution), Some(transit)) => BankAccount::Ca {
                        institution_number: InstitutionNumber::from_stored(institution),
                        transit_number: TransitNumber::from_stored(transit),
                        number: Sealed::Stored { ciphertext: number_sealed, last4 },
                    },
                    _ => return Err(corrupt("bank account")),
                },
                account_type: account_type
                    .as_deref()
                    .and_then(AccountType::parse)
                    .ok_or_else(|| corrupt("account type"))?,
                account_class: account_class
                    .as_deref()
                    .and_then(AccountClass::parse)
                    .ok_or_else(|| corrupt("account class"))?,
            },
            _ => return Err(corrupt("type")),
        };
        Ok(Self {
            id,
            livemode,
            account_id,
            owner: match owner_type {
                Some(owner) => Some(Owner::parse(&owner).ok_or_else(|| corrupt("owner type"))?),
                None => None,
            },
            single_use,
            holder: account_holder.map(Name::from_stored),
            phone: phone_number.map(Phone::from_stored),
            is_default,
            instrument,
            billing_address: Address::from_columns(
                street_address,
                unit_number,
                city,
                state_province,
                postal_code,
                address_country,
            ),
            fingerprint,
            attrs: Attrs::from_stored(attrs.0),
            created_at,
            modified_at,
        })
    }
}

fn read_row(row: &sqlx::postgres::PgRow) -> Result<PaymentMethod, Error> {
    PaymentMethod::try_from(MethodRow::from_row(row)?)
}

/// A method as its events carry it: masked, as partners see it.
fn event_data(method: &PaymentMethod) -> Value {
    json!({
        "id": method.id,
        "type": method.instrument.kind(),
        "account_id": method.account_id,
        "description": method.instrument.description(),
        "default_payment_method": method.is_default,
        "fingerprint": method.fingerprint,
        "livemode": method.livemode,
    })
}

/// The context a method's number is sealed for: the ciphertext opens only
/// as this method's number.
fn number_context(id: Uuid) -> String {
    format!("methods.payment_methods.number:{id}")
}

/// What came of a Detokenize call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The numbers went out.
    Released,
    /// The call was not allowed, for this reason.
    Refused(&'static str),
    /// It was allowed but failed inside the methods service.
    Failed,
}

/// The longest text the audit keeps of what a caller sent.
const AUDIT_TEXT_CHARS: usize = 200;

/// What a caller sent, fit for the audit whatever it was: control
/// characters (NUL included, which PostgreSQL refuses) replaced, cut to
/// 200 characters.
fn audit_text(raw: &str) -> String {
    raw.chars().take(AUDIT_TEXT_CHARS).map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect()
}

/// One Detokenize call, as the audit keeps it.
#[derive(Debug)]
pub(crate) struct Detokenization<'a> {
    /// The partner and mode the caller acted for.
    pub(crate) scope: Scope,
    /// The id as asked.
    pub(crate) requested_id: &'a str,
    /// The method it named, if any.
    pub(crate) method_id: Option<Uuid>,
    /// `service`, `secret`, `client` or `merchant`.
    pub(crate) caller_kind: &'static str,
    /// The service's name, or the key's id.
    pub(crate) caller: String,
    /// Why the caller asked.
    pub(crate) purpose: &'a str,
    /// What came of it.
    pub(crate) outcome: Outcome,
    /// When.
    pub(crate) at: DateTime<Utc>,
}

/// Access to the methods schema.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pool: PgPool,
    keyring: Keyring,
}

impl Store {
    /// A store over `pool` (connected to the methods schema) that seals
    /// numbers with `keyring`.
    pub(crate) fn new(pool: PgPool, keyring: Keyring) -> Self {
        Self { pool, keyring }
    }

    /// The BIN table as the migrations and operators left it.
    pub(crate) async fn bins(&self) -> Result<BinTable, Error> {
        let rows: Vec<(String, Option<String>, String)> =
            sqlx::query_as("SELECT prefix, brand, card_type FROM bins").fetch_all(&self.pool).await?;
        let mut entries = Vec::with_capacity(rows.len());
        for (prefix, brand, card_type) in rows {
            let brand = match brand {
                Some(b) => {
                    Some(Brand::parse(&b).ok_or_else(|| anyhow::anyhow!("BIN {prefix} has brand {b:?}"))?)
                }
                None => None,
            };
            let card_type = CardType::parse(&card_type)
                .ok_or_else(|| anyhow::anyhow!("BIN {prefix} has card type {card_type:?}"))?;
            entries.push((prefix, BinInfo { brand, card_type }));
        }
        Ok(BinTable::new(entries))
    }

    /// A transaction for one change.
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Postgres>, Error> {
        Ok(self.pool.begin().await?)
    }

    /// One method, if this partner and mode may see it.
    pub(crate) async fn method(&self, scope: Scope, id: Uuid) -> Result<Option<PaymentMethod>, Error> {
        let row: Option<MethodRow> = sqlx::query_as(concat!(
            "SELECT ",
            method_columns!(),
            " FROM payment_methods WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL"
        ))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(PaymentMethod::try_from).transpose()
    }

    /// Lists methods (or groups of them) as `query` asks.
    pub(crate) async fn list_methods(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<PaymentMethod>, Error> {
        list(&self.pool, &PAYMENT_METHODS, scope, query, limits, |_| {}, read_row).await
    }

    /// The accounts of the methods among `ids` this partner and mode
    /// hold, keyed by method.
    pub(crate) async fn accounts_of(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Option<Uuid>>, Error> {
        let rows: Vec<(Uuid, Option<Uuid>)> = sqlx::query_as(
            "SELECT id, account_id FROM payment_methods WHERE id = ANY($1) AND partner_id = $2 \
             AND livemode = $3 AND deleted_at IS NULL",
        )
        .bind(ids)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_all(conn)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Locks the methods among `ids` this partner and mode hold, by id,
    /// for a change; with `filters`, only those that still match them.
    pub(crate) async fn lock(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        ids: &[Uuid],
        filters: &[Filter],
    ) -> Result<Vec<PaymentMethod>, Error> {
        if !filters.is_empty() {
            return query::lock_matching(conn, &PAYMENT_METHODS, scope, filters, ids, read_row).await;
        }
        let rows: Vec<MethodRow> = sqlx::query_as(concat!(
            "SELECT ",
            method_columns!(),
            " FROM payment_methods WHERE id = ANY($1) AND partner_id = $2 AND livemode = $3 \
             AND deleted_at IS NULL ORDER BY id FOR UPDATE"
        ))
        .bind(ids)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_all(conn)
        .await?;
        rows.into_iter().map(PaymentMethod::try_from).collect()
    }

    /// The ids of the methods matching `filters` (at most `max`).
    pub(crate) async fn matching(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        filters: &[Filter],
        max: u32,
    ) -> Result<Vec<Uuid>, Error> {
        query::matching_ids(conn, &PAYMENT_METHODS, scope, filters, max).await
    }

    /// Inserts a new method, its number sealed, with its event.
    pub(crate) async fn insert(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        method: &PaymentMethod,
    ) -> Result<(), Error> {
        let context = number_context(method.id);
        let (sealed, last4) = match &method.instrument {
            Instrument::Card { number, .. } => number.to_stored(&self.keyring, scope.livemode, &context)?,
            Instrument::Bank { account: BankAccount::Us { number, .. }, .. } => {
                number.to_stored(&self.keyring, scope.livemode, &context)?
            }
            Instrument::Bank { account: BankAccount::Ca { number, .. }, .. } => {
                number.to_stored(&self.keyring, scope.livemode, &context)?
            }
        };
        let (card, bank) = columns(&method.instrument);
        let a = &method.billing_address;
        sqlx::query(
            "INSERT INTO payment_methods (id, partner_id, livemode, account_id, owner_type, type, account_holder, \
             phone_number, is_default, number_sealed, last4, fingerprint, card_brand, card_type, bin, card_length, \
             expiry_month, expiry_year, country, routing_number, institution_number, transit_number, account_type, \
             account_class, street_address, unit_number, city, state_province, postal_code, address_country, \
             attrs, created_at, modified_at, description, single_use) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
             $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35)",
        )
        .bind(method.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(method.account_id)
        .bind(method.owner.map(Owner::as_str))
        .bind(method.instrument.kind())
        .bind(method.holder.as_ref().map(Name::as_str))
        .bind(method.phone.as_ref().map(Phone::as_str))
        .bind(method.is_default)
        .bind(&sealed)
        .bind(&last4)
        .bind(&method.fingerprint)
        .bind(card.brand)
        .bind(card.card_type)
        .bind(card.bin)
        .bind(card.length)
        .bind(card.month)
        .bind(card.year)
        .bind(bank.country)
        .bind(bank.routing)
        .bind(bank.institution)
        .bind(bank.transit)
        .bind(bank.account_type)
        .bind(bank.account_class)
        .bind_address(a)
        .bind(Json(method.attrs.as_map()))
        .bind(method.created_at)
        .bind(method.modified_at)
        .bind(method.instrument.description())
        .bind(method.single_use)
        .execute(&mut *conn)
        .await?;
        record(conn, scope, "created", method).await
    }

    /// Writes what a change may touch (holder, phone, default flag,
    /// expiry, billing address, attributes), with its event.
    pub(crate) async fn update(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        method: &PaymentMethod,
    ) -> Result<(), Error> {
        let (card, _) = columns(&method.instrument);
        let a = &method.billing_address;
        let result = sqlx::query(
            "UPDATE payment_methods SET account_holder = $4, phone_number = $5, is_default = $6, \
             expiry_month = $7, expiry_year = $8, street_address = $9, unit_number = $10, city = $11, \
             state_province = $12, postal_code = $13, address_country = $14, attrs = $15, modified_at = $16 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL",
        )
        .bind(method.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(method.holder.as_ref().map(Name::as_str))
        .bind(method.phone.as_ref().map(Phone::as_str))
        .bind(method.is_default)
        .bind(card.month)
        .bind(card.year)
        .bind_address(a)
        .bind(Json(method.attrs.as_map()))
        .bind(method.modified_at)
        .execute(&mut *conn)
        .await?;
        expect_one(&result, "payment method", method.id)?;
        record(conn, scope, "updated", method).await
    }

    /// Marks a locked method deleted at `at` (and no longer a default),
    /// with its event; `method` is as it is after the deletion.
    pub(crate) async fn delete(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        method: &PaymentMethod,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let result = sqlx::query(
            "UPDATE payment_methods SET deleted_at = $4, modified_at = $4, is_default = false, number_sealed = NULL \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL",
        )
        .bind(method.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        expect_one(&result, "payment method", method.id)?;
        record(conn, scope, "deleted", method).await
    }

    /// Takes the lock on the default method of `account` for the rest of
    /// the transaction.
    pub(crate) async fn lock_defaults(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        account: Uuid,
    ) -> Result<(), Error> {
        db::xact_lock(conn, &format!("methods.default:{}:{}:{account}", scope.partner_id, scope.livemode))
            .await
    }

    /// Makes every method of `account` but `keep` not the default, with an
    /// event for each that was.
    pub(crate) async fn clear_defaults(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        account: Uuid,
        keep: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let rows: Vec<MethodRow> = sqlx::query_as(concat!(
            "UPDATE payment_methods SET is_default = false, modified_at = $5 \
             WHERE account_id = $1 AND partner_id = $2 AND livemode = $3 AND is_default AND id <> $4 \
             AND deleted_at IS NULL RETURNING ",
            method_columns!()
        ))
        .bind(account)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(keep)
        .bind(at)
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            let method = PaymentMethod::try_from(row)?;
            record(conn, scope, "updated", &method).await?;
        }
        Ok(())
    }

    /// Queues `customer` for identity to learn its default anew (in the
    /// transaction of the change).
    pub(crate) async fn queue_default_sync(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        customer: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO default_syncs (account_id, partner_id, livemode, queued_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id) DO UPDATE SET queued_at = GREATEST(default_syncs.queued_at, $4), attempts = 0",
        )
        .bind(customer)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(at)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Customers whose default identity has yet to learn, oldest first,
    /// with when they were queued.
    pub(crate) async fn pending_default_syncs(
        &self,
        limit: i64,
    ) -> Result<Vec<(Scope, Uuid, DateTime<Utc>)>, Error> {
        let rows: Vec<(Uuid, bool, Uuid, DateTime<Utc>)> = sqlx::query_as(
            "SELECT partner_id, livemode, account_id, queued_at FROM default_syncs ORDER BY queued_at LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(partner_id, livemode, account, at)| (Scope { partner_id, livemode }, account, at))
            .collect())
    }

    /// Single-use methods created before `before` and not yet deleted
    /// (their payment never deleted them: it died, or was never made),
    /// oldest first.
    pub(crate) async fn stale_single_use(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(Scope, Uuid)>, Error> {
        let rows: Vec<(Uuid, bool, Uuid)> = sqlx::query_as(
            "SELECT partner_id, livemode, id FROM payment_methods \
             WHERE single_use AND deleted_at IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(partner_id, livemode, id)| (Scope { partner_id, livemode }, id)).collect())
    }

    /// The default method of an account now, if it has one.
    pub(crate) async fn default_of(&self, scope: Scope, account: Uuid) -> Result<Option<Uuid>, Error> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM payment_methods WHERE account_id = $1 AND partner_id = $2 AND livemode = $3 \
             AND is_default AND deleted_at IS NULL",
        )
        .bind(account)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Clears a delivered sync, unless the customer was queued again since.
    pub(crate) async fn finish_default_sync(
        &self,
        account: Uuid,
        queued_at: DateTime<Utc>,
    ) -> Result<(), Error> {
        sqlx::query("DELETE FROM default_syncs WHERE account_id = $1 AND queued_at = $2")
            .bind(account)
            .bind(queued_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Notes a failed delivery (to retry).
    pub(crate) async fn default_sync_failed(&self, account: Uuid, error: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE default_syncs SET attempts = attempts + 1, last_error = $2 WHERE account_id = $1",
        )
        .bind(account)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Opens a method's number (Detokenize only).
    pub(crate) fn open_number(&self, method: &PaymentMethod) -> Result<Zeroizing<String>, Error> {
        let ciphertext = match &method.instrument {
            Instrument::Card { number: Sealed::Stored { ciphertext, .. }, .. }
            | Instrument::Bank {
                account: BankAccount::Us { number: Sealed::Stored { ciphertext, .. }, .. },
                ..
            }
            | Instrument::Bank {
                account: BankAccount::Ca { number: Sealed::Stored { ciphertext, .. }, .. },
                ..
            } => ciphertext,
            _ => {
                return Err(Error::Internal(anyhow::anyhow!(
                    "payment method {} was not read back",
                    method.id
                )));
            }
        };
        self.keyring.open_text(ciphertext, &number_context(method.id)).map_err(|e| {
            Error::Internal(
                anyhow::Error::new(e).context(format!("cannot open payment method {}", method.id)),
            )
        })
    }

    /// Appends one Detokenize call to the audit.
    pub(crate) async fn audit(&self, call: &Detokenization<'_>) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO detokenizations (id, partner_id, livemode, requested_id, payment_method_id, caller_kind, \
             caller, purpose, outcome, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(Uuid::now_v7())
        .bind(call.scope.partner_id)
        .bind(call.scope.livemode)
        .bind(audit_text(call.requested_id))
        .bind(call.method_id)
        .bind(call.caller_kind)
        .bind(&call.caller)
        .bind(audit_text(call.purpose))
        .bind(match call.outcome {
            Outcome::Released => "released",
            Outcome::Refused(_) => "refused",
            Outcome::Failed => "error",
        })
        .bind(match call.outcome {
            Outcome::Refused(why) => Some(why),
            Outcome::Failed => Some("the methods service failed to read or open the method"),
            Outcome::Released => None,
        })
        .bind(call.at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Records `payment_method.<change>` about `method`, as it is now.
async fn record(
    conn: &mut PgConnection,
    scope: Scope,
    change: &str,
    method: &PaymentMethod,
) -> Result<(), Error> {
    let data = event_data(method);
    outbox::record_change(conn, scope, "payment_method", change, method.id, data, method.modified_at).await
}

/// A card's columns (all `None` for a bank account).
#[derive(Default)]
struct CardColumns<'a> {
    brand: Option<&'static str>,
    card_type: Option<&'static str>,
    bin: Option<&'a str>,
    length: Option<i16>,
    month: Option<i16>,
    year: Option<i16>,
}

/// A bank account's columns (all `None` for a card).
#[derive(Default)]
struct BankColumns<'a> {
    country: Option<&'static str>,
    routing: Option<&'a str>,
    institution: Option<&'a str>,
    transit: Option<&'a str>,
    account_type: Option<&'static str>,
    account_class: Option<&'static str>,
}

fn columns(instrument: &Instrument) -> (CardColumns<'_>, BankColumns<'_>) {
    match instrument {
        Instrument::Card { brand, card_type, bin, length, expiry, .. } => (
            CardColumns {
                brand: Some(brand.as_str()),
                card_type: Some(card_type.as_str()),
                bin: Some(bin),
                length: Some(i16::from(*length)),
                month: expiry.map(|e| i16::from(e.month)),
                year: expiry.and_then(|e| i16::try_from(e.year).ok()),
            },
            BankColumns::default(),
        ),
        Instrument::Bank { account, account_type, account_class } => {
            let (routing, institution, transit) = account.numbers();
            (
                CardColumns::default(),
                BankColumns {
                    country: Some(account.country()),
                    routing,
                    institution,
                    transit,
                    account_type: Some(account_type.as_str()),
                    account_class: Some(account_class.as_str()),
                },
            )
        }
    }
}
