//! MCP tool calls on `POST /mcp`, stateless (2026-07-28: one request per call, no session).
//! `mcp` calls `echo` only, the tool an MCP server's own cost is measured with, so it can be set
//! against another server's (a peer that takes no credentials is loaded without). The `mcp-mix`
//! is an assistant reading an inbox, by weight: `list_conversations` (50), `search_messages`
//! (30) and `echo` (20). A JSON-RPC error or an `isError` result is an error
//! ([`crate::mcp::verdict`]). Each tool is its own metric and counts towards `mcp`.

use std::time::Instant;

use http::Method;
use serde_json::json;

use super::dice::Dice;
use super::{LISTED_CONVERSATIONS, SEARCH_HITS};
use crate::cluster::ClusterConnection;
use crate::http::Headers;
use crate::mcp;
use crate::metrics::{Metric, Recorder};
use crate::target::Auth;

/// Which tools a worker calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpLoad {
    /// `echo` only.
    Echo,
    /// The `mcp-mix`.
    Mix,
}

/// The `mcp-mix`, by cumulative weight.
const MIX: [(u64, Metric); 3] = [
    (50, Metric::McpListConversations),
    (80, Metric::McpSearch),
    (100, Metric::McpEcho),
];

/// The text `echo` sends back, about the size of a short chat message.
const ECHO_TEXT: &str = "hello from the switchboard load harness";

pub struct McpWorker {
    connection: ClusterConnection,
    recorder: Recorder,
    /// Credentials, when the server takes them.
    auth: Option<Auth>,
    load: McpLoad,
    /// Each tool's headers, built once.
    echo_headers: Headers,
    list_headers: Headers,
    search_headers: Headers,
    dice: Dice,
    /// The JSON-RPC id of the next call.
    next_id: u64,
}

impl McpWorker {
    pub fn new(
        auth: Option<Auth>,
        load: McpLoad,
        connection: ClusterConnection,
        recorder: Recorder,
        index: usize,
    ) -> Self {
        Self {
            connection,
            recorder,
            auth,
            load,
            echo_headers: mcp::tool_call_headers("echo"),
            list_headers: mcp::tool_call_headers("list_conversations"),
            search_headers: mcp::tool_call_headers("search_messages"),
            dice: Dice::new(index),
            next_id: 1,
        }
    }

    pub async fn iterate(&mut self, scheduled: Instant) {
        let metric = match self.load {
            McpLoad::Echo => Metric::McpEcho,
            McpLoad::Mix => self.dice.weighted(&MIX).unwrap_or(Metric::McpEcho),
        };
        let id = self.next_id;
        self.next_id += 1;
        let (body, tool_headers) = match metric {
            Metric::McpListConversations => (
                mcp::tool_call(
                    id,
                    "list_conversations",
                    json!({"limit": LISTED_CONVERSATIONS}),
                ),
                &self.list_headers,
            ),
            Metric::McpSearch => {
                let word = self.dice.search_word();
                (
                    mcp::tool_call(
                        id,
                        "search_messages",
                        json!({"q": word, "limit": SEARCH_HITS}),
                    ),
                    &self.search_headers,
                )
            }
            _ => (
                mcp::tool_call(id, "echo", json!({"text": ECHO_TEXT})),
                &self.echo_headers,
            ),
        };
        let mut headers = self.auth.as_ref().map(Auth::headers).unwrap_or_default();
        headers.extend(tool_headers.iter().cloned());
        let (node, connection) = self.connection.next_in_turn();
        let result = connection
            .send(Method::POST, mcp::PATH, &headers, Some(body))
            .await;
        let finished = Instant::now();
        let error = match result {
            Ok(response) => mcp::verdict(&response),
            Err(error) => Some(error.kind()),
        };
        self.recorder
            .record(metric, node, scheduled, finished, error);
    }

    pub fn flush(&mut self) {
        self.recorder.flush();
    }
}
