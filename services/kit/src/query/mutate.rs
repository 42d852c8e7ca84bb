//! Finding the objects an update or delete by query (`mode=query`) acts
//! on, and locking them.
//!
//! Two steps, so that a service can take its own locks in between, in the
//! order it always takes them: [`matching_ids`] reads which objects match
//! (refusing more than the caller may change at once, before anything
//! changes); [`lock_matching`] locks those objects and checks the filters
//! again under the lock, so an object changed meanwhile is left out rather
//! than changed against the query.

use paymesh_proto::common::v1::Filter;
use sqlx::{PgConnection, Postgres, QueryBuilder, postgres::PgRow};
use uuid::Uuid;

use super::{compile::push_filters, resource::Resource};
use crate::{Error, auth::Scope};

/// The ids of the objects of `scope` matching every filter, by id; more
/// than `max` is refused. At least one filter is required.
pub async fn matching_ids(
    conn: &mut PgConnection,
    resource: &Resource,
    scope: Scope,
    filters: &[Filter],
    max: u32,
) -> Result<Vec<Uuid>, Error> {
    let mut select = QueryBuilder::<Postgres>::new("SELECT id FROM ");
    select.push(resource.table);
    push_filters(&mut select, resource, scope, filters)?;
    select.push(" ORDER BY id LIMIT ").push_bind(i64::from(max) + 1);
    let ids: Vec<Uuid> = select.build_query_scalar().fetch_all(conn).await?;
    if ids.len() > max as usize {
        return Err(Error::invalid(
            "filters",
            format!("More than {max} {}s match; narrow the filters", resource.name.replace('_', " ")),
        ));
    }
    Ok(ids)
}

/// Locks the objects among `ids` that still match every filter, by id,
/// and reads them with `read` (rows of `resource.select`).
pub async fn lock_matching<T>(
    conn: &mut PgConnection,
    resource: &Resource,
    scope: Scope,
    filters: &[Filter],
    ids: &[Uuid],
    read: impl Fn(&PgRow) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let mut select = QueryBuilder::<Postgres>::new("SELECT ");
    select.push(resource.select).push(" FROM ").push(resource.table);
    push_filters(&mut select, resource, scope, filters)?;
    select.push(" AND id = ANY(").push_bind(ids).push(") ORDER BY id FOR UPDATE");
    select.build().fetch_all(conn).await?.iter().map(read).collect()
}
