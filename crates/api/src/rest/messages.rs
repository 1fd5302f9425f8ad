//! `/api/v1/conversations/{id}/messages` and `/api/v1/messages/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{ErrorBody, MessageListOrder, MessageListParams, PostMessage};
use switchboard_core::{ConversationId, Message, MessageId, Page};
use switchboard_engine::{MessageInput, MessageOrder};

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Path, Query};
use crate::{ApiError, ApiState};

/// Posts an outbound message as you; it takes the conversation's next `seq`. With an
/// `idempotencyKey` already used in the conversation: 200 and the message it posted.
#[utoipa::path(post, path = "/conversations/{id}/messages", tag = "messages",
    params(("id" = ConversationId, Path)), request_body = PostMessage,
    responses((status = 201, body = Message), (status = 200, body = Message), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn post_message(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ConversationId>,
    Json(body): Json<PostMessage>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let input = MessageInput {
        text: body.text,
        message_type: body.message_type,
        content: body.content,
        idempotency_key: body.idempotency_key,
    };
    let posted = state.engine.post_message(&caller, id, input).await?;
    let status = if posted.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(posted.message)))
}

/// Messages by `seq`: newest first by default (`order=desc`), or oldest first (`order=asc`).
/// Deleted messages keep their place with no content.
#[utoipa::path(get, path = "/conversations/{id}/messages", tag = "messages",
    params(("id" = ConversationId, Path), MessageListParams),
    responses((status = 200, body = Page<Message>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_messages(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ConversationId>,
    Query(params): Query<MessageListParams>,
) -> Result<Json<Page<Message>>, ApiError> {
    let order = match params.order.unwrap_or_default() {
        MessageListOrder::Desc => MessageOrder::Backward,
        MessageListOrder::Asc => MessageOrder::Forward,
    };
    let page = page(params.limit, params.cursor);
    Ok(Json(
        state
            .engine
            .list_messages(&caller, id, order, &page)
            .await?,
    ))
}

#[utoipa::path(get, path = "/messages/{id}", tag = "messages", params(("id" = MessageId, Path)),
    responses((status = 200, body = Message), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_message(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<MessageId>,
) -> Result<Json<Message>, ApiError> {
    Ok(Json(state.engine.get_message(&caller, id).await?))
}

/// Soft-deletes a message: it keeps its `seq`, loses its content, and leaves search.
#[utoipa::path(delete, path = "/messages/{id}", tag = "messages", params(("id" = MessageId, Path)),
    responses((status = 200, body = Message), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn delete_message(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<MessageId>,
) -> Result<Json<Message>, ApiError> {
    Ok(Json(state.engine.delete_message(&caller, id).await?))
}
