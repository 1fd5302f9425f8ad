//! What the dialer reads and decides: the calls due now (with their campaign's rules), the
//! calls on the line per campaign and tenant (for the concurrency caps), a call moved to its
//! window's next opening, and a call ended without a dial (do-not-call, no opening left,
//! no credits when its campaign ended).

use std::collections::HashMap;

use switchboard_core::{
    AgentId, CallId, CallOutcome, CampaignId, CampaignSchedule, ChannelId, TenantId, Timestamp,
};
use switchboard_database::{RowExt, millis, now, query};

use crate::{Store, StoreError};

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

/// Calls on the line (dialing, ringing or in progress), per campaign and per tenant.
#[derive(Debug, Clone, Default)]
pub struct OpenCalls {
    pub per_campaign: HashMap<CampaignId, i64>,
    pub per_tenant: HashMap<TenantId, i64>,
}

impl Store {
    /// Up to `limit` queued calls due by `at`, earliest first, leaving out those of campaigns
    /// that are not running.
    pub async fn due_calls(&self, at: Timestamp, limit: i64) -> Result<Vec<DueCall>, StoreError> {
        let rows = query(
            "SELECT c.id, c.tenant_id, c.channel_id, c.campaign_id, c.agent_id, c.to_number,
                 c.timezone, c.due_at, c.attempts, c.variables, p.schedule,
                 p.max_concurrent_calls, p.calls_per_second
             FROM calls c LEFT JOIN campaigns p ON p.id = c.campaign_id
             WHERE c.status = 'queued' AND c.due_at <= $1
               AND (c.campaign_id IS NULL OR p.status = 'running')
             ORDER BY c.due_at LIMIT $2",
        )
        .bind(millis(at))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let schedule = row
                    .optional_json("schedule")?
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(|error| StoreError::Corrupt {
                        column: "schedule",
                        reason: error.to_string(),
                    })?;
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

    /// Calls on the line now, counted per campaign and per tenant.
    pub async fn open_calls(&self) -> Result<OpenCalls, StoreError> {
        let rows = query(
            "SELECT tenant_id, campaign_id, COUNT(*) AS calls FROM calls
             WHERE status IN ('dialing', 'ringing', 'in-progress')
             GROUP BY tenant_id, campaign_id",
        )
        .fetch_all(self.reader())
        .await?;
        let mut open = OpenCalls::default();
        for row in &rows {
            let calls = row.integer("calls")?;
            *open.per_tenant.entry(row.parsed("tenant_id")?).or_default() += calls;
            if let Some(campaign_id) = row.optional_parsed("campaign_id")? {
                *open.per_campaign.entry(campaign_id).or_default() += calls;
            }
        }
        Ok(open)
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
