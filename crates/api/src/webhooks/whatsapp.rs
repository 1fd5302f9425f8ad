//! WhatsApp Cloud API: the subscription handshake (`GET`) and signed event bodies (`POST`).

use std::collections::HashMap;

use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use switchboard_api_types::ErrorBody;
use switchboard_core::{ChannelId, ChannelKind};

use super::Received;
use crate::extract::{Json, Path, Query, RawBody};
use crate::{ApiError, ApiState};

/// Echoes `hub.challenge` when `hub.mode=subscribe` and `hub.verify_token` match the channel.
#[utoipa::path(get, path = "/webhooks/whatsapp/{channelId}", tag = "webhooks",
    params(("channelId" = ChannelId, Path), ("hub.mode" = String, Query), ("hub.verify_token" = String, Query),
        ("hub.challenge" = String, Query)),
    responses((status = 200, description = "The challenge", content_type = "text/plain"),
        (status = "4XX", body = ErrorBody)))]
pub(crate) async fn verify_subscription(
    State(state): State<ApiState>,
    Path(channel_id): Path<ChannelId>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<String, ApiError> {
    let param = |name: &str| params.get(name).map(String::as_str);
    Ok(state
        .engine
        .verify_whatsapp_subscription(
            channel_id,
            param("hub.mode"),
            param("hub.verify_token"),
            param("hub.challenge"),
        )
        .await?)
}

/// Messages and status receipts, signed with `X-Hub-Signature-256`.
#[utoipa::path(post, path = "/webhooks/whatsapp/{channelId}", tag = "webhooks",
    params(("channelId" = ChannelId, Path)), request_body(content = Object, description = "A WhatsApp Cloud API webhook body"),
    responses((status = 200, body = Received), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn receive(
    State(state): State<ApiState>,
    Path(channel_id): Path<ChannelId>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Received>, ApiError> {
    let request = (&headers, &uri, &body[..]);
    super::ingest(&state, ChannelKind::Whatsapp, channel_id, request).await
}
