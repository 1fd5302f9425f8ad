//! Group commit: SQLite allows one writer at a time, and each commit costs an fsync. A single
//! thread owns the write connection, takes every write that is waiting (up to a batch limit), runs
//! each inside its own savepoint of one transaction, commits once, and only then answers each
//! caller. A write that fails rolls back to its savepoint without disturbing the others; a commit
//! that fails fails them all. So many concurrent writers share one fsync, and nobody hears "done"
//! before their data is durable.
//!
//! The writer runs every statement itself, on its own thread, from prepared statements: a write
//! costs the time SQLite takes to do it, not a thread hand-off per statement.
//!
//! A commit costs more than its fsync: every page its writes changed goes to the WAL, once per
//! commit however many writes changed it. So while writes keep arriving together (the last
//! commit carried more than one), the writer waits [`GATHER`] for the ones on their way before
//! committing; a write that arrives alone commits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::db::Db;
use crate::write::WriteOp;

/// Reports the commit's outcome to the caller of one write.
type Finish = Box<dyn FnOnce(Result<(), &rusqlite::Error>) + Send>;

/// A queued write: runs its statements, says whether they succeeded, and returns how to answer.
type Job = Box<dyn for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, (bool, Finish)> + Send>;

/// How many writes may wait for the writer before callers are made to wait to submit.
const QUEUE_CAPACITY: usize = 4096;

/// How long a commit waits for more writes while writes arrive together.
const GATHER: Duration = Duration::from_micros(500);

/// Run at the end of every group commit, outside any write's savepoint: index for search the
/// messages stored in it (migration 0006 says why).
const FINISH_EACH_COMMIT: &[&str] = &[
    // CROSS JOIN keeps the few pending rows outermost; a plain join may scan every message.
    "INSERT INTO messages_fts (rowid, text)
     SELECT m.rowid, m.text
     FROM messages_fts_pending pending CROSS JOIN messages m ON m.rowid = pending.message_rowid
     WHERE m.text IS NOT NULL AND m.deleted_at IS NULL
     ORDER BY pending.message_rowid",
    "DELETE FROM messages_fts_pending",
];

pub(crate) struct GroupCommit {
    /// `None` once closed: no new writes are taken.
    jobs: std::sync::RwLock<Option<mpsc::Sender<Job>>>,
    /// Fires when the writer has committed what was queued and closed its connection.
    stopped: tokio::sync::Mutex<Option<oneshot::Receiver<()>>>,
    /// Whether commits end with [`FINISH_EACH_COMMIT`]: not until the schema has its tables.
    finishing: Arc<AtomicBool>,
}

impl GroupCommit {
    /// Starts the writer on a thread of its own, where it blocks on SQLite (and on fsync) without
    /// holding up the async runtime.
    pub(crate) fn start(
        connection: rusqlite::Connection,
        max_batch: usize,
    ) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel(QUEUE_CAPACITY);
        let (stopped_tx, stopped) = oneshot::channel();
        let finishing = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            connection,
            max_batch: max_batch.max(1),
            finishing: finishing.clone(),
        };
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                writer.run(rx);
                let _ = stopped_tx.send(());
            })?;
        Ok(Self {
            jobs: std::sync::RwLock::new(Some(jobs)),
            stopped: tokio::sync::Mutex::new(Some(stopped)),
            finishing,
        })
    }

    pub(crate) async fn submit<T: Send + 'static>(&self, op: WriteOp<T>) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |db| {
            Box::pin(async move {
                let result = op(db).await;
                let succeeded = result.is_ok();
                let finish: Finish = Box::new(move |commit| {
                    let outcome = match (result, commit) {
                        (Ok(value), Ok(())) => Ok(value),
                        (Ok(_), Err(error)) => Err(commit_failed(error)),
                        (Err(error), _) => Err(error),
                    };
                    // The caller may have gone away; its write is committed all the same.
                    let _ = tx.send(outcome);
                });
                (succeeded, finish)
            })
        });
        let jobs = self
            .jobs
            .read()
            .map_err(|_| writer_gone())?
            .clone()
            .ok_or_else(writer_gone)?;
        jobs.send(job).await.map_err(|_| writer_gone())?;
        // A job dropped unrun (its transaction could not begin) drops `tx` and lands here.
        rx.await.map_err(|_| writer_gone())?
    }

    /// From now on every commit ends with [`FINISH_EACH_COMMIT`]; called once the migrations
    /// have created what it uses.
    pub(crate) fn finish_each_commit(&self) {
        self.finishing.store(true, Ordering::Release);
    }

    /// Stops taking writes, lets the queued ones commit, and closes the connection.
    pub(crate) async fn close(&self) {
        if let Ok(mut jobs) = self.jobs.write() {
            jobs.take();
        }
        let stopped = self.stopped.lock().await.take();
        if let Some(stopped) = stopped {
            let _ = stopped.await;
        }
    }
}

/// The writer thread's own state.
struct Writer {
    connection: rusqlite::Connection,
    max_batch: usize,
    finishing: Arc<AtomicBool>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        let mut previous_batch = 0;
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            self.take_waiting(&mut rx, &mut batch);
            if previous_batch > 1 && batch.len() < self.max_batch {
                std::thread::sleep(GATHER);
                self.take_waiting(&mut rx, &mut batch);
            }
            previous_batch = batch.len();
            self.commit_batch(&mut batch);
        }
        if let Err((_, error)) = self.connection.close() {
            tracing::warn!(%error, "closing the write connection failed");
        }
    }

    fn take_waiting(&self, rx: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>) {
        while batch.len() < self.max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
    }

    fn commit_batch(&mut self, batch: &mut Vec<Job>) {
        // One write alone needs no savepoint: its failure rolls back the transaction it is
        // alone in.
        let isolated = batch.len() > 1;
        let opening: &[&str] = if isolated {
            &["BEGIN IMMEDIATE", "SAVEPOINT write"]
        } else {
            &["BEGIN IMMEDIATE"]
        };
        if let Err(error) = control(&self.connection, opening) {
            tracing::error!(%error, writes = batch.len(), "could not begin a write transaction");
            // Dropping the jobs tells each caller the store is unavailable.
            batch.clear();
            let _ = control(&self.connection, &["ROLLBACK"]);
            return;
        }
        let mut finishes = Vec::with_capacity(batch.len());
        let mut broken = None;
        let mut previous_succeeded = true;
        for (index, job) in batch.drain(..).enumerate() {
            if index > 0 {
                let between: &[&str] = if previous_succeeded {
                    &["RELEASE write", "SAVEPOINT write"]
                } else {
                    &["ROLLBACK TO write", "RELEASE write", "SAVEPOINT write"]
                };
                if let Err(error) = control(&self.connection, between) {
                    broken = Some(error);
                    break;
                }
            }
            let mut db = Db::SqliteWriter(&mut self.connection);
            // Every statement on the writer's connection completes in place: the write's
            // future is ready the first time it is polled.
            let (succeeded, finish) = futures::executor::block_on(job(&mut db));
            previous_succeeded = succeeded;
            finishes.push(finish);
        }
        batch.clear();
        let outcome = match broken {
            Some(error) => Err(error),
            None => self.end_transaction(isolated, previous_succeeded),
        };
        match &outcome {
            Ok(()) => {
                tracing::trace!(writes = finishes.len(), "group commit");
                for finish in finishes {
                    finish(Ok(()));
                }
            }
            Err(error) => {
                tracing::error!(%error, writes = finishes.len(), "group commit failed; rolling back");
                if let Err(rollback_error) = control(&self.connection, &["ROLLBACK"]) {
                    tracing::error!(error = %rollback_error, "rollback after a failed commit failed");
                }
                for finish in finishes {
                    finish(Err(error));
                }
            }
        }
    }

    /// Closes the last write's savepoint, keeping or undoing it, and commits.
    fn end_transaction(&self, isolated: bool, last_succeeded: bool) -> Result<(), rusqlite::Error> {
        let closing: &[&str] = match (isolated, last_succeeded) {
            (true, true) => &["RELEASE write"],
            (true, false) => &["ROLLBACK TO write", "RELEASE write"],
            (false, true) => &[],
            // The only write failed: nothing to keep.
            (false, false) => return control(&self.connection, &["ROLLBACK"]),
        };
        control(&self.connection, closing)?;
        if self.finishing.load(Ordering::Acquire) {
            control(&self.connection, FINISH_EACH_COMMIT)?;
        }
        control(&self.connection, &["COMMIT"])
    }
}

/// Runs transaction-control statements, each prepared once and kept.
fn control(connection: &rusqlite::Connection, statements: &[&str]) -> Result<(), rusqlite::Error> {
    for statement in statements {
        connection.prepare_cached(statement)?.execute([])?;
    }
    Ok(())
}

fn commit_failed(error: &rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("commit failed: {error}").into())
}

fn writer_gone() -> StoreError {
    StoreError::Unavailable("the store is closed".into())
}
