//! The REST error object, and how gRPC statuses become one.
//!
//! Every failure answers `{"object": "error", "error_type": …,
//! "description": …, "details": {…}}` with the status codes of the Payload
//! reference (and `error_description`, the same text, for the PlacePay
//! SDK). `error_type` names match the exception classes of the
//! official SDKs (`InvalidAttributes`, `NotFound`, `Unauthorized`, …), so a
//! partner's `except payload.NotFound` works unchanged. Per-field problems
//! arrive from services as `BadRequest` field violations named after the
//! request message (`requests[1].account.email`) and leave as REST details
//! (`{"object": "list", "values": [{}, {"email": "…"}]}`).

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use paymesh_kit::error::reason_from_name;
use paymesh_proto::common::v1::ErrorReason;
use serde_json::{Map, Value, json};
use tonic::Code;
use tonic_types::StatusExt as _;

/// Where a field violation of a gRPC request is on REST: the item of a
/// list body, and the attribute path.
pub type Place<'a> = &'a dyn Fn(&str) -> (Option<usize>, Vec<String>);

/// A REST error response (boxed: errors are rare, results are everywhere).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError(Box<Inner>);

#[derive(Debug, Clone, PartialEq)]
struct Inner {
    status: StatusCode,
    error_type: &'static str,
    description: String,
    details: Option<Value>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, error_type: &'static str, description: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            status,
            error_type,
            description: description.into(),
            details: None,
            retry_after: None,
        }))
    }

    /// The same error with `details` (a declined payment's transaction).
    pub(crate) fn with_details(mut self, details: Value) -> Self {
        self.0.details = Some(details);
        self
    }

    fn with_retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after = Some(seconds);
        self
    }

    /// 400 `InvalidAttributes` with per-attribute details.
    pub fn invalid(details: Map<String, Value>) -> Self {
        let details = Value::Object(details);
        let description = describe(&details);
        Self::new(StatusCode::BAD_REQUEST, "InvalidAttributes", description).with_details(details)
    }

    /// 400 `InvalidAttributes` about one attribute.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let mut details = Map::new();
        details.insert(field.to_owned(), Value::String(message.into()));
        Self::invalid(details)
    }

    /// 400 `InvalidAttributes` about the items of a list body, Payload's
    /// shape: `{"object": "list", "values": [{…}, {…}]}` with one entry per
    /// item (empty for items without problems).
    pub fn invalid_items(items: Vec<Map<String, Value>>) -> Self {
        let values: Vec<Value> = items.into_iter().map(Value::Object).collect();
        let details = json!({"object": "list", "values": values});
        let description = describe(&details);
        Self::new(StatusCode::BAD_REQUEST, "InvalidAttributes", description).with_details(details)
    }

    /// 400 `BadRequest`: the request as a whole cannot be understood.
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", description)
    }

    /// 401 `Unauthorized`.
    pub fn unauthorized(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", description)
    }

    /// 403 `Forbidden`.
    pub fn forbidden(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", description)
    }

    /// 404 `NotFound`.
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", description)
    }

    /// 405 `MethodNotAllowed`.
    pub fn method_not_allowed(description: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", description)
    }

    /// 413 `RequestTooLarge`.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLarge",
            format!("The request body exceeds {limit} bytes"),
        )
    }

    /// 415 `UnsupportedMediaType`.
    pub fn unsupported_media_type(found: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!(
                "Content-Type {found:?} is not supported; send application/json or \
                 application/x-www-form-urlencoded"
            ),
        )
    }

    /// 415 `UnsupportedMediaType`: a body without a Content-Type.
    pub fn no_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "A request body needs a Content-Type: application/json or application/x-www-form-urlencoded",
        )
    }

    /// 415 `UnsupportedMediaType`: a body in a charset other than UTF-8.
    pub fn unsupported_charset(found: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!("charset {found:?} is not supported; send the body in UTF-8"),
        )
    }

    /// 500 `InternalServerError` (the cause is logged where it happened).
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "Internal server error")
    }

    /// 429 `TooManyRequests`, retry after `seconds`.
    pub fn too_many_requests(seconds: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            format!("Too many requests with this key; retry after {seconds} s"),
        )
        .with_retry_after(seconds)
    }

    /// 503 `ServiceUnavailable`.
    pub fn unavailable(description: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", description).with_retry_after(1)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// Converts a gRPC status from a service. `place` says where a field
    /// violation of the request message is on REST: the item of a list body
    /// and the attribute path (`requests[1].account.email` → item 1,
    /// `email`).
    pub fn from_status(status: &tonic::Status, place: Place<'_>) -> Self {
        let details = status.get_error_details();
        let reason = details.error_info().and_then(|info| reason_from_name(&info.reason));
        let (http, error_type) = match (reason, status.code()) {
            (Some(ErrorReason::InvalidAttributes), _) => (StatusCode::BAD_REQUEST, "InvalidAttributes"),
            (Some(ErrorReason::BadRequest), _) => (StatusCode::BAD_REQUEST, "BadRequest"),
            (Some(ErrorReason::TransactionDeclined), _) => (StatusCode::BAD_REQUEST, "TransactionDeclined"),
            (Some(ErrorReason::Unauthorized), _) | (None, Code::Unauthenticated) => {
                (StatusCode::UNAUTHORIZED, "Unauthorized")
            }
            (Some(ErrorReason::Forbidden), _) | (None, Code::PermissionDenied) => {
                (StatusCode::FORBIDDEN, "Forbidden")
            }
            (Some(ErrorReason::NotFound), _) | (None, Code::NotFound) => (StatusCode::NOT_FOUND, "NotFound"),
            (Some(ErrorReason::Conflict), _) | (None, Code::Aborted | Code::AlreadyExists) => {
                (StatusCode::CONFLICT, "Conflict")
            }
            (Some(ErrorReason::TooManyRequests), _) | (None, Code::ResourceExhausted) => {
                (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests")
            }
            // tonic reports an expired deadline as CANCELLED, on both ends.
            (Some(ErrorReason::ServiceUnavailable), _)
            | (None, Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled) => {
                (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable")
            }
            (None, Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange) => {
                (StatusCode::BAD_REQUEST, "BadRequest")
            }
            // A service without the RPC the description promised: a
            // deployment out of step, not the partner's doing.
            (None, Code::Unimplemented) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            (Some(ErrorReason::Internal | ErrorReason::Unspecified), _) | (None, _) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError")
            }
        };
        let description = match http {
            // Transport failures carry internal detail (addresses, causes).
            StatusCode::INTERNAL_SERVER_ERROR => "Internal server error".to_owned(),
            StatusCode::SERVICE_UNAVAILABLE if reason.is_none() => {
                tracing::warn!(code = ?status.code(), message = status.message(), "service unreachable");
                "A service is unavailable; retry shortly".to_owned()
            }
            _ => status.message().to_owned(),
        };
        if http == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(code = ?status.code(), message = status.message(), "service failed");
        }
        let mut error = Self::new(http, error_type, description);
        if let Some(bad) = details.bad_request() {
            let rest = rest_details(
                bad.field_violations.iter().map(|v| (v.field.as_str(), v.description.as_str())),
                place,
            );
            // Name the attributes as the REST caller sent them, not as the
            // gRPC request message spells them.
            error.0.description = describe(&rest);
            error = error.with_details(rest);
        }
        if reason == Some(ErrorReason::TransactionDeclined) {
            // The declined transaction, as the resource rendered it (or
            // what the service said of it).
            let metadata = details.error_info().map(|info| info.metadata.clone()).unwrap_or_default();
            let transaction = metadata
                .get("transaction")
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .unwrap_or_else(|| json!(metadata));
            error = error.with_details(transaction);
        }
        if http == StatusCode::SERVICE_UNAVAILABLE {
            let seconds = details.retry_info().and_then(|r| r.retry_delay).map_or(1, |d| d.as_secs().max(1));
            error = error.with_retry_after(seconds);
        }
        error
    }
}

/// Turns violation paths of request messages into REST details.
fn rest_details<'a>(violations: impl Iterator<Item = (&'a str, &'a str)>, place: Place<'_>) -> Value {
    let mut top = Map::new();
    let mut items: Vec<Map<String, Value>> = Vec::new();
    for (field, description) in violations {
        let (index, path) = place(field);
        let target = match index {
            Some(i) => {
                if items.len() <= i {
                    items.resize_with(i + 1, Map::new);
                }
                &mut items[i]
            }
            None => &mut top,
        };
        insert_path(target, &path, Value::String(description.to_owned()));
    }
    if items.is_empty() {
        Value::Object(top)
    } else {
        json!({"object": "list", "values": items.into_iter().map(Value::Object).collect::<Vec<_>>()})
    }
}

/// Every attribute named in REST details: `email`, `attrs.plan`,
/// `values[1].email`.
/// The description of `InvalidAttributes`: every attribute named.
fn describe(details: &Value) -> String {
    format!("Invalid attributes: {}", field_names(details).join(", "))
}

fn field_names(details: &Value) -> Vec<String> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) if map.get("object").and_then(Value::as_str) == Some("list") => {
                if let Some(Value::Array(items)) = map.get("values") {
                    for (i, item) in items.iter().enumerate() {
                        walk(&format!("{prefix}values[{i}]."), item, out);
                    }
                }
            }
            Value::Object(map) => {
                for (key, inner) in map {
                    match inner {
                        Value::Object(_) => walk(&format!("{prefix}{key}."), inner, out),
                        _ => out.push(format!("{prefix}{key}")),
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", details, &mut out);
    out
}

/// Puts `value` at `path` in `target`, making the objects on the way.
pub(crate) fn insert_path<S: AsRef<str>>(target: &mut Map<String, Value>, path: &[S], value: Value) {
    match path {
        [] => {}
        [last] => {
            target.insert(last.as_ref().to_owned(), value);
        }
        [first, rest @ ..] => {
            let entry = target.entry(first.as_ref().to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

impl ApiError {
    /// The error object as JSON.
    pub fn body(&self) -> Value {
        let Inner { error_type, description, details, .. } = &*self.0;
        // `error_description` repeats `description` for the PlacePay SDK,
        // which reads its messages from it.
        let mut body = json!({
            "object": "error",
            "error_type": error_type,
            "description": description,
            "error_description": description,
        });
        if let (Some(details), Value::Object(map)) = (details, &mut body) {
            map.insert("details".to_owned(), details.clone());
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let Inner { status, retry_after, .. } = *self.0;
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
