//! Realtime streams over real WebSockets against a running server, on SQLite and PostgreSQL:
//! agent events in order, resume by offset (also across a restart), lost epochs, slow
//! consumers, authentication and per-user isolation.

mod access;
mod sse;
mod streams;

use serde_json::json;
use switchboard_test_support::pipeline::created;
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
