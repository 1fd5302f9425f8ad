//! What the voice provider and the voice pipeline post back: status callbacks (signed like
//! Twilio's, moving an attempt forward only, so repeated and out-of-order callbacks change
//! nothing) and call reports (signed like the API channel; their transcript turns become the
//! call's conversation's messages, once however often the report is posted).

use switchboard_channels::Webhook;
use switchboard_channels::voice::{self, Speaker};
use switchboard_core::{
    AuthorKind, CallAttemptId, CallId, ChannelId, MessageDirection, MessageStatus, MessageType,
    VoiceConfig,
};
use switchboard_store::{AttemptUpdate, CallPricing, NewMessage, StoreError};

use super::{events, voice_config};
use crate::{Engine, EngineError};

/// The attempt a status callback's URL names (`?attempt=<id>`), if it names one.
fn attempt_in(path_and_query: &str) -> Option<CallAttemptId> {
    let (_, query) = path_and_query.split_once('?')?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "attempt")
        .and_then(|(_, value)| value.parse().ok())
}

impl Engine {
    /// A status callback of channel `channel_id`: verified, then applied to its attempt.
    pub async fn voice_status(
        &self,
        channel_id: ChannelId,
        webhook: Webhook<'_>,
    ) -> Result<(), EngineError> {
        let channel = self
            .recent_channel(channel_id)
            .await?
            .ok_or(EngineError::NotFound("channel"))?;
        let voice = voice_config(&channel.config).map_err(|_| EngineError::NotFound("channel"))?;
        let callback = voice::receive_status(voice, &webhook)?;
        let update = AttemptUpdate {
            attempt_id: attempt_in(webhook.path_and_query),
            provider_call_id: Some(callback.provider_call_id),
            status: callback.status,
            duration_seconds: callback.duration_seconds,
            answered_by: callback.answered_by,
        };
        let pricing = self.call_pricing(voice);
        let change = self.store.update_attempt(update, pricing).await?;
        if change.tenant_id != channel.tenant_id {
            // An attempt of another tenant named through this channel's URL: nothing of it shows.
            return Err(EngineError::NotFound("call attempt"));
        }
        self.after_attempt_change(&change).await;
        Ok(())
    }

    /// Applies an update from the dialer or the reconciler; failures are logged (the attempt
    /// stays open and is reconciled later).
    pub(crate) async fn apply_attempt_update(&self, voice: &VoiceConfig, update: AttemptUpdate) {
        let attempt_id = update.attempt_id;
        match self
            .store
            .update_attempt(update, self.call_pricing(voice))
            .await
        {
            Ok(change) => self.after_attempt_change(&change).await,
            Err(error) => {
                tracing::warn!(attempt = ?attempt_id, %error, "call attempt not updated; it will be reconciled")
            }
        }
    }

    /// What a minute through a channel costs: its own price, else the server's.
    pub(crate) fn call_pricing(&self, voice: &VoiceConfig) -> CallPricing {
        CallPricing {
            credits_per_minute: voice
                .credits_per_minute
                .unwrap_or(self.pipeline.config.calls.credits_per_minute),
        }
    }

    /// Events for a committed change, and a dialer round when a line came free.
    async fn after_attempt_change(&self, change: &switchboard_store::AttemptChange) {
        events::attempt_changed(self, change);
        if change.moved && change.attempt.status.is_final() {
            self.pipeline.calls.wake.notify_one();
            if let Some(campaign_id) = change.campaign_id {
                let urgent = change.campaign_completed;
                events::campaign_changed(self, change.tenant_id, campaign_id, urgent).await;
            }
        }
    }

    /// A call report of channel `channel_id`: its turns become the call's messages (once), and
    /// `call_analyzed` goes out. Returns how many turns were new.
    pub async fn voice_report(
        &self,
        channel_id: ChannelId,
        webhook: Webhook<'_>,
    ) -> Result<usize, EngineError> {
        let channel = self
            .recent_channel(channel_id)
            .await?
            .ok_or(EngineError::NotFound("channel"))?;
        let voice = voice_config(&channel.config).map_err(|_| EngineError::NotFound("channel"))?;
        let tolerance = self.pipeline.config.signature_tolerance;
        let report = voice::receive_report(voice, &webhook, tolerance)?;
        let tenant_id = channel.tenant_id;
        let call_id = match (&report.call_id, &report.provider_call_id) {
            (Some(id), _) => id
                .parse::<CallId>()
                .map_err(|_| EngineError::NotFound("call"))?,
            (None, Some(provider_id)) => self
                .store
                .call_by_provider_id(tenant_id, provider_id)
                .await?
                .ok_or(EngineError::NotFound("call"))?,
            (None, None) => return Err(EngineError::NotFound("call")),
        };
        let call = self.store.get_call(tenant_id, call_id).await?;
        if call.channel_id != channel_id {
            return Err(EngineError::NotFound("call"));
        }
        let conversation_id = call.conversation_id.ok_or_else(|| {
            EngineError::Conflict("the call was never dialled: it has no conversation".into())
        })?;
        let messages = report
            .turns
            .iter()
            .enumerate()
            .map(|(index, turn)| {
                let (direction, author_kind) = match turn.speaker {
                    Speaker::Contact => (MessageDirection::Inbound, AuthorKind::Contact),
                    Speaker::Agent => (MessageDirection::Outbound, AuthorKind::Agent),
                };
                NewMessage {
                    conversation_id,
                    direction,
                    author_kind,
                    author_id: None,
                    message_type: MessageType::Text,
                    text: Some(turn.text.clone()),
                    content: None,
                    provider_message_id: Some(format!("{call_id}:turn:{index}")),
                    status: MessageStatus::Delivered,
                }
            })
            .collect();
        let summary = report.summary.clone();
        let analysis = report.analysis.clone();
        let stored = self
            .store
            .record_call_report(tenant_id, call_id, messages, summary, analysis)
            .await
            .map_err(|error| match error {
                StoreError::NotFound { entity } => EngineError::NotFound(entity),
                other => other.into(),
            })?;
        let new_turns = stored.len();
        self.publish_conversation_events(&stored);
        events::call_analyzed(
            self,
            &call,
            report.summary.as_deref(),
            &report.analysis,
            report.turns.len(),
        );
        Ok(new_turns)
    }
}
