//! `/api/v1/conversations` and the read marker.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{
    ConversationListParams, CreateConversation, ErrorBody, HandOff, MarkRead, UpdateConversation,
};
use switchboard_core::{Conversation, ConversationId, Page, Participant};
use switchboard_engine::{ConversationFilter, ConversationInput, ConversationUpdate};
use time::format_description::well_known::Rfc3339;

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Path, Query, RawBody};
use crate::{ApiError, ApiState};

#[utoipa::path(post, path = "/conversations", tag = "conversations", request_body = CreateConversation,
    responses((status = 201, body = Conversation), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn create_conversation(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Json(body): Json<CreateConversation>,
) -> Result<(StatusCode, Json<Conversation>), ApiError> {
    let input = ConversationInput {
        channel_id: body.channel_id,
        contact_id: body.contact_id,
        conversation_type: body.conversation_type,
        business_id: body.business_id,
        agent_id: body.agent_id,
    };
    Ok((
        StatusCode::CREATED,
        Json(state.engine.create_conversation(&caller, input).await?),
    ))
}

/// Conversations, newest activity first, each with your `unreadCount` and a `lastMessage` preview;
/// `unread=true` keeps those you have not read, `assigned=me` those you operate and
/// `assigned=nobody` those no one operates.
#[utoipa::path(get, path = "/conversations", tag = "conversations", params(ConversationListParams),
    responses((status = 200, body = Page<Conversation>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_conversations(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<ConversationListParams>,
) -> Result<Json<Page<Conversation>>, ApiError> {
    let updated_since = params
        .updated_since
        .as_deref()
        .map(|text| time::OffsetDateTime::parse(text, &Rfc3339))
        .transpose()
        .map_err(|_| ApiError::BadRequest("updatedSince: expected an RFC 3339 time".into()))?;
    let filter = ConversationFilter {
        status: params.status,
        channel_id: params.channel_id,
        contact_id: params.contact_id,
        conversation_type: params.conversation_type,
        business_id: params.business_id,
        updated_since,
        participant: None,
        unread: params.unread.unwrap_or(false),
        assigned: params.assigned,
    };
    let page = page(params.limit, params.cursor);
    Ok(Json(
        state
            .engine
            .list_conversations(&caller, &filter, &page)
            .await?,
    ))
}

#[utoipa::path(get, path = "/conversations/{id}", tag = "conversations", params(("id" = ConversationId, Path)),
    responses((status = 200, body = Conversation), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_conversation(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ConversationId>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(state.engine.get_conversation(&caller, id).await?))
}

#[utoipa::path(patch, path = "/conversations/{id}", tag = "conversations", params(("id" = ConversationId, Path)),
    request_body = UpdateConversation,
    responses((status = 200, body = Conversation), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn update_conversation(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ConversationId>,
    Json(body): Json<UpdateConversation>,
) -> Result<Json<Conversation>, ApiError> {
    let update = ConversationUpdate {
        status: body.status,
        agent_id: body.agent_id,
        business_id: body.business_id,
    };
    Ok(Json(
        state
            .engine
            .update_conversation(&caller, id, update)
            .await?,
    ))
}

/// Hands the conversation to humans: it becomes `pending`, and `assigneeId` (if given) joins as
/// its operator, or becomes one if they only observed it. The agent stays silent until it is released; inbound messages are still stored,
/// and messages posted to it go out through its channel. The body is optional.
#[utoipa::path(post, path = "/conversations/{id}/handoff", tag = "conversations",
    params(("id" = ConversationId, Path)), request_body = HandOff,
    responses((status = 200, body = Conversation), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn hand_off_conversation(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ConversationId>,
    RawBody(body): RawBody,
) -> Result<Json<Conversation>, ApiError> {
    let assignee = optional_body::<HandOff>(&body)?.and_then(|body| body.assignee_id);
    Ok(Json(
        state
            .engine
            .hand_off_conversation(&caller, id, assignee)
            .await?,
    ))
}

/// Gives a handed-off conversation back to its agent (`open`): the agent answers the next
/// inbound message.
#[utoipa::path(post, path = "/conversations/{id}/release", tag = "conversations",
    params(("id" = ConversationId, Path)),
    responses((status = 200, body = Conversation), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn release_conversation(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ConversationId>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(state.engine.release_conversation(&caller, id).await?))
}

/// Moves your read marker forward (to `seq`, or to the newest message). Returns your participant
/// entry; you join as an observer if you were not a participant.
#[utoipa::path(post, path = "/conversations/{id}/read", tag = "conversations",
    params(("id" = ConversationId, Path)), request_body = MarkRead,
    responses((status = 200, body = Participant), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn mark_read(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ConversationId>,
    RawBody(body): RawBody,
) -> Result<Json<Participant>, ApiError> {
    // The body is optional: empty means "everything read".
    let seq = optional_body::<MarkRead>(&body)?.and_then(|body| body.seq);
    Ok(Json(state.engine.mark_read(&caller, id, seq).await?))
}

/// A JSON body that may be left out (empty).
fn optional_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Option<T>, ApiError> {
    if body.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|error| ApiError::Validation {
            field: None,
            message: error.to_string(),
        })
}
