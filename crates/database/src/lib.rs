#![doc = include_str!("../README.md")]

pub mod batches;
mod db;
mod error;
mod options;
mod page;
pub mod postgres;
pub mod priority;
mod row;
pub mod sqlite;
mod write;

pub use db::{Bind, Column, Db, Decode, Done, Executor, Query, Row, execute_script, query};
pub use error::{DatabaseError, Failure, Source};
pub use options::{DatabaseOptions, SqliteAfterCommit};
pub use page::PageRequest;
pub use row::{RowExt, expect_changed, millis, now, parse};
pub use write::{Database, PoolStats};

/// Which database a URL names.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend_and_hide_their_password() {
        assert_eq!(
            Backend::from_url("sqlite://./data/x.db"),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgresql://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mysql://h/db"), None);
        assert_eq!(
            redact_url("postgres://user:secret@host/db"),
            "postgres://user:<redacted>@host/db"
        );
        assert_eq!(
            redact_url("postgres://user@host/db"),
            "postgres://user@host/db"
        );
    }
}
