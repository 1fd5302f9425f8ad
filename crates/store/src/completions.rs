//! An agent's answer given over its chat-completions endpoint (a voice pipeline's LLM), recorded
//! in one transaction: its cost debited once under `completion:<run id>` (refused when the
//! balance cannot pay), and, when the run belongs to a call's conversation, the run with its
//! events and what its tools changed there.

use switchboard_core::{ConversationId, Credits, TenantId};

use crate::conversation_events::StreamEvent;
use crate::pipeline::turn::debits::{Overdraft, debit_under};
use crate::pipeline::turn::{RunRecord, TurnEffects, effects, insert_run};
use crate::{Store, StoreError};

/// A run answered over the chat-completions endpoint.
pub struct CompletionRecord {
    pub tenant_id: TenantId,
    pub run: RunRecord,
    /// The call's conversation the run belongs to; without one only the debit is recorded.
    pub conversation_id: Option<ConversationId>,
    pub effects: TurnEffects,
    pub cost: Credits,
}

impl Store {
    /// Records a completion; returns the conversation stream's events of what its tools
    /// changed.
    pub async fn record_completion(
        &self,
        record: CompletionRecord,
    ) -> Result<Vec<StreamEvent>, StoreError> {
        self.write(move |connection| {
            Box::pin(async move {
                let CompletionRecord {
                    tenant_id,
                    run,
                    conversation_id,
                    effects: changes,
                    cost,
                } = record;
                if cost.0 > 0 {
                    let key = format!("completion:{}", run.id);
                    let reason = format!("agent completion {}", run.id);
                    debit_under(connection, tenant_id, cost, key, reason, Overdraft::Refused)
                        .await?;
                }
                let Some(conversation_id) = conversation_id else {
                    return Ok(Vec::new());
                };
                insert_run(connection, tenant_id, &run, None).await?;
                let event =
                    effects::apply(connection, tenant_id, conversation_id, run.id, &changes)
                        .await?;
                Ok(event.into_iter().collect())
            })
        })
        .await
    }
}
