//! Example objects, as the gateway answered them to a walk through the API
//! (`scripts/openapi-examples.py` records them again). They give the
//! description its examples and the types of attributes an empty message
//! leaves null; a test checks that every one still names only attributes
//! its resource renders.

use std::sync::OnceLock;

use serde_json::Value;

/// `examples.json`, read once.
fn all() -> &'static Value {
    static ALL: OnceLock<Value> = OnceLock::new();
    ALL.get_or_init(|| {
        // A malformed file is caught by the tests; the description then
        // falls back to what the renderers alone show.
        serde_json::from_str(include_str!("examples.json")).unwrap_or(Value::Null)
    })
}

/// The example objects of the collection at `path`, and an example body
/// creating one.
pub(crate) fn of(path: &str) -> (Vec<Value>, Option<Value>) {
    let objects = all()["objects"][path].as_array().cloned().unwrap_or_default();
    let create = all()["creates"].get(path).cloned();
    (objects, create)
}

/// The samples of a schema that is not a collection's
/// (`processing_settings`).
pub(crate) fn samples(name: &str) -> Vec<Value> {
    all()["schemas"][name].as_array().cloned().unwrap_or_default()
}

/// Every example object, by collection path.
#[cfg(test)]
pub(crate) fn objects() -> Vec<(String, Value)> {
    all()["objects"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, list)| {
            list.as_array().into_iter().flatten().map(move |o| (path.clone(), o.clone()))
        })
        .collect()
}
