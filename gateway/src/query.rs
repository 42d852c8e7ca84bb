//! The query language of every list, from the query string to a
//! `ListQuery` (the services compile it to SQL).
//!
//! | query string                   | meaning                                  |
//! |--------------------------------|------------------------------------------|
//! | `attr=value`                   | equal                                    |
//! | `attr=!value`                  | not equal (a missing value counts as not equal) |
//! | `attr=<v` `<=v` `>v` `>=v`     | comparisons                              |
//! | `attr=<v1\|>v2`                | either (or)                              |
//! | `attr=>1&attr=<9`              | both (and)                               |
//! | `attr=?*text*`                 | like, `*` is any run of characters, case-insensitive |
//! | `obj[attr]=v`, `attrs[key]=v`  | nested and custom attributes             |
//! | `year(created_at)=2019`        | a function of an attribute               |
//! | `limit=10&offset=20`           | paging                                   |
//! | `order_by=created_at`          | ordering; `desc(attr)` or `-attr` to reverse |
//! | `fields=*,lower(email)`        | selection, extra and computed fields     |
//! | `fields=sum(amount),status&group_by=status` | aggregates                  |
//! | `mode=query`                   | on PUT and DELETE: act on every match    |
//!
//! List parameters may also be repeated or numbered (`fields[]=a&fields[]=b`,
//! `fields[0]=a`), as the official SDKs send them. Values are text here; the
//! service parses them by the attribute's type. A value that itself starts
//! with an operator character or contains `|` cannot be matched exactly.

use paymesh_kit::query::{
    AGGREGATE_FUNCTIONS, SCALAR_FUNCTIONS, aggregate_function_name, scalar_function_name,
};
use paymesh_proto::common::v1::{
    Aggregate, AggregateFunction, Condition, FieldRef, Filter, ListQuery, Operator, OrderBy, ScalarFunction,
};
use serde_json::{Map, Value};

use crate::{body::NUL_REFUSED, error::ApiError};

/// A parsed query string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListParams {
    /// Filters, ordering, paging, selection and aggregates for the service.
    pub query: ListQuery,
    /// `mode=query`: a PUT or DELETE acts on every object that matches.
    pub mode_query: bool,
    /// How to shape each returned object.
    pub projection: Projection,
}

/// What `fields=` asked to see of each object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    /// `*`: every default attribute.
    All,
    /// One attribute, by path.
    Attribute(Vec<String>),
    /// A computed value, by its query spelling.
    Computed(String),
}

/// What a selection keeps of every object: what it is (SDKs map rows to
/// their classes by `object` and, for payment methods and transactions,
/// `type`) and which one.
const IDENTITY: &[&str] = &["id", "object", "type"];

impl Projection {
    /// Shapes `object` as asked, adding `computed` values. Without `fields`,
    /// the object's default attributes: every one but the `non_default`
    /// ones, which only a selection that names them shows (`*,ledger`). A
    /// selection always keeps the object's `id` and `object` (and a
    /// transaction's or payment method's `type`), which SDKs read to know
    /// what each row is.
    pub fn apply(
        &self,
        mut object: Map<String, Value>,
        computed: Option<Map<String, Value>>,
        non_default: &[&str],
    ) -> Map<String, Value> {
        let mut computed = computed.unwrap_or_default();
        if self.items.is_empty() {
            object.retain(|key, _| !non_default.contains(&key.as_str()));
            return object;
        }
        let mut out = Map::new();
        for key in IDENTITY {
            if let Some(value) = object.get(*key) {
                out.insert((*key).to_owned(), value.clone());
            }
        }
        for item in &self.items {
            match item {
                Item::All => out.extend(
                    object
                        .iter()
                        .filter(|(key, _)| !non_default.contains(&key.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone())),
                ),
                Item::Attribute(path) => copy_path(&object, &mut out, path),
                Item::Computed(key) => {
                    out.insert(key.clone(), computed.remove(key).unwrap_or(Value::Null));
                }
            }
        }
        out
    }
}

fn copy_path(from: &Map<String, Value>, to: &mut Map<String, Value>, path: &[String]) {
    let Some((first, rest)) = path.split_first() else { return };
    let Some(value) = from.get(first) else { return };
    if rest.is_empty() {
        to.insert(first.clone(), value.clone());
        return;
    }
    if let Value::Object(inner) = value {
        let slot = to.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(slot) = slot {
            copy_path(inner, slot, rest);
        }
    }
}

impl ListParams {
    /// The filters of an update or delete by query. The caller's own filters
    /// are required: implicit ones (a resource's fixed `type`) must never
    /// let an unfiltered request reach every object.
    pub fn mutation_filters(&self) -> Result<Vec<Filter>, ApiError> {
        if self.query.filters.is_empty() {
            return Err(ApiError::invalid_field(
                "mode",
                "An update or delete by query needs at least one filter, e.g. ?email=…&mode=query",
            ));
        }
        Ok(self.query.filters.clone())
    }
}

/// Parses a raw query string (`None` when there is none).
pub fn parse(raw: Option<&str>) -> Result<ListParams, ApiError> {
    let mut params = ListParams::default();
    let mut problems = Map::new();
    let mut problem = |key: &str, message: String| {
        problems.entry(key.to_owned()).or_insert(Value::String(message));
    };
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let (key, value) = (key.as_ref(), value.as_ref());
        if key.contains('\0') || value.contains('\0') {
            problem(&key.replace('\0', "\\u0000"), NUL_REFUSED.to_owned());
            continue;
        }
        match list_param(key) {
            Some("limit") => match value.parse::<u32>() {
                Ok(n) => params.query.limit = n,
                Err(_) => problem(key, "Must be a whole number".to_owned()),
            },
            Some("offset") => match value.parse::<u32>() {
                Ok(n) => params.query.offset = n,
                Err(_) => problem(key, "Must be a whole number".to_owned()),
            },
            Some("mode") => match value {
                "query" => params.mode_query = true,
                _ => problem(key, "The only mode is `query`".to_owned()),
            },
            Some("fields") => {
                for item in split_list(value) {
                    if let Err(why) = add_field(&mut params, item) {
                        problem(item, why);
                    }
                }
            }
            Some("group_by") => {
                for item in split_list(value) {
                    match expression(item) {
                        Ok(Expression::Field(field)) => params.query.group_by.push(field),
                        Ok(Expression::Aggregate(..)) => {
                            problem(item, "Cannot group by an aggregate".to_owned())
                        }
                        Err(why) => problem(item, why),
                    }
                }
            }
            Some("order_by") => {
                for item in split_list(value) {
                    match order_term(item) {
                        Ok(term) => params.query.order_by.push(term),
                        Err(why) => problem(item, why),
                    }
                }
            }
            Some(_) => problem(key, "Malformed parameter name".to_owned()),
            None => match filter(key, value) {
                Ok(filter) => params.query.filters.push(filter),
                Err(why) => problem(key, why),
            },
        }
    }
    if problems.is_empty() { Ok(params) } else { Err(ApiError::invalid(problems)) }
}

const LIST_PARAMS: &[&str] = &["limit", "offset", "mode", "fields", "group_by", "order_by"];
/// The parameters that take several values.
const REPEATABLE: &[&str] = &["fields", "group_by", "order_by"];

/// The reserved parameter a key names (`fields`, `fields[]`, `fields[2]` →
/// `fields`), or the key itself when it misuses one (`fields[x]`,
/// `limit[0]`: reported as malformed); `None` for a filter.
fn list_param(key: &str) -> Option<&str> {
    for name in LIST_PARAMS {
        if key == *name {
            return Some(name);
        }
        if let Some(rest) = key.strip_prefix(name).and_then(|r| r.strip_prefix('[')) {
            let index = rest.strip_suffix(']');
            return match index {
                Some(i) if i.chars().all(|c| c.is_ascii_digit()) && REPEATABLE.contains(name) => Some(name),
                _ => Some(key),
            };
        }
    }
    None
}

/// `a,b , c` → ["a", "b", "c"]. (Functions take one argument, so no comma
/// ever sits inside parentheses.)
fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn add_field(params: &mut ListParams, item: &str) -> Result<(), String> {
    if item == "*" {
        params.query.fields.push(FieldRef { path: vec!["*".to_owned()], function: 0 });
        params.projection.items.push(Item::All);
        return Ok(());
    }
    match expression(item)? {
        Expression::Field(field) => {
            params.projection.items.push(if field.function == ScalarFunction::Unspecified as i32 {
                Item::Attribute(field.path.clone())
            } else {
                Item::Computed(paymesh_kit::query::display_field(&field))
            });
            params.query.fields.push(field);
        }
        Expression::Aggregate(function, field) => {
            params.query.aggregates.push(Aggregate { function: function as i32, field: Some(field) });
        }
    }
    Ok(())
}

/// A field or aggregate as written in the query language.
#[derive(Debug, Clone, PartialEq)]
enum Expression {
    Field(FieldRef),
    Aggregate(AggregateFunction, FieldRef),
}

fn expression(text: &str) -> Result<Expression, String> {
    match call(text)? {
        Some((name, inner)) => {
            if let Some(function) = SCALAR_FUNCTIONS.iter().find(|f| scalar_function_name(**f) == name) {
                let path = path(inner)?;
                return Ok(Expression::Field(FieldRef { path, function: *function as i32 }));
            }
            if let Some(function) = AGGREGATE_FUNCTIONS.iter().find(|f| aggregate_function_name(**f) == name)
            {
                return match expression(inner)? {
                    Expression::Field(field) => Ok(Expression::Aggregate(*function, field)),
                    Expression::Aggregate(..) => Err("Aggregates cannot be nested".to_owned()),
                };
            }
            Err(format!("Unknown function {name}()"))
        }
        None => Ok(Expression::Field(FieldRef { path: path(text)?, function: 0 })),
    }
}

/// `name(inner)` → Some((name, inner)); a plain path → None.
fn call(text: &str) -> Result<Option<(&str, &str)>, String> {
    let Some(open) = text.find('(') else {
        return if text.contains(')') { Err("Malformed attribute".to_owned()) } else { Ok(None) };
    };
    let inner = text[open + 1..].strip_suffix(')').ok_or_else(|| "Malformed attribute".to_owned())?;
    let name = &text[..open];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err("Malformed attribute".to_owned());
    }
    Ok(Some((name, inner)))
}

/// `attrs[plan]` → ["attrs", "plan"].
fn path(text: &str) -> Result<Vec<String>, String> {
    let malformed = || "Malformed attribute".to_owned();
    let end = text.find('[').unwrap_or(text.len());
    let name = &text[..end];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(malformed());
    }
    let mut path = vec![name.to_owned()];
    let mut rest = &text[end..];
    while let Some(tail) = rest.strip_prefix('[') {
        let (segment, after) = tail.split_once(']').ok_or_else(malformed)?;
        if segment.is_empty() || segment.contains('[') {
            return Err(malformed());
        }
        path.push(segment.to_owned());
        rest = after;
    }
    if rest.is_empty() { Ok(path) } else { Err(malformed()) }
}

fn order_term(text: &str) -> Result<OrderBy, String> {
    let (inner, descending) = if let Some(rest) = text.strip_prefix('-') {
        (rest, true)
    } else if let Some(inner) = text.strip_prefix("desc(").and_then(|t| t.strip_suffix(')')) {
        (inner, true)
    } else if let Some(inner) = text.strip_prefix("asc(").and_then(|t| t.strip_suffix(')')) {
        (inner, false)
    } else {
        (text, false)
    };
    match expression(inner)? {
        Expression::Field(field) => Ok(OrderBy { field: Some(field), descending }),
        Expression::Aggregate(..) => Err("Cannot order by an aggregate".to_owned()),
    }
}

fn filter(key: &str, value: &str) -> Result<Filter, String> {
    let field = match expression(key)? {
        Expression::Field(field) => field,
        Expression::Aggregate(..) => return Err("Aggregates cannot be used in filters".to_owned()),
    };
    let any_of = value.split('|').map(condition).collect();
    Ok(Filter { field: Some(field), any_of })
}

fn condition(text: &str) -> Condition {
    let (operator, value) = if let Some(v) = text.strip_prefix("<=") {
        (Operator::LessThanOrEqual, v)
    } else if let Some(v) = text.strip_prefix(">=") {
        (Operator::GreaterThanOrEqual, v)
    } else if let Some(v) = text.strip_prefix('<') {
        (Operator::LessThan, v)
    } else if let Some(v) = text.strip_prefix('>') {
        (Operator::GreaterThan, v)
    } else if let Some(v) = text.strip_prefix('!') {
        (Operator::NotEqual, v)
    } else if let Some(v) = text.strip_prefix('?') {
        (Operator::Like, v)
    } else {
        (Operator::Equal, text)
    };
    Condition { operator: operator as i32, value: value.to_owned() }
}
