//! The tools: what `tools/list` describes (in a fixed order) and what `tools/call` runs. Each
//! tool reads its camelCase arguments, calls one engine operation as REST does, and answers
//! `structuredContent` matching its `outputSchema` with the same JSON as a text block. A tool
//! that runs and fails (not found, forbidden, invalid) answers `isError: true` with REST's
//! error code and message, so a model can read it and correct itself; an unknown tool or
//! arguments that do not fit the input schema are protocol errors (`-32602`).

mod conversations;
mod diagnostics;
mod operations;
mod schema;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use switchboard_core::Caller;
use switchboard_engine::{Engine, EngineError};

use super::jsonrpc::RpcError;
use crate::ApiError;

/// What a tool runs with.
pub(crate) struct Context<'a> {
    pub engine: &'a Engine,
    pub caller: &'a Caller,
}

/// A tool as `tools/list` describes it.
pub(crate) struct Tool {
    pub name: &'static str,
    pub title: &'static str,
    /// Written for a model: what it does, when to use it, what it returns.
    pub description: &'static str,
    pub effects: Effects,
    pub input_schema: fn() -> Value,
    pub output_schema: fn() -> Value,
}

/// What a tool does to the world, as MCP's annotation hints say it.
#[derive(Clone, Copy)]
pub(crate) struct Effects {
    /// Changes nothing.
    pub read_only: bool,
    /// May change or remove what is there (rather than only add).
    pub destructive: bool,
    /// Calling it again with the same arguments changes nothing more.
    pub idempotent: bool,
    /// Reaches people or systems outside this gateway (a message leaves through a channel).
    pub open_world: bool,
}

impl Effects {
    /// Reads this gateway's own records.
    pub(crate) const READS: Effects = Effects {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
}

/// Every tool, in the order `tools/list` gives them.
static CATALOG: [&Tool; 15] = [
    &conversations::LIST_CONVERSATIONS,
    &conversations::GET_CONVERSATION,
    &conversations::SEARCH_MESSAGES,
    &conversations::SEND_MESSAGE,
    &conversations::SET_CONVERSATION_STATUS,
    &conversations::HAND_OFF,
    &conversations::RELEASE,
    &operations::GET_RUN,
    &operations::LIST_DEAD_LETTERS,
    &operations::RETRY_DEAD_LETTER,
    &operations::GET_QUEUE_STATS,
    &operations::GET_CREDITS,
    &diagnostics::ECHO,
    &diagnostics::GET_TIME,
    &diagnostics::GET_USER_INFO,
];

/// The `tools` of a `tools/list` result.
pub(crate) fn list() -> Value {
    CATALOG.iter().map(|tool| tool.describe()).collect()
}

impl Tool {
    fn describe(&self) -> Value {
        let effects = self.effects;
        json!({
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": (self.input_schema)(),
            "outputSchema": (self.output_schema)(),
            "annotations": {
                "title": self.title,
                "readOnlyHint": effects.read_only,
                "destructiveHint": effects.destructive,
                "idempotentHint": effects.idempotent,
                "openWorldHint": effects.open_world
            }
        })
    }
}

/// Why a tool did not answer.
pub(crate) enum Failure {
    /// The arguments do not fit the tool's input schema (a protocol error).
    Arguments(String),
    /// The operation refused or failed (a result with `isError`).
    Operation(ApiError),
}

impl From<EngineError> for Failure {
    fn from(error: EngineError) -> Self {
        Failure::Operation(error.into())
    }
}

/// What a tool answers: its structured result, or why not.
pub(crate) type Outcome = Result<Value, Failure>;

/// Runs the tool `name` with `arguments` (`null` when the call had none); the `tools/call`
/// result.
pub(crate) async fn call(
    context: &Context<'_>,
    name: &str,
    arguments: Value,
) -> Result<Map<String, Value>, RpcError> {
    let outcome = match name {
        "list_conversations" => conversations::list_conversations(context, arguments).await,
        "get_conversation" => conversations::get_conversation(context, arguments).await,
        "search_messages" => conversations::search_messages(context, arguments).await,
        "send_message" => conversations::send_message(context, arguments).await,
        "set_conversation_status" => {
            conversations::set_conversation_status(context, arguments).await
        }
        "hand_off" => conversations::hand_off(context, arguments).await,
        "release" => conversations::release(context, arguments).await,
        "get_run" => operations::get_run(context, arguments).await,
        "list_dead_letters" => operations::list_dead_letters(context, arguments).await,
        "retry_dead_letter" => operations::retry_dead_letter(context, arguments).await,
        "get_queue_stats" => operations::get_queue_stats(context, arguments).await,
        "get_credits" => operations::get_credits(context, arguments).await,
        "echo" => diagnostics::echo(arguments),
        "get_time" => diagnostics::get_time(arguments),
        "get_user_info" => diagnostics::get_user_info(context, arguments).await,
        _ => {
            return Err(RpcError::invalid_params(format!(
                "unknown tool {name:?}: tools/list names the tools"
            )));
        }
    };
    match outcome {
        Ok(structured) => Ok(result(structured.to_string(), Some(structured))),
        Err(Failure::Arguments(message)) => Err(RpcError::invalid_params(format!(
            "{name}: invalid arguments: {message}"
        ))),
        Err(Failure::Operation(error)) => {
            let (status, code) = error.status_and_code();
            if status.is_server_error() {
                tracing::error!(tool = name, error = %error, cause = %crate::error::causes(&error), "mcp tool failed");
            }
            Ok(result(format!("{code}: {}", error.client_message()), None))
        }
    }
}

/// A `tools/call` result: `text` as its content, and `structured` (absent on errors, which
/// are marked `isError`).
fn result(text: String, structured: Option<Value>) -> Map<String, Value> {
    let mut result = Map::new();
    result.insert("content".into(), json!([{ "type": "text", "text": text }]));
    result.insert("isError".into(), Value::Bool(structured.is_none()));
    if let Some(structured) = structured {
        result.insert("structuredContent".into(), structured);
    }
    result
}

/// A tool's arguments read into `T` (an absent `arguments` reads as `{}`).
fn read<T: DeserializeOwned>(arguments: Value) -> Result<T, Failure> {
    let arguments = match arguments {
        Value::Null => Value::Object(Map::new()),
        arguments => arguments,
    };
    serde_json::from_value(arguments).map_err(|error| Failure::Arguments(error.to_string()))
}

/// A tool's answer: `value` as JSON.
fn answer(value: impl serde::Serialize) -> Outcome {
    serde_json::to_value(value)
        .map_err(|error| Failure::Operation(ApiError::Internal(Box::new(error))))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_tool_is_listed_once_with_schemas_and_hints() {
        let tools = list();
        let tools = tools.as_array().expect("an array");
        let names: HashSet<_> = tools.iter().map(|tool| tool["name"].as_str()).collect();
        assert_eq!(names.len(), tools.len(), "names are unique");
        for tool in tools {
            assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
            assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
            assert!(
                tool["title"].is_string() && tool["description"].is_string(),
                "{tool}"
            );
            for hint in [
                "readOnlyHint",
                "destructiveHint",
                "idempotentHint",
                "openWorldHint",
            ] {
                assert!(tool["annotations"][hint].is_boolean(), "{hint} of {tool}");
            }
        }
    }

    #[test]
    fn a_failure_carries_no_structured_content() {
        let failed = result("not_found: conversation not found".into(), None);
        assert_eq!(failed["isError"], true);
        assert!(!failed.contains_key("structuredContent"));
        let answered = result("{}".into(), Some(json!({})));
        assert_eq!(answered["isError"], false);
        assert_eq!(answered["structuredContent"], json!({}));
    }
}
