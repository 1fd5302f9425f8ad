//! `/api/v1/queue/stats` and `/api/v1/dead-letters`.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{ErrorBody, ListParams};
use switchboard_core::{Page, QueueEntry, QueueEntryId};
use switchboard_engine::QueueReport;

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Path, Query};
use crate::middleware::no_content;
use crate::{ApiError, ApiState};

/// Stored entries by state and the age of the oldest waiting one; for platform admins also this
/// node's dispatcher (depth, in flight, workers, rates per second).
#[utoipa::path(get, path = "/queue/stats", tag = "queue",
    responses((status = 200, body = Object), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn queue_stats(
    State(state): State<ApiState>,
    Auth(caller): Auth,
) -> Result<Json<QueueReport>, ApiError> {
    Ok(Json(state.engine.queue_stats(&caller).await?))
}

/// Entries that gave up after their attempts, with their last error.
#[utoipa::path(get, path = "/dead-letters", tag = "queue", params(ListParams),
    responses((status = 200, body = Page<QueueEntry>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_dead_letters(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<QueueEntry>>, ApiError> {
    Ok(Json(
        state
            .engine
            .list_dead_letters(&caller, &page(params.limit, params.cursor))
            .await?,
    ))
}

/// Queues a dead letter again, at the end of its ordering key, with fresh attempts.
#[utoipa::path(post, path = "/dead-letters/{id}/retry", tag = "queue", params(("id" = QueueEntryId, Path)),
    responses((status = 200, body = QueueEntry), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn retry_dead_letter(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<QueueEntryId>,
) -> Result<Json<QueueEntry>, ApiError> {
    Ok(Json(state.engine.retry_dead_letter(&caller, id).await?))
}

#[utoipa::path(delete, path = "/dead-letters/{id}", tag = "queue", params(("id" = QueueEntryId, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn discard_dead_letter(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<QueueEntryId>,
) -> Result<StatusCode, ApiError> {
    state.engine.discard_dead_letter(&caller, id).await?;
    Ok(no_content())
}
