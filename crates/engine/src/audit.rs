//! The audit log: every change an admin makes to channels, agents, users, API keys, credit
//! grants, dead letters, campaigns and tenants is recorded with who made it, from where
//! (`Caller::origin`) and when, and read back by admins (their tenant) and platform admins (any
//! tenant, or all).
//!
//! Each use case records its change right after the change commits, through [`Engine::audit`],
//! rather than inside the change's transaction: those transactions belong to the store's and
//! the queue's own operations (a dead letter's retry is the queue's), and carrying an audit row
//! into each would give every one of them a second job. The cost: a crash between the commit and
//! the audit write loses that one event; a failed audit write is logged, never turned into a
//! failure of a change that was made. Details name what changed (fields, amounts, statuses),
//! never a secret's value.

use serde_json::{Value, json};
use switchboard_core::{
    AuditAction, AuditEvent, AuditEventId, AuditResource, Caller, Page, Permission, TenantId,
    Timestamp, UserId, ValidationError,
};
use switchboard_store::AuditFilter;

use crate::{Engine, EngineError, PageRequest, require};

/// What an admin asks of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only what this user did.
    pub actor: Option<UserId>,
    pub action: Option<AuditAction>,
    pub resource: Option<AuditResource>,
    pub resource_id: Option<String>,
    /// At or after this instant.
    pub from: Option<Timestamp>,
    /// Before this instant.
    pub to: Option<Timestamp>,
    /// Platform admins: every tenant's events instead of the caller's tenant's.
    pub all_tenants: bool,
}

/// One change to record: what was done to which record, in which tenant, and its details.
pub(crate) struct Change {
    pub tenant_id: TenantId,
    pub action: AuditAction,
    pub resource_id: Option<String>,
    pub details: Value,
}

impl Change {
    /// `action` on the record `resource_id` in the caller's tenant.
    pub(crate) fn of(caller: &Caller, action: AuditAction, resource_id: impl ToString) -> Self {
        Self {
            tenant_id: caller.tenant_id,
            action,
            resource_id: Some(resource_id.to_string()),
            details: json!({}),
        }
    }

    pub(crate) fn with(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub(crate) fn in_tenant(mut self, tenant_id: TenantId) -> Self {
        self.tenant_id = tenant_id;
        self
    }
}

/// The names of the fields a change sets (`Some`), for an event's details.
pub(crate) fn changed_fields(fields: &[(&str, bool)]) -> Value {
    let names: Vec<&str> = fields
        .iter()
        .filter(|(_, changed)| *changed)
        .map(|(name, _)| *name)
        .collect();
    json!({ "fields": names })
}

/// The keys of a configuration patch, as `config.<key>`: which settings changed, never their
/// values (some are secrets).
pub(crate) fn config_keys(patch: Option<&Value>) -> Vec<String> {
    match patch {
        Some(Value::Object(fields)) => fields.keys().map(|key| format!("config.{key}")).collect(),
        _ => Vec::new(),
    }
}

impl Engine {
    /// Records `change`, made by `caller`, in the audit log. A failure is logged: the change
    /// itself is made and its caller must hear so.
    pub(crate) async fn audit(&self, caller: &Caller, change: Change) {
        let event = AuditEvent {
            id: AuditEventId::new(),
            tenant_id: change.tenant_id,
            actor_user_id: caller.user_id,
            actor_api_key_id: caller.api_key_id,
            actor_role: caller.role,
            action: change.action,
            resource: change.action.resource(),
            resource_id: change.resource_id,
            details: change.details,
            origin: caller.origin.clone(),
            created_at: time::OffsetDateTime::now_utc(),
        };
        let action = event.action;
        if let Err(error) = self.store.record_audit(event).await {
            tracing::error!(
                error = &error as &dyn std::error::Error,
                %action,
                "the audit log did not record a change"
            );
        }
    }

    /// A page of the audit log, newest first: the caller's tenant's (admins), or with
    /// `all_tenants` every tenant's (platform admins).
    pub async fn list_audit(
        &self,
        caller: &Caller,
        query: AuditQuery,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, EngineError> {
        require(caller, Permission::ManageTenant)?;
        if query.all_tenants {
            require(caller, Permission::ManageTenants)?;
        }
        if let (Some(from), Some(to)) = (query.from, query.to)
            && from > to
        {
            return Err(ValidationError::new("from", "must not be after `to`").into());
        }
        let filter = AuditFilter {
            tenant_id: (!query.all_tenants).then_some(caller.tenant_id),
            actor_user_id: query.actor,
            action: query.action,
            resource: query.resource,
            resource_id: query.resource_id,
            from: query.from,
            to: query.to,
        };
        Ok(self.store.list_audit(&filter, page).await?)
    }
}
