//! Request bodies: JSON, or form fields as Payload's curl examples send
//! them (`-d email=… -d attrs[plan]=gold -d [0]name=…`), both read into one
//! JSON value under the configured size limit.
//!
//! A body that is a list — `{"object": "list", "values": […]}` in JSON, or
//! `[0]…`, `[1]…` form fields — asks for a bulk operation.
//!
//! JSON must say so (`application/json` or a `+json` type) and be UTF-8:
//! a body without a Content-Type, or in another charset, is refused with
//! 415 rather than guessed at. No text may carry a NUL character (U+0000),
//! in a value or in a name: PostgreSQL cannot store it, so it is refused
//! here, naming each attribute, before any service is asked.

use axum::{
    extract::{FromRequest, Request},
    http::header,
};
use serde_json::{Map, Value};

use crate::{
    error::{ApiError, insert_path},
    state::AppState,
};

/// What a value or name with a NUL character is told.
pub const NUL_REFUSED: &str = "Must not contain the NUL character (U+0000)";

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

/// The `charset` a request's Content-Type names, lower case, if any.
fn charset(request: &Request) -> Option<String> {
    let value = request.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    value.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
    })
}

impl RequestBody {
    /// Reads a JSON or form body of at most `limit` bytes.
    pub async fn read(request: Request, limit: usize) -> Result<Self, ApiError> {
        let content_type = content_type(&request);
        let charset = charset(&request);
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
        if let Some(charset) = charset.filter(|c| c != "utf-8" && c != "utf8") {
            return Err(ApiError::unsupported_charset(&charset));
        }
        let value = match content_type.as_deref() {
            Some("application/json") => json(&bytes)?,
            Some(t) if t.ends_with("+json") => json(&bytes)?,
            Some("application/x-www-form-urlencoded") => form_to_json(&bytes)?,
            Some(other) => return Err(ApiError::unsupported_media_type(other)),
            None => return Err(ApiError::no_media_type()),
        };
        refuse_nul(&value)?;
        Ok(Self(Some(value)))
    }
}

/// Parses a JSON body.
fn json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("Malformed JSON: {e}")))
}

/// Refuses `value` if any string or name in it carries a NUL character,
/// naming each such attribute (`attrs.plan`, `tags[1]`), item by item in a
/// list body.
pub fn refuse_nul(value: &Value) -> Result<(), ApiError> {
    if let Some(Value::Array(items)) =
        value.get("values").filter(|_| value.get("object").and_then(Value::as_str) == Some("list"))
    {
        let problems: Vec<Map<String, Value>> = items.iter().map(nul_problems).collect();
        return if problems.iter().all(Map::is_empty) {
            Ok(())
        } else {
            Err(ApiError::invalid_items(problems))
        };
    }
    let problems = nul_problems(value);
    if problems.is_empty() { Ok(()) } else { Err(ApiError::invalid(problems)) }
}

/// The attributes of `value` whose text or name carries a NUL character.
fn nul_problems(value: &Value) -> Map<String, Value> {
    fn walk(value: &Value, path: &mut Vec<String>, problems: &mut Map<String, Value>) {
        match value {
            Value::String(text) if text.contains('\0') => {
                insert_path(problems, path, Value::String(NUL_REFUSED.to_owned()));
            }
            Value::Array(items) => {
                let last = path.pop().unwrap_or_default();
                for (i, item) in items.iter().enumerate() {
                    path.push(format!("{last}[{i}]"));
                    walk(item, path, problems);
                    path.pop();
                }
                path.push(last);
            }
            Value::Object(map) => {
                for (key, inner) in map {
                    path.push(key.replace('\0', "\\u0000"));
                    if key.contains('\0') {
                        insert_path(problems, path, Value::String(NUL_REFUSED.to_owned()));
                    } else {
                        walk(inner, path, problems);
                    }
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut problems = Map::new();
    walk(value, &mut Vec::new(), &mut problems);
    problems
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
