//! The API channel: signed JSON from the customer's web chat or app.

use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use switchboard_api_types::ErrorBody;
use switchboard_core::{ChannelId, ChannelKind};

use super::Received;
use crate::extract::{Json, Path, RawBody};
use crate::{ApiError, ApiState};

/// `{messageId, from:{id,name?}, text, priority?}` signed with
/// `X-Switchboard-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.
#[utoipa::path(post, path = "/webhooks/api/{channelId}", tag = "webhooks",
    params(("channelId" = ChannelId, Path)), request_body(content = Object, description = "{messageId, from:{id,name?}, text, priority?}"),
    responses((status = 200, body = Received), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn receive(
    State(state): State<ApiState>,
    Path(channel_id): Path<ChannelId>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Received>, ApiError> {
    let request = (&headers, &uri, &body[..]);
    super::ingest(&state, ChannelKind::Api, channel_id, request).await
}
