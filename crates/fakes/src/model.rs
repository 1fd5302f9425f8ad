//! `FakeModel`: a local OpenAI-compatible Chat Completions server (`POST /v1/chat/completions`)
//! that streams real-shaped SSE chunks — a role delta, content deltas, `tool_calls` deltas split
//! across chunks, a finish chunk, a final usage chunk with empty `choices`, then `data: [DONE]`.
//! Tests queue answers ([`ModelAnswer`]): text, tool calls, an HTTP error, a stall, a malformed
//! chunk. With nothing queued it echoes the user lines after the last assistant turn
//! (`echo: a + b`). It can hold every answer until released (to keep a run in flight), add
//! latency, and captures every request body.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::server::LocalServer;
use tokio::sync::{Notify, watch};

/// The model name the fake reports.
pub const FAKE_MODEL: &str = "fake-gpt";

/// What the fake answers to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelAnswer {
    /// Streams this text in a few deltas.
    Text(String),
    /// Streams these tool calls: `(name, arguments as JSON text)`.
    ToolCalls(Vec<(String, String)>),
    /// Answers this HTTP status, with `Retry-After` seconds if given.
    Status(u16, Option<u32>),
    /// Sends one content delta, then nothing more: only the client's timeout ends it.
    Stall,
    /// Sends a chunk that is not JSON.
    Malformed,
}

/// A local stand-in for an OpenAI-compatible model. Stops when dropped.
pub struct FakeModel {
    server: LocalServer,
    state: Arc<ModelState>,
}

struct ModelState {
    recorded: Mutex<Recorded>,
    arrived: Notify,
    /// `true` while answers flow; `false` holds them.
    open: watch::Sender<bool>,
}

struct Recorded {
    requests: Vec<Value>,
    answers: VecDeque<ModelAnswer>,
    latency: Duration,
    usage: (u64, u64),
    sequence: u64,
}

impl FakeModel {
    /// Starts the fake on `127.0.0.1:0`.
    pub async fn spawn() -> anyhow::Result<Self> {
        let state = Arc::new(ModelState {
            recorded: Mutex::new(Recorded {
                requests: Vec::new(),
                answers: VecDeque::new(),
                latency: Duration::ZERO,
                usage: (100, 20),
                sequence: 0,
            }),
            arrived: Notify::new(),
            open: watch::channel(true).0,
        });
        let router = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(complete))
            .with_state(Arc::clone(&state));
        let server = LocalServer::start(router, "fake model").await?;
        Ok(Self { server, state })
    }

    /// `http://127.0.0.1:<port>/v1`, for an agent's `baseUrl`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.server.address)
    }

    /// Queues answers for the next requests, in order.
    pub fn answer(&self, answers: impl IntoIterator<Item = ModelAnswer>) {
        self.state.lock().answers.extend(answers);
    }

    /// Waits this long before answering each request from now on.
    pub fn set_latency(&self, latency: Duration) {
        self.state.lock().latency = latency;
    }

    /// The usage every answer reports: `(prompt_tokens, completion_tokens)`.
    pub fn set_usage(&self, prompt_tokens: u64, completion_tokens: u64) {
        self.state.lock().usage = (prompt_tokens, completion_tokens);
    }

    /// Holds every answer (requests are still captured) until [`FakeModel::release`].
    pub fn hold(&self) {
        self.state.open.send_replace(false);
    }

    pub fn release(&self) {
        self.state.open.send_replace(true);
    }

    /// Every request body received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.state.lock().requests.clone()
    }

    /// Waits until at least `count` requests have arrived.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> anyhow::Result<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.state.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let requests = self.requests();
            if requests.len() >= count {
                return Ok(requests);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                anyhow::bail!(
                    "{} of {count} model requests arrived within {timeout:?}",
                    requests.len()
                );
            }
        }
    }
}

impl ModelState {
    fn lock(&self) -> MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn complete(State(state): State<Arc<ModelState>>, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (answer, latency, usage, sequence) = {
        let mut recorded = state.lock();
        recorded.requests.push(request.clone());
        recorded.sequence += 1;
        let answer = recorded
            .answers
            .pop_front()
            .unwrap_or_else(|| ModelAnswer::Text(echo(&request)));
        (answer, recorded.latency, recorded.usage, recorded.sequence)
    };
    state.arrived.notify_waiters();
    let mut open = state.open.subscribe();
    let _ = open.wait_for(|open| *open).await;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let chunk = |choices: Value| {
        json!({"id": format!("chatcmpl-{sequence}"), "object": "chat.completion.chunk",
            "created": 1_700_000_000, "model": FAKE_MODEL, "choices": choices})
    };
    let delta = |delta: Value, finish: Option<&str>| {
        chunk(json!([{"index": 0, "delta": delta, "finish_reason": finish}]))
    };
    let mut events = vec![delta(json!({"role": "assistant", "content": ""}), None)];
    let finish = match answer {
        ModelAnswer::Status(status, retry_after) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = json!({"error": {"message": "fake failure", "type": "server_error"}});
            let mut response = (status, axum::Json(body)).into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, seconds.into());
            }
            return response;
        }
        ModelAnswer::Stall => {
            events.push(delta(json!({"content": "Thinking"}), None));
            return sse(events, false);
        }
        ModelAnswer::Malformed => {
            return sse_lines(
                vec!["data: {\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"x\"".into()],
                true,
            );
        }
        ModelAnswer::Text(text) => {
            for piece in text.split_inclusive(' ') {
                events.push(delta(json!({"content": piece}), None));
            }
            "stop"
        }
        ModelAnswer::ToolCalls(calls) => {
            for (index, (name, arguments)) in calls.iter().enumerate() {
                let id = format!("call_{sequence}_{index}");
                events.push(delta(
                    json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                        "function": {"name": name, "arguments": ""}}]}),
                    None,
                ));
                let middle = arguments.len() / 2;
                let middle = (0..=middle)
                    .rev()
                    .find(|at| arguments.is_char_boundary(*at))
                    .unwrap_or(0);
                for piece in [&arguments[..middle], &arguments[middle..]] {
                    events.push(delta(
                        json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                        None,
                    ));
                }
            }
            "tool_calls"
        }
    };
    events.push(delta(json!({}), Some(finish)));
    let mut last = chunk(json!([]));
    last["usage"] = json!({"prompt_tokens": usage.0, "completion_tokens": usage.1,
        "total_tokens": usage.0 + usage.1});
    events.push(last);
    sse(events, true)
}

/// The user lines after the last assistant turn, joined: what a run was asked.
fn echo(request: &Value) -> String {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let start = messages
        .iter()
        .rposition(|message| message["role"] != "user")
        .map_or(0, |index| index + 1);
    let asked: Vec<&str> = messages[start..]
        .iter()
        .filter_map(|message| message["content"].as_str())
        .collect();
    format!("echo: {}", asked.join(" + "))
}

fn sse(events: Vec<Value>, complete: bool) -> Response {
    sse_lines(
        events
            .iter()
            .map(|event| format!("data: {event}"))
            .collect(),
        complete,
    )
}

/// An event stream of `lines` (each its own event); `[DONE]` when `complete`, else the stream
/// stays open and silent.
fn sse_lines(mut lines: Vec<String>, complete: bool) -> Response {
    if complete {
        lines.push("data: [DONE]".into());
    }
    let chunks = lines
        .into_iter()
        .map(|line| Ok::<_, Infallible>(Bytes::from(format!("{line}\n\n"))));
    let stream = futures::stream::iter(chunks);
    let body = if complete {
        Body::from_stream(stream)
    } else {
        use futures::StreamExt;
        Body::from_stream(stream.chain(futures::stream::pending()))
    };
    ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}
