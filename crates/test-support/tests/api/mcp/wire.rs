//! The wire rules of both generations, credentials and allowed hosts.

use serde_json::json;
use switchboard_test_support::{Credential, Reply, TestApp, TestDatabase, backend_tests};
use tokio_util::sync::CancellationToken;

use super::{MODERN, in_session, initialize, post, rpc_error, stateless};
use crate::world::{start, user};

backend_tests!(
    stateless_requests_follow_the_2026_rules,
    sessions_follow_the_2025_rules,
    credentials_and_hosts_are_checked
);

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
