//! `/api/v1/agents`.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{AgentView, CreateAgent, ErrorBody, ListParams, UpdateAgent};
use switchboard_core::{AgentId, Page};
use switchboard_engine::{AgentChanges, AgentInput};

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Path, Query};
use crate::middleware::no_content;
use crate::{ApiError, ApiState};

#[utoipa::path(post, path = "/agents", tag = "agents", request_body = CreateAgent,
    responses((status = 201, body = AgentView), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn create_agent(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Json(body): Json<CreateAgent>,
) -> Result<(StatusCode, Json<AgentView>), ApiError> {
    let input = AgentInput {
        name: body.name,
        kind: body.kind,
        config: body.config,
        cost_per_run: body.cost_per_run,
    };
    let agent = state.engine.create_agent(&caller, input).await?;
    Ok((StatusCode::CREATED, Json(agent.into())))
}

#[utoipa::path(get, path = "/agents", tag = "agents", params(ListParams),
    responses((status = 200, body = Page<AgentView>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_agents(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<AgentView>>, ApiError> {
    let agents = state
        .engine
        .list_agents(&caller, &page(params.limit, params.cursor))
        .await?;
    Ok(Json(agents.map(AgentView::from)))
}

#[utoipa::path(get, path = "/agents/{id}", tag = "agents", params(("id" = AgentId, Path)),
    responses((status = 200, body = AgentView), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_agent(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<AgentId>,
) -> Result<Json<AgentView>, ApiError> {
    Ok(Json(state.engine.get_agent(&caller, id).await?.into()))
}

#[utoipa::path(patch, path = "/agents/{id}", tag = "agents", params(("id" = AgentId, Path)),
    request_body = UpdateAgent,
    responses((status = 200, body = AgentView), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn update_agent(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<AgentId>,
    Json(body): Json<UpdateAgent>,
) -> Result<Json<AgentView>, ApiError> {
    let changes = AgentChanges {
        name: body.name,
        config: body.config,
        cost_per_run: body.cost_per_run,
    };
    Ok(Json(
        state
            .engine
            .update_agent(&caller, id, changes)
            .await?
            .into(),
    ))
}

/// Deletes an agent no channel or conversation uses (409 otherwise).
#[utoipa::path(delete, path = "/agents/{id}", tag = "agents", params(("id" = AgentId, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn delete_agent(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<AgentId>,
) -> Result<StatusCode, ApiError> {
    state.engine.delete_agent(&caller, id).await?;
    Ok(no_content())
}
