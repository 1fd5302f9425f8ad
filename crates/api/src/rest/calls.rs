//! `/api/v1/calls`: place a call now or at a time, list calls by campaign and status, read one
//! with every attempt; `/api/v1/do-not-call`: the numbers never dialled.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{CallListParams, CreateCall, DoNotCallNumber, ErrorBody, ListParams};
use switchboard_core::{Call, CallId, Page};
use switchboard_engine::CallRequest;

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Path, Query};
use crate::{ApiError, ApiState};

/// Places a call to a contact or a number, now or at `at`; it is dialled inside the caps and
/// retried by outcome.
#[utoipa::path(post, path = "/calls", tag = "calls", request_body = CreateCall,
    responses((status = 201, body = Call), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn create_call(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Json(body): Json<CreateCall>,
) -> Result<(StatusCode, Json<Call>), ApiError> {
    let request = CallRequest {
        channel_id: body.channel_id,
        contact_id: body.contact_id,
        to: body.to,
        at: body.at,
        agent_id: body.agent_id,
        variables: body.variables,
        retry: body.retry,
    };
    let call = state.engine.place_call(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(call)))
}

/// Calls, oldest first, each with its attempts.
#[utoipa::path(get, path = "/calls", tag = "calls", params(CallListParams),
    responses((status = 200, body = Page<Call>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_calls(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<CallListParams>,
) -> Result<Json<Page<Call>>, ApiError> {
    let page = page(params.limit, params.cursor);
    let calls = state
        .engine
        .list_calls(&caller, params.campaign_id, params.status, &page)
        .await?;
    Ok(Json(calls))
}

/// A call with every attempt: times, provider id, status, outcome, duration, credits.
#[utoipa::path(get, path = "/calls/{id}", tag = "calls", params(("id" = CallId, Path)),
    responses((status = 200, body = Call), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_call(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<CallId>,
) -> Result<Json<Call>, ApiError> {
    Ok(Json(state.engine.get_call(&caller, id).await?))
}

/// Adds a number to the do-not-call list (again is harmless): it is never dialled.
#[utoipa::path(post, path = "/do-not-call", tag = "calls", request_body = DoNotCallNumber,
    responses((status = 201, body = DoNotCallNumber), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn add_do_not_call(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Json(body): Json<DoNotCallNumber>,
) -> Result<(StatusCode, Json<DoNotCallNumber>), ApiError> {
    let phone = state.engine.add_do_not_call(&caller, &body.phone).await?;
    Ok((StatusCode::CREATED, Json(DoNotCallNumber { phone })))
}

/// The do-not-call numbers, in order.
#[utoipa::path(get, path = "/do-not-call", tag = "calls", params(ListParams),
    responses((status = 200, body = Page<String>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_do_not_call(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<String>>, ApiError> {
    let page = page(params.limit, params.cursor);
    Ok(Json(state.engine.list_do_not_call(&caller, &page).await?))
}

/// Takes a number off the do-not-call list.
#[utoipa::path(delete, path = "/do-not-call/{phone}", tag = "calls",
    params(("phone" = String, Path, description = "E.164, `+` encoded as %2B")),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn remove_do_not_call(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(phone): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.remove_do_not_call(&caller, &phone).await?;
    Ok(StatusCode::NO_CONTENT)
}
