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

/// Configuration keys of an agent that hold secrets: stored, never returned. The `headers` of
/// each of its `mcpServers` are secrets too (credentials for those servers).
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
    /// The configuration without its secrets, and the names of the secrets that are set
    /// (`mcpServers.<name>.headers` for an MCP server's headers).
    pub fn public_config(&self) -> (serde_json::Value, Vec<String>) {
        let (mut public, mut secrets) =
            crate::channel::split_secrets(&self.config, AGENT_SECRET_KEYS);
        if let Some(serde_json::Value::Array(servers)) = public.get_mut("mcpServers") {
            for server in servers
                .iter_mut()
                .filter_map(serde_json::Value::as_object_mut)
            {
                let Some(headers) = server.remove("headers") else {
                    continue;
                };
                if headers
                    .as_object()
                    .is_some_and(|headers| !headers.is_empty())
                {
                    let name = server
                        .get("name")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default();
                    secrets.push(format!("mcpServers.{name}.headers"));
                }
            }
        }
        (public, secrets)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Agent, AgentKind};
    use crate::{AgentId, Credits, TenantId};

    #[test]
    fn public_config_hides_keys_and_mcp_headers() {
        let agent = Agent {
            id: AgentId::new(),
            tenant_id: TenantId::new(),
            name: "model".into(),
            kind: AgentKind::Openai,
            config: json!({
                "apiKey": "sk-hidden",
                "model": "m",
                "mcpServers": [{"name": "tools", "url": "http://x/mcp",
                                "headers": {"Authorization": "Bearer hidden"}}],
            }),
            cost_per_run: Credits(1),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        let (public, secrets) = agent.public_config();
        assert_eq!(
            public,
            json!({"model": "m", "mcpServers": [{"name": "tools", "url": "http://x/mcp"}]})
        );
        assert_eq!(secrets, ["apiKey", "mcpServers.tools.headers"]);
    }
}
