//! Assembling a streamed Chat Completions answer from its chunks: content deltas (reported as
//! they come), tool calls whose id, name and argument text arrive in pieces keyed by `index`,
//! the finish reason, and the usage of the final chunk. Chunks are read leniently: fields a
//! server leaves out (`id`, `created`, `object`, `model`) are not required.

use serde::Deserialize;
use switchboard_core::Usage;

use crate::context::ToolCallRequest;
use crate::sse::SseError;

/// Most parallel tool calls one answer may hold.
const MAX_TOOL_CALLS: usize = 64;

#[derive(Debug, Default, Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<WireUsage>,
    error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Delta,
    /// Whole (not streamed) answers carry `message` instead of `delta`.
    message: Option<Delta>,
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Delta {
    content: Option<String>,
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Debug, Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: usize,
    id: Option<String>,
    function: Option<FunctionDelta>,
}

#[derive(Debug, Deserialize)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// Why a model's answer cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AnswerError {
    #[error(transparent)]
    Stream(#[from] SseError),
    #[error("a chunk is not the JSON expected")]
    MalformedChunk(#[source] serde_json::Error),
    #[error("the model reported an error: {0}")]
    Reported(serde_json::Value),
    #[error("tool call index {0} is out of range")]
    ToolCallIndex(usize),
}

/// One model answer, assembled.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Answer {
    pub content: String,
    pub tool_calls: Vec<ToolCallRequest>,
    pub usage: Option<Usage>,
    pub finish_reason: Option<String>,
}

impl Answer {
    /// Applies one chunk (the JSON of an event's data); content deltas go to `on_delta`.
    pub(crate) fn apply(
        &mut self,
        data: &str,
        on_delta: &mut dyn FnMut(&str),
    ) -> Result<(), AnswerError> {
        let chunk: Chunk = serde_json::from_str(data).map_err(AnswerError::MalformedChunk)?;
        if let Some(error) = chunk.error {
            return Err(AnswerError::Reported(error));
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(Usage {
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
            });
        }
        for choice in chunk.choices.into_iter().filter(|choice| choice.index == 0) {
            let delta = choice.message.unwrap_or(choice.delta);
            if let Some(content) = delta.content.filter(|content| !content.is_empty()) {
                on_delta(&content);
                self.content.push_str(&content);
            }
            for call in delta.tool_calls.unwrap_or_default() {
                self.apply_tool_call(call)?;
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
        Ok(())
    }

    fn apply_tool_call(&mut self, call: ToolCallDelta) -> Result<(), AnswerError> {
        if call.index >= MAX_TOOL_CALLS {
            return Err(AnswerError::ToolCallIndex(call.index));
        }
        while self.tool_calls.len() <= call.index {
            let index = self.tool_calls.len();
            self.tool_calls.push(ToolCallRequest {
                id: format!("call_{index}"),
                name: String::new(),
                arguments: String::new(),
            });
        }
        let slot = &mut self.tool_calls[call.index];
        if let Some(id) = call.id {
            slot.id = id;
        }
        if let Some(function) = call.function {
            if let Some(name) = function.name {
                slot.name.push_str(&name);
            }
            if let Some(arguments) = function.arguments {
                slot.arguments.push_str(&arguments);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_call_pieces_are_assembled_by_index_and_content_is_reported() {
        let chunks = [
            r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Let me "},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"check."},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_time","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"lookup","arguments":"{\"q\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"x\"}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#,
        ];
        let mut answer = Answer::default();
        let mut deltas = Vec::new();
        for chunk in chunks {
            answer
                .apply(chunk, &mut |delta| deltas.push(delta.to_owned()))
                .expect("valid chunk");
        }
        assert_eq!(deltas, ["Let me ", "check."]);
        assert_eq!(answer.content, "Let me check.");
        assert_eq!(
            answer.tool_calls,
            vec![
                ToolCallRequest {
                    id: "call_a".into(),
                    name: "get_time".into(),
                    arguments: String::new()
                },
                ToolCallRequest {
                    id: "call_b".into(),
                    name: "lookup".into(),
                    arguments: r#"{"q":"x"}"#.into()
                },
            ]
        );
        assert_eq!(answer.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            answer.usage,
            Some(Usage {
                prompt_tokens: 12,
                completion_tokens: 7
            })
        );
    }

    #[test]
    fn malformed_chunks_and_reported_errors_are_refused() {
        let mut answer = Answer::default();
        assert!(answer.apply("{not json", &mut |_| {}).is_err());
        assert!(
            answer
                .apply(r#"{"error":{"message":"overloaded"}}"#, &mut |_| {})
                .is_err()
        );
        assert!(
            answer
                .apply(
                    r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":999999}]}}]}"#,
                    &mut |_| {}
                )
                .is_err()
        );
    }
}
