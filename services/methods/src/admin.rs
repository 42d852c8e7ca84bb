//! Operator commands of the methods service.

use paymesh_kit::{
    config::CommonConfig,
    rewrap::{self, ColumnReport},
};

/// Re-wraps the data key of every number in the methods service under the active
/// key-encryption key; answers a report per sealed column.
pub async fn rotate_kek(common: &CommonConfig) -> anyhow::Result<Vec<(String, ColumnReport)>> {
    let pool = crate::open_database(common).await?;
    rewrap::rewrap_columns(&pool, &common.keyring, crate::SCHEMA, crate::SEALED_COLUMNS).await
}

/// Delivers to identity every customer default it has yet to learn (the
/// vault's background task does this every few seconds; this is for an
/// operator who will not wait, and for tests); answers how many.
pub async fn sync_defaults(common: &CommonConfig, config: &crate::Config) -> anyhow::Result<usize> {
    let pool = crate::open_database(common).await?;
    let identity = paymesh_kit::grpc::connect(common.services.get("identity")?, common.request_timeout)?;
    let methods = crate::methods(common, config, pool, paymesh_kit::clock::Clock::system(), identity).await?;
    methods.sync_pending_defaults().await.map_err(|e| anyhow::anyhow!("{e}"))
}
