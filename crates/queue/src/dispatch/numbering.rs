//! Entries registered before their number is known. A write that commits by itself (one
//! statement, without `BEGIN`) learns its entry's `key_seq` only once it has committed: too late
//! to register the entry inside its transaction, as entries of one key must be registered in
//! number order. So it registers the entry first as `UNNUMBERED`, which holds the entry's
//! place at the end of its key (uncommitted: nothing behind it runs), and again once numbered.
//! The entry then moves behind the entries of its key numbered lower: those registered after
//! its place was taken by writes that reached the key's row lock first.

use std::time::Instant;

use switchboard_core::{OrderingKey, QueueEntryId};

use super::{Dispatch, KeyState};

impl Dispatch {
    /// Gives the unnumbered entry `id` of `key` its number, and its place by that number among
    /// the entries that have not run yet.
    pub(super) fn renumber(
        &mut self,
        key: &OrderingKey,
        id: QueueEntryId,
        key_seq: i64,
        now: Instant,
    ) {
        let Some(state) = self.keys.get_mut(key) else {
            return;
        };
        let Some(mut slot) = state
            .entries
            .iter()
            .rposition(|slot| slot.id == id)
            .and_then(|at| state.entries.remove(at))
        else {
            return;
        };
        slot.key_seq = key_seq;
        // A leased head and the entries its run answers are under way: nothing goes before them.
        let running = if state.state == KeyState::Leased {
            1 + state.absorbed
        } else {
            0
        };
        let place = state
            .entries
            .iter()
            .enumerate()
            .skip(running)
            .find(|(_, later)| later.key_seq > key_seq)
            .map_or(state.entries.len(), |(at, _)| at)
            .max(running.min(state.entries.len()));
        state.entries.insert(place, slot);
        self.settle(key, now);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crate::entries::UNNUMBERED;
    use switchboard_core::TenantId;

    use crate::dispatch::Dispatch;
    use crate::dispatch::tests::{entry, test_key};

    #[test]
    fn an_unnumbered_entry_holds_its_place_until_its_number_places_it() {
        let now = Instant::now();
        let tenant = TenantId::new();
        let mut dispatch = Dispatch::default();
        let first = entry(tenant, "k", 1);
        dispatch.register(&first, true, now);
        // A reply committing by itself takes a place, then another write numbered 3 arrives
        // before the reply learns it got 4.
        let mut reply = entry(tenant, "k", UNNUMBERED);
        dispatch.register(&reply, false, now);
        let operator = entry(tenant, "k", 3);
        dispatch.register(&operator, false, now);
        dispatch.confirm(&[(test_key("k"), operator.id)], now);

        let lease = dispatch.lease(now).expect("the first is ready");
        assert_eq!(lease.entry.id, first.id);
        dispatch.finish(&lease.key, now);
        assert!(
            dispatch.lease(now).is_none(),
            "the unnumbered reply holds back what follows it"
        );

        reply.key_seq = 4;
        assert!(
            !dispatch.register(&reply, false, now),
            "numbering adds no entry"
        );
        assert_eq!(dispatch.depth(), 2);
        dispatch.confirm(&[(test_key("k"), reply.id)], now);
        let lease = dispatch.lease(now).expect("ready");
        assert_eq!(lease.entry.id, operator.id, "3 goes before 4");
        dispatch.finish(&lease.key, now);
        let lease = dispatch.lease(now).expect("ready");
        assert_eq!((lease.entry.id, lease.entry.key_seq), (reply.id, 4));
    }

    #[test]
    fn a_cancelled_unnumbered_entry_frees_its_place() {
        let now = Instant::now();
        let tenant = TenantId::new();
        let mut dispatch = Dispatch::default();
        let reply = entry(tenant, "k", UNNUMBERED);
        dispatch.register(&reply, false, now);
        let later = entry(tenant, "k", 2);
        dispatch.register(&later, true, now);
        assert!(dispatch.lease(now).is_none());
        dispatch.cancel(&[(test_key("k"), reply.id)], now);
        assert_eq!(dispatch.depth(), 1);
        assert_eq!(
            dispatch.lease(now).map(|lease| lease.entry.id),
            Some(later.id)
        );
    }
}
