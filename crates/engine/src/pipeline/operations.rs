//! What operators see of the pipeline: queue statistics, dead letters, runs; and the live
//! events it publishes.

use switchboard_core::{
    AuditAction, Caller, ConversationId, Page, Permission, QueueEntry, QueueEntryId, Run, RunId,
};
use switchboard_queue::entries;
use switchboard_queue::{QueueCounts, QueueStats};
use switchboard_store::PageRequest;

use crate::audit::Change;
use crate::{Engine, EngineError, require};

/// Queue statistics: this node's dispatcher (platform admins) and stored entries by state.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueReport {
    /// Entries of the caller's tenant (every tenant's for platform admins) by state.
    pub stored: QueueCounts,
    /// The node's dispatcher: depth, in flight, rates (platform admins only).
    pub node: Option<QueueStats>,
}

impl Engine {
    pub async fn queue_stats(&self, caller: &Caller) -> Result<QueueReport, EngineError> {
        require(caller, Permission::ManageTenant)?;
        let everyone = caller.may(Permission::ManageTenants);
        let tenant_id = (!everyone).then_some(caller.tenant_id);
        let mut stored = entries::counts(self.store.database(), tenant_id).await?;
        let accepted = self.store.count_accepted(tenant_id).await?;
        stored.accepted = i64::try_from(accepted).unwrap_or(i64::MAX);
        let node = if everyone {
            self.pipeline.queue.get().map(|queue| queue.stats())
        } else {
            None
        };
        Ok(QueueReport { stored, node })
    }

    pub async fn list_dead_letters(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<QueueEntry>, EngineError> {
        require(caller, Permission::ManageTenant)?;
        Ok(entries::list_dead(self.store.database(), caller.tenant_id, page).await?)
    }

    /// Puts a dead letter back at the end of its key with fresh attempts.
    pub async fn retry_dead_letter(
        &self,
        caller: &Caller,
        id: QueueEntryId,
    ) -> Result<QueueEntry, EngineError> {
        require(caller, Permission::ManageTenant)?;
        let queue = self.queue()?;
        let database = self.store.database();
        let write = |registrar| entries::requeue_dead(database, caller.tenant_id, id, registrar);
        let entry = self.commit_queued(queue, write, |_| &[]).await?;
        self.audit(
            caller,
            Change::of(caller, AuditAction::DeadLetterRetried, id),
        )
        .await;
        Ok(entry)
    }

    pub async fn discard_dead_letter(
        &self,
        caller: &Caller,
        id: QueueEntryId,
    ) -> Result<(), EngineError> {
        require(caller, Permission::ManageTenant)?;
        entries::discard_dead(self.store.database(), caller.tenant_id, id).await?;
        self.audit(
            caller,
            Change::of(caller, AuditAction::DeadLetterDiscarded, id),
        )
        .await;
        Ok(())
    }

    pub async fn get_run(&self, caller: &Caller, id: RunId) -> Result<Run, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.get_run(caller.tenant_id, id).await?)
    }

    pub async fn list_runs(
        &self,
        caller: &Caller,
        conversation_id: Option<ConversationId>,
        page: &PageRequest,
    ) -> Result<Page<Run>, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self
            .store
            .list_runs(caller.tenant_id, conversation_id, page)
            .await?)
    }
}
