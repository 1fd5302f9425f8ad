//! What the pipeline and realtime suites start from: a started app with an echo agent,
//! credits, and a WhatsApp channel pointing at a fake provider; helpers to send, settle and
//! read what happened.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use switchboard_fakes::{FakeModel, FakeProvider};
use switchboard_server::Config;

use crate::{Credential, Reply, TestApp, TestDatabase, whatsapp_signature};
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
        config.queue.retry_base = Duration::from_millis(5);
        config.channels.whatsapp_sends_per_second = 10_000;
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

impl Pipeline {
    /// Creates an agent (`costPerRun` credits a run) and makes it the WhatsApp channel's agent.
    pub async fn use_agent(&self, kind: &str, config: Value, cost: i64) -> anyhow::Result<String> {
        let agent = created(
            self.app
                .post(
                    "/api/v1/agents",
                    &self.admin,
                    json!({"name": kind, "kind": kind, "config": config, "costPerRun": cost}),
                )
                .await?,
        )?;
        let path = format!("/api/v1/channels/{}", self.whatsapp);
        let reply = self
            .app
            .patch(&path, &self.admin, json!({"agentId": agent}))
            .await?;
        anyhow::ensure!(reply.status == 200, "{}", reply.text);
        Ok(agent)
    }

    /// Starts a fake model and makes an `openai` agent over it the channel's agent; `config`
    /// adds to (or overrides) `{baseUrl, model}`.
    pub async fn use_model(&self, config: Value, cost: i64) -> anyhow::Result<FakeModel> {
        let model = FakeModel::spawn().await?;
        let mut settings = json!({"baseUrl": model.base_url(), "model": "fake-gpt"});
        if let (Some(settings), Value::Object(extra)) = (settings.as_object_mut(), config) {
            settings.extend(extra);
        }
        self.use_agent("openai", settings, cost).await?;
        Ok(model)
    }

    /// Sends a text from `from` through the WhatsApp webhook; it must be accepted.
    pub async fn send(&self, from: &str, message_id: &str, text: &str) -> anyhow::Result<()> {
        let reply = self
            .whatsapp_webhook(&whatsapp_text(from, message_id, text), None)
            .await?;
        anyhow::ensure!(reply.status == 200, "webhook answered {}", reply.text);
        Ok(())
    }

    /// The texts the fake provider accepted, in order.
    pub fn sent_texts(&self) -> Vec<String> {
        self.provider
            .requests()
            .into_iter()
            .filter(|request| request.status == 200)
            .map(|request| {
                request.body["text"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    /// The only conversation's id.
    pub async fn conversation(&self) -> anyhow::Result<String> {
        let conversations = self.conversations().await?;
        anyhow::ensure!(
            conversations.len() == 1,
            "{} conversations",
            conversations.len()
        );
        Ok(conversations[0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// A conversation's runs, oldest first, each with its events.
    pub async fn runs(&self, conversation: &str) -> anyhow::Result<Vec<Value>> {
        let path = format!("/api/v1/runs?conversationId={conversation}&limit=200");
        let listed = self.app.get(&path, &self.admin).await?;
        let mut runs = Vec::new();
        for run in listed.body["data"].as_array().cloned().unwrap_or_default() {
            let id = run["id"].as_str().unwrap_or_default();
            runs.push(
                self.app
                    .get(&format!("/api/v1/runs/{id}"), &self.admin)
                    .await?
                    .body,
            );
        }
        Ok(runs)
    }

    /// The dead letters of the tenant.
    pub async fn dead_letters(&self) -> anyhow::Result<Vec<Value>> {
        let reply = self.app.get("/api/v1/dead-letters", &self.admin).await?;
        Ok(reply.body["data"].as_array().cloned().unwrap_or_default())
    }
}

/// The `type`s of a run's events, in order.
pub fn event_types(run: &Value) -> Vec<String> {
    run["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|event| event["type"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A run's events of one `type`.
pub fn events_of(run: &Value, kind: &str) -> Vec<Value> {
    run["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter(|event| event["type"] == kind)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}
