//! `/admin/database/*`: statistics, size, index advice, query plans, planner statistics.

use axum::extract::State;
use switchboard_api_types::{AnalyzeQuery, ErrorBody, OptimizeReport, QueryPlan};
use switchboard_engine::{DatabaseMetrics, DatabaseSize, IndexSuggestion};

use crate::auth::Auth;
use crate::extract::Json;
use crate::{ApiError, ApiState};

/// Pool usage, per-table row counts and sizes, and the slowest statements where the backend
/// records them.
#[utoipa::path(get, path = "/admin/database/metrics", tag = "admin",
    responses((status = 200, body = Object), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn metrics(
    State(state): State<ApiState>,
    Auth(caller): Auth,
) -> Result<Json<DatabaseMetrics>, ApiError> {
    Ok(Json(state.engine.database_metrics(&caller).await?))
}

#[utoipa::path(get, path = "/admin/database/size", tag = "admin",
    responses((status = 200, body = Object), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn size(
    State(state): State<ApiState>,
    Auth(caller): Auth,
) -> Result<Json<DatabaseSize>, ApiError> {
    Ok(Json(state.engine.database_size(&caller).await?))
}

/// Indexes worth adding (hot queries that scan) or dropping (never used).
#[utoipa::path(get, path = "/admin/database/index-suggestions", tag = "admin",
    responses((status = 200, body = [Object]), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn index_suggestions(
    State(state): State<ApiState>,
    Auth(caller): Auth,
) -> Result<Json<Vec<IndexSuggestion>>, ApiError> {
    Ok(Json(state.engine.index_suggestions(&caller).await?))
}

/// The plan of one read-only SELECT, which is never executed. Anything else is a 422.
#[utoipa::path(post, path = "/admin/database/analyze-query", tag = "admin", request_body = AnalyzeQuery,
    responses((status = 200, body = QueryPlan), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn analyze_query(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Json(body): Json<AnalyzeQuery>,
) -> Result<Json<QueryPlan>, ApiError> {
    let plan = state.engine.analyze_query(&caller, &body.query).await?;
    Ok(Json(QueryPlan {
        backend: state.engine.backend().as_str().to_owned(),
        plan,
    }))
}

/// Refreshes the query planner's statistics (ANALYZE; on SQLite also `PRAGMA optimize`).
#[utoipa::path(post, path = "/admin/database/optimize", tag = "admin",
    responses((status = 200, body = OptimizeReport), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn optimize(
    State(state): State<ApiState>,
    Auth(caller): Auth,
) -> Result<Json<OptimizeReport>, ApiError> {
    let ran = state.engine.optimize_database(&caller).await?;
    Ok(Json(OptimizeReport {
        backend: state.engine.backend().as_str().to_owned(),
        ran: ran.into_iter().map(str::to_owned).collect(),
    }))
}
