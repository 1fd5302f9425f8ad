//! Opening a store from a URL: `sqlite://path` (created on first use) or `postgres://…`.

use std::sync::Arc;

use switchboard_database::{Database, DatabaseOptions, SqliteAfterCommit};

use crate::pipeline::inbox::postgres_accept::AcceptBatches;
use crate::pipeline::inbox::{Inbox, InboxFile};
use crate::{Inner, Keyring, Store, StoreError};

/// What SQLite group commits end with, once the schema has `messages_fts_pending` and at most
/// once a second: index for search the messages noted in it since the last time (migration 9
/// says how they are noted). FTS5 writes a segment of its index each time, and merges
/// segments as they pile up: once per commit, that was 8 % of a message's instructions at ten
/// messages a second (`docs/benchmarks.md`).
/// A search indexes what is still noted first (`search`), so it finds every message committed
/// before it began.
const INDEX_COMMITTED_MESSAGES: SqliteAfterCommit = SqliteAfterCommit {
    once_table_exists: "messages_fts_pending",
    statements: &crate::search::INDEX_PENDING,
    at_most_every: std::time::Duration::from_secs(1),
};

impl Store {
    /// Opens the store the URL names, sealing secrets with this process's own key
    /// ([`Keyring::ephemeral`]: for tests and tools). Does not migrate: call [`Store::migrate`].
    pub async fn connect(options: DatabaseOptions) -> Result<Store, StoreError> {
        Self::connect_with_keyring(options, Keyring::ephemeral()?).await
    }

    /// Opens the store the URL names, sealing and opening secrets with `keyring`. Does not
    /// migrate: call [`Store::migrate`], then [`Store::seal_secrets`].
    pub async fn connect_with_keyring(
        options: DatabaseOptions,
        keyring: Keyring,
    ) -> Result<Store, StoreError> {
        let database = Database::connect(DatabaseOptions {
            sqlite_after_commit: Some(INDEX_COMMITTED_MESSAGES),
            ..options
        })
        .await?;
        let inbox = match database.open_beside("inbox")? {
            Some(file) => Inbox::File(InboxFile::new(file)),
            None => Inbox::Table(AcceptBatches::default()),
        };
        Ok(Store {
            inner: Arc::new(Inner {
                database,
                keyring,
                inbox,
                turns: Default::default(),
                deliveries: Default::default(),
                starts: Default::default(),
                subjects: Default::default(),
                histories: Default::default(),
            }),
        })
    }

    /// Opens the store and applies its pending migrations.
    pub async fn open(options: DatabaseOptions) -> Result<Store, StoreError> {
        let store = Self::connect(options).await?;
        store.migrate().await?;
        Ok(store)
    }
}
