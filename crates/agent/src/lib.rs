#![doc = include_str!("../README.md")]

mod breaker;
mod context;
mod echo;
mod error;
mod http_bot;
mod openai;
mod runtime;
mod scripted;
mod settings;
mod sse;
mod template;
pub mod tools;

pub use context::{Context, estimate_tokens};
pub use error::AgentError;
pub use runtime::{Runtime, RuntimeConfig};
pub use settings::{AgentSettings, DoubleTexting, Pricing};

use switchboard_core::{AgentEvent, AgentKind, Usage};

/// Where an agent reports what it does while it runs (thinking deltas, tool calls), in order.
pub type Emit<'a> = &'a (dyn Fn(AgentEvent) + Send + Sync);

/// Reports `agent_thinking` (with no text) before a turn's tool calls when the turn has not
/// reported any yet, so every run reads `agent_started → agent_thinking → tool_executing → …`.
pub(crate) fn thinking_before_tools(emit: Emit<'_>) {
    emit(AgentEvent::AgentThinking {
        delta: String::new(),
    });
}

/// A finished run's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentOutput {
    pub text: String,
    pub usage: Usage,
}

/// Whether agents of `kind` read the conversation's history ([`Context::history`]): a model and
/// a customer's bot are given it; an echo and a scripted flow answer from the pending messages
/// alone, so the history is not read for them.
pub fn reads_history(kind: AgentKind) -> bool {
    match kind {
        AgentKind::Echo | AgentKind::Scripted => false,
        AgentKind::Openai | AgentKind::Http => true,
    }
}

/// Checks an agent's configuration for its kind, naming the offending field.
pub fn validate_config(kind: AgentKind, config: &serde_json::Value) -> Result<(), AgentError> {
    AgentSettings::from_config(config)?;
    match kind {
        AgentKind::Echo => Ok(()),
        AgentKind::Scripted => scripted::Script::from_config(config).map(drop),
        AgentKind::Openai => openai::OpenAiConfig::from_config(config).map(drop),
        AgentKind::Http => http_bot::HttpBotConfig::from_config(config).map(drop),
    }
}
