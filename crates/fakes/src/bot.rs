//! `FakeBot`: a customer's own bot for `http` agents. It answers each POST with the reply
//! `bot: <texts of the pending messages>`, as JSON `{text, usage}` or, in NDJSON mode, as a
//! stream of events (`agent_thinking`, a `tool_executing`/`tool_completed` pair, then
//! `agent_completed`). It can be told to fail with a status, or to stream `agent_failed`.
//! Every request (headers and raw body, to check signatures) is captured.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::CapturedRequest;
use crate::server::{LocalServer, header_pairs};

/// How the bot answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotMode {
    /// `application/json` `{text, usage}`.
    Json,
    /// `application/x-ndjson` events ending in `agent_completed`.
    Ndjson,
    /// `application/x-ndjson` ending in `agent_failed {retryable: false}`.
    NdjsonFailure,
    /// `application/json` with an empty `text`: the bot chooses not to answer.
    Silent,
}

/// A local customer bot. Stops when dropped.
pub struct FakeBot {
    server: LocalServer,
    state: Arc<BotState>,
}

struct BotState {
    recorded: Mutex<BotRecorded>,
}

struct BotRecorded {
    mode: BotMode,
    failures: VecDeque<u16>,
    requests: Vec<CapturedRequest>,
}

impl FakeBot {
    pub async fn spawn(mode: BotMode) -> anyhow::Result<Self> {
        let state = Arc::new(BotState {
            recorded: Mutex::new(BotRecorded {
                mode,
                failures: VecDeque::new(),
                requests: Vec::new(),
            }),
        });
        let router = axum::Router::new()
            .route("/bot", axum::routing::post(answer))
            .with_state(Arc::clone(&state));
        let server = LocalServer::start(router, "fake bot").await?;
        Ok(Self { server, state })
    }

    /// `http://127.0.0.1:<port>/bot`, for an agent's `url`.
    pub fn url(&self) -> String {
        format!("http://{}/bot", self.server.address)
    }

    /// Answers the next `count` requests with `status`.
    pub fn fail_next(&self, count: usize, status: u16) {
        self.state
            .lock()
            .failures
            .extend(std::iter::repeat_n(status, count));
    }

    pub fn requests(&self) -> Vec<CapturedRequest> {
        self.state.lock().requests.clone()
    }
}

impl BotState {
    fn lock(&self) -> MutexGuard<'_, BotRecorded> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn answer(
    State(state): State<Arc<BotState>>,
    headers: HeaderMap,
    raw_body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&raw_body).unwrap_or(Value::Null);
    let (mode, failure) = {
        let mut recorded = state.lock();
        let failure = recorded.failures.pop_front();
        recorded.requests.push(CapturedRequest {
            kind: switchboard_core::ChannelKind::Api,
            method: "POST".into(),
            path: "/bot".into(),
            headers: header_pairs(&headers),
            body: body.clone(),
            raw_body: raw_body.to_vec(),
            received_at: std::time::Instant::now(),
            status: failure.unwrap_or(200),
        });
        (recorded.mode, failure)
    };
    if let Some(status) = failure {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, [(header::RETRY_AFTER, "0")], "unavailable").into_response();
    }
    let asked: Vec<&str> = body["messages"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .filter_map(|message| message["text"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let text = format!("bot: {}", asked.join(" + "));
    let usage = json!({"promptTokens": 40, "completionTokens": 10});
    let events = match mode {
        BotMode::Json => return axum::Json(json!({"text": text, "usage": usage})).into_response(),
        BotMode::Silent => return axum::Json(json!({"text": "", "usage": usage})).into_response(),
        BotMode::Ndjson => vec![
            json!({"type": "agent_thinking", "delta": "bot: "}),
            json!({"type": "tool_executing", "callId": "b1", "tool": "crm_lookup", "arguments": {"q": 1}}),
            json!({"type": "tool_completed", "callId": "b1", "tool": "crm_lookup", "result": {"vip": true},
                "isError": false, "durationMs": 3}),
            json!({"type": "agent_completed", "text": text, "usage": usage}),
        ],
        BotMode::NdjsonFailure => vec![
            json!({"type": "agent_thinking", "delta": "hmm"}),
            json!({"type": "agent_failed", "code": "bot_confused", "message": "cannot answer", "retryable": false}),
        ],
    };
    let lines: String = events.iter().map(|event| format!("{event}\n")).collect();
    ([(header::CONTENT_TYPE, "application/x-ndjson")], lines).into_response()
}
