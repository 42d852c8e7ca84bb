//! Partners and their API keys: their rows and events, resolution to
//! principals, and the statements that issue, restrict, revoke and roll
//! keys.

use std::sync::Arc;

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
    account::{Attrs, Name},
    key::{ApiKey, ApiKeyKind, IssuedKey, KeyClass, hash},
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

impl Store {
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

    /// Locks and reads a key's record, if it exists.
    pub(crate) async fn lock_key(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
    ) -> Result<Option<ApiKey>, Error> {
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
        row.map(ApiKey::try_from).transpose()
    }

    // === Writing ===

    /// Inserts a partner.
    pub(crate) async fn insert_partner(
        &self,
        conn: &mut PgConnection,
        id: Uuid,
        name: &Name,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO partners (id, name, created_at, modified_at) VALUES ($1, $2, $3, $3)")
            .bind(id)
            .bind(name.as_str())
            .bind(now)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Inserts a key of `partner`: its record and the hash of `issued`.
    pub(crate) async fn insert_key(
        &self,
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

    /// Stores a new key of this partner, with its `api_key.created` event.
    pub(crate) async fn insert_api_key(
        &self,
        scope: Scope,
        key: &ApiKey,
        issued: &IssuedKey,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        self.insert_key(&mut tx, scope.partner_id, key, issued).await?;
        self.record_key(&mut tx, scope, "created", key, key.created_at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an `api_key.<action>` event carrying `key` at `at`.
    pub(crate) async fn record_key(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        action: &str,
        key: &ApiKey,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        record(conn, scope, "api_key", action, key.id, key_event(key), at).await
    }

    /// Writes a (locked) key's name, permissions and custom attributes;
    /// answers its hash (to evict from caches).
    pub(crate) async fn write_key_change(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        key: &ApiKey,
    ) -> Result<[u8; 32], Error> {
        let key_hash: Vec<u8> = sqlx::query_scalar(
            "UPDATE api_keys SET name = $4, permissions = $5, attrs = $6, modified_at = $7 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 RETURNING key_hash",
        )
        .bind(key.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(&key.name)
        .bind(Json(stored_permissions(&key.permissions)))
        .bind(Json(key.attrs.as_map()))
        .bind(key.modified_at)
        .fetch_one(&mut *conn)
        .await?;
        digest(key_hash)
    }

    /// Writes a (locked) key's revocation at `now`; answers its hash.
    pub(crate) async fn write_revocation(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<[u8; 32], Error> {
        let key_hash: Vec<u8> = sqlx::query_scalar(
            "UPDATE api_keys SET revoked_at = $4, modified_at = $4 WHERE id = $1 AND partner_id = $2 \
             AND livemode = $3 RETURNING key_hash",
        )
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        digest(key_hash)
    }

    /// Writes a (locked) key's roll into `replacement` at `now`, working
    /// until `expiry`; answers its hash.
    pub(crate) async fn write_roll(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        expiry: DateTime<Utc>,
        replacement: Uuid,
        now: DateTime<Utc>,
    ) -> Result<[u8; 32], Error> {
        let key_hash: Vec<u8> = sqlx::query_scalar(
            "UPDATE api_keys SET expires_at = $4, rolled_to_id = $5, modified_at = $6 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 RETURNING key_hash",
        )
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(expiry)
        .bind(replacement)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        digest(key_hash)
    }

    /// Records the `api_key.rolled` event of `previous`, replaced by
    /// `replacement` at `at`.
    pub(crate) async fn record_roll(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        previous: &ApiKey,
        replacement: &ApiKey,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let data = json!({"previous": key_event(previous), "replacement": key_event(replacement)});
        record(conn, scope, "api_key", "rolled", previous.id, data, at).await
    }
}

fn digest(stored: Vec<u8>) -> Result<[u8; 32], Error> {
    stored.try_into().map_err(|_| Error::Internal(anyhow::anyhow!("a stored key hash is not 32 bytes")))
}
