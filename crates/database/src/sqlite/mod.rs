//! The embedded backend: one SQLite file in WAL mode, a pool of read-only connections used on
//! the caller's thread, and one writer connection on a thread of its own behind a group commit.

mod group_commit;
mod readers;
pub(crate) mod shapes;

pub(crate) use group_commit::GroupCommit;
pub use readers::Readers;

use std::path::Path;
use std::sync::Arc;

use rusqlite::OpenFlags;
use rusqlite::config::DbConfig;

use crate::{DatabaseError, DatabaseOptions};

/// Statements each connection keeps prepared: every query the store runs, with room to spare.
const STATEMENT_CACHE: usize = 256;

/// Opens one database file: its readers, and its writer on a thread of its own (named
/// `thread`, at the nice value `nice`) behind a group commit.
pub(crate) fn open(
    location: Location,
    options: &DatabaseOptions,
    thread: &str,
    nice: i32,
) -> Result<(Arc<Readers>, GroupCommit), DatabaseError> {
    let (readers, writer) = open_file(location, options)?;
    let writer = GroupCommit::start(
        writer,
        options.sqlite_max_batch,
        options.sqlite_commit_window,
        thread,
        nice,
        options.sqlite_after_commit,
    )
    .map_err(|error| DatabaseError::Unavailable(Box::new(error)))?;
    Ok((readers, writer))
}

/// Opens one database file: its writer connection, and its readers.
fn open_file(
    location: Location,
    options: &DatabaseOptions,
) -> Result<(Arc<Readers>, rusqlite::Connection), DatabaseError> {
    let writer =
        location.open(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)?;
    let synchronous = if options.sqlite_full_sync {
        "FULL"
    } else {
        "NORMAL"
    };
    writer.busy_timeout(options.busy_timeout)?;
    // Every connection waits for locks (up to the busy timeout) instead of failing at once,
    // and enforces references.
    writer.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
         PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
    ))?;
    let readers = Readers::new(
        location,
        options.busy_timeout,
        usize::try_from(options.max_connections).unwrap_or(usize::MAX),
    );
    // Opening one now reports a bad path at start rather than at the first read.
    readers.with(|_| Ok(()))?;
    Ok((Arc::new(readers), writer))
}

/// Where the database lives.
pub(crate) enum Location {
    File(String),
    /// A named in-memory database, shared by this process's connections.
    Memory(String),
}

impl Location {
    pub(crate) fn from_url(url: &str) -> Result<Self, DatabaseError> {
        match database_path(url).as_str() {
            "" => Err(DatabaseError::Unavailable(
                format!("no database path in `{url}`").into(),
            )),
            ":memory:" => Ok(Location::fresh_memory()),
            path => Ok(Location::File(path.to_owned())),
        }
    }

    /// Where a second database beside this one lives: `<path>-<suffix>`, or in memory.
    pub(crate) fn beside(&self, suffix: &str) -> Self {
        match self {
            Location::File(path) => Location::File(format!("{path}-{suffix}")),
            Location::Memory(_) => Location::fresh_memory(),
        }
    }

    /// A named in-memory database of its own, shared by this process's connections.
    fn fresh_memory() -> Self {
        Location::Memory(format!(
            "file:switchboard-{}?mode=memory&cache=shared",
            uuid::Uuid::now_v7().simple()
        ))
    }

    /// SQLite creates the file but not its directory (`./data/` on first start).
    pub(crate) fn create_parent_directory(&self) -> Result<(), DatabaseError> {
        let Location::File(file) = self else {
            return Ok(());
        };
        match Path::new(file).parent() {
            Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent)
                .map_err(|error| DatabaseError::Unavailable(Box::new(error))),
            _ => Ok(()),
        }
    }

    fn open(&self, flags: OpenFlags) -> Result<rusqlite::Connection, rusqlite::Error> {
        let (Location::File(uri) | Location::Memory(uri)) = self;
        let flags = flags | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = rusqlite::Connection::open_with_flags(uri, flags)?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Plans are made once per statement. Without this, binding a parameter SQLite's planner
        // looked at (a `LIMIT $4`, say) throws the prepared plan away at every execution.
        connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        Ok(connection)
    }
}

/// Copies the WAL of the database at `url` into its file and empties it, from a connection of
/// its own (a checkpoint cannot run inside the writer's transactions). `false` when a reader
/// in the middle of a read kept it from finishing within `busy_timeout`.
pub(crate) fn truncate_wal(
    url: &str,
    busy_timeout: std::time::Duration,
) -> Result<bool, DatabaseError> {
    let location = Location::from_url(url)?;
    if let Location::Memory(_) = location {
        return Ok(true);
    }
    let connection = location.open(OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    connection.busy_timeout(busy_timeout)?;
    let busy: i64 =
        connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
    Ok(busy == 0)
}

/// The file path of a SQLite URL, for size reports.
pub fn database_path(url: &str) -> String {
    url.trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned()
}
