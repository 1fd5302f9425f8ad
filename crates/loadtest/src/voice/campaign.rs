//! A campaign against the fake Twilio Voice, for the suite's "100 concurrent calls": a draft
//! campaign with `maxConcurrentCalls` at the cap, its recipients imported from one CSV file
//! (`POST /api/v1/imports?kind=calls`), started and followed until it completes. The fake's
//! most live calls must reach the cap and never pass it, and every recipient must be dialled
//! exactly once.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use serde_json::{Value, json};

use super::FakeVoice;
use crate::http::Connection;
use crate::metrics::ErrorKind;
use crate::scenario::VoiceTraffic;
use crate::scenario::import::upload_and_follow;
use crate::target::Auth;

/// What the campaign showed.
#[derive(Debug, Clone, Default)]
pub struct CampaignCheck {
    pub contacts: usize,
    pub cap: usize,
    pub most_live: usize,
    pub dialled: u64,
    pub dialled_twice: u64,
    pub undialled: u64,
    /// From the start to `completed`.
    pub drain: Duration,
    /// Whether it completed before the timeout.
    pub completed: bool,
    /// What went wrong setting it up or following it, if anything.
    pub failure: Option<String>,
}

impl CampaignCheck {
    /// The cap reached and never passed, everyone dialled once, the campaign completed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
            && self.completed
            && self.most_live == self.cap
            && self.dialled_twice == 0
            && self.undialled == 0
    }
}

/// The campaign to run.
#[derive(Debug, Clone, Copy)]
pub struct CampaignPlan {
    pub contacts: usize,
    /// Its `maxConcurrentCalls`.
    pub cap: usize,
    /// How long each call lasts.
    pub call_length: Duration,
    /// How long it may take to complete after its start.
    pub timeout: Duration,
}

/// Runs the campaign `plan` describes through `voice`.
pub async fn run_campaign(
    connection: &mut Connection,
    auth: &Auth,
    traffic: &VoiceTraffic,
    voice: &FakeVoice,
    plan: CampaignPlan,
) -> CampaignCheck {
    let mut check = CampaignCheck {
        contacts: plan.contacts,
        cap: plan.cap,
        ..CampaignCheck::default()
    };
    let previous_length = voice.call_length();
    voice.set_call_length(plan.call_length);
    let timeout = plan.timeout;
    if let Err(failure) = follow(connection, auth, traffic, voice, &mut check, timeout).await {
        check.failure = Some(failure);
    }
    voice.set_call_length(previous_length);
    traffic.ledger.end();
    let calls = traffic.ledger.correctness();
    check.dialled = calls.dialled;
    check.dialled_twice = calls.dialled_twice;
    check.undialled = calls.undialled;
    check.most_live = voice.counts().most_live;
    check
}

async fn follow(
    connection: &mut Connection,
    auth: &Auth,
    traffic: &VoiceTraffic,
    voice: &FakeVoice,
    check: &mut CampaignCheck,
    timeout: Duration,
) -> Result<(), String> {
    fn failed(step: &'static str) -> impl Fn(ErrorKind) -> String {
        move |error| format!("{step}: {error:?}")
    }
    let channel = traffic
        .make_channel(connection, auth)
        .await
        .map_err(failed("voice channel"))?;
    let body = json!({"name": "loadtest concurrency", "channelId": channel, "contactIds": [],
        "maxConcurrentCalls": check.cap, "callsPerSecond": 1000});
    let campaign = send(
        connection,
        auth,
        Method::POST,
        "/api/v1/campaigns",
        Some(body),
        201,
    )
    .await
    .map_err(failed("campaign"))?;
    let campaign = campaign["id"].as_str().unwrap_or_default().to_owned();

    let run = traffic.next_run();
    traffic.ledger.begin(None);
    let mut file = String::from("phone\n");
    for contact in 0..check.contacts {
        let number = format!("+1{run:03}8{contact:09}");
        traffic.ledger.placing(&number, Some(Instant::now()));
        file.push_str(&number);
        file.push('\n');
    }
    let path = format!("/api/v1/imports?kind=calls&campaignId={campaign}");
    upload_and_follow(connection, auth, &path, Bytes::from(file))
        .await
        .map_err(failed("import"))?;

    // Calls of an earlier run still on the line would count towards this one's most live.
    let quiet = Instant::now();
    while voice.counts().live > 0 && quiet.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    voice.reset_most_live();
    let path = format!("/api/v1/campaigns/{campaign}");
    send(
        connection,
        auth,
        Method::POST,
        &format!("{path}/start"),
        Some(json!({})),
        200,
    )
    .await
    .map_err(failed("start"))?;
    let started = Instant::now();
    while started.elapsed() < timeout {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let state = send(connection, auth, Method::GET, &path, None, 200)
            .await
            .map_err(failed("campaign status"))?;
        if state["status"] == "completed" {
            check.completed = true;
            break;
        }
    }
    check.drain = started.elapsed();
    Ok(())
}

/// One request with a JSON body (or none); its JSON answer when the status is `expected`.
async fn send(
    connection: &mut Connection,
    auth: &Auth,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: u16,
) -> Result<Value, ErrorKind> {
    let mut headers = auth.headers();
    if body.is_some() {
        headers.push((
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("application/json"),
        ));
    }
    let response = connection
        .send(
            method,
            path,
            &headers,
            body.map(|body| Bytes::from(body.to_string())),
        )
        .await
        .map_err(|error| error.kind())?;
    if response.status != expected {
        return Err(ErrorKind::Status(response.status));
    }
    response.json().ok_or(ErrorKind::InvalidBody)
}
