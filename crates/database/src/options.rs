//! How to open a database.

use std::time::Duration;

/// How to open a database.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    /// `sqlite://./data/switchboard.db` or `postgres://user@host/db`.
    pub url: String,
    /// Connections for reads (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
    /// How long a caller waits for a free connection before the database counts as unavailable.
    pub acquire_timeout: Duration,
    /// SQLite: fsync every commit (`synchronous=FULL`); `false` trades the last commits on power
    /// loss for speed (`NORMAL`). WAL mode is always on.
    pub sqlite_full_sync: bool,
    /// SQLite: the most write transactions one group commit may carry.
    pub sqlite_max_batch: usize,
    /// SQLite: how long a commit waits for more writes while writes arrive together (a write
    /// that arrives alone commits at once). Longer shares each commit among more writes, for
    /// less processor time per write and more latency (`docs/benchmarks.md`).
    pub sqlite_commit_window: Duration,
    /// SQLite: how long a statement waits for a lock held by another process before the
    /// database counts as unavailable.
    pub busy_timeout: Duration,
    /// SQLite: the nice value of the writer thread ([`crate::priority`]).
    pub sqlite_writer_nice: i32,
    /// SQLite: statements every group commit ends with, once the schema has their table.
    pub sqlite_after_commit: Option<SqliteAfterCommit>,
    /// PostgreSQL: settings (`set_config`) every connection gets when it opens, such as the
    /// node's fencing token that the queue's statements read (`current_setting`).
    pub postgres_settings: Vec<(String, String)>,
}

/// Statements a SQLite group commit runs at its end, outside any write's savepoint: work the
/// schema defers and gathers (the store indexes the messages committed since the last time for
/// search there), at most once every [`SqliteAfterCommit::at_most_every`].
#[derive(Debug, Clone, Copy)]
pub struct SqliteAfterCommit {
    /// The table whose existence turns the statements on (a migration creates it, possibly
    /// in the very transaction that first needs them).
    pub once_table_exists: &'static str,
    pub statements: &'static [&'static str],
    /// The shortest time between two commits that run the statements (zero: every commit).
    /// Whoever needs the deferred work done sooner runs the statements in a write of its own.
    pub at_most_every: Duration,
}

impl DatabaseOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            sqlite_full_sync: true,
            sqlite_max_batch: 256,
            sqlite_commit_window: Duration::from_micros(1500),
            busy_timeout: Duration::from_secs(5),
            sqlite_writer_nice: 0,
            sqlite_after_commit: None,
            postgres_settings: Vec::new(),
        }
    }
}
