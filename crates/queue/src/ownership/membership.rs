//! The two loops of a node of several: one renews its leases (and nothing else, so a slow
//! claim never delays a renewal), the other claims and gives back partitions, adopts the work
//! other nodes announce, and polls for work whose announcement was lost.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use switchboard_core::OrderingKey;
use switchboard_database::DatabaseError;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::leases::{self, NodeRow};
use super::{ClusterConfig, Holdings, PARTITIONS};
use crate::Queue;

/// How many polls look only at recent entries before one looks at them all.
const FULL_POLL_EVERY: u32 = 10;

/// How far back a poll of recent entries looks before the previous poll: entries are stamped
/// by their writers' clocks, and a transaction may commit a while after it wrote.
const POLL_OVERLAP: Duration = Duration::from_secs(10);

/// A node's part in the cluster.
pub(crate) struct Membership {
    pub config: ClusterConfig,
    /// Keys other nodes announced work on, not yet read.
    announced: Mutex<HashSet<OrderingKey>>,
    /// Wakes the claiming loop: work announced, or a poll wanted now.
    nudge: Notify,
    poll_now: std::sync::atomic::AtomicBool,
    /// Nodes alive that run work, as of the last renewal.
    workers: AtomicUsize,
    renewed_at: Mutex<Option<Instant>>,
}

impl Membership {
    pub(crate) fn new(config: ClusterConfig) -> Self {
        Self {
            config,
            announced: Mutex::new(HashSet::new()),
            nudge: Notify::new(),
            poll_now: false.into(),
            workers: AtomicUsize::new(1),
            renewed_at: Mutex::new(None),
        }
    }

    fn node(&self) -> NodeRow<'_> {
        NodeRow {
            node_id: &self.config.node_id,
            name: &self.config.name,
            role: if self.config.runs_work {
                "worker"
            } else {
                "api"
            },
        }
    }

    /// Work was queued on `keys` elsewhere.
    pub(crate) fn announce(&self, keys: impl IntoIterator<Item = OrderingKey>) {
        self.announced
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(keys);
        self.nudge.notify_one();
    }

    /// Look for all the work of the partitions held at once (announcements may have been
    /// lost).
    pub(crate) fn poll(&self) {
        self.poll_now.store(true, Ordering::Relaxed);
        self.nudge.notify_one();
    }

    pub(crate) fn renewed_ago(&self) -> Option<Duration> {
        self.renewed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map(|at| at.elapsed())
    }

    /// How long a lease counts as held on this node's clock after a renewal sent at `sent`:
    /// less than on the database's, so this node stops before another may start.
    fn held_until(&self, sent: Instant) -> Instant {
        let ttl = self.config.lease_ttl;
        sent + ttl - ttl / 4
    }
}

impl Queue {
    /// Renews this node's leases every third of their time to live, until `shutdown`.
    pub(crate) async fn run_renewals(&self, membership: &Membership, shutdown: CancellationToken) {
        let every = membership.config.lease_ttl / 3;
        let mut failing = false;
        loop {
            let sent = Instant::now();
            match leases::heartbeat(
                self.database(),
                &membership.node(),
                membership.config.lease_ttl,
            )
            .await
            {
                Ok((held, workers)) => {
                    if failing {
                        tracing::info!("renewing leases again");
                        failing = false;
                    }
                    membership.workers.store(workers.max(1), Ordering::Relaxed);
                    *membership
                        .renewed_at
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some(sent);
                    let now = Instant::now();
                    let mut dispatch = self.dispatch();
                    let lost: Vec<u32> = dispatch
                        .noted_before(sent)
                        .into_iter()
                        .filter(|partition| !held.contains(partition))
                        .collect();
                    if !lost.is_empty() {
                        tracing::warn!(?lost, "partitions lost: their keys go to other nodes");
                        dispatch.lose(&lost, now);
                    }
                    let noted = dispatch.noted_before(now);
                    let regained = held.iter().any(|partition| !noted.contains(partition));
                    dispatch.hold(&held, now, membership.held_until(sent));
                    drop(dispatch);
                    if regained {
                        // Held again after this node let them go on its own clock: what
                        // they hold is read again.
                        membership.poll();
                    }
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "could not renew leases; retrying");
                    }
                    failing = true;
                }
            }
            tokio::select! {
                () = tokio::time::sleep_until((sent + every).into()) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Claims this node's share of partitions and gives back what is over it, adopts work
    /// announced on the keys it holds, and polls for the rest, until `shutdown`.
    pub(crate) async fn run_claims(&self, membership: &Membership, shutdown: CancellationToken) {
        let config = &membership.config;
        let mut next_round = Instant::now();
        let mut polls = 0u32;
        let mut polled_since: Option<i64> = None;
        let mut failing = false;
        loop {
            let announced: Vec<OrderingKey> = std::mem::take(
                &mut *membership
                    .announced
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            )
            .into_iter()
            .collect();
            let asked = membership.poll_now.swap(false, Ordering::Relaxed);
            let round = Instant::now() >= next_round || asked;
            let result = async {
                if !announced.is_empty() {
                    self.adopt_keys(announced).await?;
                }
                if round && config.runs_work {
                    self.balance(membership).await?;
                    let full = asked || polls.is_multiple_of(FULL_POLL_EVERY);
                    let started = switchboard_database::millis(switchboard_database::now());
                    let since = polled_since
                        .filter(|_| !full)
                        .map(|at| at - i64::try_from(POLL_OVERLAP.as_millis()).unwrap_or(0));
                    self.poll_held(since).await?;
                    polls = polls.wrapping_add(1);
                    polled_since = Some(started);
                }
                Ok::<_, DatabaseError>(())
            }
            .await;
            match result {
                Ok(()) if failing => {
                    tracing::info!("claiming and polling work again");
                    failing = false;
                }
                Ok(()) => {}
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "claiming or polling work failed; retrying");
                    }
                    failing = true;
                }
            }
            if round {
                next_round = Instant::now() + config.poll_interval;
            }
            tokio::select! {
                () = tokio::time::sleep_until(next_round.into()) => {}
                () = membership.nudge.notified() => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Claims partitions up to this node's share, or gives back those over it that have
    /// nothing in flight.
    async fn balance(&self, membership: &Membership) -> Result<(), DatabaseError> {
        let config = &membership.config;
        let workers = membership.workers.load(Ordering::Relaxed).max(1);
        let share = usize::try_from(PARTITIONS)
            .unwrap_or(usize::MAX)
            .div_ceil(workers);
        let held = self.dispatch().held_partitions(Instant::now());
        if held.len() < share {
            let sent = Instant::now();
            let claimed = leases::claim(
                self.database(),
                &config.node_id,
                share - held.len(),
                config.lease_ttl,
            )
            .await?;
            if claimed.is_empty() {
                return Ok(());
            }
            let confirmed = Instant::now();
            let entries = leases::stamp(self.database(), &config.node_id, &claimed).await?;
            let adopted = {
                let mut dispatch = self.dispatch();
                dispatch.hold(&claimed, confirmed, membership.held_until(sent));
                dispatch.adopt(&entries, Instant::now())
            };
            tracing::info!(?claimed, entries = adopted, "claimed partitions");
            self.wake_workers(adopted);
        } else if held.len() > share {
            let over = held.len() - share;
            let in_flight = self.dispatch().in_flight_by_partition();
            let spare: Vec<u32> = held
                .into_iter()
                .filter(|partition| !in_flight.contains_key(partition))
                .take(over)
                .collect();
            if spare.is_empty() {
                return Ok(());
            }
            self.dispatch().lose(&spare, Instant::now());
            leases::release(self.database(), &config.node_id, &spare).await?;
            tracing::info!(released = ?spare, "gave partitions back to balance the nodes");
        }
        Ok(())
    }

    /// Reads the unfinished entries of `keys` this node runs and adopts those it lacks.
    async fn adopt_keys(&self, keys: Vec<OrderingKey>) -> Result<(), DatabaseError> {
        let keys: Vec<OrderingKey> = {
            let dispatch = self.dispatch();
            let now = Instant::now();
            keys.into_iter()
                .filter(|key| dispatch.runs(key, now))
                .collect()
        };
        for chunk in keys.chunks(256) {
            let entries = leases::entries_of(self.database(), chunk).await?;
            let adopted = self.dispatch().adopt(&entries, Instant::now());
            self.wake_workers(adopted);
        }
        Ok(())
    }

    /// Adopts the work of every key with entries queued since `since` (all, with `None`) in
    /// the partitions held.
    async fn poll_held(&self, since: Option<i64>) -> Result<(), DatabaseError> {
        let held = self.dispatch().held_partitions(Instant::now());
        if held.is_empty() {
            return Ok(());
        }
        let keys = leases::keys_with_work(self.database(), &held, since).await?;
        if since.is_none() {
            leases::forget_departed(self.database()).await?;
        }
        self.adopt_keys(keys).await
    }

    /// Gives back every partition this node holds (it is stopping; nothing is in flight).
    pub(crate) async fn release_all(&self, membership: &Membership) {
        let held = self.dispatch().held_partitions(Instant::now());
        if held.is_empty() {
            return;
        }
        if let Err(error) =
            leases::release(self.database(), &membership.config.node_id, &held).await
        {
            tracing::warn!(%error, "could not give the partitions back; they move once their leases expire");
        }
    }

    /// What this node holds, on a node of several.
    pub(crate) fn holdings_of(&self, membership: &Membership) -> Holdings {
        let dispatch = self.dispatch();
        Holdings {
            node_id: membership.config.node_id.clone(),
            partitions: dispatch.held_partitions(Instant::now()),
            keys: dispatch.keys_held(),
            renewed_ms_ago: membership
                .renewed_ago()
                .map(|ago| u64::try_from(ago.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}
