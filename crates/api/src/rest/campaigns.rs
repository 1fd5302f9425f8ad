//! `/api/v1/campaigns`: create a campaign (a draft with a call per contact), follow its live
//! counts, and start, pause, resume or cancel it.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{CreateCampaign, ErrorBody, ListParams};
use switchboard_core::{Campaign, CampaignId, CampaignStatus, Page};
use switchboard_engine::CampaignRequest;

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Path, Query};
use crate::{ApiError, ApiState};

#[utoipa::path(post, path = "/campaigns", tag = "campaigns", request_body = CreateCampaign,
    responses((status = 201, body = Campaign), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn create_campaign(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Json(body): Json<CreateCampaign>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    let request = CampaignRequest {
        name: body.name,
        channel_id: body.channel_id,
        agent_id: body.agent_id,
        contact_ids: body.contact_ids,
        schedule: body.schedule,
        max_concurrent_calls: body.max_concurrent_calls,
        calls_per_second: body.calls_per_second,
        retry: body.retry,
    };
    let campaign = state.engine.create_campaign(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

#[utoipa::path(get, path = "/campaigns", tag = "campaigns", params(ListParams),
    responses((status = 200, body = Page<Campaign>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_campaigns(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<Campaign>>, ApiError> {
    let page = page(params.limit, params.cursor);
    Ok(Json(state.engine.list_campaigns(&caller, &page).await?))
}

/// A campaign with live counts per status and outcome, answer rate, durations and attempts.
#[utoipa::path(get, path = "/campaigns/{id}", tag = "campaigns",
    params(("id" = CampaignId, Path)),
    responses((status = 200, body = Campaign), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_campaign(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<CampaignId>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(state.engine.get_campaign(&caller, id).await?))
}

async fn control(
    state: &ApiState,
    caller: &switchboard_core::Caller,
    id: CampaignId,
    to: CampaignStatus,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(state.engine.control_campaign(caller, id, to).await?))
}

/// Starts a draft campaign: its calls are dialled inside their windows.
#[utoipa::path(post, path = "/campaigns/{id}/start", tag = "campaigns",
    params(("id" = CampaignId, Path)),
    responses((status = 200, body = Campaign), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn start_campaign(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<CampaignId>,
) -> Result<Json<Campaign>, ApiError> {
    control(&state, &caller, id, CampaignStatus::Running).await
}

/// Pauses a running campaign: no new dials; calls on the line finish.
#[utoipa::path(post, path = "/campaigns/{id}/pause", tag = "campaigns",
    params(("id" = CampaignId, Path)),
    responses((status = 200, body = Campaign), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn pause_campaign(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<CampaignId>,
) -> Result<Json<Campaign>, ApiError> {
    control(&state, &caller, id, CampaignStatus::Paused).await
}

/// Resumes a paused campaign.
#[utoipa::path(post, path = "/campaigns/{id}/resume", tag = "campaigns",
    params(("id" = CampaignId, Path)),
    responses((status = 200, body = Campaign), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn resume_campaign(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<CampaignId>,
) -> Result<Json<Campaign>, ApiError> {
    control(&state, &caller, id, CampaignStatus::Running).await
}

/// Cancels a campaign: queued calls end `canceled`; calls on the line finish, never retried.
#[utoipa::path(post, path = "/campaigns/{id}/cancel", tag = "campaigns",
    params(("id" = CampaignId, Path)),
    responses((status = 200, body = Campaign), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn cancel_campaign(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<CampaignId>,
) -> Result<Json<Campaign>, ApiError> {
    control(&state, &caller, id, CampaignStatus::Cancelled).await
}
