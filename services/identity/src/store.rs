//! The identity tables, through sqlx.
//!
//! Every statement is scoped by (partner, mode); every change runs in one
//! transaction together with its outbox event, and rows to change are locked
//! in id order so concurrent batches cannot deadlock.

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error,
    auth::{KeyKind, Principal, Scope},
    config::ListLimits,
    outbox::{self, OutboxEvent},
    query::{self, Column, ColumnType, Resource, Select, Shape},
};
use paymesh_proto::common::v1::{Filter, ListQuery};
use serde_json::{Map, Value, json};
use sqlx::{FromRow as _, PgConnection, PgPool, Postgres, QueryBuilder, types::Json};
use uuid::Uuid;

use crate::domain::{
    account::{ACCOUNT_TYPES, Account, AccountType, Attrs, Description, Email, Name, Phone},
    key::{IssuedKey, KeyClass, hash},
};

/// The columns an account row is read from, in one place for the query
/// compiler ([`ACCOUNT_COLUMNS`]) and for the statements below (`concat!`
/// needs a literal, hence the macro).
macro_rules! account_columns {
    () => {
        "id, livemode, type, name, email, phone_number, description, attrs, created_at, modified_at"
    };
}

/// The columns an account row is read from.
const ACCOUNT_COLUMNS: &str = account_columns!();

/// What callers may filter, order, select and group accounts by.
pub(crate) static ACCOUNTS: Resource = Resource {
    name: "account",
    table: "accounts",
    select: ACCOUNT_COLUMNS,
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "type", sql: "type", ty: ColumnType::Enum(ACCOUNT_TYPES) },
        Column { name: "name", sql: "name", ty: ColumnType::Text },
        Column { name: "email", sql: "email", ty: ColumnType::Text },
        Column { name: "phone_number", sql: "phone_number", ty: ColumnType::Text },
        Column { name: "description", sql: "description", ty: ColumnType::Text },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: true,
};

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: Uuid,
    livemode: bool,
    #[sqlx(rename = "type")]
    kind: String,
    name: String,
    email: String,
    phone_number: Option<String>,
    description: Option<String>,
    attrs: Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
}

impl TryFrom<AccountRow> for Account {
    type Error = Error;

    fn try_from(row: AccountRow) -> Result<Self, Self::Error> {
        let AccountRow {
            id,
            livemode,
            kind,
            name,
            email,
            phone_number,
            description,
            attrs,
            created_at,
            modified_at,
        } = row;
        let kind =
            AccountType::parse(&kind).with_context(|| format!("account {id} has unknown type {kind:?}"))?;
        Ok(Self {
            id,
            livemode,
            kind,
            name: Name::from_stored(name),
            email: Email::from_stored(email),
            phone: phone_number.map(Phone::from_stored),
            description: description.map(Description::from_stored),
            attrs: Attrs::from_stored(attrs.0),
            created_at,
            modified_at,
        })
    }
}

/// An account as its events carry it.
fn event_data(account: &Account) -> Value {
    json!({
        "id": account.id,
        "type": account.kind.as_str(),
        "name": account.name.as_str(),
        "email": account.email.as_str(),
        "phone_number": account.phone.as_ref().map(Phone::as_str),
        "description": account.description.as_ref().map(Description::as_str),
        "attrs": account.attrs.as_map(),
        "livemode": account.livemode,
        "created_at": account.created_at,
        "modified_at": account.modified_at,
    })
}

/// The result of a list: objects (with their computed fields) or groups.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Matching accounts, in order.
    pub(crate) accounts: Vec<Account>,
    /// Computed fields per account, when the query asked for any.
    pub(crate) computed: Vec<Map<String, Value>>,
    /// Aggregated rows, when the query grouped or aggregated.
    pub(crate) groups: Vec<Map<String, Value>>,
}

/// A partner with its freshly issued keys.
#[derive(Debug)]
pub struct CreatedPartner {
    /// The partner's id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// One key of each class, shown this once.
    pub keys: Vec<IssuedKey>,
}

/// Access to the identity schema.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pool: PgPool,
}

impl Store {
    /// A store over `pool` (connected to the identity schema).
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    // === Partners and keys ===

    /// Creates a partner and one key of each class.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn create_partner(
        &self,
        name: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<CreatedPartner> {
        let name = Name::parse(name).map_err(|why| anyhow::anyhow!("partner name: {why}"))?;
        let id = Uuid::now_v7();
        let keys = KeyClass::ALL
            .into_iter()
            .map(IssuedKey::generate)
            .collect::<Result<Vec<_>, _>>()
            .context("the OS random source failed")?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO partners (id, name, created_at, modified_at) VALUES ($1, $2, $3, $3)")
            .bind(id)
            .bind(name.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .context("failed to insert partner")?;
        for issued in &keys {
            sqlx::query(
                "INSERT INTO api_keys (id, partner_id, livemode, kind, prefix, last4, key_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(Uuid::now_v7())
            .bind(id)
            .bind(issued.class.livemode)
            .bind(issued.class.kind_str())
            .bind(issued.class.prefix())
            .bind(issued.last4())
            .bind(hash(&issued.key).as_slice())
            .bind(now)
            .execute(&mut *tx)
            .await
            .context("failed to insert API key")?;
        }
        tx.commit().await.context("failed to commit partner")?;
        tracing::info!(partner_id = %id, "partner created");
        Ok(CreatedPartner { id, name: name.as_str().to_owned(), keys })
    }

    /// The principal of a live (unrevoked, unexpired) key, looked up by its
    /// hash; `None` for any other key.
    pub(crate) async fn principal_for_key(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, sqlx::Error> {
        let Some(class) = KeyClass::of(key) else { return Ok(None) };
        let row: Option<(Uuid, Uuid, bool, String)> = sqlx::query_as(
            "SELECT id, partner_id, livemode, kind FROM api_keys \
             WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(hash(key).as_slice())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(key_id, partner_id, livemode, kind)| {
            let kind = match kind.as_str() {
                "secret" => KeyKind::Secret,
                "client" => KeyKind::Client,
                _ => return None,
            };
            // The prefix must agree with what was issued.
            (class == KeyClass { livemode, kind }).then_some(Principal {
                partner_id,
                livemode,
                key_kind: kind,
                key_id,
            })
        }))
    }

    // === Accounts ===

    /// Inserts new accounts, all or none, with an `account.created` event each.
    #[tracing::instrument(skip_all, fields(partner_id = %scope.partner_id, count = accounts.len()))]
    pub(crate) async fn insert_accounts(&self, scope: Scope, accounts: &[Account]) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        for account in accounts {
            sqlx::query(
                "INSERT INTO accounts (id, partner_id, livemode, type, name, email, phone_number, \
                 description, attrs, created_at, modified_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(account.id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(account.kind.as_str())
            .bind(account.name.as_str())
            .bind(account.email.as_str())
            .bind(account.phone.as_ref().map(Phone::as_str))
            .bind(account.description.as_ref().map(Description::as_str))
            .bind(Json(account.attrs.as_map()))
            .bind(account.created_at)
            .bind(account.modified_at)
            .execute(&mut *tx)
            .await?;
            record(&mut tx, scope, "created", account, account.created_at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One account, if it exists for this partner and mode.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn account(&self, scope: Scope, id: Uuid) -> Result<Option<Account>, Error> {
        let row: Option<AccountRow> = sqlx::query_as(concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL",
        ))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Account::try_from).transpose()
    }

    /// Lists accounts (or groups of them) as `query` asks.
    #[tracing::instrument(skip_all, fields(partner_id = %scope.partner_id))]
    pub(crate) async fn list_accounts(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing, Error> {
        let Select { mut builder, shape } = query::select(&ACCOUNTS, scope, query, limits)?;
        let rows = builder.build().fetch_all(&self.pool).await?;
        let mut listing = Listing::default();
        match &shape {
            Shape::Objects { computed } => {
                for row in &rows {
                    listing.accounts.push(AccountRow::from_row(row)?.try_into()?);
                    if !computed.is_empty() {
                        listing.computed.push(shape.read_extras(row)?);
                    }
                }
            }
            Shape::Groups { .. } => {
                for row in &rows {
                    listing.groups.push(shape.read_extras(row)?);
                }
            }
        }
        Ok(listing)
    }

    /// Applies `change` to each of `ids`, all or none: the accounts are
    /// locked, changed by `change` (which may refuse with an error naming
    /// the item), written, and each gets an event. An unknown id fails the
    /// whole batch with `missing(index)`.
    pub(crate) async fn change_accounts<F>(
        &self,
        scope: Scope,
        ids: &[Uuid],
        missing: impl Fn(usize) -> Error,
        change: F,
    ) -> Result<Vec<Account>, Error>
    where
        F: Fn(usize, &Account) -> Result<Change, Error>,
    {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<AccountRow> = sqlx::query_as(concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts WHERE id = ANY($1) AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL \
             ORDER BY id FOR UPDATE",
        ))
        .bind(ids)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_all(&mut *tx)
        .await?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in rows {
            let account = Account::try_from(row)?;
            found.insert(account.id, account);
        }
        let mut changed = Vec::with_capacity(ids.len());
        for (index, id) in ids.iter().enumerate() {
            let account = found.get(id).ok_or_else(|| missing(index))?;
            changed.push(apply(&mut tx, scope, change(index, account)?).await?);
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Applies `change` to every account matching `filters` (at most `max`
    /// of them; more is refused before anything changes).
    pub(crate) async fn change_accounts_matching<F>(
        &self,
        scope: Scope,
        filters: &[Filter],
        max: u32,
        change: F,
    ) -> Result<Vec<Account>, Error>
    where
        F: Fn(&Account) -> Result<Change, Error>,
    {
        let mut select =
            QueryBuilder::<Postgres>::new(concat!("SELECT ", account_columns!(), " FROM accounts"));
        query::push_filters(&mut select, &ACCOUNTS, scope, filters)?;
        select.push(" ORDER BY id LIMIT ").push_bind(i64::from(max) + 1).push(" FOR UPDATE");
        let mut tx = self.pool.begin().await?;
        let rows: Vec<AccountRow> = select.build_query_as().fetch_all(&mut *tx).await?;
        if rows.len() > max as usize {
            return Err(Error::invalid(
                "filters",
                format!("More than {max} accounts match; narrow the filters"),
            ));
        }
        let mut changed = Vec::with_capacity(rows.len());
        for row in rows {
            let account = Account::try_from(row)?;
            changed.push(apply(&mut tx, scope, change(&account)?).await?);
        }
        tx.commit().await?;
        Ok(changed)
    }
}

/// What to do to one locked account.
#[derive(Debug)]
pub(crate) enum Change {
    /// Write this new state (the same id).
    Update(Account),
    /// Soft-delete it at this time.
    Delete(Account, DateTime<Utc>),
}

async fn apply(conn: &mut PgConnection, scope: Scope, change: Change) -> Result<Account, Error> {
    let (event, account, at, result) = match change {
        Change::Update(account) => {
            let result = sqlx::query(
                "UPDATE accounts SET name = $4, email = $5, phone_number = $6, description = $7, \
                 attrs = $8, modified_at = $9 \
                 WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL",
            )
            .bind(account.id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(account.name.as_str())
            .bind(account.email.as_str())
            .bind(account.phone.as_ref().map(Phone::as_str))
            .bind(account.description.as_ref().map(Description::as_str))
            .bind(Json(account.attrs.as_map()))
            .bind(account.modified_at)
            .execute(&mut *conn)
            .await?;
            let at = account.modified_at;
            ("updated", account, at, result)
        }
        Change::Delete(account, at) => {
            let result = sqlx::query(
                "UPDATE accounts SET deleted_at = $4 \
                 WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL",
            )
            .bind(account.id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            ("deleted", account, at, result)
        }
    };
    // The row was locked by a scoped SELECT … FOR UPDATE in this transaction.
    if result.rows_affected() != 1 {
        return Err(Error::Internal(anyhow::anyhow!(
            "account {} was locked but {} rows changed",
            account.id,
            result.rows_affected()
        )));
    }
    record(conn, scope, event, &account, at).await?;
    Ok(account)
}

async fn record(
    conn: &mut PgConnection,
    scope: Scope,
    change: &str,
    account: &Account,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    let event = OutboxEvent::new(scope, "account", change, account.id, event_data(account), at);
    outbox::record(conn, &event).await?;
    Ok(())
}
