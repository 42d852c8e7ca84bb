//! Operator actions that run against the database directly, for the
//! `paymesh partner …` commands: the operator holds the database
//! credentials, so no API key is needed (or exists yet).

use paymesh_kit::{auth::Principal, clock::Clock};
use sqlx::PgPool;

use crate::store::{CreatedPartner, Store};

/// Creates a partner with one key of each kind (test and live, secret and
/// client). The keys are returned this once; only their hashes are kept.
pub async fn create_partner(pool: &PgPool, name: &str) -> anyhow::Result<CreatedPartner> {
    Store::new(pool.clone()).create_partner(name, Clock::system().now()).await
}

/// The principal of `key`, if it is a live key.
pub async fn principal_for_key(pool: &PgPool, key: &str) -> anyhow::Result<Option<Principal>> {
    Ok(Store::new(pool.clone()).principal_for_key(key, Clock::system().now()).await?)
}
