//! Engine failures, in the terms an adapter turns into a status code.

use switchboard_channels::WebhookError;
use switchboard_core::ValidationError;
use switchboard_database::DatabaseError;
use switchboard_queue::QueueFull;
use switchboard_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Missing, malformed, expired or revoked credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing with that id in the caller's tenant (or anywhere).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A field breaks a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A query parameter (cursor, search text) cannot be used.
    #[error("{0}")]
    BadRequest(String),
    /// The change collides with existing data.
    #[error("{0}")]
    Conflict(String),
    /// Too much work queued; retry later (the provider redelivers).
    #[error(transparent)]
    Busy(#[from] QueueFull),
    /// A webhook unsigned or wrongly signed (nothing of it was read), or signed but malformed.
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// An uploaded file that cannot be imported (nothing of it was kept).
    #[error(transparent)]
    File(#[from] crate::imports::FileError),
    /// Over an inbound rate limit (a caller's quota, or a username whose logins failed too
    /// often); retry after the admission's `retry_after`.
    #[error("too many requests: retry in {} s", retry_seconds(.0))]
    RateLimited(switchboard_core::Admission),
    /// The tenant's balance cannot pay for the work asked; nothing was done or debited.
    #[error("{0}")]
    InsufficientCredits(String),
    /// An agent asked for an answer directly (its chat-completions endpoint) failed.
    #[error("the agent failed: {0}")]
    AgentFailed(#[source] switchboard_agent::AgentError),
    /// The store is unreachable; retry later.
    #[error("service unavailable")]
    Unavailable(#[source] StoreError),
    /// A bug or a broken invariant; details go to the log, not the caller.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Whole seconds until a refused request may be retried (at least one).
pub fn retry_seconds(admission: &switchboard_core::Admission) -> u64 {
    admission.retry_after.as_secs_f64().ceil().max(1.0) as u64
}

impl From<DatabaseError> for EngineError {
    /// The queue's own statements fail as the store's do.
    fn from(error: DatabaseError) -> Self {
        StoreError::from(error).into()
    }
}

impl From<StoreError> for EngineError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { entity } => EngineError::NotFound(entity),
            StoreError::Conflict { constraint } => {
                EngineError::Conflict(format!("already exists ({constraint})"))
            }
            StoreError::ForeignKey { .. } => EngineError::Conflict(
                "still referenced by other records, or refers to a record that does not exist"
                    .into(),
            ),
            StoreError::InvalidCursor => {
                EngineError::BadRequest("cursor: not a cursor this list returned".into())
            }
            StoreError::InvalidSearch(reason) => EngineError::BadRequest(format!("q: {reason}")),
            StoreError::NotReadOnly(reason) => {
                EngineError::Invalid(ValidationError::new("query", reason))
            }
            StoreError::InvalidQuery(reason) => {
                EngineError::Invalid(ValidationError::new("query", reason))
            }
            StoreError::Unavailable(_) => EngineError::Unavailable(error),
            other => EngineError::Internal(Box::new(other)),
        }
    }
}

impl EngineError {
    /// A store conflict reported in the caller's terms.
    pub(crate) fn conflict_as(message: &str) -> impl FnOnce(StoreError) -> EngineError + '_ {
        move |error| match error {
            StoreError::Conflict { .. } => EngineError::Conflict(message.to_owned()),
            other => other.into(),
        }
    }
}
