//! What the dialer reads and decides: the calls due now (with their campaign's rules), a call
//! moved to its window's next opening, and a call ended without a dial (do-not-call, or no
//! opening left before its campaign's end).

use switchboard_core::{
    AgentId, CallId, CallOutcome, CampaignId, CampaignSchedule, ChannelId, TenantId, Timestamp,
};
use switchboard_database::{RowExt, millis, now, query};

use crate::{Store, StoreError};

const DUE_COLUMNS: &str = "c.id, c.tenant_id, c.channel_id, c.campaign_id, c.agent_id,
    c.to_number, c.timezone, c.due_at, c.attempts, c.variables, p.schedule,
    p.max_concurrent_calls, p.calls_per_second";

/// A queued call whose time has come, of a running campaign or of none.
#[derive(Debug, Clone)]
pub struct DueCall {
    pub call_id: CallId,
    pub tenant_id: TenantId,
    pub channel_id: ChannelId,
    pub campaign_id: Option<CampaignId>,
    pub agent_id: Option<AgentId>,
    pub to: String,
    pub timezone: String,
    pub due_at: Timestamp,
    /// Attempts made so far.
    pub attempts: i64,
    /// The campaign's rules, for a campaign's call.
    pub schedule: Option<CampaignSchedule>,
    pub max_concurrent_calls: Option<i64>,
    pub calls_per_second: Option<i64>,
    pub variables: serde_json::Value,
}

impl Store {
    /// Queued calls due by `at`, earliest first: up to `limit` calls of no campaign, and up to
    /// `limit` of each running campaign (each read by its own index range, so the queued calls
    /// of paused or draft campaigns cost nothing).
    pub async fn due_calls(&self, at: Timestamp, limit: i64) -> Result<Vec<DueCall>, StoreError> {
        let mut rows = query(format!(
            "SELECT {DUE_COLUMNS} FROM calls c LEFT JOIN campaigns p ON p.id = c.campaign_id
             WHERE c.campaign_id IS NULL AND c.status = 'queued' AND c.due_at <= $1
             ORDER BY c.due_at LIMIT $2"
        ))
        .bind(millis(at))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        let running: Vec<String> = query("SELECT id FROM campaigns WHERE status = 'running'")
            .fetch_scalars(self.reader())
            .await?;
        for campaign_id in running {
            rows.extend(
                query(format!(
                    "SELECT {DUE_COLUMNS} FROM calls c JOIN campaigns p ON p.id = c.campaign_id
                     WHERE c.campaign_id = $1 AND c.status = 'queued' AND c.due_at <= $2
                     ORDER BY c.due_at LIMIT $3"
                ))
                .bind(campaign_id)
                .bind(millis(at))
                .bind(limit)
                .fetch_all(self.reader())
                .await?,
            );
        }
        rows.iter()
            .map(|row| {
                let schedule = row.optional_json("schedule")?;
                Ok(DueCall {
                    call_id: row.parsed("id")?,
                    tenant_id: row.parsed("tenant_id")?,
                    channel_id: row.parsed("channel_id")?,
                    campaign_id: row.optional_parsed("campaign_id")?,
                    agent_id: row.optional_parsed("agent_id")?,
                    to: row.text("to_number")?,
                    timezone: row.text("timezone")?,
                    due_at: row.time("due_at")?,
                    attempts: row.integer("attempts")?,
                    schedule,
                    max_concurrent_calls: row.optional_integer("max_concurrent_calls")?,
                    calls_per_second: row.optional_integer("calls_per_second")?,
                    variables: row.json("variables")?,
                })
            })
            .collect()
    }

    /// Moves a queued call's next attempt to `due_at` (its window's next opening).
    pub async fn postpone_call(&self, id: CallId, due_at: Timestamp) -> Result<(), StoreError> {
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                query(
                    "UPDATE calls SET due_at = $2, updated_at = $3
                     WHERE id = $1 AND status = 'queued'",
                )
                .bind(id.to_string())
                .bind(millis(due_at))
                .bind(at)
                .execute(connection)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Ends a queued call without dialling it; returns whether it ended now (it was still
    /// queued) and whether its campaign completed with it.
    pub async fn end_queued_call(
        &self,
        id: CallId,
        outcome: CallOutcome,
    ) -> Result<(bool, bool), StoreError> {
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                let campaign: Option<Option<String>> = query(
                    "UPDATE calls SET status = 'ended', outcome = $2, due_at = NULL,
                         updated_at = $3
                     WHERE id = $1 AND status = 'queued' RETURNING campaign_id",
                )
                .bind(id.to_string())
                .bind(outcome.as_str())
                .bind(at)
                .fetch_optional_scalar(&mut *connection)
                .await?;
                let Some(campaign) = campaign else {
                    return Ok((false, false));
                };
                let completed = match campaign.and_then(|id| id.parse().ok()) {
                    Some(campaign_id) => {
                        super::campaigns::complete_if_done(connection, campaign_id).await?
                    }
                    None => false,
                };
                Ok((true, completed))
            })
        })
        .await
    }

    /// Whether `phone` is on the tenant's do-not-call list.
    pub async fn is_do_not_call(
        &self,
        tenant_id: TenantId,
        phone: &str,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> =
            query("SELECT 1 FROM do_not_call WHERE tenant_id = $1 AND phone = $2")
                .bind(tenant_id.to_string())
                .bind(phone)
                .fetch_optional_scalar(self.reader())
                .await?;
        Ok(found.is_some())
    }
}
