//! Channels and agents as recently read. Every message needs its channel (to verify the
//! webhook, to send the reply) and its agent, and both change rarely, so the pipeline keeps what
//! it read for a moment instead of reading it for every message.
//!
//! An entry is trusted for [`TRUSTED_FOR`]. A change made through this engine drops the entry at
//! once (a read already under way may put the old record back, for at most that time); a change
//! made by another node shows within that time. Only records that exist are kept: an unknown id
//! is read again every time, so ids sent at random cannot fill the memory.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use switchboard_core::{Agent, AgentId, Channel, ChannelId, TenantId};
use switchboard_store::StoreError;

use crate::Engine;

/// How long a record read is used without reading it again.
const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// The most records of one kind kept; past it, the table starts again empty.
const MAX_ENTRIES: usize = 10_000;

/// Records of one kind by id, each with the moment it was read.
pub(crate) struct Recent<K, V> {
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let (read_at, value) = entries.get(key)?;
        (read_at.elapsed() < TRUSTED_FOR).then(|| value.clone())
    }

    fn put(&self, key: K, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// The record under `key` as read lately, else as `read` finds it (and then kept, if it
    /// exists).
    async fn read_through(
        &self,
        key: K,
        read: impl Future<Output = Result<Option<V>, StoreError>>,
    ) -> Result<Option<V>, StoreError> {
        if let Some(value) = self.get(&key) {
            return Ok(Some(value));
        }
        let found = read.await?;
        if let Some(value) = &found {
            self.put(key, value.clone());
        }
        Ok(found)
    }

    fn forget(&self, key: &K) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

/// The channels and agents the pipeline has read lately.
#[derive(Default)]
pub(crate) struct RecentRecords {
    channels: Recent<ChannelId, Channel>,
    agents: Recent<AgentId, Agent>,
}

impl RecentRecords {
    /// Drops a channel changed here or, as another node says, elsewhere.
    pub(crate) fn drop_channel(&self, id: &ChannelId) {
        self.channels.forget(id);
    }

    /// Drops an agent changed here or elsewhere.
    pub(crate) fn drop_agent(&self, id: &AgentId) {
        self.agents.forget(id);
    }
}

impl Engine {
    /// A channel by id alone (webhooks name the channel, not the tenant).
    pub(crate) async fn recent_channel(
        &self,
        id: ChannelId,
    ) -> Result<Option<Channel>, StoreError> {
        self.pipeline
            .recent
            .channels
            .read_through(id, self.store.find_channel(id))
            .await
    }

    /// A channel of `tenant_id` (`NotFound` for another tenant's).
    pub(crate) async fn recent_tenant_channel(
        &self,
        tenant_id: TenantId,
        id: ChannelId,
    ) -> Result<Channel, StoreError> {
        match self.recent_channel(id).await? {
            Some(channel) if channel.tenant_id == tenant_id => Ok(channel),
            _ => Err(StoreError::NotFound { entity: "channel" }),
        }
    }

    /// An agent of `tenant_id` (`NotFound` for another tenant's).
    pub(crate) async fn recent_agent(
        &self,
        tenant_id: TenantId,
        id: AgentId,
    ) -> Result<Agent, StoreError> {
        let read = async { self.store.get_agent(tenant_id, id).await.map(Some) };
        match self.pipeline.recent.agents.read_through(id, read).await? {
            Some(agent) if agent.tenant_id == tenant_id => Ok(agent),
            _ => Err(StoreError::NotFound { entity: "agent" }),
        }
    }

    /// Drops a channel this engine changed or deleted, so the next message reads it again.
    pub(crate) fn forget_channel(&self, id: ChannelId) {
        self.pipeline.recent.drop_channel(&id);
        self.announce_channel_changed(id);
    }

    /// Drops an agent this engine changed or deleted.
    pub(crate) fn forget_agent(&self, id: AgentId) {
        self.pipeline.recent.drop_agent(&id);
        self.announce_agent_changed(id);
    }
}
