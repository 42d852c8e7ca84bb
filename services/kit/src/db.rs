//! PostgreSQL: one pool per service, one schema per service.
//!
//! Services never share tables. Each connects with `search_path` set to its
//! own schema, so its SQL names tables without qualification, and keeps its
//! migration history in that schema (`<schema>._sqlx_migrations`). The kit's
//! own tables (the [`outbox`](crate::outbox)) are created in every service
//! schema by a second migrator with its own history table.

use std::str::FromStr as _;

use anyhow::Context as _;
use sqlx::{
    ConnectOptions as _, Connection as _, Executor as _, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::DatabaseConfig;

/// The kit's migrations, applied to every service schema.
static KIT_MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

fn check_identifier(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    anyhow::ensure!(ok, "{name:?} is not a plain lower-case SQL identifier");
    Ok(())
}

/// Creates the database named in `url` when the server does not have it yet
/// (a fresh machine, a fresh test). Without the right to create databases,
/// an existing database is still used; a missing one is reported.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(url).context("invalid database URL")?;
    let name = options.get_database().unwrap_or("postgres").to_owned();
    check_identifier(&name).context("unsupported database name")?;
    let mut admin = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .context("failed to connect to the database server")?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .context("failed to look up the database")?;
    if !exists {
        // The name is checked above to be a plain identifier.
        match admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Another process created it first.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e).context(format!("failed to create database {name}")),
        }
    }
    admin.close().await.ok();
    Ok(())
}

/// A pool whose connections work inside `schema`, each statement cancelled
/// by PostgreSQL after the configured statement timeout.
pub async fn connect(config: &DatabaseConfig, schema: &'static str) -> anyhow::Result<PgPool> {
    check_identifier(schema)?;
    let statement_timeout = config.statement_timeout.as_millis().to_string();
    let options = PgConnectOptions::from_str(config.url.expose())
        .context("invalid database URL")?
        .application_name(&format!("paymesh-{schema}"))
        .options([("search_path", schema), ("statement_timeout", statement_timeout.as_str())]);
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        .connect_with(options)
        .await
        .with_context(|| format!("failed to connect to the database for {schema}"))
}

/// Creates `schema` if needed and applies the kit's and the service's
/// pending migrations, each tracked in its own table inside the schema.
/// Concurrent start-ups are safe: sqlx holds an advisory lock while migrating.
pub async fn migrate(pool: &PgPool, schema: &'static str, service: &Migrator) -> anyhow::Result<()> {
    check_identifier(schema)?;
    // `schema` is checked above to be a plain identifier.
    match pool.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}"))).await {
        Ok(_) => {}
        // Two services racing to create the same schema.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => {}
        Err(e) => return Err(e).with_context(|| format!("failed to create schema {schema}")),
    }
    for (source, table) in [(&KIT_MIGRATIONS, "_paymesh_kit_migrations"), (service, "_sqlx_migrations")] {
        let mut migrator = Migrator::with_migrations(source.iter().cloned().collect());
        migrator.dangerous_set_table_name(format!("{schema}.{table}"));
        // Run on the pool (not a borrowed connection): the future stays
        // `Send`, so services can be spawned as tasks.
        migrator.run(pool).await.with_context(|| format!("failed to migrate schema {schema} ({table})"))?;
    }
    Ok(())
}

/// A service's pool, ready: the database created if missing, the pool
/// connected inside `schema`, the kit's and the service's migrations
/// applied.
pub async fn open(
    config: &DatabaseConfig,
    schema: &'static str,
    service: &Migrator,
) -> anyhow::Result<PgPool> {
    ensure_database(config.url.expose()).await?;
    let pool = connect(config, schema).await?;
    migrate(&pool, schema, service).await.with_context(|| format!("{schema} migrations"))?;
    Ok(pool)
}

/// Takes the transaction-scoped advisory lock named `key` (hashed), held
/// until the transaction ends: what serialises changes that no single row
/// lock covers.
pub async fn xact_lock(conn: &mut sqlx::PgConnection, key: &str) -> Result<(), crate::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))").bind(key).execute(conn).await?;
    Ok(())
}

/// Checks that an UPDATE of a row locked earlier in the transaction changed
/// exactly that row (anything else is a bug, reported as internal).
pub fn expect_one(
    result: &sqlx::postgres::PgQueryResult,
    what: &str,
    id: uuid::Uuid,
) -> Result<(), crate::Error> {
    if result.rows_affected() == 1 {
        Ok(())
    } else {
        Err(crate::Error::Internal(anyhow::anyhow!(
            "{what} {id} was locked but {} rows changed",
            result.rows_affected()
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{config::Secret, testing::TestDatabase};

    #[tokio::test]
    async fn pooled_connections_carry_the_statement_timeout_and_schema() {
        let db = TestDatabase::create().await.unwrap();
        let config = DatabaseConfig {
            url: Secret::new(db.url().to_owned()),
            max_connections: 1,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_millis(250),
        };
        let pool = connect(&config, "identity").await.unwrap();
        let (timeout, path): (String, String) =
            sqlx::query_as("SELECT current_setting('statement_timeout'), current_setting('search_path')")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((timeout.as_str(), path.as_str()), ("250ms", "identity"));
        // A statement past it is cancelled by the server (57014).
        let slow = sqlx::query("SELECT pg_sleep(2)").execute(&pool).await.unwrap_err();
        let code = slow.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
        assert_eq!(code.as_deref(), Some("57014"));
        pool.close().await;
    }

    #[test]
    fn only_plain_identifiers_become_sql() {
        for ok in ["identity", "paymesh_test_0a1b", "a1"] {
            assert!(check_identifier(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Identity", "a-b", "x;drop", "1abc", "a b", &"x".repeat(64)] {
            assert!(check_identifier(bad).is_err(), "{bad}");
        }
    }
}
