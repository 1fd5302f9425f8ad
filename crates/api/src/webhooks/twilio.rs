//! Twilio SMS: form bodies signed over the public URL and the sorted parameters.

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, header as http_header};
use axum::response::IntoResponse;
use switchboard_api_types::ErrorBody;
use switchboard_core::ChannelId;
use switchboard_engine::EMPTY_TWIML;
use switchboard_engine::Webhook;

use super::header;
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
    // Twilio signs the URL it called: behind a proxy that is the configured public address.
    let base = match &state.public_base_url {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => format!("http://{}", header(&headers, "host").unwrap_or_default()),
    };
    let path = uri
        .path_and_query()
        .map_or(uri.path(), |path| path.as_str());
    let webhook = Webhook::Twilio {
        signature: header(&headers, "x-twilio-signature"),
        url: format!("{base}{path}"),
    };
    state
        .engine
        .ingest_webhook(channel_id, webhook, &body)
        .await?;
    Ok(([(http_header::CONTENT_TYPE, "text/xml")], EMPTY_TWIML))
}
