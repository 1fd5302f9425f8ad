//! Opening a store from a URL: `sqlite://path` (created on first use) or `postgres://…`.

use std::time::Duration;

use switchboard_database::{Backend, redact_url};

use crate::inbox::Inbox;
use crate::postgres::AcceptBatches;
use crate::{Inner, ReadPool, Store, StoreError, postgres, sqlite};

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://./data/switchboard.db` or `postgres://user@host/db`.
    pub url: String,
    /// Connections for reads (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
    /// How long a caller waits for a free connection before the store counts as unavailable.
    pub acquire_timeout: Duration,
    /// SQLite: fsync every commit (`synchronous=FULL`); `false` trades the last commits on power
    /// loss for speed (`NORMAL`). WAL mode is always on.
    pub sqlite_full_sync: bool,
    /// SQLite: the most write transactions one group commit may carry.
    pub sqlite_max_batch: usize,
    /// SQLite: how long a statement waits for a lock held by another process before the store
    /// counts as unavailable.
    pub busy_timeout: Duration,
    /// SQLite: the nice value of the database's writer thread ([`crate::priority`]), whose
    /// commits are mostly the pipeline's; the inbox's writer, which acknowledgements wait on,
    /// keeps the process's priority.
    pub sqlite_writer_nice: i32,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            sqlite_full_sync: true,
            sqlite_max_batch: 256,
            busy_timeout: Duration::from_secs(5),
            sqlite_writer_nice: 0,
        }
    }
}

impl Store {
    /// Opens the store the URL names. Does not migrate: call [`Store::migrate`].
    pub async fn connect(options: StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(&options.url).ok_or_else(|| {
            StoreError::Unavailable(
                format!(
                    "unsupported database URL scheme in `{}`; use sqlite:// or postgres://",
                    redact_url(&options.url)
                )
                .into(),
            )
        })?;
        let (readers, writer, inbox) = match backend {
            Backend::Sqlite => {
                let (readers, writer, inbox) = sqlite::open(&options)?;
                (ReadPool::Sqlite(readers), writer, Inbox::File(inbox))
            }
            Backend::Postgres => {
                let (pool, writer) = postgres::open(&options).await?;
                (
                    ReadPool::Postgres(pool),
                    writer,
                    Inbox::Table(AcceptBatches::default()),
                )
            }
        };
        Ok(Store {
            inner: std::sync::Arc::new(Inner {
                backend,
                readers,
                writer,
                inbox,
                turns: crate::postgres::TurnBatches::default(),
                deliveries: crate::postgres::DeliveryBatches::default(),
                starts: crate::postgres::StartBatches::default(),
                subjects: crate::postgres::SubjectReads::default(),
                histories: crate::postgres::HistoryReads::default(),
                options,
            }),
        })
    }

    /// Opens the store and applies its pending migrations.
    pub async fn open(options: StoreOptions) -> Result<Store, StoreError> {
        let store = Self::connect(options).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }
}
