//! Group commit: SQLite allows one writer at a time, and each commit costs an fsync. A single
//! task owns the write connection, takes every write that is waiting (up to a batch limit), runs
//! each inside its own savepoint of one transaction, commits once, and only then answers each
//! caller. A write that fails rolls back to its savepoint without disturbing the others; a commit
//! that fails fails them all. So many concurrent writers share one fsync, and nobody hears "done"
//! before their data is durable.

use futures::future::BoxFuture;
use sqlx::AnyConnection;
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::write::WriteOp;

/// Reports the commit's outcome to the caller of one write.
type Finish = Box<dyn FnOnce(Result<(), &sqlx::Error>) + Send>;

/// A queued write: runs its statements, says whether they succeeded, and returns how to answer.
type Job = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, (bool, Finish)> + Send>;

/// How many writes may wait for the writer before callers are made to wait to submit.
const QUEUE_CAPACITY: usize = 4096;

pub(crate) struct GroupCommit {
    /// `None` once closed: no new writes are taken.
    jobs: std::sync::RwLock<Option<mpsc::Sender<Job>>>,
    /// Fires when the writer has committed what was queued and closed its connection.
    stopped: tokio::sync::Mutex<Option<oneshot::Receiver<()>>>,
}

impl GroupCommit {
    /// Starts the writer on a thread of its own: each statement is a round trip to SQLite's
    /// thread, and on the shared runtime every round trip would also wait its turn behind the
    /// request handlers. Alone, the writer turns around at once.
    pub(crate) fn start(connection: AnyConnection, max_batch: usize) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel(QUEUE_CAPACITY);
        let (stopped_tx, stopped) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let connection = run(connection, rx, max_batch.max(1)).await;
                    if let Err(error) = sqlx::Connection::close(connection).await {
                        tracing::warn!(%error, "closing the write connection failed");
                    }
                });
                let _ = stopped_tx.send(());
            })?;
        Ok(Self {
            jobs: std::sync::RwLock::new(Some(jobs)),
            stopped: tokio::sync::Mutex::new(Some(stopped)),
        })
    }

    pub(crate) async fn submit<T: Send + 'static>(&self, op: WriteOp<T>) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |connection| {
            Box::pin(async move {
                let result = op(connection).await;
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

async fn run(
    mut connection: AnyConnection,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
) -> AnyConnection {
    let mut batch = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        commit_batch(&mut connection, &mut batch).await;
    }
    connection
}

async fn commit_batch(connection: &mut AnyConnection, batch: &mut Vec<Job>) {
    // One write alone needs no savepoint: its failure rolls back the transaction it is alone in.
    // Several share one transaction, each inside a savepoint; the statements that close one
    // savepoint and open the next travel together, so a write costs one extra round trip to
    // the database thread, not two.
    let isolated = batch.len() > 1;
    let opening = if isolated {
        "BEGIN IMMEDIATE; SAVEPOINT write"
    } else {
        "BEGIN IMMEDIATE"
    };
    if let Err(error) = execute(connection, opening).await {
        tracing::error!(%error, writes = batch.len(), "could not begin a write transaction");
        // Dropping the jobs tells each caller the store is unavailable.
        batch.clear();
        let _ = execute(connection, "ROLLBACK").await;
        return;
    }
    let mut finishes = Vec::with_capacity(batch.len());
    let mut broken = None;
    let mut previous_succeeded = true;
    for (index, job) in batch.drain(..).enumerate() {
        if index > 0 {
            let between = if previous_succeeded {
                "RELEASE write; SAVEPOINT write"
            } else {
                "ROLLBACK TO write; RELEASE write; SAVEPOINT write"
            };
            if let Err(error) = execute(connection, between).await {
                broken = Some(error);
                break;
            }
        }
        let (succeeded, finish) = job(connection).await;
        previous_succeeded = succeeded;
        finishes.push(finish);
    }
    batch.clear();
    let closing = match (isolated, previous_succeeded) {
        (true, true) => "RELEASE write; COMMIT",
        (true, false) => "ROLLBACK TO write; RELEASE write; COMMIT",
        (false, true) => "COMMIT",
        // The only write failed: nothing to keep.
        (false, false) => "ROLLBACK",
    };
    let outcome = match broken {
        Some(error) => Err(error),
        None => execute(connection, closing).await,
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
            if let Err(rollback_error) = execute(connection, "ROLLBACK").await {
                tracing::error!(error = %rollback_error, "rollback after a failed commit failed");
            }
            for finish in finishes {
                finish(Err(error));
            }
        }
    }
}

async fn execute(
    connection: &mut AnyConnection,
    statement: &'static str,
) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(statement).execute(connection).await.map(drop)
}

fn commit_failed(error: &sqlx::Error) -> StoreError {
    StoreError::Unavailable(sqlx::Error::Protocol(format!("commit failed: {error}")))
}

fn writer_gone() -> StoreError {
    StoreError::Unavailable(sqlx::Error::PoolClosed)
}
