//! Operational endpoints: health, readiness, metrics, OpenAPI, request ids, database tools,
//! adapter status.

use serde_json::json;
use switchboard_test_support::{Credential, TestDatabase, backend_tests};

use switchboard_test_support::TestApp;
use tokio_util::sync::CancellationToken;

use crate::world::{fixture, start, user};

backend_tests!(
    health_ready_metrics_and_request_ids,
    openapi_describes_every_route,
    database_tools_for_platform_admins,
    cors_allows_only_configured_origins,
    adapter_status_counts_each_adapter
);

async fn health_ready_metrics_and_request_ids(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let health = app.get("/health", &Credential::None).await?;
    assert_eq!(health.body, json!({"status": "ok"}));
    let generated = health
        .headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    assert_eq!(generated.len(), 36, "a generated uuid request id");
    let ready = app.get("/ready", &Credential::None).await?;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["status"], "ready");

    let echoed = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await?;
    assert_eq!(
        echoed
            .headers()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok()),
        Some("trace-me-42")
    );

    let _ = app.get("/api/v1/contacts", &app.admin()).await?;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/api/v1/contacts\""), "{metrics}");
    assert!(
        metrics.contains("http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(metrics.contains("store_pool_connections"), "{metrics}");
    for gauge in ["queue_depth", "inbox_waiting"] {
        assert!(
            metrics.contains(&format!("\n{gauge} ")),
            "{gauge}: {metrics}"
        );
    }
    app.stop().await
}

async fn openapi_describes_every_route(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let document = app.get("/openapi.json", &Credential::None).await?;
    let paths = document.body["paths"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let expected = [
        ("/health", "get"),
        ("/ready", "get"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
        ("/auth/login", "post"),
        ("/auth/refresh", "post"),
        ("/api/v1/tenants", "post"),
        ("/api/v1/tenants/{id}", "get"),
        ("/api/v1/users", "get"),
        ("/api/v1/users/{id}", "patch"),
        ("/api/v1/api-keys", "post"),
        ("/api/v1/api-keys/{id}", "delete"),
        ("/api/v1/channels", "post"),
        ("/api/v1/channels/{id}", "patch"),
        ("/api/v1/agents", "get"),
        ("/api/v1/contacts/{id}", "delete"),
        ("/api/v1/conversations", "get"),
        ("/api/v1/conversations/{id}", "patch"),
        ("/api/v1/conversations/{id}/read", "post"),
        ("/api/v1/conversations/{id}/participants", "post"),
        (
            "/api/v1/conversations/{id}/participants/{participantId}",
            "delete",
        ),
        ("/api/v1/conversations/{id}/messages", "get"),
        ("/api/v1/messages/{id}", "delete"),
        ("/api/v1/search/messages", "get"),
        ("/api/v1/credits", "get"),
        ("/api/v1/credits/grants", "post"),
        ("/api/v1/credits/ledger", "get"),
        ("/admin/database/metrics", "get"),
        ("/admin/database/size", "get"),
        ("/admin/database/index-suggestions", "get"),
        ("/admin/database/analyze-query", "post"),
        ("/admin/database/optimize", "post"),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|item| item.get(method)).is_some(),
            "{method} {path} missing from OpenAPI"
        );
    }
    let schemas = &document.body["components"]["schemas"];
    for schema in [
        "Conversation",
        "Message",
        "ErrorBody",
        "CreateChannel",
        "LoginResponse",
    ] {
        assert!(schemas.get(schema).is_some(), "schema {schema} missing");
    }
    app.stop().await
}

async fn database_tools_for_platform_admins(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;
    let _ = app
        .post(
            &format!("/api/v1/conversations/{}/messages", world.conversation),
            &admin,
            json!({"text": "hello"}),
        )
        .await?;
    let metrics = app.get("/admin/database/metrics", &admin).await?;
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    let tables = metrics.body["tables"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let messages = tables.iter().find(|table| table["name"] == "messages");
    assert!(messages.is_some(), "{}", metrics.text);
    assert!(
        metrics.body["pool"]["max"]
            .as_u64()
            .is_some_and(|max| max > 0)
    );

    let size = app.get("/admin/database/size", &admin).await?;
    assert!(
        size.body["bytes"].as_i64().is_some_and(|bytes| bytes > 0),
        "{}",
        size.text
    );
    let plan = app
        .post(
            "/admin/database/analyze-query",
            &admin,
            json!({"query": "SELECT id FROM messages WHERE conversation_id = 'x'"}),
        )
        .await?;
    assert_eq!(plan.status, 200, "{}", plan.text);
    assert!(
        plan.body["plan"]
            .as_array()
            .is_some_and(|lines| !lines.is_empty()),
        "{}",
        plan.text
    );
    let unknown = app
        .post(
            "/admin/database/analyze-query",
            &admin,
            json!({"query": "SELECT * FROM nowhere"}),
        )
        .await?;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    assert_eq!(
        app.get("/admin/database/index-suggestions", &admin)
            .await?
            .status,
        200
    );
    let optimized = app
        .call(
            reqwest::Method::POST,
            "/admin/database/optimize",
            &admin,
            None,
        )
        .await?;
    assert_eq!(optimized.status, 200, "{}", optimized.text);
    assert!(
        optimized.body["ran"]
            .as_array()
            .is_some_and(|ran| ran.contains(&json!("ANALYZE")))
    );
    app.stop().await
}

async fn cors_allows_only_configured_origins(database: TestDatabase) -> anyhow::Result<()> {
    let allowed = "https://app.example.com";
    let app = TestApp::spawn_with(database, CancellationToken::new(), |config| {
        config.http.cors_origins = vec![allowed.to_owned()];
    })
    .await?;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/conversations"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let granted = preflight(allowed).await?;
    let allow_origin = granted
        .headers()
        .get("access-control-allow-origin")
        .and_then(|value| value.to_str().ok());
    assert_eq!(allow_origin, Some(allowed));
    let refused = preflight("https://evil.example.net").await?;
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    app.stop().await
}

async fn adapter_status_counts_each_adapter(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    fixture(&app, &admin).await?;
    let rejected = app.get("/api/v1/conversations/not-an-id", &admin).await?;
    assert_eq!(rejected.status, 400);
    let query = json!({"query": "{ me { username } }"});
    assert_eq!(app.post("/graphql", &admin, query).await?.status, 200);
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}}});
    let session = app.post("/mcp", &admin, initialize).await?;
    assert_eq!(session.status, 200, "{}", session.text);

    let status = app.get("/adapters/status", &admin).await?;
    assert_eq!(status.status, 200, "{}", status.text);
    let adapters = status.body["adapters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<_> = adapters
        .iter()
        .map(|adapter| adapter["name"].clone())
        .collect();
    assert_eq!(
        names,
        [
            json!("rest"),
            json!("graphql"),
            json!("websocket"),
            json!("sse"),
            json!("mcp"),
            json!("webhooks")
        ]
    );
    let find = |name: &str| {
        adapters
            .iter()
            .find(|adapter| adapter["name"] == name)
            .cloned()
            .unwrap_or_default()
    };
    let rest = find("rest");
    assert!(
        rest["requests"].as_u64() >= Some(5),
        "login and the fixture: {rest}"
    );
    assert_eq!(rest["clientErrors"], 1, "{rest}");
    assert_eq!(rest["errors"], 0, "{rest}");
    assert!(
        rest["latencyMs"]["p99"].as_f64() >= rest["latencyMs"]["p50"].as_f64(),
        "{rest}"
    );
    assert!(
        rest.get("connections").is_none(),
        "REST holds no connections: {rest}"
    );
    let mcp = find("mcp");
    assert_eq!(
        (mcp["requests"].clone(), mcp["connections"].clone()),
        (json!(1), json!(1)),
        "{mcp}"
    );
    assert_eq!(find("graphql")["requests"], 1);
    assert_eq!(find("websocket")["connections"], 0);
    assert_eq!(
        find("webhooks")["latencyMs"],
        serde_json::Value::Null,
        "no requests, no latency"
    );
    assert!(adapters.iter().all(|adapter| adapter["state"] == "serving"));

    let (_, viewer) = user(&app, &admin, "viewer-1", "viewer", None).await?;
    assert_eq!(app.get("/adapters/status", &viewer).await?.status, 403);
    assert_eq!(
        app.get("/adapters/status", &Credential::None).await?.status,
        401
    );
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await?
        .text()
        .await?;
    for series in [
        "adapter_requests_total{adapter=\"mcp\"}",
        "adapter_connections{adapter=\"mcp\"}",
        "adapter_latency_seconds{adapter=\"rest\",quantile=\"0.99\"}",
    ] {
        assert!(metrics.contains(series), "{series} in {metrics}");
    }
    app.stop().await
}
