//! The end-to-end correctness checker. Each simulated contact's messages are numbered (`seq`)
//! and sent one after another, each only after the previous one was acknowledged. Every reply the
//! fake provider receives is matched back to the messages it answers, and per contact (= per
//! conversation) the checker counts:
//!
//! - **lost**: acknowledged, but no reply by the end (after the drain);
//! - **duplicates**: a message answered by two different sends (different `Idempotency-Key`s);
//!   the same key arriving again is a retry the provider deduplicates, counted as a resend;
//! - **order violations**: a reply to an earlier message arriving after a reply to a later one;
//! - **misrouted**: a reply sent to another recipient or from another business number;
//! - **unexpected**: a reply to nothing this run acknowledged (e.g. a webhook that timed out on
//!   our side but was stored) — reported, not a failure.
//!
//! And per contact the longest wait for a reply: from a message, or from the reply before it
//! if that came later, to the reply that answers it. A node that dies holding conversations
//! shows here as the time they stood still until another node took them over.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::metrics::{LatencySummary, histogram};
use crate::whatsapp::parse_token;

/// A reply as the fake provider received it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub idempotency_key: String,
    /// From the URL: `/{phoneNumberId}/messages`.
    pub phone_number_id: String,
    /// The body's `to` (a `wa_id`).
    pub to: String,
    /// The body's `text.body`: one token per line for the messages it answers.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Sending,
    Acknowledged,
    Rejected,
}

#[derive(Debug, Clone, Copy)]
struct SentMessage {
    scheduled: Instant,
    delivery: Delivery,
    replied: bool,
}

/// One simulated contact: who it is, where it writes, what it sent.
#[derive(Debug)]
struct ContactLedger {
    wa_id: String,
    phone_number_id: String,
    /// Indexed by `seq`.
    sent: Vec<Option<SentMessage>>,
    highest_replied: Option<u64>,
    last_reply: Option<Instant>,
    /// Zero until `last_reply` is set.
    longest_wait: Duration,
}

/// The correctness figures of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Correctness {
    pub acknowledged: u64,
    pub replied: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub order_violations: u64,
    pub misrouted: u64,
    pub unexpected: u64,
    /// The same `Idempotency-Key` delivered again (a retry; harmless).
    pub resends: u64,
    /// A few lost messages, as `contact:seq`, to look up in the server's logs.
    pub lost_examples: Vec<String>,
    /// Over the contacts answered, each one's longest wait for a reply (see the module).
    #[serde(default)]
    pub longest_wait_ms: LatencySummary,
}

impl Correctness {
    /// No loss, no duplicate, strict order, nothing misrouted.
    pub fn holds(&self) -> bool {
        self.lost == 0 && self.duplicates == 0 && self.order_violations == 0 && self.misrouted == 0
    }

    /// Every count with its label, in report order.
    pub fn counts(&self) -> [(&'static str, u64); 8] {
        [
            ("acknowledged", self.acknowledged),
            ("replied", self.replied),
            ("lost", self.lost),
            ("duplicates", self.duplicates),
            ("order violations", self.order_violations),
            ("misrouted", self.misrouted),
            ("unexpected", self.unexpected),
            ("resends", self.resends),
        ]
    }
}

/// The ledger of every contact's messages and replies.
#[derive(Debug)]
pub struct Checker {
    run_id: String,
    contacts: Vec<ContactLedger>,
    keys: HashSet<String>,
    figures: Correctness,
}

impl Checker {
    /// `contacts[i]` is contact `i`'s `(wa_id, phone_number_id)`.
    pub fn new(run_id: &str, contacts: Vec<(String, String)>) -> Self {
        Self {
            run_id: run_id.to_owned(),
            contacts: contacts
                .into_iter()
                .map(|(wa_id, phone_number_id)| ContactLedger {
                    wa_id,
                    phone_number_id,
                    sent: Vec::new(),
                    highest_replied: None,
                    last_reply: None,
                    longest_wait: Duration::ZERO,
                })
                .collect(),
            keys: HashSet::new(),
            figures: Correctness::default(),
        }
    }

    /// Message `seq` of `contact`, scheduled at `scheduled`, is about to be sent.
    pub fn sending(&mut self, contact: usize, seq: u64, scheduled: Instant) {
        let Some(ledger) = self.contacts.get_mut(contact) else {
            return;
        };
        let index = usize::try_from(seq).unwrap_or(usize::MAX);
        if ledger.sent.len() <= index {
            ledger.sent.resize(index + 1, None);
        }
        ledger.sent[index] = Some(SentMessage {
            scheduled,
            delivery: Delivery::Sending,
            replied: false,
        });
    }

    /// The webhook carrying it was answered: `accepted` when with 200.
    pub fn answered(&mut self, contact: usize, seq: u64, accepted: bool) {
        if let Some(message) = self.message(contact, seq) {
            message.delivery = if accepted {
                Delivery::Acknowledged
            } else {
                Delivery::Rejected
            };
        }
    }

    fn message(&mut self, contact: usize, seq: u64) -> Option<&mut SentMessage> {
        let index = usize::try_from(seq).ok()?;
        self.contacts
            .get_mut(contact)?
            .sent
            .get_mut(index)?
            .as_mut()
    }

    /// Records a reply; returns the scheduled send times of the messages it answers for the
    /// first time (their end-to-end latency ends now).
    pub fn reply(&mut self, reply: &Reply) -> Vec<Instant> {
        if !self.keys.insert(reply.idempotency_key.clone()) {
            self.figures.resends += 1;
            return Vec::new();
        }
        let now = Instant::now();
        let mut answered = Vec::new();
        let mut matched = false;
        for line in reply.text.lines() {
            let Some((contact, seq)) = parse_token(&self.run_id, line) else {
                continue;
            };
            matched = true;
            let Some(ledger) = self.contacts.get_mut(contact) else {
                self.figures.unexpected += 1;
                continue;
            };
            if ledger.wa_id != reply.to || ledger.phone_number_id != reply.phone_number_id {
                self.figures.misrouted += 1;
            }
            let highest = ledger.highest_replied;
            let index = usize::try_from(seq).unwrap_or(usize::MAX);
            let Some(Some(message)) = ledger.sent.get_mut(index) else {
                self.figures.unexpected += 1;
                continue;
            };
            if message.replied {
                self.figures.duplicates += 1;
                continue;
            }
            message.replied = true;
            if message.delivery == Delivery::Rejected {
                self.figures.unexpected += 1;
                continue;
            }
            self.figures.replied += 1;
            answered.push(message.scheduled);
            let since = ledger
                .last_reply
                .map_or(message.scheduled, |last| last.max(message.scheduled));
            let wait = now.saturating_duration_since(since);
            ledger.longest_wait = ledger.longest_wait.max(wait);
            ledger.last_reply = Some(now);
            if highest.is_some_and(|highest| seq < highest) {
                self.figures.order_violations += 1;
            }
            ledger.highest_replied = Some(highest.map_or(seq, |highest| highest.max(seq)));
        }
        if !matched {
            self.figures.unexpected += 1;
        }
        answered
    }

    /// The figures so far; acknowledged messages without a reply count as lost.
    pub fn correctness(&self) -> Correctness {
        let mut figures = self.figures.clone();
        figures.acknowledged = 0;
        figures.lost = 0;
        let mut waits = histogram(3);
        for ledger in self
            .contacts
            .iter()
            .filter(|ledger| ledger.last_reply.is_some())
        {
            waits.saturating_record(
                u64::try_from(ledger.longest_wait.as_micros()).unwrap_or(u64::MAX),
            );
        }
        figures.longest_wait_ms = LatencySummary::from_micros(&waits);
        for (contact, ledger) in self.contacts.iter().enumerate() {
            for (seq, message) in ledger.sent.iter().enumerate() {
                let Some(message) = message else { continue };
                if message.delivery != Delivery::Acknowledged {
                    continue;
                }
                figures.acknowledged += 1;
                if !message.replied {
                    figures.lost += 1;
                    if figures.lost_examples.len() < 10 {
                        figures.lost_examples.push(format!("{contact}:{seq}"));
                    }
                }
            }
        }
        figures
    }

    /// Acknowledged messages still waiting for a reply.
    pub fn outstanding(&self) -> u64 {
        self.contacts
            .iter()
            .flat_map(|ledger| ledger.sent.iter().flatten())
            .filter(|message| message.delivery == Delivery::Acknowledged && !message.replied)
            .count() as u64
    }
}
