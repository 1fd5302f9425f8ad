//! An agent: what answers a conversation (an echo bot, a scripted flow, an LLM, or the
//! customer's own bot over HTTP), with its kind-specific configuration and cost per run.

use crate::vocabulary::vocabulary;
use crate::{AgentId, Credits, TenantId, Timestamp};

vocabulary! {
    pub enum AgentKind {
        /// Replies with the inbound text.
        Echo = "echo",
        /// A deterministic flow from its configuration.
        Scripted = "scripted",
        /// Any OpenAI-compatible Chat Completions endpoint.
        Openai = "openai",
        /// The customer's own bot, called over HTTP.
        Http = "http",
    }
}

/// Configuration keys of an agent that hold secrets: stored, never returned.
pub const AGENT_SECRET_KEYS: &[&str] = &["apiKey", "signingSecret"];

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    pub id: AgentId,
    pub tenant_id: TenantId,
    pub name: String,
    pub kind: AgentKind,
    /// Kind-specific settings (model, prompts, URLs, …); see [`AGENT_SECRET_KEYS`].
    pub config: serde_json::Value,
    /// Credits debited for each run.
    pub cost_per_run: Credits,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Agent {
    /// The configuration without its secrets, and the names of the secrets that are set.
    pub fn public_config(&self) -> (serde_json::Value, Vec<String>) {
        crate::channel::split_secrets(&self.config, AGENT_SECRET_KEYS)
    }
}
