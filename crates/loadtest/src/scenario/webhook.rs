//! `webhook` and `e2e`: signed WhatsApp Cloud API webhooks from simulated contacts. A `200`
//! acknowledgement is a success; anything else (429 and 503 are load shedding) an error of its
//! kind. Rejected messages are not retried: the next message of that contact simply follows.
//! Against a cluster a contact's consecutive messages go to consecutive nodes
//! ([`ClusterConnection::for_message`]), and its replies must still come back in order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use http::Method;
use http::header::{HeaderName, HeaderValue};

use crate::checker::Checker;
use crate::cluster::ClusterConnection;
use crate::metrics::{ErrorKind, Metric, Recorder};
use crate::target::SeededChannel;
use crate::whatsapp::{signature, token, wa_id, webhook_body};

/// The simulated contacts and where they write; shared by every worker of a session.
pub struct WebhookTraffic {
    run_id: String,
    channels: Vec<SeededChannel>,
    /// Per contact: its `wa_id` and its channel's index.
    contacts: Vec<(String, usize)>,
    /// Per contact: the next message's `seq` (kept across the runs of a session, so provider
    /// message ids never repeat).
    next_seq: Vec<AtomicU64>,
    checker: Option<Arc<Mutex<Checker>>>,
}

impl WebhookTraffic {
    /// `contacts` contacts over `channels` (contact `c` writes to `channels[c % M]`).
    pub fn new(
        run_id: &str,
        run_number: u32,
        channels: Vec<SeededChannel>,
        contacts: usize,
    ) -> Self {
        let contacts = (0..contacts.max(1))
            .map(|contact| (wa_id(run_number, contact), contact % channels.len().max(1)))
            .collect::<Vec<_>>();
        Self {
            run_id: run_id.to_owned(),
            next_seq: contacts.iter().map(|_| AtomicU64::new(0)).collect(),
            contacts,
            channels,
            checker: None,
        }
    }

    /// A checker that knows every contact, for end-to-end runs.
    pub fn checker_for(&self) -> Checker {
        Checker::new(
            &self.run_id,
            self.contacts
                .iter()
                .map(|(wa_id, channel)| {
                    let phone = self
                        .channels
                        .get(*channel)
                        .map(|channel| channel.phone_number_id.clone())
                        .unwrap_or_default();
                    (wa_id.clone(), phone)
                })
                .collect(),
        )
    }

    pub fn with_checker(mut self, checker: Arc<Mutex<Checker>>) -> Self {
        self.checker = Some(checker);
        self
    }

    pub fn contacts(&self) -> usize {
        self.contacts.len()
    }
}

pub struct WebhookWorker {
    traffic: Arc<WebhookTraffic>,
    connection: ClusterConnection,
    recorder: Recorder,
}

const SIGNATURE: HeaderName = HeaderName::from_static("x-hub-signature-256");

impl WebhookWorker {
    pub fn new(
        traffic: Arc<WebhookTraffic>,
        connection: ClusterConnection,
        recorder: Recorder,
    ) -> Self {
        Self {
            traffic,
            connection,
            recorder,
        }
    }

    /// Sends contact `slot`'s next message and waits for the acknowledgement.
    pub async fn iterate(&mut self, slot: usize, scheduled: Instant) {
        let traffic = &self.traffic;
        let contact = slot % traffic.contacts.len();
        let (wa_id, channel) = &traffic.contacts[contact];
        let Some(channel) = traffic.channels.get(*channel) else {
            return;
        };
        let seq = traffic.next_seq[contact].fetch_add(1, Ordering::Relaxed);
        let text = token(&traffic.run_id, contact, seq);
        let message_id = format!("wamid.{text}");
        let body = webhook_body(&channel.phone_number_id, wa_id, &message_id, &text);
        let signed = signature(&channel.app_secret, &body);
        let Ok(signed) = HeaderValue::from_str(&signed) else {
            return;
        };
        if let Some(checker) = &traffic.checker {
            checker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .sending(contact, seq, scheduled);
        }
        let (node, connection) = self.connection.for_message(contact, seq);
        let answer = connection
            .send(
                Method::POST,
                &channel.webhook_path,
                &[(SIGNATURE, signed)],
                Some(Bytes::from(body)),
            )
            .await;
        let finished = Instant::now();
        let error = match answer {
            Ok(response) if response.status == 200 => None,
            Ok(response) => Some(ErrorKind::Status(response.status)),
            Err(error) => Some(error.kind()),
        };
        if let Some(checker) = &traffic.checker {
            checker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .answered(contact, seq, error.is_none());
        }
        self.recorder
            .record(Metric::WebhookAck, node, scheduled, finished, error);
    }

    pub fn flush(&mut self) {
        self.recorder.flush();
    }
}
