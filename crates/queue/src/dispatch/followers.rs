//! Double texting support: a leased run may claim the committed runs of its conversation queued
//! right behind it, so one run answers them all and `finish` acknowledges them together; it may
//! ask to be interrupted (a cancellation token) when another such run arrives during its lease;
//! and it may wait for its key to be quiet (no arrival for a while) before claiming.

use std::time::{Duration, Instant};

use switchboard_core::{EntryKind, OrderingKey, QueueEntry, QueueEntryId};
use tokio_util::sync::CancellationToken;

use super::{Dispatch, Key, KeyState};

/// What a leased run claimed.
#[derive(Debug, Default)]
pub struct Claimed {
    /// The entries behind the head that this run answers too, in order.
    pub followers: Vec<QueueEntry>,
    /// Cancelled when another run of the conversation arrives while the lease lasts (only when
    /// asked for).
    pub interrupted: Option<CancellationToken>,
}

impl Dispatch {
    /// For the leased head `head` of `key`: claims the committed runs of its conversation queued
    /// right behind it (all of them, including any claimed before), and arms the interrupt when
    /// `interrupt`. `None` when `head` is not the key's leased head.
    pub(crate) fn claim_followers(
        &mut self,
        key: &OrderingKey,
        head: QueueEntryId,
        interrupt: bool,
    ) -> Option<Claimed> {
        let state = self.keys.get_mut(key)?;
        let front = state.entries.front()?;
        if state.state != KeyState::Leased || front.id != head || front.kind != EntryKind::Run {
            return None;
        }
        let conversation = front.conversation_id;
        let followers: Vec<QueueEntry> = state
            .entries
            .iter()
            .skip(1)
            .take_while(|slot| {
                slot.committed
                    && slot.kind == EntryKind::Run
                    && slot.conversation_id == conversation
            })
            .map(|slot| slot.entry(key, state.tenant))
            .collect();
        state.absorbed = followers.len();
        let interrupted = interrupt.then(CancellationToken::new);
        state.interrupt.clone_from(&interrupted);
        Some(Claimed {
            followers,
            interrupted,
        })
    }

    /// When `key` will have been quiet for `quiet` (its last arrival plus `quiet`).
    pub(crate) fn quiet_at(&self, key: &OrderingKey, quiet: Duration) -> Option<Instant> {
        self.keys.get(key).map(|state| state.last_arrival + quiet)
    }
}

/// Entry `id` just committed on `state`'s key: if it is a run of the leased head's conversation
/// and the head asked to be interrupted, cancel it.
pub(super) fn interrupt_on_arrival(state: &mut Key, id: QueueEntryId) {
    if state.state != KeyState::Leased {
        return;
    }
    let Some(head) = state.entries.front() else {
        return;
    };
    let arrived = state
        .entries
        .iter()
        .find(|slot| slot.id == id)
        .is_some_and(|slot| {
            slot.kind == EntryKind::Run && slot.conversation_id == head.conversation_id
        });
    if arrived && let Some(token) = state.interrupt.take() {
        token.cancel();
    }
}

#[cfg(test)]
mod tests {

    use switchboard_core::TenantId;

    use super::super::tests::{entry, test_key};
    use super::*;

    #[test]
    fn a_claimed_burst_finishes_with_its_head_and_later_arrivals_interrupt() {
        let now = Instant::now();
        let tenant = TenantId::new();
        let mut dispatch = Dispatch::default();
        let mut burst: Vec<QueueEntry> = (1..=3).map(|seq| entry(tenant, "k", seq)).collect();
        let conversation = burst[0].conversation_id;
        for entry in &mut burst {
            entry.conversation_id = conversation;
            dispatch.register(entry, true, now);
        }
        let lease = dispatch.lease(now).expect("head ready");
        let claimed = dispatch
            .claim_followers(&test_key("k"), lease.entry.id, true)
            .expect("leased head");
        let claimed_ids: Vec<_> = claimed.followers.iter().map(|entry| entry.id).collect();
        assert_eq!(claimed_ids, [burst[1].id, burst[2].id]);
        let token = claimed.interrupted.expect("armed");

        let mut late = entry(tenant, "k", 4);
        late.conversation_id = conversation;
        dispatch.register(&late, false, now);
        assert!(!token.is_cancelled(), "not before its commit");
        dispatch.confirm(&[(test_key("k"), late.id)], now);
        assert!(token.is_cancelled(), "a committed arrival interrupts");

        let key = test_key("k");
        dispatch.finish(&key, now);
        assert_eq!(
            dispatch.depth(),
            1,
            "head and two followers answered together"
        );
        assert_eq!(
            dispatch.lease(now).map(|lease| lease.entry.id),
            Some(late.id)
        );
    }

    #[test]
    fn a_rerun_releases_the_claim_and_the_quiet_time_follows_arrivals() {
        let start = Instant::now();
        let tenant = TenantId::new();
        let mut dispatch = Dispatch::default();
        let first = entry(tenant, "k", 1);
        let mut second = entry(tenant, "k", 2);
        second.conversation_id = first.conversation_id;
        dispatch.register(&first, true, start);
        let lease = dispatch.lease(start).expect("ready");
        let quiet = Duration::from_millis(500);
        assert_eq!(
            dispatch.quiet_at(&test_key("k"), quiet),
            Some(start + quiet)
        );
        let later = start + Duration::from_millis(200);
        dispatch.register(&second, false, later);
        dispatch.confirm(&[(test_key("k"), second.id)], later);
        assert_eq!(
            dispatch.quiet_at(&test_key("k"), quiet),
            Some(later + quiet)
        );

        let claimed = dispatch
            .claim_followers(&test_key("k"), lease.entry.id, false)
            .expect("head");
        assert_eq!(claimed.followers.len(), 1);
        assert!(claimed.interrupted.is_none());
        dispatch.retry(&lease.key, 0, false, later, later);
        let again = dispatch.lease(later).expect("ready again at once");
        assert_eq!(again.entry.id, first.id);
        dispatch.finish_head(&again.key, later);
        assert_eq!(
            dispatch.lease(later).map(|lease| lease.entry.id),
            Some(second.id),
            "a dead head leaves its followers"
        );
    }
}
