//! Running a compiled list query and reading its rows: objects (with the
//! computed fields the query asked for) or groups.

use paymesh_proto::common::v1::ListQuery;
use serde_json::{Map, Value};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder, postgres::PgRow};
use uuid::Uuid;

use super::{
    compile::{Select, Shape, select_where},
    resource::Resource,
};
use crate::{Error, auth::Scope, config::ListLimits};

/// The result of a list: objects (with their computed fields) or groups.
#[derive(Debug)]
pub struct Listing<T> {
    /// Matching objects, in order.
    pub items: Vec<T>,
    /// Computed fields per object, when the query asked for any.
    pub computed: Vec<Map<String, Value>>,
    /// Aggregated rows, when the query grouped or aggregated.
    pub groups: Vec<Map<String, Value>>,
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Self { items: Vec::new(), computed: Vec::new(), groups: Vec::new() }
    }
}

/// The row `id` of `scope` in `resource`'s table (not a deleted one, where
/// the resource deletes softly), read through `conn` — and locked for the
/// rest of its transaction when `lock` — or `NotFound` naming `name`
/// ("Invoice"). Another partner's row, or the other mode's, is not found.
pub async fn one<T>(
    conn: &mut PgConnection,
    resource: &Resource,
    scope: Scope,
    (id, name): (Uuid, &'static str),
    lock: bool,
) -> Result<T, Error>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let deleted = if resource.soft_delete { " AND deleted_at IS NULL" } else { "" };
    let lock = if lock { " FOR UPDATE" } else { "" };
    // Only the resource's static whitelist and these words become SQL text.
    let sql = format!(
        "SELECT {} FROM {} WHERE id = $1 AND partner_id = $2 AND livemode = $3{deleted}{lock}",
        resource.select, resource.table
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(conn)
        .await?
        .ok_or(Error::NotFound { resource: name })
}

/// Runs a list query over `resource` and reads its rows with `read`;
/// `condition` adds the service's own constraint (see [`select_where`]).
/// `executor` is a pool, or a connection or transaction the caller set up
/// (e.g. with transaction-local settings the resource's columns read).
pub async fn list<'e, T>(
    executor: impl sqlx::Executor<'e, Database = Postgres>,
    resource: &Resource,
    scope: Scope,
    query: &ListQuery,
    limits: ListLimits,
    condition: impl FnOnce(&mut QueryBuilder<Postgres>),
    read: impl Fn(&PgRow) -> Result<T, Error>,
) -> Result<Listing<T>, Error> {
    let Select { mut builder, shape } = select_where(resource, scope, query, limits, condition)?;
    let rows = builder.build().fetch_all(executor).await?;
    let mut listing = Listing::default();
    match &shape {
        Shape::Objects { computed } => {
            for row in &rows {
                listing.items.push(read(row)?);
                if !computed.is_empty() {
                    listing.computed.push(shape.read_extras(row)?);
                }
            }
        }
        Shape::Groups { .. } => {
            for row in &rows {
                listing.groups.push(shape.read_extras(row)?);
            }
        }
    }
    Ok(listing)
}
