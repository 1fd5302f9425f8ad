//! Voice: the provider's status callbacks (Twilio-signed forms) and the voice pipeline's call
//! reports (JSON signed like the API channel), both under the voice channel's id.

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header as http_header};
use axum::response::IntoResponse;
use serde::Serialize;
use switchboard_api_types::ErrorBody;
use switchboard_core::ChannelId;
use switchboard_engine::EMPTY_TWIML;
use utoipa::ToSchema;

use crate::extract::{Json, Path, RawBody};
use crate::{ApiError, ApiState};

/// A call's status callback (`CallSid`, `CallStatus`, `CallDuration`, `AnsweredBy`,
/// `SequenceNumber`), signed with `X-Twilio-Signature`. Statuses move forward only: repeated
/// and late callbacks change nothing.
#[utoipa::path(post, path = "/webhooks/voice/{channelId}/status", tag = "webhooks",
    params(("channelId" = ChannelId, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Empty TwiML", content_type = "text/xml"),
        (status = "4XX", body = ErrorBody)))]
pub(crate) async fn receive_status(
    State(state): State<ApiState>,
    Path(channel_id): Path<ChannelId>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ApiError> {
    let webhook = super::webhook(&state, &headers, &uri, &body);
    state.engine.voice_status(channel_id, webhook).await?;
    Ok(([(http_header::CONTENT_TYPE, "text/xml")], EMPTY_TWIML))
}

/// What a report stored.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportStored {
    /// Transcript turns stored as messages now (0 when the report came before).
    pub turns: usize,
}

/// A call's report from the voice pipeline: transcript turns (stored as the call's
/// conversation's messages, searchable), summary and outcome fields; emits `call_analyzed`.
/// Signed with `X-Switchboard-Signature` keyed by the channel's auth token.
#[utoipa::path(post, path = "/webhooks/voice/{channelId}/report", tag = "webhooks",
    params(("channelId" = ChannelId, Path)),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, body = ReportStored), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn receive_report(
    State(state): State<ApiState>,
    Path(channel_id): Path<ChannelId>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<ReportStored>), ApiError> {
    let webhook = super::webhook(&state, &headers, &uri, &body);
    let turns = state.engine.voice_report(channel_id, webhook).await?;
    Ok((StatusCode::OK, Json(ReportStored { turns })))
}
