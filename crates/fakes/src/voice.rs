//! `FakeVoice`: a local Twilio Voice. `POST /2010-04-01/Accounts/{sid}/Calls.json` takes a
//! dial (a repeated `Idempotency-Key` gets the same call back, no new dial), then plays the
//! call as its number's behaviour says (answer, voicemail, no answer, busy, failure), posting
//! status callbacks signed with `X-Twilio-Signature` to the dial's `StatusCallback` — in order,
//! reversed, twice each, or without the final one — and retrying a callback that fails, as
//! Twilio does. `GET …/Calls/{sid}.json` answers the call as it is. Every dial is recorded, and
//! the most calls live at once is kept, so tests can count duplicates and check caps.
//!
//! Time is scaled: one call "second" lasts [`FakeVoice::set_second`] (10 ms by default).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};

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

/// One dial the fake received.
#[derive(Debug, Clone)]
pub struct Dial {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub answer_url: String,
    pub status_callback: String,
    pub idempotency_key: Option<String>,
    pub at: Instant,
}

/// A local Twilio Voice stand-in. Stops when dropped.
pub struct FakeVoice {
    server: LocalServer,
    state: Arc<VoiceState>,
}

struct VoiceState {
    auth_token: String,
    client: reqwest::Client,
    inner: Mutex<Inner>,
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
}

impl VoiceState {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn create_call(
    State(state): State<Arc<VoiceState>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
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
        let sid = format!("CA{:032x}", inner.dials.len() + 1);
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
    let sid = answer["sid"].as_str().unwrap_or_default().to_owned();
    tokio::spawn(play(state, sid, callback.clone(), behaviour));
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

async fn fetch_call(
    State(state): State<Arc<VoiceState>>,
    Path((_account, file)): Path<(String, String)>,
) -> Response {
    let sid = file.trim_end_matches(".json");
    match state.lock().calls.get(sid) {
        Some(call) => axum::Json(call.clone()).into_response(),
        None => {
            let error = json!({"code": 20404, "message": "not found", "status": 404});
            (StatusCode::NOT_FOUND, axum::Json(error)).into_response()
        }
    }
}

/// One step of a call: after `seconds` of call time, it is `status`.
struct Step {
    seconds: u32,
    status: &'static str,
    answered_by: Option<&'static str>,
    duration: Option<u32>,
}

fn steps(behaviour: Behaviour) -> Vec<Step> {
    let step = |seconds, status, answered_by, duration| Step {
        seconds,
        status,
        answered_by,
        duration,
    };
    match behaviour {
        Behaviour::Answer { seconds } | Behaviour::Voicemail { seconds } => {
            let who = if matches!(behaviour, Behaviour::Answer { .. }) {
                "human"
            } else {
                "machine_start"
            };
            vec![
                step(0, "initiated", None, None),
                step(1, "ringing", None, None),
                step(1, "in-progress", Some(who), None),
                step(seconds, "completed", Some(who), Some(seconds)),
            ]
        }
        Behaviour::NoAnswer => vec![
            step(0, "initiated", None, None),
            step(1, "ringing", None, None),
            step(2, "no-answer", None, Some(0)),
        ],
        Behaviour::Busy => vec![
            step(0, "initiated", None, None),
            step(1, "busy", None, Some(0)),
        ],
        Behaviour::Fail => vec![step(0, "failed", None, Some(0))],
    }
}

/// Plays a call: moves its state step by step and posts its callbacks as the delivery says.
async fn play(state: Arc<VoiceState>, sid: String, callback: String, behaviour: Behaviour) {
    let (second, delivery) = {
        let inner = state.lock();
        (inner.second, inner.delivery)
    };
    let steps = steps(behaviour);
    let last = steps.len() - 1;
    let mut held = Vec::new();
    for (sequence, step) in steps.into_iter().enumerate() {
        tokio::time::sleep(second * step.seconds).await;
        let mut params = vec![
            ("CallSid".to_owned(), sid.clone()),
            ("CallStatus".to_owned(), step.status.to_owned()),
            ("SequenceNumber".to_owned(), sequence.to_string()),
        ];
        if let Some(who) = step.answered_by {
            params.push(("AnsweredBy".to_owned(), who.to_owned()));
        }
        if let Some(duration) = step.duration {
            params.push(("CallDuration".to_owned(), duration.to_string()));
        }
        {
            let mut inner = state.lock();
            if let Some(call) = inner.calls.get_mut(&sid) {
                call["status"] = json!(step.status);
                call["answered_by"] = json!(step.answered_by);
                call["duration"] = json!(step.duration.map(|seconds| seconds.to_string()));
            }
            if sequence == last {
                inner.live = inner.live.saturating_sub(1);
            }
        }
        match delivery {
            Delivery::InOrder => post_callback(&state, &callback, &params).await,
            Delivery::Twice => {
                post_callback(&state, &callback, &params).await;
                post_callback(&state, &callback, &params).await;
            }
            Delivery::DropFinal if sequence == last => {}
            Delivery::DropFinal => post_callback(&state, &callback, &params).await,
            Delivery::Reversed => held.push(params),
        }
    }
    for params in held.iter().rev() {
        post_callback(&state, &callback, params).await;
    }
}

/// Posts one signed callback, trying again a few times when it does not get a 2xx.
async fn post_callback(state: &VoiceState, url: &str, params: &[(String, String)]) {
    let signature = sign(&state.auth_token, url, params);
    let mut backoff = Duration::from_millis(200);
    for _ in 0..6 {
        let sent = state
            .client
            .post(url)
            .header("X-Twilio-Signature", &signature)
            .form(params)
            .send()
            .await;
        if sent.is_ok_and(|response| response.status().is_success()) {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
}

/// Twilio's signature: base64 HMAC-SHA1 of the URL followed by each parameter's name and
/// value, sorted by name.
fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let Ok(mut mac) = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(auth_token.as_bytes()) else {
        return String::new();
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
