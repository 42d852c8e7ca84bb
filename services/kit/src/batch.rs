//! Batch requests (`Batch…` RPCs, REST list bodies, `mode=query`): their
//! size, their ids, and where each item's problems are reported.
//!
//! A batch is all or none: every item is checked before anything is
//! written, and the writes share one transaction. An item's problems are
//! reported under its index (`requests[2].payment_method.account_id`), so
//! the caller can tell which item to fix.

use std::collections::HashSet;

use uuid::Uuid;

use crate::{Error, MAX_BATCH, Violation};

/// Checks a batch holds between one and [`MAX_BATCH`] items.
pub fn check_size(len: usize, field: &str) -> Result<(), Error> {
    if len == 0 {
        return Err(Error::invalid(field, "At least one item is required"));
    }
    if len > MAX_BATCH {
        return Err(Error::invalid(field, format!("At most {MAX_BATCH} items per request")));
    }
    Ok(())
}

/// Checks batch ids, already parsed (`None` when malformed): every one must
/// be well formed and listed once. `missing` is what a malformed id is
/// told (it names nothing, so it is "No such …").
pub fn ids(
    ids: impl Iterator<Item = (usize, Option<Uuid>)>,
    field: impl Fn(usize) -> String,
    missing: &str,
) -> Result<Vec<Uuid>, Error> {
    let mut violations = Vec::new();
    let mut seen = HashSet::new();
    let mut checked = Vec::new();
    for (i, id) in ids {
        match id {
            Some(id) if seen.insert(id) => checked.push(id),
            Some(_) => violations.push(Violation::new(field(i), "Listed more than once")),
            None => violations.push(Violation::new(field(i), missing)),
        }
    }
    if violations.is_empty() { Ok(checked) } else { Err(Error::InvalidAttributes(violations)) }
}

/// Violations under a parent path (`requests[1]`); an empty parent leaves
/// them as they are (a request of one).
pub fn nested(violations: Vec<Violation>, parent: &str) -> Vec<Violation> {
    if parent.is_empty() { violations } else { violations.into_iter().map(|v| v.nest(parent)).collect() }
}

/// An error of one item, under its parent path: invalid attributes are
/// nested, any other error is the batch's.
pub fn nest_error(error: Error, parent: &str) -> Error {
    match error {
        Error::InvalidAttributes(v) => Error::InvalidAttributes(nested(v, parent)),
        other => other,
    }
}

/// Adds an item's invalid attributes, under its parent path, to
/// `violations`; any other error is the batch's, and is returned.
pub fn gather(violations: &mut Vec<Violation>, error: Error, parent: &str) -> Result<(), Error> {
    match nest_error(error, parent) {
        Error::InvalidAttributes(v) => {
            violations.extend(v);
            Ok(())
        }
        other => Err(other),
    }
}

/// `Ok(items)` when no item had a problem, else every problem at once.
pub fn finish<T>(items: T, violations: Vec<Violation>) -> Result<T, Error> {
    if violations.is_empty() { Ok(items) } else { Err(Error::InvalidAttributes(violations)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_holds_one_to_max_items() {
        assert!(check_size(0, "requests").is_err());
        assert!(check_size(1, "requests").is_ok());
        assert!(check_size(MAX_BATCH, "requests").is_ok());
        assert!(check_size(MAX_BATCH + 1, "requests").is_err());
    }

    #[test]
    fn ids_must_be_well_formed_and_listed_once() {
        let a = Uuid::now_v7();
        let field = |i: usize| format!("ids[{i}]");
        assert_eq!(ids([(0, Some(a))].into_iter(), field, "No such thing").ok(), Some(vec![a]));
        let Err(Error::InvalidAttributes(v)) =
            ids([(0, Some(a)), (1, None), (2, Some(a))].into_iter(), field, "No such thing")
        else {
            panic!("a malformed and a repeated id must be refused");
        };
        let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["ids[1]", "ids[2]"]);
    }

    #[test]
    fn an_item_s_problems_are_nested_under_its_index() {
        let v = nested(vec![Violation::new("payment_method.account_id", "Required")], "requests[3]");
        assert_eq!(v[0].field, "requests[3].payment_method.account_id");
        assert_eq!(nested(v.clone(), "")[0].field, v[0].field);
    }
}
