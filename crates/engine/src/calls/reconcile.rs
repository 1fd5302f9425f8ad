//! Attempts the provider went quiet on. An attempt whose dial never got an answer (the node
//! died mid-dial, or every try timed out) and of which no callback has spoken since is dialled
//! again under the same idempotency key: a provider that made the call answers with it, one
//! that never heard of it makes it now; the callback URL names the attempt, so any callback
//! would have tied the provider's call to it. An attempt the provider knows is fetched
//! (`GET …/Calls/{sid}.json`), so a lost final callback never leaves a call open for ever.

use switchboard_channels::SendError;
use switchboard_core::AttemptStatus;
use switchboard_store::{AttemptUpdate, OpenAttempt};

use super::{dialer, voice_config};
use crate::Engine;

/// Attempts looked at per round.
const ROUND: i64 = 100;

/// Reconciles the attempts not heard of for `quiet_after`.
pub(super) async fn round(engine: &Engine) {
    let quiet_after = engine.pipeline.config.calls.quiet_after;
    let heard_before = time::OffsetDateTime::now_utc() - quiet_after;
    let attempts = match engine.store.open_attempts(heard_before, ROUND).await {
        Ok(attempts) => attempts,
        Err(error) => {
            tracing::warn!(%error, "open call attempts unavailable");
            return;
        }
    };
    for attempt in attempts {
        // One node reconciles each attempt: the claim marks it heard of now.
        match engine
            .store
            .claim_quiet_attempt(attempt.attempt_id, heard_before)
            .await
        {
            Ok(true) => reconcile(engine, attempt).await,
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "could not claim a quiet call attempt"),
        }
    }
}

async fn reconcile(engine: &Engine, attempt: OpenAttempt) {
    let channel = match engine
        .recent_tenant_channel(attempt.tenant_id, attempt.channel_id)
        .await
    {
        Ok(channel) => channel,
        Err(error) => {
            tracing::warn!(attempt = %attempt.attempt_id, %error, "the channel of an open call attempt is unavailable");
            return;
        }
    };
    let Ok(voice) = voice_config(&channel.config) else {
        return;
    };
    let Some(provider_call_id) = attempt.provider_call_id else {
        tracing::info!(attempt = %attempt.attempt_id, "dialling again under the same key: the dial was never answered");
        dialer::dial(
            engine,
            &channel,
            attempt.call_id,
            attempt.attempt_id,
            &attempt.to,
        )
        .await;
        return;
    };
    let update = match engine
        .pipeline
        .sender
        .fetch_call(&channel, &provider_call_id)
        .await
    {
        Ok(call) => AttemptUpdate {
            attempt_id: Some(attempt.attempt_id),
            provider_call_id: Some(call.provider_call_id),
            status: call.status,
            duration_seconds: call.duration_seconds,
            answered_by: call.answered_by,
        },
        Err(SendError::Rejected { .. }) => {
            // The provider has no such call: it never connected.
            tracing::warn!(attempt = %attempt.attempt_id, %provider_call_id, "the provider does not know a call; closed as failed");
            AttemptUpdate {
                attempt_id: Some(attempt.attempt_id),
                provider_call_id: None,
                status: AttemptStatus::Failed,
                duration_seconds: None,
                answered_by: None,
            }
        }
        Err(error) => {
            // The claim marked it heard of: it is asked about again after another quiet period.
            tracing::warn!(attempt = %attempt.attempt_id, %error, "could not ask the provider about a call");
            return;
        }
    };
    engine.apply_attempt_update(voice, update).await;
}
