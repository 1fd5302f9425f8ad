//! Measurements made outside the database — a webhook's acknowledgement latency is known only
//! once its answer is ready — added to the roll-ups by the fold, beside its facts
//! ([`crate::Store::fold_analytics`]).

use std::collections::BTreeMap;

use switchboard_analytics::{Rollup, Tier};
use switchboard_core::{AgentId, ChannelId, TenantId};

use super::RollupKey;

/// What was measured in one minute (`at`, Unix milliseconds) on one channel.
#[derive(Debug, Clone)]
pub struct Measured {
    pub tenant_id: TenantId,
    pub at: i64,
    pub channel_id: ChannelId,
    pub agent_id: Option<AgentId>,
    pub rollup: Rollup,
}

/// Measurements as minute roll-ups, one per tenant, minute, channel and agent: what a fold adds
/// to the roll-ups beside its facts.
pub(super) fn minutes_of(measured: Vec<Measured>) -> BTreeMap<RollupKey, Rollup> {
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
    minutes
}
