#![doc = include_str!("../README.md")]

mod admin;
mod agents;
mod analytics;
mod api_keys;
mod audit;
mod calls;
mod channels;
mod completions;
mod connect;
mod contacts;
mod conversation_events;
mod conversations;
mod credits;
mod error;
mod imports;
mod messages;
mod migrate;
mod participants;
mod pipeline;
mod search;
mod secrets;
mod table;
mod tenants;
mod tokens;
mod users;

pub use admin::{DatabaseMetrics, DatabaseSize, IndexSuggestion, TableStats};
pub use agents::{AgentUpdate, NewAgent};
pub use analytics::{AnalyticsFilter, Measured, Rebuilt, RollupSink, WhenBusy};
pub use api_keys::NewApiKey;
pub use audit::AuditFilter;
pub use calls::{
    AttemptCaps, AttemptChange, AttemptUpdate, Begin, BegunAttempt, CallAnalyticsFilter,
    CallFilter, CallPricing, CallTotals, CampaignRecipient, DueCall, NewCall, NewCampaign,
    OpenAttempt,
};
pub use channels::{ChannelUpdate, NewChannel};
pub use completions::CompletionRecord;
pub use contacts::{ContactUpdate, NewContact};
pub use conversation_events::{StreamEvent, StreamPage};
pub use conversations::{ConversationFilter, ConversationUpdate, NewConversation, TurnSubject};
pub use credits::NewLedgerEntry;
pub use error::StoreError;
pub use imports::{ImportBatch, ImportCheckpoint, ImportChunk, ImportRow, NewImport, OpenImport};
pub use messages::{Appended, MessageOrder, NewMessage};
pub use participants::NewParticipant;
pub use pipeline::delivery::{Delivery, Outgoing, Recipient};
pub use pipeline::follow_ups::FOLLOW_UP_TEXT;
pub use pipeline::inbox::{IngestMessage, IngestStatus, Ingested};
pub use pipeline::turn::{FollowUp, NewFollowUp, RunRecord, Turn, TurnEffects};
pub use search::{POSTGRES_WINDOW, SQLITE_WINDOW, SearchHit, SearchQuery};
pub use secrets::{KeyId, Keyring, MasterKey, Resealed, SealedColumn, SecretsError};
pub use switchboard_database::{Backend, DatabaseOptions, PageRequest, PoolStats, redact_url};
pub use tokens::{NewRefreshToken, Rotation};
pub use users::{NewUser, UserCredentials, UserUpdate};

use std::sync::Arc;

use futures::future::BoxFuture;
use switchboard_database::{Database, Db};

/// The durable store: one handle, cheap to clone, shared by every task.
///
/// Reads and writes run on its [`Database`]: reads on a connection pool, writes through
/// [`Database::write`] and its variants, each a transaction that is durable when it returns.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    database: Database,
    /// Seals and opens the columns that hold secrets (`secrets`).
    keyring: Keyring,
    inbox: pipeline::inbox::Inbox,
    /// PostgreSQL: the commonest agent turns, committed in batches (unused on SQLite).
    turns: pipeline::turn::TurnBatches,
    /// PostgreSQL: deliveries' completions, committed in batches (unused on SQLite).
    deliveries: pipeline::delivery::CompletionBatches,
    /// PostgreSQL: deliveries' starts, committed in batches (unused on SQLite).
    starts: pipeline::delivery::StartBatches,
    /// PostgreSQL: turns' conversation reads, in batches (unused on SQLite).
    subjects: pipeline::turn::SubjectReads,
    /// PostgreSQL: turns' history reads, in batches (unused on SQLite).
    histories: pipeline::turn::HistoryReads,
}

/// A write's statements, given its transaction.
type Write<'c, T> = BoxFuture<'c, Result<T, StoreError>>;

impl Store {
    pub fn backend(&self) -> Backend {
        self.inner.database.backend()
    }

    pub fn options(&self) -> &DatabaseOptions {
        self.inner.database.options()
    }

    /// The database under the store, for the queue's own statements.
    pub fn database(&self) -> &Database {
        &self.inner.database
    }

    /// Whether the store answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(self.inner.database.ping().await?)
    }

    /// Closes every connection after in-flight work finishes.
    pub async fn close(&self) {
        self.inner.database.close().await;
        if let pipeline::inbox::Inbox::File(inbox) = &self.inner.inbox {
            inbox.database.close().await;
        }
    }

    /// Where reads run.
    fn reader(&self) -> Db<'_> {
        self.inner.database.reader()
    }

    /// [`Database::write`], with the store's error.
    async fn write<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> Write<'c, T> + Send + 'static,
    {
        self.inner.database.write(op).await
    }

    /// [`Database::write_first`], with the store's error.
    async fn write_first<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> Write<'c, T> + Send + 'static,
    {
        self.inner.database.write_first(op).await
    }

    /// [`Database::write_statement`], with the store's error.
    async fn write_statement<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> Write<'c, T> + Send + 'static,
    {
        self.inner.database.write_statement(op).await
    }
}
