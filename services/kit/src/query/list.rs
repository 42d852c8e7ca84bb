//! Running a compiled list query and reading its rows: objects (with the
//! computed fields the query asked for) or groups.

use paymesh_proto::common::v1::ListQuery;
use serde_json::{Map, Value};
use sqlx::{Postgres, QueryBuilder, postgres::PgRow};

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
