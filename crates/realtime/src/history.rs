//! The durable side of streams: the store keeps conversation events and run logs, and the hub
//! reads them through this trait (implemented by the engine) to replay what a client missed.

use std::sync::Arc;

use crate::frame::EventMeta;
use crate::stream::StreamKey;

/// A stored event of a durable stream.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub offset: u64,
    pub event: Arc<str>,
    pub meta: EventMeta,
}

/// Events of a durable stream after some offset, and where the stream ends now.
#[derive(Debug, Clone, Default)]
pub struct HistoryPage {
    /// Oldest first; consecutive offsets unless older ones were pruned.
    pub events: Vec<StoredEvent>,
    /// The stream's last offset (0 when it has no events).
    pub head: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("reading stream history failed: {0}")]
pub struct HistoryError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

#[async_trait::async_trait]
pub trait History: Send + Sync {
    /// Up to `limit` events of `key` after offset `after` (`None`: only the head).
    async fn read(
        &self,
        key: &StreamKey,
        after: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage, HistoryError>;
}

/// No durable history (tests of memory streams; a hub without a store).
pub struct NoHistory;

#[async_trait::async_trait]
impl History for NoHistory {
    async fn read(
        &self,
        _key: &StreamKey,
        _after: Option<u64>,
        _limit: usize,
    ) -> Result<HistoryPage, HistoryError> {
        Ok(HistoryPage::default())
    }
}
