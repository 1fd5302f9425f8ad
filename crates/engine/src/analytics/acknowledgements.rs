//! Webhook acknowledgement latency, from a webhook's arrival to its answer once the body is
//! durable: gathered in memory per tenant, channel and minute, and added to the roll-ups by the
//! fold loop. They are measurements, not data: a crash loses the last half second's.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use switchboard_analytics::{Distribution, Rollup, Tier};
use switchboard_core::{AgentId, ChannelId, TenantId, Timestamp};
use switchboard_database::millis;
use switchboard_store::Measured;

/// Latencies measured and not yet added to the roll-ups.
#[derive(Default)]
pub(crate) struct Acknowledgements {
    pending: Mutex<HashMap<Minute, (Option<AgentId>, Rollup)>>,
}

/// A tenant's channel in one minute (its start, Unix milliseconds).
type Minute = (TenantId, ChannelId, i64);

impl Acknowledgements {
    pub(crate) fn record(
        &self,
        tenant_id: TenantId,
        channel_id: ChannelId,
        agent_id: Option<AgentId>,
        received_at: Timestamp,
        answered_at: Timestamp,
    ) {
        let latency = (answered_at - received_at).whole_milliseconds();
        let minute = Tier::Minute.bucket_of(millis(answered_at));
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let (_, rollup) = pending
            .entry((tenant_id, channel_id, minute))
            .or_insert_with(|| (agent_id, Rollup::default()));
        rollup.record(
            Distribution::WebhookAck,
            u64::try_from(latency).unwrap_or_default(),
        );
    }

    /// Everything measured since the last call.
    pub(crate) fn take(&self) -> Vec<Measured> {
        let pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        pending
            .into_iter()
            .map(
                |((tenant_id, channel_id, at), (agent_id, rollup))| Measured {
                    tenant_id,
                    at,
                    channel_id,
                    agent_id,
                    rollup,
                },
            )
            .collect()
    }

    /// Puts back measurements that could not be stored, for the next attempt.
    pub(crate) fn restore(&self, measured: Vec<Measured>) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        for measured in measured {
            let (_, rollup) = pending
                .entry((measured.tenant_id, measured.channel_id, measured.at))
                .or_insert_with(|| (measured.agent_id, Rollup::default()));
            rollup.merge(&measured.rollup);
        }
    }
}
