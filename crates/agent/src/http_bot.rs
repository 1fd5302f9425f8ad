//! The `http` agent: the customer's own bot. Each run POSTs the context as JSON to its `url`,
//! signed like the API channel (`X-Switchboard-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
//! "t.body">` with `signingSecret`). The bot answers `{text, usage?}` as JSON, or streams
//! `application/x-ndjson` lines shaped like the run's events (`agent_thinking {delta}`,
//! `tool_executing`, `tool_completed`, then `agent_completed {text, usage?}` or
//! `agent_failed {code, message, retryable}`). 429 and 5xx are retryable (with `Retry-After`),
//! other refusals are not; the endpoint's circuit breaker applies as for models.

use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard_core::{AgentEvent, Message, Usage};

use crate::runtime::{content_type_is, request_timeout, retry_after};
use crate::{AgentError, AgentOutput, Context, Emit, Runtime};

pub(crate) const SIGNATURE_HEADER: &str = "X-Switchboard-Signature";

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HttpBotConfig {
    url: String,
    signing_secret: Option<String>,
}

impl HttpBotConfig {
    pub(crate) fn from_config(config: &Value) -> Result<Self, AgentError> {
        let url = config
            .get("url")
            .and_then(Value::as_str)
            .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
            .ok_or_else(|| AgentError::config("url", "must be the bot's http(s) URL"))?;
        let signing_secret = match config.get("signingSecret") {
            None | Some(Value::Null) => None,
            Some(Value::String(secret)) if !secret.is_empty() => Some(secret.clone()),
            Some(_) => {
                return Err(AgentError::config(
                    "signingSecret",
                    "must be a non-empty string",
                ));
            }
        };
        Ok(Self {
            url: url.to_owned(),
            signing_secret,
        })
    }
}

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
fn signature(secret: &str, body: &[u8], unix: i64) -> String {
    let t = unix.to_string();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

fn wire_message(message: &Message) -> Value {
    json!({
        "id": message.id, "seq": message.seq, "direction": message.direction,
        "type": message.message_type, "text": message.text, "content": message.content,
        "createdAt": message.created_at.unix_timestamp(),
    })
}

fn request_body(context: &Context) -> Value {
    json!({
        "runId": context.run_id,
        "conversationId": context.conversation_id,
        "contact": context.contact.as_ref().map(|contact| json!({
            "id": contact.id, "name": contact.name, "phone": contact.phone, "externalId": contact.external_id,
        })),
        "messages": context.pending.iter().map(wire_message).collect::<Vec<_>>(),
        "history": context.history.iter().map(wire_message).collect::<Vec<_>>(),
    })
}

pub(crate) async fn run(
    runtime: &Runtime,
    config: &Value,
    context: &Context,
    emit: Emit<'_>,
) -> Result<AgentOutput, AgentError> {
    let bot = HttpBotConfig::from_config(config)?;
    if let Err(open) = runtime.breakers.admit(&bot.url, Instant::now()) {
        return Err(AgentError::transient(
            "circuit_open",
            format!("{} keeps failing; calls are paused", bot.url),
            Some(open.0.max(Duration::from_secs(1))),
        ));
    }
    let result = call(
        runtime,
        &bot,
        context,
        request_timeout(runtime, config),
        emit,
    )
    .await;
    let healthy = match &result {
        Ok(_) => true,
        Err(error) => !error.is_retryable(),
    };
    runtime.breakers.record(&bot.url, healthy, Instant::now());
    result
}

async fn call(
    runtime: &Runtime,
    bot: &HttpBotConfig,
    context: &Context,
    timeout: Duration,
    emit: Emit<'_>,
) -> Result<AgentOutput, AgentError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let timed_out = || {
        AgentError::transient(
            "bot_timeout",
            format!("the bot did not answer within {timeout:?}"),
            None,
        )
    };
    let lost = |error: reqwest::Error| {
        AgentError::transient("bot_unreachable", "cannot reach the bot", None).because(error)
    };
    let body = request_body(context).to_string().into_bytes();
    let mut request = runtime
        .http
        .post(&bot.url)
        .header("content-type", "application/json")
        .header("accept", "application/x-ndjson, application/json");
    if let Some(secret) = &bot.signing_secret {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        request = request.header(SIGNATURE_HEADER, signature(secret, &body, now));
    }
    let mut response = tokio::time::timeout_at(deadline, request.body(body).send())
        .await
        .map_err(|_| timed_out())?
        .map_err(lost)?;
    let status = response.status();
    if status.as_u16() == 429 || status.is_server_error() {
        return Err(AgentError::transient(
            "bot_unavailable",
            format!("the bot answered HTTP {status}"),
            retry_after(response.headers()),
        ));
    }
    if !status.is_success() {
        return Err(AgentError::fatal(
            "bot_refused",
            format!("the bot answered HTTP {status}"),
        ));
    }
    if !content_type_is(&response, "application/x-ndjson") {
        let body = tokio::time::timeout_at(deadline, response.bytes())
            .await
            .map_err(|_| timed_out())?
            .map_err(lost)?;
        let answer: Value = serde_json::from_slice(&body).map_err(|error| {
            AgentError::fatal("bad_bot_response", "the bot's answer is not JSON").because(error)
        })?;
        return completed(&answer);
    }
    let mut pending = Vec::new();
    let mut thinking = false;
    loop {
        let Some(bytes) = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .map_err(|_| timed_out())?
            .map_err(lost)?
        else {
            break;
        };
        pending.extend_from_slice(&bytes);
        while let Some(end) = pending.iter().position(|byte| *byte == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            if let Some(output) = event_line(&line, &mut thinking, emit)? {
                return Ok(output);
            }
        }
    }
    if let Some(output) = event_line(&pending, &mut thinking, emit)? {
        return Ok(output);
    }
    Err(AgentError::transient(
        "bot_stream_cut",
        "the bot's stream ended without agent_completed",
        None,
    ))
}

/// Handles one NDJSON line; `Some` once the bot has completed. `thinking` says whether the bot
/// reported `agent_thinking` since it started or since its last completed tool: a tool call
/// without one gets an empty `agent_thinking` first, the order every agent keeps.
fn event_line(
    line: &[u8],
    thinking: &mut bool,
    emit: Emit<'_>,
) -> Result<Option<AgentOutput>, AgentError> {
    let line = String::from_utf8_lossy(line);
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let event: Value = serde_json::from_str(line).map_err(|error| {
        AgentError::fatal("bad_bot_response", "a streamed line is not JSON").because(error)
    })?;
    match event.get("type").and_then(Value::as_str) {
        Some("agent_completed") => completed(&event).map(Some),
        Some("agent_failed") => Err(AgentError::Failed {
            code: text_field(&event, "code").unwrap_or_else(|| "bot_failed".into()),
            message: text_field(&event, "message").unwrap_or_default(),
            retryable: event
                .get("retryable")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            retry_after: None,
            source: None,
        }),
        Some("agent_thinking" | "tool_executing" | "tool_completed") => {
            let event: AgentEvent = serde_json::from_value(event).map_err(|error| {
                AgentError::fatal("bad_bot_response", "a streamed event is malformed")
                    .because(error)
            })?;
            match &event {
                AgentEvent::AgentThinking { .. } => *thinking = true,
                AgentEvent::ToolExecuting { .. } if !*thinking => {
                    crate::thinking_before_tools(emit);
                    *thinking = true;
                }
                AgentEvent::ToolCompleted { .. } => *thinking = false,
                _ => {}
            }
            emit(event);
            Ok(None)
        }
        // Events this version does not know are skipped, so bots can run ahead of us.
        _ => Ok(None),
    }
}

fn text_field(value: &Value, field: &str) -> Option<String> {
    value.get(field).and_then(Value::as_str).map(str::to_owned)
}

fn completed(answer: &Value) -> Result<AgentOutput, AgentError> {
    let text = text_field(answer, "text")
        .ok_or_else(|| AgentError::fatal("bad_bot_response", "the bot's answer has no `text`"))?;
    let usage = answer
        .get("usage")
        .and_then(|usage| serde_json::from_value::<Usage>(usage.clone()).ok())
        .unwrap_or_default();
    Ok(AgentOutput { text, usage })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// The event types a bot's NDJSON lines produce, in order.
    fn streamed(lines: &[Value]) -> Vec<&'static str> {
        let seen = Mutex::new(Vec::new());
        let emit = |event: AgentEvent| seen.lock().expect("not poisoned").push(event.kind());
        let mut thinking = false;
        for line in lines {
            let line = line.to_string();
            event_line(line.as_bytes(), &mut thinking, &emit).expect("a valid line");
        }
        seen.into_inner().expect("not poisoned")
    }

    #[test]
    fn a_bot_that_starts_with_a_tool_is_reported_thinking_first() {
        let executing =
            json!({"type": "tool_executing", "callId": "1", "tool": "t", "arguments": {}});
        let completed = json!({"type": "tool_completed", "callId": "1", "tool": "t",
            "result": {}, "isError": false, "durationMs": 1});
        let thinking = json!({"type": "agent_thinking", "delta": "hm"});
        assert_eq!(
            streamed(&[executing.clone(), completed.clone(), executing.clone()]),
            [
                "agent_thinking",
                "tool_executing",
                "tool_completed",
                "agent_thinking",
                "tool_executing"
            ]
        );
        assert_eq!(
            streamed(&[thinking, executing, completed]),
            ["agent_thinking", "tool_executing", "tool_completed"],
            "a bot that reports thinking itself is passed through"
        );
    }

    #[test]
    fn the_signature_is_the_api_channels() {
        let body = br#"{"runId":"r","messages":[]}"#;
        assert_eq!(
            signature("secret", body, 1_700_000_000),
            switchboard_channels::api_channel::sign("secret", body, 1_700_000_000)
        );
    }
}
