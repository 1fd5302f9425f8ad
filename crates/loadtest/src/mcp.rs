//! MCP over streamable HTTP as the scenarios speak it: stateless requests of the 2026-07-28
//! generation (one `POST /mcp` per call, no session), and how an answer is judged. Each request
//! carries the protocol version and client capabilities in `params._meta`, mirrored in the
//! `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers, as a conforming client sends
//! them. A tool that fails answers a `200` with `isError: true`, so the status alone says little:
//! a call counts as a success only when it is a `200` with a `result` that is not an error.

use bytes::Bytes;
use http::header::{ACCEPT, HeaderName, HeaderValue};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use crate::http::{Headers, Response};
use crate::metrics::ErrorKind;

/// Where the server answers MCP.
pub const PATH: &str = "/mcp";

/// The stateless protocol generation the scenarios speak.
pub const PROTOCOL_VERSION: &str = "2026-07-28";

/// The JSON-RPC body of a `tools/call` of `tool` with `arguments`, numbered `id`.
pub fn tool_call(id: u64, tool: &str, arguments: Value) -> Bytes {
    let request = json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {
            "name": tool,
            "arguments": arguments,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": PROTOCOL_VERSION,
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    });
    Bytes::from(serde_json::to_vec(&request).unwrap_or_default())
}

/// The headers of a `tools/call` of `tool`, besides credentials. `Accept` names both answers a
/// streamable HTTP server may give, as the transport requires of clients.
pub fn tool_call_headers(tool: &'static str) -> Headers {
    vec![
        (
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        ),
        (
            HeaderName::from_static("mcp-protocol-version"),
            HeaderValue::from_static(PROTOCOL_VERSION),
        ),
        (
            HeaderName::from_static("mcp-method"),
            HeaderValue::from_static("tools/call"),
        ),
        (
            HeaderName::from_static("mcp-name"),
            HeaderValue::from_static(tool),
        ),
    ]
}

/// Only what decides the verdict; the rest of the answer is skipped unread.
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    result: Option<ToolResult>,
    #[serde(default)]
    error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct ToolResult {
    #[serde(default, rename = "isError")]
    is_error: bool,
}

/// Why an answer is not a success, or `None` when it is: a status other than `200` is an error
/// of that status (2026-07-28 refuses with a 4xx and a JSON-RPC error body), a JSON-RPC `error`
/// in a `200` an MCP error, a result with `isError: true` a tool error, and a `200` that is not
/// a JSON-RPC answer an invalid body.
pub fn verdict(response: &Response) -> Option<ErrorKind> {
    if response.status != 200 {
        return Some(ErrorKind::Status(response.status));
    }
    match serde_json::from_slice::<Answer>(&response.body) {
        Ok(Answer { error: Some(_), .. }) => Some(ErrorKind::JsonRpc),
        Ok(Answer {
            result: Some(result),
            ..
        }) if result.is_error => Some(ErrorKind::ToolError),
        Ok(Answer {
            result: Some(_), ..
        }) => None,
        _ => Some(ErrorKind::InvalidBody),
    }
}
