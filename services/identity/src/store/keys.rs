//! Partners and their API keys: creation (with the default processing
//! accounts), resolution to principals, restriction, revocation, rolling.

use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error,
    auth::{Permission, Principal, Scope, Verb},
    config::ListLimits,
    query::{Column, ColumnType, Resource},
};
use paymesh_proto::common::v1::ListQuery;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::{FromRow as _, PgConnection, types::Json};
use uuid::Uuid;

use super::{Listing, Store, record};
use crate::domain::{
    account::{Attrs, Email, Name},
    key::{ApiKey, ApiKeyKind, IssuedKey, KeyClass, hash, may_manage, rolled_expiry},
    lifecycle::default_processing_account,
};

macro_rules! key_columns {
    () => {
        "id, livemode, kind, last4, name, permissions, expires_at, revoked_at, rolled_to_id, attrs, created_at, \
         modified_at"
    };
}

/// The key statuses, computed against the database clock.
const KEY_STATUS_SQL: &str = "CASE WHEN revoked_at IS NOT NULL THEN 'revoked' \
     WHEN expires_at IS NOT NULL AND expires_at <= now() THEN 'expired' \
     WHEN expires_at IS NOT NULL THEN 'expiring' ELSE 'active' END";

/// What callers may query API keys by.
pub(crate) static API_KEYS: Resource = Resource {
    name: "api_key",
    table: "api_keys",
    select: key_columns!(),
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "type", sql: "kind", ty: ColumnType::Enum(&["secret", "client"]) },
        Column { name: "name", sql: "name", ty: ColumnType::Text },
        Column { name: "last4", sql: "last4", ty: ColumnType::Text },
        Column {
            name: "status",
            sql: KEY_STATUS_SQL,
            ty: ColumnType::Enum(crate::domain::key::KEY_STATUSES),
        },
        Column { name: "expires_at", sql: "expires_at", ty: ColumnType::Timestamp },
        Column { name: "revoked_at", sql: "revoked_at", ty: ColumnType::Timestamp },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

/// A permission as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredPermission {
    method: String,
    resource: String,
}

fn stored_permissions(permissions: &[Permission]) -> Vec<StoredPermission> {
    permissions
        .iter()
        .map(|p| StoredPermission { method: p.verb.as_str().to_owned(), resource: p.resource.clone() })
        .collect()
}

fn read_permissions(id: Uuid, stored: Vec<StoredPermission>) -> Result<Vec<Permission>, Error> {
    stored
        .into_iter()
        .map(|p| {
            let verb = Verb::parse(&p.method).ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("key {id} has an unknown permission method"))
            })?;
            Ok(Permission { verb, resource: p.resource })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: Uuid,
    livemode: bool,
    kind: String,
    last4: String,
    name: String,
    permissions: Json<Vec<StoredPermission>>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    rolled_to_id: Option<Uuid>,
    attrs: Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
}

fn kind(id: Uuid, kind: &str) -> Result<ApiKeyKind, Error> {
    match kind {
        "secret" => Ok(ApiKeyKind::Secret),
        "client" => Ok(ApiKeyKind::Client),
        _ => Err(Error::Internal(anyhow::anyhow!("key {id} has unknown kind {kind:?}"))),
    }
}

impl TryFrom<KeyRow> for ApiKey {
    type Error = Error;

    fn try_from(row: KeyRow) -> Result<Self, Error> {
        let KeyRow {
            id,
            livemode,
            kind: key_kind,
            last4,
            name,
            permissions,
            expires_at,
            revoked_at,
            rolled_to_id,
            attrs,
            created_at,
            modified_at,
        } = row;
        Ok(Self {
            id,
            class: KeyClass { livemode, kind: kind(id, &key_kind)? },
            name,
            last4,
            permissions: read_permissions(id, permissions.0)?,
            expires_at,
            revoked_at,
            rolled_to_id,
            attrs: Attrs::from_stored(attrs.0),
            created_at,
            modified_at,
        })
    }
}

/// What resolving a key needs of its row.
#[derive(sqlx::FromRow)]
struct WorkingKey {
    id: Uuid,
    partner_id: Uuid,
    livemode: bool,
    kind: String,
    permissions: Json<Vec<StoredPermission>>,
    expires_at: Option<DateTime<Utc>>,
}

/// A key's record as its events carry it (never the key).
fn key_event(key: &ApiKey) -> Value {
    json!({
        "id": key.id,
        "type": key.class.kind_str(),
        "livemode": key.class.livemode,
        "name": key.name,
        "last4": key.last4,
        "permissions": stored_permissions(&key.permissions)
            .into_iter()
            .map(|p| json!({"method": p.method, "resource": p.resource}))
            .collect::<Vec<_>>(),
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
    })
}

/// A partner with its freshly issued keys and default processing accounts.
#[derive(Debug)]
pub struct CreatedPartner {
    /// The partner's id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// One key of each class, shown this once.
    pub keys: Vec<IssuedKey>,
    /// Its default processing accounts: test mode, then live mode.
    pub default_accounts: Vec<Uuid>,
}

/// What a rolled key leaves: the new key and its text, the old key's
/// record, and the old key's hash (to evict from caches).
#[derive(Debug)]
pub(crate) struct Rolled {
    pub(crate) key: ApiKey,
    pub(crate) issued: IssuedKey,
    pub(crate) previous: ApiKey,
    pub(crate) previous_hash: [u8; 32],
}

impl Store {
    /// Creates a partner, one key of each class, and its default processing
    /// account in each mode (named after the partner, reachable at `email`).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn create_partner(
        &self,
        name: &str,
        email: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<CreatedPartner> {
        let name = Name::parse(name).map_err(|why| anyhow::anyhow!("partner name: {why}"))?;
        let email = Email::parse(email).map_err(|why| anyhow::anyhow!("partner email: {why}"))?;
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
            let record = ApiKey::issued(
                issued,
                "Created with the partner".to_owned(),
                Vec::new(),
                Attrs::default(),
                now,
            );
            insert_key(&mut tx, id, &record, issued).await.context("failed to insert API key")?;
        }
        let mut default_accounts = Vec::new();
        for livemode in [false, true] {
            let account = default_processing_account(&name, &email, livemode, now)
                .map_err(|why| anyhow::anyhow!(why))?;
            let scope = Scope { partner_id: id, livemode };
            let account = self
                .insert_default_account(&mut tx, scope, account)
                .await
                .map_err(|e| anyhow::anyhow!("failed to create the default processing account: {e}"))?;
            default_accounts.push(account.id);
        }
        tx.commit().await.context("failed to commit partner")?;
        tracing::info!(partner_id = %id, "partner created");
        Ok(CreatedPartner { id, name: name.as_str().to_owned(), keys, default_accounts })
    }

    /// The principal of a working (unrevoked, unexpired) key, looked up by
    /// its hash; `None` for any other key.
    pub(crate) async fn principal_for_key(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, sqlx::Error> {
        let Some(class) = KeyClass::of(key) else { return Ok(None) };
        let row: Option<WorkingKey> = sqlx::query_as(
            "SELECT id, partner_id, livemode, kind, permissions, expires_at FROM api_keys \
             WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(hash(key).as_slice())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(WorkingKey { id: key_id, partner_id, livemode, kind: kind_text, permissions, expires_at }) =
            row
        else {
            return Ok(None);
        };
        let Ok(kind) = kind(key_id, &kind_text) else { return Ok(None) };
        // The prefix must agree with what was issued.
        if class != (KeyClass { livemode, kind }) {
            return Ok(None);
        }
        let Ok(permissions) = read_permissions(key_id, permissions.0) else { return Ok(None) };
        Ok(Some(Principal {
            partner_id,
            livemode,
            key_kind: kind.principal(),
            key_id,
            permissions: (!permissions.is_empty()).then(|| Arc::from(permissions)),
            account_id: None,
            expires_at,
            service: None,
        }))
    }

    /// Stores a new key of this partner.
    pub(crate) async fn insert_api_key(
        &self,
        scope: Scope,
        key: &ApiKey,
        issued: &IssuedKey,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        insert_key(&mut tx, scope.partner_id, key, issued).await?;
        record(&mut tx, scope, "api_key", "created", key.id, key_event(key), key.created_at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One key's record.
    pub(crate) async fn api_key(&self, scope: Scope, id: Uuid) -> Result<Option<ApiKey>, Error> {
        let row: Option<KeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE id = $1 AND partner_id = $2 AND livemode = $3"
        ))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(ApiKey::try_from).transpose()
    }

    /// Lists keys' records.
    pub(crate) async fn list_api_keys(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<ApiKey>, Error> {
        super::list(
            &self.pool,
            &API_KEYS,
            scope,
            query,
            limits,
            |_| {},
            |row| ApiKey::try_from(KeyRow::from_row(row)?),
        )
        .await
    }

    /// Changes a key's name, permissions or attributes with `change`;
    /// answers its record and its hash (to evict from caches).
    pub(crate) async fn update_api_key(
        &self,
        scope: Scope,
        id: Uuid,
        granter: Option<&[Permission]>,
        change: impl FnOnce(&ApiKey) -> Result<ApiKey, Error>,
    ) -> Result<(ApiKey, [u8; 32]), Error> {
        let mut tx = self.pool.begin().await?;
        let key = lock_key(&mut tx, scope, id, granter).await?;
        let key = change(&key)?;
        let key_hash: Vec<u8> = sqlx::query_scalar(
            "UPDATE api_keys SET name = $4, permissions = $5, attrs = $6, modified_at = $7 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 RETURNING key_hash",
        )
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(&key.name)
        .bind(Json(stored_permissions(&key.permissions)))
        .bind(Json(key.attrs.as_map()))
        .bind(key.modified_at)
        .fetch_one(&mut *tx)
        .await?;
        record(&mut tx, scope, "api_key", "updated", id, key_event(&key), key.modified_at).await?;
        tx.commit().await?;
        Ok((key, digest(key_hash)?))
    }

    /// Revokes a key at `now`; answers its record and its hash (to evict
    /// from caches). A key cannot revoke itself, nor a restricted key one it
    /// could not have granted.
    pub(crate) async fn revoke_api_key(
        &self,
        scope: Scope,
        id: Uuid,
        caller: &Principal,
        now: DateTime<Utc>,
    ) -> Result<(ApiKey, [u8; 32]), Error> {
        if id == caller.key_id {
            return Err(Error::invalid(
                "id",
                "A key cannot revoke itself; use another key, or roll this one",
            ));
        }
        let mut tx = self.pool.begin().await?;
        let mut key = lock_key(&mut tx, scope, id, caller.permissions.as_deref()).await?;
        if key.revoked_at.is_some() {
            return Err(Error::Conflict("The key is already revoked".to_owned()));
        }
        key.revoked_at = Some(now);
        key.modified_at = now;
        let key_hash: Vec<u8> = sqlx::query_scalar(
            "UPDATE api_keys SET revoked_at = $4, modified_at = $4 WHERE id = $1 AND partner_id = $2 \
             AND livemode = $3 RETURNING key_hash",
        )
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        record(&mut tx, scope, "api_key", "revoked", id, key_event(&key), now).await?;
        tx.commit().await?;
        tracing::info!(key_id = %id, "API key revoked");
        Ok((key, digest(key_hash)?))
    }

    /// Replaces a key with a new one of the same class, name and
    /// permissions; the old one expires after `grace_seconds`. A restricted
    /// key rolls only keys it could have granted.
    pub(crate) async fn roll_api_key(
        &self,
        scope: Scope,
        id: Uuid,
        granter: Option<&[Permission]>,
        grace_seconds: u32,
        now: DateTime<Utc>,
    ) -> Result<Rolled, Error> {
        let mut tx = self.pool.begin().await?;
        let mut previous = lock_key(&mut tx, scope, id, granter).await?;
        if previous.revoked_at.is_some() || previous.expires_at.is_some_and(|e| e <= now) {
            return Err(Error::Conflict("Only a working key can be rolled".to_owned()));
        }
        if previous.rolled_to_id.is_some() {
            return Err(Error::Conflict(
                "The key was already rolled; roll its replacement instead".to_owned(),
            ));
        }
        let expiry = rolled_expiry(previous.expires_at, now, grace_seconds)
            .map_err(|why| Error::invalid("grace_period_seconds", why))?;
        let issued = IssuedKey::generate(previous.class).context("the OS random source failed")?;
        let key = ApiKey::issued(
            &issued,
            previous.name.clone(),
            previous.permissions.clone(),
            previous.attrs.clone(),
            now,
        );
        insert_key(&mut tx, scope.partner_id, &key, &issued).await?;
        previous.expires_at = Some(expiry);
        previous.rolled_to_id = Some(key.id);
        previous.modified_at = now;
        let previous_hash: Vec<u8> = sqlx::query_scalar(
            "UPDATE api_keys SET expires_at = $4, rolled_to_id = $5, modified_at = $6 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 RETURNING key_hash",
        )
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(expiry)
        .bind(key.id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let data = json!({"previous": key_event(&previous), "replacement": key_event(&key)});
        record(&mut tx, scope, "api_key", "rolled", id, data, now).await?;
        tx.commit().await?;
        Ok(Rolled { key, issued, previous, previous_hash: digest(previous_hash)? })
    }
}

fn digest(stored: Vec<u8>) -> Result<[u8; 32], Error> {
    stored.try_into().map_err(|_| Error::Internal(anyhow::anyhow!("a stored key hash is not 32 bytes")))
}

async fn insert_key(
    conn: &mut PgConnection,
    partner: Uuid,
    key: &ApiKey,
    issued: &IssuedKey,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_keys (id, partner_id, livemode, kind, prefix, last4, key_hash, name, permissions, attrs, \
         created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(key.id)
    .bind(partner)
    .bind(key.class.livemode)
    .bind(key.class.kind_str())
    .bind(key.class.prefix())
    .bind(&key.last4)
    .bind(hash(&issued.key).as_slice())
    .bind(&key.name)
    .bind(Json(stored_permissions(&key.permissions)))
    .bind(Json(key.attrs.as_map()))
    .bind(key.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks a key that the caller, holding `granter`, may manage.
async fn lock_key(
    conn: &mut PgConnection,
    scope: Scope,
    id: Uuid,
    granter: Option<&[Permission]>,
) -> Result<ApiKey, Error> {
    let row: Option<KeyRow> = sqlx::query_as(concat!(
        "SELECT ",
        key_columns!(),
        " FROM api_keys WHERE id = $1 AND partner_id = $2 AND livemode = $3 FOR UPDATE"
    ))
    .bind(id)
    .bind(scope.partner_id)
    .bind(scope.livemode)
    .fetch_optional(conn)
    .await?;
    let key = row.map(ApiKey::try_from).transpose()?.ok_or(Error::NotFound { resource: "API key" })?;
    may_manage(granter, key.class.kind, &key.permissions).map_err(Error::Forbidden)?;
    Ok(key)
}
