//! `scheduling`: each iteration places one call an hour ahead (`POST /api/v1/calls` with `at`),
//! the calling platform's scheduling API (its target: 50 calls/s with p95 < 200 ms). Each worker
//! first creates a voice channel of its own; the calls wait queued for their time, so nothing
//! is dialled during the run. A refused call is an error.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use serde_json::json;

use crate::cluster::ClusterConnection;
use crate::http::Connection;
use crate::metrics::{ErrorKind, Metric, Recorder};
use crate::target::Auth;

pub struct SchedulingWorker {
    connection: ClusterConnection,
    recorder: Recorder,
    auth: Auth,
    /// This worker's number, and its calls so far: together they make each call's number.
    index: usize,
    placed: usize,
    channel: Option<String>,
}

impl SchedulingWorker {
    pub fn new(
        auth: Auth,
        connection: ClusterConnection,
        recorder: Recorder,
        index: usize,
    ) -> Self {
        Self {
            connection,
            recorder,
            auth,
            index,
            placed: 0,
            channel: None,
        }
    }

    /// One call placed an hour ahead (the worker's channel made first, unmeasured).
    pub async fn iterate(&mut self, scheduled: Instant) {
        let (node, connection) = self.connection.next_in_turn();
        let channel = match &self.channel {
            Some(channel) => channel.clone(),
            None => match voice_channel(connection, &self.auth, self.index).await {
                Ok(channel) => self.channel.insert(channel).clone(),
                Err(error) => {
                    let now = Instant::now();
                    self.recorder
                        .record(Metric::Scheduling, node, scheduled, now, Some(error));
                    return;
                }
            },
        };
        let to = format!("+1{:04}{:06}", self.index % 10_000, self.placed % 1_000_000);
        let at = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
        let at = at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let body = json!({"channelId": channel, "to": to, "at": at});
        let error = post_json(connection, &self.auth, "/api/v1/calls", &body)
            .await
            .err();
        self.placed += 1;
        self.recorder
            .record(Metric::Scheduling, node, scheduled, Instant::now(), error);
    }

    pub fn flush(&mut self) {
        self.recorder.flush();
    }
}

/// Creates a voice channel for the worker's calls; its id.
async fn voice_channel(
    connection: &mut Connection,
    auth: &Auth,
    index: usize,
) -> Result<String, ErrorKind> {
    let body = json!({"kind": "voice", "name": format!("loadtest voice #{index}"), "config": {
        "accountSid": "ACloadtest", "authToken": "loadtest-voice-token",
        "fromNumber": format!("+1555{:07}", index % 10_000_000),
        "apiBaseUrl": "http://127.0.0.1:9", "answerUrl": "https://voice.example/answer"}});
    let created = post_json(connection, auth, "/api/v1/channels", &body).await?;
    created["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or(ErrorKind::InvalidBody)
}

/// POSTs `body` and answers the created record (201).
async fn post_json(
    connection: &mut Connection,
    auth: &Auth,
    path: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value, ErrorKind> {
    let mut headers = auth.headers();
    headers.push((
        HeaderName::from_static("content-type"),
        HeaderValue::from_static("application/json"),
    ));
    let response = connection
        .send(
            Method::POST,
            path,
            &headers,
            Some(Bytes::from(body.to_string())),
        )
        .await
        .map_err(|error| error.kind())?;
    if response.status != 201 {
        return Err(ErrorKind::Status(response.status));
    }
    response.json().ok_or(ErrorKind::InvalidBody)
}
