//! One way to report failure across the mesh.
//!
//! Services return [`Error`]; its single `From<Error> for Status` impl picks
//! the gRPC code, writes a `google.rpc.ErrorInfo` (domain [`ERROR_DOMAIN`],
//! reason from [`ErrorReason`]) and, for invalid input, one
//! `google.rpc.BadRequest` field violation per problem. The gateway reads
//! those details back to build the REST error object without guessing.
//! Internal failures are logged with their cause and reach the caller only
//! as "internal error".

use std::{fmt, time::Duration};

use paymesh_proto::common::v1::ErrorReason;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every paymesh error.
pub const ERROR_DOMAIN: &str = "paymesh.dev";

/// A problem with one attribute of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The attribute path, e.g. `email` or `requests[1].account.email`.
    pub field: String,
    /// What is wrong, in words a partner's developer can act on.
    pub description: String,
}

impl Violation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }

    /// The same violation under a parent path (`requests[1].account`).
    pub fn nest(self, parent: &str) -> Self {
        Self { field: format!("{parent}.{}", self.field), ..self }
    }
}

/// What went wrong, named by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Attributes are missing or invalid; nothing was changed.
    #[error("invalid attributes: {}", list(.0))]
    InvalidAttributes(Vec<Violation>),
    /// The request as a whole cannot be understood.
    #[error("{0}")]
    BadRequest(String),
    /// No valid credential.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid credential that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The object does not exist for this partner and mode.
    #[error("{resource} not found")]
    NotFound {
        /// The kind of object, e.g. "Account".
        resource: &'static str,
    },
    /// The request conflicts with the current state; the caller may retry
    /// once the conflict is resolved.
    #[error("{0}")]
    Conflict(String),
    /// Carried out and refused by a third party (a processor declining a
    /// payment): the refused object is stored, and the status names it in
    /// its `ErrorInfo` metadata as `<object>_id`, with `status_code` and
    /// `status_message`. Final: idempotency records and replays it.
    #[error("{message}")]
    Refused {
        /// The `ErrorInfo` reason, e.g. `TransactionDeclined`.
        reason: ErrorReason,
        /// The kind of the stored object, e.g. "transaction".
        object: &'static str,
        /// The stored object.
        id: uuid::Uuid,
        /// Why, as a code, e.g. `card_expired`.
        code: String,
        /// Why, in words.
        message: String,
    },
    /// A dependency (database, peer service) is unavailable; retrying after
    /// the delay may succeed.
    #[error("service unavailable: {reason}")]
    Unavailable {
        /// What is unavailable (sent to the caller; no internal detail).
        reason: String,
        /// A suggested delay before retrying.
        retry_after: Option<Duration>,
    },
    /// A failure inside paymesh. The cause is logged, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn list(violations: &[Violation]) -> String {
    violations.iter().map(|v| format!("{}: {}", v.field, v.description)).collect::<Vec<_>>().join("; ")
}

impl Error {
    /// Invalid input with a single violation.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidAttributes(vec![Violation::new(field, description)])
    }

    /// Invalid input whose problems a domain type named relative to itself
    /// (`card.expiry`), named here under `parent` (`payment_method`).
    pub fn invalid_under(parent: &str, problems: Vec<(String, String)>) -> Self {
        Self::InvalidAttributes(
            problems.into_iter().map(|(name, why)| Violation::new(format!("{parent}.{name}"), why)).collect(),
        )
    }

    /// The error of a call to another paymesh service (`peer`) that failed
    /// with `status`, as this service reports it: the peer being down or
    /// slow is `Unavailable`, a conflict stays a conflict, anything else is
    /// this service's internal failure (the peer's answer is logged, not
    /// sent on). Callers handle the answers they expect (such as
    /// `NOT_FOUND`) before this.
    pub fn from_peer(peer: &str, status: &Status) -> Self {
        match status.code() {
            Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted | Code::Cancelled => {
                Self::Unavailable { reason: format!("The {peer} service is unavailable"), retry_after: None }
            }
            Code::Aborted => {
                tracing::info!(peer, message = status.message(), "a peer reported a conflict");
                Self::Conflict("A conflicting change was made at the same time; retry".to_owned())
            }
            // This service's own credentials were refused: a deployment
            // whose services do not share PAYMESH_SERVICE_SECRET.
            Code::Unauthenticated | Code::PermissionDenied => {
                tracing::error!(
                    peer,
                    message = status.message(),
                    "a peer refused this service's credentials"
                );
                Self::Unavailable { reason: format!("The {peer} service is unavailable"), retry_after: None }
            }
            code => Self::Internal(anyhow::anyhow!("{peer} answered {code:?}: {}", status.message())),
        }
    }

    /// Whether the same request may succeed if retried later unchanged.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable { .. } | Self::Conflict(_) => true,
            Self::InvalidAttributes(_)
            | Self::BadRequest(_)
            | Self::Unauthorized(_)
            | Self::Forbidden(_)
            | Self::NotFound { .. }
            | Self::Refused { .. }
            | Self::Internal(_) => false,
        }
    }
}

/// The `ErrorInfo.reason` spelling of a reason: its name without the
/// `ERROR_REASON_` prefix, e.g. `INVALID_ATTRIBUTES`.
pub fn reason_name(reason: ErrorReason) -> &'static str {
    let name = reason.as_str_name();
    name.strip_prefix("ERROR_REASON_").unwrap_or(name)
}

/// Parses an `ErrorInfo.reason` back into a reason.
pub fn reason_from_name(name: &str) -> Option<ErrorReason> {
    ErrorReason::from_str_name(&format!("ERROR_REASON_{name}"))
}

fn status(code: Code, reason: ErrorReason, message: impl fmt::Display) -> (Code, String, ErrorDetails) {
    let mut details = ErrorDetails::new();
    details.set_error_info(reason_name(reason), ERROR_DOMAIN, std::collections::HashMap::new());
    (code, message.to_string(), details)
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        let (code, message, details) = match error {
            Error::InvalidAttributes(violations) => {
                let (code, message, mut details) =
                    status(Code::InvalidArgument, ErrorReason::InvalidAttributes, list(&violations));
                for v in violations {
                    details.add_bad_request_violation(v.field, v.description);
                }
                (code, message, details)
            }
            Error::BadRequest(message) => status(Code::InvalidArgument, ErrorReason::BadRequest, message),
            Error::Unauthorized(message) => status(Code::Unauthenticated, ErrorReason::Unauthorized, message),
            Error::Forbidden(message) => status(Code::PermissionDenied, ErrorReason::Forbidden, message),
            Error::NotFound { resource } => {
                status(Code::NotFound, ErrorReason::NotFound, format!("{resource} not found"))
            }
            Error::Conflict(message) => status(Code::Aborted, ErrorReason::Conflict, message),
            Error::Refused { reason, object, id, code, message } => {
                let mut details = ErrorDetails::new();
                let metadata = std::collections::HashMap::from([
                    (format!("{object}_id"), id.to_string()),
                    ("status_code".to_owned(), code),
                    ("status_message".to_owned(), message.clone()),
                ]);
                details.set_error_info(reason_name(reason), ERROR_DOMAIN, metadata);
                (Code::FailedPrecondition, message, details)
            }
            Error::Unavailable { reason, retry_after } => {
                let (code, message, mut details) =
                    status(Code::Unavailable, ErrorReason::ServiceUnavailable, reason);
                if retry_after.is_some() {
                    details.set_retry_info(retry_after);
                }
                (code, message, details)
            }
            Error::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                status(Code::Internal, ErrorReason::Internal, "internal error")
            }
        };
        Status::with_error_details(code, message, details)
    }
}

impl From<sqlx::Error> for Error {
    /// Database failures: an exhausted pool, a lost connection, or a
    /// server shutting down or starting (SQLSTATE classes 08 and 57) is
    /// `Unavailable` (retry may help); text with a NUL character (22021,
    /// or 22P05 in JSON) is a `BadRequest`; a transaction that lost a
    /// deadlock or a serialization race is a `Conflict` (the same request,
    /// retried, may succeed); anything else is internal.
    fn from(error: sqlx::Error) -> Self {
        let server_away = |e: &dyn sqlx::error::DatabaseError| {
            e.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57"))
        };
        match error {
            sqlx::Error::Database(ref e) if server_away(e.as_ref()) => {
                tracing::warn!(error = %error, "database unavailable");
                Self::Unavailable {
                    reason: "the database is unavailable".to_owned(),
                    retry_after: Some(Duration::from_secs(1)),
                }
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::warn!(error = %error, "database unavailable");
                Self::Unavailable {
                    reason: "the database is unavailable".to_owned(),
                    retry_after: Some(Duration::from_secs(1)),
                }
            }
            // Text PostgreSQL cannot store: a NUL character (the gateway
            // refuses it attribute by attribute; a gRPC caller learns it
            // here, before anything was stored).
            sqlx::Error::Database(e) if matches!(e.code().as_deref(), Some("22021" | "22P05")) => {
                Self::BadRequest("Text must not contain the NUL character (U+0000)".to_owned())
            }
            sqlx::Error::Database(e) if matches!(e.code().as_deref(), Some("40001" | "40P01")) => {
                tracing::info!(code = ?e.code(), "transaction lost a concurrency race");
                Self::Conflict("The request raced with another one on the same objects; retry it".to_owned())
            }
            other => Self::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_peer_is_reported_without_its_words() {
        let down = Error::from_peer("identity", &Status::unavailable("connection refused"));
        assert!(
            matches!(&down, Error::Unavailable { reason, .. } if reason == "The identity service is unavailable")
        );
        let conflict = Error::from_peer("identity", &Status::aborted("account 0192 busy"));
        assert!(matches!(conflict, Error::Conflict(m) if !m.contains("0192")));
        let refused = Error::from_peer("identity", &Status::unauthenticated("Invalid API key"));
        assert!(matches!(refused, Error::Unavailable { .. }));
        let odd = Error::from_peer("identity", &Status::invalid_argument("account_id: bad"));
        assert!(matches!(odd, Error::Internal(_)));
        let status: Status = odd.into();
        assert!(!status.message().contains("account_id"), "{}", status.message());
    }

    #[test]
    fn invalid_attributes_carry_reason_and_every_field() {
        let status: Status = Error::InvalidAttributes(vec![
            Violation::new("email", "Must be a valid email address"),
            Violation::new("name", "Required"),
        ])
        .into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let info = details.error_info().unwrap();
        assert_eq!(info.reason, "INVALID_ATTRIBUTES");
        assert_eq!(info.domain, ERROR_DOMAIN);
        let fields: Vec<_> = details
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|v| (v.field.as_str(), v.description.as_str()))
            .collect();
        assert_eq!(fields, [("email", "Must be a valid email address"), ("name", "Required")]);
    }

    #[test]
    fn a_refusal_names_its_stored_object_in_error_info() {
        let id = uuid::Uuid::now_v7();
        let refused = Error::Refused {
            reason: ErrorReason::TransactionDeclined,
            object: "transaction",
            id,
            code: "card_expired".into(),
            message: "The card has expired".into(),
        };
        assert!(!refused.is_retryable(), "a refusal is final");
        let status: Status = refused.into();
        assert_eq!((status.code(), status.message()), (Code::FailedPrecondition, "The card has expired"));
        let details = status.get_error_details();
        let info = details.error_info().unwrap();
        assert_eq!(info.reason, "TRANSACTION_DECLINED");
        assert_eq!(info.metadata["transaction_id"], id.to_string());
        assert_eq!(info.metadata["status_code"], "card_expired");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let status: Status = Error::Internal(anyhow::anyhow!("connection to 10.0.0.7 refused")).into();
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn reasons_round_trip_through_their_names() {
        for reason in [ErrorReason::NotFound, ErrorReason::InvalidAttributes, ErrorReason::Internal] {
            assert_eq!(reason_from_name(reason_name(reason)), Some(reason));
        }
        assert_eq!(reason_name(ErrorReason::TooManyRequests), "TOO_MANY_REQUESTS");
    }

    #[test]
    fn nested_violations_name_their_parent() {
        let v = Violation::new("email", "Required").nest("requests[2].account");
        assert_eq!(v.field, "requests[2].account.email");
    }
}
