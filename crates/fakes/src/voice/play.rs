//! How the fake plays a call: the statuses each [`Behaviour`] moves through on the fake's
//! scaled clock, the call's state kept for `GET …/Calls/{sid}.json`, and its status callbacks,
//! signed like Twilio's and posted as the [`Delivery`] says, retried while the receiver is
//! unreachable or answers 429 or 5xx.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;

use super::{Behaviour, Delivery, VoiceState};

/// How many times one callback is posted before the fake gives up on it.
const CALLBACK_TRIES: u32 = 6;

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
pub(super) async fn play(
    state: Arc<VoiceState>,
    sid: String,
    callback: String,
    behaviour: Behaviour,
) {
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

/// Posts one signed callback, trying again (after 0.2, 0.4, 0.8, 1.6 and 3.2 s) while the
/// receiver is unreachable or answers 429 or 5xx; any other answer is final.
async fn post_callback(state: &VoiceState, url: &str, params: &[(String, String)]) {
    let signature = sign(&state.auth_token, url, params);
    let mut backoff = Duration::from_millis(200);
    for attempt in 1..=CALLBACK_TRIES {
        let sent = state
            .client
            .post(url)
            .header("X-Twilio-Signature", &signature)
            .form(params)
            .send()
            .await;
        let temporary = match sent {
            Ok(response) => {
                let status = response.status();
                status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            }
            Err(_) => true,
        };
        if !temporary || attempt == CALLBACK_TRIES {
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
