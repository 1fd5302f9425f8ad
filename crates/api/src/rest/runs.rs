//! `/api/v1/runs`: agent runs and their event logs.

use axum::extract::State;
use serde::Deserialize;
use switchboard_api_types::ErrorBody;
use switchboard_core::{ConversationId, Page, Run, RunId};
use utoipa::IntoParams;

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Path, Query};
use crate::{ApiError, ApiState};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunListParams {
    pub conversation_id: Option<ConversationId>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Runs, oldest first, optionally of one conversation.
#[utoipa::path(get, path = "/runs", tag = "runs", params(RunListParams),
    responses((status = 200, body = Page<Run>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_runs(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<RunListParams>,
) -> Result<Json<Page<Run>>, ApiError> {
    let page = page(params.limit, params.cursor);
    Ok(Json(
        state
            .engine
            .list_runs(&caller, params.conversation_id, &page)
            .await?,
    ))
}

/// One run with its `events` in order.
#[utoipa::path(get, path = "/runs/{id}", tag = "runs", params(("id" = RunId, Path)),
    responses((status = 200, body = Run), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_run(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<RunId>,
) -> Result<Json<Run>, ApiError> {
    Ok(Json(state.engine.get_run(&caller, id).await?))
}
