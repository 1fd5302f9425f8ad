//! One model answer over HTTP: POST the request, read the event stream as it arrives (content
//! deltas become `agent_thinking` events), all within the request's deadline. Rate limits
//! (429), server errors (5xx), timeouts and lost connections are retried with backoff, honouring
//! `Retry-After`, unless part of the answer was already reported; every attempt counts towards
//! the endpoint's circuit breaker, and an open circuit fails at once.

use std::time::{Duration, Instant};

use switchboard_core::AgentEvent;

use super::stream::{Answer, AnswerError};
use crate::runtime::{content_type_is, retry_after};
use crate::sse::SseDecoder;
use crate::{AgentError, Emit, Runtime};

/// How one attempt failed.
enum Attempt {
    /// The endpoint is unwell (429, 5xx, timeout, connection): worth another try.
    Unavailable(AgentError),
    /// The endpoint answered something unusable (malformed stream): counts against it.
    Broken(AgentError),
    /// The endpoint is fine but refused the request (4xx): trying again will not help.
    Refused(AgentError),
}

/// What to send and where.
pub(crate) struct ModelRequest<'a> {
    pub endpoint: &'a str,
    pub api_key: Option<&'a str>,
    pub body: String,
    pub timeout: Duration,
}

/// One answer, with retries and the circuit breaker.
pub(crate) async fn complete(
    runtime: &Runtime,
    request: &ModelRequest<'_>,
    emit: Emit<'_>,
) -> Result<Answer, AgentError> {
    let mut attempt = 0;
    loop {
        if let Err(open) = runtime.breakers.admit(request.endpoint, Instant::now()) {
            return Err(AgentError::transient(
                "circuit_open",
                format!("{} keeps failing; calls are paused", request.endpoint),
                Some(open.0.max(Duration::from_secs(1))),
            ));
        }
        let mut reported = false;
        let outcome = attempt_once(runtime, request, &mut reported, emit).await;
        let healthy = matches!(outcome, Ok(_) | Err(Attempt::Refused(_)));
        runtime
            .breakers
            .record(request.endpoint, healthy, Instant::now());
        match outcome {
            Ok(answer) => return Ok(answer),
            Err(Attempt::Refused(error) | Attempt::Broken(error)) => return Err(error),
            Err(Attempt::Unavailable(error)) => {
                attempt += 1;
                if reported || attempt > runtime.config.max_retries {
                    return Err(error);
                }
                tracing::debug!(endpoint = request.endpoint, attempt, error = %error.message(), "model request failed; retrying");
                tokio::time::sleep(runtime.retry_delay(attempt, error.retry_after())).await;
            }
        }
    }
}

async fn attempt_once(
    runtime: &Runtime,
    request: &ModelRequest<'_>,
    reported: &mut bool,
    emit: Emit<'_>,
) -> Result<Answer, Attempt> {
    let deadline = tokio::time::Instant::now() + request.timeout;
    let timed_out = || {
        Attempt::Unavailable(AgentError::transient(
            "model_timeout",
            format!("the model did not answer within {:?}", request.timeout),
            None,
        ))
    };
    let lost = |error: reqwest::Error| {
        Attempt::Unavailable(
            AgentError::transient("model_unreachable", "cannot reach the model", None)
                .because(error),
        )
    };
    let mut builder = runtime
        .http
        .post(request.endpoint)
        .header("content-type", "application/json")
        .header("accept", "text/event-stream")
        .body(request.body.clone());
    if let Some(key) = request.api_key {
        builder = builder.bearer_auth(key);
    }
    let mut response = tokio::time::timeout_at(deadline, builder.send())
        .await
        .map_err(|_| timed_out())?
        .map_err(lost)?;
    let status = response.status();
    if status.as_u16() == 429 || status.is_server_error() {
        let code = if status.as_u16() == 429 {
            "rate_limited"
        } else {
            "model_unavailable"
        };
        return Err(Attempt::Unavailable(AgentError::transient(
            code,
            format!("the model answered HTTP {status}"),
            retry_after(response.headers()),
        )));
    }
    if !status.is_success() {
        let body = tokio::time::timeout_at(deadline, response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let excerpt: String = body.chars().take(300).collect();
        return Err(Attempt::Refused(AgentError::fatal(
            "model_refused",
            format!("the model answered HTTP {status}: {excerpt}"),
        )));
    }
    let whole = content_type_is(&response, "application/json");
    let mut answer = Answer::default();
    let mut on_delta = |delta: &str| {
        *reported = true;
        emit(AgentEvent::AgentThinking {
            delta: delta.to_owned(),
        });
    };
    let broken = |error: AnswerError| {
        Attempt::Broken(
            AgentError::fatal("bad_model_response", "the model's answer cannot be used")
                .because(error),
        )
    };
    if whole {
        let body = tokio::time::timeout_at(deadline, response.text())
            .await
            .map_err(|_| timed_out())?
            .map_err(lost)?;
        answer.apply(&body, &mut on_delta).map_err(broken)?;
        return Ok(answer);
    }
    let mut decoder = SseDecoder::default();
    let mut done = false;
    while !done {
        let Some(bytes) = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .map_err(|_| timed_out())?
            .map_err(lost)?
        else {
            break;
        };
        for data in decoder.push(&bytes).map_err(|error| broken(error.into()))? {
            if data.trim() == "[DONE]" {
                done = true;
                break;
            }
            answer.apply(&data, &mut on_delta).map_err(broken)?;
        }
    }
    if !done {
        if let Some(data) = decoder.finish().filter(|data| data.trim() != "[DONE]") {
            answer.apply(&data, &mut on_delta).map_err(broken)?;
        }
        if answer.finish_reason.is_none() {
            return Err(Attempt::Unavailable(AgentError::transient(
                "model_stream_cut",
                "the model's stream ended before the answer did",
                None,
            )));
        }
    }
    Ok(answer)
}
