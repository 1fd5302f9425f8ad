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
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<AnyConnection>>>,
}

impl GroupCommit {
    pub(crate) fn start(connection: AnyConnection, max_batch: usize) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE_CAPACITY);
        let task = tokio::spawn(run(connection, rx, max_batch.max(1)));
        Self {
            jobs: std::sync::RwLock::new(Some(jobs)),
            task: tokio::sync::Mutex::new(Some(task)),
        }
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
        let task = self.task.lock().await.take();
        if let Some(task) = task
            && let Ok(connection) = task.await
        {
            let _ = sqlx::Connection::close(connection).await;
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
    if let Err(error) = execute(connection, "BEGIN IMMEDIATE").await {
        tracing::error!(%error, writes = batch.len(), "could not begin a write transaction");
        batch.clear();
        return;
    }
    let mut finishes = Vec::with_capacity(batch.len());
    let mut broken = None;
    for job in batch.drain(..) {
        if broken.is_some() {
            break;
        }
        if let Err(error) = execute(connection, "SAVEPOINT write").await {
            broken = Some(error);
            break;
        }
        let (succeeded, finish) = job(connection).await;
        let close = if succeeded {
            execute(connection, "RELEASE write").await
        } else {
            match execute(connection, "ROLLBACK TO write").await {
                Ok(()) => execute(connection, "RELEASE write").await,
                Err(error) => Err(error),
            }
        };
        finishes.push(finish);
        if let Err(error) = close {
            broken = Some(error);
        }
    }
    batch.clear();
    let outcome = match broken {
        Some(error) => Err(error),
        None => execute(connection, "COMMIT").await,
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
