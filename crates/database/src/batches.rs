//! Work that arrives many at a time shares its statements (on PostgreSQL, where each is a
//! network round trip). A caller joins the work
//! waiting; whoever gets one of the batches' turns takes everything waiting (up to a maximum)
//! and runs it together, while the next work gathers for the next turn. Work that arrives while
//! a turn is free runs at once, alone: batches form only when work arrives faster than its
//! commits finish. Each caller hears only its own outcome.
//!
//! The store batches webhooks' acceptances, agent turns, turns' reads and deliveries' starts
//! and completions this way: each kind of work says how it batches ([`BatchWork`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::future::BoxFuture;
use tokio::sync::{Semaphore, oneshot};

use crate::db::Row;
use crate::row::RowExt;
use crate::{Database, DatabaseError, Failure};

/// One caller's work in a batch, and where its outcome goes.
pub struct Waiting<T, R, E> {
    pub work: T,
    pub answer: oneshot::Sender<Result<R, E>>,
}

/// Work that runs in batches.
pub trait BatchWork: Sized + Send + 'static {
    type Outcome: Send + 'static;
    /// The callers' error.
    type Error: Failure;

    /// Batches running at once: while they do, the next work gathers.
    const BATCHES: usize;

    /// Callers' work in one batch at most.
    const MAX_BATCH: usize;

    /// Runs a batch, answering every caller in it; it runs to its end even if its caller goes
    /// away meanwhile, since the others wait on it.
    fn run(database: Database, batch: Vec<Batched<Self>>) -> BoxFuture<'static, ()>;
}

/// One caller's work of kind `W` in a batch.
pub type Batched<W> = Waiting<W, <W as BatchWork>::Outcome, <W as BatchWork>::Error>;

pub struct Batches<W: BatchWork> {
    waiting: Mutex<Vec<Batched<W>>>,
    turns: Arc<Semaphore>,
}

impl<W: BatchWork> Default for Batches<W> {
    fn default() -> Self {
        Self {
            waiting: Mutex::new(Vec::new()),
            turns: Arc::new(Semaphore::new(W::BATCHES)),
        }
    }
}

impl<W: BatchWork> Batches<W> {
    /// Runs `work` in the next batch and returns its outcome.
    pub async fn submit(&self, database: &Database, work: W) -> Result<W::Outcome, W::Error> {
        let (answer, mut outcome) = oneshot::channel();
        self.lock().push(Waiting { work, answer });
        loop {
            tokio::select! {
                biased;
                outcome = &mut outcome => return outcome.unwrap_or_else(|_| Err(abandoned().into())),
                turn = Arc::clone(&self.turns).acquire_owned() => {
                    let Ok(turn) = turn else {
                        return Err(abandoned().into());
                    };
                    let batch = self.take();
                    if batch.is_empty() {
                        // Another turn took this work: its answer is on the way.
                        drop(turn);
                        return outcome.await.unwrap_or_else(|_| Err(abandoned().into()));
                    }
                    let run = W::run(database.clone(), batch);
                    tokio::spawn(async move {
                        run.await;
                        drop(turn);
                    });
                }
            }
        }
    }

    fn take(&self) -> Vec<Batched<W>> {
        let mut waiting = self.lock();
        // The oldest go first; the rest wait for the next turn.
        let taken = waiting.len().min(W::MAX_BATCH);
        waiting.drain(..taken).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Batched<W>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn abandoned() -> DatabaseError {
    DatabaseError::unavailable("the batch was abandoned")
}

/// The database was unavailable to a whole batch: an error for each of its callers, who would
/// each wait for the same database again if tried alone.
pub fn unavailable_to_all<E: Failure>(error: &E) -> impl Fn() -> E + use<E> {
    let reason =
        std::error::Error::source(error).map_or_else(|| error.to_string(), ToString::to_string);
    move || DatabaseError::unavailable(reason.clone()).into()
}

/// Runs a batch's work `together`, which returns an outcome per work in order, and answers each
/// caller with its own. If that fails, each work runs `alone` instead, so one caller's failure is
/// never another's; but for an unavailable database, which every caller hears of at once (alone,
/// each would wait for the same database again).
pub async fn together_or_alone<T: Clone, R, E: Failure, Together, Alone>(
    batch: Vec<Waiting<T, R, E>>,
    together: impl FnOnce(Arc<Vec<T>>) -> Together,
    alone: impl Fn(T) -> Alone,
) where
    Together: Future<Output = Result<Vec<Result<R, E>>, E>>,
    Alone: Future<Output = Result<R, E>>,
{
    let (works, answers): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|waiting| (waiting.work, waiting.answer))
        .unzip();
    let works = Arc::new(works);
    match together(Arc::clone(&works)).await {
        Ok(outcomes) => {
            for (answer, outcome) in answers.into_iter().zip(outcomes) {
                // The caller may have gone; its work is done all the same.
                let _ = answer.send(outcome);
            }
        }
        Err(error) if answers.len() == 1 => {
            if let Some(answer) = answers.into_iter().next() {
                let _ = answer.send(Err(error));
            }
        }
        Err(error) if error.is_unavailable() => {
            let unavailable = unavailable_to_all(&error);
            for answer in answers {
                let _ = answer.send(Err(unavailable()));
            }
        }
        Err(error) => {
            tracing::debug!(%error, works = answers.len(), "a batch failed; running each alone");
            let works = Arc::unwrap_or_clone(works);
            let each = works.into_iter().zip(answers).map(|(work, answer)| {
                let outcome = alone(work);
                async move {
                    let _ = answer.send(outcome.await);
                }
            });
            futures::future::join_all(each).await;
        }
    }
}

/// The position in its batch of the work a batch statement's row answers (its `position`
/// column, as the batch's JSON rows numbered them).
pub fn position(row: &Row) -> Result<usize, DatabaseError> {
    // A position no work has (none is ever returned) matches no work.
    Ok(usize::try_from(row.integer("position")?).unwrap_or(usize::MAX))
}

/// A batch statement's rows by [`position`], one row per work at most.
pub fn by_position(rows: Vec<Row>) -> Result<HashMap<usize, Row>, DatabaseError> {
    rows.into_iter()
        .map(|row| Ok((position(&row)?, row)))
        .collect()
}
