//! Telegram bot updates, authenticated by the secret token set with `setWebhook`.

use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use switchboard_api_types::ErrorBody;
use switchboard_core::{ChannelId, ChannelKind};

use super::Received;
use crate::extract::{Json, Path, RawBody};
use crate::{ApiError, ApiState};

/// One update, with `X-Telegram-Bot-Api-Secret-Token`.
#[utoipa::path(post, path = "/webhooks/telegram/{channelId}", tag = "webhooks",
    params(("channelId" = ChannelId, Path)), request_body(content = Object, description = "A Telegram Update"),
    responses((status = 200, body = Received), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn receive(
    State(state): State<ApiState>,
    Path(channel_id): Path<ChannelId>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Received>, ApiError> {
    let request = (&headers, &uri, &body[..]);
    super::ingest(&state, ChannelKind::Telegram, channel_id, request).await
}
