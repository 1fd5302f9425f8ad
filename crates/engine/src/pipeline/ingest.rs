//! Webhooks in: find the channel, verify the provider's signature on the raw bytes, parse, and
//! make the whole body durable in one transaction: its new messages stored with their runs
//! queued (SQLite, while nothing waits in the inbox) or accepted into the inbox (stored and
//! queued right after, by `inbox`), its delivery receipts applied. The caller acknowledges only
//! after this returns `Ok` (the data is durable).

use switchboard_channels::{InboundMessage, Webhook, WebhookError, whatsapp};
use switchboard_core::{ChannelConfig, ChannelId, ChannelKind, OrderingKey, TenantId};
use switchboard_store::{IngestMessage, IngestStatus, Ingested};

use super::Ordering;
use crate::{Engine, EngineError};

/// What a webhook body changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub accepted: usize,
    pub duplicates: usize,
    pub statuses: usize,
}

impl Engine {
    /// WhatsApp's subscription handshake: the challenge to echo when the verify token matches.
    pub async fn verify_whatsapp_subscription(
        &self,
        channel_id: ChannelId,
        mode: Option<&str>,
        token: Option<&str>,
        challenge: Option<&str>,
    ) -> Result<String, EngineError> {
        let channel = self
            .webhook_channel(channel_id, ChannelKind::Whatsapp)
            .await?;
        let ChannelConfig::Whatsapp(config) = &channel.config else {
            return Err(EngineError::NotFound("channel"));
        };
        whatsapp::verify_subscription(config.verify_token.expose(), mode, token, challenge).map_err(
            |refusal| {
                tracing::warn!(error = %refusal, "subscription handshake refused");
                WebhookError::Refused(refusal).into()
            },
        )
    }

    /// Verifies, parses and durably stores one webhook body, posted to the address of a
    /// channel of `kind`.
    pub async fn ingest_webhook(
        &self,
        channel_id: ChannelId,
        kind: ChannelKind,
        webhook: Webhook<'_>,
    ) -> Result<IngestReport, EngineError> {
        let channel = self.webhook_channel(channel_id, kind).await?;
        let tolerance = self.pipeline.config.signature_tolerance;
        let batch = switchboard_channels::receive(&channel.config, &webhook, tolerance)
            .inspect_err(|error| {
                if let WebhookError::Refused(refusal) = error {
                    tracing::warn!(error = %refusal, "webhook refused");
                }
            })?;
        if batch.messages.is_empty() && batch.statuses.is_empty() {
            return Ok(IngestReport::default());
        }
        // Accepted messages not yet stored will be queued: they count against the capacity.
        self.queue()?
            .admit(batch.messages.len() + self.pipeline.inbox.waiting())
            .map_err(EngineError::Busy)?;

        let ordering = self.pipeline.config.ordering;
        let messages: Vec<IngestMessage> = batch
            .messages
            .into_iter()
            .map(|message| ingest_message(kind, channel_id, ordering, message))
            .collect();
        let statuses = batch
            .statuses
            .into_iter()
            .map(|receipt| IngestStatus {
                provider_message_id: receipt.provider_message_id,
                status: receipt.status,
                error: receipt.error,
            })
            .collect();

        // The write runs to completion in its own task even if the webhook's connection drops,
        // so what it accepted is always counted and the inbox's loop woken.
        let engine = self.clone();
        let tenant_id = channel.tenant_id;
        let accept = tokio::spawn(async move {
            engine
                .accept(tenant_id, channel_id, messages, statuses)
                .await
        });
        let accepted = accept
            .await
            .map_err(|error| EngineError::Internal(Box::new(error)))??;
        self.pipeline.acknowledgements.record(
            tenant_id,
            channel_id,
            channel.agent_id,
            webhook.received_at,
            time::OffsetDateTime::now_utc(),
        );
        Ok(IngestReport {
            accepted: accepted.accepted,
            duplicates: accepted.duplicates,
            statuses: accepted.statuses_applied,
        })
    }

    /// Makes a webhook body durable: its messages stored and their runs queued at once where the
    /// store can ([`Store::store_webhook`](switchboard_store::Store::store_webhook)), else, or
    /// should that fail, accepted into the inbox, which stores them shortly (`inbox`). Publishes
    /// the events of what it changed.
    async fn accept(
        &self,
        tenant_id: TenantId,
        channel_id: ChannelId,
        messages: Vec<IngestMessage>,
        statuses: Vec<IngestStatus>,
    ) -> Result<Ingested, EngineError> {
        // Messages waiting in the inbox were accepted first: while any wait, so do later ones.
        if let Ok(queue) = self.queue()
            && self.store.stores_webhooks_at_once()
            && self.pipeline.inbox.waiting() == 0
        {
            let (body, receipts) = (messages.clone(), statuses.clone());
            let write = |registrar| {
                self.store
                    .store_webhook(tenant_id, channel_id, body, receipts, registrar)
            };
            // Published before the runs are: a stream shows the message before its run starts.
            match self
                .commit_queued(queue, write, |stored: &Ingested| &stored.events)
                .await
            {
                Ok(stored) => return Ok(stored),
                Err(error) => {
                    tracing::debug!(%error, "storing a webhook's messages failed; the inbox takes them");
                }
            }
        }
        let accepted = self
            .store
            .accept(tenant_id, channel_id, messages, statuses)
            .await?;
        self.publish_conversation_events(&accepted.events);
        if self.stores_accepted() {
            self.pipeline.inbox.accepted(accepted.accepted);
        } else if accepted.accepted > 0 {
            self.announce_accepted();
        }
        Ok(accepted)
    }

    /// The channel a webhook names, if it exists and is of the webhook's kind.
    async fn webhook_channel(
        &self,
        channel_id: ChannelId,
        kind: ChannelKind,
    ) -> Result<switchboard_core::Channel, EngineError> {
        match self.recent_channel(channel_id).await? {
            Some(channel) if channel.kind() == kind => Ok(channel),
            _ => Err(EngineError::NotFound("channel")),
        }
    }
}

fn ingest_message(
    kind: ChannelKind,
    channel_id: ChannelId,
    ordering: Ordering,
    message: InboundMessage,
) -> IngestMessage {
    let channel_ordering_key = match ordering {
        Ordering::Conversation => None,
        Ordering::Channel => Some(OrderingKey::business_number(
            channel_id,
            message.business_key.as_deref().unwrap_or_default(),
        )),
    };
    IngestMessage {
        contact_external_id: kind.contact_external_id(&message.contact.external_id),
        contact_name: message.contact.name,
        contact_phone: message.contact.phone,
        provider_message_id: message.provider_message_id,
        message_type: message.message_type,
        text: message.text,
        content: message.content,
        priority: u8::try_from(message.priority.clamp(0, 9)).unwrap_or(0),
        channel_ordering_key,
    }
}
