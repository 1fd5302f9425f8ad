//! `/api/v1/conversations/{id}/participants`.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{AddParticipant, ErrorBody};
use switchboard_core::{ConversationId, Page, Participant, ParticipantId};
use switchboard_engine::{EngineError, ParticipantInput};

use crate::auth::Auth;
use crate::extract::{Json, Path};
use crate::middleware::no_content;
use crate::{ApiError, ApiState};

/// Everyone in the conversation, in the order they joined (one page: conversations have few).
#[utoipa::path(get, path = "/conversations/{id}/participants", tag = "conversations",
    params(("id" = ConversationId, Path)),
    responses((status = 200, body = Page<Participant>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_participants(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ConversationId>,
) -> Result<Json<Page<Participant>>, ApiError> {
    let participants = state.engine.list_participants(&caller, id).await?;
    Ok(Json(Page {
        data: participants,
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/conversations/{id}/participants", tag = "conversations",
    params(("id" = ConversationId, Path)), request_body = AddParticipant,
    responses((status = 201, body = Participant), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn add_participant(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ConversationId>,
    Json(body): Json<AddParticipant>,
) -> Result<(StatusCode, Json<Participant>), ApiError> {
    let participant = ParticipantInput {
        user_id: body.user_id,
        contact_id: body.contact_id,
        agent_id: body.agent_id,
        role: body.role,
    }
    .into_new()
    .map_err(EngineError::from)?;
    let added = state
        .engine
        .add_participant(&caller, id, participant)
        .await?;
    Ok((StatusCode::CREATED, Json(added)))
}

#[utoipa::path(delete, path = "/conversations/{id}/participants/{participantId}", tag = "conversations",
    params(("id" = ConversationId, Path), ("participantId" = ParticipantId, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn remove_participant(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path((id, participant_id)): Path<(ConversationId, ParticipantId)>,
) -> Result<StatusCode, ApiError> {
    state
        .engine
        .remove_participant(&caller, id, participant_id)
        .await?;
    Ok(no_content())
}
