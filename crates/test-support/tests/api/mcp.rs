//! MCP at `/mcp`: both protocol generations' wire rules (2026-07-28 stateless requests, 2025
//! sessions), credentials and allowed hosts, every tool's answer, tool failures as `isError`
//! results, and another tenant's conversations out of reach.

use serde_json::{Value, json};
use switchboard_test_support::pipeline::{self, whatsapp_text};
use switchboard_test_support::{Credential, Reply, TestApp, TestDatabase, backend_tests};
use tokio_util::sync::CancellationToken;

use crate::world::{created, fixture, start, user};

backend_tests!(
    stateless_requests_follow_the_2026_rules,
    sessions_follow_the_2025_rules,
    credentials_and_hosts_are_checked,
    conversation_tools_read_and_change_conversations,
    operation_tools_answer,
    tool_failures_are_results_and_bad_calls_are_errors,
    conversations_are_resources,
    another_tenants_conversation_is_not_found
);

const MODERN: &str = "2026-07-28";

/// POSTs one JSON-RPC `body` to `/mcp` with `headers`.
async fn post(
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
async fn stateless(
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
async fn call_tool(
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
async fn structured(
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
async fn initialize(
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
async fn in_session(
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
fn rpc_error(reply: &Reply, status: u16) -> i64 {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert!(
        reply.body["error"]["message"].is_string(),
        "a JSON-RPC error body: {}",
        reply.text
    );
    reply.body["error"]["code"].as_i64().unwrap_or_default()
}

async fn stateless_requests_follow_the_2026_rules(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();

    let discovered = stateless(&app, &admin, "server/discover", json!({})).await?;
    assert_eq!(discovered.status, 200, "{}", discovered.text);
    let result = &discovered.body["result"];
    assert_eq!(
        result["supportedVersions"],
        json!(["2026-07-28", "2025-11-25", "2025-06-18"])
    );
    assert!(result["capabilities"]["tools"].is_object(), "{result}");
    assert_eq!(result["resultType"], "complete");
    assert_eq!(result["cacheScope"], "public");
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "switchboard"
    );

    let listed = stateless(&app, &admin, "tools/list", json!({})).await?;
    let names = |reply: &Reply| -> Vec<String> {
        reply.body["result"]["tools"]
            .as_array()
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|tool| tool["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names(&listed).len(), 15, "{}", listed.text);
    assert_eq!(names(&listed)[0], "list_conversations", "a fixed order");
    let again = stateless(&app, &admin, "tools/list", json!({})).await?;
    assert_eq!(names(&listed), names(&again));
    assert!(listed.body["result"]["ttlMs"].as_u64() > Some(0));
    assert_eq!(listed.body["result"]["cacheScope"], "public");

    let echo = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "echo", "arguments": {"text": "hi"},
        "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                  "io.modelcontextprotocol/clientCapabilities": {}}}});
    let mismatches: [&[(&str, &str)]; 4] = [
        &[
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/list"),
            ("mcp-name", "echo"),
        ],
        &[
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
        ],
        &[
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
            ("mcp-name", "get_time"),
        ],
        &[
            ("mcp-protocol-version", "2025-11-25"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
        ],
    ];
    for headers in mismatches {
        let reply = post(&app, &admin, headers, echo.clone()).await?;
        assert_eq!(rpc_error(&reply, 400), -32020, "{headers:?}");
        assert_eq!(reply.body["id"], 3, "the error answers the request");
    }

    let mut future = echo.clone();
    future["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
    let headers = [
        ("mcp-protocol-version", "2099-01-01"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "echo"),
    ];
    let unsupported = post(&app, &admin, &headers, future).await?;
    assert_eq!(rpc_error(&unsupported, 400), -32022);
    assert_eq!(
        unsupported.body["error"]["data"]["supported"],
        json!(["2026-07-28", "2025-11-25", "2025-06-18"])
    );
    assert_eq!(unsupported.body["error"]["data"]["requested"], "2099-01-01");

    let bare = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"});
    let headers = [
        ("mcp-protocol-version", MODERN),
        ("mcp-method", "tools/list"),
    ];
    assert_eq!(
        rpc_error(&post(&app, &admin, &headers, bare).await?, 400),
        -32602
    );
    let unknown = stateless(&app, &admin, "prompts/list", json!({})).await?;
    assert_eq!(rpc_error(&unknown, 404), -32601);
    let ping = stateless(&app, &admin, "ping", json!({})).await?;
    assert_eq!(rpc_error(&ping, 404), -32601, "ping left with sessions");

    let notification = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {}});
    assert_eq!(post(&app, &admin, &[], notification).await?.status, 202);
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = app
            .client
            .request(method.clone(), app.url("/mcp"))
            .bearer_auth(&app.admin_token)
            .send()
            .await?;
        let allow = response.headers().get("allow").cloned();
        let reply = TestApp::reply(response).await?;
        assert_eq!(rpc_error(&reply, 405), -32600, "{method}");
        assert!(allow.is_some(), "{method} names the methods allowed");
    }
    let garbage = app
        .client
        .post(app.url("/mcp"))
        .bearer_auth(&app.admin_token)
        .body("{")
        .send()
        .await?;
    assert_eq!(rpc_error(&TestApp::reply(garbage).await?, 400), -32700);
    app.stop().await
}

async fn sessions_follow_the_2025_rules(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();

    let opened = initialize(&app, &admin, "2025-06-18").await?;
    assert_eq!(opened.status, 200, "{}", opened.text);
    assert_eq!(opened.body["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(opened.body["result"]["serverInfo"]["name"], "switchboard");
    assert!(opened.body["result"]["capabilities"]["resources"].is_object());
    let session = opened
        .headers
        .get("mcp-session-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(session.len() >= 32, "a session id: {:?}", opened.headers);
    let older = initialize(&app, &admin, "2024-11-05").await?;
    assert_eq!(
        older.body["result"]["protocolVersion"], "2025-11-25",
        "the newest with sessions"
    );

    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let headers = [("mcp-session-id", session.as_str())];
    assert_eq!(post(&app, &admin, &headers, initialized).await?.status, 202);
    let this = (session.as_str(), "2025-06-18");
    let listed = in_session(&app, &admin, this, "tools/list", json!({})).await?;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(
        listed.body["result"]["tools"].as_array().map(Vec::len),
        Some(15)
    );
    assert!(
        listed.body["result"]["resultType"].is_null(),
        "2026 fields stay out"
    );
    let echoed = in_session(
        &app,
        &admin,
        this,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "hi"}}),
    )
    .await?;
    assert_eq!(
        echoed.body["result"]["structuredContent"]["text"], "hi",
        "{}",
        echoed.text
    );
    let ping = in_session(&app, &admin, this, "ping", json!({})).await?;
    assert_eq!(ping.body["result"], json!({}), "{}", ping.text);
    let unknown = in_session(&app, &admin, this, "prompts/list", json!({})).await?;
    assert_eq!(rpc_error(&unknown, 200), -32601);

    let other_version = in_session(
        &app,
        &admin,
        (&session, "2025-11-25"),
        "tools/list",
        json!({}),
    )
    .await?;
    assert_eq!(rpc_error(&other_version, 400), -32600);
    let unknown_session = in_session(
        &app,
        &admin,
        ("0123456789abcdef0123456789abcdef", "2025-06-18"),
        "tools/list",
        json!({}),
    )
    .await?;
    rpc_error(&unknown_session, 404);
    let (_, agent) = user(&app, &admin, "someone-else", "agent", None).await?;
    let borrowed = in_session(&app, &agent, this, "tools/list", json!({})).await?;
    rpc_error(&borrowed, 404);

    let end = |credential: &Credential| {
        app.client
            .delete(app.url("/mcp"))
            .header("mcp-session-id", &session)
            .bearer_auth(match credential {
                Credential::Bearer(token) => token.as_str(),
                _ => "",
            })
            .send()
    };
    assert_eq!(
        end(&agent).await?.status(),
        404,
        "only its owner ends a session"
    );
    assert_eq!(end(&admin).await?.status(), 204);
    assert_eq!(end(&admin).await?.status(), 404);
    let ended = in_session(&app, &admin, this, "tools/list", json!({})).await?;
    rpc_error(&ended, 404);
    app.stop().await
}

async fn credentials_and_hosts_are_checked(database: TestDatabase) -> anyhow::Result<()> {
    let app = TestApp::spawn_with(database, CancellationToken::new(), |config| {
        config.mcp.allowed_hosts = vec!["gateway.example.com".into()];
    })
    .await?;
    for credential in [Credential::None, Credential::Bearer("not-a-token".into())] {
        let refused = stateless(&app, &credential, "tools/list", json!({})).await?;
        assert_eq!(rpc_error(&refused, 401), -31401, "{credential:?}");
        assert_eq!(
            refused
                .headers
                .get("www-authenticate")
                .and_then(|value| value.to_str().ok()),
            Some("Bearer")
        );
    }
    let key = app
        .post("/api/v1/api-keys", &app.admin(), json!({"name": "mcp"}))
        .await?
        .str("key");
    let with_key = stateless(&app, &Credential::ApiKey(key), "tools/list", json!({})).await?;
    assert_eq!(with_key.status, 200, "{}", with_key.text);

    let admin = app.admin();
    let opening = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}}});
    let evil_host = post(
        &app,
        &admin,
        &[("host", "evil.example:3000")],
        opening.clone(),
    )
    .await?;
    assert_eq!(rpc_error(&evil_host, 403), -31403);
    let evil_origin = post(
        &app,
        &admin,
        &[("origin", "https://evil.example")],
        opening.clone(),
    )
    .await?;
    assert_eq!(rpc_error(&evil_origin, 403), -31403);
    for (name, value) in [
        ("host", "gateway.example.com"),
        ("origin", "http://localhost:5173"),
    ] {
        let allowed = post(&app, &admin, &[(name, value)], opening.clone()).await?;
        assert_eq!(allowed.status, 200, "{name}: {value}: {}", allowed.text);
    }
    app.stop().await
}

async fn conversation_tools_read_and_change_conversations(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;
    let path = format!("/api/v1/conversations/{}/messages", world.conversation);
    for text in ["hello there", "how can we help"] {
        created(app.post(&path, &admin, json!({"text": text})).await?)?;
    }

    let listed = structured(&app, &admin, "list_conversations", json!({"limit": 10})).await?;
    assert_eq!(
        listed["conversations"][0]["id"],
        world.conversation.as_str(),
        "{listed}"
    );
    assert!(listed["nextCursor"].is_null());
    let resolved = structured(
        &app,
        &admin,
        "list_conversations",
        json!({"status": "resolved"}),
    )
    .await?;
    assert_eq!(resolved["conversations"], json!([]));

    let id = json!({"conversationId": world.conversation});
    let read = structured(&app, &admin, "get_conversation", id.clone()).await?;
    assert_eq!(read["conversation"]["status"], "open");
    let texts: Vec<_> = read["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|message| message["text"].clone())
        .collect();
    assert_eq!(
        texts,
        [json!("hello there"), json!("how can we help")],
        "oldest first"
    );
    assert_eq!(read["hasEarlierMessages"], false);

    let found = structured(&app, &admin, "search_messages", json!({"q": "help"})).await?;
    assert_eq!(
        found["hits"][0]["message"]["text"], "how can we help",
        "{found}"
    );

    let send = json!({"conversationId": world.conversation, "text": "from the assistant", "idempotencyKey": "draft-1"});
    let sent = structured(&app, &admin, "send_message", send.clone()).await?;
    assert_eq!(sent["created"], true);
    assert_eq!(sent["message"]["seq"], 3);
    let again = structured(&app, &admin, "send_message", send).await?;
    assert_eq!(again["created"], false, "the key sends once");
    assert_eq!(again["message"]["id"], sent["message"]["id"]);
    let other_text = json!({"conversationId": world.conversation, "text": "something else", "idempotencyKey": "draft-1"});
    let conflict = call_tool(&app, &admin, "send_message", other_text).await?;
    assert_eq!(conflict["isError"], true, "{conflict}");
    let unkeyed = structured(
        &app,
        &admin,
        "send_message",
        json!({"conversationId": world.conversation, "text": "again"}),
    )
    .await?;
    assert_eq!(unkeyed["message"]["seq"], 4);

    let status = json!({"conversationId": world.conversation, "status": "resolved"});
    let changed = structured(&app, &admin, "set_conversation_status", status).await?;
    assert_eq!(changed["conversation"]["status"], "resolved");
    let handed = structured(&app, &admin, "hand_off", id.clone()).await?;
    assert_eq!(handed["conversation"]["status"], "pending");
    let released = structured(&app, &admin, "release", id).await?;
    assert_eq!(released["conversation"]["status"], "open");
    app.stop().await
}

async fn operation_tools_answer(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = pipeline::start(database, 100, |config| config.queue.max_attempts = 1).await?;
    let (app, admin) = (&pipeline.app, &pipeline.admin);
    pipeline.provider.fail_next(1, 400, None);
    pipeline
        .whatsapp_webhook(&whatsapp_text("972500000070", "wamid.mcp.1", "ping"), None)
        .await?;
    pipeline.settle().await?;
    let conversation = pipeline.conversations().await?[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let runs = app
        .get(
            &format!("/api/v1/runs?conversationId={conversation}"),
            admin,
        )
        .await?;
    let run_id = runs.body["data"][0]["id"].clone();

    let run = structured(app, admin, "get_run", json!({"runId": run_id})).await?;
    assert_eq!(run["run"]["status"], "completed", "{run}");
    let events: Vec<_> = run["run"]["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|event| event["type"].clone())
        .collect();
    assert_eq!(events.first(), Some(&json!("agent_started")));
    assert_eq!(events.last(), Some(&json!("agent_completed")));

    let dead = structured(app, admin, "list_dead_letters", json!({})).await?;
    assert_eq!(dead["deadLetters"][0]["state"], "dead", "{dead}");
    let dead_letter = dead["deadLetters"][0]["id"].clone();
    let stats = structured(app, admin, "get_queue_stats", json!({})).await?;
    assert_eq!(stats["stored"]["dead"], 1, "{stats}");
    let retried = structured(
        app,
        admin,
        "retry_dead_letter",
        json!({"deadLetterId": dead_letter}),
    )
    .await?;
    assert_eq!(
        retried["deadLetter"]["conversationId"],
        conversation.as_str()
    );
    assert_ne!(retried["deadLetter"]["state"], "dead", "{retried}");
    pipeline.settle().await?;
    assert_eq!(
        pipeline.sent_texts(),
        ["ping"],
        "the retried reply went out"
    );

    let credits = structured(app, admin, "get_credits", json!({})).await?;
    assert_eq!(credits["balance"], 99, "one run's cost: {credits}");
    let echoed = structured(app, admin, "echo", json!({"text": "über ✓"})).await?;
    assert_eq!(echoed["text"], "über ✓");
    let time = structured(app, admin, "get_time", json!({})).await?;
    let unix = time["unix"].as_i64().unwrap_or_default();
    assert!(unix > 1_700_000_000, "{time}");
    assert!(
        time["iso8601"]
            .as_str()
            .is_some_and(|iso| iso.ends_with('Z')),
        "{time}"
    );
    let me = structured(app, admin, "get_user_info", json!({})).await?;
    assert_eq!(me["username"], "admin");
    assert_eq!(me["role"], "platform-admin");
    assert!(
        me["tenantId"].is_string() && me["userId"].is_string(),
        "{me}"
    );
    pipeline.app.stop().await
}

async fn tool_failures_are_results_and_bad_calls_are_errors(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;

    let missing = json!({"conversationId": "01a2496c-980e-7533-8a02-db0b0a08b9c0"});
    let failed = call_tool(&app, &admin, "get_conversation", missing).await?;
    assert_eq!(failed["isError"], true, "{failed}");
    assert!(failed.get("structuredContent").is_none(), "{failed}");
    let text = failed["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("not_found:"), "{text}");

    let (_, viewer) = user(&app, &admin, "watcher", "viewer", None).await?;
    let send = json!({"conversationId": world.conversation, "text": "hi"});
    let forbidden = call_tool(&app, &viewer, "send_message", send).await?;
    assert_eq!(forbidden["isError"], true, "{forbidden}");
    assert!(
        forbidden["content"][0]["text"]
            .as_str()
            .is_some_and(|text| text.starts_with("forbidden:"))
    );
    let too_long = json!({"conversationId": world.conversation, "text": "x".repeat(40_000)});
    let invalid = call_tool(&app, &admin, "send_message", too_long).await?;
    assert_eq!(
        invalid["isError"], true,
        "an engine validation is the tool's failure"
    );

    for (name, arguments) in [
        ("no_such_tool", json!({})),
        ("get_conversation", json!({})),
        ("get_conversation", json!({"conversationId": "not-an-id"})),
        ("echo", json!({"text": "hi", "extra": true})),
        ("list_conversations", json!({"status": "archived"})),
    ] {
        let params = json!({"name": name, "arguments": arguments});
        let reply = stateless(&app, &admin, "tools/call", params).await?;
        assert_eq!(rpc_error(&reply, 400), -32602, "{name} {arguments}");
    }
    app.stop().await
}

async fn conversations_are_resources(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;
    let path = format!("/api/v1/conversations/{}/messages", world.conversation);
    created(
        app.post(&path, &admin, json!({"text": "a line of the transcript"}))
            .await?,
    )?;
    let uri = format!("conversation://{}", world.conversation);

    let listed = stateless(&app, &admin, "resources/list", json!({})).await?;
    assert_eq!(
        listed.body["result"]["resources"][0]["uri"],
        uri.as_str(),
        "{}",
        listed.text
    );
    assert_eq!(listed.body["result"]["cacheScope"], "private");
    let templates = stateless(&app, &admin, "resources/templates/list", json!({})).await?;
    assert_eq!(
        templates.body["result"]["resourceTemplates"][0]["uriTemplate"],
        "conversation://{conversationId}"
    );
    let read = stateless(&app, &admin, "resources/read", json!({"uri": uri})).await?;
    let contents = &read.body["result"]["contents"][0];
    assert_eq!(contents["mimeType"], "text/plain", "{}", read.text);
    let transcript = contents["text"].as_str().unwrap_or_default();
    assert!(
        transcript.contains("#1 ") && transcript.contains("a line of the transcript"),
        "{transcript}"
    );

    let nowhere = stateless(
        &app,
        &admin,
        "resources/read",
        json!({"uri": "file:///etc/passwd"}),
    )
    .await?;
    assert_eq!(rpc_error(&nowhere, 400), -32602);
    app.stop().await
}

async fn another_tenants_conversation_is_not_found(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let platform = app.admin();
    let tenant_b = created(
        app.post("/api/v1/tenants", &platform, json!({"name": "B"}))
            .await?,
    )?;
    let (_, admin_b) = user(&app, &platform, "admin-b", "admin", Some(&tenant_b)).await?;
    let theirs = fixture(&app, &admin_b).await?;
    let tenant_a = created(
        app.post("/api/v1/tenants", &platform, json!({"name": "A"}))
            .await?,
    )?;
    let (_, admin_a) = user(&app, &platform, "admin-a", "admin", Some(&tenant_a)).await?;

    let id = json!({"conversationId": theirs.conversation});
    for tool in ["get_conversation", "release"] {
        let result = call_tool(&app, &admin_a, tool, id.clone()).await?;
        assert_eq!(result["isError"], true, "{tool}: {result}");
        let text = result["content"][0]["text"].as_str().unwrap_or_default();
        assert!(text.starts_with("not_found:"), "{tool}: {text}");
    }
    let send = json!({"conversationId": theirs.conversation, "text": "intruding"});
    assert_eq!(
        call_tool(&app, &admin_a, "send_message", send).await?["isError"],
        true
    );
    let mine = structured(&app, &admin_a, "list_conversations", json!({})).await?;
    assert_eq!(mine["conversations"], json!([]));

    let uri = format!("conversation://{}", theirs.conversation);
    let read = stateless(&app, &admin_a, "resources/read", json!({"uri": uri})).await?;
    assert_eq!(rpc_error(&read, 400), -32602);
    let opened = initialize(&app, &admin_a, "2025-11-25").await?;
    let session = opened
        .headers
        .get("mcp-session-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let in_legacy = in_session(
        &app,
        &admin_a,
        (&session, "2025-11-25"),
        "resources/read",
        json!({"uri": uri}),
    )
    .await?;
    assert_eq!(
        rpc_error(&in_legacy, 200),
        -32002,
        "2025-11-25's resource not found"
    );
    app.stop().await
}
