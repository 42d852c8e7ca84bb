//! From a checked plan to SQL.
//!
//! Compilation has two phases. *Planning* resolves every attribute against
//! the whitelist, parses every value by its type and checks every operator,
//! function and bound, collecting all problems; a query with any problem is
//! rejected as a whole. *Emitting* then writes SQL from the plan: static
//! text from the whitelist and this file, values as bind parameters.

use paymesh_proto::common::v1::{
    AggregateFunction, Condition, FieldRef, Filter, ListQuery, Operator, ScalarFunction,
};
use sqlx::{Postgres, QueryBuilder, postgres::PgRow};

use super::{
    names::{aggregate_function_name, display_aggregate, display_field, scalar_function_name},
    resource::{Column, ColumnType, Resource},
    value::{Bind, like_pattern, read},
};
use crate::{
    auth::Scope,
    config::ListLimits,
    error::{Error, Violation},
};

/// A compiled list query, ready to run.
pub struct Select {
    /// The statement with its bind parameters.
    pub builder: QueryBuilder<Postgres>,
    /// What its rows hold.
    pub shape: Shape,
}

impl std::fmt::Debug for Select {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Select")
            .field("sql", &self.builder.sql().as_str())
            .field("shape", &self.shape)
            .finish()
    }
}

/// What the rows of a [`Select`] hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// Objects: the resource's select list, then the computed fields.
    Objects {
        /// Computed fields (`lower(email)`), in the order asked.
        computed: Vec<Output>,
    },
    /// One row per group: the group_by fields, then the aggregates.
    Groups {
        /// Every column of the row.
        columns: Vec<Output>,
    },
}

/// One computed column of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Its query-language spelling, the key callers see (`sum(amount)`).
    pub key: String,
    /// How to read it.
    pub ty: ColumnType,
}

impl Shape {
    /// The computed columns of an object row, or the whole row of a group,
    /// as a JSON object keyed by query spelling.
    pub fn read_extras(
        &self,
        row: &PgRow,
    ) -> Result<serde_json::Map<String, serde_json::Value>, sqlx::Error> {
        let outputs = match self {
            Self::Objects { computed } => computed,
            Self::Groups { columns } => columns,
        };
        outputs
            .iter()
            .enumerate()
            .map(|(i, out)| Ok((out.key.clone(), read(row, &alias(i), out.ty)?)))
            .collect()
    }
}

/// The alias of output column `i`; never a resource column name.
fn alias(i: usize) -> String {
    format!("__c{i}")
}

/// Compiles a list query over `resource` for the caller's `scope`.
pub fn select(
    resource: &Resource,
    scope: Scope,
    query: &ListQuery,
    limits: ListLimits,
) -> Result<Select, Error> {
    select_where(resource, scope, query, limits, |_| {})
}

/// Like [`select`], with a condition of the service's own appended to the
/// WHERE clause: `condition` pushes ` AND (…)` with its values bound. It is
/// service code, never caller text (e.g. "recipients this payer may see").
pub fn select_where(
    resource: &Resource,
    scope: Scope,
    query: &ListQuery,
    limits: ListLimits,
    condition: impl FnOnce(&mut QueryBuilder<Postgres>),
) -> Result<Select, Error> {
    let plan = Plan::new(resource, query, limits)?;
    Ok(plan.emit(resource, scope, condition))
}

/// Appends ` WHERE <scope> AND <filters>` for an update or delete by query.
/// At least one filter is required, so that a forgotten filter cannot reach
/// every object of the partner.
pub fn push_filters(
    builder: &mut QueryBuilder<Postgres>,
    resource: &Resource,
    scope: Scope,
    filters: &[Filter],
) -> Result<(), Error> {
    let mut violations = Vec::new();
    if filters.is_empty() {
        violations
            .push(Violation::new("filters", "At least one filter is required to update or delete by query"));
    }
    let planned = plan_filters(resource, filters, &mut violations);
    if !violations.is_empty() {
        return Err(Error::InvalidAttributes(violations));
    }
    // Shared rows are never changed through a partner's query.
    push_where(builder, resource, scope, false, &planned);
    Ok(())
}

// === Planning ===

/// What an attribute reference points at.
#[derive(Debug, Clone)]
enum Target {
    Column(&'static Column),
    /// A key path inside the custom-attributes column; the path is bound.
    Attr {
        column: &'static str,
        path: Vec<String>,
    },
}

/// A resolved attribute, possibly through a function.
#[derive(Debug, Clone)]
struct Expr {
    target: Target,
    /// The attribute's own type.
    base: ColumnType,
    function: ScalarFunction,
    /// The type after the function.
    ty: ColumnType,
    display: String,
}

#[derive(Debug)]
struct PlannedFilter {
    expr: Expr,
    conditions: Vec<(Operator, Bind)>,
}

#[derive(Debug)]
struct PlannedAggregate {
    function: AggregateFunction,
    expr: Expr,
    ty: ColumnType,
    display: String,
}

#[derive(Debug)]
struct Plan {
    filters: Vec<PlannedFilter>,
    /// Non-empty (or aggregates non-empty) means a grouped query.
    group_by: Vec<Expr>,
    aggregates: Vec<PlannedAggregate>,
    computed: Vec<Expr>,
    /// In a grouped query, indexes into `group_by`.
    order_by: Vec<(Expr, bool)>,
    limit: u32,
    offset: u32,
}

impl Plan {
    fn new(resource: &Resource, query: &ListQuery, limits: ListLimits) -> Result<Self, Error> {
        let ListQuery { filters, order_by, limit, offset, fields, group_by, aggregates } = query;
        let mut violations = Vec::new();

        let filters = plan_filters(resource, filters, &mut violations);

        let limit = match *limit {
            0 => limits.default_limit,
            n if n > limits.max_limit => {
                violations.push(Violation::new("limit", format!("Must be at most {}", limits.max_limit)));
                limits.max_limit
            }
            n => n,
        };

        let group_by: Vec<Expr> =
            group_by.iter().filter_map(|f| collect(resolve(resource, f), &mut violations)).collect();
        let aggregates: Vec<PlannedAggregate> = aggregates
            .iter()
            .filter_map(|a| {
                let field = a.field.clone().unwrap_or_default();
                collect(plan_aggregate(resource, a.function, &field), &mut violations)
            })
            .collect();
        let grouped = !group_by.is_empty() || !aggregates.is_empty();
        let in_group_by = |display: &str| group_by.iter().any(|g| g.display == display);

        let mut computed = Vec::new();
        for field in fields {
            if is_star(field) {
                if grouped {
                    violations
                        .push(Violation::new("fields", "* cannot be combined with group_by or aggregates"));
                }
                continue;
            }
            let Some(expr) = collect(resolve(resource, field), &mut violations) else { continue };
            if grouped {
                if !in_group_by(&expr.display) {
                    violations.push(Violation::new(
                        expr.display,
                        "Must be listed in group_by to be selected with aggregates",
                    ));
                }
            } else if expr.function != ScalarFunction::Unspecified {
                computed.push(expr);
            }
        }

        let mut ordering = Vec::new();
        for term in order_by {
            let field = term.field.clone().unwrap_or_default();
            let Some(expr) = collect(resolve(resource, &field), &mut violations) else { continue };
            if grouped && !in_group_by(&expr.display) {
                violations.push(Violation::new(
                    expr.display,
                    "Must be listed in group_by to order grouped results",
                ));
                continue;
            }
            ordering.push((expr, term.descending));
        }

        if !violations.is_empty() {
            return Err(Error::InvalidAttributes(violations));
        }
        Ok(Self { filters, group_by, aggregates, computed, order_by: ordering, limit, offset: *offset })
    }

    fn emit(
        self,
        resource: &Resource,
        scope: Scope,
        condition: impl FnOnce(&mut QueryBuilder<Postgres>),
    ) -> Select {
        let mut b = QueryBuilder::<Postgres>::new("SELECT ");
        let grouped = !self.group_by.is_empty() || !self.aggregates.is_empty();
        let shape = if grouped {
            let mut columns: Vec<Output> = Vec::new();
            for expr in &self.group_by {
                if !columns.is_empty() {
                    b.push(", ");
                }
                push_output(&mut b, columns.len(), expr.ty, |b| push_expr(b, expr));
                columns.push(Output { key: expr.display.clone(), ty: expr.ty });
            }
            for agg in &self.aggregates {
                if !columns.is_empty() {
                    b.push(", ");
                }
                push_output(&mut b, columns.len(), agg.ty, |b| push_aggregate(b, agg));
                columns.push(Output { key: agg.display.clone(), ty: agg.ty });
            }
            Shape::Groups { columns }
        } else {
            b.push(resource.select);
            let mut computed = Vec::new();
            for expr in &self.computed {
                b.push(", ");
                push_output(&mut b, computed.len(), expr.ty, |b| push_expr(b, expr));
                computed.push(Output { key: expr.display.clone(), ty: expr.ty });
            }
            Shape::Objects { computed }
        };

        b.push(" FROM ").push(resource.table);
        push_where(&mut b, resource, scope, resource.shared_rows, &self.filters);
        condition(&mut b);

        if grouped {
            if !self.group_by.is_empty() {
                b.push(" GROUP BY ");
                // By ordinal: the same expression written twice would carry
                // different parameter numbers and not match.
                push_list(&mut b, 0..self.group_by.len(), |b, i| {
                    b.push((i + 1).to_string());
                });
                b.push(" ORDER BY ");
                let terms: Vec<(usize, bool)> = if self.order_by.is_empty() {
                    (0..self.group_by.len()).map(|i| (i, false)).collect()
                } else {
                    self.order_by
                        .iter()
                        .filter_map(|(expr, desc)| {
                            self.group_by.iter().position(|g| g.display == expr.display).map(|i| (i, *desc))
                        })
                        .collect()
                };
                push_list(&mut b, terms, |b, (i, desc)| {
                    b.push((i + 1).to_string()).push(if desc { " DESC" } else { " ASC" });
                });
            }
        } else {
            b.push(" ORDER BY ");
            if self.order_by.is_empty() {
                let created = resource.column("created_at").map_or("created_at", |c| c.sql);
                b.push(created).push(" DESC, ").push(id_sql(resource)).push(" DESC");
            } else {
                push_list(&mut b, &self.order_by, |b, (expr, desc)| {
                    push_expr(b, expr);
                    b.push(if *desc { " DESC" } else { " ASC" });
                });
                // The id breaks ties, so pages never overlap or skip.
                b.push(", ").push(id_sql(resource)).push(" ASC");
            }
        }

        b.push(" LIMIT ").push_bind(i64::from(self.limit));
        b.push(" OFFSET ").push_bind(i64::from(self.offset));
        Select { builder: b, shape }
    }
}

fn id_sql(resource: &Resource) -> &'static str {
    resource.column("id").map_or("id", |c| c.sql)
}

fn is_star(field: &FieldRef) -> bool {
    field.path.len() == 1 && field.path[0] == "*" && field.function == ScalarFunction::Unspecified as i32
}

fn collect<T>(result: Result<T, Violation>, violations: &mut Vec<Violation>) -> Option<T> {
    result.map_err(|v| violations.push(v)).ok()
}

fn plan_filters(
    resource: &Resource,
    filters: &[Filter],
    violations: &mut Vec<Violation>,
) -> Vec<PlannedFilter> {
    filters
        .iter()
        .filter_map(|filter| {
            let field = filter.field.clone().unwrap_or_default();
            let expr = collect(resolve(resource, &field), violations)?;
            if filter.any_of.is_empty() {
                violations.push(Violation::new(expr.display, "A condition is required"));
                return None;
            }
            let mut conditions = Vec::with_capacity(filter.any_of.len());
            for Condition { operator, value } in &filter.any_of {
                match plan_condition(&expr, *operator, value) {
                    Ok(c) => conditions.push(c),
                    Err(why) => violations.push(Violation::new(expr.display.clone(), why)),
                }
            }
            (conditions.len() == filter.any_of.len()).then_some(PlannedFilter { expr, conditions })
        })
        .collect()
}

fn plan_condition(expr: &Expr, operator: i32, value: &str) -> Result<(Operator, Bind), String> {
    let operator = Operator::try_from(operator)
        .ok()
        .filter(|op| *op != Operator::Unspecified)
        .ok_or_else(|| "Unknown operator".to_owned())?;
    match operator {
        Operator::Like => match expr.ty {
            ColumnType::Text | ColumnType::Enum(_) => {
                Bind::parse(ColumnType::Text, value).map(|_| (operator, Bind::Text(like_pattern(value))))
            }
            _ => Err("The like operator (?*) applies to text attributes only".to_owned()),
        },
        Operator::LessThan
        | Operator::LessThanOrEqual
        | Operator::GreaterThan
        | Operator::GreaterThanOrEqual
            if expr.ty == ColumnType::Bool =>
        {
            Err("Only = and ! apply to true/false attributes".to_owned())
        }
        _ => Bind::parse(expr.ty, value).map(|bind| (operator, bind)),
    }
}

/// Resolves a field against the whitelist.
fn resolve(resource: &Resource, field: &FieldRef) -> Result<Expr, Violation> {
    let display = display_field(field);
    let unknown = || Violation::new(display.clone(), "Unknown attribute");
    let Some(first) = field.path.first() else {
        return Err(Violation::new("fields", "An attribute name is required"));
    };
    if field.path.iter().any(|s| s.is_empty() || s.len() > 64) {
        return Err(unknown());
    }
    let (target, base) = match resource.attrs_column {
        Some(column) if first == "attrs" => {
            if field.path.len() == 1 {
                return Err(Violation::new(display, "Name a custom attribute, e.g. attrs[plan]"));
            }
            (Target::Attr { column, path: field.path[1..].to_vec() }, ColumnType::Text)
        }
        _ => {
            let column = resource.column(&field.path.join(".")).ok_or_else(unknown)?;
            (Target::Column(column), column.ty)
        }
    };
    let function = ScalarFunction::try_from(field.function)
        .map_err(|_| Violation::new(display.clone(), "Unknown function"))?;
    let ty = scalar_signature(function, base).ok_or_else(|| {
        Violation::new(
            display.clone(),
            format!("{}() does not apply to this attribute", scalar_function_name(function)),
        )
    })?;
    Ok(Expr { target, base, function, ty, display })
}

fn plan_aggregate(
    resource: &Resource,
    function: i32,
    field: &FieldRef,
) -> Result<PlannedAggregate, Violation> {
    let expr = resolve(resource, field)?;
    let function = AggregateFunction::try_from(function)
        .ok()
        .filter(|f| *f != AggregateFunction::Unspecified)
        .ok_or_else(|| Violation::new(expr.display.clone(), "Unknown aggregate function"))?;
    let display = display_aggregate(function, field);
    let ty = aggregate_signature(function, expr.ty).ok_or_else(|| {
        Violation::new(
            display.clone(),
            format!("{}() does not apply to this attribute", aggregate_function_name(function)),
        )
    })?;
    Ok(PlannedAggregate { function, expr, ty, display })
}

/// The result type of `function` applied to `arg`, if it applies.
fn scalar_signature(function: ScalarFunction, arg: ColumnType) -> Option<ColumnType> {
    use ColumnType as T;
    use ScalarFunction as F;
    let text = matches!(arg, T::Text | T::Enum(_));
    let number = matches!(arg, T::Decimal | T::Integer);
    let time = matches!(arg, T::Timestamp | T::Date);
    match function {
        F::Unspecified => Some(arg),
        F::Lower | F::Upper if text => Some(T::Text),
        F::Length if text => Some(T::Integer),
        F::Abs | F::Ceil | F::Floor | F::Round if number => Some(arg),
        F::Year | F::Month | F::Day | F::Dayofweek | F::Dayofyear | F::Weekofyear | F::UnixTimestamp
            if time =>
        {
            Some(T::Integer)
        }
        F::Monthname | F::Dayname if time => Some(T::Text),
        F::LastDay | F::Date if time => Some(T::Date),
        F::Hour | F::Minute | F::Second if arg == T::Timestamp => Some(T::Integer),
        _ => None,
    }
}

/// The result type of aggregate `function` over `arg`, if it applies.
fn aggregate_signature(function: AggregateFunction, arg: ColumnType) -> Option<ColumnType> {
    use AggregateFunction as A;
    use ColumnType as T;
    match function {
        A::Unspecified => None,
        A::Count | A::CountDistinct => Some(T::Integer),
        A::Sum | A::Avg | A::Variance | A::Stddev => {
            matches!(arg, T::Decimal | T::Integer).then_some(T::Decimal)
        }
        A::Min | A::Max => (!matches!(arg, T::Bool | T::Id)).then_some(arg),
    }
}

// === Emitting ===

fn push_list<I, T>(
    b: &mut QueryBuilder<Postgres>,
    items: I,
    mut each: impl FnMut(&mut QueryBuilder<Postgres>, T),
) where
    I: IntoIterator<Item = T>,
{
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        each(b, item);
    }
}

fn push_where(
    b: &mut QueryBuilder<Postgres>,
    resource: &Resource,
    scope: Scope,
    shared: bool,
    filters: &[PlannedFilter],
) {
    b.push(" WHERE ((partner_id = ").push_bind(scope.partner_id);
    b.push(" AND livemode = ").push_bind(scope.livemode);
    b.push(if shared { ") OR partner_id IS NULL)" } else { "))" });
    if resource.soft_delete {
        b.push(" AND deleted_at IS NULL");
    }
    for filter in filters {
        b.push(" AND (");
        for (i, (operator, bind)) in filter.conditions.iter().enumerate() {
            if i > 0 {
                b.push(" OR ");
            }
            push_expr(b, &filter.expr);
            b.push(match operator {
                Operator::Equal | Operator::Unspecified => " = ",
                Operator::NotEqual => " IS DISTINCT FROM ",
                Operator::LessThan => " < ",
                Operator::LessThanOrEqual => " <= ",
                Operator::GreaterThan => " > ",
                Operator::GreaterThanOrEqual => " >= ",
                Operator::Like => " ILIKE ",
            });
            bind.clone().push(b);
            if *operator == Operator::Like {
                b.push(" ESCAPE '\\'");
            }
        }
        b.push(")");
    }
}

/// `expr AS __cN`, cast so the column decodes as `ty`.
fn push_output(
    b: &mut QueryBuilder<Postgres>,
    index: usize,
    ty: ColumnType,
    expr: impl FnOnce(&mut QueryBuilder<Postgres>),
) {
    b.push("(");
    expr(b);
    b.push(match ty {
        ColumnType::Integer => ")::bigint",
        ColumnType::Decimal => ")::numeric",
        ColumnType::Text | ColumnType::Enum(_) => ")::text",
        ColumnType::Id | ColumnType::Bool | ColumnType::Timestamp | ColumnType::Date => ")",
    });
    b.push(" AS ").push(alias(index));
}

fn push_target(b: &mut QueryBuilder<Postgres>, target: &Target, in_utc: bool) {
    match target {
        Target::Column(column) if in_utc => {
            b.push("(").push(column.sql).push(" AT TIME ZONE 'UTC')");
        }
        Target::Column(column) => {
            b.push(column.sql);
        }
        Target::Attr { column, path } => {
            b.push("(").push(*column).push(" #>> ").push_bind(path.clone()).push("::text[])");
        }
    }
}

fn push_expr(b: &mut QueryBuilder<Postgres>, expr: &Expr) {
    use ScalarFunction as F;
    let (prefix, suffix) = match expr.function {
        F::Unspecified => ("", ""),
        F::Lower => ("lower(", ")"),
        F::Upper => ("upper(", ")"),
        F::Length => ("char_length(", ")"),
        F::Abs => ("abs(", ")"),
        F::Ceil => ("ceil(", ")"),
        F::Floor => ("floor(", ")"),
        F::Round => ("round(", ")"),
        F::Year => ("EXTRACT(YEAR FROM ", ")"),
        F::Month => ("EXTRACT(MONTH FROM ", ")"),
        F::Monthname => ("to_char(", ", 'FMMonth')"),
        F::Day => ("EXTRACT(DAY FROM ", ")"),
        F::Dayname => ("to_char(", ", 'FMDay')"),
        // 1 = Sunday … 7 = Saturday.
        F::Dayofweek => ("(EXTRACT(DOW FROM ", ") + 1)"),
        F::Dayofyear => ("EXTRACT(DOY FROM ", ")"),
        F::Weekofyear => ("EXTRACT(WEEK FROM ", ")"),
        F::LastDay => ("(date_trunc('month', ", ") + interval '1 month - 1 day')::date"),
        F::Hour => ("EXTRACT(HOUR FROM ", ")"),
        F::Minute => ("EXTRACT(MINUTE FROM ", ")"),
        F::Second => ("floor(EXTRACT(SECOND FROM ", "))"),
        F::UnixTimestamp => ("floor(EXTRACT(EPOCH FROM ", "))"),
        F::Date => ("(", ")::date"),
    };
    // Calendar fields of a timestamp are taken in UTC; the epoch is absolute.
    let in_utc =
        expr.base == ColumnType::Timestamp && !matches!(expr.function, F::Unspecified | F::UnixTimestamp);
    // Calendar parts and lengths come back as various integer types.
    let cast = expr.ty == ColumnType::Integer && expr.function != F::Unspecified;
    if cast {
        b.push("(");
    }
    b.push(prefix);
    push_target(b, &expr.target, in_utc);
    b.push(suffix);
    if cast {
        b.push(")::bigint");
    }
}

fn push_aggregate(b: &mut QueryBuilder<Postgres>, agg: &PlannedAggregate) {
    use AggregateFunction as A;
    let (prefix, suffix) = match agg.function {
        A::Sum => ("sum(", ")"),
        A::Count | A::Unspecified => ("count(", ")"),
        A::CountDistinct => ("count(DISTINCT ", ")"),
        // Means and spreads of money are shown to six decimal places.
        A::Avg => ("round(avg(", ")::numeric, 6)"),
        A::Variance => ("round(var_samp(", ")::numeric, 6)"),
        A::Stddev => ("round(stddev_samp(", ")::numeric, 6)"),
        A::Min => ("min(", ")"),
        A::Max => ("max(", ")"),
    };
    b.push(prefix);
    push_expr(b, &agg.expr);
    b.push(suffix);
}

#[cfg(test)]
mod tests {
    use paymesh_proto::common::v1::{Aggregate, OrderBy};
    use uuid::Uuid;

    use super::*;

    const STATUSES: &[&str] = &["authorized", "processed", "declined"];

    static RESOURCE: Resource = Resource {
        name: "transaction",
        table: "transactions",
        select: "id, amount, status",
        columns: &[
            Column { name: "id", sql: "id", ty: ColumnType::Id },
            Column { name: "amount", sql: "amount", ty: ColumnType::Decimal },
            Column { name: "status", sql: "status", ty: ColumnType::Enum(STATUSES) },
            Column { name: "description", sql: "description", ty: ColumnType::Text },
            Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
            Column { name: "captured", sql: "captured", ty: ColumnType::Bool },
            Column { name: "processing.status", sql: "processing_status", ty: ColumnType::Text },
        ],
        attrs_column: Some("attrs"),
        soft_delete: true,
        shared_rows: false,
    };

    fn scope() -> Scope {
        Scope { partner_id: Uuid::nil(), livemode: false }
    }

    fn field(path: &[&str]) -> FieldRef {
        FieldRef { path: path.iter().map(|s| (*s).to_owned()).collect(), function: 0 }
    }

    fn func(f: ScalarFunction, path: &[&str]) -> FieldRef {
        FieldRef { function: f as i32, ..field(path) }
    }

    fn filter(path: &[&str], conditions: &[(Operator, &str)]) -> Filter {
        filter_on(field(path), conditions)
    }

    fn filter_on(field: FieldRef, conditions: &[(Operator, &str)]) -> Filter {
        Filter {
            field: Some(field),
            any_of: conditions
                .iter()
                .map(|(op, v)| Condition { operator: *op as i32, value: (*v).to_owned() })
                .collect(),
        }
    }

    fn sql(query: &ListQuery) -> String {
        select(&RESOURCE, scope(), query, ListLimits::default()).unwrap().builder.sql().as_str().to_owned()
    }

    fn violations(query: &ListQuery) -> Vec<(String, String)> {
        match select(&RESOURCE, scope(), query, ListLimits::default()) {
            Err(Error::InvalidAttributes(v)) => v.into_iter().map(|v| (v.field, v.description)).collect(),
            other => panic!("expected invalid attributes, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_query_is_scoped_ordered_and_paged() {
        assert_eq!(
            sql(&ListQuery::default()),
            "SELECT id, amount, status FROM transactions WHERE ((partner_id = $1 AND livemode = $2)) \
             AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
    }

    #[test]
    fn shared_rows_are_read_by_everyone_and_changed_by_no_one() {
        let shared = Resource { shared_rows: true, ..RESOURCE };
        let compiled = select(&shared, scope(), &ListQuery::default(), ListLimits::default()).unwrap();
        assert!(
            compiled
                .builder
                .sql()
                .as_str()
                .contains("WHERE ((partner_id = $1 AND livemode = $2) OR partner_id IS NULL) AND"),
            "{compiled:?}"
        );
        let mut b = QueryBuilder::<Postgres>::new("DELETE FROM transactions");
        push_filters(&mut b, &shared, scope(), &[filter(&["status"], &[(Operator::Equal, "processed")])])
            .unwrap();
        assert!(!b.sql().as_str().contains("IS NULL)"), "{}", b.sql().as_str());
        let extra = select_where(&RESOURCE, scope(), &ListQuery::default(), ListLimits::default(), |b| {
            b.push(" AND (status = ").push_bind("processed").push(")");
        })
        .unwrap();
        assert!(extra.builder.sql().as_str().contains("IS NULL AND (status = $3) ORDER BY"), "{extra:?}");
    }

    #[test]
    fn filters_become_bound_comparisons() {
        let query = ListQuery {
            filters: vec![
                filter(&["amount"], &[(Operator::GreaterThan, "100")]),
                filter(&["amount"], &[(Operator::LessThan, "200")]),
                filter(&["status"], &[(Operator::Equal, "processed"), (Operator::Equal, "authorized")]),
                filter(&["description"], &[(Operator::Like, "*INV -*")]),
                filter(&["description"], &[(Operator::NotEqual, "void")]),
                filter(&["processing", "status"], &[(Operator::Equal, "active")]),
            ],
            ..ListQuery::default()
        };
        let sql = sql(&query);
        assert!(
            sql.contains(
                "AND (amount > $3) AND (amount < $4) AND (status = $5 OR status = $6) \
             AND (description ILIKE $7 ESCAPE '\\') AND (description IS DISTINCT FROM $8) \
             AND (processing_status = $9)"
            ),
            "{sql}"
        );
    }

    #[test]
    fn custom_attributes_bind_their_key_path() {
        let query = ListQuery {
            filters: vec![filter(&["attrs", "plan"], &[(Operator::Equal, "gold")])],
            ..ListQuery::default()
        };
        assert!(sql(&query).contains("AND ((attrs #>> $3::text[]) = $4)"), "{}", sql(&query));
    }

    #[test]
    fn hostile_values_never_become_sql_text() {
        let hostile = "x'); DROP TABLE transactions; --";
        let query = ListQuery {
            filters: vec![
                filter(&["description"], &[(Operator::Equal, hostile)]),
                filter(&["attrs", hostile], &[(Operator::Like, hostile)]),
            ],
            ..ListQuery::default()
        };
        let sql = sql(&query);
        assert!(!sql.contains("DROP"), "{sql}");
        assert!(!sql.contains(';'), "{sql}");
        assert!(sql.contains("(description = $3)"), "{sql}");
    }

    #[test]
    fn unknown_attributes_functions_and_operators_are_refused() {
        let query = ListQuery {
            filters: vec![
                filter(&["secret_key"], &[(Operator::Equal, "x")]),
                filter(&["amount;drop table x"], &[(Operator::Equal, "1")]),
                filter_on(FieldRef { function: 999, ..field(&["amount"]) }, &[(Operator::Equal, "1")]),
                Filter {
                    field: Some(field(&["description"])),
                    any_of: vec![Condition { operator: 42, value: "x".to_owned() }],
                },
                Filter {
                    field: Some(field(&["description"])),
                    any_of: vec![Condition { operator: 0, value: "x".to_owned() }],
                },
            ],
            ..ListQuery::default()
        };
        assert_eq!(
            violations(&query),
            [
                ("secret_key".to_owned(), "Unknown attribute".to_owned()),
                ("amount;drop table x".to_owned(), "Unknown attribute".to_owned()),
                ("function#999(amount)".to_owned(), "Unknown function".to_owned()),
                ("description".to_owned(), "Unknown operator".to_owned()),
                ("description".to_owned(), "Unknown operator".to_owned()),
            ]
        );
    }

    #[test]
    fn values_are_checked_against_the_attribute_type() {
        let query = ListQuery {
            filters: vec![
                filter(&["amount"], &[(Operator::Equal, "'; select 1")]),
                filter(&["status"], &[(Operator::Equal, "stolen")]),
                filter(&["captured"], &[(Operator::GreaterThan, "true")]),
                filter(&["amount"], &[(Operator::Like, "*1*")]),
                filter(&["id"], &[(Operator::Equal, "not-an-id")]),
            ],
            ..ListQuery::default()
        };
        let found = violations(&query);
        assert_eq!(found.len(), 5, "{found:?}");
        assert_eq!(found[0].1, "Must be a valid number");
        assert!(found[1].1.starts_with("Must be one of: authorized"));
        assert_eq!(found[2].1, "Only = and ! apply to true/false attributes");
        assert_eq!(found[3].1, "The like operator (?*) applies to text attributes only");
        assert_eq!(found[4].1, "Must be a valid id");
    }

    #[test]
    fn limits_default_and_cap() {
        let limits = ListLimits { default_limit: 10, max_limit: 50 };
        let too_many = ListQuery { limit: 51, ..ListQuery::default() };
        assert!(matches!(
            select(&RESOURCE, scope(), &too_many, limits),
            Err(Error::InvalidAttributes(v)) if v[0].field == "limit" && v[0].description == "Must be at most 50"
        ));
        assert!(select(&RESOURCE, scope(), &ListQuery { limit: 50, ..ListQuery::default() }, limits).is_ok());
    }

    #[test]
    fn ordering_is_whitelisted_and_tie_broken_by_id() {
        let query = ListQuery {
            order_by: vec![
                OrderBy { field: Some(field(&["amount"])), descending: true },
                OrderBy { field: Some(func(ScalarFunction::Lower, &["description"])), descending: false },
            ],
            ..ListQuery::default()
        };
        assert!(
            sql(&query).ends_with("ORDER BY amount DESC, lower(description) ASC, id ASC LIMIT $3 OFFSET $4")
        );
        let hostile = ListQuery {
            order_by: vec![OrderBy { field: Some(field(&["amount desc; --"])), descending: false }],
            ..ListQuery::default()
        };
        assert_eq!(violations(&hostile)[0].1, "Unknown attribute");
    }

    #[test]
    fn functions_compute_fields_and_filter() {
        let query = ListQuery {
            filters: vec![filter_on(
                func(ScalarFunction::Year, &["created_at"]),
                &[(Operator::Equal, "2019")],
            )],
            fields: vec![field(&["*"]), func(ScalarFunction::Lower, &["description"])],
            ..ListQuery::default()
        };
        let compiled = select(&RESOURCE, scope(), &query, ListLimits::default()).unwrap();
        let sql = compiled.builder.sql().as_str().to_owned();
        assert!(
            sql.starts_with("SELECT id, amount, status, (lower(description))::text AS __c0 FROM"),
            "{sql}"
        );
        assert!(
            sql.contains("AND ((EXTRACT(YEAR FROM (created_at AT TIME ZONE 'UTC')))::bigint = $3)"),
            "{sql}"
        );
        assert_eq!(
            compiled.shape,
            Shape::Objects {
                computed: vec![Output { key: "lower(description)".to_owned(), ty: ColumnType::Text }]
            }
        );
    }

    #[test]
    fn functions_must_fit_the_attribute() {
        let query = ListQuery {
            fields: vec![
                func(ScalarFunction::Year, &["amount"]),
                func(ScalarFunction::Hour, &["description"]),
            ],
            ..ListQuery::default()
        };
        assert_eq!(
            violations(&query),
            [
                ("year(amount)".to_owned(), "year() does not apply to this attribute".to_owned()),
                ("hour(description)".to_owned(), "hour() does not apply to this attribute".to_owned()),
            ]
        );
    }

    #[test]
    fn aggregates_group_by_ordinal() {
        let query = ListQuery {
            fields: vec![field(&["status"])],
            group_by: vec![field(&["status"])],
            aggregates: vec![
                Aggregate { function: AggregateFunction::Sum as i32, field: Some(field(&["amount"])) },
                Aggregate { function: AggregateFunction::Count as i32, field: Some(field(&["id"])) },
            ],
            filters: vec![filter(&["amount"], &[(Operator::GreaterThan, "0")])],
            ..ListQuery::default()
        };
        let compiled = select(&RESOURCE, scope(), &query, ListLimits::default()).unwrap();
        assert_eq!(
            compiled.builder.sql().as_str(),
            "SELECT (status)::text AS __c0, (sum(amount))::numeric AS __c1, (count(id))::bigint AS __c2 \
             FROM transactions WHERE ((partner_id = $1 AND livemode = $2)) AND deleted_at IS NULL \
             AND (amount > $3) GROUP BY 1 ORDER BY 1 ASC LIMIT $4 OFFSET $5"
        );
        let Shape::Groups { columns } = compiled.shape else { panic!("not grouped") };
        let keys: Vec<_> = columns.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["status", "sum(amount)", "count(id)"]);
    }

    #[test]
    fn grouped_queries_reject_ungrouped_fields() {
        let query = ListQuery {
            fields: vec![field(&["*"]), field(&["description"])],
            group_by: vec![field(&["status"])],
            aggregates: vec![Aggregate {
                function: AggregateFunction::Sum as i32,
                field: Some(field(&["status"])),
            }],
            ..ListQuery::default()
        };
        let found = violations(&query);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0].0, "sum(status)");
        assert_eq!(found[1].0, "fields");
        assert_eq!(
            found[2],
            (
                "description".to_owned(),
                "Must be listed in group_by to be selected with aggregates".to_owned()
            )
        );
    }

    #[test]
    fn updates_by_query_need_a_filter() {
        let mut b = QueryBuilder::new("UPDATE transactions SET status = 'voided'");
        let err = push_filters(&mut b, &RESOURCE, scope(), &[]).unwrap_err();
        assert!(matches!(err, Error::InvalidAttributes(v) if v[0].field == "filters"));
        let mut b = QueryBuilder::new("DELETE FROM transactions");
        push_filters(&mut b, &RESOURCE, scope(), &[filter(&["status"], &[(Operator::Equal, "declined")])])
            .unwrap();
        assert_eq!(
            b.sql().as_str(),
            "DELETE FROM transactions WHERE ((partner_id = $1 AND livemode = $2)) AND deleted_at IS NULL AND (status = $3)"
        );
    }
}
