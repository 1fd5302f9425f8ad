//! The dialer: a loop that finds queued calls whose time has come and places each one, unless a
//! rule says not now. A tenant that cannot pay a minute (its campaigns marked waiting, and
//! `credits_exhausted` once), a campaign or tenant found at its cap this round, or a caller
//! number whose pace is taken for the next second leaves the call queued for a later round; a
//! number on the do-not-call list ends the call (`do-not-call`); a recipient outside the
//! campaign's windows in their own time zone waits for the next opening (or, with none left
//! before the campaign's end, the call ends). Then the attempt is recorded (`begin_attempt`,
//! which checks the caps in its transaction) and only then dialled, at its slot of the number's
//! pace (slots `1 / callsPerSecond` apart), under the attempt's id as `Idempotency-Key`. Each
//! tenant's balance and each campaign's wait for credits are read once a round.
//!
//! The rules are applied to the due calls one at a time, in order; up to [`BEGINS_IN_FLIGHT`]
//! attempts are then being recorded at once, so that their commits share the database's group
//! commit instead of waiting for each other (the caps are still counted inside each attempt's
//! transaction). A call whose attempt is being recorded holds its place in its number's pace,
//! so the pace never runs further ahead than
//! [`PACE_AHEAD`](super::pacing::PACE_AHEAD) because of them.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use switchboard_channels::SendError;
use switchboard_channels::voice::Dial;
use switchboard_core::{
    AttemptStatus, CallAttemptId, CallId, CallOutcome, CampaignId, Channel, TenantId,
};
use switchboard_store::{AttemptCaps, AttemptUpdate, Begin, DueCall, StoreError};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{events, reconcile, voice_config};
use crate::Engine;

/// Due calls read per round.
const ROUND: i64 = 500;

/// Attempts being recorded at once in a round.
const BEGINS_IN_FLIGHT: usize = 16;

/// Runs the dialer until `shutdown`: a round every tick, or sooner when woken; attempts the
/// provider went quiet on are reconciled every few rounds.
pub(crate) async fn run(engine: Engine, shutdown: CancellationToken) {
    let config = engine.pipeline.config.calls.clone();
    let wake = engine.pipeline.calls.wake.clone();
    let mut reconciled = Instant::now();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(config.tick) => {}
        }
        if let Err(error) = round(&engine).await {
            tracing::warn!(%error, "dialer round failed; trying again next round");
        }
        if reconciled.elapsed() >= config.quiet_after / 4 {
            reconciled = Instant::now();
            reconcile::round(&engine).await;
        }
    }
}

/// What one round has learnt, so each tenant and campaign is asked about once a round.
#[derive(Default)]
struct Round {
    balances: HashMap<TenantId, i64>,
    /// Campaigns whose wait for credits this round has settled.
    settled: HashSet<CampaignId>,
    /// Campaigns and tenants at their cap: their other calls wait for the next round.
    full_campaigns: HashSet<CampaignId>,
    full_tenants: HashSet<TenantId>,
}

impl Round {
    fn is_full(&self, call: &DueCall) -> bool {
        self.full_tenants.contains(&call.tenant_id)
            || call
                .campaign_id
                .is_some_and(|id| self.full_campaigns.contains(&id))
    }

    /// Whether the tenant can pay a minute at `price`; a campaign's wait for credits is marked
    /// (and announced) when it starts or ends.
    async fn affordable(
        &mut self,
        engine: &Engine,
        call: &DueCall,
        price: i64,
    ) -> Result<bool, StoreError> {
        let balance = match self.balances.get(&call.tenant_id) {
            Some(balance) => *balance,
            None => {
                let balance = engine.store.credit_balance(call.tenant_id).await?.0;
                self.balances.insert(call.tenant_id, balance);
                balance
            }
        };
        let affordable = balance >= price;
        if let Some(campaign_id) = call.campaign_id
            && self.settled.insert(campaign_id)
            && engine
                .store
                .set_waiting_for_credits(campaign_id, !affordable)
                .await?
        {
            if affordable {
                events::campaign_changed(engine, call.tenant_id, campaign_id, true).await;
            } else {
                tracing::info!(%campaign_id, "campaign waits for credits");
                events::credits_exhausted(engine, call.tenant_id, campaign_id).await;
            }
        }
        Ok(affordable)
    }
}

/// A call that passed the rules, its attempt being recorded.
struct Beginning {
    call: DueCall,
    channel: Channel,
    from_number: String,
    pace: i64,
}

/// One round: every due call either dialled, moved, ended or left for the next round.
async fn round(engine: &Engine) -> Result<(), StoreError> {
    let now = time::OffsetDateTime::now_utc();
    let due = engine.store.due_calls(now, ROUND).await?;
    let config = &engine.pipeline.config.calls;
    let mut round = Round::default();
    // Each attempt is recorded on a task of its own, so it goes on while the next call's rules
    // are read.
    let mut beginning = JoinSet::new();
    let mut failure = None;
    for call in due {
        // What finished begins taught (a cap reached) applies to the calls after them.
        while beginning.len() >= BEGINS_IN_FLIGHT {
            if let Some(finished) = beginning.join_next().await {
                failure = failure.or(begun(engine, &mut round, finished).await.err());
            }
        }
        while let Some(finished) = beginning.try_join_next() {
            failure = failure.or(begun(engine, &mut round, finished).await.err());
        }
        if failure.is_some() {
            break;
        }
        let began = match admit(engine, &mut round, call, now).await {
            Ok(Some(began)) => began,
            Ok(None) => continue,
            Err(error) => {
                failure = Some(error);
                break;
            }
        };
        let caps = AttemptCaps {
            campaign: began.call.campaign_id.zip(began.call.max_concurrent_calls),
            tenant: config.max_concurrent_per_tenant,
        };
        let store = engine.store.clone();
        beginning.spawn(async move {
            let result = store.begin_attempt(began.call.call_id, caps).await;
            (began, result)
        });
    }
    while let Some(finished) = beginning.join_next().await {
        failure = failure.or(begun(engine, &mut round, finished).await.err());
    }
    failure.map_or(Ok(()), Err)
}

/// The rules of one due call, in order: whether it waits (tenant or campaign full, credits,
/// its number's pace), ends or moves; else it holds its place in the pace and is ready to begin.
async fn admit(
    engine: &Engine,
    round: &mut Round,
    call: DueCall,
    now: time::OffsetDateTime,
) -> Result<Option<Beginning>, StoreError> {
    if round.is_full(&call) {
        return Ok(None);
    }
    let channel = match engine
        .recent_tenant_channel(call.tenant_id, call.channel_id)
        .await
    {
        Ok(channel) => channel,
        Err(StoreError::NotFound { .. }) => {
            end_without_dial(engine, &call, CallOutcome::Failed).await?;
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    let Ok(voice) = voice_config(&channel.config) else {
        end_without_dial(engine, &call, CallOutcome::Failed).await?;
        return Ok(None);
    };
    let price = engine.call_pricing(voice).credits_per_minute;
    let pace = call.calls_per_second.unwrap_or(1);
    let from_number = voice.from_number.clone();
    let pacing = &engine.pipeline.calls.pacing;
    if !round.affordable(engine, &call, price).await? || !pacing.hold(&from_number, pace) {
        return Ok(None);
    }
    match rules(engine, &call, now).await {
        Ok(true) => Ok(Some(Beginning {
            call,
            channel,
            from_number,
            pace,
        })),
        Ok(false) => {
            pacing.release(&from_number);
            Ok(None)
        }
        Err(error) => {
            pacing.release(&from_number);
            Err(error)
        }
    }
}

/// The do-not-call list and the recipient's windows: whether the call may be dialled now (if
/// not, it was ended or moved to its next opening).
async fn rules(
    engine: &Engine,
    call: &DueCall,
    now: time::OffsetDateTime,
) -> Result<bool, StoreError> {
    let store = &engine.store;
    if store.is_do_not_call(call.tenant_id, &call.to).await? {
        end_without_dial(engine, call, CallOutcome::DoNotCall).await?;
        return Ok(false);
    }
    if let Some(schedule) = &call.schedule {
        let zone = switchboard_calling::recipient_zone(Some(&call.timezone), &call.to, "UTC");
        if !switchboard_calling::is_open(schedule, &zone, now) {
            match switchboard_calling::next_opening(schedule, &zone, now) {
                Some(at) => store.postpone_call(call.call_id, at).await?,
                None => {
                    // The campaign ends before this recipient's next window.
                    end_without_dial(engine, call, CallOutcome::Canceled).await?;
                }
            }
            return Ok(false);
        }
    }
    Ok(true)
}

/// What a recorded attempt leads to: its dial at its slot of the number's pace, or, refused, its
/// place in the pace given back and a cap marked full for the rest of the round.
async fn begun(
    engine: &Engine,
    round: &mut Round,
    finished: Result<(Beginning, Result<Begin, StoreError>), tokio::task::JoinError>,
) -> Result<(), StoreError> {
    let pacing = &engine.pipeline.calls.pacing;
    let (began, result) = match finished {
        Ok(finished) => finished,
        Err(error) => {
            // Whether its attempt was recorded is unknown: an open one is the reconciler's.
            tracing::error!(%error, "recording an attempt panicked");
            return Ok(());
        }
    };
    let Beginning {
        call,
        channel,
        from_number,
        pace,
    } = began;
    match result {
        Ok(Begin::Begun(begun)) => {
            let wait = pacing.reserve(&from_number, pace).await;
            let engine = engine.clone();
            tokio::spawn(async move {
                // The attempt is recorded: a crash during the wait leaves it to the
                // reconciler, like any dial that never answered.
                tokio::time::sleep(wait).await;
                dial(&engine, &channel, call.call_id, begun.attempt_id, &call.to).await;
            });
            return Ok(());
        }
        Ok(Begin::TenantFull) => {
            round.full_tenants.insert(call.tenant_id);
        }
        Ok(Begin::CampaignFull) => {
            round.full_campaigns.extend(call.campaign_id);
        }
        Ok(Begin::NotQueued | Begin::NotRunning) => {}
        Err(error) => {
            pacing.release(&from_number);
            return Err(error);
        }
    }
    pacing.release(&from_number);
    Ok(())
}

async fn end_without_dial(
    engine: &Engine,
    call: &DueCall,
    outcome: CallOutcome,
) -> Result<(), StoreError> {
    let (ended, campaign_completed) = engine.store.end_queued_call(call.call_id, outcome).await?;
    if ended {
        events::ended_without_dial(
            engine,
            call.tenant_id,
            call.call_id,
            call.campaign_id,
            outcome,
        );
        if let Some(campaign_id) = call.campaign_id
            && campaign_completed
        {
            events::campaign_changed(engine, call.tenant_id, campaign_id, true).await;
        }
    }
    Ok(())
}

/// Dials a recorded attempt under its id as idempotency key: again after an ambiguous failure
/// (the provider answers a repeated key with the call it already made), at most a few times;
/// past them the attempt stays open for the reconciler. A refusal closes it as `failed`.
pub(super) async fn dial(
    engine: &Engine,
    channel: &Channel,
    call_id: CallId,
    attempt_id: CallAttemptId,
    to: &str,
) {
    let Ok(voice) = voice_config(&channel.config) else {
        return;
    };
    let config = &engine.pipeline.config.calls;
    let base = config.public_base_url.trim_end_matches('/');
    let status_callback = format!(
        "{base}/webhooks/voice/{}/status?attempt={attempt_id}",
        channel.id
    );
    let separator = if voice.answer_url.contains('?') {
        '&'
    } else {
        '?'
    };
    let answer_url = format!(
        "{}{separator}callId={call_id}&attempt={attempt_id}",
        voice.answer_url
    );
    let key = attempt_id.to_string();
    let request = Dial {
        idempotency_key: &key,
        to,
        answer_url: &answer_url,
        status_callback: &status_callback,
        machine_detection: config.machine_detection,
        timeout_seconds: u32::try_from(config.ring_timeout.as_secs()).unwrap_or(30),
    };
    let mut backoff = Duration::from_millis(500);
    for _ in 0..3 {
        let update = match engine.pipeline.sender.dial(channel, &request).await {
            Ok(dialed) => AttemptUpdate {
                attempt_id: Some(attempt_id),
                provider_call_id: Some(dialed.provider_call_id),
                status: dialed.status,
                duration_seconds: None,
                answered_by: None,
            },
            Err(SendError::Retryable { .. }) => {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                continue;
            }
            Err(error) => {
                tracing::warn!(%call_id, %attempt_id, %error, "the provider refused a dial");
                AttemptUpdate {
                    attempt_id: Some(attempt_id),
                    provider_call_id: None,
                    status: AttemptStatus::Failed,
                    duration_seconds: None,
                    answered_by: None,
                }
            }
        };
        engine.apply_attempt_update(voice, update).await;
        return;
    }
    tracing::warn!(%call_id, %attempt_id, "dial unanswered; the reconciler will ask again");
}
