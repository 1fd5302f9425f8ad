//! Opening a store from a URL: `sqlite://path` (created on first use) or `postgres://…`.

use std::time::Duration;

use crate::inbox::Inbox;
use crate::postgres::AcceptBatches;
use crate::{Inner, ReadPool, Store, StoreError, postgres, sqlite};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, or `None` for an unsupported scheme.
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

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

    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }
}

/// The URL with any password replaced, fit for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            if credentials.contains(':') {
                format!("{scheme}://{user}:<redacted>@{host}")
            } else {
                url.to_owned()
            }
        }
        None => url.to_owned(),
    }
}
