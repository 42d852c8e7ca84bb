//! Access tokens: records of session and merchant tokens, their events,
//! and the statements that issue, redeem and revoke them.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error,
    auth::Scope,
    config::ListLimits,
    query::{Column, ColumnType, Resource},
};
use paymesh_proto::common::v1::ListQuery;
use serde_json::{Map, Value, json};
use sqlx::{FromRow as _, PgConnection, types::Json};
use uuid::Uuid;

use super::{Listing, Store, expect_one, record};
use crate::domain::{
    account::Attrs,
    key::hash,
    token::{AccessToken, TOKEN_STATUSES, TOKEN_TYPES, TokenType},
};

macro_rules! token_columns {
    () => {
        "id, livemode, type, account_id, expires_at, redeemed_at, revoked_at, issued_by, attrs, created_at, \
         modified_at"
    };
}

/// The token statuses, computed against the database clock.
const TOKEN_STATUS_SQL: &str = "CASE WHEN revoked_at IS NOT NULL THEN 'revoked' \
     WHEN redeemed_at IS NOT NULL THEN 'redeemed' WHEN expires_at <= now() THEN 'expired' ELSE 'active' END";

/// What callers may query access tokens by.
pub(crate) static ACCESS_TOKENS: Resource = Resource {
    name: "access_token",
    table: "access_tokens",
    select: token_columns!(),
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "type", sql: "type", ty: ColumnType::Enum(TOKEN_TYPES) },
        Column { name: "account_id", sql: "account_id", ty: ColumnType::Id },
        Column { name: "status", sql: TOKEN_STATUS_SQL, ty: ColumnType::Enum(TOKEN_STATUSES) },
        Column { name: "expires_at", sql: "expires_at", ty: ColumnType::Timestamp },
        Column { name: "redeemed_at", sql: "redeemed_at", ty: ColumnType::Timestamp },
        Column { name: "revoked_at", sql: "revoked_at", ty: ColumnType::Timestamp },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    livemode: bool,
    #[sqlx(rename = "type")]
    kind: String,
    account_id: Uuid,
    expires_at: DateTime<Utc>,
    redeemed_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    issued_by: Uuid,
    attrs: Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
}

/// A merchant token's record, with what verifying it needs beyond the
/// signature.
#[derive(Debug)]
pub(crate) struct MerchantToken {
    /// The partner that issued it.
    pub(crate) partner_id: Uuid,
    /// Whether its processing account still exists and is not inactive.
    pub(crate) account_open: bool,
    /// Its record.
    pub(crate) token: AccessToken,
}

/// A token row with its partner.
#[derive(sqlx::FromRow)]
struct OwnedTokenRow {
    partner_id: Uuid,
    account_open: bool,
    #[sqlx(flatten)]
    token: TokenRow,
}

impl TryFrom<TokenRow> for AccessToken {
    type Error = Error;

    fn try_from(row: TokenRow) -> Result<Self, Error> {
        let TokenRow {
            id,
            livemode,
            kind,
            account_id,
            expires_at,
            redeemed_at,
            revoked_at,
            issued_by,
            attrs,
            created_at,
            modified_at,
        } = row;
        Ok(Self {
            id,
            livemode,
            kind: TokenType::parse(&kind)
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("token {id} has unknown type {kind:?}")))?,
            account_id,
            expires_at,
            redeemed_at,
            revoked_at,
            issued_by,
            attrs: Attrs::from_stored(attrs.0),
            created_at,
            modified_at,
        })
    }
}

fn token_event(token: &AccessToken) -> Value {
    json!({
        "id": token.id,
        "type": token.kind.as_str(),
        "account_id": token.account_id,
        "expires_at": token.expires_at,
        "redeemed_at": token.redeemed_at,
        "revoked_at": token.revoked_at,
        "livemode": token.livemode,
    })
}

impl Store {
    /// One token's record.
    pub(crate) async fn access_token(&self, scope: Scope, id: Uuid) -> Result<Option<AccessToken>, Error> {
        let row: Option<TokenRow> = sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " FROM access_tokens WHERE id = $1 AND partner_id = $2 AND livemode = $3"
        ))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(AccessToken::try_from).transpose()
    }

    /// A merchant token's record by its id alone (verifying a JWT, before
    /// any scope is known); `None` for other tokens.
    pub(crate) async fn merchant_token(&self, id: Uuid) -> Result<Option<MerchantToken>, Error> {
        let row: Option<OwnedTokenRow> = sqlx::query_as(concat!(
            "SELECT partner_id, EXISTS (SELECT 1 FROM accounts a WHERE a.id = access_tokens.account_id \
             AND a.deleted_at IS NULL AND a.processing_status <> 'inactive') AS account_open, ",
            token_columns!(),
            " FROM access_tokens WHERE id = $1 AND type = 'merchant'"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(MerchantToken {
                partner_id: row.partner_id,
                account_open: row.account_open,
                token: AccessToken::try_from(row.token)?,
            })
        })
        .transpose()
    }

    /// Lists tokens' records.
    pub(crate) async fn list_access_tokens(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<AccessToken>, Error> {
        super::list(
            &self.pool,
            &ACCESS_TOKENS,
            scope,
            query,
            limits,
            |_| {},
            |row| AccessToken::try_from(TokenRow::from_row(row)?),
        )
        .await
    }

    /// Locks and reads the token `id`, if it exists.
    pub(crate) async fn lock_access_token(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
    ) -> Result<Option<AccessToken>, Error> {
        let row: Option<TokenRow> = sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " FROM access_tokens WHERE id = $1 AND partner_id = $2 AND livemode = $3 FOR UPDATE"
        ))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(conn)
        .await?;
        row.map(AccessToken::try_from).transpose()
    }

    /// Locks and reads the session token of this partner and mode whose
    /// text is `token` (found by its hash), if there is one.
    pub(crate) async fn lock_session_token(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        token: &str,
    ) -> Result<Option<AccessToken>, Error> {
        let row: Option<TokenRow> = sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " FROM access_tokens WHERE token_hash = $1 AND partner_id = $2 AND livemode = $3 FOR UPDATE"
        ))
        .bind(hash(token).as_slice())
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(conn)
        .await?;
        row.map(AccessToken::try_from).transpose()
    }

    // === Writing ===

    /// Stores a token's record, with its `access_token.created` event;
    /// `session_token` is the session token's text (only its hash is kept).
    pub(crate) async fn insert_access_token(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        token: &AccessToken,
        session_token: Option<&str>,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO access_tokens (id, partner_id, livemode, type, account_id, token_hash, expires_at, \
             issued_by, attrs, created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(token.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(token.kind.as_str())
        .bind(token.account_id)
        .bind(session_token.map(|t| hash(t).to_vec()))
        .bind(token.expires_at)
        .bind(token.issued_by)
        .bind(Json(token.attrs.as_map()))
        .bind(token.created_at)
        .execute(&mut *conn)
        .await?;
        record(conn, scope, "access_token", "created", token.id, token_event(token), token.created_at).await
    }

    /// Writes a (locked) token's revocation at `now`, with its
    /// `access_token.revoked` event.
    pub(crate) async fn write_token_revocation(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let result = sqlx::query("UPDATE access_tokens SET revoked_at = $2, modified_at = $2 WHERE id = $1")
            .bind(token.id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        expect_one(&result, "access token", token.id)?;
        record(conn, scope, "access_token", "revoked", token.id, token_event(token), now).await
    }

    /// Writes a (locked) session token's redemption at `now`, with its
    /// `access_token.redeemed` event.
    pub(crate) async fn write_redemption(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let result = sqlx::query("UPDATE access_tokens SET redeemed_at = $2, modified_at = $2 WHERE id = $1")
            .bind(token.id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        expect_one(&result, "access token", token.id)?;
        record(conn, scope, "access_token", "redeemed", token.id, token_event(token), now).await
    }
}
