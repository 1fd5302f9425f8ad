//! The embedded backend: one SQLite file in WAL mode, a pool of read-only connections used on
//! the caller's thread, and one writer connection on a thread of its own behind a group commit.

mod group_commit;
mod readers;

pub(crate) use group_commit::GroupCommit;
pub(crate) use readers::Readers;

use std::path::Path;
use std::sync::Arc;

use rusqlite::OpenFlags;
use rusqlite::config::DbConfig;

use crate::write::Writer;
use crate::{StoreError, StoreOptions};

/// Statements each connection keeps prepared: every query the store runs, with room to spare.
const STATEMENT_CACHE: usize = 256;

/// The inbox's file: its own readers and writer; its schema is migration 6
/// (`migrations/sqlite/0006_inbox.sql`).
pub(crate) struct InboxFile {
    pub(crate) readers: Arc<Readers>,
    pub(crate) writer: Arc<GroupCommit>,
    /// The database's readers, where a redelivery's message may already be stored.
    pub(crate) database: Arc<Readers>,
    /// The last inbox id stored in the database; rows up to it wait only to be deleted.
    pub(crate) stored_through: std::sync::atomic::AtomicI64,
}

pub(crate) fn open(
    options: &StoreOptions,
) -> Result<(Arc<Readers>, Writer, InboxFile), StoreError> {
    let location = Location::from_url(&options.url)?;
    location.create_parent_directory()?;
    let inbox_location = location.inbox();
    let (readers, writer) = open_file(location, options)?;
    let (inbox_readers, inbox_writer) = open_file(inbox_location, options)?;
    let start = |connection, thread, nice| {
        GroupCommit::start(connection, options.sqlite_max_batch, thread, nice)
            .map_err(|error| StoreError::Unavailable(Box::new(error)))
    };
    let inbox = InboxFile {
        readers: inbox_readers,
        writer: Arc::new(start(inbox_writer, "sqlite-inbox", 0)?),
        database: Arc::clone(&readers),
        stored_through: std::sync::atomic::AtomicI64::new(0),
    };
    let writer = start(writer, "sqlite-writer", options.sqlite_writer_nice)?;
    Ok((readers, Writer::GroupCommit(writer), inbox))
}

/// Opens one database file: its writer connection, and its readers.
fn open_file(
    location: Location,
    options: &StoreOptions,
) -> Result<(Arc<Readers>, rusqlite::Connection), StoreError> {
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
    fn from_url(url: &str) -> Result<Self, StoreError> {
        match database_path(url).as_str() {
            "" => Err(StoreError::Unavailable(
                format!("no database path in `{url}`").into(),
            )),
            ":memory:" => Ok(Location::fresh_memory()),
            path => Ok(Location::File(path.to_owned())),
        }
    }

    /// Where the inbox of this database lives: beside it, or in memory beside it.
    fn inbox(&self) -> Self {
        match self {
            Location::File(path) => Location::File(format!("{path}-inbox")),
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
    fn create_parent_directory(&self) -> Result<(), StoreError> {
        let Location::File(file) = self else {
            return Ok(());
        };
        match Path::new(file).parent() {
            Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent)
                .map_err(|error| StoreError::Unavailable(Box::new(error))),
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

/// The file path of a SQLite URL, for size reports.
pub(crate) fn database_path(url: &str) -> String {
    url.trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned()
}
