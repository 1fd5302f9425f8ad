//! Group commit: SQLite allows one writer at a time, and each commit costs an fsync. A single
//! thread owns the write connection, takes every write that is waiting (up to a batch limit), runs
//! them in one transaction, commits once, and only then answers each caller. Each write after the
//! first that succeeded runs inside a savepoint of its own, and one that fails rolls back to it
//! without disturbing the others; a write that fails before any has succeeded rolls the
//! transaction back and begins it again. A commit that fails fails them all. So many concurrent
//! writers share one fsync, and nobody hears "done" before their data is durable.
//!
//! The writer runs every statement itself, on its own thread, from prepared statements: a write
//! costs the time SQLite takes to do it, not a thread hand-off per statement.
//!
//! A commit costs more than its fsync: every page its writes changed goes to the WAL, once per
//! commit however many writes changed it. So while writes keep arriving together (the last
//! commit carried more than one), the writer waits a window (`database.sqlite_commit_window`,
//! 1.5 ms by default) for the ones on their way before committing; a write that arrives alone
//! commits at once.
//!
//! Writes someone outside is waiting on (a webhook's acknowledgement) queue in a lane of their
//! own and go first, ahead of the pipeline's own writes: when more arrives than the machine can
//! process, providers still hear "stored" quickly, and the backlog waits durably in the queue.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use crate::db::Db;
use crate::write::WriteOp;
use crate::{DatabaseError, Failure, SqliteAfterCommit};

/// Reports the commit's outcome to the caller of one write.
type Finish = Box<dyn FnOnce(Result<(), &rusqlite::Error>) + Send>;

/// A queued write: runs its statements, says whether they succeeded, and returns how to answer.
type Job = Box<dyn for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, (bool, Finish)> + Send>;

/// How many writes may wait for the writer before callers are made to wait to submit.
const QUEUE_CAPACITY: usize = 4096;

pub struct GroupCommit {
    /// `None` once closed: no new writes are taken.
    lanes: std::sync::RwLock<Option<Lanes>>,
    /// Fires when the writer has committed what was queued and closed its connection.
    stopped: tokio::sync::Mutex<Option<oneshot::Receiver<()>>>,
}

impl GroupCommit {
    /// Starts the writer on a thread of its own (named `thread`), where it blocks on SQLite (and
    /// on fsync) without holding up the async runtime, at the nice value `nice`
    /// ([`crate::priority`]).
    pub fn start(
        connection: rusqlite::Connection,
        max_batch: usize,
        window: Duration,
        thread: &str,
        nice: i32,
        after_commit: Option<SqliteAfterCommit>,
    ) -> std::io::Result<Self> {
        let (ahead, ahead_rx) = mpsc::channel(QUEUE_CAPACITY);
        let (behind, behind_rx) = mpsc::channel(QUEUE_CAPACITY);
        let (stopped_tx, stopped) = oneshot::channel();
        let writer = Writer {
            connection,
            max_batch: max_batch.max(1),
            window,
            after_commit,
            after_commit_ready: false,
            after_commit_ran: None,
        };
        std::thread::Builder::new()
            .name(thread.into())
            .spawn(move || {
                crate::priority::lower_current_thread(nice);
                writer.run(ahead_rx, behind_rx);
                let _ = stopped_tx.send(());
            })?;
        Ok(Self {
            lanes: std::sync::RwLock::new(Some(Lanes { ahead, behind })),
            stopped: tokio::sync::Mutex::new(Some(stopped)),
        })
    }

    /// Queues `op` (ahead of the other writes if `first`) and waits for its commit.
    pub(crate) async fn submit<T: Send + 'static, E: Failure>(
        &self,
        op: WriteOp<T, E>,
        first: bool,
    ) -> Result<T, E> {
        let (tx, rx) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |db| {
            Box::pin(async move {
                let result = op(db).await;
                let succeeded = result.is_ok();
                let finish: Finish = Box::new(move |commit| {
                    let outcome = match (result, commit) {
                        (Ok(value), Ok(())) => Ok(value),
                        (Ok(_), Err(error)) => Err(commit_failed(error).into()),
                        (Err(error), _) => Err(error),
                    };
                    // The caller may have gone away; its write is committed all the same.
                    let _ = tx.send(outcome);
                });
                (succeeded, finish)
            })
        });
        let lane = {
            let lanes = self.lanes.read().map_err(|_| writer_gone())?;
            let lanes = lanes.as_ref().ok_or_else(writer_gone)?;
            if first {
                lanes.ahead.clone()
            } else {
                lanes.behind.clone()
            }
        };
        lane.send(job).await.map_err(|_| writer_gone())?;
        // A job dropped unrun (its transaction could not begin) drops `tx` and lands here.
        rx.await.map_err(|_| writer_gone())?
    }

    /// Stops taking writes, lets the queued ones commit, and closes the connection.
    pub async fn close(&self) {
        if let Ok(mut lanes) = self.lanes.write() {
            lanes.take();
        }
        let stopped = self.stopped.lock().await.take();
        if let Some(stopped) = stopped {
            let _ = stopped.await;
        }
    }
}

/// Where writes wait for the writer.
struct Lanes {
    /// Taken first.
    ahead: mpsc::Sender<Job>,
    behind: mpsc::Sender<Job>,
}

/// The writer thread's own state.
struct Writer {
    connection: rusqlite::Connection,
    max_batch: usize,
    /// How long a commit waits for more writes while writes arrive together
    /// (`DatabaseOptions::sqlite_commit_window`; its cost and gain are in `docs/benchmarks.md`).
    window: Duration,
    /// What every commit ends with, once the schema has its table.
    after_commit: Option<SqliteAfterCommit>,
    /// Whether the schema has that table yet (a migration creates it, possibly in this very
    /// transaction); once it has, it keeps it.
    after_commit_ready: bool,
    /// When a commit last ran those statements.
    after_commit_ran: Option<Instant>,
}

impl Writer {
    fn run(mut self, mut ahead: mpsc::Receiver<Job>, mut behind: mpsc::Receiver<Job>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        let mut previous_batch = 0;
        while let Some(first) = futures::executor::block_on(next_job(&mut ahead, &mut behind)) {
            batch.push(first);
            self.take_waiting(&mut ahead, &mut behind, &mut batch);
            if previous_batch > 1 && batch.len() < self.max_batch && !self.window.is_zero() {
                std::thread::sleep(self.window);
                self.take_waiting(&mut ahead, &mut behind, &mut batch);
            }
            previous_batch = batch.len();
            self.commit_batch(&mut batch);
        }
        if let Err((_, error)) = self.connection.close() {
            tracing::warn!(%error, "closing the write connection failed");
        }
    }

    /// Adds the writes waiting to `batch`, the lane ahead's first.
    fn take_waiting(
        &self,
        ahead: &mut mpsc::Receiver<Job>,
        behind: &mut mpsc::Receiver<Job>,
        batch: &mut Vec<Job>,
    ) {
        for lane in [ahead, behind] {
            while batch.len() < self.max_batch
                && let Ok(job) = lane.try_recv()
            {
                batch.push(job);
            }
        }
    }

    fn commit_batch(&mut self, batch: &mut Vec<Job>) {
        if let Err(error) = control(&self.connection, &["BEGIN IMMEDIATE"]) {
            tracing::error!(%error, writes = batch.len(), "could not begin a write transaction");
            // Dropping the jobs tells each caller the store is unavailable.
            batch.clear();
            let _ = control(&self.connection, &["ROLLBACK"]);
            return;
        }
        let mut finishes = Vec::with_capacity(batch.len());
        let mut broken = None;
        // Whether the transaction holds a write that succeeded. Until one has, a write runs
        // without a savepoint (SQLite copies every page a write changes inside one, to undo it)
        // and one that fails rolls the whole transaction back and begins it again: there is
        // nothing else in it to keep.
        let mut kept = false;
        for job in batch.drain(..) {
            if kept && let Err(error) = control(&self.connection, &["SAVEPOINT write"]) {
                broken = Some(error);
                break;
            }
            let mut db = Db::SqliteWriter(&mut self.connection);
            // Every statement on the writer's connection completes in place: the write's
            // future is ready the first time it is polled.
            let (succeeded, finish) = futures::executor::block_on(job(&mut db));
            finishes.push(finish);
            let after: &[&str] = match (kept, succeeded) {
                (true, true) => &["RELEASE write"],
                (true, false) => &["ROLLBACK TO write", "RELEASE write"],
                (false, true) => &[],
                // A failure SQLite answered by rolling back has ended the transaction already.
                (false, false) if self.connection.is_autocommit() => &["BEGIN IMMEDIATE"],
                (false, false) => &["ROLLBACK", "BEGIN IMMEDIATE"],
            };
            kept |= succeeded;
            if let Err(error) = control(&self.connection, after) {
                broken = Some(error);
                break;
            }
        }
        batch.clear();
        let outcome = match broken {
            Some(error) => Err(error),
            None if kept => self.commit(),
            // Every write failed: nothing to keep.
            None => control(&self.connection, &["ROLLBACK"]),
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
                if !self.connection.is_autocommit()
                    && let Err(rollback_error) = control(&self.connection, &["ROLLBACK"])
                {
                    tracing::error!(error = %rollback_error, "rollback after a failed commit failed");
                }
                for finish in finishes {
                    finish(Err(error));
                }
            }
        }
    }

    /// Runs the after-commit statements when they are due, and commits.
    fn commit(&mut self) -> Result<(), rusqlite::Error> {
        if let Some(after_commit) = self.after_commit
            && self
                .after_commit_ran
                .is_none_or(|ran| ran.elapsed() >= after_commit.at_most_every)
        {
            if !self.after_commit_ready {
                self.after_commit_ready = self
                    .connection
                    .prepare_cached(
                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1",
                    )?
                    .exists([after_commit.once_table_exists])?;
            }
            if self.after_commit_ready {
                control(&self.connection, after_commit.statements)?;
                // Should the commit fail, what they did is undone with it and done next time.
                self.after_commit_ran = Some(Instant::now());
            }
        }
        control(&self.connection, &["COMMIT"])
    }
}

/// The next write, from the lane ahead if both have one; `None` once both lanes are closed and
/// empty.
async fn next_job(
    ahead: &mut mpsc::Receiver<Job>,
    behind: &mut mpsc::Receiver<Job>,
) -> Option<Job> {
    tokio::select! {
        biased;
        Some(job) = ahead.recv() => Some(job),
        Some(job) = behind.recv() => Some(job),
        else => None,
    }
}

/// Runs transaction-control statements, each prepared once and kept.
fn control(connection: &rusqlite::Connection, statements: &[&str]) -> Result<(), rusqlite::Error> {
    for statement in statements {
        connection.prepare_cached(statement)?.execute([])?;
    }
    Ok(())
}

fn commit_failed(error: &rusqlite::Error) -> DatabaseError {
    DatabaseError::unavailable(format!("commit failed: {error}"))
}

fn writer_gone() -> DatabaseError {
    DatabaseError::unavailable("the database is closed")
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Submits a write that notes `label` in `order` when the writer runs it, after `hold`.
    fn noting(
        group: &Arc<GroupCommit>,
        order: &Arc<Mutex<Vec<&'static str>>>,
        label: &'static str,
        hold: Duration,
        first: bool,
    ) -> tokio::task::JoinHandle<Result<(), DatabaseError>> {
        let (group, order) = (group.clone(), order.clone());
        tokio::spawn(async move {
            let op: WriteOp<(), DatabaseError> = Box::new(move |_db| {
                Box::pin(async move {
                    // Holding the writer's thread keeps the writes submitted meanwhile queued.
                    std::thread::sleep(hold);
                    order.lock().map_err(|_| writer_gone())?.push(label);
                    Ok(())
                })
            });
            group.submit(op, first).await
        })
    }

    /// A write that runs `statements` on the writer's connection.
    fn on_writer<T: Send + 'static>(
        statements: impl FnOnce(&rusqlite::Connection) -> Result<T, DatabaseError> + Send + 'static,
    ) -> WriteOp<T, DatabaseError> {
        Box::new(move |db| {
            Box::pin(async move {
                let Db::SqliteWriter(connection) = db else {
                    return Err(writer_gone());
                };
                statements(connection)
            })
        })
    }

    /// How many of `writes` commits, one after another, ran the after-commit statements that
    /// run `at_most_every`.
    async fn after_commit_runs(writes: usize, at_most_every: Duration) -> anyhow::Result<i64> {
        let connection = rusqlite::Connection::open_in_memory()?;
        connection.execute_batch("CREATE TABLE ran (x INTEGER)")?;
        let after_commit = SqliteAfterCommit {
            once_table_exists: "ran",
            statements: &["INSERT INTO ran (x) VALUES (1)"],
            at_most_every,
        };
        let group = GroupCommit::start(
            connection,
            256,
            Duration::ZERO,
            "sqlite-writer",
            0,
            Some(after_commit),
        )?;
        for _ in 0..writes {
            let op: WriteOp<(), DatabaseError> = Box::new(|_db| Box::pin(async { Ok(()) }));
            group.submit(op, false).await?;
        }
        let count = on_writer(|connection| {
            Ok(connection.query_row("SELECT count(*) FROM ran", [], |row| row.get(0))?)
        });
        let runs = group.submit(count, false).await?;
        group.close().await;
        Ok(runs)
    }

    #[tokio::test]
    async fn after_commit_statements_run_at_most_as_often_as_asked() -> anyhow::Result<()> {
        // The count is read in a fourth write, before its own commit's statements run.
        assert_eq!(after_commit_runs(3, Duration::ZERO).await?, 3);
        assert_eq!(after_commit_runs(3, Duration::from_secs(3600)).await?, 1);
        Ok(())
    }

    #[tokio::test]
    async fn a_write_in_the_lane_ahead_passes_the_writes_queued_behind() -> anyhow::Result<()> {
        let connection = rusqlite::Connection::open_in_memory()?;
        let group = Arc::new(GroupCommit::start(
            connection,
            256,
            Duration::from_micros(1500),
            "sqlite-writer",
            0,
            None,
        )?);
        let order = Arc::new(Mutex::new(Vec::new()));
        let hold = Duration::from_millis(200);
        let blocker = noting(&group, &order, "blocker", hold, false);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut queued = Vec::new();
        for _ in 0..100 {
            queued.push(noting(&group, &order, "behind", Duration::ZERO, false));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let urgent = noting(&group, &order, "ahead", Duration::ZERO, true);
        for write in std::iter::once(blocker)
            .chain(queued)
            .chain(std::iter::once(urgent))
        {
            write.await??;
        }
        group.close().await;
        let order = order.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        assert_eq!(order.len(), 102);
        let position = order.iter().position(|label| *label == "ahead");
        assert_eq!(
            position,
            Some(1),
            "the next commit after the one running takes the write ahead first: {order:?}"
        );
        Ok(())
    }

    /// A write that fails first in its batch, after writing, leaves nothing behind, and the
    /// writes after it in the same batch commit.
    #[tokio::test]
    async fn a_batch_whose_first_write_fails_keeps_the_rest() -> anyhow::Result<()> {
        let connection = rusqlite::Connection::open_in_memory()?;
        connection.execute_batch("CREATE TABLE t (x INTEGER)")?;
        let group = Arc::new(GroupCommit::start(
            connection,
            256,
            Duration::ZERO,
            "sqlite-writer",
            0,
            None,
        )?);
        let insert = |x: i64, fail: bool| {
            on_writer(move |connection| {
                connection.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
                if fail {
                    return Err(DatabaseError::unavailable("failed after writing"));
                }
                Ok(())
            })
        };
        // Holding the writer's thread queues the next four writes into one batch.
        let order = Arc::new(Mutex::new(Vec::new()));
        let blocker = noting(&group, &order, "blocker", Duration::from_millis(200), false);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut writes = Vec::new();
        for (x, fail) in [(1, true), (2, false), (3, true), (4, false)] {
            let (group, op) = (group.clone(), insert(x, fail));
            writes.push(tokio::spawn(async move { group.submit(op, false).await }));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        blocker.await??;
        let outcomes: Vec<bool> = futures::future::join_all(writes)
            .await
            .into_iter()
            .map(|joined| joined.map(|result| result.is_ok()))
            .collect::<Result<_, _>>()?;
        assert_eq!(outcomes, [false, true, false, true]);
        let read = on_writer(|connection| {
            let mut statement = connection.prepare("SELECT x FROM t ORDER BY x")?;
            let rows = statement.query_map([], |row| row.get(0))?;
            Ok(rows.collect::<Result<Vec<i64>, _>>()?)
        });
        assert_eq!(group.submit(read, false).await?, [2, 4]);
        group.close().await;
        Ok(())
    }
}
