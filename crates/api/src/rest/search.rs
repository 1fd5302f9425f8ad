//! `GET /api/v1/search/messages`.

use axum::extract::State;
use switchboard_api_types::{ErrorBody, SearchHitView, SearchParams};
use switchboard_core::Page;

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Query};
use crate::{ApiError, ApiState};

/// Full-text search over your tenant's message text, best match first.
#[utoipa::path(get, path = "/search/messages", tag = "messages", params(SearchParams),
    responses((status = 200, body = Page<SearchHitView>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn search_messages(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<SearchParams>,
) -> Result<Json<Page<SearchHitView>>, ApiError> {
    let page = page(params.limit, params.cursor);
    let hits = state
        .engine
        .search_messages(&caller, &params.q, params.conversation_id, &page)
        .await?;
    Ok(Json(hits.map(|hit| SearchHitView {
        message: hit.message,
        rank: hit.rank,
    })))
}
