//! The identity tables, through sqlx: rows, the statements that read and
//! write them, and the events those writes record in the outbox.
//!
//! Every statement is scoped by (partner, mode). The service holds the
//! transactions (the store opens one of its own only to write a single new
//! record with its event) and runs these statements in them, together with
//! their outbox events, keeping two locking rules that make concurrent
//! changes correct and free of deadlocks:
//!
//! - rows to change are locked in id order (`SELECT … ORDER BY id FOR
//!   UPDATE`), so concurrent batches cannot deadlock;
//! - every change that can move a processing account's activation — to a
//!   processing account, a legal entity, an owner or a KYB document — first
//!   takes the partner's *KYB lock* ([`Store::kyb_lock`], a
//!   transaction-scoped advisory lock per partner and mode), so assessments
//!   always see a consistent picture and owners' shares cannot exceed 100%
//!   under concurrent writes.
//!
//! Sensitive values are sealed here, on their way in, with the keyring's
//! envelope encryption; reads never decrypt them.
//!
//! Layout: `accounts` (customers, processing accounts, the status
//! history), `kyb` (legal entities and owners), `documents`, `keys`
//! (partners and API keys), `tokens` (access tokens). None of them reads
//! another's tables but through the service.

pub(crate) mod accounts;
pub(crate) mod documents;
pub(crate) mod keys;
pub(crate) mod kyb;
pub(crate) mod tokens;

use paymesh_kit::{
    Error,
    auth::Scope,
    crypto::Keyring,
    db,
    query::{self, Resource},
};
pub(crate) use paymesh_kit::{
    db::expect_one,
    outbox::record_change as record,
    query::{Listing, list},
};
use paymesh_proto::common::v1::Filter;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

/// Access to the identity schema.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pool: PgPool,
    keyring: Keyring,
}

impl Store {
    /// A store over `pool` (connected to the identity schema) that seals
    /// sensitive values with `keyring`.
    pub(crate) fn new(pool: PgPool, keyring: Keyring) -> Self {
        Self { pool, keyring }
    }

    /// The keyring sensitive values are sealed with.
    pub(crate) fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// A transaction, for a change of several rows.
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Postgres>, Error> {
        Ok(self.pool.begin().await?)
    }

    /// Takes the partner's KYB lock for the rest of the transaction (see
    /// the module documentation).
    pub(crate) async fn kyb_lock(&self, conn: &mut PgConnection, scope: Scope) -> Result<(), Error> {
        db::xact_lock(conn, &format!("identity.kyb:{}:{}", scope.partner_id, scope.livemode)).await
    }

    /// The ids of at most `max` rows of `resource` matching `filters`, in
    /// id order (more is refused before anything changes).
    pub(crate) async fn matching_ids(
        &self,
        conn: &mut PgConnection,
        resource: &Resource,
        scope: Scope,
        filters: &[Filter],
        max: u32,
    ) -> Result<Vec<Uuid>, Error> {
        query::matching_ids(conn, resource, scope, filters, max).await
    }
}
