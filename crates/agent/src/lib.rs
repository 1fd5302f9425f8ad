#![doc = include_str!("../README.md")]

mod echo;

use switchboard_core::{Agent, AgentEvent, AgentKind, ConversationId, Message, Usage};

/// What an agent sees: recent history and the messages it must answer.
#[derive(Debug, Clone)]
pub struct Context {
    pub conversation_id: ConversationId,
    /// Earlier messages, oldest first (the pending ones excluded).
    pub history: Vec<Message>,
    /// The inbound messages this run answers, oldest first.
    pub pending: Vec<Message>,
}

/// A finished run's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentOutput {
    pub text: String,
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// This build has no runtime for the agent's kind yet.
    #[error("agents of kind {0} are not available in this version")]
    Unsupported(AgentKind),
    /// The agent failed; `retryable` says whether running it again may help.
    #[error("{code}: {message}")]
    Failed {
        code: String,
        message: String,
        retryable: bool,
    },
}

/// Runs `agent` on `context`, reporting progress through `emit` (thinking deltas, tool calls);
/// the caller emits `agent_started` before and `agent_completed`/`agent_failed` after.
pub async fn run(
    agent: &Agent,
    context: &Context,
    emit: &(dyn Fn(AgentEvent) + Send + Sync),
) -> Result<AgentOutput, AgentError> {
    match agent.kind {
        AgentKind::Echo => Ok(echo::run(context, emit)),
        other => Err(AgentError::Unsupported(other)),
    }
}
