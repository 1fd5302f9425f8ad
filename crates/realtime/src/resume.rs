//! Resuming a subscription: from the history this node holds when it reaches back far enough,
//! else from the store; then the live events that arrived meanwhile, deduplicated by offset, so
//! the client sees neither a gap nor a duplicate.

use std::sync::Arc;

use crate::frame::Frame;
use crate::history::HistoryPage;
use crate::hub::Subscribed;
use crate::state::{Mode, Slot, StreamState};
use crate::stream::{DURABLE_EPOCH, Position, StreamKey};

/// Serves a subscription from what this node holds, when it can: returns `None` when the store
/// must be read.
pub(crate) fn from_memory(
    state: &mut StreamState,
    key: &StreamKey,
    since: Option<&Position>,
    slot: &mut Slot,
) -> Option<Subscribed> {
    let head = state.head();
    let (recovered, replay) = match since {
        None if state.next.is_some() => (true, Vec::new()),
        None => return None,
        Some(position) => match state.next.and(
            (position.epoch == *state.epoch)
                .then(|| state.history_after(position.offset))
                .flatten(),
        ) {
            Some(frames) => (true, frames),
            None if key.name.is_durable() => return None,
            None => (false, Vec::new()),
        },
    };
    let replay: Vec<Frame> = replay
        .into_iter()
        .filter(|frame| slot.sees(frame))
        .collect();
    let subscribed = Subscribed {
        epoch: state.epoch.to_string(),
        offset: head,
        recovered,
    };
    slot.outbox
        .push_replay(subscribed_frame(&state.display, &subscribed), replay);
    slot.mode = Mode::Live { last: head };
    Some(subscribed)
}

/// Finishes a subscription whose missed events came from the store: replays them, then the live
/// events that arrived meanwhile, and makes the subscriber live.
pub(crate) fn from_store(
    epoch: Arc<str>,
    display: &str,
    slot: &mut Slot,
    since: Option<&Position>,
    page: HistoryPage,
    head_at_start: u64,
    limit: usize,
) -> Subscribed {
    let recovered = match since {
        None => true,
        Some(position) => {
            position.epoch == DURABLE_EPOCH
                && position.offset <= page.head
                && match page.events.first() {
                    Some(first) => first.offset == position.offset + 1,
                    // No history after the position: right only for a client at the head, not
                    // for one whose missed events were deleted (retention) or expired.
                    None => position.offset == page.head,
                }
                && (page.events.len() < limit
                    || page
                        .events
                        .last()
                        .is_some_and(|last| last.offset >= page.head))
        }
    };
    let (last, replay) = if recovered && since.is_some() {
        let frames: Vec<Frame> = page
            .events
            .iter()
            .map(|stored| {
                Frame::event(
                    display.into(),
                    epoch.clone(),
                    stored.offset,
                    &stored.event,
                    stored.meta.clone(),
                )
            })
            .filter(|frame| slot.sees(frame))
            .collect();
        (page.head, frames)
    } else {
        (page.head.max(head_at_start), Vec::new())
    };
    let subscribed = Subscribed {
        epoch: epoch.to_string(),
        offset: last,
        recovered,
    };
    let waiting = match std::mem::replace(&mut slot.mode, Mode::Live { last }) {
        Mode::Replaying(waiting) => waiting,
        Mode::Live { .. } => Vec::new(),
    };
    let mut last_sent = last;
    let live: Vec<Frame> = waiting
        .into_iter()
        .filter(|frame| {
            let fresh = frame.offset > last_sent;
            last_sent = last_sent.max(frame.offset);
            fresh
        })
        .collect();
    slot.mode = Mode::Live { last: last_sent };
    slot.outbox.push_replay(
        subscribed_frame(display, &subscribed),
        replay.into_iter().chain(live).collect(),
    );
    subscribed
}

fn subscribed_frame(display: &str, subscribed: &Subscribed) -> Frame {
    Frame::control(&serde_json::json!({
        "type": "subscribed",
        "stream": display,
        "epoch": subscribed.epoch,
        "offset": subscribed.offset,
        "recovered": subscribed.recovered,
    }))
}
