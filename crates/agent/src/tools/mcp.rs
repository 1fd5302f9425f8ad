//! A client for remote MCP servers over streamable HTTP (JSON-RPC 2.0 POSTed to one URL): the
//! `initialize` handshake (keeping the server's `Mcp-Session-Id`), `tools/list` discovery cached
//! per server for a while, and `tools/call`. Answers may come as a JSON body or as an event
//! stream carrying the JSON-RPC response. A session the server forgot (404) is opened again once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::ToolSpec;
use crate::runtime::content_type_is;
use crate::sse::{SseDecoder, SseError};

/// The protocol revision this client speaks.
const PROTOCOL_VERSION: &str = "2025-03-26";
const SESSION_HEADER: &str = "mcp-session-id";

/// A remote MCP server from an agent's `mcpServers` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct McpServer {
    pub name: String,
    pub url: String,
    /// Extra headers, e.g. `Authorization`.
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum McpError {
    #[error("cannot reach the MCP server")]
    Unreachable(#[from] reqwest::Error),
    #[error("the MCP server answered HTTP {0}")]
    Status(u16),
    #[error("the MCP server's answer is not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("the MCP server's event stream is malformed")]
    Stream(#[source] SseError),
    #[error("the MCP server's answer is not JSON-RPC: {0}")]
    Protocol(String),
    #[error("the MCP server refused: {message} ({code})")]
    Remote { code: i64, message: String },
}

struct Session {
    id: Option<String>,
    tools: Vec<ToolSpec>,
    opened: Instant,
}

pub(crate) struct McpClient {
    http: reqwest::Client,
    sessions: Mutex<HashMap<String, std::sync::Arc<Session>>>,
    /// How long a discovered tool list is trusted.
    ttl: Duration,
    next_id: AtomicU64,
}

impl McpClient {
    pub(crate) fn new(http: reqwest::Client, ttl: Duration) -> Self {
        Self {
            http,
            sessions: Mutex::new(HashMap::new()),
            ttl,
            next_id: AtomicU64::new(1),
        }
    }

    /// The server's tools, discovered once per `ttl`.
    pub(crate) async fn tools(&self, server: &McpServer) -> Result<Vec<ToolSpec>, McpError> {
        Ok(self.session(server, false).await?.tools.clone())
    }

    /// Calls a tool; returns its result and whether the tool reported an error.
    pub(crate) async fn call(
        &self,
        server: &McpServer,
        name: &str,
        arguments: Value,
    ) -> Result<(Value, bool), McpError> {
        let params = json!({"name": name, "arguments": arguments});
        let session = self.session(server, false).await?;
        let answer = match self
            .request(server, session.id.as_deref(), "tools/call", params.clone())
            .await
        {
            Err(McpError::Status(404)) => {
                let session = self.session(server, true).await?;
                self.request(server, session.id.as_deref(), "tools/call", params)
                    .await?
            }
            other => other?,
        };
        Ok(tool_result(answer.result))
    }

    async fn session(
        &self,
        server: &McpServer,
        reopen: bool,
    ) -> Result<std::sync::Arc<Session>, McpError> {
        if !reopen
            && let Some(session) = self.lock().get(&server.url)
            && session.opened.elapsed() < self.ttl
        {
            return Ok(session.clone());
        }
        let init = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "switchboard", "version": env!("CARGO_PKG_VERSION")}
        });
        let opened = self.request(server, None, "initialize", init).await?;
        let id = opened.session;
        self.notify(server, id.as_deref(), "notifications/initialized")
            .await?;
        let listed = self
            .request(server, id.as_deref(), "tools/list", json!({}))
            .await?;
        let tools = listed
            .result
            .get("tools")
            .and_then(Value::as_array)
            .ok_or_else(|| McpError::Protocol("tools/list has no `tools`".into()))?
            .iter()
            .filter_map(|tool| {
                Some(ToolSpec {
                    name: tool.get("name")?.as_str()?.to_owned(),
                    description: tool
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    input_schema: tool
                        .get("inputSchema")
                        .cloned()
                        .unwrap_or_else(|| json!({"type": "object"})),
                })
            })
            .collect();
        let session = std::sync::Arc::new(Session {
            id,
            tools,
            opened: Instant::now(),
        });
        self.lock().insert(server.url.clone(), session.clone());
        Ok(session)
    }

    fn post(
        &self,
        server: &McpServer,
        session: Option<&str>,
        body: &Value,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .post(&server.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL_VERSION)
            .body(body.to_string());
        if let Some(session) = session {
            request = request.header(SESSION_HEADER, session);
        }
        for (name, value) in &server.headers {
            request = request.header(name, value);
        }
        request
    }

    async fn notify(
        &self,
        server: &McpServer,
        session: Option<&str>,
        method: &str,
    ) -> Result<(), McpError> {
        let body = json!({"jsonrpc": "2.0", "method": method});
        let response = self.post(server, session, &body).send().await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(McpError::Status(response.status().as_u16()))
        }
    }

    async fn request(
        &self,
        server: &McpServer,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Answer, McpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response = self.post(server, session, &body).send().await?;
        let status = response.status();
        if !status.is_success() {
            return Err(McpError::Status(status.as_u16()));
        }
        let session = response
            .headers()
            .get(SESSION_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .or_else(|| session.map(str::to_owned));
        let streamed = content_type_is(&response, "text/event-stream");
        let bytes = response.bytes().await?;
        let message = if streamed {
            find_response(&bytes, id)?
        } else {
            serde_json::from_slice(&bytes).map_err(McpError::NotJson)?
        };
        if let Some(error) = message.get("error") {
            return Err(McpError::Remote {
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        let result = message
            .get("result")
            .cloned()
            .ok_or_else(|| McpError::Protocol("no `result`".into()))?;
        Ok(Answer { result, session })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, std::sync::Arc<Session>>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct Answer {
    result: Value,
    session: Option<String>,
}

/// The JSON-RPC response with `id` among the events of a stream.
fn find_response(bytes: &[u8], id: u64) -> Result<Value, McpError> {
    let mut decoder = SseDecoder::default();
    let mut events = decoder.push(bytes).map_err(McpError::Stream)?;
    events.extend(decoder.finish());
    events
        .iter()
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .find(|message| message.get("id").and_then(Value::as_u64) == Some(id))
        .ok_or_else(|| McpError::Protocol(format!("the stream has no response to request {id}")))
}

/// A `tools/call` result as the model sees it: structured content if given, else the text
/// content (parsed when it is JSON); and whether the tool failed.
fn tool_result(result: Value) -> (Value, bool) {
    let is_error = result
        .get("isError")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(structured) = result.get("structuredContent") {
        return (structured.clone(), is_error);
    }
    let texts: Vec<&str> = result
        .get("content")
        .and_then(Value::as_array)
        .map(|content| {
            content
                .iter()
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let value = match texts.as_slice() {
        [] => result,
        [one] => serde_json::from_str(one).unwrap_or_else(|_| Value::from(*one)),
        many => Value::from(many.join("\n")),
    };
    (value, is_error)
}
