//! Call analytics, read from the attempts themselves (calls are few beside messages): the
//! attempts that ended in a period, by outcome, and the durations of those a person answered
//! as a percentile sketch.

use switchboard_analytics::Sketch;
use switchboard_core::{CallOutcome, CampaignId, ChannelId, TenantId, Timestamp};
use switchboard_database::{RowExt, millis, query};

use crate::{Store, StoreError};

/// Which attempts count.
#[derive(Debug, Clone, Default)]
pub struct CallAnalyticsFilter {
    pub campaign_id: Option<CampaignId>,
    pub channel_id: Option<ChannelId>,
}

/// What the attempts that ended in a period came to.
#[derive(Debug, Clone, Default)]
pub struct CallTotals {
    /// Attempts ended, by outcome.
    pub outcomes: Vec<(CallOutcome, i64)>,
    /// Seconds of the attempts answered by a person.
    pub answered_seconds: Sketch,
    /// Credits the period's calls cost.
    pub credits: i64,
}

impl Store {
    /// The tenant's attempts that ended in `[from, to)`.
    pub async fn call_totals(
        &self,
        tenant_id: TenantId,
        from: Timestamp,
        to: Timestamp,
        filter: &CallAnalyticsFilter,
    ) -> Result<CallTotals, StoreError> {
        let scope = "FROM call_attempts a JOIN calls c ON c.id = a.call_id
             WHERE a.tenant_id = $1 AND a.ended_at >= $2 AND a.ended_at < $3
               AND ($4 = '' OR c.campaign_id = $4) AND ($5 = '' OR c.channel_id = $5)";
        let bind = |statement: switchboard_database::Query| {
            statement
                .bind(tenant_id.to_string())
                .bind(millis(from))
                .bind(millis(to))
                .bind(
                    filter
                        .campaign_id
                        .map(|id| id.to_string())
                        .unwrap_or_default(),
                )
                .bind(
                    filter
                        .channel_id
                        .map(|id| id.to_string())
                        .unwrap_or_default(),
                )
        };
        let rows = bind(query(format!(
            "SELECT a.outcome, COUNT(*) AS attempts, CAST(SUM(a.credits) AS BIGINT) AS credits
             {scope} AND a.outcome IS NOT NULL GROUP BY a.outcome"
        )))
        .fetch_all(self.reader())
        .await?;
        let mut totals = CallTotals::default();
        for row in &rows {
            totals.credits += row.optional_integer("credits")?.unwrap_or(0);
            totals
                .outcomes
                .push((row.parsed("outcome")?, row.integer("attempts")?));
        }
        let durations = bind(query(format!(
            "SELECT a.duration_seconds {scope} AND a.outcome = 'completed'"
        )))
        .fetch_all(self.reader())
        .await?;
        for row in &durations {
            let seconds = row.optional_integer("duration_seconds")?.unwrap_or(0);
            totals
                .answered_seconds
                .insert(u64::try_from(seconds).unwrap_or_default());
        }
        Ok(totals)
    }
}
