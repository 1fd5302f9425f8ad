//! Campaigns: created as a draft with one queued call per recipient (in one transaction),
//! started, paused, resumed and cancelled by their owner, completed when every call has ended.
//! Counts are read from the calls and attempts themselves, so they are never out of step.

use switchboard_core::{
    AgentId, Campaign, CampaignId, CampaignSchedule, CampaignStats, CampaignStatus, ChannelId,
    ContactId, Page, RetryPolicy, TenantId, Timestamp,
};
use switchboard_database::{Db, Row, RowExt, millis, now, query};

use super::{NewCall, insert_call};
use crate::table::Table;
use crate::{PageRequest, Store, StoreError};

const COLUMNS: &str = "id, tenant_id, name, channel_id, agent_id, status, schedule, retry,
    max_concurrent_calls, calls_per_second, waiting_for_credits, created_at, updated_at";

/// A campaign to create, with its recipients.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub channel_id: ChannelId,
    pub agent_id: Option<AgentId>,
    pub schedule: CampaignSchedule,
    pub retry: RetryPolicy,
    pub max_concurrent_calls: i64,
    pub calls_per_second: i64,
    pub recipients: Vec<CampaignRecipient>,
}

/// One contact of a campaign, as it will be called.
#[derive(Debug, Clone)]
pub struct CampaignRecipient {
    pub contact_id: ContactId,
    /// E.164.
    pub to: String,
    /// The recipient's IANA zone.
    pub timezone: String,
    pub variables: serde_json::Value,
}

fn campaign_from_row(row: &Row) -> Result<Campaign, StoreError> {
    let json =
        |column: &'static str| -> Result<serde_json::Value, StoreError> { Ok(row.json(column)?) };
    let corrupt = |column: &'static str| {
        move |error: serde_json::Error| StoreError::Corrupt {
            column,
            reason: error.to_string(),
        }
    };
    Ok(Campaign {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        name: row.text("name")?,
        channel_id: row.parsed("channel_id")?,
        agent_id: row.optional_parsed("agent_id")?,
        status: row.parsed("status")?,
        schedule: serde_json::from_value(json("schedule")?).map_err(corrupt("schedule"))?,
        retry: serde_json::from_value(json("retry")?).map_err(corrupt("retry"))?,
        max_concurrent_calls: row.integer("max_concurrent_calls")?,
        calls_per_second: row.integer("calls_per_second")?,
        waiting_for_credits: row.integer("waiting_for_credits")? != 0,
        stats: CampaignStats::default(),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

const CAMPAIGNS: Table<Campaign> = Table {
    name: "campaigns",
    entity: "campaign",
    columns: COLUMNS,
    live: "1 = 1",
    decode: campaign_from_row,
    id: |campaign| campaign.id.to_string(),
};

impl Store {
    /// Creates a draft campaign and one queued call per recipient, due at the schedule's start
    /// (or now).
    pub async fn create_campaign(
        &self,
        tenant_id: TenantId,
        new: NewCampaign,
    ) -> Result<Campaign, StoreError> {
        let id = CampaignId::new();
        let at = millis(now());
        let due_at: Timestamp = new.schedule.start_at.unwrap_or_else(now);
        let schedule = serde_json::to_string(&new.schedule).unwrap_or_default();
        let retry = serde_json::to_string(&new.retry).unwrap_or_default();
        self.write(move |connection| {
            Box::pin(async move {
                query(format!(
                    "INSERT INTO campaigns ({COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8, $9, 0, $10, $10)"
                ))
                .bind(id.to_string())
                .bind(tenant_id.to_string())
                .bind(new.name)
                .bind(new.channel_id.to_string())
                .bind(new.agent_id.map(|id| id.to_string()))
                .bind(schedule)
                .bind(retry)
                .bind(new.max_concurrent_calls)
                .bind(new.calls_per_second)
                .bind(at)
                .execute(&mut *connection)
                .await?;
                for recipient in new.recipients {
                    let call = NewCall {
                        channel_id: new.channel_id,
                        contact_id: recipient.contact_id,
                        agent_id: new.agent_id,
                        to: recipient.to,
                        timezone: recipient.timezone,
                        due_at,
                        variables: recipient.variables,
                        retry: None,
                    };
                    insert_call(connection, tenant_id, Some(id), call).await?;
                }
                Ok(())
            })
        })
        .await?;
        self.get_campaign(tenant_id, id).await
    }

    /// One campaign with its live counts.
    pub async fn get_campaign(
        &self,
        tenant_id: TenantId,
        id: CampaignId,
    ) -> Result<Campaign, StoreError> {
        let mut campaign = self
            .fetch_row(&CAMPAIGNS, tenant_id, id.to_string())
            .await?;
        campaign.stats = self.campaign_stats(id).await?;
        Ok(campaign)
    }

    /// The tenant's campaigns, oldest first, with their counts.
    pub async fn list_campaigns(
        &self,
        tenant_id: TenantId,
        page: &PageRequest,
    ) -> Result<Page<Campaign>, StoreError> {
        let mut campaigns = self.fetch_page(&CAMPAIGNS, tenant_id, page).await?;
        for campaign in &mut campaigns.data {
            campaign.stats = self.campaign_stats(campaign.id).await?;
        }
        Ok(campaigns)
    }

    /// Moves a campaign whose status is one of `from` to `to`; `false` (nothing changed) when
    /// its status is another. Cancelling ends every call still queued (`canceled`); calls on the
    /// line finish and are not retried.
    pub async fn control_campaign(
        &self,
        tenant_id: TenantId,
        id: CampaignId,
        from: &'static [CampaignStatus],
        to: CampaignStatus,
    ) -> Result<bool, StoreError> {
        let at = millis(now());
        let from: Vec<&'static str> = from.iter().map(CampaignStatus::as_str).collect();
        self.write(move |connection| {
            Box::pin(async move {
                let current: String =
                    query("SELECT status FROM campaigns WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant_id.to_string())
                        .bind(id.to_string())
                        .fetch_optional_scalar(&mut *connection)
                        .await?
                        .ok_or(StoreError::not_found("campaign"))?;
                if !from.contains(&current.as_str()) {
                    return Ok(false);
                }
                query(
                    "UPDATE campaigns SET status = $3, updated_at = $4,
                         completed_at = CASE WHEN $3 = 'cancelled' THEN $4 ELSE completed_at END
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant_id.to_string())
                .bind(id.to_string())
                .bind(to.as_str())
                .bind(at)
                .execute(&mut *connection)
                .await?;
                if to == CampaignStatus::Running {
                    // A campaign with nobody left to call is done as it starts.
                    complete_if_done(connection, id).await?;
                } else if to == CampaignStatus::Cancelled {
                    query(
                        "UPDATE calls SET status = 'ended', outcome = 'canceled', due_at = NULL,
                             updated_at = $2
                         WHERE campaign_id = $1 AND status = 'queued'",
                    )
                    .bind(id.to_string())
                    .bind(at)
                    .execute(connection)
                    .await?;
                }
                Ok(true)
            })
        })
        .await
    }

    /// Marks whether a running campaign waits for credits; `true` when that changed.
    pub async fn set_waiting_for_credits(
        &self,
        id: CampaignId,
        waiting: bool,
    ) -> Result<bool, StoreError> {
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                let result = query(
                    "UPDATE campaigns SET waiting_for_credits = $2, updated_at = $3
                     WHERE id = $1 AND waiting_for_credits <> $2",
                )
                .bind(id.to_string())
                .bind(i64::from(waiting))
                .bind(at)
                .execute(connection)
                .await?;
                Ok(result.rows_affected() > 0)
            })
        })
        .await
    }

    /// A campaign's calls counted by status and outcome, and its attempts' figures.
    pub async fn campaign_stats(&self, id: CampaignId) -> Result<CampaignStats, StoreError> {
        let rows = query(
            "SELECT status, outcome, COUNT(*) AS calls, CAST(SUM(attempts) AS BIGINT) AS attempts
             FROM calls WHERE campaign_id = $1 GROUP BY status, outcome",
        )
        .bind(id.to_string())
        .fetch_all(self.reader())
        .await?;
        let mut stats = CampaignStats::default();
        let mut reached = 0;
        for row in &rows {
            let calls = row.integer("calls")?;
            stats.total += calls;
            stats.attempts += row.optional_integer("attempts")?.unwrap_or(0);
            let status: String = row.text("status")?;
            match status.as_str() {
                "queued" => stats.queued += calls,
                "ended" => {
                    let outcome: Option<String> = row.optional_text("outcome")?;
                    let slot = match outcome.as_deref() {
                        Some("completed") => &mut stats.completed,
                        Some("no-answer") => &mut stats.no_answer,
                        Some("busy") => &mut stats.busy,
                        Some("failed") => &mut stats.failed,
                        Some("voicemail") => &mut stats.voicemail,
                        Some("do-not-call") => &mut stats.do_not_call,
                        Some("canceled") => &mut stats.canceled,
                        Some("insufficient-credits") => &mut stats.insufficient_credits,
                        _ => &mut stats.unknown,
                    };
                    *slot += calls;
                }
                _ => stats.in_progress += calls,
            }
            if status == "ended" && row.optional_integer("attempts")?.unwrap_or(0) > 0 {
                reached += calls;
            }
        }
        if reached > 0 {
            stats.answer_rate = Some(stats.completed as f64 / reached as f64);
        }
        if stats.total > 0 {
            stats.attempts_per_contact = Some(stats.attempts as f64 / stats.total as f64);
        }
        let durations = query(
            "SELECT COUNT(*) AS answered, CAST(SUM(a.duration_seconds) AS BIGINT) AS seconds
             FROM call_attempts a JOIN calls c ON c.id = a.call_id
             WHERE c.campaign_id = $1 AND a.outcome = 'completed'",
        )
        .bind(id.to_string())
        .fetch_one(self.reader())
        .await?;
        let answered = durations.integer("answered")?;
        if answered > 0 {
            let seconds = durations.optional_integer("seconds")?.unwrap_or(0);
            stats.average_duration_seconds = Some(seconds as f64 / answered as f64);
            let rank = (answered * 95 + 99) / 100 - 1;
            let p95: Option<i64> = query(
                "SELECT a.duration_seconds FROM call_attempts a JOIN calls c ON c.id = a.call_id
                 WHERE c.campaign_id = $1 AND a.outcome = 'completed'
                 ORDER BY a.duration_seconds LIMIT 1 OFFSET $2",
            )
            .bind(id.to_string())
            .bind(rank)
            .fetch_optional_scalar(self.reader())
            .await?;
            stats.p95_duration_seconds = p95.map(|seconds| seconds as f64);
        }
        Ok(stats)
    }
}

/// Completes a running or paused campaign none of whose calls is left to end; `true` when it
/// did. On PostgreSQL the campaign's row is locked first, in a statement of its own: two
/// transactions ending its last two calls at once then check one after the other, the second
/// seeing the first's call ended (checked together, each would see the other's call still
/// open, and neither would complete the campaign).
pub(super) async fn complete_if_done(
    connection: &mut Db<'_>,
    id: CampaignId,
) -> Result<bool, StoreError> {
    if connection.is_postgres() {
        query("SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE")
            .bind(id.to_string())
            .execute(&mut *connection)
            .await?;
    }
    let at = millis(now());
    let result = query(
        "UPDATE campaigns SET status = 'completed', updated_at = $2, completed_at = $2
         WHERE id = $1 AND status IN ('running', 'paused')
           AND NOT EXISTS (SELECT 1 FROM calls WHERE campaign_id = $1 AND status <> 'ended')",
    )
    .bind(id.to_string())
    .bind(at)
    .execute(connection)
    .await?;
    Ok(result.rows_affected() > 0)
}
