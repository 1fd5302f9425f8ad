//! Twilio SMS: form bodies signed over the public URL and the sorted parameters.

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, header as http_header};
use axum::response::IntoResponse;
use switchboard_api_types::ErrorBody;
use switchboard_core::{ChannelId, ChannelKind};
use switchboard_engine::EMPTY_TWIML;

use crate::extract::{Path, RawBody};
use crate::{ApiError, ApiState};

/// Inbound SMS and status callbacks, signed with `X-Twilio-Signature`; answers empty TwiML.
#[utoipa::path(post, path = "/webhooks/twilio/{channelId}", tag = "webhooks",
    params(("channelId" = ChannelId, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Empty TwiML", content_type = "text/xml"), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn receive(
    State(state): State<ApiState>,
    Path(channel_id): Path<ChannelId>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
    let request = (&headers, &uri, &body[..]);
    super::ingest(&state, ChannelKind::Twilio, channel_id, request).await?;
    Ok(([(http_header::CONTENT_TYPE, "text/xml")], EMPTY_TWIML))
}
