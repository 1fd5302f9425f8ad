//! What a turn answers and sees: the pending messages it claims under the agent's
//! double-texting policy, and the context its agent is given.

use switchboard_agent::{Context, DoubleTexting};
use switchboard_core::{Contact, Conversation, MessageDirection, MessageId, QueueEntry, RunId};
use switchboard_queue::Claimed;
use switchboard_store::StoreError;

use crate::Engine;

/// The longest a `coalesce` run waits for a burst to end, in debounce windows.
const MAX_DEBOUNCE_WINDOWS: u32 = 5;

impl Engine {
    /// The runs queued behind `entry` that this turn answers too, and the interrupt to watch:
    /// `enqueue` claims none; `coalesce` waits for the burst to be quiet and claims the
    /// conversation's pending runs; `interrupt` claims them and asks to be cancelled when
    /// another arrives.
    pub(super) async fn claim_pending(&self, entry: &QueueEntry, policy: DoubleTexting) -> Claimed {
        let Ok(queue) = self.queue() else {
            return Claimed::default();
        };
        let claimed = match policy {
            DoubleTexting::Enqueue => None,
            DoubleTexting::Coalesce { debounce } => {
                if !debounce.is_zero() {
                    queue
                        .wait_quiet(
                            entry,
                            debounce,
                            debounce.saturating_mul(MAX_DEBOUNCE_WINDOWS),
                        )
                        .await;
                }
                queue.claim_followers(entry, false)
            }
            DoubleTexting::Interrupt => queue.claim_followers(entry, true),
        };
        claimed.unwrap_or_default()
    }

    /// The agent's view: the contact (read with the conversation), the recent history (up to the
    /// configured number; the agent trims it to its token budget) and the pending messages. History
    /// is every recent message except inbound ones from the first pending on: replies sent while
    /// this turn waited (to earlier messages) are part of it, later inbound messages are not. The
    /// pending messages are usually among the recent ones read for the history; only those further
    /// back (a long backlog) are read one by one. An agent that reads no history
    /// (`with_history` false: [`switchboard_agent::reads_history`]) is given none, and only the
    /// pending messages are read.
    pub(super) async fn context(
        &self,
        conversation: &Conversation,
        contact: Option<Contact>,
        run_id: RunId,
        pending_ids: &[MessageId],
        with_history: bool,
    ) -> Result<Context, StoreError> {
        let mut history = if with_history {
            self.store
                .messages_before(
                    conversation.tenant_id,
                    conversation.id,
                    i64::MAX,
                    self.pipeline.config.context_messages,
                )
                .await?
        } else {
            Vec::new()
        };
        let mut pending = Vec::with_capacity(pending_ids.len());
        for id in pending_ids {
            let message = match history.iter().find(|message| message.id == *id) {
                Some(message) => message.clone(),
                None => self.store.get_message(conversation.tenant_id, *id).await?,
            };
            pending.push(message);
        }
        let first_seq = pending.first().map_or(i64::MAX, |message| message.seq);
        history.retain(|message| {
            message.seq < first_seq || message.direction == MessageDirection::Outbound
        });
        Ok(Context {
            run_id,
            conversation_id: conversation.id,
            contact,
            history,
            pending,
        })
    }
}
