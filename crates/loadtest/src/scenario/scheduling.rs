//! `scheduling`: each iteration places one call (`POST /api/v1/calls {channelId, to, at?}`),
//! the calling platform's scheduling API (its target: 50 calls/s with p95 < 200 ms). Every
//! other call is due now and dialled through the harness's fake Twilio Voice; the rest are
//! placed an hour ahead and must not be dialled during the run. Each call goes to a number of
//! its own (`+1` and the run, worker and call), so the [`CallLedger`] can tell that every call
//! due now was dialled exactly once. A refused call is an error.
//!
//! A caller number dials one single call a second, so the calls due now are spread over a pool
//! of voice channels, each with a number of its own, made before the run ([`VoiceTraffic`]):
//! each due call takes the channel it used least recently.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use serde_json::json;

use crate::cluster::ClusterConnection;
use crate::http::Connection;
use crate::metrics::{ErrorKind, Metric, Recorder};
use crate::target::Auth;
use crate::voice::{ACCOUNT_SID, AUTH_TOKEN, CallLedger};

/// The voice channels calls are placed on, and the ledger of a run's calls; one per session.
pub struct VoiceTraffic {
    pub ledger: Arc<CallLedger>,
    /// The fake Twilio Voice's URL, every channel's `apiBaseUrl`.
    api_base_url: String,
    /// Channel ids, the least recently used for a call due now first.
    channels: Mutex<VecDeque<String>>,
    /// Channels made so far (each gets the next caller number).
    made: AtomicUsize,
    /// Runs so far: each run's numbers begin with its own.
    runs: AtomicU32,
}

impl VoiceTraffic {
    pub fn new(ledger: Arc<CallLedger>, api_base_url: String) -> Self {
        Self {
            ledger,
            api_base_url,
            channels: Mutex::new(VecDeque::new()),
            made: AtomicUsize::new(0),
            runs: AtomicU32::new(0),
        }
    }

    /// Makes channels until there are `count`; the first failure stops it.
    pub async fn ensure_channels(
        &self,
        connection: &mut Connection,
        auth: &Auth,
        count: usize,
    ) -> Result<(), ErrorKind> {
        while self.lock().len() < count {
            self.make_channel(connection, auth).await?;
        }
        Ok(())
    }

    /// The number of the next run; its calls' numbers begin with it.
    pub fn next_run(&self) -> u32 {
        self.runs.fetch_add(1, Ordering::Relaxed) % 1_000
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<String>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A channel for a call: for one due now the least recently used (and it goes last), for
    /// one ahead any.
    fn channel(&self, due_now: bool) -> Option<String> {
        let mut channels = self.lock();
        if !due_now {
            return channels.back().cloned();
        }
        let channel = channels.pop_front()?;
        channels.push_back(channel.clone());
        Some(channel)
    }

    /// Makes one more channel (it goes first in the pool); its id.
    pub(crate) async fn make_channel(
        &self,
        connection: &mut Connection,
        auth: &Auth,
    ) -> Result<String, ErrorKind> {
        let index = self.made.fetch_add(1, Ordering::Relaxed);
        let body = json!({"kind": "voice", "name": format!("loadtest voice #{index}"),
            "config": {
                "accountSid": ACCOUNT_SID, "authToken": AUTH_TOKEN,
                "fromNumber": format!("+1555{:07}", index % 10_000_000),
                "apiBaseUrl": self.api_base_url,
                "answerUrl": "https://voice.example/answer"}});
        let created = post_json(connection, auth, "/api/v1/channels", &body).await?;
        let id = created["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or(ErrorKind::InvalidBody)?;
        self.lock().push_front(id.clone());
        Ok(id)
    }
}

pub struct SchedulingWorker {
    connection: ClusterConnection,
    recorder: Recorder,
    auth: Auth,
    traffic: Arc<VoiceTraffic>,
    /// The run's, this worker's and the call's numbers make each call's number.
    run: u32,
    index: usize,
    placed: usize,
}

impl SchedulingWorker {
    pub fn new(
        auth: Auth,
        traffic: Arc<VoiceTraffic>,
        run: u32,
        connection: ClusterConnection,
        recorder: Recorder,
        index: usize,
    ) -> Self {
        Self {
            connection,
            recorder,
            auth,
            traffic,
            run,
            index,
            placed: 0,
        }
    }

    /// One call placed: due now on even iterations, an hour ahead on odd ones.
    pub async fn iterate(&mut self, scheduled: Instant) {
        let (node, connection) = self.connection.next_in_turn();
        let due_now = self.placed.is_multiple_of(2);
        let to = format!(
            "+1{:03}{:04}{:06}",
            self.run,
            self.index % 10_000,
            self.placed % 1_000_000
        );
        self.placed += 1;
        let channel = match self.traffic.channel(due_now) {
            Some(channel) => channel,
            // No pool (it could not be made): one channel, made now and measured.
            None => match self.traffic.make_channel(connection, &self.auth).await {
                Ok(channel) => channel,
                Err(error) => {
                    let now = Instant::now();
                    self.recorder
                        .record(Metric::Scheduling, node, scheduled, now, Some(error));
                    return;
                }
            },
        };
        let mut body = json!({"channelId": channel, "to": to});
        if !due_now {
            let at = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
            body["at"] = json!(
                at.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            );
        }
        self.traffic.ledger.placing(&to, due_now.then(Instant::now));
        let error = post_json(connection, &self.auth, "/api/v1/calls", &body)
            .await
            .err();
        if error.is_some() {
            self.traffic.ledger.refused(&to);
        }
        self.recorder
            .record(Metric::Scheduling, node, scheduled, Instant::now(), error);
    }

    pub fn flush(&mut self) {
        self.recorder.flush();
    }
}

/// POSTs `body` and answers the created record (201).
pub(crate) async fn post_json(
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
