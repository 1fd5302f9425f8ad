//! `/api/v1/channels`: secrets go in, never come out.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{
    ChannelView, CreateChannel, CreatedChannel, ErrorBody, ListParams, UpdateChannel,
};
use switchboard_core::{ChannelId, Page};
use switchboard_engine::{ChannelChanges, ChannelInput};

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Path, Query};
use crate::middleware::no_content;
use crate::{ApiError, ApiState};

#[utoipa::path(post, path = "/channels", tag = "channels", request_body = CreateChannel,
    responses((status = 201, body = CreatedChannel), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn create_channel(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Json(body): Json<CreateChannel>,
) -> Result<(StatusCode, Json<CreatedChannel>), ApiError> {
    let input = ChannelInput {
        kind: body.kind,
        name: body.name,
        agent_id: body.agent_id,
        config: body.config,
    };
    let created = state.engine.create_channel(&caller, input).await?;
    let created = CreatedChannel {
        channel: created.channel.into(),
        signing_secret: created
            .generated_signing_secret
            .map(|secret| secret.expose().to_owned()),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/channels", tag = "channels", params(ListParams),
    responses((status = 200, body = Page<ChannelView>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_channels(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<ChannelView>>, ApiError> {
    let channels = state
        .engine
        .list_channels(&caller, &page(params.limit, params.cursor))
        .await?;
    Ok(Json(channels.map(ChannelView::from)))
}

#[utoipa::path(get, path = "/channels/{id}", tag = "channels", params(("id" = ChannelId, Path)),
    responses((status = 200, body = ChannelView), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_channel(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ChannelId>,
) -> Result<Json<ChannelView>, ApiError> {
    Ok(Json(state.engine.get_channel(&caller, id).await?.into()))
}

#[utoipa::path(patch, path = "/channels/{id}", tag = "channels", params(("id" = ChannelId, Path)),
    request_body = UpdateChannel,
    responses((status = 200, body = ChannelView), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn update_channel(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ChannelId>,
    Json(body): Json<UpdateChannel>,
) -> Result<Json<ChannelView>, ApiError> {
    let changes = ChannelChanges {
        name: body.name,
        agent_id: body.agent_id,
        config: body.config,
    };
    Ok(Json(
        state
            .engine
            .update_channel(&caller, id, changes)
            .await?
            .into(),
    ))
}

/// Deletes a channel without conversations (409 otherwise).
#[utoipa::path(delete, path = "/channels/{id}", tag = "channels", params(("id" = ChannelId, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn delete_channel(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ChannelId>,
) -> Result<StatusCode, ApiError> {
    state.engine.delete_channel(&caller, id).await?;
    Ok(no_content())
}
