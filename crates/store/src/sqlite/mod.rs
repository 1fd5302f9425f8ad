//! The embedded backend: one SQLite file in WAL mode, a pool of read-only connections, and one
//! writer connection behind a group commit.

mod group_commit;

pub(crate) use group_commit::GroupCommit;

use sqlx::AssertSqlSafe;
use std::path::Path;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection};

use crate::write::Writer;
use crate::{StoreError, StoreOptions};

pub(crate) async fn open(options: &StoreOptions) -> Result<(AnyPool, Writer), StoreError> {
    let url = with_create_mode(&options.url);
    create_parent_directory(&url)?;

    let mut writer = AnyConnection::connect(&url).await?;
    let synchronous = if options.sqlite_full_sync {
        "FULL"
    } else {
        "NORMAL"
    };
    // Every connection waits for locks (up to the busy timeout) instead of failing at once,
    // and enforces references.
    let busy_ms = options.busy_timeout.as_millis();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
         PRAGMA busy_timeout = {busy_ms}; PRAGMA foreign_keys = ON;"
    )))
    .execute(&mut writer)
    .await?;

    let read_pool = AnyPoolOptions::new()
        .max_connections(options.max_connections)
        .min_connections(1)
        .acquire_timeout(options.acquire_timeout)
        .after_connect(move |connection, _| {
            Box::pin(async move {
                sqlx::raw_sql(AssertSqlSafe(format!(
                    "PRAGMA busy_timeout = {busy_ms}; PRAGMA foreign_keys = ON; \
                     PRAGMA query_only = ON; PRAGMA mmap_size = 268435456; \
                     PRAGMA cache_size = -32000;"
                )))
                .execute(connection)
                .await?;
                Ok(())
            })
        })
        .connect(&url)
        .await?;

    let group_commit = GroupCommit::start(writer, options.sqlite_max_batch)
        .map_err(|error| StoreError::Unavailable(sqlx::Error::Io(error)))?;
    Ok((read_pool, Writer::GroupCommit(group_commit)))
}

/// Adds `mode=rwc` so a missing database file is created rather than refused.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// SQLite creates the file but not its directory (`./data/` on first start).
fn create_parent_directory(url: &str) -> Result<(), StoreError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    match Path::new(path).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent)
            .map_err(|error| StoreError::Unavailable(sqlx::Error::Io(error))),
        _ => Ok(()),
    }
}

/// The file path of a SQLite URL, for size reports.
pub(crate) fn database_path(url: &str) -> String {
    url.trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned()
}
