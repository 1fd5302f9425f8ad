//! A started app with an echo agent, credits, and channels pointing at a fake provider.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use switchboard_server::Config;
use switchboard_test_support::fakes::FakeProvider;
use switchboard_test_support::{Credential, Reply, TestApp, TestDatabase, whatsapp_signature};
use tokio_util::sync::CancellationToken;

pub const APP_SECRET: &str = "whatsapp-app-secret";
pub const PHONE_NUMBER_ID: &str = "1122334455667";
/// Long enough for a slow CI machine, short enough to fail a stuck test.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub struct Pipeline {
    pub app: TestApp,
    pub provider: FakeProvider,
    pub admin: Credential,
    pub agent: String,
    pub whatsapp: String,
}

/// An app whose queue retries fast, with an echo agent, `credits` credits, and a WhatsApp
/// channel sending to a fake Graph API.
pub async fn start(
    database: TestDatabase,
    credits: i64,
    configure: impl FnOnce(&mut Config),
) -> anyhow::Result<Pipeline> {
    let provider = FakeProvider::spawn().await?;
    let app = TestApp::spawn_with(database, CancellationToken::new(), |config| {
        config.queue_retry_base_ms = 5;
        config.whatsapp_sends_per_second = 10_000;
        configure(config);
    })
    .await?;
    let admin = app.admin();
    let agent = app
        .post(
            "/api/v1/agents",
            &admin,
            json!({"name": "Echo", "kind": "echo"}),
        )
        .await?
        .str("id");
    let whatsapp = created(
        app.post(
            "/api/v1/channels",
            &admin,
            json!({"kind": "whatsapp", "name": "WhatsApp", "agentId": agent, "config": {
                "phoneNumberId": PHONE_NUMBER_ID, "appSecret": APP_SECRET, "verifyToken": "verify-me",
                "accessToken": "graph-token", "apiBaseUrl": provider.base_url()}}),
        )
        .await?,
    )?;
    if credits > 0 {
        let grant = json!({"amount": credits, "reason": "test", "idempotencyKey": "setup"});
        anyhow::ensure!(
            app.post("/api/v1/credits/grants", &admin, grant)
                .await?
                .status
                == 201
        );
    }
    Ok(Pipeline {
        app,
        provider,
        admin,
        agent,
        whatsapp,
    })
}

pub fn created(reply: Reply) -> anyhow::Result<String> {
    anyhow::ensure!(
        reply.status == 201,
        "expected 201, got {}: {}",
        reply.status,
        reply.text
    );
    Ok(reply.str("id"))
}

/// A WhatsApp text message body from `from`, as Meta sends it.
pub fn whatsapp_text(from: &str, message_id: &str, text: &str) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1234567890", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": format!("Contact {from}")}, "wa_id": from}],
            "messages": [{"from": from, "id": message_id, "timestamp": "1697043223", "type": "text",
                "text": {"body": text}}]}}]}]})
}

impl Pipeline {
    /// POSTs `body` to the WhatsApp webhook, signed unless `signature` overrides it.
    pub async fn whatsapp_webhook(
        &self,
        body: &Value,
        signature: Option<&str>,
    ) -> anyhow::Result<Reply> {
        let bytes = serde_json::to_vec(body)?;
        let signature =
            signature.map_or_else(|| whatsapp_signature(APP_SECRET, &bytes), str::to_owned);
        let response = self
            .app
            .client
            .post(
                self.app
                    .url(&format!("/webhooks/whatsapp/{}", self.whatsapp)),
            )
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(bytes)
            .send()
            .await?;
        TestApp::reply(response).await
    }

    /// The conversations of the tenant, newest first.
    pub async fn conversations(&self) -> anyhow::Result<Vec<Value>> {
        let reply = self
            .app
            .get("/api/v1/conversations?limit=200", &self.admin)
            .await?;
        Ok(reply.body["data"].as_array().cloned().unwrap_or_default())
    }

    /// A conversation's messages, oldest first.
    pub async fn messages(&self, conversation: &str) -> anyhow::Result<Vec<Value>> {
        let path = format!("/api/v1/conversations/{conversation}/messages?order=asc&limit=200");
        let reply = self.app.call(Method::GET, &path, &self.admin, None).await?;
        Ok(reply.body["data"].as_array().cloned().unwrap_or_default())
    }

    pub async fn balance(&self) -> anyhow::Result<i64> {
        Ok(
            self.app.get("/api/v1/credits", &self.admin).await?.body["balance"]
                .as_i64()
                .unwrap_or(-1),
        )
    }

    /// Waits for the pipeline to finish everything queued.
    pub async fn settle(&self) -> anyhow::Result<()> {
        tokio::time::timeout(PATIENCE, self.app.run_until_idle())
            .await
            .map_err(|_| anyhow::anyhow!("pipeline never went idle"))
    }
}
