//! The in-memory dispatch state, free of I/O and time sources: which entries each key holds, in
//! order, and which keys are ready, leased, waiting for a retry time, or parked. The worker pool
//! drives it under a mutex that is never held across an await.

mod followers;
mod numbering;
mod partitions;

use crate::entries::UNNUMBERED;
pub use followers::Claimed;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Instant;

use switchboard_core::{
    ConversationId, EntryKind, EntryState, MessageId, OrderingKey, QueueEntry, QueueEntryId,
    TenantId,
};
use tokio_util::sync::CancellationToken;

use crate::ready::ReadyKeys;

/// One entry as the dispatcher keeps it: what a lease needs, and no more.
struct Slot {
    id: QueueEntryId,
    kind: EntryKind,
    key_seq: i64,
    priority: u8,
    conversation_id: ConversationId,
    message_id: MessageId,
    attempts: u32,
    resend: bool,
    not_before: Instant,
    /// False between `register` (inside the transaction) and `confirm` (after its commit).
    committed: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum KeyState {
    /// Nothing runnable: empty, or its head is still committing.
    Idle,
    Ready,
    Leased,
    /// Head waits for its retry time.
    Delayed,
    /// Waits for `resume_tenant`.
    Parked,
}

struct Key {
    tenant: TenantId,
    entries: VecDeque<Slot>,
    state: KeyState,
    /// Entries right behind the leased head that its run answers too (finished with it).
    absorbed: usize,
    /// Cancelled when a run entry of the head's conversation arrives during the lease.
    interrupt: Option<CancellationToken>,
    /// When the key last received a committed entry.
    last_arrival: Instant,
}

/// A leased entry: the worker owns it until it reports an outcome.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    pub key: OrderingKey,
    pub entry: QueueEntry,
    /// An earlier send of the entry may have reached the provider (under way when the process
    /// stopped, or not recorded): this run may send a second time.
    pub resend: bool,
    /// How many times the tenant had been resumed when this lease was taken: a park requested
    /// after a newer resume must not stick (the grant it waits for already happened).
    pub resumes: u64,
}

impl Slot {
    /// The entry as a handler sees it.
    fn entry(&self, key: &OrderingKey, tenant: TenantId) -> QueueEntry {
        let now = time::OffsetDateTime::now_utc();
        QueueEntry {
            id: self.id,
            tenant_id: tenant,
            kind: self.kind,
            ordering_key: key.clone(),
            key_seq: self.key_seq,
            priority: self.priority,
            conversation_id: self.conversation_id,
            message_id: self.message_id,
            state: EntryState::Pending,
            attempts: self.attempts,
            available_at: now,
            last_error: None,
            created_at: now,
        }
    }
}

#[derive(Default)]
pub(crate) struct Dispatch {
    keys: HashMap<OrderingKey, Key>,
    ready: ReadyKeys,
    delayed: BinaryHeap<Reverse<(Instant, OrderingKey)>>,
    parked: HashMap<TenantId, Vec<OrderingKey>>,
    /// Times each tenant was resumed (only tenants ever resumed appear).
    resumes: HashMap<TenantId, u64>,
    /// Entries registered without their number yet, and their keys (`numbering`).
    unnumbered: HashMap<QueueEntryId, OrderingKey>,
    /// Entries registered and not yet finished (the queue's depth).
    depth: usize,
    leased: usize,
    /// On a node of several, the partitions it holds (`partitions`); `None` runs every key.
    held: Option<partitions::Held>,
}

impl Dispatch {
    /// Adds an entry at the end of its key. Entries of one key must arrive in `key_seq` order,
    /// but for an entry registered as [`UNNUMBERED`], which is placed when registered again with
    /// its number (see `numbering`). Returns whether the entry is new (`false`: an unnumbered
    /// entry took its number).
    pub(crate) fn register(&mut self, entry: &QueueEntry, committed: bool, now: Instant) -> bool {
        if let Some(key) = self.unnumbered.remove(&entry.id) {
            self.renumber(&key, entry.id, entry.key_seq, now);
            return false;
        }
        // One allocation of the key's text, shared by its entries.
        let key = match self.keys.get_key_value(&entry.ordering_key) {
            Some((key, _)) => key.clone(),
            None => entry.ordering_key.clone(),
        };
        let wait = (entry.available_at - time::OffsetDateTime::now_utc()).max(time::Duration::ZERO);
        let slot = Slot {
            id: entry.id,
            kind: entry.kind,
            key_seq: entry.key_seq,
            priority: entry.priority,
            conversation_id: entry.conversation_id,
            message_id: entry.message_id,
            attempts: entry.attempts,
            resend: entry.state == EntryState::Sending,
            not_before: now + std::time::Duration::try_from(wait).unwrap_or_default(),
            committed,
        };
        let state = self.keys.entry(key.clone()).or_insert_with(|| Key {
            tenant: entry.tenant_id,
            entries: VecDeque::new(),
            state: KeyState::Idle,
            absorbed: 0,
            interrupt: None,
            last_arrival: now,
        });
        state.entries.push_back(slot);
        if committed {
            state.last_arrival = now;
        }
        if entry.key_seq == UNNUMBERED {
            self.unnumbered.insert(entry.id, key.clone());
        }
        self.depth += 1;
        self.settle(&key, now);
        true
    }

    /// Marks entries committed; their keys may become ready.
    pub(crate) fn confirm(&mut self, entries: &[crate::workers::EntryRef], now: Instant) {
        for (key, id) in entries {
            if let Some(state) = self.keys.get_mut(key) {
                if let Some(slot) = state.entries.iter_mut().find(|slot| slot.id == *id) {
                    slot.committed = true;
                    state.last_arrival = now;
                }
                followers::interrupt_on_arrival(state, *id);
            }
            self.settle(key, now);
        }
    }

    /// Forgets entries whose transaction did not commit.
    pub(crate) fn cancel(&mut self, entries: &[crate::workers::EntryRef], now: Instant) {
        for (key, id) in entries {
            self.unnumbered.remove(id);
            if let Some(state) = self.keys.get_mut(key) {
                let before = state.entries.len();
                state
                    .entries
                    .retain(|slot| slot.id != *id || slot.committed);
                self.depth -= before - state.entries.len();
            }
            self.settle(key, now);
        }
    }

    /// The next ready entry, if any.
    pub(crate) fn lease(&mut self, now: Instant) -> Option<Lease> {
        while let Some(key) = self.ready.pop() {
            if !self.runs(&key, now) {
                if let Some(state) = self.keys.get_mut(&key) {
                    state.state = KeyState::Idle;
                }
                self.settle(&key, now);
                continue;
            }
            let Some(state) = self.keys.get_mut(&key) else {
                continue;
            };
            if state.state != KeyState::Ready {
                continue;
            }
            let Some(slot) = state.entries.front() else {
                continue;
            };
            state.state = KeyState::Leased;
            self.leased += 1;
            let entry = slot.entry(&key, state.tenant);
            let resumes = self.resumes.get(&state.tenant).copied().unwrap_or(0);
            return Some(Lease {
                key,
                entry,
                resend: slot.resend,
                resumes,
            });
        }
        None
    }

    /// The leased head is done (or dead), with the entries its run absorbed: the key moves on.
    pub(crate) fn finish(&mut self, key: &OrderingKey, now: Instant) {
        if let Some(state) = self.keys.get_mut(key) {
            let answered = (1 + state.absorbed).min(state.entries.len());
            let finished: Vec<QueueEntryId> = state
                .entries
                .drain(..answered)
                .map(|slot| slot.id)
                .collect();
            self.depth -= answered;
            self.remember_finished(finished, now);
            self.release(key);
        }
        self.settle(key, now);
    }

    /// The leased head alone is dead; entries its run had absorbed wait for runs of their own.
    pub(crate) fn finish_head(&mut self, key: &OrderingKey, now: Instant) {
        if let Some(state) = self.keys.get_mut(key) {
            state.absorbed = 0;
        }
        self.finish(key, now);
    }

    /// The leased head failed; it runs again at `at` with `attempts` recorded, as a resend
    /// if `resend` (its effect outside may have happened already).
    pub(crate) fn retry(
        &mut self,
        key: &OrderingKey,
        attempts: u32,
        resend: bool,
        at: Instant,
        now: Instant,
    ) {
        if let Some(slot) = self
            .keys
            .get_mut(key)
            .and_then(|state| state.entries.front_mut())
        {
            slot.attempts = attempts;
            slot.resend = resend;
            slot.not_before = at;
        }
        self.release(key);
        self.settle(key, now);
    }

    /// The leased head cannot run until its tenant is resumed, unless the tenant was resumed
    /// since the lease was taken (then it is ready again at once).
    pub(crate) fn park(&mut self, key: &OrderingKey, resumes_at_lease: u64, now: Instant) {
        let Some(state) = self.keys.get_mut(key) else {
            return;
        };
        let resumed_since =
            self.resumes.get(&state.tenant).copied().unwrap_or(0) != resumes_at_lease;
        if resumed_since {
            self.release(key);
            self.settle(key, now);
            return;
        }
        if state.state == KeyState::Leased {
            self.leased -= 1;
        }
        state.absorbed = 0;
        state.interrupt = None;
        state.state = KeyState::Parked;
        self.parked
            .entry(state.tenant)
            .or_default()
            .push(key.clone());
    }

    /// Wakes every parked key of a tenant.
    pub(crate) fn resume_tenant(&mut self, tenant: TenantId, now: Instant) {
        *self.resumes.entry(tenant).or_default() += 1;
        for key in self.parked.remove(&tenant).unwrap_or_default() {
            if let Some(state) = self.keys.get_mut(&key)
                && state.state == KeyState::Parked
            {
                state.state = KeyState::Idle;
            }
            self.settle(&key, now);
        }
    }

    /// Makes keys whose retry time has come ready; returns when the next one is due.
    pub(crate) fn promote_due(&mut self, now: Instant) -> Option<Instant> {
        while let Some(Reverse((at, _))) = self.delayed.peek() {
            if *at > now {
                return Some(*at);
            }
            let Some(Reverse((_, key))) = self.delayed.pop() else {
                break;
            };
            if let Some(state) = self.keys.get_mut(&key)
                && state.state == KeyState::Delayed
            {
                state.state = KeyState::Idle;
            }
            self.settle(&key, now);
        }
        None
    }

    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    pub(crate) fn leased(&self) -> usize {
        self.leased
    }

    pub(crate) fn ready(&self) -> usize {
        self.ready.len()
    }

    pub(crate) fn parked(&self) -> usize {
        self.parked.values().map(Vec::len).sum()
    }

    fn release(&mut self, key: &OrderingKey) {
        if let Some(state) = self.keys.get_mut(key)
            && state.state == KeyState::Leased
        {
            state.state = KeyState::Idle;
            state.absorbed = 0;
            state.interrupt = None;
            self.leased -= 1;
        }
    }

    /// Puts an idle key where its head says: ready, delayed, or forgotten when empty.
    fn settle(&mut self, key: &OrderingKey, now: Instant) {
        let Some(state) = self.keys.get_mut(key) else {
            return;
        };
        if state.state != KeyState::Idle {
            return;
        }
        if !self.runs(key, now) {
            // Its partition went to another node, which runs what the key still holds.
            if let Some(state) = self.keys.remove(key) {
                self.depth -= state.entries.len();
                for slot in &state.entries {
                    self.unnumbered.remove(&slot.id);
                }
            }
            return;
        }
        let Some(state) = self.keys.get_mut(key) else {
            return;
        };
        let Some(head) = state.entries.front() else {
            self.keys.remove(key);
            return;
        };
        if !head.committed {
            return;
        }
        if head.not_before > now {
            state.state = KeyState::Delayed;
            self.delayed.push(Reverse((head.not_before, key.clone())));
        } else {
            state.state = KeyState::Ready;
            self.ready.push(state.tenant, head.priority, key.clone());
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;

    /// The key named `name`: the same key for the same name within a test run.
    pub(crate) fn test_key(name: &str) -> OrderingKey {
        static CHANNEL: std::sync::LazyLock<switchboard_core::ChannelId> =
            std::sync::LazyLock::new(switchboard_core::ChannelId::new);
        OrderingKey::business_number(*CHANNEL, name)
    }

    pub(super) fn entry(tenant: TenantId, key: &str, key_seq: i64) -> QueueEntry {
        let now = time::OffsetDateTime::now_utc();
        QueueEntry {
            id: QueueEntryId::new(),
            tenant_id: tenant,
            kind: EntryKind::Run,
            ordering_key: test_key(key),
            key_seq,
            priority: 0,
            conversation_id: ConversationId::new(),
            message_id: MessageId::new(),
            state: EntryState::Pending,
            attempts: 0,
            available_at: now,
            last_error: None,
            created_at: now,
        }
    }

    #[test]
    fn one_in_flight_per_key_in_order_and_keys_in_parallel() {
        let now = Instant::now();
        let tenant = TenantId::new();
        let mut dispatch = Dispatch::default();
        for seq in 1..=3 {
            dispatch.register(&entry(tenant, "a", seq), true, now);
        }
        dispatch.register(&entry(tenant, "b", 1), true, now);
        let first = dispatch.lease(now).expect("a ready");
        let second = dispatch.lease(now).expect("b ready");
        assert_eq!((&first.key, first.entry.key_seq), (&test_key("a"), 1));
        assert_eq!(second.key, test_key("b"));
        assert!(dispatch.lease(now).is_none(), "a is in flight, b is empty");
        dispatch.finish(&first.key, now);
        assert_eq!(
            dispatch.lease(now).map(|lease| lease.entry.key_seq),
            Some(2)
        );
        assert_eq!(dispatch.depth(), 3);
    }

    #[test]
    fn an_uncommitted_head_holds_back_committed_entries_behind_it() {
        let now = Instant::now();
        let tenant = TenantId::new();
        let mut dispatch = Dispatch::default();
        let first = entry(tenant, "k", 1);
        let second = entry(tenant, "k", 2);
        dispatch.register(&first, false, now);
        dispatch.register(&second, false, now);
        dispatch.confirm(&[(test_key("k"), second.id)], now);
        assert!(dispatch.lease(now).is_none(), "seq 2 must wait for seq 1");
        dispatch.confirm(&[(test_key("k"), first.id)], now);
        assert_eq!(
            dispatch.lease(now).map(|lease| lease.entry.key_seq),
            Some(1)
        );
    }

    #[test]
    fn cancelled_entries_vanish_and_retries_wait_their_time() {
        let now = Instant::now();
        let tenant = TenantId::new();
        let mut dispatch = Dispatch::default();
        let doomed = entry(tenant, "k", 1);
        dispatch.register(&doomed, false, now);
        dispatch.cancel(&[(test_key("k"), doomed.id)], now);
        assert_eq!(dispatch.depth(), 0);

        dispatch.register(&entry(tenant, "k", 2), true, now);
        let lease = dispatch.lease(now).expect("ready");
        let later = now + Duration::from_secs(5);
        dispatch.retry(&lease.key, 1, false, later, now);
        assert!(dispatch.lease(now).is_none());
        assert_eq!(
            dispatch.promote_due(now + Duration::from_secs(1)),
            Some(later)
        );
        dispatch.promote_due(later);
        assert_eq!(
            dispatch.lease(now).map(|lease| lease.entry.attempts),
            Some(1)
        );
    }

    #[test]
    fn parked_keys_wait_for_their_tenant() {
        let now = Instant::now();
        let (broke, solvent) = (TenantId::new(), TenantId::new());
        let mut dispatch = Dispatch::default();
        dispatch.register(&entry(broke, "broke", 1), true, now);
        dispatch.register(&entry(solvent, "solvent", 1), true, now);
        let lease = dispatch.lease(now).expect("ready");
        assert_eq!(lease.key, test_key("broke"));
        dispatch.park(&lease.key, lease.resumes, now);
        assert_eq!(
            dispatch.lease(now).map(|lease| lease.key),
            Some(test_key("solvent"))
        );
        assert!(dispatch.lease(now).is_none());
        dispatch.resume_tenant(broke, now);
        let lease = dispatch.lease(now).expect("resumed");
        assert_eq!(lease.key, test_key("broke"));

        // A grant that lands while the run is deciding to park wins: no lost wake-up.
        dispatch.resume_tenant(broke, now);
        dispatch.park(&lease.key, lease.resumes, now);
        assert_eq!(
            dispatch.lease(now).map(|lease| lease.key),
            Some(test_key("broke"))
        );
    }
}
