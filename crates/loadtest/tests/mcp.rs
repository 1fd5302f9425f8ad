//! MCP load: how an answer is judged, and what the MCP worker sends and records, against a
//! stand-in server on loopback that answers stateless tool calls as Switchboard does and keeps
//! what it was asked.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Value, json};
use switchboard_loadtest::cluster::Cluster;
use switchboard_loadtest::http::Endpoint;
use switchboard_loadtest::mcp::{self, verdict};
use switchboard_loadtest::metrics::{ErrorKind, Metric, MetricReport};
use switchboard_loadtest::scenario::{McpLoad, McpWorker, Scenario};
use switchboard_loadtest::target::{Auth, Credentials};

use common::{answer, measure, serve};

#[test]
fn a_result_that_is_no_error_is_a_success() {
    let echoed = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],
        "structuredContent":{"text":"hi"},"isError":false}}"#;
    assert_eq!(verdict(&answer(200, echoed)), None);
    let without_flag = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#;
    assert_eq!(verdict(&answer(200, without_flag)), None);
}

#[test]
fn a_tool_error_or_a_json_rpc_error_in_a_200_is_an_error() {
    let failed = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text",
        "text":"not_found: conversation not found"}],"isError":true}}"#;
    assert_eq!(verdict(&answer(200, failed)), Some(ErrorKind::ToolError));
    let refused = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"unknown tool"}}"#;
    assert_eq!(verdict(&answer(200, refused)), Some(ErrorKind::JsonRpc));
    assert_eq!(ErrorKind::ToolError.name(), "tool_errors");
    assert_eq!(ErrorKind::JsonRpc.name(), "jsonrpc_errors");
}

#[test]
fn a_refusal_counts_by_its_status_and_a_body_that_is_no_answer_is_invalid() {
    let unauthorized = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-31401,"message":"no"}}"#;
    assert_eq!(
        verdict(&answer(401, unauthorized)),
        Some(ErrorKind::Status(401))
    );
    assert_eq!(
        verdict(&answer(200, "event: message\ndata: {}\n\n")),
        Some(ErrorKind::InvalidBody)
    );
    assert_eq!(verdict(&answer(200, "{}")), Some(ErrorKind::InvalidBody));
}

#[test]
fn a_tool_call_carries_the_protocol_version_in_its_meta_and_its_headers() {
    let sent: Value =
        serde_json::from_slice(&mcp::tool_call(7, "echo", json!({"text": "hi"}))).expect("json");
    assert_eq!(sent["id"], 7);
    assert_eq!(sent["method"], "tools/call");
    assert_eq!(sent["params"]["name"], "echo");
    assert_eq!(sent["params"]["arguments"], json!({"text": "hi"}));
    assert_eq!(
        sent["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
        mcp::PROTOCOL_VERSION
    );
    let headers = mcp::tool_call_headers("echo");
    let value = |name: &str| {
        headers
            .iter()
            .find(|(header, _)| header.as_str() == name)
            .and_then(|(_, value)| value.to_str().ok())
    };
    assert_eq!(value("mcp-protocol-version"), Some(mcp::PROTOCOL_VERSION));
    assert_eq!(value("mcp-method"), Some("tools/call"));
    assert_eq!(value("mcp-name"), Some("echo"));
}

#[test]
fn only_the_mix_needs_credentials() {
    assert!(!Scenario::Mcp.needs_credentials());
    assert!(Scenario::McpMix.needs_credentials());
    assert!(Scenario::McpMix.needs_conversations());
}

/// One tool call as the stand-in server received it.
struct Call {
    tool: String,
    arguments: Value,
    /// `Mcp-Name`, which must match the body's tool.
    name_header: Option<String>,
    api_key: Option<String>,
}

/// What the stand-in server was asked, and how it answers.
#[derive(Default)]
struct Seen {
    calls: Vec<Call>,
    /// Answer every call with `isError: true`.
    fail_tools: bool,
}

type Shared = Arc<Mutex<Seen>>;

/// Answers a stateless `tools/call` as Switchboard does; refuses a request without `_meta`
/// (400, -32602) or whose `Mcp-Name` is not the body's tool (400, -32020).
async fn mcp_answer(
    State(seen): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let tool = request["params"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let id = request["id"].clone();
    let refuse = |code: i64| {
        let error = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": "no"}});
        (StatusCode::BAD_REQUEST, error.to_string())
    };
    if request["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] != "2026-07-28" {
        return refuse(-32602);
    }
    if header("mcp-name").as_deref() != Some(tool.as_str())
        || header("mcp-method").as_deref() != Some("tools/call")
    {
        return refuse(-32020);
    }
    let mut seen = seen.lock().expect("lock");
    seen.calls.push(Call {
        tool,
        arguments: request["params"]["arguments"].clone(),
        name_header: header("mcp-name"),
        api_key: header("x-api-key"),
    });
    let result = if seen.fail_tools {
        json!({"content": [{"type": "text", "text": "not_found: conversation not found"}],
            "isError": true})
    } else {
        json!({"content": [{"type": "text", "text": "{}"}], "structuredContent": {},
            "isError": false})
    };
    let answer = json!({"jsonrpc": "2.0", "id": id, "result": result});
    (StatusCode::OK, answer.to_string())
}

async fn stand_in(seen: Shared) -> Arc<Endpoint> {
    let router = Router::new()
        .route("/mcp", post(mcp_answer))
        .with_state(seen);
    serve(router).await
}

/// Runs `iterations` of an MCP worker and returns what the run measured.
async fn run_mcp(
    endpoint: &Arc<Endpoint>,
    auth: Option<Auth>,
    load: McpLoad,
    iterations: usize,
) -> BTreeMap<String, MetricReport> {
    measure(
        iterations,
        Metric::Mcp,
        |recorder| {
            McpWorker::new(
                auth,
                load,
                Cluster::single(endpoint.clone()).connect(0),
                recorder,
                0,
            )
        },
        async |worker| worker.iterate(Instant::now()).await,
        McpWorker::flush,
    )
    .await
}

#[tokio::test]
async fn echo_calls_without_credentials_when_it_has_none() {
    let seen = Shared::default();
    let endpoint = stand_in(seen.clone()).await;
    let metrics = run_mcp(&endpoint, None, McpLoad::Echo, 3).await;
    assert_eq!((metrics["mcp.echo"].ok, metrics["mcp"].ok), (3, 3));
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.calls.len(), 3);
    for call in &seen.calls {
        assert_eq!(call.tool, "echo");
        assert_eq!(call.name_header.as_deref(), Some("echo"));
        assert!(
            call.arguments["text"]
                .as_str()
                .is_some_and(|text| !text.is_empty())
        );
        assert_eq!(call.api_key, None);
    }
}

#[tokio::test]
async fn an_is_error_result_is_counted_as_an_error_though_its_status_is_200() {
    let seen = Shared::default();
    seen.lock().expect("lock").fail_tools = true;
    let endpoint = stand_in(seen.clone()).await;
    let auth = Auth::establish(endpoint.clone(), &Credentials::ApiKey("key".into()))
        .await
        .expect("api key");
    let metrics = run_mcp(&endpoint, Some(auth), McpLoad::Echo, 2).await;
    let echo = &metrics["mcp.echo"];
    assert_eq!((echo.count, echo.errors), (2, 2));
    assert_eq!(echo.errors_by_kind.get("tool_errors"), Some(&2));
    assert_eq!(metrics["mcp"].errors, 2, "counts towards `mcp`");
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.calls[0].api_key.as_deref(), Some("key"));
}

#[tokio::test]
async fn the_mix_is_mostly_listing_with_searches_and_echoes() {
    let seen = Shared::default();
    let endpoint = stand_in(seen.clone()).await;
    let metrics = run_mcp(&endpoint, None, McpLoad::Mix, 300).await;
    let count = |name: &str| metrics.get(name).map_or(0, |metric| metric.ok);
    let (list, search, echo) = (
        count("mcp.list_conversations"),
        count("mcp.search_messages"),
        count("mcp.echo"),
    );
    assert_eq!(
        list + search + echo,
        300,
        "every call answered without error"
    );
    assert_eq!(count("mcp"), 300);
    assert!(list > search && search > echo, "{list} {search} {echo}");
    assert!(echo > 0, "{echo}");
    let seen = seen.lock().expect("lock");
    let search = seen
        .calls
        .iter()
        .find(|call| call.tool == "search_messages")
        .expect("a search");
    assert!(
        search.arguments["q"]
            .as_str()
            .is_some_and(|q| !q.is_empty())
    );
    assert_eq!(search.arguments["limit"], 20);
    let list = seen
        .calls
        .iter()
        .find(|call| call.tool == "list_conversations")
        .expect("a list");
    assert_eq!(list.arguments["limit"], 10);
}
