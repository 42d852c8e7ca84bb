//! The query compiler: a [`ListQuery`] in, parameterised SQL out.
//!
//! Every list in the mesh speaks the REST query language of the gateway —
//! filters with `= ! < <= > >= | like`, nested attributes, functions,
//! ordering, paging, field selection, grouping and aggregates. The gateway
//! parses query strings into a [`ListQuery`]; services compile it here
//! against a per-resource whitelist ([`Resource`]) into a `sqlx::QueryBuilder`.
//!
//! The rule that keeps this safe: the only text this module ever pushes into
//! SQL is `&'static str` from the whitelist and from this module's own
//! templates. Everything a caller writes — attribute values, custom
//! attribute keys — travels as a bind parameter, after being parsed by the
//! attribute's type. An unknown attribute, function or operator is an
//! `InvalidAttributes` error naming it, and never reaches the database.
//!
//! Layout: [`resource`] describes what may be queried, [`names`] how fields
//! and functions are spelled, `compile` turns a query into SQL, `value` parses caller values and reads computed results,
//! [`list`] runs a query and reads its rows, `mutate` finds and locks what
//! an update or delete by query acts on.

mod compile;
pub mod list;
mod mutate;
pub mod names;
pub mod resource;
mod value;

pub use compile::{Output, Select, Shape, push_filters, select, select_where};
pub use list::{Listing, list, one};
pub use mutate::{lock_matching, matching_ids};
pub use names::{
    AGGREGATE_FUNCTIONS, SCALAR_FUNCTIONS, aggregate_function_name, display_aggregate, display_field,
    scalar_function_name,
};
pub use resource::{Column, ColumnType, Resource};

use paymesh_proto::common::v1 as common;

/// The filter `path = value` of a list query a service sends a peer (REST
/// `attrs[plan]=gold` is `equal(&["attrs", "plan"], "gold")`).
pub fn equal(path: &[&str], value: &str) -> common::Filter {
    common::Filter {
        field: Some(common::FieldRef { path: path.iter().map(|p| (*p).to_owned()).collect(), function: 0 }),
        any_of: vec![common::Condition { operator: common::Operator::Equal as i32, value: value.to_owned() }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_equality_filter_names_its_path_and_value() {
        let filter = equal(&["processing", "default"], "true");
        let field = filter.field.unwrap();
        assert_eq!(
            (field.path.as_slice(), field.function),
            (["processing", "default"].map(str::to_owned).as_slice(), 0)
        );
        assert_eq!(filter.any_of.len(), 1);
        assert_eq!(filter.any_of[0].operator, common::Operator::Equal as i32);
        assert_eq!(filter.any_of[0].value, "true");
    }
}
