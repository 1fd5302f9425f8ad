//! REST traffic. The `rest` mix is what an operator console and an app do all day, by weight:
//! create a conversation (10), post a message (30), list a conversation's messages (30), search
//! (10), list conversations with their unread counts (20). `rest-me` and `rest-list` repeat one
//! operation, REST's form of a GraphQL query, so the two protocols compare by the same work:
//! the caller's user, and the conversation list followed by the messages of each listed
//! conversation (one operation of 1 + [`LISTED_CONVERSATIONS`] requests, sent one after the other
//! on the worker's connection). Each operation is its own metric and counts towards `rest`.

use std::time::Instant;

use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use serde_json::json;

use super::dice::Dice;
use super::{LISTED_CONVERSATIONS, MESSAGES_PER_CONVERSATION, SEARCH_HITS};
use crate::cluster::{ClusterConnection, NodeIndex};
use crate::http::{Headers, Response, TransportError};
use crate::metrics::{ErrorKind, Metric, Recorder};
use crate::target::{Auth, Fixture, RestFixture, SEARCH_WORDS};

/// Which operations a worker sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestLoad {
    /// The `rest` mix.
    Mix,
    /// `GET /api/v1/users/{caller}` only.
    Me,
    /// The conversation list with each conversation's messages only.
    List,
}

pub struct RestWorker {
    connection: ClusterConnection,
    recorder: Recorder,
    auth: Auth,
    fixture: RestFixture,
    load: RestLoad,
    /// `/api/v1/users/{caller}`.
    me_path: String,
    /// Conversations this worker created, also used for posting and listing.
    created: Vec<String>,
    dice: Dice,
    counter: u64,
}

/// The `rest` mix, by cumulative weight.
const MIX: [(u64, Metric); 5] = [
    (10, Metric::RestCreateConversation),
    (40, Metric::RestPostMessage),
    (70, Metric::RestListMessages),
    (80, Metric::RestSearch),
    (100, Metric::RestListConversations),
];

/// The ids of a page of resources; the rest of each is skipped unread.
#[derive(Deserialize)]
struct Listed {
    data: Vec<Identified>,
}

#[derive(Deserialize)]
struct Identified {
    id: String,
}

impl RestWorker {
    pub fn new(
        fixture: &Fixture,
        load: RestLoad,
        connection: ClusterConnection,
        recorder: Recorder,
        index: usize,
    ) -> Self {
        Self {
            connection,
            recorder,
            auth: fixture.auth.clone(),
            fixture: fixture.rest.clone(),
            load,
            me_path: format!("/api/v1/users/{}", fixture.auth.user_id().unwrap_or("")),
            created: Vec::new(),
            dice: Dice::new(index),
            counter: 0,
        }
    }

    /// A seeded conversation or one this worker created.
    fn conversation(&mut self) -> Option<String> {
        let created = self.created.len();
        let index = self
            .dice
            .index(created + self.fixture.conversations.len())?;
        match index.checked_sub(created) {
            None => self.created.get(index).cloned(),
            Some(seeded) => self.fixture.conversations.get(seeded).cloned(),
        }
    }

    pub async fn iterate(&mut self, scheduled: Instant) {
        let metric = match self.load {
            RestLoad::Mix => self
                .dice
                .weighted(&MIX)
                .unwrap_or(Metric::RestListConversations),
            RestLoad::Me => Metric::RestMe,
            RestLoad::List => Metric::RestList,
        };
        self.counter += 1;
        let headers = self.auth.headers();
        let node = self.connection.next_node();
        let (result, expected) = match metric {
            Metric::RestCreateConversation => {
                let contact = self.dice.pick(&self.fixture.contacts).cloned();
                let body = json!({"channelId": self.fixture.channel_id, "contactId": contact});
                (
                    self.post(node, "/api/v1/conversations", &headers, &body)
                        .await,
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
                (self.post(node, &path, &headers, &body).await, 201)
            }
            Metric::RestListMessages => {
                let Some(conversation) = self.conversation() else {
                    return;
                };
                let path = format!("/api/v1/conversations/{conversation}/messages?limit=20");
                (self.connection.at(node).get(&path, &headers).await, 200)
            }
            Metric::RestSearch => {
                let word = self.dice.search_word();
                let path = format!("/api/v1/search/messages?q={word}&limit={SEARCH_HITS}");
                (self.connection.at(node).get(&path, &headers).await, 200)
            }
            Metric::RestMe => (
                self.connection.at(node).get(&self.me_path, &headers).await,
                200,
            ),
            Metric::RestList => {
                let error = self.list_with_messages(node, &headers).await;
                self.recorder
                    .record(metric, node, scheduled, Instant::now(), error);
                return;
            }
            _ => (
                self.connection
                    .at(node)
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
        self.recorder
            .record(metric, node, scheduled, finished, error);
    }

    /// The conversation list, then each listed conversation's newest messages: what GraphQL's
    /// list query asks for in one request, all from `node`. The first failure ends the
    /// operation.
    async fn list_with_messages(
        &mut self,
        node: NodeIndex,
        headers: &Headers,
    ) -> Option<ErrorKind> {
        let connection = self.connection.at(node);
        let path = format!("/api/v1/conversations?limit={LISTED_CONVERSATIONS}");
        let listed = match connection.get(&path, headers).await {
            Ok(response) if response.status == 200 => {
                match serde_json::from_slice::<Listed>(&response.body) {
                    Ok(listed) => listed,
                    Err(_) => return Some(ErrorKind::InvalidBody),
                }
            }
            Ok(response) => return Some(ErrorKind::Status(response.status)),
            Err(error) => return Some(error.kind()),
        };
        for conversation in listed.data {
            let path = format!(
                "/api/v1/conversations/{}/messages?limit={MESSAGES_PER_CONVERSATION}",
                conversation.id
            );
            match connection.get(&path, headers).await {
                Ok(response) if response.status == 200 => {}
                Ok(response) => return Some(ErrorKind::Status(response.status)),
                Err(error) => return Some(error.kind()),
            }
        }
        None
    }

    async fn post(
        &mut self,
        node: NodeIndex,
        path: &str,
        headers: &Headers,
        body: &serde_json::Value,
    ) -> Result<Response, TransportError> {
        let bytes = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
        self.connection
            .at(node)
            .send(Method::POST, path, headers, Some(bytes))
            .await
    }

    pub fn flush(&mut self) {
        self.recorder.flush();
    }
}
