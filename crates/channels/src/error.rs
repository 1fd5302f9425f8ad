//! Why a webhook was refused or a send failed.

use std::time::Duration;

/// A webhook that is not from the provider it claims to be. Nothing from it is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No signature header (answered 401).
    #[error("missing signature: {0}")]
    Missing(&'static str),
    /// A signature that does not match, or a timestamp outside the tolerance (answered 403).
    #[error("invalid signature: {0}")]
    Invalid(&'static str),
}

/// A signed body that does not have the provider's shape (answered 400).
#[derive(Debug, thiserror::Error)]
#[error("malformed webhook body: {reason}")]
pub struct ParseError {
    reason: String,
    /// The JSON decoder's own error, when the body is not the JSON expected.
    #[source]
    json: Option<serde_json::Error>,
}

impl ParseError {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            json: None,
        }
    }

    /// A body the JSON decoder refused; `reason` says what was expected.
    pub(crate) fn not_json(reason: impl Into<String>, json: serde_json::Error) -> Self {
        Self {
            reason: reason.into(),
            json: Some(json),
        }
    }
}

/// A send the provider did not accept.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again: timeouts, connection errors, 429 and 5xx. `retry_after` is the
    /// provider's own hint (`Retry-After`, Telegram `parameters.retry_after`).
    #[error("temporary send failure: {message}")]
    Retryable {
        message: String,
        retry_after: Option<Duration>,
        /// The transport's own error, when the call failed before an answer (its URL removed).
        #[source]
        cause: Option<reqwest::Error>,
    },
    /// Will never succeed as is (4xx other than 429): the message is marked failed.
    #[error("send rejected: {message}")]
    Rejected {
        message: String,
        details: Option<serde_json::Value>,
        /// The transport's own error, when the request could not even be built.
        #[source]
        cause: Option<reqwest::Error>,
    },
}

/// The HTTP client for outbound sends could not be set up (TLS configuration).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the outbound HTTP client")]
pub struct SenderError(#[source] pub(crate) reqwest::Error);
