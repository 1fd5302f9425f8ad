//! GraphQL traffic on `POST /graphql`. The `graphql` mix is an inbox client's day, by weight:
//! the conversation list with each conversation's newest messages (60), a search (20), and a
//! `sendMessage` mutation (20). `graphql-me` and `graphql-list` repeat one query, to set against
//! REST's form of it (`rest-me`, `rest-list`). An answer with errors is an error even on `200`
//! ([`crate::graphql::verdict`]). Each operation is its own metric and counts towards `graphql`.

use std::time::Instant;

use bytes::Bytes;
use http::Method;
use serde_json::json;

use super::dice::Dice;
use super::{LISTED_CONVERSATIONS, MESSAGES_PER_CONVERSATION, SEARCH_HITS};
use crate::cluster::ClusterConnection;
use crate::graphql;
use crate::metrics::{Metric, Recorder};
use crate::target::{Auth, Fixture, SEARCH_WORDS};

/// Which operations a worker sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphqlLoad {
    /// The `graphql` mix.
    Mix,
    /// `me` only.
    Me,
    /// The conversation list with each conversation's messages only.
    List,
}

/// The `graphql` mix, by cumulative weight.
const MIX: [(u64, Metric); 3] = [
    (60, Metric::GraphqlList),
    (80, Metric::GraphqlSearch),
    (100, Metric::GraphqlSendMessage),
];

pub struct GraphqlWorker {
    connection: ClusterConnection,
    recorder: Recorder,
    auth: Auth,
    /// Seeded conversations `sendMessage` posts to.
    conversations: Vec<String>,
    load: GraphqlLoad,
    /// The bodies that never change, built once.
    me: Bytes,
    list: Bytes,
    dice: Dice,
    counter: u64,
}

impl GraphqlWorker {
    pub fn new(
        fixture: &Fixture,
        load: GraphqlLoad,
        connection: ClusterConnection,
        recorder: Recorder,
        index: usize,
    ) -> Self {
        Self {
            connection,
            recorder,
            auth: fixture.auth.clone(),
            conversations: fixture.rest.conversations.clone(),
            load,
            me: graphql::body(graphql::ME, json!({})),
            list: graphql::body(
                graphql::LIST,
                json!({"conversations": LISTED_CONVERSATIONS,
                    "messages": MESSAGES_PER_CONVERSATION}),
            ),
            dice: Dice::new(index),
            counter: 0,
        }
    }

    pub async fn iterate(&mut self, scheduled: Instant) {
        let metric = match self.load {
            GraphqlLoad::Mix => self.dice.weighted(&MIX).unwrap_or(Metric::GraphqlList),
            GraphqlLoad::Me => Metric::GraphqlMe,
            GraphqlLoad::List => Metric::GraphqlList,
        };
        self.counter += 1;
        let body = match metric {
            Metric::GraphqlMe => self.me.clone(),
            Metric::GraphqlSearch => {
                let word = self.dice.search_word();
                graphql::body(graphql::SEARCH, json!({"q": word, "first": SEARCH_HITS}))
            }
            Metric::GraphqlSendMessage => {
                let Some(conversation) = self.dice.pick(&self.conversations).cloned() else {
                    return;
                };
                let word = SEARCH_WORDS[(self.counter % SEARCH_WORDS.len() as u64) as usize];
                let text = format!("graphql message {} about the {word}", self.counter);
                graphql::body(
                    graphql::SEND_MESSAGE,
                    json!({"conversationId": conversation, "text": text}),
                )
            }
            _ => self.list.clone(),
        };
        let headers = self.auth.headers();
        let (node, connection) = self.connection.next_in_turn();
        let result = connection
            .send(Method::POST, graphql::PATH, &headers, Some(body))
            .await;
        let finished = Instant::now();
        let error = match result {
            Ok(response) => graphql::verdict(&response),
            Err(error) => Some(error.kind()),
        };
        self.recorder
            .record(metric, node, scheduled, finished, error);
    }

    pub fn flush(&mut self) {
        self.recorder.flush();
    }
}
