//! Tenants: platform admins create and list them.

use switchboard_core::{AuditAction, Caller, Page, Permission, Tenant, TenantId, ValidationError};

use crate::audit::Change;
use crate::{Engine, EngineError, PageRequest, require};

impl Engine {
    pub async fn create_tenant(&self, caller: &Caller, name: &str) -> Result<Tenant, EngineError> {
        require(caller, Permission::ManageTenants)?;
        ValidationError::require_text("name", name, 200)?;
        let tenant = self.store.create_tenant(name.trim().to_owned()).await?;
        let change = Change::of(caller, AuditAction::TenantCreated, tenant.id)
            .in_tenant(tenant.id)
            .with(serde_json::json!({"name": tenant.name}));
        self.audit(caller, change).await;
        Ok(tenant)
    }

    pub async fn list_tenants(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<Tenant>, EngineError> {
        require(caller, Permission::ManageTenants)?;
        Ok(self.store.list_tenants(page).await?)
    }

    /// A platform admin sees any tenant; everyone else only their own.
    pub async fn get_tenant(&self, caller: &Caller, id: TenantId) -> Result<Tenant, EngineError> {
        if id != caller.tenant_id && !caller.may(Permission::ManageTenants) {
            return Err(EngineError::NotFound("tenant"));
        }
        Ok(self.store.get_tenant(id).await?)
    }
}
