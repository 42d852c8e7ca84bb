//! The identity tables, through sqlx.
//!
//! Every statement is scoped by (partner, mode); every change runs in one
//! transaction together with its outbox events. Two locking rules keep
//! concurrent changes correct and free of deadlocks:
//!
//! - rows to change are locked in id order (`SELECT … ORDER BY id FOR
//!   UPDATE`), so concurrent batches cannot deadlock;
//! - every change that can move a processing account's activation — to a
//!   processing account, a legal entity, an owner or a KYB document — first
//!   takes the partner's *KYB lock* (a transaction-scoped advisory lock per
//!   partner and mode), so assessments always see a consistent picture and
//!   owners' shares cannot exceed 100% under concurrent writes.
//!
//! Sensitive values are sealed here, on their way in, with the keyring's
//! envelope encryption; reads never decrypt them.
//!
//! Layout: `accounts` (customers, processing accounts, status history,
//! assessments), `kyb` (legal entities and owners), `documents`, `keys`
//! (partners and API keys), `tokens` (access tokens).

pub(crate) mod accounts;
mod documents;
mod keys;
pub(crate) mod kyb;
pub(crate) mod tokens;

use paymesh_kit::{Error, auth::Scope, crypto::Keyring, db};
pub(crate) use paymesh_kit::{
    db::expect_one,
    outbox::record_change as record,
    query::{Listing, list},
};
use sqlx::{PgConnection, PgPool};

pub use keys::CreatedPartner;

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
}

/// Takes the partner's KYB lock for the rest of the transaction (see the
/// module documentation).
pub(crate) async fn kyb_lock(conn: &mut PgConnection, scope: Scope) -> Result<(), Error> {
    db::xact_lock(conn, &format!("identity.kyb:{}:{}", scope.partner_id, scope.livemode)).await
}
