//! `/webhooks/{kind}/{channelId}`: inbound provider webhooks. Each handler passes the raw bytes
//! and the provider's signature header to the engine, which verifies before parsing and answers
//! only once the body is durable. Errors: missing signature 401, bad signature 403, malformed
//! body 400, unknown channel 404, queue full 429 and store down 503 (both with `Retry-After`:
//! providers redeliver, so nothing is lost).

mod api_channel;
mod telegram;
mod twilio;
mod whatsapp;

use axum::http::HeaderMap;
use serde::Serialize;
use switchboard_core::ChannelId;
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

/// Hands a webhook to the engine and reports what it stored.
async fn ingest(
    state: &ApiState,
    channel_id: ChannelId,
    webhook: Webhook,
    body: &[u8],
) -> Result<Json<Received>, ApiError> {
    Ok(Json(
        state
            .engine
            .ingest_webhook(channel_id, webhook, body)
            .await?
            .into(),
    ))
}

/// A header's value as text, if present and valid.
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}
