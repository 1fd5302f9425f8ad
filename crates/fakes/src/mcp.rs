//! `FakeMcp`: a local MCP server over streamable HTTP (JSON-RPC 2.0 POSTed to `/mcp`). It
//! answers `initialize` (issuing an `Mcp-Session-Id` it then requires), accepts
//! `notifications/initialized`, lists two tools in `tools/list` — `lookup_order {orderId}`
//! (answers `{"orderId", "status": "shipped"}`) and `explode` (answers `isError: true`) — and
//! runs them in `tools/call`. `tools/call` answers come as an event stream, the others as JSON,
//! as real servers mix them. Every method called is captured in order.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::server::LocalServer;

const SESSION: &str = "fake-session-1";

/// A local MCP server. Stops when dropped.
pub struct FakeMcp {
    server: LocalServer,
    state: Arc<McpState>,
}

#[derive(Default)]
struct McpState {
    methods: Mutex<Vec<String>>,
}

impl FakeMcp {
    pub async fn spawn() -> anyhow::Result<Self> {
        let state = Arc::new(McpState::default());
        let router = axum::Router::new()
            .route("/mcp", axum::routing::post(rpc))
            .with_state(Arc::clone(&state));
        let server = LocalServer::start(router, "fake MCP server").await?;
        Ok(Self { server, state })
    }

    /// `http://127.0.0.1:<port>/mcp`, for an agent's `mcpServers[].url`.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.server.address)
    }

    /// The JSON-RPC methods called so far, in order.
    pub fn methods(&self) -> Vec<String> {
        self.state.lock().clone()
    }
}

impl McpState {
    fn lock(&self) -> MutexGuard<'_, Vec<String>> {
        self.methods.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn rpc(State(state): State<Arc<McpState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let method = request["method"].as_str().unwrap_or_default().to_owned();
    state.lock().push(method.clone());
    let session = headers
        .get("mcp-session-id")
        .and_then(|value| value.to_str().ok());
    if method != "initialize" && session != Some(SESSION) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let id = request["id"].clone();
    let result = match method.as_str() {
        "initialize" => json!({
            "protocolVersion": "2025-03-26",
            "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {"name": "fake-mcp", "version": "1.0.0"}
        }),
        "notifications/initialized" => return StatusCode::ACCEPTED.into_response(),
        "tools/list" => json!({"tools": [
            {"name": "lookup_order", "description": "Finds an order by its id.",
             "inputSchema": {"type": "object", "required": ["orderId"],
                 "properties": {"orderId": {"type": "string"}}}},
            {"name": "explode", "description": "Always fails.",
             "inputSchema": {"type": "object", "properties": {}}}
        ]}),
        "tools/call" => {
            let arguments = &request["params"]["arguments"];
            let (text, is_error) = match request["params"]["name"].as_str() {
                Some("lookup_order") => (
                    json!({"orderId": arguments["orderId"], "status": "shipped"}).to_string(),
                    false,
                ),
                _ => ("the tool exploded".to_owned(), true),
            };
            let message = json!({"jsonrpc": "2.0", "id": id,
                "result": {"content": [{"type": "text", "text": text}], "isError": is_error}});
            return (
                [(header::CONTENT_TYPE, "text/event-stream")],
                format!("event: message\ndata: {message}\n\n"),
            )
                .into_response();
        }
        _ => {
            let message = json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": -32601, "message": "method not found"}});
            return axum::Json(message).into_response();
        }
    };
    let mut response =
        axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response();
    if method == "initialize" {
        response
            .headers_mut()
            .insert("mcp-session-id", header::HeaderValue::from_static(SESSION));
    }
    response
}
