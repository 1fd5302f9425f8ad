//! Read-only SQLite connections, each used by one statement at a time on the caller's own
//! thread. A read in WAL mode never waits for the writer, and most take microseconds, so running
//! them in place costs less than handing them to another thread and waiting to hear back; the
//! few that may take milliseconds ask for a blocking thread instead ([`crate::db::Query::blocking`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::OpenFlags;

use super::Location;
use crate::DatabaseError;

pub struct Readers {
    location: Location,
    busy_timeout: Duration,
    /// Connections kept open between reads; more are opened when all are in use.
    max_idle: usize,
    idle: Mutex<Vec<rusqlite::Connection>>,
    /// Connections open now, idle or in use.
    open: AtomicUsize,
    /// Statements run so far.
    reads: AtomicU64,
}

impl Readers {
    pub(crate) fn new(location: Location, busy_timeout: Duration, max_idle: usize) -> Self {
        Self {
            location,
            busy_timeout,
            max_idle: max_idle.max(1),
            idle: Mutex::new(Vec::new()),
            open: AtomicUsize::new(0),
            reads: AtomicU64::new(0),
        }
    }

    /// Runs `read` on an idle connection (opening one if none is idle) and puts it back.
    pub fn with<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, DatabaseError> {
        let idle = self.lock().pop();
        let connection = match idle {
            Some(connection) => connection,
            None => self.open()?,
        };
        let result = read(&connection);
        let mut idle = self.lock();
        if idle.len() < self.max_idle {
            idle.push(connection);
        } else {
            self.open.fetch_sub(1, Ordering::Relaxed);
        }
        Ok(result?)
    }

    /// Counts one statement run on these connections.
    pub(crate) fn count_read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    /// Statements run on these connections so far.
    pub(crate) fn reads_run(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Connections open now and connections idle among them.
    pub fn counts(&self) -> (usize, usize) {
        (self.open.load(Ordering::Relaxed), self.lock().len())
    }

    /// Connections kept open between reads. Not a ceiling: a read that finds none idle opens
    /// one, so reads never wait for a connection.
    pub fn max_idle(&self) -> usize {
        self.max_idle
    }

    /// Closes the idle connections; connections in use close when their read ends.
    pub fn close(&self) {
        let closed = std::mem::take(&mut *self.lock());
        self.open.fetch_sub(closed.len(), Ordering::Relaxed);
    }

    fn open(&self) -> Result<rusqlite::Connection, rusqlite::Error> {
        let connection = self.location.open(OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        connection.busy_timeout(self.busy_timeout)?;
        // No memory map: a read that begins after any commit since this connection's last
        // one unmaps the whole file (SQLite drops the map with its page cache), and maps it
        // again page fault by page fault; in a process of several threads each unmapping
        // interrupts the other cores to flush their TLBs. Reads through `pread` cost less
        // while the pipeline commits hundreds of times a second.
        connection.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA mmap_size = 0; PRAGMA cache_size = -32000;",
        )?;
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(connection)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<rusqlite::Connection>> {
        // A panic while holding the lock cannot leave the list half-changed.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
