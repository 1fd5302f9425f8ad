//! Dispatch on a node of several: the node runs a key only while it holds the lease of the
//! key's partition (`crate::ownership`). Keys of partitions it does not hold are never
//! registered, a partition lost drops its keys (those in flight finish, and their writes meet
//! the fence), and entries other nodes committed are adopted in their keys' order.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use switchboard_core::{OrderingKey, QueueEntry, QueueEntryId};

use super::{Dispatch, KeyState};
use crate::ownership::partition_of;

/// How long a finished entry's id is remembered, so that a read of the database taken before
/// it finished cannot bring it back.
const REMEMBER_FINISHED: Duration = Duration::from_secs(120);

/// The partitions this node holds, each until when (on this node's clock), and the entries it
/// finished lately.
#[derive(Default)]
pub(crate) struct Held {
    until: HashMap<u32, Instant>,
    /// When the database last confirmed each (a claim or renewal had returned).
    confirmed: HashMap<u32, Instant>,
    finished: VecDeque<(Instant, QueueEntryId)>,
    finished_ids: HashSet<QueueEntryId>,
}

impl Held {
    pub(crate) fn holds(&self, partition: u32, now: Instant) -> bool {
        self.until.get(&partition).is_some_and(|until| *until > now)
    }

    fn remember_finished(&mut self, id: QueueEntryId, now: Instant) {
        if self.finished_ids.insert(id) {
            self.finished.push_back((now, id));
        }
        while let Some((at, old)) = self.finished.front().copied() {
            if now.duration_since(at) < REMEMBER_FINISHED {
                break;
            }
            self.finished.pop_front();
            self.finished_ids.remove(&old);
        }
    }
}

impl Dispatch {
    /// A dispatch that runs only the keys of partitions it is told it holds.
    pub(crate) fn shared() -> Self {
        Self {
            held: Some(Held::default()),
            ..Self::default()
        }
    }

    /// Whether this node may run `key` now: always on one node.
    pub(crate) fn runs(&self, key: &OrderingKey, now: Instant) -> bool {
        self.held
            .as_ref()
            .is_none_or(|held| held.holds(partition_of(key), now))
    }

    /// The partitions held (renewed or claimed, as the database confirmed at `confirmed`)
    /// until `until`.
    pub(crate) fn hold(&mut self, partitions: &[u32], confirmed: Instant, until: Instant) {
        if let Some(held) = &mut self.held {
            for partition in partitions {
                held.until.insert(*partition, until);
                held.confirmed.insert(*partition, confirmed);
            }
        }
    }

    /// Partitions no longer held: their keys are dropped (a key in flight once it finishes).
    pub(crate) fn lose(&mut self, partitions: &[u32], now: Instant) {
        let Some(held) = &mut self.held else {
            return;
        };
        for partition in partitions {
            held.until.remove(partition);
            held.confirmed.remove(partition);
        }
        let lost: Vec<OrderingKey> = self
            .keys
            .keys()
            .filter(|key| partitions.contains(&partition_of(key)))
            .cloned()
            .collect();
        for key in lost {
            if let Some(state) = self.keys.get_mut(&key)
                && state.state != KeyState::Leased
            {
                state.state = KeyState::Idle;
            }
            self.settle(&key, now);
        }
    }

    /// Partitions this node holds now, in order.
    pub(crate) fn held_partitions(&self, now: Instant) -> Vec<u32> {
        let mut partitions: Vec<u32> = self
            .held
            .as_ref()
            .map(|held| {
                held.until
                    .iter()
                    .filter(|(_, until)| **until > now)
                    .map(|(partition, _)| *partition)
                    .collect()
            })
            .unwrap_or_default();
        partitions.sort_unstable();
        partitions
    }

    /// Every partition this node noted as held, expired on its clock or not, that the
    /// database had confirmed before `sent` (a renewal sent then must have seen it).
    pub(crate) fn noted_before(&self, sent: Instant) -> Vec<u32> {
        self.held
            .as_ref()
            .map(|held| {
                held.confirmed
                    .iter()
                    .filter(|(_, confirmed)| **confirmed < sent)
                    .map(|(partition, _)| *partition)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Ordering keys with work here now.
    pub(crate) fn keys_held(&self) -> usize {
        self.keys.len()
    }

    /// How many keys are in flight, per partition.
    pub(crate) fn in_flight_by_partition(&self) -> HashMap<u32, usize> {
        let mut in_flight = HashMap::new();
        for (key, state) in &self.keys {
            if state.state == KeyState::Leased {
                *in_flight.entry(partition_of(key)).or_default() += 1;
            }
        }
        in_flight
    }

    /// Adds committed entries another node wrote (or this node's earlier life), each key's in
    /// `key_seq` order: ones already here or finished lately are skipped (but marked committed
    /// when this node's own write registered them), and each goes to its place by number
    /// behind whatever of its key is in flight.
    pub(crate) fn adopt(&mut self, entries: &[QueueEntry], now: Instant) -> usize {
        let mut adopted = 0;
        for entry in entries {
            if !self.runs(&entry.ordering_key, now) {
                continue;
            }
            let finished = self
                .held
                .as_ref()
                .is_some_and(|held| held.finished_ids.contains(&entry.id));
            if finished || self.unnumbered.contains_key(&entry.id) {
                continue;
            }
            if let Some(state) = self.keys.get_mut(&entry.ordering_key)
                && let Some(slot) = state.entries.iter_mut().find(|slot| slot.id == entry.id)
            {
                // Registered by this node's own write, which has committed since.
                if !slot.committed {
                    slot.committed = true;
                    state.last_arrival = now;
                    super::followers::interrupt_on_arrival(state, entry.id);
                    self.settle(&entry.ordering_key, now);
                    adopted += 1;
                }
                continue;
            }
            self.register(entry, true, now);
            self.place_by_number(&entry.ordering_key, entry.id);
            if let Some(state) = self.keys.get_mut(&entry.ordering_key) {
                super::followers::interrupt_on_arrival(state, entry.id);
            }
            adopted += 1;
        }
        adopted
    }

    /// Moves the entry just registered at the end of its key to its place by `key_seq`, behind
    /// the head and what its run absorbed when the key is in flight.
    fn place_by_number(&mut self, key: &OrderingKey, id: QueueEntryId) {
        let Some(state) = self.keys.get_mut(key) else {
            return;
        };
        let fixed = if state.state == KeyState::Leased {
            1 + state.absorbed
        } else {
            0
        };
        let Some(slot) = state.entries.pop_back() else {
            return;
        };
        debug_assert_eq!(slot.id, id);
        let place = state
            .entries
            .iter()
            .enumerate()
            .skip(fixed)
            .find(|(_, other)| other.key_seq > slot.key_seq)
            .map_or(state.entries.len(), |(index, _)| index);
        // A ready key leases whatever is its head when a worker comes.
        state.entries.insert(place, slot);
    }

    /// Notes entries finished, so an adoption that read them before cannot bring them back.
    pub(crate) fn remember_finished(
        &mut self,
        ids: impl IntoIterator<Item = QueueEntryId>,
        now: Instant,
    ) {
        if let Some(held) = &mut self.held {
            for id in ids {
                held.remember_finished(id, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use switchboard_core::TenantId;

    use super::super::tests::{entry, test_key};
    use super::*;

    #[test]
    fn a_node_runs_only_the_keys_of_partitions_it_holds() {
        let now = Instant::now();
        let tenant = TenantId::new();
        let mut dispatch = Dispatch::shared();
        let first = entry(tenant, "k", 1);
        assert_eq!(
            dispatch.adopt(std::slice::from_ref(&first), now),
            0,
            "not held"
        );
        let partition = partition_of(&test_key("k"));
        dispatch.hold(&[partition], now, now + Duration::from_secs(2));
        assert_eq!(dispatch.adopt(std::slice::from_ref(&first), now), 1);
        assert_eq!(
            dispatch.adopt(std::slice::from_ref(&first), now),
            0,
            "known"
        );
        // The lease ran out on this node's clock: nothing more starts.
        let later = now + Duration::from_secs(3);
        assert!(dispatch.lease(later).is_none());
        assert_eq!(
            dispatch.depth(),
            0,
            "the key was dropped for its new holder"
        );
    }

    #[test]
    fn adopted_entries_take_their_place_by_number_and_finished_ones_stay_gone() {
        let now = Instant::now();
        let tenant = TenantId::new();
        let mut dispatch = Dispatch::shared();
        dispatch.hold(
            &[partition_of(&test_key("k"))],
            now,
            now + Duration::from_secs(60),
        );
        let (one, two, three) = (
            entry(tenant, "k", 1),
            entry(tenant, "k", 2),
            entry(tenant, "k", 3),
        );
        dispatch.adopt(std::slice::from_ref(&three), now);
        dispatch.adopt(&[one.clone(), two.clone()], now);
        let lease = dispatch.lease(now).expect("ready");
        assert_eq!(lease.entry.id, one.id, "the earliest number runs first");
        dispatch.finish(&lease.key, now);
        // A read taken before the first finished brings it again: it is not run twice.
        assert_eq!(dispatch.adopt(&[one, two.clone(), three.clone()], now), 0);
        let order: Vec<_> = std::iter::from_fn(|| {
            let lease = dispatch.lease(now)?;
            dispatch.finish(&lease.key, now);
            Some(lease.entry.id)
        })
        .collect();
        assert_eq!(order, [two.id, three.id]);
    }

    #[test]
    fn a_lost_partition_drops_its_waiting_keys_and_its_key_in_flight_after_it_finishes() {
        let now = Instant::now();
        let tenant = TenantId::new();
        let mut dispatch = Dispatch::shared();
        let partition = partition_of(&test_key("k"));
        dispatch.hold(&[partition], now, now + Duration::from_secs(60));
        dispatch.adopt(&[entry(tenant, "k", 1), entry(tenant, "k", 2)], now);
        let lease = dispatch.lease(now).expect("ready");
        dispatch.lose(&[partition], now);
        assert_eq!(
            dispatch.depth(),
            2,
            "the key in flight stays until it finishes"
        );
        dispatch.finish(&lease.key, now);
        assert_eq!(dispatch.depth(), 0);
        assert!(dispatch.lease(now).is_none());
    }
}
