//! `ApiError`: every failure becomes a status and `{error:{code,message,details?}}`. Client
//! errors say what to fix; server errors hide internals and log their cause chain once.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use switchboard_api_types::{ErrorBody, ErrorDetail};
use switchboard_engine::{EngineError, FileError, VerifyError, WebhookError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    /// The balance cannot pay for what was asked: grant credits, then retry.
    #[error("{0}")]
    PaymentRequired(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A field that breaks a rule; `field` is in the client's terms.
    #[error("{message}")]
    Validation {
        field: Option<String>,
        message: String,
    },
    /// Over capacity: retry after `Retry-After` seconds.
    #[error("{0}")]
    TooManyRequests(String),
    /// Over an inbound rate limit: `Retry-After` and the `RateLimit-*` headers say when to
    /// come back.
    #[error("too many requests: retry in {} s", switchboard_engine::retry_seconds(.0))]
    RateLimited(switchboard_core::Admission),
    /// What the gateway relies on (an agent's model) failed; the message says how.
    #[error("{0}")]
    BadGateway(String),
    #[error("service unavailable, retry shortly")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PaymentRequired(_) => (StatusCode::PAYMENT_REQUIRED, "insufficient_credits"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::TooManyRequests(_) | ApiError::RateLimited(_) => {
                (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
            }
            ApiError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "bad_gateway"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl ApiError {
    /// What the client reads: a validation error names its field first.
    pub(crate) fn client_message(&self) -> String {
        match self {
            ApiError::Validation {
                field: Some(field),
                message,
            } => format!("{field}: {message}"),
            other => other.to_string(),
        }
    }

    /// Structured details: the field a validation error is about, and why.
    pub(crate) fn details(&self) -> Option<serde_json::Value> {
        match self {
            ApiError::Validation {
                field: Some(field),
                message,
            } => Some(serde_json::json!({ "field": field, "reason": message })),
            ApiError::RateLimited(admission) => Some(serde_json::json!({
                "limit": admission.limit,
                "retryAfterSeconds": switchboard_engine::retry_seconds(admission),
            })),
            _ => None,
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::Unauthorized(message) => ApiError::Unauthorized(message),
            EngineError::Forbidden(message) => ApiError::Forbidden(message),
            EngineError::NotFound(entity) => ApiError::NotFound(format!("{entity} not found")),
            EngineError::Invalid(invalid) => ApiError::Validation {
                field: Some(invalid.field),
                message: invalid.message,
            },
            EngineError::BadRequest(message) => ApiError::BadRequest(message),
            EngineError::Conflict(message) => ApiError::Conflict(message),
            EngineError::InsufficientCredits(message) => ApiError::PaymentRequired(message),
            EngineError::Busy(full) => ApiError::TooManyRequests(full.to_string()),
            EngineError::RateLimited(admission) => ApiError::RateLimited(admission),
            EngineError::Webhook(WebhookError::Refused(missing @ VerifyError::Missing(_))) => {
                ApiError::Unauthorized(missing.to_string())
            }
            EngineError::Webhook(WebhookError::Refused(invalid)) => {
                ApiError::Forbidden(invalid.to_string())
            }
            EngineError::Webhook(WebhookError::Malformed(malformed)) => {
                ApiError::BadRequest(format!("{malformed}{}", causes(&malformed)))
            }
            EngineError::File(too_large @ FileError::TooLarge { .. }) => {
                ApiError::PayloadTooLarge(too_large.to_string())
            }
            EngineError::File(FileError::Upload(cut)) => {
                ApiError::BadRequest(format!("the upload was cut short{}", causes(&*cut)))
            }
            EngineError::File(refused) => ApiError::Validation {
                field: Some("file".into()),
                message: refused.to_string(),
            },
            EngineError::AgentFailed(failure) => ApiError::BadGateway(failure.to_string()),
            EngineError::Unavailable(source) => ApiError::Unavailable(Box::new(source)),
            EngineError::Internal(source) => ApiError::Internal(source),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            let chain = causes(&self);
            tracing::error!(status = status.as_u16(), error = %self, cause = %chain, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: self.client_message(),
                details: self.details(),
            },
        };
        let admission = match &self {
            ApiError::RateLimited(admission) => Some(*admission),
            _ => None,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(admission) = admission {
            crate::limits::add_headers(response.headers_mut(), &admission);
        } else if status == StatusCode::SERVICE_UNAVAILABLE
            || status == StatusCode::TOO_MANY_REQUESTS
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

pub(crate) async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The text of each cause of `error` in turn, `: cause: its cause` (empty when it has none).
pub(crate) fn causes(error: &dyn std::error::Error) -> String {
    let mut chain = String::new();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}
