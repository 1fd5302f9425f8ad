//! `/webhooks/{kind}/{channelId}`: inbound provider webhooks. Each handler passes the raw bytes
//! and the provider's signature header to the engine, which verifies before parsing and answers
//! only once the body is durable. Errors: missing signature 401, bad signature 403, malformed
//! body 400, unknown channel 404, queue full 429 and store down 503 (both with `Retry-After`:
//! providers redeliver, so nothing is lost).

mod api_channel;
mod telegram;
mod twilio;
mod voice;
mod whatsapp;

use axum::http::{HeaderMap, Uri};
use serde::Serialize;
use switchboard_core::{ChannelId, ChannelKind};
use switchboard_engine::{IngestReport, Webhook};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::Json;
use crate::{ApiError, ApiState};

pub(crate) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(whatsapp::verify_subscription, whatsapp::receive))
        .routes(routes!(twilio::receive))
        .routes(routes!(telegram::receive))
        .routes(routes!(api_channel::receive))
        .routes(routes!(voice::receive_status))
        .routes(routes!(voice::receive_report))
}

/// What a webhook body changed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Received {
    /// New messages stored and queued.
    pub accepted: usize,
    /// Messages already stored (redeliveries): nothing changed.
    pub duplicates: usize,
    /// Delivery receipts that moved a message's status forward.
    pub statuses: usize,
}

impl From<IngestReport> for Received {
    fn from(report: IngestReport) -> Self {
        Self {
            accepted: report.accepted,
            duplicates: report.duplicates,
            statuses: report.statuses,
        }
    }
}

/// Hands a webhook posted to a channel of `kind` to the engine and reports what it stored.
async fn ingest(
    state: &ApiState,
    kind: ChannelKind,
    channel_id: ChannelId,
    request: (&HeaderMap, &Uri, &[u8]),
) -> Result<Json<Received>, ApiError> {
    let (headers, uri, body) = request;
    let webhook = webhook(state, headers, uri, body);
    let report = state
        .engine
        .ingest_webhook(channel_id, kind, webhook)
        .await?;
    Ok(Json(report.into()))
}

/// A webhook as it arrived, received now, at the URL the provider called.
fn webhook<'a>(
    state: &'a ApiState,
    headers: &'a HeaderMap,
    uri: &'a Uri,
    body: &'a [u8],
) -> Webhook<'a> {
    Webhook {
        headers,
        path_and_query: uri
            .path_and_query()
            .map_or(uri.path(), |path| path.as_str()),
        public_base_url: state.public_base_url.as_deref(),
        body,
        received_at: time::OffsetDateTime::now_utc(),
    }
}
