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

/// Readiness: the store answers and, on a node of several, its Redis link carries heartbeats
/// (without it, this node's clients would miss what other nodes publish). The body names the
/// node, its Redis state and the partitions and keys it holds.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = Object), (status = 503, body = switchboard_api_types::ErrorBody)))]
pub(crate) async fn ready(
    State(state): State<ApiState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.engine.ready().await?;
    let store = state.engine.backend().as_str();
    let Some(node) = state.engine.node_report() else {
        return Ok(Json(json!({ "status": "ready", "store": store })));
    };
    if !node.redis.healthy {
        return Err(ApiError::Unavailable(
            format!(
                "node {} has no working Redis subscription (last heartbeat {:?} ms ago)",
                node.name, node.redis.last_heartbeat_ms
            )
            .into(),
        ));
    }
    Ok(Json(
        json!({ "status": "ready", "store": store, "node": node }),
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
    if let Some(queue) = state.engine.queue_node_stats() {
        metrics::gauge!("queue_depth").set(queue.depth as f64);
        metrics::gauge!("queue_in_flight").set(queue.in_flight as f64);
        metrics::gauge!("queue_parked").set(queue.parked as f64);
        metrics::gauge!("queue_workers").set(queue.workers as f64);
        metrics::gauge!("inbox_waiting").set(state.engine.inbox_waiting() as f64);
        metrics::counter!("queue_enqueued_total").absolute(queue.enqueued_total);
        metrics::counter!("queue_completed_total").absolute(queue.completed_total);
        metrics::counter!("queue_retried_total").absolute(queue.retried_total);
        metrics::counter!("queue_dead_total").absolute(queue.dead_total);
        // Deliveries sent again after a restart found them mid-send (same idempotency key).
        metrics::counter!("outbound_resends_total").absolute(queue.resent_total);
    }
    if let Some(node) = state.engine.node_report() {
        let labels = [
            ("node_id", node.node_id.clone()),
            ("name", node.name.clone()),
            ("role", node.role.as_str().to_owned()),
        ];
        metrics::gauge!("switchboard_node_info", &labels).set(1.0);
        if let Some(holdings) = &node.holdings {
            metrics::gauge!("cluster_partitions_held").set(holdings.partitions.len() as f64);
            metrics::gauge!("cluster_keys_held").set(holdings.keys as f64);
        }
    }
    crate::adapters::export_metrics(&state);
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
