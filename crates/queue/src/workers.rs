//! The `Queue`: the shared dispatch state, the worker pool that runs leased entries through the
//! engine's `Handler`, and the timer that wakes retried keys.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use switchboard_core::{OrderingKey, QueueEntry, QueueEntryId, TenantId};
use switchboard_database::{Database, DatabaseError};

use crate::entries::{self, Registrar};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::dispatch::{Claimed, Dispatch, Lease};
use crate::ownership::{ClusterConfig, Holdings, Membership};
use crate::stats::{Counters, QueueStats};

/// An entry by its ordering key and id.
pub(crate) type EntryRef = (OrderingKey, QueueEntryId);

/// How the queue behaves.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Most entries waiting or running; beyond it `admit` refuses.
    pub capacity: usize,
    pub min_workers: usize,
    pub max_workers: usize,
    /// Attempts before an entry is dead.
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// A worker above `min_workers` idle this long retires.
    pub idle_timeout: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            capacity: 100_000,
            min_workers: 2,
            max_workers: 4096,
            max_attempts: 8,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(10),
        }
    }
}

/// Why an attempt failed: the error itself, its sources kept. The entry's `last_error` and
/// the log get its whole chain ([`describe`]).
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// An error and its sources, one after another: what an entry's `last_error` keeps.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        // Errors that already spell out their source are not repeated.
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// What became of a leased entry.
#[derive(Debug)]
pub enum Outcome {
    /// Its effects are committed and the entry acknowledged in the same transaction.
    Done,
    /// Try again later: after `after` if given, else after the backoff for its attempt.
    Retry {
        error: Cause,
        after: Option<Duration>,
    },
    /// Its effect outside may have happened, but could not be recorded (the provider accepted
    /// a send, then the store failed): try again later, as a resend.
    Unrecorded { error: Cause },
    /// Will never succeed: dead now, the key moves on.
    Dead { error: Cause },
    /// Cannot run until the tenant is resumed (credits exhausted).
    Park,
    /// Run the key's head again at once, without counting an attempt (its run was
    /// interrupted by a newer message and kept none of its effects).
    Rerun,
}

/// Runs one entry. Implemented by the engine.
pub trait Handler: Send + Sync + 'static {
    /// `resend` is true when an earlier send of the entry may have reached the provider (it was
    /// under way when the process stopped, or its recording failed).
    fn handle(&self, entry: QueueEntry, resend: bool) -> BoxFuture<'static, Outcome>;
}

/// The queue is full: answer 429 and let the provider redeliver.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("queue is full ({capacity} entries)")]
pub struct QueueFull {
    pub capacity: usize,
}

struct Shared {
    dispatch: Mutex<Dispatch>,
    config: QueueConfig,
    database: Database,
    handler: Arc<dyn Handler>,
    /// Wakes an idle worker when a key becomes ready.
    work: Notify,
    /// Wakes the timer when an earlier retry time appears.
    timer: Notify,
    /// Signalled whenever the depth may have reached zero.
    drained: Notify,
    workers: AtomicUsize,
    busy: AtomicUsize,
    counters: Counters,
    shutdown: CancellationToken,
    tasks: Mutex<JoinSet<()>>,
    /// The runtime the queue was started on: its workers run there, whichever runtime wakes
    /// them (a webhook's, say).
    runtime: tokio::runtime::Handle,
    /// On a node of several, its leases and the loops that keep them (`crate::ownership`).
    membership: Option<Arc<Membership>>,
}

/// The queue of one node. Cheap to clone.
#[derive(Clone)]
pub struct Queue {
    shared: Arc<Shared>,
}

impl Queue {
    /// Loads every unfinished entry from the database (in key order) and starts the workers
    /// on the runtime this is called on.
    pub async fn start(
        database: Database,
        config: QueueConfig,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> Result<Queue, DatabaseError> {
        let unfinished = entries::load_unfinished(&database).await?;
        let mut dispatch = Dispatch::default();
        let now = Instant::now();
        for entry in &unfinished {
            dispatch.register(entry, true, now);
        }
        if !unfinished.is_empty() {
            tracing::info!(
                entries = unfinished.len(),
                "recovered unfinished queue entries"
            );
        }
        Ok(Self::launch(
            database, config, handler, shutdown, dispatch, None,
        ))
    }

    /// Starts the queue of a node of several on PostgreSQL (`crate::ownership`): it loads
    /// nothing now, and runs the keys of the partitions it claims.
    pub fn start_cluster(
        database: Database,
        config: QueueConfig,
        cluster: ClusterConfig,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> Queue {
        let membership = Arc::new(Membership::new(cluster));
        let queue = Self::launch(
            database,
            config,
            handler,
            shutdown.clone(),
            Dispatch::shared(),
            Some(membership.clone()),
        );
        let renewals = (queue.clone(), membership.clone(), shutdown.clone());
        queue.spawn(async move {
            let (queue, membership, shutdown) = renewals;
            queue.run_renewals(&membership, shutdown).await;
        });
        let claims = queue.clone();
        queue.spawn(async move { claims.run_claims(&membership, shutdown).await });
        queue
    }

    fn launch(
        database: Database,
        config: QueueConfig,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
        dispatch: Dispatch,
        membership: Option<Arc<Membership>>,
    ) -> Queue {
        let queue = Queue {
            shared: Arc::new(Shared {
                dispatch: Mutex::new(dispatch),
                config,
                database,
                handler,
                work: Notify::new(),
                timer: Notify::new(),
                drained: Notify::new(),
                workers: AtomicUsize::new(0),
                busy: AtomicUsize::new(0),
                counters: Counters::default(),
                shutdown,
                tasks: Mutex::new(JoinSet::new()),
                runtime: tokio::runtime::Handle::current(),
                membership,
            }),
        };
        let timer = queue.clone();
        queue.spawn(async move { timer.run_timer().await });
        for _ in 0..queue.shared.config.min_workers.max(1) {
            queue.spawn_worker();
        }
        queue
    }

    /// Another node queued work on `keys`: the keys this node runs are read and their new
    /// entries adopted. Does nothing on a node alone.
    pub fn work_arrived(&self, keys: impl IntoIterator<Item = OrderingKey>) {
        if let Some(membership) = &self.shared.membership {
            membership.announce(keys);
        }
    }

    /// Looks for work in the partitions held at once (announcements may have been lost).
    pub fn poll_now(&self) {
        if let Some(membership) = &self.shared.membership {
            membership.poll();
        }
    }

    /// What this node holds, on a node of several.
    pub fn holdings(&self) -> Option<Holdings> {
        let membership = self.shared.membership.as_ref()?;
        Some(self.holdings_of(membership))
    }

    pub(crate) fn database(&self) -> &Database {
        &self.shared.database
    }

    /// Refuses `entries` more when they would exceed the capacity.
    pub fn admit(&self, entries: usize) -> Result<(), QueueFull> {
        let depth = self.dispatch().depth();
        if depth + entries > self.shared.config.capacity {
            return Err(QueueFull {
                capacity: self.shared.config.capacity,
            });
        }
        Ok(())
    }

    /// Starts registering the entries one store write will enqueue: pass `registrar()` to the
    /// write, then `finish(committed)`. Dropping it unfinished forgets the entries.
    pub fn enqueue(&self) -> Enqueue {
        Enqueue {
            queue: self.clone(),
            registered: Arc::new(Mutex::new(Vec::new())),
            elsewhere: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn confirm(&self, entries: &[EntryRef]) {
        self.dispatch().confirm(entries, Instant::now());
        Counters::add(&self.shared.counters.enqueued, entries.len() as u64);
        self.wake_workers(entries.len());
    }

    fn cancel(&self, entries: &[EntryRef]) {
        self.dispatch().cancel(entries, Instant::now());
        self.shared.drained.notify_waiters();
    }

    /// For a leased run entry: claims the committed runs of its conversation queued right
    /// behind it, so that one run answers them all (`Outcome::Done` then finishes them with it;
    /// the caller's commit must acknowledge them too). With `interrupt`, the returned token is
    /// cancelled when another run of the conversation arrives while the lease lasts. `None`
    /// when `entry` is not a leased head.
    pub fn claim_followers(&self, entry: &QueueEntry, interrupt: bool) -> Option<Claimed> {
        self.dispatch()
            .claim_followers(&entry.ordering_key, entry.id, interrupt)
    }

    /// Waits until nothing has arrived on `entry`'s key for `quiet`, or `limit` has passed: the
    /// end of a burst of messages.
    pub async fn wait_quiet(&self, entry: &QueueEntry, quiet: Duration, limit: Duration) {
        let give_up = Instant::now() + limit;
        loop {
            let Some(quiet_at) = self.dispatch().quiet_at(&entry.ordering_key, quiet) else {
                return;
            };
            let until = quiet_at.min(give_up);
            if until <= Instant::now() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(until.into()) => {}
                () = self.shared.shutdown.cancelled() => return,
            }
        }
    }

    /// Counts a send made again with the idempotency key of an earlier one that may have
    /// reached the provider (the handler calls this as it sends, so an attempt that fails
    /// before sending is not counted).
    pub fn count_resend(&self) {
        Counters::add(&self.shared.counters.resent, 1);
    }

    /// Wakes the tenant's parked keys (credits were granted).
    pub fn resume_tenant(&self, tenant: TenantId) {
        self.dispatch().resume_tenant(tenant, Instant::now());
        self.wake_workers(usize::MAX);
    }

    pub fn stats(&self) -> QueueStats {
        let mut stats = {
            let dispatch = self.dispatch();
            QueueStats {
                depth: dispatch.depth(),
                ready: dispatch.ready(),
                in_flight: dispatch.leased(),
                parked: dispatch.parked(),
                ..QueueStats::default()
            }
        };
        stats.capacity = self.shared.config.capacity;
        stats.workers = self.shared.workers.load(Ordering::Relaxed);
        self.shared.counters.fill(&mut stats, Instant::now());
        stats
    }

    /// Whether nothing is waiting, ready or running (parked and delayed keys do not count as
    /// idle: they still hold work).
    pub fn is_idle(&self) -> bool {
        self.dispatch().depth() == 0
    }

    /// Waits until nothing is queued or running. Parked entries count as queued: with a tenant
    /// out of credits this waits until a grant lets them finish.
    pub async fn wait_idle(&self) {
        loop {
            let drained = self.shared.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.is_idle() {
                return;
            }
            drained.await;
        }
    }

    /// Stops taking work and waits for running entries to finish; a node of several then gives
    /// its partitions back, for the others to claim at once.
    pub async fn shutdown(&self) {
        self.shared.shutdown.cancel();
        let mut tasks = std::mem::take(&mut *self.tasks());
        while tasks.join_next().await.is_some() {}
        if let Some(membership) = &self.shared.membership {
            self.release_all(membership).await;
        }
    }

    pub(crate) fn dispatch(&self) -> MutexGuard<'_, Dispatch> {
        // A panic while holding the lock leaves consistent-enough state; keep serving.
        self.shared
            .dispatch
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn tasks(&self) -> MutexGuard<'_, JoinSet<()>> {
        self.shared
            .tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks().spawn_on(task, &self.shared.runtime);
    }

    /// Wakes up to `ready` idle workers, growing the pool when every worker is busy.
    pub(crate) fn wake_workers(&self, ready: usize) {
        let shared = &self.shared;
        let workers = shared.workers.load(Ordering::Relaxed);
        let busy = shared.busy.load(Ordering::Relaxed);
        let idle = workers.saturating_sub(busy);
        let wanted = ready.min(self.dispatch().ready());
        for _ in 0..wanted.min(idle.max(1)) {
            shared.work.notify_one();
        }
        let missing = wanted
            .saturating_sub(idle)
            .min(shared.config.max_workers.saturating_sub(workers));
        for _ in 0..missing {
            self.spawn_worker();
        }
    }

    fn spawn_worker(&self) {
        if self.shared.shutdown.is_cancelled() {
            return;
        }
        self.shared.workers.fetch_add(1, Ordering::Relaxed);
        let worker = self.clone();
        self.spawn(async move {
            worker.run_worker().await;
            worker.shared.workers.fetch_sub(1, Ordering::Relaxed);
        });
    }

    async fn run_worker(&self) {
        let shared = &self.shared;
        loop {
            let notified = shared.work.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if shared.shutdown.is_cancelled() {
                return;
            }
            let lease = self.dispatch().lease(Instant::now());
            if let Some(lease) = lease {
                shared.busy.fetch_add(1, Ordering::Relaxed);
                self.run(lease).await;
                shared.busy.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            tokio::select! {
                () = &mut notified => {}
                () = shared.shutdown.cancelled() => return,
                () = tokio::time::sleep(shared.config.idle_timeout) => {
                    let workers = shared.workers.load(Ordering::Relaxed);
                    if workers > shared.config.min_workers.max(1) {
                        return;
                    }
                }
            }
        }
    }

    async fn run(&self, lease: Lease) {
        let shared = &self.shared;
        let entry = lease.entry.clone();
        let outcome = shared.handler.handle(lease.entry, lease.resend).await;
        let now = Instant::now();
        if !matches!(outcome, Outcome::Done) && !self.dispatch().runs(&lease.key, now) {
            // Its partition went to another node meanwhile (this node stopped renewing, say,
            // and whatever it tried to write met the new holder's stamp): the entry is that
            // node's now, to run, retry or bury.
            tracing::info!(entry = %entry.id, key = %lease.key, ?outcome, "the key moved to another node while its entry ran");
            // Released, the key is dropped here with what it holds (not noted as finished).
            self.dispatch()
                .retry(&lease.key, entry.attempts, lease.resend, now, now);
            self.shared.drained.notify_waiters();
            return;
        }
        match outcome {
            Outcome::Done => {
                Counters::add(&shared.counters.completed, 1);
                self.dispatch().finish(&lease.key, now);
            }
            Outcome::Retry { error, after } => {
                self.retry_later(&lease.key, &entry, describe(&*error), after, lease.resend)
                    .await;
            }
            Outcome::Unrecorded { error } => {
                self.retry_later(&lease.key, &entry, describe(&*error), None, true)
                    .await;
            }
            Outcome::Dead { error } => {
                self.bury(&lease.key, &entry, entry.attempts + 1, describe(&*error))
                    .await
            }
            Outcome::Park => self.dispatch().park(&lease.key, lease.resumes, now),
            Outcome::Rerun => {
                self.dispatch()
                    .retry(&lease.key, entry.attempts, lease.resend, now, now);
            }
        }
        self.shared.drained.notify_waiters();
        self.wake_workers(1);
    }

    /// Counts a failed attempt of the leased entry: it runs again after `after` (else the
    /// backoff for its attempt), or is dead once out of attempts.
    async fn retry_later(
        &self,
        key: &OrderingKey,
        entry: &QueueEntry,
        error: String,
        after: Option<Duration>,
        resend: bool,
    ) {
        let shared = &self.shared;
        let attempts = entry.attempts + 1;
        if attempts >= shared.config.max_attempts {
            self.bury(key, entry, attempts, error).await;
            return;
        }
        let delay = after.unwrap_or_else(|| {
            crate::backoff::delay(
                attempts,
                shared.config.backoff_base,
                shared.config.backoff_cap,
            )
        });
        tracing::warn!(entry = %entry.id, kind = %entry.kind, attempts, ?delay, %error, "entry failed; retrying");
        let available_at = time::OffsetDateTime::now_utc() + delay;
        let retry = entries::schedule_retry(
            &shared.database,
            entry.id,
            attempts,
            available_at,
            error,
            resend,
        );
        if let Err(store_error) = retry.await {
            tracing::warn!(error = %store_error, "could not record the retry; it is retried all the same");
        }
        Counters::add(&shared.counters.retried, 1);
        let now = Instant::now();
        self.dispatch()
            .retry(key, attempts, resend, now + delay, now);
        shared.timer.notify_one();
    }

    async fn bury(&self, key: &OrderingKey, entry: &QueueEntry, attempts: u32, error: String) {
        tracing::error!(entry = %entry.id, kind = %entry.kind, attempts, %error, "entry is dead");
        if let Err(store_error) =
            entries::bury(&self.shared.database, entry.id, attempts, error).await
        {
            // Still pending in the store: a restart runs it again rather than losing it.
            tracing::error!(error = %store_error, "could not record the dead entry");
        }
        Counters::add(&self.shared.counters.dead, 1);
        self.dispatch().finish_head(key, Instant::now());
    }

    /// Wakes retried keys when their time comes, and samples the counters every second.
    async fn run_timer(&self) {
        let shared = &self.shared;
        let mut next_sample = Instant::now();
        loop {
            let now = Instant::now();
            if now >= next_sample {
                shared.counters.sample(now);
                next_sample = now + Duration::from_secs(1);
            }
            let next_due = self.dispatch().promote_due(now);
            self.wake_workers(usize::MAX);
            let wake_at = next_due.map_or(next_sample, |due| due.min(next_sample));
            tokio::select! {
                () = tokio::time::sleep_until(wake_at.into()) => {}
                () = shared.timer.notified() => {}
                () = shared.shutdown.cancelled() => return,
            }
        }
    }
}

/// Entries one store write registers: not runnable until `finish(true)` after the commit, so a
/// key's later entry can never overtake an earlier one still committing.
pub struct Enqueue {
    queue: Queue,
    registered: Arc<Mutex<Vec<EntryRef>>>,
    /// Keys of entries another node runs: woken once the write commits.
    elsewhere: Arc<Mutex<Vec<OrderingKey>>>,
}

impl Enqueue {
    /// The registrar for the store write: registers each entry inside the transaction, in key
    /// order.
    pub fn registrar(&self) -> Registrar {
        let queue = self.queue.clone();
        let registered = self.registered.clone();
        let elsewhere = self.elsewhere.clone();
        Registrar::new(move |entry: &QueueEntry| {
            let now = Instant::now();
            let mut dispatch = queue.dispatch();
            if !dispatch.runs(&entry.ordering_key, now) {
                drop(dispatch);
                if let Ok(mut elsewhere) = elsewhere.lock() {
                    elsewhere.push(entry.ordering_key.clone());
                }
                return;
            }
            // An entry registered unnumbered comes again once numbered: it is noted once.
            let new = dispatch.register(entry, false, now);
            drop(dispatch);
            if new && let Ok(mut registered) = registered.lock() {
                registered.push((entry.ordering_key.clone(), entry.id));
            }
        })
    }

    /// The write committed (`true`: the entries may run, and the nodes running the others are
    /// woken) or failed (`false`: forget them).
    pub fn finish(self, committed: bool) {
        let entries = self.take();
        if !committed {
            self.queue.cancel(&entries);
            return;
        }
        let Some(membership) = &self.queue.shared.membership else {
            self.queue.confirm(&entries);
            return;
        };
        // On a node of several, an earlier entry of one of these keys may have been committed
        // by another node a moment before, its wake-up still on its way: the keys are read
        // back, and their entries, this write's among them, adopted in order.
        Counters::add(&self.queue.shared.counters.enqueued, entries.len() as u64);
        membership.announce(entries.iter().map(|(key, _)| key.clone()));
        let elsewhere = self
            .elsewhere
            .lock()
            .map(|mut keys| std::mem::take(&mut *keys))
            .unwrap_or_default();
        if !elsewhere.is_empty() {
            (membership.config.wake)(&elsewhere);
        }
    }

    fn take(&self) -> Vec<EntryRef> {
        self.registered
            .lock()
            .map(|mut registered| std::mem::take(&mut *registered))
            .unwrap_or_default()
    }
}

impl Drop for Enqueue {
    fn drop(&mut self) {
        let entries = self.take();
        if !entries.is_empty() {
            self.queue.cancel(&entries);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[derive(Debug, thiserror::Error)]
    #[error("could not send")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_cause_is_described_with_its_sources() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(describe(&Outer(refused)), "could not send: refused");
        let plain: super::Cause = "pipeline stopped".into();
        assert_eq!(describe(&*plain), "pipeline stopped");
    }
}
