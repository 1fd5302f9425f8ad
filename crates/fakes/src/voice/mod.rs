//! `FakeVoice`: a local Twilio Voice. `POST /2010-04-01/Accounts/{sid}/Calls.json` takes a
//! dial (a repeated `Idempotency-Key` gets the same call back, no new dial), then plays the
//! call as its number's behaviour says (answer, voicemail, no answer, busy, failure), posting
//! status callbacks signed with `X-Twilio-Signature` to the dial's `StatusCallback` — in order,
//! reversed, twice each, or without the final one — and retrying a callback that fails, as
//! Twilio does. `GET …/Calls/{sid}.json` answers the call as it is. Both demand basic auth with
//! the account in the path and the fake's auth token (401, Twilio's code 20003, otherwise).
//! Every dial is recorded, and the most calls live at once is kept, so tests can count
//! duplicates and check caps.
//!
//! Time is scaled: one call "second" lasts [`FakeVoice::set_second`] (10 ms by default).
//! Call ids are `CA` + 32 hex digits, the first 16 random per fake, so the calls of two fakes
//! never share an id.

mod play;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::server::LocalServer;

/// How a number answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// A person answers and talks for `seconds`.
    Answer {
        seconds: u32,
    },
    /// A machine answers; the message lasts `seconds`.
    Voicemail {
        seconds: u32,
    },
    NoAnswer,
    Busy,
    Fail,
}

/// How a call's callbacks are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    InOrder,
    /// All at the call's end, the last first.
    Reversed,
    /// Each one twice.
    Twice,
    /// Every callback but the final one.
    DropFinal,
}

/// One dial the fake received (a repeat under a known `Idempotency-Key` is not one).
#[derive(Debug, Clone)]
pub struct Dial {
    /// The call's id (`CA…`).
    pub sid: String,
    pub to: String,
    pub from: String,
    /// The form's `Url`.
    pub answer_url: String,
    pub status_callback: String,
    pub idempotency_key: Option<String>,
    /// Every form parameter in the order sent, repeated names kept (`StatusCallbackEvent`).
    pub form: Vec<(String, String)>,
    pub at: Instant,
}

/// A local Twilio Voice stand-in. Stops when dropped.
pub struct FakeVoice {
    server: LocalServer,
    state: Arc<VoiceState>,
}

struct VoiceState {
    auth_token: String,
    /// The random first half of every call id.
    sid_prefix: u64,
    client: reqwest::Client,
    inner: Mutex<Inner>,
    /// Woken at each dial.
    dialled: Notify,
}

struct Inner {
    default: Behaviour,
    scripts: HashMap<String, VecDeque<Behaviour>>,
    delivery: Delivery,
    second: Duration,
    failures: VecDeque<u16>,
    /// Answers already given, by idempotency key.
    by_key: HashMap<String, Value>,
    dials: Vec<Dial>,
    /// Each call's current JSON (`sid`, `status`, `duration`, `answered_by`).
    calls: HashMap<String, Value>,
    live: usize,
    most_live: usize,
}

impl FakeVoice {
    /// Starts the fake; callbacks are signed with `auth_token`. Every number answers for one
    /// second until told otherwise.
    pub async fn start(auth_token: &str) -> anyhow::Result<Self> {
        // reqwest is built without a default TLS provider; the error only says one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let state = Arc::new(VoiceState {
            auth_token: auth_token.to_owned(),
            sid_prefix: std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish(),
            client: reqwest::Client::new(),
            inner: Mutex::new(Inner {
                default: Behaviour::Answer { seconds: 1 },
                scripts: HashMap::new(),
                delivery: Delivery::InOrder,
                second: Duration::from_millis(10),
                failures: VecDeque::new(),
                by_key: HashMap::new(),
                dials: Vec::new(),
                calls: HashMap::new(),
                live: 0,
                most_live: 0,
            }),
            dialled: Notify::new(),
        });
        let router = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Calls.json",
                axum::routing::post(create_call),
            )
            .route(
                "/2010-04-01/Accounts/{account}/Calls/{file}",
                axum::routing::get(fetch_call),
            )
            .with_state(Arc::clone(&state));
        let server = LocalServer::start(router, "fake voice provider").await?;
        Ok(Self { server, state })
    }

    /// The `apiBaseUrl` of a voice channel that calls through this fake.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.address)
    }

    pub fn set_default(&self, behaviour: Behaviour) {
        self.state.lock().default = behaviour;
    }

    /// What the next dials of `number` meet, one each; after them, the default.
    pub fn script(&self, number: &str, behaviours: Vec<Behaviour>) {
        self.state
            .lock()
            .scripts
            .insert(number.to_owned(), behaviours.into());
    }

    pub fn set_delivery(&self, delivery: Delivery) {
        self.state.lock().delivery = delivery;
    }

    /// How long one call second lasts.
    pub fn set_second(&self, second: Duration) {
        self.state.lock().second = second;
    }

    /// The next `count` dials are refused with `status` (nothing is dialled).
    pub fn fail_next(&self, count: usize, status: u16) {
        self.state
            .lock()
            .failures
            .extend(std::iter::repeat_n(status, count));
    }

    /// Every dial, first first.
    pub fn dials(&self) -> Vec<Dial> {
        self.state.lock().dials.clone()
    }

    /// Dials made to `number`.
    pub fn dials_to(&self, number: &str) -> usize {
        self.state
            .lock()
            .dials
            .iter()
            .filter(|dial| dial.to == number)
            .count()
    }

    /// Calls between their dial and their final status now.
    pub fn in_progress(&self) -> usize {
        self.state.lock().live
    }

    /// The most calls that were live at once.
    pub fn max_concurrent(&self) -> usize {
        self.state.lock().most_live
    }

    /// Waits until at least `count` dials were made and returns them all, or fails after
    /// `timeout` saying how many were.
    pub async fn wait_for_dials(
        &self,
        count: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<Dial>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let dialled = self.state.dialled.notified();
            tokio::pin!(dialled);
            // Registered before looking, so a dial landing in between still wakes us.
            dialled.as_mut().enable();
            {
                let inner = self.state.lock();
                if inner.dials.len() >= count {
                    return Ok(inner.dials.clone());
                }
            }
            if tokio::time::timeout_at(deadline, dialled).await.is_err() {
                let made = self.state.lock().dials.len();
                anyhow::bail!("{made} of {count} dials were made within {timeout:?}");
            }
        }
    }
}

impl VoiceState {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `headers` carry basic auth as `account` with this fake's auth token.
    fn authenticated(&self, account: &str, headers: &HeaderMap) -> bool {
        let expected = base64::engine::general_purpose::STANDARD
            .encode(format!("{account}:{}", self.auth_token));
        headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Basic "))
            .is_some_and(|given| given.trim() == expected)
    }
}

/// Twilio's answer to a request without the account's credentials.
fn unauthorized() -> Response {
    let error = json!({"code": 20003, "message": "Authenticate", "status": 401});
    (StatusCode::UNAUTHORIZED, axum::Json(error)).into_response()
}

async fn create_call(
    State(state): State<Arc<VoiceState>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.authenticated(&account, &headers) {
        return unauthorized();
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let form: HashMap<String, String> = pairs.iter().cloned().collect();
    let key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let (Some(to), Some(callback)) = (form.get("To"), form.get("StatusCallback")) else {
        let error =
            json!({"code": 21201, "message": "To and StatusCallback are required", "status": 400});
        return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
    };
    let (answer, behaviour) = {
        let mut inner = state.lock();
        if let Some(answer) = key.as_ref().and_then(|key| inner.by_key.get(key)) {
            return (StatusCode::CREATED, axum::Json(answer.clone())).into_response();
        }
        if let Some(status) = inner.failures.pop_front() {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let error =
                json!({"code": 20500, "message": "fake failure", "status": status.as_u16()});
            return (status, axum::Json(error)).into_response();
        }
        let sid = format!("CA{:016x}{:016x}", state.sid_prefix, inner.dials.len() + 1);
        let answer = json!({
            "sid": sid, "account_sid": account, "status": "queued",
            "to": to, "from": form.get("From"), "duration": null, "answered_by": null,
        });
        if let Some(key) = &key {
            inner.by_key.insert(key.clone(), answer.clone());
        }
        inner.calls.insert(sid.clone(), answer.clone());
        inner.dials.push(Dial {
            sid,
            to: to.clone(),
            from: form.get("From").cloned().unwrap_or_default(),
            answer_url: form.get("Url").cloned().unwrap_or_default(),
            status_callback: callback.clone(),
            idempotency_key: key,
            form: pairs,
            at: Instant::now(),
        });
        inner.live += 1;
        inner.most_live = inner.most_live.max(inner.live);
        let default = inner.default;
        let behaviour = inner
            .scripts
            .get_mut(to)
            .and_then(VecDeque::pop_front)
            .unwrap_or(default);
        (answer, behaviour)
    };
    state.dialled.notify_waiters();
    let sid = answer["sid"].as_str().unwrap_or_default().to_owned();
    tokio::spawn(play::play(state, sid, callback.clone(), behaviour));
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

async fn fetch_call(
    State(state): State<Arc<VoiceState>>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !state.authenticated(&account, &headers) {
        return unauthorized();
    }
    let sid = file.trim_end_matches(".json");
    match state.lock().calls.get(sid) {
        Some(call) => axum::Json(call.clone()).into_response(),
        None => {
            let error = json!({"code": 20404, "message": "not found", "status": 404});
            (StatusCode::NOT_FOUND, axum::Json(error)).into_response()
        }
    }
}
