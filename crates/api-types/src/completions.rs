//! The OpenAI Chat Completions wire shapes of `POST /v1/agents/{agentId}/chat/completions`, as
//! voice pipelines send and read them. Fields the gateway does not use (`temperature`, `tools`,
//! …) are accepted and ignored: the agent's own settings govern.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A chat completion request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ChatCompletionRequest {
    /// Echoed back; the agent's own model answers.
    pub model: Option<String>,
    pub messages: Vec<ChatCompletionMessage>,
    #[serde(default)]
    pub stream: bool,
    /// `call_id` (or `callId`): the Switchboard call this run belongs to.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// One line of the transcript.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatCompletionMessage {
    /// `system`, `user`, `assistant` (`tool` and `function` lines are left out).
    pub role: String,
    /// A string, or an array of `{type: "text", text}` parts.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub content: Option<serde_json::Value>,
}

/// The answer (`object: "chat.completion"`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatCompletion {
    /// `chatcmpl-<run id>`.
    pub id: String,
    pub object: String,
    pub created: i64,
    pub model: String,
    pub choices: Vec<ChatCompletionChoice>,
    pub usage: ChatCompletionUsage,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatCompletionChoice {
    pub index: u32,
    pub message: ChatCompletionAnswer,
    pub finish_reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatCompletionAnswer {
    pub role: String,
    pub content: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ChatCompletionUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}
