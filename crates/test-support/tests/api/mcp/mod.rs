//! MCP at `/mcp`: both protocol generations' wire rules (2026-07-28 stateless requests, 2025
//! sessions), credentials and allowed hosts (`wire`); every tool's answer, tool failures as
//! `isError` results, resources, and another tenant's conversations out of reach (`tools`).
//! Here: requests as conforming clients of each generation send them.

mod tools;
mod wire;

use serde_json::{Value, json};
use switchboard_test_support::{Credential, Reply, TestApp};

pub(super) const MODERN: &str = "2026-07-28";

/// POSTs one JSON-RPC `body` to `/mcp` with `headers`.
pub(super) async fn post(
    app: &TestApp,
    credential: &Credential,
    headers: &[(&str, &str)],
    body: Value,
) -> anyhow::Result<Reply> {
    let mut request = app.client.post(app.url("/mcp")).json(&body);
    request = match credential {
        Credential::None => request,
        Credential::Bearer(token) => request.bearer_auth(token),
        Credential::ApiKey(key) => request.header("x-api-key", key),
    };
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    TestApp::reply(request.send().await?).await
}

/// A 2026-07-28 request as a conforming client sends it: `_meta` in the body, mirrored in the
/// headers.
pub(super) async fn stateless(
    app: &TestApp,
    credential: &Credential,
    method: &str,
    mut params: Value,
) -> anyhow::Result<Reply> {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let name = params["name"]
        .as_str()
        .or(params["uri"].as_str())
        .map(str::to_owned);
    let mut headers = vec![("mcp-protocol-version", MODERN), ("mcp-method", method)];
    if let Some(name) = &name {
        headers.push(("mcp-name", name));
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    post(app, credential, &headers, body).await
}

/// Calls the tool `name` statelessly; its result.
pub(super) async fn call_tool(
    app: &TestApp,
    credential: &Credential,
    name: &str,
    arguments: Value,
) -> anyhow::Result<Value> {
    let params = json!({"name": name, "arguments": arguments});
    let reply = stateless(app, credential, "tools/call", params).await?;
    anyhow::ensure!(
        reply.status == 200,
        "{name}: {} {}",
        reply.status,
        reply.text
    );
    Ok(reply.body["result"].clone())
}

/// Calls the tool `name`, which must succeed; its `structuredContent`.
pub(super) async fn structured(
    app: &TestApp,
    credential: &Credential,
    name: &str,
    arguments: Value,
) -> anyhow::Result<Value> {
    let result = call_tool(app, credential, name, arguments).await?;
    anyhow::ensure!(result["isError"] == false, "{name}: {result}");
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    let structured = result["structuredContent"].clone();
    anyhow::ensure!(
        serde_json::from_str::<Value>(text)? == structured,
        "{name}: the text block repeats the structured content"
    );
    Ok(structured)
}

/// Opens a session asking for `version`; the reply.
pub(super) async fn initialize(
    app: &TestApp,
    credential: &Credential,
    version: &str,
) -> anyhow::Result<Reply> {
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {},
        "clientInfo": {"name": "switchboard-tests", "version": "1"}}});
    post(app, credential, &[], body).await
}

/// A request in the session `session`, speaking `version`.
pub(super) async fn in_session(
    app: &TestApp,
    credential: &Credential,
    (session, version): (&str, &str),
    method: &str,
    params: Value,
) -> anyhow::Result<Reply> {
    let headers = [
        ("mcp-session-id", session),
        ("mcp-protocol-version", version),
    ];
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": method, "params": params});
    post(app, credential, &headers, body).await
}

/// The JSON-RPC error code of `reply`, after checking its HTTP status.
pub(super) fn rpc_error(reply: &Reply, status: u16) -> i64 {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert!(
        reply.body["error"]["message"].is_string(),
        "a JSON-RPC error body: {}",
        reply.text
    );
    reply.body["error"]["code"].as_i64().unwrap_or_default()
}
