//! What calls and campaigns tell the tenant's stream: `call_queued`, `call_started` (the dial
//! went out), `call_answered`, `call_ended` (outcome, duration, the retry if any),
//! `call_analyzed` (a report arrived), `campaign_progress`, `campaign_completed` and
//! `credits_exhausted`. Each is published after the change it reports is committed; the source
//! is `call:<id>` or `campaign:<id>`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use switchboard_core::{Call, CallAttempt, CallId, Campaign, CampaignId, ConversationId, TenantId};
use switchboard_store::AttemptChange;

use crate::Engine;

/// A call event's offset within its call: ten per attempt, in the order statuses move.
fn call_offset(attempt: &CallAttempt) -> u64 {
    let number = u64::try_from(attempt.number).unwrap_or_default();
    number * 10 + u64::from(attempt.status.rank())
}

fn publish_call(
    engine: &Engine,
    tenant_id: TenantId,
    call_id: CallId,
    conversation_id: Option<ConversationId>,
    offset: u64,
    event: serde_json::Value,
) {
    let source = format!("call:{call_id}");
    engine.publish_to_tenant(tenant_id, &source, offset, &event, conversation_id);
}

pub(super) fn call_queued(engine: &Engine, call: &Call) {
    let event = serde_json::json!({
        "type": "call_queued",
        "callId": call.id,
        "campaignId": call.campaign_id,
        "to": call.to,
        "dueAt": call.due_at.and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok()),
    });
    publish_call(engine, call.tenant_id, call.id, None, 0, event);
}

/// `call_started` when the dial went out; `call_answered` and `call_ended` as the attempt moves.
pub(super) fn attempt_changed(engine: &Engine, change: &AttemptChange) {
    if !change.moved {
        return;
    }
    let attempt = &change.attempt;
    let kind = match attempt.status {
        switchboard_core::AttemptStatus::InProgress => "call_answered",
        status if status.is_final() => "call_ended",
        switchboard_core::AttemptStatus::Initiated | switchboard_core::AttemptStatus::Queued => {
            "call_started"
        }
        switchboard_core::AttemptStatus::Ringing => "call_ringing",
        _ => return,
    };
    let mut event = serde_json::json!({
        "type": kind,
        "callId": change.call_id,
        "campaignId": change.campaign_id,
        "conversationId": change.conversation_id,
        "attempt": attempt.number,
        "providerCallId": attempt.provider_call_id,
        "status": attempt.status,
    });
    if attempt.status.is_final() {
        event["outcome"] = serde_json::json!(attempt.outcome);
        event["durationSeconds"] = serde_json::json!(attempt.duration_seconds);
        event["credits"] = serde_json::json!(attempt.credits);
        event["callStatus"] = serde_json::json!(change.call_status);
        event["retryAt"] = serde_json::json!(change.retry_at.and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        }));
    }
    publish_call(
        engine,
        change.tenant_id,
        change.call_id,
        change.conversation_id,
        call_offset(attempt),
        event,
    );
}

/// `call_ended` for a call closed without a dial (do-not-call, cancelled, out of windows).
pub(super) fn ended_without_dial(
    engine: &Engine,
    tenant_id: TenantId,
    call_id: CallId,
    campaign_id: Option<CampaignId>,
    outcome: switchboard_core::CallOutcome,
) {
    let event = serde_json::json!({
        "type": "call_ended",
        "callId": call_id,
        "campaignId": campaign_id,
        "outcome": outcome,
        "callStatus": "ended",
    });
    publish_call(engine, tenant_id, call_id, None, u64::MAX >> 1, event);
}

/// `call_analyzed`: a report's turns are stored as the call's messages.
pub(super) fn call_analyzed(
    engine: &Engine,
    call: &Call,
    summary: Option<&str>,
    analysis: &serde_json::Value,
    turns: usize,
) {
    let event = serde_json::json!({
        "type": "call_analyzed",
        "callId": call.id,
        "campaignId": call.campaign_id,
        "conversationId": call.conversation_id,
        "summary": summary,
        "analysis": analysis,
        "turns": turns,
    });
    publish_call(
        engine,
        call.tenant_id,
        call.id,
        call.conversation_id,
        u64::MAX >> 1,
        event,
    );
}

fn publish_campaign(engine: &Engine, campaign: &Campaign, kind: &str) {
    let event = serde_json::json!({
        "type": kind,
        "campaignId": campaign.id,
        "status": campaign.status,
        "waitingForCredits": campaign.waiting_for_credits,
        "stats": campaign.stats,
    });
    let offset = u64::try_from(campaign.stats.attempts).unwrap_or_default();
    let source = format!("campaign:{}", campaign.id);
    engine.publish_to_tenant(campaign.tenant_id, &source, offset, &event, None);
}

/// The least time between two `campaign_progress` events of one campaign (its counts are a
/// read over all its calls).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// When each campaign's progress was last published.
#[derive(Default)]
pub(crate) struct ProgressTimes(Mutex<HashMap<CampaignId, Instant>>);

impl ProgressTimes {
    /// Whether progress may go out now (and, if so, notes that it does).
    fn due(&self, id: CampaignId) -> bool {
        let now = Instant::now();
        let mut times = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if times
            .get(&id)
            .is_some_and(|last| now - *last < PROGRESS_INTERVAL)
        {
            return false;
        }
        if times.len() > 10_000 {
            times.retain(|_, last| now - *last < PROGRESS_INTERVAL);
        }
        times.insert(id, now);
        true
    }
}

/// `campaign_progress` (or `campaign_completed`) with the campaign's counts as they are now; a
/// progress event that is not `urgent` (a status change, the end) waits for the interval.
pub(super) async fn campaign_changed(
    engine: &Engine,
    tenant_id: TenantId,
    id: CampaignId,
    urgent: bool,
) {
    if !engine.pipeline.calls.progress.due(id) && !urgent {
        return;
    }
    match engine.store.get_campaign(tenant_id, id).await {
        Ok(campaign) => {
            let kind = if campaign.status == switchboard_core::CampaignStatus::Completed {
                "campaign_completed"
            } else {
                "campaign_progress"
            };
            publish_campaign(engine, &campaign, kind);
        }
        Err(error) => tracing::warn!(%id, %error, "campaign counts unavailable for its event"),
    }
}

/// `credits_exhausted`: the campaign stops dialling until credits are granted.
pub(super) async fn credits_exhausted(engine: &Engine, tenant_id: TenantId, id: CampaignId) {
    if let Ok(campaign) = engine.store.get_campaign(tenant_id, id).await {
        publish_campaign(engine, &campaign, "credits_exhausted");
    }
}
