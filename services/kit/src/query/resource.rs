//! What a resource lets callers query: the whitelist.

/// The type of an attribute, which decides how caller values are parsed and
/// which operators and functions apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// Free text (`text`).
    Text,
    /// One of a fixed set of lower-case words (`text` with a check).
    Enum(&'static [&'static str]),
    /// An object id (`uuid`).
    Id,
    /// An exact decimal number (`numeric`), e.g. an amount.
    Decimal,
    /// A whole number (`bigint`).
    Integer,
    /// `true` or `false`.
    Bool,
    /// A moment in time (`timestamptz`), shown in UTC.
    Timestamp,
    /// A calendar date (`date`).
    Date,
}

/// One queryable attribute.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// The attribute's path as callers write it, segments joined by dots:
    /// `email`, or `processing.status` for `processing[status]`.
    pub name: &'static str,
    /// The SQL column (or expression) it maps to. Written by us, never by
    /// callers.
    pub sql: &'static str,
    /// How values are parsed and compared.
    pub ty: ColumnType,
}

/// A table callers may list, with its whitelist of attributes.
#[derive(Clone, Copy, Debug)]
pub struct Resource {
    /// The object name used in messages, e.g. "account".
    pub name: &'static str,
    /// The table, in the service's schema.
    pub table: &'static str,
    /// The columns a plain list selects, as the service's row type wants
    /// them (e.g. `"id, name, email"`).
    pub select: &'static str,
    /// The queryable attributes. Must include `id` and `created_at`, which
    /// give the default order.
    pub columns: &'static [Column],
    /// The `jsonb` column of custom attributes, addressable as
    /// `attrs[key][subkey]` (compared as text).
    pub attrs_column: Option<&'static str>,
    /// Whether deleted rows stay in the table with `deleted_at` set (and are
    /// never returned).
    pub soft_delete: bool,
    /// Whether rows without a partner (`partner_id IS NULL`) are shared
    /// with every partner in both modes: listed and read by all, changed by
    /// none (a curated directory, such as billers).
    pub shared_rows: bool,
}

impl Resource {
    /// The column callers name `path` (segments joined by dots), if any.
    pub fn column(&self, dotted: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == dotted)
    }
}
