//! Measurements made outside the database — a webhook's acknowledgement latency is known only
//! once its answer is ready — added to the roll-ups in batches by whoever collected them.

use std::collections::BTreeMap;

use switchboard_analytics::{Rollup, Tier};
use switchboard_core::{AgentId, ChannelId, TenantId};

use super::RollupKey;
use super::fold::{WhenBusy, lock_folds};
use super::rollups::add_to_tiers;
use crate::{Store, StoreError};

/// What was measured in one minute (`at`, Unix milliseconds) on one channel.
#[derive(Debug, Clone)]
pub struct Measured {
    pub tenant_id: TenantId,
    pub at: i64,
    pub channel_id: ChannelId,
    pub agent_id: Option<AgentId>,
    pub rollup: Rollup,
}

impl Store {
    /// Adds measurements to the roll-ups, in one transaction.
    pub async fn add_measurements(&self, measured: Vec<Measured>) -> Result<(), StoreError> {
        let mut minutes: BTreeMap<RollupKey, Rollup> = BTreeMap::new();
        for measured in measured {
            let key = RollupKey {
                tenant_id: measured.tenant_id.to_string(),
                tier: Tier::Minute.name(),
                bucket: Tier::Minute.bucket_of(measured.at),
                channel_id: measured.channel_id.to_string(),
                agent_id: measured
                    .agent_id
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                campaign_id: String::new(),
            };
            minutes.entry(key).or_default().merge(&measured.rollup);
        }
        if minutes.is_empty() {
            return Ok(());
        }
        self.write(move |connection| {
            Box::pin(async move {
                lock_folds(connection, WhenBusy::Wait).await?;
                add_to_tiers(connection, &minutes).await
            })
        })
        .await
    }
}
