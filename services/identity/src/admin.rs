//! Operator actions that run against the database directly, for the
//! `paymesh partner …`, `paymesh document …` and `paymesh vault …`
//! commands: the operator
//! holds the database credentials, so no API key is needed (or exists yet).

use paymesh_kit::{
    auth::Principal,
    clock::Clock,
    config::CommonConfig,
    rewrap::{self, ColumnReport, SealedColumn},
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    domain::document::{Decision, DocumentStatus},
    service::{
        documents,
        keys::{self, CreatedPartner},
    },
    store::Store,
};

/// Creates a partner with one key of each kind (test and live, secret and
/// client) and its default processing account in each mode. The keys are
/// returned this once; only their hashes are kept.
pub async fn create_partner(
    common: &CommonConfig,
    pool: &PgPool,
    name: &str,
    email: &str,
) -> anyhow::Result<CreatedPartner> {
    let store = Store::new(pool.clone(), common.keyring.clone());
    keys::create_partner(&store, name, email, Clock::system().now()).await
}

/// The principal of `key`, if it is a working key.
pub async fn principal_for_key(
    common: &CommonConfig,
    pool: &PgPool,
    key: &str,
) -> anyhow::Result<Option<Principal>> {
    Ok(Store::new(pool.clone(), common.keyring.clone()).principal_for_key(key, Clock::system().now()).await?)
}

/// An operator's review of a pending identity document: verified, or
/// rejected with a reason. Answers the document's new status.
pub async fn review_document(
    common: &CommonConfig,
    pool: &PgPool,
    document: Uuid,
    rejection: Option<String>,
) -> anyhow::Result<DocumentStatus> {
    let store = Store::new(pool.clone(), common.keyring.clone());
    let scope =
        store.document_scope(document).await?.ok_or_else(|| anyhow::anyhow!("no document {document}"))?;
    let decision = match rejection {
        Some(reason) if !reason.trim().is_empty() => Decision::Reject(reason.trim().to_owned()),
        Some(_) => anyhow::bail!("a rejection needs a reason"),
        None => Decision::Verify,
    };
    let reviewed = documents::review_document(&store, scope, document, decision, Clock::system().now())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(reviewed.status)
}

/// Re-wraps the data key of every sealed value of identity — payout
/// account numbers, EINs, SSNs, document contents — under the active
/// key-encryption key; answers a report per sealed column.
pub async fn rotate_kek(common: &CommonConfig) -> anyhow::Result<Vec<(String, ColumnReport)>> {
    let pool = crate::open_database(common).await?;
    rewrap::rewrap_columns(&pool, &common.keyring, crate::SCHEMA, SEALED_COLUMNS).await
}

/// Identity's columns of sealed values (documents, up to a few MiB each,
/// a few at a time).
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn { table: "accounts", column: "payout_account_sealed", batch: 500 },
    SealedColumn { table: "legal_entities", column: "ein_sealed", batch: 500 },
    SealedColumn { table: "legal_entity_owners", column: "ssn_sealed", batch: 500 },
    SealedColumn { table: "documents", column: "content_sealed", batch: 10 },
];
