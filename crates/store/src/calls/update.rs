//! What the provider says of an attempt, applied in one transaction: its call id if new, its
//! status if that moves forward (repeated and late words change nothing), and when the status
//! is final, the outcome, the debit of a connected attempt (per started minute, under the
//! ledger key `call:<attempt id>`) and the call's next step: queued again for a retry by its
//! outcome's rule, or ended (and its campaign completed when it was the last).

use switchboard_core::{
    AttemptStatus, CallAttempt, CallId, CallOutcome, CallStatus, Credits, RetryPolicy, TenantId,
};
use switchboard_database::{Db, RowExt, millis, now, query};

use super::attempts::{AttemptChange, AttemptUpdate, CallPricing};
use super::{ATTEMPT_COLUMNS, attempt_from_row};
use crate::StoreError;
use crate::pipeline::turn::debits::{Overdraft, debit_under};

pub(super) async fn update_attempt(
    connection: &mut Db<'_>,
    update: AttemptUpdate,
    pricing: CallPricing,
) -> Result<AttemptChange, StoreError> {
    let at = now();
    let found =
        match (&update.attempt_id, &update.provider_call_id) {
            (Some(id), _) => query(format!(
                "SELECT {ATTEMPT_COLUMNS}, tenant_id, status_rank FROM call_attempts WHERE id = $1"
            ))
            .bind(id.to_string())
            .fetch_optional(&mut *connection)
            .await?,
            (None, Some(provider_id)) => {
                query(format!(
                    "SELECT {ATTEMPT_COLUMNS}, tenant_id, status_rank FROM call_attempts
                 WHERE provider_call_id = $1"
                ))
                .bind(provider_id)
                .fetch_optional(&mut *connection)
                .await?
            }
            (None, None) => None,
        };
    let row = found.ok_or(StoreError::not_found("call attempt"))?;
    let mut attempt = attempt_from_row(&row)?;
    let call_id: CallId = row.parsed("call_id")?;
    let tenant_id: TenantId = row.parsed("tenant_id")?;
    let rank = row.integer("status_rank")?;
    if attempt.provider_call_id.is_none() {
        attempt
            .provider_call_id
            .clone_from(&update.provider_call_id);
    }
    let moved = i64::from(update.status.rank()) > rank;
    if moved {
        attempt.status = update.status;
        if update.status == AttemptStatus::InProgress {
            attempt.answered_at = Some(at);
        }
        if update.answered_by.is_some() {
            attempt.answered_by.clone_from(&update.answered_by);
        }
        if update.status.is_final() {
            attempt.ended_at = Some(at);
            attempt.duration_seconds = update.duration_seconds.or(Some(0));
            let outcome =
                switchboard_calling::outcome_of(update.status, attempt.answered_by.as_deref());
            attempt.outcome = outcome;
            if matches!(
                outcome,
                Some(CallOutcome::Completed | CallOutcome::Voicemail)
            ) {
                attempt.credits =
                    switchboard_calling::billable_minutes(attempt.duration_seconds.unwrap_or(0))
                        * pricing.credits_per_minute;
            }
        }
    }
    query(
        "UPDATE call_attempts SET provider_call_id = $2, status = $3, status_rank = $4,
             outcome = $5, answered_by = $6, answered_at = $7, ended_at = $8,
             duration_seconds = $9, credits = $10, heard_at = $11
         WHERE id = $1",
    )
    .bind(attempt.id.to_string())
    .bind(attempt.provider_call_id.clone())
    .bind(attempt.status.as_str())
    .bind(i64::from(attempt.status.rank()).max(rank))
    .bind(attempt.outcome.map(|outcome| outcome.as_str()))
    .bind(attempt.answered_by.clone())
    .bind(attempt.answered_at.map(millis))
    .bind(attempt.ended_at.map(millis))
    .bind(attempt.duration_seconds)
    .bind(attempt.credits)
    .bind(millis(at))
    .execute(&mut *connection)
    .await?;

    let call = query(
        "SELECT c.status, c.outcome, c.campaign_id, c.conversation_id, c.retry, c.attempts,
             p.retry AS campaign_retry, p.status AS campaign_status
         FROM calls c LEFT JOIN campaigns p ON p.id = c.campaign_id WHERE c.id = $1",
    )
    .bind(call_id.to_string())
    .fetch_one(&mut *connection)
    .await?;
    let mut change = AttemptChange {
        tenant_id,
        call_id,
        campaign_id: call.optional_parsed("campaign_id")?,
        conversation_id: call.optional_parsed("conversation_id")?,
        moved,
        call_status: call.parsed("status")?,
        call_outcome: call.optional_parsed("outcome")?,
        retry_at: None,
        campaign_completed: false,
        attempt,
    };
    if !moved {
        return Ok(change);
    }
    // A connected attempt is paid for as it closes, whatever becomes of its call.
    if change.attempt.status.is_final() && change.attempt.credits > 0 {
        debit_call(connection, tenant_id, &change.attempt).await?;
    }
    // Only the call's latest attempt steers it; an older one's late word is history.
    let latest = call.integer("attempts")? == change.attempt.number;
    if !latest || change.call_status == CallStatus::Ended {
        return Ok(change);
    }
    let attempt = &change.attempt;
    if attempt.status.is_final() {
        let policy: RetryPolicy = match call
            .optional_text("campaign_retry")?
            .or(call.optional_text("retry")?)
        {
            Some(text) => serde_json::from_str(&text).map_err(|error| StoreError::Corrupt {
                column: "retry",
                reason: error.to_string(),
            })?,
            None => RetryPolicy::default(),
        };
        let outcomes: Vec<CallOutcome> = query(
            "SELECT outcome FROM call_attempts WHERE call_id = $1 AND outcome IS NOT NULL
             ORDER BY number",
        )
        .bind(call_id.to_string())
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(|row| row.parsed("outcome"))
        .collect::<Result<_, _>>()?;
        change.call_outcome = attempt.outcome.or(Some(CallOutcome::Unknown));
        let cancelled = call.optional_text("campaign_status")?.as_deref() == Some("cancelled");
        if !cancelled {
            change.retry_at = switchboard_calling::next_attempt_at(&policy, &outcomes, at);
        }
        change.call_status = if change.retry_at.is_some() {
            CallStatus::Queued
        } else {
            CallStatus::Ended
        };
    } else {
        change.call_status = match attempt.status {
            AttemptStatus::Ringing => CallStatus::Ringing,
            AttemptStatus::InProgress => CallStatus::InProgress,
            _ => change.call_status,
        };
    }
    query("UPDATE calls SET status = $2, outcome = $3, due_at = $4, updated_at = $5 WHERE id = $1")
        .bind(call_id.to_string())
        .bind(change.call_status.as_str())
        .bind(change.call_outcome.map(|outcome| outcome.as_str()))
        .bind(change.retry_at.map(millis))
        .bind(millis(at))
        .execute(&mut *connection)
        .await?;
    if change.call_status == CallStatus::Ended
        && let Some(campaign_id) = change.campaign_id
    {
        change.campaign_completed =
            super::campaigns::complete_if_done(connection, campaign_id).await?;
    }
    Ok(change)
}

/// Debits a connected attempt's minutes once. The call has happened, so the debit is taken
/// even if it leaves the balance below zero; the dialer stops dialling before that.
async fn debit_call(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    attempt: &CallAttempt,
) -> Result<(), StoreError> {
    let reason = format!("call minutes ({} s)", attempt.duration_seconds.unwrap_or(0));
    debit_under(
        connection,
        tenant_id,
        Credits(attempt.credits),
        format!("call:{}", attempt.id),
        reason,
        Overdraft::Allowed,
    )
    .await
}
