//! The `openai` agent: any OpenAI-compatible Chat Completions endpoint. Config: `baseUrl`
//! (default OpenAI's), `apiKey`, `model`, `systemPrompt`, `temperature`, `maxTokens`,
//! `tools: [names]`, `mcpServers`, `timeoutMs`, `maxSteps`. Answers are streamed; when the model
//! calls tools, their results join the transcript and the model is asked again, for at most
//! `maxSteps` turns (the last one may not call tools).

mod client;
mod stream;

use serde_json::{Value, json};
use switchboard_core::Usage;

use crate::context::{self, ChatMessage, Role};
use crate::runtime::request_timeout;
use crate::tools::{self, ToolHost, Toolbox};
use crate::{AgentError, AgentOutput, AgentSettings, Context, Emit, Runtime};
use client::ModelRequest;

const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpenAiConfig {
    base_url: String,
    api_key: Option<String>,
    model: String,
    system_prompt: Option<String>,
    temperature: Option<f64>,
    max_tokens: Option<u64>,
    max_steps: Option<u32>,
}

impl OpenAiConfig {
    pub(crate) fn from_config(config: &Value) -> Result<Self, AgentError> {
        let text = |field: &str| -> Result<Option<String>, AgentError> {
            match config.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(_) => Err(AgentError::config(field, "must be a string")),
            }
        };
        let base_url = text("baseUrl")?.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(AgentError::config("baseUrl", "must be an http(s) URL"));
        }
        let model = text("model")?
            .filter(|model| !model.trim().is_empty())
            .ok_or_else(|| AgentError::config("model", "is required"))?;
        let temperature = match config.get("temperature") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_f64()
                    .filter(|temperature| (0.0..=2.0).contains(temperature))
                    .ok_or_else(|| AgentError::config("temperature", "must be between 0 and 2"))?,
            ),
        };
        let whole = |field: &str| -> Result<Option<u64>, AgentError> {
            match config.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(value) => value
                    .as_u64()
                    .filter(|number| *number > 0)
                    .map(Some)
                    .ok_or_else(|| AgentError::config(field, "must be a whole number above 0")),
            }
        };
        tools::allow_list(config)?;
        tools::mcp_servers(config)?;
        Ok(Self {
            base_url,
            api_key: text("apiKey")?,
            model,
            system_prompt: text("systemPrompt")?,
            temperature,
            max_tokens: whole("maxTokens")?,
            max_steps: whole("maxSteps")?.map(|steps| u32::try_from(steps).unwrap_or(u32::MAX)),
        })
    }

    fn endpoint(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }

    /// The request for one model turn; on the `last` turn the model may not call tools.
    fn request_body(&self, transcript: &[ChatMessage], toolbox: &Toolbox<'_>, last: bool) -> Value {
        let mut body = json!({
            "model": self.model,
            "messages": transcript.iter().map(wire_message).collect::<Vec<_>>(),
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        if let Some(temperature) = self.temperature {
            body["temperature"] = json!(temperature);
        }
        if let Some(max_tokens) = self.max_tokens {
            body["max_tokens"] = json!(max_tokens);
        }
        if !toolbox.is_empty() {
            body["tools"] = toolbox
                .specs()
                .map(|spec| {
                    json!({"type": "function", "function": {
                        "name": spec.name, "description": spec.description, "parameters": spec.input_schema
                    }})
                })
                .collect();
            if last {
                body["tool_choice"] = json!("none");
            }
        }
        body
    }
}

fn wire_message(message: &ChatMessage) -> Value {
    let role = match message.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    let mut wire = json!({"role": role, "content": message.content});
    if !message.tool_calls.is_empty() {
        wire["tool_calls"] = message
            .tool_calls
            .iter()
            .map(|call| {
                json!({"id": call.id, "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments}})
            })
            .collect();
    }
    if let Some(id) = &message.tool_call_id {
        wire["tool_call_id"] = json!(id);
    }
    wire
}

pub(crate) async fn run(
    runtime: &Runtime,
    config: &Value,
    settings: &AgentSettings,
    context: &Context,
    host: &dyn ToolHost,
    emit: Emit<'_>,
) -> Result<AgentOutput, AgentError> {
    let openai = OpenAiConfig::from_config(config)?;
    let allowed = tools::allow_list(config)?;
    let toolbox = Toolbox::assemble(runtime, host, config, &allowed).await?;
    let mut transcript = context::transcript(
        openai.system_prompt.as_deref(),
        context,
        settings.context_tokens,
    );
    let endpoint = openai.endpoint();
    let max_steps = openai.max_steps.unwrap_or(runtime.config.max_steps).max(1);
    let mut usage = Usage::default();
    for step in 1..=max_steps {
        let request = ModelRequest {
            endpoint: &endpoint,
            api_key: openai.api_key.as_deref(),
            body: openai
                .request_body(&transcript, &toolbox, step == max_steps)
                .to_string(),
            timeout: request_timeout(runtime, config),
        };
        let answer = client::complete(runtime, &request, emit).await?;
        usage += answer.usage.unwrap_or_default();
        if answer.tool_calls.is_empty() {
            return Ok(AgentOutput {
                text: answer.content,
                usage,
            });
        }
        if answer.content.is_empty() {
            // A turn of tool calls alone still reports that the model worked, before its tools.
            crate::thinking_before_tools(emit);
        }
        transcript.push(ChatMessage {
            role: Role::Assistant,
            content: (!answer.content.is_empty()).then_some(answer.content),
            tool_calls: answer.tool_calls.clone(),
            tool_call_id: None,
        });
        for call in answer.tool_calls {
            let outcome = toolbox
                .execute(&call.id, &call.name, &call.arguments, emit)
                .await;
            transcript.push(ChatMessage {
                role: Role::Tool,
                content: Some(outcome.result.to_string()),
                tool_calls: Vec::new(),
                tool_call_id: Some(call.id),
            });
        }
    }
    Err(AgentError::fatal(
        "too_many_steps",
        format!("the model still called tools after {max_steps} turns"),
    ))
}
