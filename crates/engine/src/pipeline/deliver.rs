//! Replies out: send an outbound message through its channel (rate limited per sender, with the
//! message id as idempotency key), then record the provider's id and acknowledge the entry in one
//! transaction. A send interrupted by a crash, or that could not be recorded, is sent again with
//! the same key.

use std::time::Duration;

use switchboard_channels::{OutboundMessage, SendError};
use switchboard_core::{MessageId, MessageStatus, QueueEntry};
use switchboard_queue::Outcome;
use switchboard_store::StoreError;

use crate::Engine;

/// The pauses before each further try to record a send the provider accepted.
const RECORD_RETRIES: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_secs(1),
];

impl Engine {
    /// Sends a reply; `resend` when an earlier send of it may have reached the provider.
    pub(crate) async fn deliver(&self, entry: QueueEntry, resend: bool) -> Outcome {
        super::outcome(self.try_deliver(&entry, resend).await)
    }

    async fn try_deliver(&self, entry: &QueueEntry, resend: bool) -> Result<Outcome, StoreError> {
        let tenant = entry.tenant_id;
        let store = &self.store;
        // Marked `sending` first: from here on a restart counts a send as a possible resend.
        let outgoing = store
            .start_delivery(tenant, entry.id, entry.message_id)
            .await?;
        let channel = self
            .recent_tenant_channel(tenant, outgoing.channel_id)
            .await?;
        let Some(recipient) = outgoing.recipient else {
            return Ok(Outcome::Dead {
                error: "the conversation has no contact to send to".into(),
            });
        };
        // Contacts created by webhooks carry the provider's id; others their own id or phone.
        let to = recipient
            .external_id
            .as_deref()
            .map(|id| {
                channel
                    .kind()
                    .provider_contact_id(id)
                    .unwrap_or(id)
                    .to_owned()
            })
            .or(recipient.phone)
            .unwrap_or_default();
        let outbound = OutboundMessage {
            message_id: outgoing.message_id.to_string(),
            conversation_id: outgoing.conversation_id.to_string(),
            to,
            text: outgoing.text.unwrap_or_default(),
        };
        if resend {
            tracing::warn!(entry = %entry.id, "resending a delivery whose earlier send may have reached the provider");
            if let Some(queue) = self.pipeline.queue.get() {
                queue.count_resend();
            }
        }
        match self.pipeline.sender.send(&channel, &outbound).await {
            Ok(sent) => {
                self.record_sent(entry, outgoing.message_id, sent.provider_message_id)
                    .await
            }
            Err(SendError::Retryable {
                message: error,
                retry_after,
                ..
            }) => Ok(Outcome::Retry {
                error: error.into(),
                after: retry_after,
            }),
            Err(SendError::Rejected { message: error, .. }) => {
                let events = store
                    .set_message_status(tenant, vec![outgoing.message_id], MessageStatus::Failed)
                    .await?;
                self.publish_conversation_events(&events);
                Ok(Outcome::Dead {
                    error: error.into(),
                })
            }
        }
    }

    /// Records a send the provider accepted. A store that fails now is asked again shortly,
    /// rather than sending again; if it still fails, the entry is retried later as a resend
    /// (same idempotency key, counted). A later try that finds the entry gone finds it
    /// recorded: the earlier try committed, and only its answer was lost.
    async fn record_sent(
        &self,
        entry: &QueueEntry,
        message_id: MessageId,
        provider_message_id: Option<String>,
    ) -> Result<Outcome, StoreError> {
        let mut pauses = RECORD_RETRIES.iter();
        let mut first = true;
        loop {
            let recorded = self
                .store
                .complete_delivery(
                    entry.tenant_id,
                    entry.id,
                    message_id,
                    provider_message_id.clone(),
                )
                .await;
            match recorded {
                Ok(events) => {
                    self.publish_conversation_events(&events);
                    return Ok(Outcome::Done);
                }
                Err(StoreError::NotFound { .. }) if !first => return Ok(Outcome::Done),
                Err(error @ StoreError::NotFound { .. }) => return Err(error),
                Err(error) => match pauses.next() {
                    Some(pause) => tokio::time::sleep(*pause).await,
                    None => {
                        tracing::warn!(entry = %entry.id, %error, "a sent reply could not be recorded; it is sent again later");
                        return Ok(Outcome::Unrecorded {
                            error: Box::new(error),
                        });
                    }
                },
            }
            first = false;
        }
    }
}
