//! `rest`: what an operator console and an app do all day, by weight — create a conversation
//! (10), post a message (30), list a conversation's messages (30), search (10), list
//! conversations with their unread counts (20). Each call is its own metric and counts towards
//! `rest`.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::Method;
use serde_json::json;

use crate::http::{Connection, Endpoint, Headers};
use crate::metrics::{ErrorKind, Metric, Recorder};
use crate::target::{Auth, Fixture, RestFixture, SEARCH_WORDS};

pub struct RestWorker {
    connection: Connection,
    recorder: Recorder,
    auth: Auth,
    fixture: RestFixture,
    /// Conversations this worker created, also used for posting and listing.
    created: Vec<String>,
    random: u64,
    counter: u64,
}

/// Cumulative weights of the operations, out of 100.
const MIX: [(u64, Metric); 5] = [
    (10, Metric::RestCreateConversation),
    (40, Metric::RestPostMessage),
    (70, Metric::RestListMessages),
    (80, Metric::RestSearch),
    (100, Metric::RestListConversations),
];

impl RestWorker {
    pub fn new(
        fixture: &Fixture,
        endpoint: Arc<Endpoint>,
        recorder: Recorder,
        index: usize,
    ) -> Self {
        Self {
            connection: Connection::new(endpoint),
            recorder,
            auth: fixture.auth.clone(),
            fixture: fixture.rest.clone(),
            created: Vec::new(),
            random: rand::random::<u64>() | 1 | (index as u64) << 1,
            counter: 0,
        }
    }

    /// xorshift64*: cheap, `Send`, good enough to pick operations.
    fn next_random(&mut self) -> u64 {
        let mut x = self.random;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.random = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn random_index(&mut self, length: usize) -> Option<usize> {
        (length > 0).then(|| (self.next_random() % length as u64) as usize)
    }

    /// A seeded conversation or one this worker created.
    fn conversation(&mut self) -> Option<String> {
        let created = self.created.len();
        let index = self.random_index(created + self.fixture.conversations.len())?;
        match index.checked_sub(created) {
            None => self.created.get(index).cloned(),
            Some(seeded) => self.fixture.conversations.get(seeded).cloned(),
        }
    }

    pub async fn iterate(&mut self, scheduled: Instant) {
        let roll = self.next_random() % 100;
        let metric = MIX
            .iter()
            .find(|(limit, _)| roll < *limit)
            .map_or(Metric::RestListConversations, |(_, metric)| *metric);
        self.counter += 1;
        let headers = self.auth.headers();
        let (result, expected) = match metric {
            Metric::RestCreateConversation => {
                let contact = self
                    .random_index(self.fixture.contacts.len())
                    .and_then(|index| self.fixture.contacts.get(index).cloned());
                let body = json!({"channelId": self.fixture.channel_id, "contactId": contact});
                (
                    self.post("/api/v1/conversations", &headers, &body).await,
                    201,
                )
            }
            Metric::RestPostMessage => {
                let Some(conversation) = self.conversation() else {
                    return;
                };
                let word = SEARCH_WORDS[(self.counter % SEARCH_WORDS.len() as u64) as usize];
                let body =
                    json!({"text": format!("load message {} about the {word}", self.counter)});
                let path = format!("/api/v1/conversations/{conversation}/messages");
                (self.post(&path, &headers, &body).await, 201)
            }
            Metric::RestListMessages => {
                let Some(conversation) = self.conversation() else {
                    return;
                };
                let path = format!("/api/v1/conversations/{conversation}/messages?limit=20");
                (self.connection.get(&path, &headers).await, 200)
            }
            Metric::RestSearch => {
                let word = SEARCH_WORDS[(self.next_random() % SEARCH_WORDS.len() as u64) as usize];
                let path = format!("/api/v1/search/messages?q={word}&limit=20");
                (self.connection.get(&path, &headers).await, 200)
            }
            _ => (
                self.connection
                    .get("/api/v1/conversations?limit=20", &headers)
                    .await,
                200,
            ),
        };
        let finished = Instant::now();
        let error = match result {
            Ok(response) if response.status == expected => {
                if metric == Metric::RestCreateConversation
                    && let Some(id) = response
                        .json()
                        .and_then(|body| body["id"].as_str().map(str::to_owned))
                    && self.created.len() < 100
                {
                    self.created.push(id);
                }
                None
            }
            Ok(response) => Some(ErrorKind::Status(response.status)),
            Err(error) => Some(error.kind()),
        };
        self.recorder.record(metric, scheduled, finished, error);
    }

    async fn post(
        &mut self,
        path: &str,
        headers: &Headers,
        body: &serde_json::Value,
    ) -> Result<crate::http::Response, crate::http::TransportError> {
        let bytes = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
        self.connection
            .send(Method::POST, path, headers, Some(bytes))
            .await
    }

    pub fn flush(&mut self) {
        self.recorder.flush();
    }
}
