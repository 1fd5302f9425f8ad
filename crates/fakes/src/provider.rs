//! `FakeProvider`: one local HTTP server standing in for every outbound provider at once — the
//! WhatsApp Graph send endpoint (`…/{phoneNumberId}/messages`), Twilio
//! (`/2010-04-01/Accounts/{sid}/Messages.json`), Telegram (`/bot{token}/sendMessage`) and an
//! API-channel app receiving callbacks (any other path). Put [`FakeProvider::base_url`] into a
//! channel's `apiBaseUrl` (or [`FakeProvider::callback_url`] into `callbackUrl`).
//!
//! Every request is captured, failed ones included. Like a provider that honours
//! `Idempotency-Key`, a key answered successfully once gets the same answer again and counts once
//! in [`FakeProvider::unique_sends`]. A send is processed before any configured delay, so a client
//! that times out has still "sent" — the ambiguous case idempotency keys exist for.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard_core::ChannelKind;
use tokio::sync::{Notify, watch};

use crate::server::{LocalServer, header_pairs};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct CapturedRequest {
    /// Which provider the path addressed (`Api` for callbacks to an app).
    pub kind: ChannelKind,
    pub method: String,
    pub path: String,
    /// Header names in lowercase, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body parsed: JSON as is, a form as an object of strings, anything else as a string.
    pub body: Value,
    /// The body exactly as received (to check signatures over).
    pub raw_body: Vec<u8>,
    pub received_at: Instant,
    /// The status the fake answered with (200 for an accepted send).
    pub status: u16,
}

impl CapturedRequest {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A local stand-in for the providers' send APIs. Stops when dropped.
pub struct FakeProvider {
    server: LocalServer,
    state: Arc<ProviderState>,
}

#[derive(Default)]
struct ProviderState {
    recorded: Mutex<Recorded>,
    arrived: Notify,
    /// While true, answers wait (their requests are already recorded).
    paused: watch::Sender<bool>,
}

#[derive(Default)]
struct Recorded {
    requests: Vec<CapturedRequest>,
    /// Successful answers by `Idempotency-Key`.
    answers: HashMap<String, Answer>,
    unique_sends: usize,
    failures: VecDeque<Failure>,
    delay: Duration,
}

#[derive(Clone)]
struct Answer {
    status: StatusCode,
    retry_after: Option<u32>,
    body: Value,
}

#[derive(Clone, Copy)]
struct Failure {
    status: StatusCode,
    retry_after: Option<u32>,
}

impl FakeProvider {
    /// Starts the fake on `127.0.0.1:0`.
    pub async fn spawn() -> anyhow::Result<Self> {
        let state = Arc::new(ProviderState::default());
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&state));
        let server = LocalServer::start(router, "fake provider").await?;
        Ok(Self { server, state })
    }

    /// `http://127.0.0.1:<port>`, for a channel's `apiBaseUrl`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.address)
    }

    /// A URL for an API channel's `callbackUrl`.
    pub fn callback_url(&self) -> String {
        format!("{}/callback", self.base_url())
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<CapturedRequest> {
        self.state.lock().requests.clone()
    }

    /// Waits until at least `count` requests have arrived and returns them all, or fails after
    /// `timeout` saying how many did.
    pub async fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<CapturedRequest>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.state.arrived.notified();
            tokio::pin!(arrived);
            // Registered before looking, so a request landing in between still wakes us.
            arrived.as_mut().enable();
            {
                let recorded = self.state.lock();
                if recorded.requests.len() >= count {
                    return Ok(recorded.requests.clone());
                }
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let received = self.state.lock().requests.len();
                anyhow::bail!("{received} of {count} requests arrived within {timeout:?}");
            }
        }
    }

    /// Sends processed, counting each `Idempotency-Key` once (failed attempts do not count).
    pub fn unique_sends(&self) -> usize {
        self.state.lock().unique_sends
    }

    /// Answers the next `count` requests with `status` (and `Retry-After: retry_after`, or
    /// Telegram's `parameters.retry_after`) in the addressed provider's error format.
    pub fn fail_next(&self, count: usize, status: u16, retry_after: Option<u32>) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let failure = Failure {
            status,
            retry_after,
        };
        self.state
            .lock()
            .failures
            .extend(std::iter::repeat_n(failure, count));
    }

    /// Forgets the failures still planned: the provider is healthy again.
    pub fn recover(&self) {
        self.state.lock().failures.clear();
    }

    /// Holds every answer back by `delay` from now on (`Duration::ZERO` to stop), to make
    /// clients time out.
    pub fn delay(&self, delay: Duration) {
        self.state.lock().delay = delay;
    }

    /// Holds answers back until [`FakeProvider::resume`]: requests are still received (and
    /// [`FakeProvider::wait_for`] sees them), so a test can act between a send's arrival and
    /// its answer without racing it.
    pub fn pause(&self) {
        self.state.paused.send_replace(true);
    }

    /// Lets held answers, and every later one, go.
    pub fn resume(&self) {
        self.state.paused.send_replace(false);
    }
}

impl ProviderState {
    fn lock(&self) -> MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn answer(
    State(state): State<Arc<ProviderState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    raw_body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let kind = kind_of(&path);
    let body = parse_body(&headers, &raw_body);
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let (reply, delay) = {
        let mut recorded = state.lock();
        let reply = if let Some(failure) = recorded.failures.pop_front() {
            failed(kind, failure)
        } else if let Some(previous) = idempotency_key
            .as_ref()
            .and_then(|key| recorded.answers.get(key))
        {
            previous.clone()
        } else {
            recorded.unique_sends += 1;
            let reply = accepted(kind, &path, &body, recorded.unique_sends);
            if let Some(key) = idempotency_key {
                recorded.answers.insert(key, reply.clone());
            }
            reply
        };
        recorded.requests.push(CapturedRequest {
            kind,
            method: method.to_string(),
            path: path.clone(),
            headers: header_pairs(&headers),
            body: body.clone(),
            raw_body: raw_body.to_vec(),
            received_at: Instant::now(),
            status: reply.status.as_u16(),
        });
        (reply, recorded.delay)
    };
    state.arrived.notify_waiters();
    // The sender lives in `state`, so the wait ends only by a resume.
    let _ = state.paused.subscribe().wait_for(|paused| !paused).await;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut response = (
        reply.status,
        [(header::CONTENT_TYPE, "application/json")],
        reply.body.to_string(),
    )
        .into_response();
    if let Some(seconds) = reply.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    response
}

fn kind_of(path: &str) -> ChannelKind {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [bot, "sendMessage"] if bot.starts_with("bot") => ChannelKind::Telegram,
        ["2010-04-01", "Accounts", _, "Messages.json"] => ChannelKind::Twilio,
        [.., _, "messages"] => ChannelKind::Whatsapp,
        _ => ChannelKind::Api,
    }
}

fn parse_body(headers: &HeaderMap, raw_body: &[u8]) -> Value {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return Value::Object(
            form_urlencoded::parse(raw_body)
                .map(|(name, value)| (name.into_owned(), Value::from(value.into_owned())))
                .collect(),
        );
    }
    serde_json::from_slice(raw_body)
        .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(raw_body).into_owned()))
}

/// The provider's answer to an accepted send; `sequence` makes every id distinct.
fn accepted(kind: ChannelKind, path: &str, body: &Value, sequence: usize) -> Answer {
    let (status, body) = match kind {
        ChannelKind::Whatsapp => (
            StatusCode::OK,
            json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": format!("wamid.fake{sequence}")}],
            }),
        ),
        ChannelKind::Twilio => (
            StatusCode::CREATED,
            json!({
                "sid": format!("SM{sequence:032x}"),
                "status": "queued",
                "to": body["To"], "from": body["From"], "body": body["Body"],
                "uri": path,
            }),
        ),
        ChannelKind::Telegram => (
            StatusCode::OK,
            json!({
                "ok": true,
                "result": {"message_id": sequence, "chat": {"id": body["chat_id"]}, "text": body["text"]},
            }),
        ),
        ChannelKind::Api | ChannelKind::Voice => {
            (StatusCode::OK, json!({"id": format!("app-{sequence}")}))
        }
    };
    Answer {
        status,
        retry_after: None,
        body,
    }
}

/// A refusal in the provider's own error format. Telegram gives its delay in the body only.
fn failed(kind: ChannelKind, failure: Failure) -> Answer {
    let code = failure.status.as_u16();
    let description = format!("fake failure {code}");
    let (body, retry_after) = match kind {
        ChannelKind::Whatsapp => (
            json!({"error": {"message": description, "type": "OAuthException", "code": code, "fbtrace_id": "fake"}}),
            failure.retry_after,
        ),
        ChannelKind::Twilio => (
            json!({"code": 20000 + u32::from(code), "message": description, "status": code}),
            failure.retry_after,
        ),
        ChannelKind::Telegram => {
            let mut body = json!({"ok": false, "error_code": code, "description": description});
            if let Some(seconds) = failure.retry_after {
                body["parameters"] = json!({"retry_after": seconds});
            }
            (body, None)
        }
        ChannelKind::Api | ChannelKind::Voice => {
            (json!({"error": description}), failure.retry_after)
        }
    };
    Answer {
        status: failure.status,
        retry_after,
        body,
    }
}
