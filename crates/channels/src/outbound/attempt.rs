//! One HTTP call to a provider and how its outcome maps onto [`SendError`]: transport failures,
//! 408, 429 and 5xx are worth retrying (with the provider's `Retry-After` or Telegram
//! `parameters.retry_after`), any other non-2xx is a refusal that will not change on retry.
//! Request URLs are stripped from errors: Telegram's carries the bot token.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::Value;

use crate::SendError;

/// The header carrying our message id on every provider call.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// How much of a provider's error text is kept in a message.
const DETAIL_CHARS: usize = 300;

/// Sends `request` with the idempotency key and returns the JSON body of a 2xx answer
/// (`Value::Null` when the body is not JSON).
pub(crate) async fn post(
    provider: &'static str,
    request: reqwest::RequestBuilder,
    idempotency_key: &str,
) -> Result<Value, SendError> {
    let response = request
        .header(IDEMPOTENCY_KEY, idempotency_key)
        .send()
        .await
        .map_err(|error| transport(provider, error))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|seconds| seconds.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let bytes = response
        .bytes()
        .await
        .map_err(|error| transport(provider, error))?;
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let text = String::from_utf8_lossy(&bytes);
    let detail = provider_detail(&body).unwrap_or(&text);
    let message = format!(
        "{provider} answered {status}: {}",
        truncate(detail, DETAIL_CHARS)
    );
    if is_temporary(status) {
        let retry_after = retry_after.or_else(|| {
            body.pointer("/parameters/retry_after")
                .and_then(Value::as_u64)
                .map(Duration::from_secs)
        });
        Err(SendError::Retryable {
            message,
            retry_after,
            cause: None,
        })
    } else {
        let details = match body {
            Value::Null if bytes.is_empty() => None,
            Value::Null => Some(Value::String(truncate(&text, DETAIL_CHARS).to_owned())),
            body => Some(body),
        };
        Err(SendError::Rejected {
            message,
            details,
            cause: None,
        })
    }
}

fn is_temporary(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

fn transport(provider: &'static str, error: reqwest::Error) -> SendError {
    let error = error.without_url();
    if error.is_builder() {
        return SendError::Rejected {
            message: format!("{provider} request cannot be built: {error}"),
            details: None,
            cause: Some(error),
        };
    }
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "unreachable"
    } else {
        "connection failed"
    };
    SendError::Retryable {
        message: format!("{provider} {what}: {error}"),
        retry_after: None,
        cause: Some(error),
    }
}

/// The human-readable error of a provider's JSON body: Graph `error.message`, Telegram
/// `description`, Twilio `message`.
fn provider_detail(body: &Value) -> Option<&str> {
    ["/error/message", "/description", "/message"]
        .iter()
        .find_map(|pointer| body.pointer(pointer).and_then(Value::as_str))
}

fn truncate(text: &str, chars: usize) -> &str {
    match text.char_indices().nth(chars) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}
