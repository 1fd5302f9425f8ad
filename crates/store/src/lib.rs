#![doc = include_str!("../README.md")]

mod admin;
mod agents;
mod api_keys;
mod channels;
mod connect;
mod contacts;
mod conversation_events;
mod conversations;
mod credits;
mod db;
mod debits;
mod error;
mod follow_ups;
mod inbox;
mod ingest;
mod messages;
mod migrate;
mod outbound;
mod page;
mod participants;
mod postgres;
pub mod priority;
mod queue;
mod row;
mod runs;
mod search;
mod sqlite;
mod table;
mod tenants;
mod tokens;
mod turn_effects;
mod users;
mod write;

pub use admin::{DatabaseMetrics, DatabaseSize, IndexSuggestion, PoolStats, TableStats};
pub use agents::{AgentUpdate, NewAgent};
pub use api_keys::NewApiKey;
pub use channels::{ChannelUpdate, NewChannel};
pub use connect::StoreOptions;
pub use contacts::{ContactUpdate, NewContact};
pub use conversation_events::{StreamEvent, StreamPage};
pub use conversations::{ConversationFilter, ConversationUpdate, NewConversation, TurnSubject};
pub use credits::NewLedgerEntry;
pub use error::StoreError;
pub use follow_ups::FOLLOW_UP_TEXT;
pub use ingest::{IngestMessage, IngestStatus, Ingested};
pub use messages::{Appended, MessageOrder, NewMessage};
pub use outbound::{Delivery, Outgoing, Recipient};
pub use page::PageRequest;
pub use participants::NewParticipant;
pub use queue::{EnqueueHook, NewEntry, QueueCounts, UNNUMBERED};
pub use runs::{RunRecord, Turn};
pub use search::{SearchHit, SearchQuery};
pub use switchboard_database::{Backend, redact_url};
pub use tokens::{NewRefreshToken, Rotation};
pub use turn_effects::{FollowUp, NewFollowUp, TurnEffects};
pub use users::{NewUser, UserCredentials, UserUpdate};

use std::sync::Arc;

use crate::db::{Db, query};
use crate::sqlite::Readers;

/// The durable store: one handle, cheap to clone, shared by every task.
///
/// Reads go to a connection pool (on SQLite, read-only connections used in place); writes go
/// through [`Store::write`], which on SQLite batches concurrent transactions into one commit
/// (group commit) and on PostgreSQL runs each in its own pooled transaction.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    readers: ReadPool,
    writer: write::Writer,
    inbox: inbox::Inbox,
    /// PostgreSQL: the commonest agent turns, committed in batches (unused on SQLite).
    turns: postgres::TurnBatches,
    /// PostgreSQL: deliveries' completions, committed in batches (unused on SQLite).
    deliveries: postgres::DeliveryBatches,
    /// PostgreSQL: deliveries' starts, committed in batches (unused on SQLite).
    starts: postgres::StartBatches,
    /// PostgreSQL: turns' conversation reads, in batches (unused on SQLite).
    subjects: postgres::SubjectReads,
    /// PostgreSQL: turns' history reads, in batches (unused on SQLite).
    histories: postgres::HistoryReads,
    options: StoreOptions,
}

impl Store {
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Whether the store answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        query("SELECT 1").fetch_one(self.reader()).await?;
        Ok(())
    }

    /// Closes every connection after in-flight work finishes.
    pub async fn close(&self) {
        self.inner.writer.close().await;
        if let inbox::Inbox::File(inbox) = &self.inner.inbox {
            inbox.writer.close().await;
            inbox.readers.close();
        }
        match &self.inner.readers {
            ReadPool::Sqlite(readers) => readers.close(),
            ReadPool::Postgres(pool) => pool.close().await,
        }
    }

    /// Where reads run.
    fn reader(&self) -> Db<'_> {
        match &self.inner.readers {
            ReadPool::Sqlite(readers) => Db::SqliteReaders(readers),
            ReadPool::Postgres(pool) => Db::Postgres(pool),
        }
    }
}

/// The connections reads use.
enum ReadPool {
    Sqlite(Arc<Readers>),
    Postgres(Arc<postgres::Pool>),
}
