//! The API channel: signed JSON from the customer's web chat or app.

use axum::extract::State;
use axum::http::HeaderMap;
use switchboard_api_types::ErrorBody;
use switchboard_core::ChannelId;
use switchboard_engine::Webhook;

use super::{Received, header};
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
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Received>, ApiError> {
    let webhook = Webhook::Api {
        signature: header(&headers, "x-switchboard-signature"),
    };
    super::ingest(&state, channel_id, webhook, &body).await
}
