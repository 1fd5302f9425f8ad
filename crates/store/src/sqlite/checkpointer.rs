//! Checkpoints on a thread of their own. By default SQLite's writer copies the WAL back into the
//! database file itself whenever the WAL passes 1,000 pages, so a commit now and then carries
//! that copy and its fsync, and every write queued behind it waits. Here the writer only
//! appends to the WAL; this thread copies it back at most every [`INTERVAL`], so a page changed
//! by many commits in between is copied once, and the writer never waits for it.
//!
//! A passive checkpoint never blocks the writer or a reader. It cannot finish while readers still
//! use the older frames, and the WAL restarts from its start only once a checkpoint has
//! finished; should the WAL still outgrow [`RESTART_FRAMES`], the next checkpoint waits for those
//! readers (up to the busy timeout) and restarts it.

use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The most often the WAL is copied back while writes go on.
const INTERVAL: Duration = Duration::from_millis(200);

/// WAL frames (pages) beyond which the checkpoint waits for readers so the WAL can restart:
/// 64 MiB at SQLite's default 4 KiB page.
const RESTART_FRAMES: i64 = 16_384;

/// The writer's side: tells the checkpointer that commits have added to the WAL.
pub(crate) struct Checkpoints {
    wake: mpsc::SyncSender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpoints {
    /// Starts the checkpointer on `connection`, a read-write connection of its own.
    pub(crate) fn start(connection: rusqlite::Connection) -> std::io::Result<Self> {
        // One pending wake-up is enough: the checkpoint copies whatever is in the WAL by then.
        let (wake, woken) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&connection, &woken))?;
        Ok(Self { wake, thread })
    }

    /// Called after each commit; never waits.
    pub(crate) fn committed(&self) {
        let _ = self.wake.try_send(());
    }

    /// Stops the checkpointer and closes its connection (at once, even mid-interval).
    pub(crate) fn stop(self) {
        drop(self.wake);
        let _ = self.thread.join();
    }
}

fn run(connection: &rusqlite::Connection, woken: &mpsc::Receiver<()>) {
    let mut mode = "PASSIVE";
    while woken.recv().is_ok() {
        if !let_commits_gather(woken) {
            return;
        }
        match checkpoint(connection, mode) {
            Ok(frames) if frames > RESTART_FRAMES => mode = "RESTART",
            Ok(_) => mode = "PASSIVE",
            Err(error) => tracing::warn!(%error, mode, "checkpoint failed"),
        }
    }
}

/// Waits out [`INTERVAL`]; `false` if the writer stopped meanwhile.
fn let_commits_gather(woken: &mpsc::Receiver<()>) -> bool {
    let until = Instant::now() + INTERVAL;
    loop {
        match woken.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(()) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => return true,
            Err(mpsc::RecvTimeoutError::Disconnected) => return false,
        }
    }
}

/// Runs one checkpoint; returns the WAL's length in frames, which only a restart shortens.
fn checkpoint(connection: &rusqlite::Connection, mode: &str) -> Result<i64, rusqlite::Error> {
    let (busy, frames, copied): (i64, i64, i64) =
        connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    tracing::trace!(mode, busy, frames, copied, "checkpoint");
    Ok(frames)
}
