//! `[database]`: which store, and how it is used.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use switchboard_engine::{Backend, DatabaseOptions, redact_url};

use super::{ConfigError, duration, require};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSection {
    /// `sqlite://path` (created on first start) or `postgres://user:password@host/database`.
    pub url: DatabaseUrl,
    /// Store connections (SQLite: readers; PostgreSQL: all).
    pub max_connections: u32,
    /// How long a statement waits for a database lock held elsewhere before the request is
    /// answered 503 (SQLite; PostgreSQL waits on its own locks).
    #[serde(with = "duration")]
    pub busy_timeout: Duration,
    pub sqlite_synchronous: SqliteSynchronous,
    /// How long a SQLite commit waits for more writes while writes arrive together: longer
    /// costs less processor time per message and adds latency; `0s` commits at once.
    #[serde(with = "duration")]
    pub sqlite_commit_window: Duration,
}

/// SQLite's durability (WAL mode is always on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    /// fsync every commit.
    Full,
    /// May lose the last commits on power loss; never corrupts.
    Normal,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        let url = DatabaseUrl("sqlite://./data/switchboard.db".into());
        let store = DatabaseOptions::new(url.expose());
        Self {
            url,
            max_connections: 16,
            busy_timeout: store.busy_timeout,
            sqlite_synchronous: SqliteSynchronous::Full,
            sqlite_commit_window: store.sqlite_commit_window,
        }
    }
}

impl DatabaseSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        require(
            self.max_connections >= 1,
            "database.max_connections",
            "must be at least 1",
        )
    }

    /// How to open the store; `writer_nice` is the pipeline's priority, since the SQLite
    /// writer's commits are mostly the pipeline's.
    pub fn store_options(&self, writer_nice: i32) -> DatabaseOptions {
        DatabaseOptions {
            max_connections: self.max_connections,
            sqlite_full_sync: self.sqlite_synchronous == SqliteSynchronous::Full,
            busy_timeout: self.busy_timeout,
            sqlite_commit_window: self.sqlite_commit_window,
            sqlite_writer_nice: writer_nice,
            ..DatabaseOptions::new(self.url.expose())
        }
    }
}

/// A store URL of a backend we have (`sqlite://…`, `postgres://…`) whose password never
/// prints: `Debug`, `Display` and serialisation redact it; [`DatabaseUrl::expose`] gives the
/// whole URL.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn parse(url: impl Into<String>) -> Result<Self, ConfigError> {
        let url = url.into();
        require(
            Backend::from_url(&url).is_some(),
            "database.url",
            "expected sqlite://path or postgres://…",
        )?;
        Ok(Self(url))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&redact_url(&self.0))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&redact_url(&self.0))
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let url = String::deserialize(deserializer)?;
        DatabaseUrl::parse(url.as_str()).map_err(|_| {
            de::Error::invalid_value(
                de::Unexpected::Str(&redact_url(&url)),
                &"sqlite://path or postgres://user:password@host/database",
            )
        })
    }
}
