//! Credits: tenant admins grant them; each grant is recorded once per idempotency key.

use switchboard_core::{
    AuditAction, Caller, Credits, LedgerEntry, Page, Permission, ValidationError,
};
use switchboard_store::NewLedgerEntry;

use crate::audit::Change;
use crate::{Engine, EngineError, PageRequest, require};

pub struct GrantInput {
    pub amount: Credits,
    pub reason: String,
    pub idempotency_key: String,
}

impl Engine {
    pub async fn credit_balance(&self, caller: &Caller) -> Result<Credits, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.credit_balance(caller.tenant_id).await?)
    }

    /// Grants credits. Replaying a grant with the same idempotency key returns the original
    /// entry and `false`; the same key with a different amount or reason is a conflict.
    pub async fn grant_credits(
        &self,
        caller: &Caller,
        input: GrantInput,
    ) -> Result<(LedgerEntry, bool), EngineError> {
        require(caller, Permission::ManageTenant)?;
        if input.amount.0 <= 0 {
            return Err(
                ValidationError::new("amount", "must be a positive number of credits").into(),
            );
        }
        ValidationError::require_text("reason", &input.reason, 500)?;
        ValidationError::require_text("idempotencyKey", &input.idempotency_key, 200)?;
        let new = NewLedgerEntry {
            amount: input.amount,
            reason: input.reason,
            idempotency_key: input.idempotency_key,
        };
        let (amount, reason) = (new.amount, new.reason.clone());
        let (entry, created) = self.store.record_credits(caller.tenant_id, new).await?;
        if !created && (entry.amount != amount || entry.reason != reason) {
            return Err(EngineError::Conflict(
                "idempotencyKey was already used for a different grant".into(),
            ));
        }
        if created {
            let details = serde_json::json!({
                "amount": entry.amount.0,
                "reason": entry.reason,
                "idempotencyKey": entry.idempotency_key,
            });
            let change = Change::of(caller, AuditAction::CreditsGranted, entry.id).with(details);
            self.audit(caller, change).await;
        }
        // Conversations waiting for credits may run again.
        if let Some(queue) = self.pipeline.queue.get() {
            queue.resume_tenant(caller.tenant_id);
        }
        self.announce_resumed(caller.tenant_id);
        Ok((entry, created))
    }

    pub async fn list_ledger(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, EngineError> {
        require(caller, Permission::ManageTenant)?;
        Ok(self.store.list_ledger(caller.tenant_id, page).await?)
    }
}
