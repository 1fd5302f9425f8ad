//! Realtime streams over real WebSockets against a running server, on SQLite and PostgreSQL:
//! agent events in order, resume by offset (also across a restart), lost epochs, slow
//! consumers, authentication and per-user isolation.

mod access;
mod graphql;
mod sse;
mod streams;

use serde_json::json;
use switchboard_test_support::pipeline::{Pipeline, created, whatsapp_text};
use switchboard_test_support::{TestApp, TestDatabase};
use tokio_util::sync::CancellationToken;

/// An app with an app (API) channel that has no callback, and that channel's id.
pub async fn app_with_channel(database: TestDatabase) -> anyhow::Result<(TestApp, String)> {
    let app = TestApp::spawn(database, CancellationToken::new()).await?;
    let channel = json!({"kind": "api", "name": "App", "config": {"signingSecret": "s3cret"}});
    let channel = created(app.post("/api/v1/channels", &app.admin(), channel).await?)?;
    Ok((app, channel))
}

/// The `/ws` address of `app`.
pub fn ws_url(app: &TestApp) -> String {
    app.url("/ws").replacen("http://", "ws://", 1)
}

/// The event types of event frames (or GraphQL stream items): `frame.event.type`.
pub fn kinds(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .map(|frame| {
            frame["event"]["type"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The offsets of event frames (or GraphQL stream items).
pub fn offsets(events: &[serde_json::Value]) -> Vec<u64> {
    events
        .iter()
        .map(|frame| frame["offset"].as_u64().unwrap_or_default())
        .collect()
}

/// Sends one WhatsApp message and waits until it is answered and the answer sent.
pub async fn converse(pipeline: &Pipeline, id: &str, text: &str) -> anyhow::Result<()> {
    let reply = pipeline
        .whatsapp_webhook(&whatsapp_text("972500000001", id, text), None)
        .await?;
    anyhow::ensure!(reply.status == 200, "{}", reply.text);
    pipeline.settle().await
}
