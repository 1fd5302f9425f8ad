//! Operational endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

use crate::extract::Json;
use crate::{ApiError, ApiState};

/// Liveness: answers without touching anything.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The process is up", body = Object)))]
pub(crate) async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the store answers.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = Object), (status = 503, body = switchboard_api_types::ErrorBody)))]
pub(crate) async fn ready(
    State(state): State<ApiState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.engine.ready().await?;
    Ok(Json(
        json!({ "status": "ready", "store": state.engine.backend().as_str() }),
    ))
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    let pool = state.engine.pool_stats();
    metrics::gauge!("store_pool_connections", "state" => "open").set(f64::from(pool.size));
    metrics::gauge!("store_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("store_pool_connections", "state" => "max").set(f64::from(pool.max));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI document", body = Object)))]
pub(crate) async fn openapi_document() -> impl IntoResponse {
    axum::Json(crate::openapi())
}
