//! Request bodies: JSON, or form fields as Payload's curl examples send
//! them (`-d email=… -d attrs[plan]=gold -d [0]name=…`), both read into one
//! JSON value under the configured size limit.
//!
//! A body that is a list — `{"object": "list", "values": […]}` in JSON, or
//! `[0]…`, `[1]…` form fields — asks for a bulk operation.

use axum::{
    extract::{FromRequest, Request},
    http::header,
};
use serde_json::{Map, Value};

use crate::{error::ApiError, state::AppState};

/// The body of a request, if it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestBody(pub Option<Value>);

/// What a body asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// One object.
    Object(Map<String, Value>),
    /// A list of objects (bulk).
    List(Vec<Value>),
}

impl RequestBody {
    /// The body as one object or a list; anything else is a clear error.
    pub fn shape(self) -> Result<Shape, ApiError> {
        match self.0 {
            None => Err(ApiError::bad_request("A request body is required")),
            Some(Value::Object(mut map)) => {
                if map.get("object").and_then(Value::as_str) == Some("list") {
                    match map.remove("values") {
                        Some(Value::Array(values)) if map.len() == 1 => Ok(Shape::List(values)),
                        _ => Err(ApiError::bad_request(
                            "A list body is {\"object\": \"list\", \"values\": [ … ]} and nothing else",
                        )),
                    }
                } else {
                    Ok(Shape::Object(map))
                }
            }
            Some(Value::Array(_)) => {
                Err(ApiError::bad_request("Send a list as {\"object\": \"list\", \"values\": [ … ]}"))
            }
            Some(_) => Err(ApiError::bad_request("The request body must be a JSON object")),
        }
    }
}

impl FromRequest<AppState> for RequestBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        Self::read(request, state.config.max_body_bytes).await
    }
}

/// The media type of a request, lower case, without parameters.
pub fn content_type(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

impl RequestBody {
    /// Reads a JSON or form body of at most `limit` bytes.
    pub async fn read(request: Request, limit: usize) -> Result<Self, ApiError> {
        let content_type = content_type(&request);
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(ApiError::too_large(limit));
        }
        let bytes =
            axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| ApiError::too_large(limit))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        match content_type.as_deref() {
            None | Some("application/json") => serde_json::from_slice(&bytes)
                .map(|v| Self(Some(v)))
                .map_err(|e| ApiError::bad_request(format!("Malformed JSON: {e}"))),
            Some(t) if t.ends_with("+json") => serde_json::from_slice(&bytes)
                .map(|v| Self(Some(v)))
                .map_err(|e| ApiError::bad_request(format!("Malformed JSON: {e}"))),
            Some("application/x-www-form-urlencoded") => form_to_json(&bytes).map(|v| Self(Some(v))),
            Some(other) => Err(ApiError::unsupported_media_type(other)),
        }
    }
}

/// The deepest form field name accepted (`a[b][c]…`): nesting is bounded so
/// building, walking and dropping the value can never exhaust the stack.
pub const MAX_FORM_DEPTH: usize = 8;
/// The most fields one form body may carry.
pub const MAX_FORM_FIELDS: usize = 2000;

/// Reads form fields into JSON: `a[b][c]=v` nests objects, numbered keys
/// become lists, and top-level `[0]…` fields make a bulk list.
pub fn form_to_json(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut root = Map::new();
    for (n, (key, value)) in form_urlencoded::parse(bytes).enumerate() {
        if n == MAX_FORM_FIELDS {
            return Err(ApiError::bad_request(format!(
                "A form body may carry at most {MAX_FORM_FIELDS} fields"
            )));
        }
        let path = key_path(&key)
            .ok_or_else(|| ApiError::bad_request(format!("Malformed form field name {key:?}")))?;
        if path.len() > MAX_FORM_DEPTH {
            return Err(ApiError::bad_request(format!(
                "Form field {key:?} nests deeper than {MAX_FORM_DEPTH} levels"
            )));
        }
        insert(&mut root, &path, Value::String(value.into_owned()))
            .map_err(|()| ApiError::bad_request(format!("Form field {key:?} conflicts with another")))?;
    }
    let value = lists(Value::Object(root));
    Ok(match value {
        Value::Array(values) => serde_json::json!({"object": "list", "values": values}),
        other => other,
    })
}

/// `attrs[plan]` → ["attrs", "plan"]; `[0]email` and `[0][email]` →
/// ["0", "email"].
fn key_path(key: &str) -> Option<Vec<String>> {
    let mut path = Vec::new();
    let mut rest = key;
    if !rest.starts_with('[') {
        let end = rest.find('[').unwrap_or(rest.len());
        path.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    while let Some(tail) = rest.strip_prefix('[') {
        let (segment, after) = tail.split_once(']')?;
        path.push(segment.to_owned());
        rest = after;
        if !rest.is_empty() && !rest.starts_with('[') {
            // Payload's `[0]email`: a bare name after an index.
            let end = rest.find('[').unwrap_or(rest.len());
            path.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    (rest.is_empty() && !path.is_empty() && path.iter().all(|s| !s.is_empty())).then_some(path)
}

fn insert(map: &mut Map<String, Value>, path: &[String], value: Value) -> Result<(), ()> {
    match path {
        [] => Err(()),
        [last] => {
            if map.contains_key(last) {
                return Err(());
            }
            map.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = map.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
            match entry {
                Value::Object(inner) => insert(inner, rest, value),
                _ => Err(()),
            }
        }
    }
}

/// Objects keyed `0..n` become lists, recursively.
fn lists(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let n = map.len();
            let indexed = n > 0 && (0..n).all(|i| map.contains_key(&i.to_string()));
            if indexed {
                let mut map = map;
                Value::Array(
                    (0..n).map(|i| lists(map.remove(&i.to_string()).unwrap_or(Value::Null))).collect(),
                )
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, lists(v))).collect())
            }
        }
        other => other,
    }
}
