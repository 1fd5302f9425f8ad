//! Opening a store from a URL: `sqlite://path` (created on first use) or `postgres://…`.

use std::sync::Arc;

use switchboard_database::{Database, DatabaseOptions, SqliteAfterCommit};

use crate::pipeline::inbox::postgres_accept::AcceptBatches;
use crate::pipeline::inbox::{Inbox, InboxFile};
use crate::{Inner, Keyring, Store, StoreError};

/// What every SQLite group commit ends with, once the schema has `messages_fts_pending`:
/// index for search the messages stored in it (migration 9 says why).
const INDEX_COMMITTED_MESSAGES: SqliteAfterCommit = SqliteAfterCommit {
    once_table_exists: "messages_fts_pending",
    statements: &[
        // CROSS JOIN keeps the few pending rows outermost; a plain join may scan every message.
        "INSERT INTO messages_fts (rowid, text)
         SELECT m.rowid, m.text
         FROM messages_fts_pending pending CROSS JOIN messages m ON m.rowid = pending.message_rowid
         WHERE m.text IS NOT NULL AND m.deleted_at IS NULL
         ORDER BY pending.message_rowid",
        "DELETE FROM messages_fts_pending",
    ],
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
