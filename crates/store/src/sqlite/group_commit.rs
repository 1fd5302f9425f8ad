//! Group commit: SQLite allows one writer at a time, and each commit costs an fsync. A single
//! thread owns the write connection, takes every write that is waiting (up to a batch limit), runs
//! each inside its own savepoint of one transaction, commits once, and only then answers each
//! caller. A write that fails rolls back to its savepoint without disturbing the others; a commit
//! that fails fails them all. So many concurrent writers share one fsync, and nobody hears "done"
//! before their data is durable.
//!
//! The writer runs every statement itself, on its own thread, from prepared statements: a write
//! costs the time SQLite takes to do it, not a thread hand-off per statement.

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

pub(crate) struct GroupCommit {
    /// `None` once closed: no new writes are taken.
    jobs: std::sync::RwLock<Option<mpsc::Sender<Job>>>,
    /// Fires when the writer has committed what was queued and closed its connection.
    stopped: tokio::sync::Mutex<Option<oneshot::Receiver<()>>>,
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
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let connection = run(connection, rx, max_batch.max(1));
                if let Err((_, error)) = connection.close() {
                    tracing::warn!(%error, "closing the write connection failed");
                }
                let _ = stopped_tx.send(());
            })?;
        Ok(Self {
            jobs: std::sync::RwLock::new(Some(jobs)),
            stopped: tokio::sync::Mutex::new(Some(stopped)),
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

fn run(
    mut connection: rusqlite::Connection,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
) -> rusqlite::Connection {
    let mut batch = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&mut connection, &mut batch);
    }
    connection
}

fn commit_batch(connection: &mut rusqlite::Connection, batch: &mut Vec<Job>) {
    // One write alone needs no savepoint: its failure rolls back the transaction it is alone in.
    let isolated = batch.len() > 1;
    let opening: &[&str] = if isolated {
        &["BEGIN IMMEDIATE", "SAVEPOINT write"]
    } else {
        &["BEGIN IMMEDIATE"]
    };
    if let Err(error) = control(connection, opening) {
        tracing::error!(%error, writes = batch.len(), "could not begin a write transaction");
        // Dropping the jobs tells each caller the store is unavailable.
        batch.clear();
        let _ = control(connection, &["ROLLBACK"]);
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
            if let Err(error) = control(connection, between) {
                broken = Some(error);
                break;
            }
        }
        let mut db = Db::SqliteWriter(&mut *connection);
        // Every statement on the writer's connection completes in place: the write's future is
        // ready the first time it is polled.
        let (succeeded, finish) = futures::executor::block_on(job(&mut db));
        previous_succeeded = succeeded;
        finishes.push(finish);
    }
    batch.clear();
    let closing: &[&str] = match (isolated, previous_succeeded) {
        (true, true) => &["RELEASE write", "COMMIT"],
        (true, false) => &["ROLLBACK TO write", "RELEASE write", "COMMIT"],
        (false, true) => &["COMMIT"],
        // The only write failed: nothing to keep.
        (false, false) => &["ROLLBACK"],
    };
    let outcome = match broken {
        Some(error) => Err(error),
        None => control(connection, closing),
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
            if let Err(rollback_error) = control(connection, &["ROLLBACK"]) {
                tracing::error!(error = %rollback_error, "rollback after a failed commit failed");
            }
            for finish in finishes {
                finish(Err(error));
            }
        }
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
