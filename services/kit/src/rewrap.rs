//! Key rotation for sealed columns: every value's data key re-wrapped
//! under the active key-encryption key, without downtime.
//!
//! The procedure (see the README): add the new KEK to `PAYMESH_KEKS` and
//! make it `PAYMESH_ACTIVE_KEK` on every process (new values are sealed
//! under it, old ones still open), run `paymesh vault rotate-kek`, then
//! drop the old KEK. The values themselves are never decrypted here: only
//! their data keys are unwrapped and wrapped again. Rows are taken in id
//! order, a batch at a time, and each is written back only if the row has
//! not changed since it was read (its `xmin`), so concurrent writers — whose
//! new values are sealed under the active KEK anyway — are never
//! overwritten; a row changed meanwhile is counted and left for the next
//! pass, and the report's `remaining` says whether one is needed.
//!
//! Writers keep their side of this: a service that writes back a sealed
//! value it read holds the row's lock (`FOR UPDATE`) from the read to the
//! write, so a rotation cannot slip in between and be undone.

use std::collections::BTreeMap;

use anyhow::Context as _;
use sqlx::PgPool;
use uuid::Uuid;

use crate::crypto::Keyring;

/// A column of sealed values: `table.column`, keyed by `id`. Both names
/// are compiled-in constants of the service that owns the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedColumn {
    /// The table, in the pool's schema.
    pub table: &'static str,
    /// The `bytea` column holding sealed values.
    pub column: &'static str,
    /// Rows per batch: fewer for large values (documents).
    pub batch: i64,
}

/// What a rotation did to one column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnReport {
    /// Values moved to the active KEK.
    pub rewrapped: u64,
    /// Values already under it.
    pub current: u64,
    /// Rows changed by someone else between the read and the write, left
    /// for the next pass (counted in `remaining` if still under an old KEK).
    pub raced: u64,
    /// After the pass: values per KEK id other than the active one (empty
    /// when the rotation is complete).
    pub remaining: BTreeMap<String, u64>,
}

/// Re-wraps every value of `column` under the active KEK of `keyring`, a
/// batch of rows at a time.
pub async fn rewrap_column(
    pool: &PgPool,
    keyring: &Keyring,
    column: SealedColumn,
) -> anyhow::Result<ColumnReport> {
    check(column)?;
    let SealedColumn { table, column: name, batch } = column;
    let mut report = ColumnReport::default();
    let mut after = Uuid::nil();
    loop {
        // `table` and `name` are checked identifiers (see `check`).
        let rows: Vec<(Uuid, Vec<u8>, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, {name}, xmin::text FROM {table} WHERE {name} IS NOT NULL AND id > $1 ORDER BY id LIMIT $2"
        )))
        .bind(after)
        .bind(batch)
        .fetch_all(pool)
        .await
        .with_context(|| format!("cannot read {table}.{name}"))?;
        let Some((last, _, _)) = rows.last() else { break };
        after = *last;
        for (id, sealed, version) in rows {
            let Some(rewrapped) =
                keyring.rewrap(&sealed).with_context(|| format!("cannot re-wrap {table}.{name} of {id}"))?
            else {
                report.current += 1;
                continue;
            };
            let written = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET {name} = $2 WHERE id = $1 AND xmin::text = $3"
            )))
            .bind(id)
            .bind(&rewrapped)
            .bind(&version)
            .execute(pool)
            .await
            .with_context(|| format!("cannot write {table}.{name} of {id}"))?;
            if written.rows_affected() == 1 {
                report.rewrapped += 1;
            } else {
                report.raced += 1;
            }
        }
    }
    report.remaining = key_ids(pool, column).await?;
    report.remaining.remove(keyring.active().as_str());
    Ok(report)
}

/// Re-wraps every column of `columns` (of `schema`), one after the other;
/// answers a report per column, named `schema.table.column`.
pub async fn rewrap_columns(
    pool: &PgPool,
    keyring: &Keyring,
    schema: &str,
    columns: &[SealedColumn],
) -> anyhow::Result<Vec<(String, ColumnReport)>> {
    let mut reports = Vec::with_capacity(columns.len());
    for column in columns {
        let report = rewrap_column(pool, keyring, *column).await?;
        reports.push((format!("{schema}.{}.{}", column.table, column.column), report));
    }
    Ok(reports)
}

/// How many values of `column` are sealed under each KEK id.
pub async fn key_ids(pool: &PgPool, column: SealedColumn) -> anyhow::Result<BTreeMap<String, u64>> {
    check(column)?;
    let SealedColumn { table, column: name, .. } = column;
    // The format (see `crypto`): a version byte, the id's length, the id.
    let rows: Vec<(Option<String>, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT convert_from(substring({name} FROM 3 FOR get_byte({name}, 1)), 'UTF8'), count(*) \
         FROM {table} WHERE {name} IS NOT NULL GROUP BY 1"
    )))
    .fetch_all(pool)
    .await
    .with_context(|| format!("cannot count the keys of {table}.{name}"))?;
    Ok(rows.into_iter().map(|(id, n)| (id.unwrap_or_default(), u64::try_from(n).unwrap_or(0))).collect())
}

fn check(column: SealedColumn) -> anyhow::Result<()> {
    for name in [column.table, column.column] {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
        {
            anyhow::bail!("{name:?} is not a plain identifier");
        }
    }
    Ok(())
}
