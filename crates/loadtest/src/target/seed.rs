//! Seeding through the public API what the scenarios need: a tenant of its own (when the
//! credentials are a platform admin's), an `echo` agent, a large credit grant, M WhatsApp
//! channels whose `apiBaseUrl` is the harness's fake provider, and for REST an app channel (no
//! callback) with a pool of contacts and conversations with a few messages each.

use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};
use switchboard_api_types::{CreateContact, CreateTenant, PostMessage};

use super::{Auth, Credentials, call_json, id_of};
use crate::error::LoadtestError;
use crate::http::{Connection, Endpoint};

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Distinguishes this run's names and ids from earlier runs on the same deployment.
    pub run_id: String,
    pub business_numbers: usize,
    /// The fake provider's base URL, for the channels' `apiBaseUrl`.
    pub provider_url: String,
    /// Conversations for the REST mix (0: none).
    pub rest_conversations: usize,
}

/// One seeded WhatsApp business number.
#[derive(Debug, Clone)]
pub struct SeededChannel {
    pub id: String,
    pub phone_number_id: String,
    pub app_secret: String,
    /// `/webhooks/whatsapp/{id}`.
    pub webhook_path: String,
}

/// Conversations the REST mix reads and writes.
#[derive(Debug, Clone, Default)]
pub struct RestFixture {
    pub channel_id: String,
    pub contacts: Vec<String>,
    pub conversations: Vec<String>,
}

/// Everything seeded, and the tenant-scoped credentials to use it with.
#[derive(Clone)]
pub struct Fixture {
    pub auth: Auth,
    pub tenant_id: Option<String>,
    pub channels: Vec<SeededChannel>,
    pub rest: RestFixture,
}

/// Words the seeded messages contain, so searches find something.
pub const SEARCH_WORDS: [&str; 4] = ["invoice", "delivery", "refund", "appointment"];

pub async fn seed(
    endpoint: Arc<Endpoint>,
    auth: &Auth,
    options: &SeedOptions,
) -> Result<Fixture, LoadtestError> {
    let mut connection = Connection::new(endpoint.clone());
    let tenant = CreateTenant {
        name: format!("loadtest-{}", options.run_id),
    };
    let created = connection
        .send(
            Method::POST,
            "/api/v1/tenants",
            &auth.headers(),
            Some(serde_json::to_vec(&tenant).unwrap_or_default().into()),
        )
        .await
        .map_err(|error| LoadtestError::transport("creating a tenant", error))?;
    // Only platform admins may create tenants; anyone else seeds inside their own. In a new
    // tenant the harness acts as that tenant's own admin, as a customer's integration would.
    let (auth, tenant_id) = match created.json() {
        Some(body) if created.status == 201 => {
            let id = id_of(&body, "creating a tenant")?;
            let username = format!("loadtest-{}", options.run_id);
            let password = super::spawn::random_hex(16);
            let user = json!({"username": username, "password": password, "role": "admin",
                "tenantId": id});
            let _: Value = call_json(
                &mut connection,
                Method::POST,
                "/api/v1/users",
                &auth.headers(),
                &user,
                "creating the tenant's admin",
            )
            .await?;
            let credentials = Credentials::Password { username, password };
            (
                Auth::establish(endpoint.clone(), &credentials).await?,
                Some(id),
            )
        }
        _ => (auth.clone(), None),
    };
    let headers = auth.headers();
    let agent: Value = call_json(
        &mut connection,
        Method::POST,
        "/api/v1/agents",
        &headers,
        &json!({"name": format!("loadtest-echo-{}", options.run_id), "kind": "echo"}),
        "creating the echo agent",
    )
    .await?;
    let agent_id = id_of(&agent, "creating the echo agent")?;
    let _: Value = call_json(
        &mut connection,
        Method::POST,
        "/api/v1/credits/grants",
        &headers,
        &json!({"amount": 1_000_000_000_i64, "reason": "switchboard loadtest",
            "idempotencyKey": format!("loadtest-{}", options.run_id)}),
        "granting credits",
    )
    .await?;
    let number_base: u64 = 9_000_000_000 + rand::random::<u64>() % 999_999_999;
    let mut channels = Vec::with_capacity(options.business_numbers);
    for index in 0..options.business_numbers.max(1) {
        let phone_number_id = format!("{number_base}{index:03}");
        let app_secret = super::spawn::random_hex(16);
        let body = json!({"kind": "whatsapp", "name": format!("loadtest {} #{index}", options.run_id),
            "agentId": agent_id, "config": {"phoneNumberId": phone_number_id, "appSecret": app_secret,
            "verifyToken": "loadtest", "accessToken": "loadtest-graph-token",
            "apiBaseUrl": options.provider_url}});
        let channel: Value = call_json(
            &mut connection,
            Method::POST,
            "/api/v1/channels",
            &headers,
            &body,
            "creating a WhatsApp channel",
        )
        .await?;
        let id = id_of(&channel, "creating a WhatsApp channel")?;
        channels.push(SeededChannel {
            webhook_path: format!("/webhooks/whatsapp/{id}"),
            id,
            phone_number_id,
            app_secret,
        });
    }
    // REST traffic has an app channel of its own (no callback): the operator messages it posts
    // are delivered like any reply, but never reach the fake provider, whose checker counts
    // only replies to webhooks.
    let app_channel = json!({"kind": "api", "name": format!("loadtest {} app", options.run_id),
        "config": {"signingSecret": super::spawn::random_hex(16)}});
    let app_channel: Value = call_json(
        &mut connection,
        Method::POST,
        "/api/v1/channels",
        &headers,
        &app_channel,
        "creating the REST traffic's app channel",
    )
    .await?;
    let mut rest = RestFixture {
        channel_id: id_of(&app_channel, "creating the REST traffic's app channel")?,
        ..RestFixture::default()
    };
    for index in 0..options.rest_conversations {
        let contact = CreateContact {
            name: Some(format!("Loadtest contact {index}")),
            phone: None,
            external_id: Some(format!("loadtest-{}-{index}", options.run_id)),
            ..CreateContact::default()
        };
        let contact: Value = call_json(
            &mut connection,
            Method::POST,
            "/api/v1/contacts",
            &headers,
            &contact,
            "creating a contact",
        )
        .await?;
        let contact_id = id_of(&contact, "creating a contact")?;
        let conversation: Value = call_json(
            &mut connection,
            Method::POST,
            "/api/v1/conversations",
            &headers,
            &json!({"channelId": rest.channel_id, "contactId": contact_id}),
            "creating a conversation",
        )
        .await?;
        let conversation_id = id_of(&conversation, "creating a conversation")?;
        for (turn, word) in SEARCH_WORDS.iter().enumerate().take(3) {
            let message = PostMessage {
                text: Some(format!(
                    "seed message {turn} about the {word} for contact {index}"
                )),
                ..PostMessage::default()
            };
            let _: Value = call_json(
                &mut connection,
                Method::POST,
                &format!("/api/v1/conversations/{conversation_id}/messages"),
                &headers,
                &message,
                "posting a seed message",
            )
            .await?;
        }
        rest.contacts.push(contact_id);
        rest.conversations.push(conversation_id);
    }
    Ok(Fixture {
        auth,
        tenant_id,
        channels,
        rest,
    })
}
