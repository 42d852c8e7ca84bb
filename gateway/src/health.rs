//! Liveness and readiness for orchestrators.
//!
//! `/healthz` answers while the process runs. `/readyz` also asks every
//! service the gateway depends on for its gRPC health, and answers 503 until
//! all of them serve; its detail shows how far behind each outbox relay
//! running in this process is (`outbox_lag_seconds`, by schema: in
//! `paymesh all`, every service's), which does not make it unready — events
//! reach their log late, nothing is lost.

use std::time::Duration;

use axum::{Json, extract::State, response::IntoResponse};
use serde_json::json;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::{error::ApiError, state::AppState};

/// `GET /healthz`.
pub(crate) async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`.
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let mut services = serde_json::Map::new();
    let mut not_ready = Vec::new();
    for (name, client) in &state.health {
        let mut request = tonic::Request::new(HealthCheckRequest { service: String::new() });
        request.set_timeout(Duration::from_secs(2));
        let status = match client.clone().check(request).await {
            Ok(response) if response.get_ref().status == ServingStatus::Serving as i32 => "serving",
            Ok(_) => "not_serving",
            Err(_) => "unreachable",
        };
        if status != "serving" {
            not_ready.push(format!("the {name} service is {status}"));
        }
        services.insert(name.clone(), json!(status));
    }
    if not_ready.is_empty() {
        let lags = paymesh_kit::metrics::metrics().outbox_lags();
        Ok(Json(json!({"status": "ready", "services": services, "outbox_lag_seconds": lags})))
    } else {
        let mut why = not_ready.join("; ");
        if let Some(first) = why.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        Err(ApiError::unavailable(why))
    }
}
