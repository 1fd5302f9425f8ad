//! The harness's own fake Twilio Voice, for the voice channels the `scheduling` scenario and the
//! suite's campaign make: `POST /2010-04-01/Accounts/{sid}/Calls.json` answers a dial `201
//! {sid: "CA…", status: "queued"}` (a repeated `Idempotency-Key` gets the same sid back and is
//! no new dial), `GET …/Calls/{sid}.json` answers `{sid, status: "completed", duration: "5",
//! answered_by: "human"}`. With a call length, each dial is played: signed status callbacks
//! (`X-Twilio-Signature`, base64 HMAC-SHA1 of the URL and the sorted form, keyed by the
//! channels' `authToken`) initiated → ringing → in-progress → completed go to the dial's
//! `StatusCallback` over that length, so the server frees the line.
//!
//! Every dial is counted by number, and a call is live from its dial until its `completed`
//! callback goes out — before the server hears of it, so the most live at once never
//! overstates the server's own count. The [`CallLedger`] compares the dials with the calls the
//! workers placed.

mod campaign;
mod ledger;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use tokio::task::JoinHandle;

pub use campaign::{CampaignCheck, CampaignPlan, run_campaign};
pub use ledger::{CallCorrectness, CallLedger};

use crate::error::LoadtestError;

/// The `authToken` of every voice channel the harness makes; callbacks are signed with it.
pub const AUTH_TOKEN: &str = "loadtest-voice-token";

/// The account of every voice channel the harness makes.
pub const ACCOUNT_SID: &str = "ACloadtest";

struct VoiceState {
    client: reqwest::Client,
    ledger: Arc<CallLedger>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// How long a call lasts from dial to `completed`; zero plays nothing (no callbacks).
    call_length: Duration,
    /// The sid given for each idempotency key.
    by_key: HashMap<String, String>,
    dials: u64,
    /// Idempotency keys seen again: the server retried a dial (harmless).
    redials: u64,
    live: usize,
    most_live: usize,
}

/// What the fake has seen so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct VoiceCounts {
    pub dials: u64,
    pub redials: u64,
    pub live: usize,
    pub most_live: usize,
}

/// The running fake Twilio Voice; stops when dropped.
pub struct FakeVoice {
    address: SocketAddr,
    state: Arc<VoiceState>,
    server: JoinHandle<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeVoice {
    /// Listens on `host` (any free port); calls last `call_length`.
    pub async fn start(host: &str, call_length: Duration) -> Result<FakeVoice, LoadtestError> {
        let listen = format!("{host}:0");
        let provider_error = |source| LoadtestError::Provider {
            address: listen.clone(),
            source,
        };
        let address = tokio::net::lookup_host(&listen)
            .await
            .map_err(provider_error)?
            .next()
            .ok_or_else(|| provider_error(std::io::ErrorKind::AddrNotAvailable.into()))?;
        let listener = crate::provider::listen_for_bursts(address).map_err(provider_error)?;
        let address = listener.local_addr().map_err(provider_error)?;
        let state = Arc::new(VoiceState {
            client: reqwest::Client::new(),
            ledger: Arc::new(CallLedger::default()),
            inner: Mutex::new(Inner {
                call_length,
                ..Inner::default()
            }),
        });
        let router = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Calls.json",
                post(create_call),
            )
            .route(
                "/2010-04-01/Accounts/{account}/Calls/{file}",
                get(fetch_call),
            )
            .with_state(Arc::clone(&state));
        let server = tokio::spawn(async move {
            // A failed accept loop shows up as dials that never arrive.
            let _ = axum::serve(listener, router).await;
        });
        Ok(FakeVoice {
            address,
            state,
            server,
        })
    }

    /// The `apiBaseUrl` of a voice channel that calls through this fake.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// What the workers placed and the fake dialled.
    pub fn ledger(&self) -> Arc<CallLedger> {
        Arc::clone(&self.state.ledger)
    }

    /// How long calls dialled from now on last.
    pub fn set_call_length(&self, call_length: Duration) {
        lock(&self.state.inner).call_length = call_length;
    }

    pub fn call_length(&self) -> Duration {
        lock(&self.state.inner).call_length
    }

    pub fn counts(&self) -> VoiceCounts {
        let inner = lock(&self.state.inner);
        VoiceCounts {
            dials: inner.dials,
            redials: inner.redials,
            live: inner.live,
            most_live: inner.most_live,
        }
    }

    /// Starts counting the most live calls again from those live now.
    pub fn reset_most_live(&self) {
        let mut inner = lock(&self.state.inner);
        inner.most_live = inner.live;
    }
}

impl Drop for FakeVoice {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn create_call(
    State(state): State<Arc<VoiceState>>,
    Path(_account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let (Some(to), Some(callback)) = (form.get("To"), form.get("StatusCallback")) else {
        let error =
            json!({"code": 21201, "message": "To and StatusCallback are required", "status": 400});
        return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let (sid, call_length) = {
        let mut inner = lock(&state.inner);
        if let Some(sid) = key.as_ref().and_then(|key| inner.by_key.get(key)).cloned() {
            inner.redials += 1;
            let answer = json!({"sid": sid, "status": "queued", "to": to});
            return (StatusCode::CREATED, axum::Json(answer)).into_response();
        }
        inner.dials += 1;
        let sid = format!("CA{:032x}", inner.dials);
        if let Some(key) = key {
            inner.by_key.insert(key, sid.clone());
        }
        if !inner.call_length.is_zero() {
            inner.live += 1;
            inner.most_live = inner.most_live.max(inner.live);
        }
        (sid, inner.call_length)
    };
    state.ledger.dialled(to, Instant::now());
    if !call_length.is_zero() {
        tokio::spawn(play(
            Arc::clone(&state),
            sid.clone(),
            callback.clone(),
            call_length,
        ));
    }
    let answer = json!({"sid": sid, "status": "queued", "to": to, "from": form.get("From")});
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

async fn fetch_call(Path((_account, file)): Path<(String, String)>) -> Response {
    let sid = file.trim_end_matches(".json");
    axum::Json(json!({"sid": sid, "status": "completed", "duration": "5",
        "answered_by": "human"}))
    .into_response()
}

/// A call answered by a person: initiated at once, ringing after a quarter of its length,
/// answered at half, completed at its end.
async fn play(state: Arc<VoiceState>, sid: String, callback: String, length: Duration) {
    let seconds = length.as_secs().max(1).to_string();
    let steps: [(&str, Option<&str>); 4] = [
        ("initiated", None),
        ("ringing", None),
        ("in-progress", None),
        ("completed", Some(seconds.as_str())),
    ];
    let pause = [Duration::ZERO, length / 4, length / 4, length / 2];
    for (sequence, ((status, duration), pause)) in steps.into_iter().zip(pause).enumerate() {
        tokio::time::sleep(pause).await;
        let mut params = vec![
            ("AccountSid", ACCOUNT_SID.to_owned()),
            ("CallSid", sid.clone()),
            ("CallStatus", status.to_owned()),
            ("SequenceNumber", sequence.to_string()),
        ];
        if sequence >= 2 {
            params.push(("AnsweredBy", "human".to_owned()));
        }
        if let Some(duration) = duration {
            params.push(("CallDuration", duration.to_owned()));
            let mut inner = lock(&state.inner);
            inner.live = inner.live.saturating_sub(1);
        }
        post_callback(&state.client, &callback, &params).await;
    }
}

/// Posts one signed callback, again a few times while it gets no 2xx (as Twilio retries).
async fn post_callback(client: &reqwest::Client, url: &str, params: &[(&str, String)]) {
    let signature = sign(AUTH_TOKEN, url, params);
    let mut backoff = Duration::from_millis(200);
    for _ in 0..5 {
        let sent = client
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
fn sign(auth_token: &str, url: &str, params: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = params.iter().collect();
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
