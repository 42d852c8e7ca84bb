//! The REST error object, and how gRPC statuses from the services become
//! one: the statuses of the Payload reference, field violations as
//! per-attribute details (Payload's list shape for list bodies), and no
//! internal detail ever sent.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use paymesh_gateway::error::ApiError;
use paymesh_kit::{Error, Violation};
use serde_json::json;

/// Violations named as a request for one account names them.
fn accounts(field: &str) -> (Option<usize>, Vec<String>) {
    let (index, rest) = match field.strip_prefix("requests[").and_then(|r| r.split_once("].")) {
        Some((i, rest)) => (i.parse().ok(), rest),
        None => (None, field),
    };
    (index, rest.trim_start_matches("account.").split('.').map(str::to_owned).collect())
}

#[test]
fn violations_become_rest_details() {
    let status: tonic::Status = Error::InvalidAttributes(vec![
        Violation::new("account.email", "Must be a valid email address"),
        Violation::new("account.name", "Required"),
    ])
    .into();
    let error = ApiError::from_status(&status, &accounts);
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    let body = error.body();
    assert_eq!(body["error_type"], "InvalidAttributes");
    assert_eq!(body["details"], json!({"email": "Must be a valid email address", "name": "Required"}));
    assert_eq!(body["description"], "Invalid attributes: email, name");
}

#[test]
fn batch_violations_become_payload_list_details() {
    let status: tonic::Status = Error::InvalidAttributes(vec![
        Violation::new("requests[1].account.email", "Must be a valid email address"),
        Violation::new("requests[3].account.name", "Required"),
    ])
    .into();
    let body = ApiError::from_status(&status, &accounts).body();
    assert_eq!(
        body["details"],
        json!({"object": "list", "values": [{}, {"email": "Must be a valid email address"}, {}, {"name": "Required"}]})
    );
    assert_eq!(body["description"], "Invalid attributes: values[1].email, values[3].name");
}

#[test]
fn statuses_map_to_the_seed_codes() {
    let cases: [(tonic::Status, StatusCode, &str); 8] = [
        (Error::NotFound { resource: "Account" }.into(), StatusCode::NOT_FOUND, "NotFound"),
        (Error::Unauthorized("x".into()).into(), StatusCode::UNAUTHORIZED, "Unauthorized"),
        (Error::Forbidden("x".into()).into(), StatusCode::FORBIDDEN, "Forbidden"),
        (Error::Conflict("x".into()).into(), StatusCode::CONFLICT, "Conflict"),
        (
            tonic::Status::unavailable("tcp connect error 127.0.0.1:50051"),
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
        ),
        // What tonic reports when a call's deadline expires.
        (tonic::Status::cancelled("Timeout expired"), StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        // A service without an RPC the contracts describe is out of step:
        // the partner did nothing wrong, and may retry.
        (
            tonic::Status::unimplemented("no such method"),
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
        ),
        (
            tonic::Status::internal("stack trace here"),
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
        ),
    ];
    for (status, http, error_type) in cases {
        let error = ApiError::from_status(&status, &accounts);
        let body = error.body();
        assert_eq!((error.status(), body["error_type"].as_str().unwrap()), (http, error_type), "{status:?}");
        let description = body["description"].as_str().unwrap();
        assert!(!description.contains("127.0.0.1") && !description.contains("stack"), "{description}");
    }
}
