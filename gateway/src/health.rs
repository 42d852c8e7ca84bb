//! Liveness and readiness for orchestrators.
//!
//! `/healthz` answers while the process runs. `/readyz` also asks every
//! service the gateway depends on for its gRPC health, and answers 503 until
//! all of them serve.

use std::time::Duration;

use axum::{Json, extract::State, response::IntoResponse};
use serde_json::json;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::{AppState, error::ApiError};

/// `GET /healthz`.
pub(crate) async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`.
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let mut request = tonic::Request::new(HealthCheckRequest { service: String::new() });
    request.set_timeout(Duration::from_secs(2));
    let identity = match state.health.clone().check(request).await {
        Ok(response) if response.get_ref().status == ServingStatus::Serving as i32 => "serving",
        Ok(_) => "not_serving",
        Err(_) => "unreachable",
    };
    if identity == "serving" {
        Ok(Json(json!({"status": "ready", "services": {"identity": identity}})))
    } else {
        Err(ApiError::unavailable(format!("The identity service is {identity}")))
    }
}
