//! Shared set-up: a started app and the records most tests start from.

use serde_json::{Value, json};
use switchboard_test_support::{Credential, TestApp, TestDatabase};
use tokio_util::sync::CancellationToken;

pub async fn start(database: TestDatabase) -> anyhow::Result<TestApp> {
    TestApp::spawn(database, CancellationToken::new()).await
}

/// Ids of one tenant's channel, agent, contact and conversation.
pub struct Fixture {
    pub agent: String,
    pub channel: String,
    pub contact: String,
    pub conversation: String,
}

/// Creates an agent, an API channel, a contact and a conversation with `credential`.
pub async fn fixture(app: &TestApp, credential: &Credential) -> anyhow::Result<Fixture> {
    let agent = created(
        app.post(
            "/api/v1/agents",
            credential,
            json!({"name": "Echo", "kind": "echo"}),
        )
        .await?,
    )?;
    let channel = created(
        app.post(
            "/api/v1/channels",
            credential,
            json!({"kind": "api", "name": "Web chat", "agentId": agent, "config": {"signingSecret": "top-secret-signing"}}),
        )
        .await?,
    )?;
    let contact = created(
        app.post(
            "/api/v1/contacts",
            credential,
            json!({"name": "Ada", "phone": "+15551230001"}),
        )
        .await?,
    )?;
    let conversation = created(
        app.post(
            "/api/v1/conversations",
            credential,
            json!({"channelId": channel, "contactId": contact}),
        )
        .await?,
    )?;
    Ok(Fixture {
        agent,
        channel,
        contact,
        conversation,
    })
}

/// The id of a record a `201 Created` reply returned.
pub fn created(reply: switchboard_test_support::Reply) -> anyhow::Result<String> {
    anyhow::ensure!(
        reply.status == 201,
        "expected 201, got {}: {}",
        reply.status,
        reply.text
    );
    Ok(reply.str("id"))
}

/// Creates a user with `role` in the caller's tenant (or `tenant_id`) and logs them in.
pub async fn user(
    app: &TestApp,
    credential: &Credential,
    username: &str,
    role: &str,
    tenant_id: Option<&str>,
) -> anyhow::Result<(String, Credential)> {
    let mut body = json!({"username": username, "password": "correct-horse-battery", "role": role});
    if let Some(tenant_id) = tenant_id {
        body["tenantId"] = Value::String(tenant_id.to_owned());
    }
    let id = created(app.post("/api/v1/users", credential, body).await?)?;
    let token = app.login(username, "correct-horse-battery").await?;
    Ok((id, Credential::Bearer(token)))
}

/// The `error.code` of an error reply, after checking it is a JSON error with a message.
pub fn error_code(reply: &switchboard_test_support::Reply) -> String {
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty(),
        "error without message: {} {}",
        reply.status,
        reply.text
    );
    reply.body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
