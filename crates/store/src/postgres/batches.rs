//! PostgreSQL: work that arrives many at a time shares its statements. A caller joins the work
//! waiting; whoever gets one of the batches' turns takes everything waiting (up to a maximum)
//! and runs it together, while the next work gathers for the next turn. Work that arrives while
//! a turn is free runs at once, alone: batches form only when work arrives faster than its
//! commits finish. Each caller hears only its own outcome.
//!
//! Used for webhooks' acceptances (`accept`) and agent turns (`turn_batch`).

use std::sync::{Arc, Mutex, PoisonError};

use futures::future::BoxFuture;
use tokio::sync::{Semaphore, oneshot};

use crate::{Store, StoreError};

/// One caller's work in a batch, and where its outcome goes.
pub(crate) struct Waiting<T, R> {
    pub work: T,
    pub answer: oneshot::Sender<Result<R, StoreError>>,
}

/// Runs a batch, answering every caller in it; it runs to its end even if its caller goes
/// away meanwhile, since the others wait on it.
pub(crate) type RunBatch<T, R> = fn(Store, Vec<Waiting<T, R>>) -> BoxFuture<'static, ()>;

pub(crate) struct Batches<T, R> {
    waiting: Mutex<Vec<Waiting<T, R>>>,
    turns: Arc<Semaphore>,
    max_batch: usize,
    run: RunBatch<T, R>,
}

impl<T: Send + 'static, R: Send + 'static> Batches<T, R> {
    /// `turns` batches run at once, each of at most `max_batch` callers' work.
    pub(crate) fn new(turns: usize, max_batch: usize, run: RunBatch<T, R>) -> Self {
        Self {
            waiting: Mutex::new(Vec::new()),
            turns: Arc::new(Semaphore::new(turns)),
            max_batch,
            run,
        }
    }

    /// Runs `work` in the next batch and returns its outcome.
    pub(crate) async fn submit(&self, store: &Store, work: T) -> Result<R, StoreError> {
        let (answer, mut outcome) = oneshot::channel();
        self.lock().push(Waiting { work, answer });
        loop {
            tokio::select! {
                biased;
                outcome = &mut outcome => return outcome.unwrap_or_else(|_| Err(abandoned())),
                turn = Arc::clone(&self.turns).acquire_owned() => {
                    let Ok(turn) = turn else {
                        return Err(abandoned());
                    };
                    let batch = self.take();
                    if batch.is_empty() {
                        // Another turn took this work: its answer is on the way.
                        drop(turn);
                        return outcome.await.unwrap_or_else(|_| Err(abandoned()));
                    }
                    let run = (self.run)(store.clone(), batch);
                    tokio::spawn(async move {
                        run.await;
                        drop(turn);
                    });
                }
            }
        }
    }

    fn take(&self) -> Vec<Waiting<T, R>> {
        let mut waiting = self.lock();
        // The oldest go first; the rest wait for the next turn.
        let taken = waiting.len().min(self.max_batch);
        waiting.drain(..taken).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waiting<T, R>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn abandoned() -> StoreError {
    StoreError::Unavailable("the batch was abandoned".into())
}

/// The database was unavailable to a whole batch: an error for each of its callers, who would
/// each wait for the same database again if tried alone.
pub(crate) fn unavailable_to_all(error: &StoreError) -> impl Fn() -> StoreError + use<> {
    let reason =
        std::error::Error::source(error).map_or_else(|| error.to_string(), ToString::to_string);
    move || StoreError::Unavailable(reason.clone().into())
}
