//! What can go wrong between this node and Redis.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The URL is not a Redis URL.
    #[error("the Redis URL is not valid")]
    Url(#[source] redis::RedisError),
    /// Redis could not be reached when the link was made.
    #[error("cannot connect to Redis")]
    Connect(#[source] redis::RedisError),
    /// A command failed (connection lost, or refused by the server).
    #[error("a Redis command failed")]
    Command(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
}

impl ClusterError {
    /// Whether Redis did not answer in time (as opposed to refusing or being unreachable).
    pub(crate) fn is_timeout(&self) -> bool {
        match self {
            ClusterError::Timeout(_) => true,
            ClusterError::Command(error) => error.is_timeout(),
            ClusterError::Url(_) | ClusterError::Connect(_) => false,
        }
    }
}
