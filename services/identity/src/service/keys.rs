//! Partners and their API keys: creation (with the default processing
//! accounts), restriction, revocation, rolling. A restricted key manages
//! only keys it could have granted; revocations and rolls evict the key
//! from identity's own cache at once.

use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error,
    auth::{Permission, Principal, Scope},
    clock::Clock,
    config::ListLimits,
    query::Listing,
    wire::object_id,
};
use paymesh_proto::common::v1::ListQuery;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{auth::IdentityAuthenticator, lifecycle::insert_default_account};
use crate::{
    domain::{
        account::{Attrs, Email, Name},
        key::{
            ApiKey, ApiKeyKind, IssuedKey, KeyClass, KeyPatch, may_grant, may_grant_key, may_manage,
            may_revoke, rolled_expiry,
        },
        lifecycle::default_processing_account,
    },
    store::Store,
};

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

/// What a rolled key leaves: the new key and its text, and the old key's
/// record.
#[derive(Debug)]
pub(crate) struct Rolled {
    pub(crate) key: ApiKey,
    pub(crate) issued: IssuedKey,
    pub(crate) previous: ApiKey,
}

/// Creates a partner, one key of each class, and its default processing
/// account in each mode (named after the partner, reachable at `email`).
#[tracing::instrument(skip(store))]
pub(crate) async fn create_partner(
    store: &Store,
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
    let mut tx = store.begin().await?;
    store.insert_partner(&mut tx, id, &name, now).await.context("failed to insert partner")?;
    for issued in &keys {
        let record =
            ApiKey::issued(issued, "Created with the partner".to_owned(), Vec::new(), Attrs::default(), now);
        store.insert_key(&mut tx, id, &record, issued).await.context("failed to insert API key")?;
    }
    let mut default_accounts = Vec::new();
    for livemode in [false, true] {
        let account =
            default_processing_account(&name, &email, livemode, now).map_err(|why| anyhow::anyhow!(why))?;
        let scope = Scope { partner_id: id, livemode };
        let account = insert_default_account(store, &mut tx, scope, account)
            .await
            .map_err(|e| anyhow::anyhow!("failed to create the default processing account: {e}"))?;
        default_accounts.push(account.id);
    }
    tx.commit().await.context("failed to commit partner")?;
    tracing::info!(partner_id = %id, "partner created");
    Ok(CreatedPartner { id, name: name.as_str().to_owned(), keys, default_accounts })
}

/// The API keys of the identity service.
#[derive(Clone)]
pub(crate) struct ApiKeys {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) limits: ListLimits,
    /// Identity's own authenticator, which revocations and rolls evict
    /// from.
    pub(crate) cache: Arc<IdentityAuthenticator>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys").finish_non_exhaustive()
    }
}

fn not_found() -> Error {
    Error::NotFound { resource: "API key" }
}

/// Locks a key that the caller, holding `granter`, may manage.
async fn lock_managed(
    store: &Store,
    conn: &mut PgConnection,
    scope: Scope,
    id: Uuid,
    granter: Option<&[Permission]>,
) -> Result<ApiKey, Error> {
    let key = store.lock_key(conn, scope, id).await?.ok_or_else(not_found)?;
    may_manage(granter, key.class.kind, &key.permissions).map_err(Error::Forbidden)?;
    Ok(key)
}

impl ApiKeys {
    /// Issues a key of `kind` as `principal` at `now`; a restricted key
    /// grants only what it holds. Answers the record and the key, shown
    /// this once.
    pub(crate) async fn create(
        &self,
        principal: &Principal,
        (kind, name, permissions, attrs): (ApiKeyKind, String, Vec<Permission>, Attrs),
        now: DateTime<Utc>,
    ) -> Result<(ApiKey, IssuedKey), Error> {
        let scope = principal.scope();
        may_grant_key(principal.permissions.as_deref(), kind, &permissions)
            .map_err(|why| Error::invalid("api_key.permissions", why))?;
        let issued = IssuedKey::generate(KeyClass { livemode: scope.livemode, kind })
            .context("the OS random source failed")
            .map_err(Error::Internal)?;
        let key = ApiKey::issued(&issued, name, permissions, attrs, now);
        self.store.insert_api_key(scope, &key, &issued).await?;
        Ok((key, issued))
    }

    /// Key `id`'s record.
    pub(crate) async fn get(&self, scope: Scope, id: &str) -> Result<ApiKey, Error> {
        let id = object_id(id, not_found)?;
        self.store.api_key(scope, id).await?.ok_or_else(not_found)
    }

    /// The records of the keys matching `query`.
    pub(crate) async fn list(&self, scope: Scope, query: &ListQuery) -> Result<Listing<ApiKey>, Error> {
        self.store.list_api_keys(scope, query, self.limits).await
    }

    /// Changes key `id`'s name, permissions or attributes (`None`: not
    /// found) at `now`; new permissions apply at once here, and other
    /// services' caches follow within their TTL.
    pub(crate) async fn update(
        &self,
        principal: &Principal,
        id: Option<Uuid>,
        patch: KeyPatch,
        now: DateTime<Utc>,
    ) -> Result<ApiKey, Error> {
        let scope = principal.scope();
        let id = id.ok_or_else(not_found)?;
        if let Some(permissions) = &patch.permissions {
            may_grant(principal.permissions.as_deref(), permissions)
                .map_err(|why| Error::invalid("api_key.permissions", why))?;
        }
        let store = &self.store;
        let mut tx = store.begin().await?;
        let key = lock_managed(store, &mut tx, scope, id, principal.permissions.as_deref()).await?;
        let key =
            key.apply(&patch, now).map_err(|(field, why)| Error::invalid(format!("api_key.{field}"), why))?;
        let hash = store.write_key_change(&mut tx, scope, &key).await?;
        store.record_key(&mut tx, scope, "updated", &key, key.modified_at).await?;
        tx.commit().await?;
        self.cache.evict(&hash);
        Ok(key)
    }

    /// Revokes key `id` at `now`, and evicts it from the cache. A key
    /// cannot revoke itself, nor a restricted key one it could not have
    /// granted.
    pub(crate) async fn revoke(
        &self,
        principal: &Principal,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<ApiKey, Error> {
        let scope = principal.scope();
        let id = object_id(id, not_found)?;
        may_revoke(principal.key_id, id).map_err(|why| Error::invalid("id", why))?;
        let store = &self.store;
        let mut tx = store.begin().await?;
        let key = lock_managed(store, &mut tx, scope, id, principal.permissions.as_deref()).await?;
        let key = key.revoked(now).map_err(Error::Conflict)?;
        let hash = store.write_revocation(&mut tx, scope, id, now).await?;
        store.record_key(&mut tx, scope, "revoked", &key, now).await?;
        tx.commit().await?;
        tracing::info!(key_id = %id, "API key revoked");
        self.cache.evict(&hash);
        Ok(key)
    }

    /// Replaces key `id` at `now` with a new one of the same class, name
    /// and permissions; the old one expires after `grace_seconds` (and is
    /// evicted from the cache). A restricted key rolls only keys it could
    /// have granted.
    pub(crate) async fn roll(
        &self,
        principal: &Principal,
        id: &str,
        grace_seconds: u32,
        now: DateTime<Utc>,
    ) -> Result<Rolled, Error> {
        let scope = principal.scope();
        let id = object_id(id, not_found)?;
        let store = &self.store;
        let mut tx = store.begin().await?;
        let previous = lock_managed(store, &mut tx, scope, id, principal.permissions.as_deref()).await?;
        previous.may_roll(now).map_err(Error::Conflict)?;
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
        store.insert_key(&mut tx, scope.partner_id, &key, &issued).await?;
        let previous = previous.rolled(key.id, expiry, now);
        let previous_hash = store.write_roll(&mut tx, scope, id, expiry, key.id, now).await?;
        store.record_roll(&mut tx, scope, &previous, &key, now).await?;
        tx.commit().await?;
        self.cache.evict(&previous_hash);
        Ok(Rolled { key, issued, previous })
    }
}
