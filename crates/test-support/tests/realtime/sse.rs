//! Server-sent events: the same streams, resumed with `Last-Event-ID`.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use switchboard_test_support::{TestApp, TestDatabase, backend_tests};

use crate::app_with_channel;
use switchboard_test_support::pipeline::created;

backend_tests!(a_conversation_stream_resumes_from_last_event_id_over_sse);

/// Reads SSE events (`id`, parsed `data`) from a streaming response.
pub struct EventReader {
    response: reqwest::Response,
    buffer: String,
}

impl EventReader {
    /// Opens `path`'s event stream as the app's admin, resuming after `last_event_id`.
    pub async fn open(app: &TestApp, path: &str, last_event_id: &str) -> anyhow::Result<Self> {
        let response = app
            .client
            .get(app.url(path))
            .bearer_auth(&app.admin_token)
            .header("last-event-id", last_event_id)
            .send()
            .await?;
        anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
        Ok(Self {
            response,
            buffer: String::new(),
        })
    }

    pub async fn next(&mut self) -> anyhow::Result<(Option<String>, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let id = block
                    .lines()
                    .find_map(|line| line.strip_prefix("id: ").or(line.strip_prefix("id:")))
                    .map(str::to_owned);
                let Some(data) = block
                    .lines()
                    .find_map(|line| line.strip_prefix("data: ").or(line.strip_prefix("data:")))
                else {
                    continue; // a keep-alive comment
                };
                return Ok((id, serde_json::from_str(data)?));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .context("no event in time")??
                .context("the stream ended")?;
            self.buffer.push_str(std::str::from_utf8(&chunk)?);
        }
    }
}

async fn a_conversation_stream_resumes_from_last_event_id_over_sse(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let (app, channel) = app_with_channel(database).await?;
    let admin = app.admin();
    // A group without a contact: operator messages are stored, with no delivery to follow.
    let conversation = created(
        app.post(
            "/api/v1/conversations",
            &admin,
            json!({"channelId": channel, "type": "group"}),
        )
        .await?,
    )?;
    let messages = format!("/api/v1/conversations/{conversation}/messages");
    for text in ["one", "two", "three"] {
        created(app.post(&messages, &admin, json!({"text": text})).await?)?;
    }

    let path = format!("/api/v1/conversations/{conversation}/events");
    let mut events = EventReader::open(&app, &path, "durable:1").await?;
    let (_, subscribed) = events.next().await?;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(subscribed["recovered"], true);
    for (expected_id, text) in [("durable:2", "two"), ("durable:3", "three")] {
        let (id, frame) = events.next().await?;
        assert_eq!(id.as_deref(), Some(expected_id));
        assert_eq!(frame["event"]["message"]["text"], text);
    }
    created(app.post(&messages, &admin, json!({"text": "four"})).await?)?;
    let (id, frame) = events.next().await?;
    assert_eq!(id.as_deref(), Some("durable:4"));
    assert_eq!(frame["event"]["type"], "message_created");

    // Another tenant's admin cannot follow it.
    let other = created(
        app.post("/api/v1/tenants", &admin, json!({"name": "other"}))
            .await?,
    )?;
    created(
        app.post(
            "/api/v1/users",
            &admin,
            json!({"username": "outsider", "password": "outsider-pass-1", "role": "admin", "tenantId": other}),
        )
        .await?,
    )?;
    let token = app.login("outsider", "outsider-pass-1").await?;
    let refused = app
        .client
        .get(app.url(&path))
        .bearer_auth(token)
        .send()
        .await?;
    assert_eq!(refused.status(), 404);
    Ok(())
}
