//! `POST /v1/agents/{agentId}/chat/completions`: an agent behind the OpenAI Chat Completions
//! API, for voice pipelines that take a "custom LLM". Authenticated by an API key, sent as
//! `Authorization: Bearer <key>` (how OpenAI clients send theirs) or `X-API-Key`. With
//! `stream: true` the answer is Server-Sent Events of `chat.completion.chunk` objects ending
//! with `data: [DONE]`: the agent's streamed text as it comes (the whole answer in one chunk
//! when the agent does not stream), then a chunk with `finish_reason: "stop"`. A streamed
//! request is answered only once its run has started, so what refuses it (key, agent, call,
//! credits) has its own status; only the agent's own failure comes inside the stream.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use switchboard_api_types::{
    ChatCompletion, ChatCompletionAnswer, ChatCompletionChoice, ChatCompletionRequest,
    ChatCompletionUsage, ErrorBody,
};
use switchboard_core::{AgentEvent, AgentId, Caller};
use switchboard_engine::{Completion, CompletionRequest, PromptMessage, PromptRole};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::extract::{Json, Path};
use crate::{ApiError, ApiState};

/// One event of a streamed answer as the document describes it: `data` is a
/// `chat.completion.chunk` in JSON, or `[DONE]` last.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "the stream's shape for the OpenAPI document; events are built by axum"
)]
struct StreamedEvent {
    event: Option<String>,
    data: String,
    id: Option<String>,
}

pub(crate) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(create_chat_completion))
}

/// Runs the agent on the request's messages (the last user lines are what it answers; system
/// lines are left out, the agent's prompt governs) and answers as OpenAI does. A
/// `metadata.call_id` ties the run to that call's conversation. 402 (`insufficient_credits`)
/// when the balance cannot pay a run, 502 when the agent fails.
#[utoipa::path(post, path = "/v1/agents/{agentId}/chat/completions", tag = "agents",
    params(("agentId" = AgentId, Path)), request_body = ChatCompletionRequest,
    responses(
        (status = 200, content((ChatCompletion = "application/json"),
            (StreamedEvent = "text/event-stream"))),
        (status = 402, description = "the balance cannot pay a run", body = ErrorBody),
        (status = "4XX", body = ErrorBody), (status = 502, body = ErrorBody)))]
pub(crate) async fn create_chat_completion(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(agent_id): Path<AgentId>,
    Json(body): Json<ChatCompletionRequest>,
) -> Result<Response, ApiError> {
    let request = completion_request(&body)?;
    let model = body.model.clone().unwrap_or_else(|| agent_id.to_string());
    if body.stream {
        return Ok(stream(state, caller, agent_id, request, model)
            .await?
            .into_response());
    }
    let completion = state
        .engine
        .complete_chat(&caller, agent_id, request, &|_| {})
        .await?;
    Ok(Json(answer(&completion, model)).into_response())
}

/// The engine's request: the transcript's lines with text (an assistant line with only tool
/// calls has none) and the call id from `metadata`.
fn completion_request(body: &ChatCompletionRequest) -> Result<CompletionRequest, ApiError> {
    let messages = body
        .messages
        .iter()
        .filter_map(|message| {
            let role = match message.role.as_str() {
                "system" | "developer" => PromptRole::System,
                "user" => PromptRole::User,
                "assistant" => PromptRole::Assistant,
                _ => return None,
            };
            let content = text_of(message.content.as_ref());
            (!content.is_empty()).then_some(PromptMessage { role, content })
        })
        .collect();
    let call_id = body
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.get("call_id").or_else(|| metadata.get("callId")))
        .and_then(Value::as_str)
        .map(|id| {
            id.parse().map_err(|_| ApiError::Validation {
                field: Some("metadata.call_id".into()),
                message: format!("{id:?} is not a call id"),
            })
        })
        .transpose()?;
    Ok(CompletionRequest {
        messages,
        call_id,
        run_id: switchboard_core::RunId::new(),
    })
}

/// A message's text: a string, or its text parts joined.
fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn completion_id(completion: &Completion) -> String {
    format!("chatcmpl-{}", completion.run_id)
}

fn usage(completion: &Completion) -> ChatCompletionUsage {
    let usage = completion.usage;
    ChatCompletionUsage {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        total_tokens: usage.prompt_tokens + usage.completion_tokens,
    }
}

fn answer(completion: &Completion, model: String) -> ChatCompletion {
    ChatCompletion {
        id: completion_id(completion),
        object: "chat.completion".into(),
        created: time::OffsetDateTime::now_utc().unix_timestamp(),
        model,
        choices: vec![ChatCompletionChoice {
            index: 0,
            message: ChatCompletionAnswer {
                role: "assistant".into(),
                content: completion.text.clone(),
            },
            finish_reason: "stop".into(),
        }],
        usage: usage(completion),
    }
}

/// What the streaming answer sends.
enum Piece {
    /// The run has started: the request is accepted.
    Started,
    Text(String),
    Done(Box<Result<Completion, ApiError>>),
}

/// The answer as `chat.completion.chunk` events: text as the agent streams it, then the end;
/// or the refusal, as a plain error response, when the run never starts.
async fn stream(
    state: ApiState,
    caller: Caller,
    agent_id: AgentId,
    request: CompletionRequest,
    model: String,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let created = time::OffsetDateTime::now_utc().unix_timestamp();
    let id = format!("chatcmpl-{}", request.run_id);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let text = tx.clone();
        let on_event = move |event: &AgentEvent| {
            let piece = match event {
                AgentEvent::AgentStarted { .. } => Piece::Started,
                AgentEvent::AgentThinking { delta } if !delta.is_empty() => {
                    Piece::Text(delta.clone())
                }
                _ => return,
            };
            let _ = text.send(piece);
        };
        let result = state
            .engine
            .complete_chat(&caller, agent_id, request, &on_event)
            .await
            .map_err(ApiError::from);
        let _ = tx.send(Piece::Done(Box::new(result)));
    });
    let mut rx = rx;
    let first = match rx.recv().await {
        Some(Piece::Done(result)) => match *result {
            Err(refused) => return Err(refused),
            Ok(completion) => Piece::Done(Box::new(Ok(completion))),
        },
        Some(piece) => piece,
        None => return Err(ApiError::Internal("the completion ended unanswered".into())),
    };
    let mut streamed = false;
    let rest = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|piece| (piece, rx))
    });
    let pieces = futures::stream::iter([first]).chain(rest);
    let events = pieces.flat_map(move |piece| {
        let chunk = |delta: Value, finish: Option<&str>, extra: Option<(&str, Value)>| {
            let mut chunk = json!({
                "id": id, "object": "chat.completion.chunk", "created": created,
                "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            });
            if let Some((name, value)) = extra {
                chunk[name] = value;
            }
            Event::default().data(chunk.to_string())
        };
        let events = match piece {
            Piece::Started => Vec::new(),
            Piece::Text(text) => {
                let mut delta = json!({"content": text});
                if !streamed {
                    delta["role"] = json!("assistant");
                }
                streamed = true;
                vec![chunk(delta, None, None)]
            }
            Piece::Done(result) => match *result {
                Ok(completion) => {
                    let mut events = Vec::new();
                    if !streamed {
                        let delta = json!({"role": "assistant", "content": completion.text});
                        events.push(chunk(delta, None, None));
                    }
                    let usage = serde_json::to_value(usage(&completion)).unwrap_or_default();
                    events.push(chunk(json!({}), Some("stop"), Some(("usage", usage))));
                    events.push(Event::default().data("[DONE]"));
                    events
                }
                Err(error) => {
                    let (status, code) = error.status_and_code();
                    let body = json!({"error": {"message": error.client_message(),
                        "type": code, "code": status.as_u16()}});
                    vec![
                        Event::default().data(body.to_string()),
                        Event::default().data("[DONE]"),
                    ]
                }
            },
        };
        futures::stream::iter(events.into_iter().map(Ok))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
