//! An agent's secrets are write-only, its MCP servers' headers among them: REST and GraphQL
//! return the configuration without them, name them in `configuredSecrets`, and a patch that
//! lists a server again without its headers keeps them.

use serde_json::json;
use switchboard_test_support::{TestDatabase, backend_tests};

use crate::graphql::graphql;
use crate::world::{created, start};

backend_tests!(mcp_headers_are_kept_and_never_returned);

async fn mcp_headers_are_kept_and_never_returned(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let agent = created(
        app.post(
            "/api/v1/agents",
            &admin,
            json!({"name": "Model", "kind": "openai", "config": {
                "apiKey": "sk-never-returned",
                "model": "m",
                "mcpServers": [{"name": "tools", "url": "http://127.0.0.1:9/mcp",
                                "headers": {"Authorization": "Bearer mcp-never-returned"}}],
            }}),
        )
        .await?,
    )?;
    let read = app.get(&format!("/api/v1/agents/{agent}"), &admin).await?;
    assert!(!read.text.contains("never-returned"), "{}", read.text);
    assert_eq!(
        read.body["configuredSecrets"],
        json!(["apiKey", "mcpServers.tools.headers"])
    );
    let listed = graphql(
        &app,
        &admin,
        "{ agents { edges { node { config } } } }",
        json!({}),
    )
    .await?;
    assert!(!listed.to_string().contains("never-returned"), "{listed}");

    let patched = app
        .patch(
            &format!("/api/v1/agents/{agent}"),
            &admin,
            json!({"config": {"mcpServers": [{"name": "tools", "url": "http://127.0.0.1:10/mcp"}]}}),
        )
        .await?;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(
        patched.body["config"]["mcpServers"][0]["url"],
        "http://127.0.0.1:10/mcp"
    );
    assert_eq!(
        patched.body["configuredSecrets"],
        json!(["apiKey", "mcpServers.tools.headers"]),
        "the stored headers are kept"
    );
    app.stop().await
}
