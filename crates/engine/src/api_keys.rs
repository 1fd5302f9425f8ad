//! API keys act for the user who created them, with at most that user's role.

use switchboard_core::{
    ApiKey, ApiKeyId, AuditAction, Caller, Page, Permission, Role, ValidationError,
};
use switchboard_store::NewApiKey;

use crate::audit::Change;
use crate::{Engine, EngineError, PageRequest, require};

pub struct ApiKeyInput {
    pub name: String,
    /// Defaults to the creator's role; may not exceed it.
    pub role: Option<Role>,
}

/// A new key: the only time the secret is available.
pub struct IssuedApiKey {
    pub api_key: ApiKey,
    pub key: String,
}

impl Engine {
    pub async fn create_api_key(
        &self,
        caller: &Caller,
        input: ApiKeyInput,
    ) -> Result<IssuedApiKey, EngineError> {
        ValidationError::require_text("name", &input.name, 200)?;
        let role = input.role.unwrap_or(caller.role);
        if !caller.role.can_grant(role) {
            return Err(EngineError::Forbidden(format!(
                "a {} may not create a {role} key",
                caller.role
            )));
        }
        // A platform admin acting in another tenant gets a key of that tenant that acts for them
        // only if they belong to it; otherwise the key would name a user outside the tenant.
        let user = self.caller_user(caller).await?;
        if user.tenant_id != caller.tenant_id {
            return Err(EngineError::Conflict(
                "API keys belong to a user of the tenant; create a user there and a key as that user".into(),
            ));
        }
        let (key, prefix, key_hash) = Self::new_api_key_secret();
        let api_key = self
            .store
            .create_api_key(
                caller.tenant_id,
                NewApiKey {
                    user_id: caller.user_id,
                    name: input.name.trim().to_owned(),
                    role,
                    prefix,
                    key_hash,
                },
            )
            .await?;
        let details = serde_json::json!({
            "name": api_key.name, "role": api_key.role, "prefix": api_key.prefix,
        });
        self.audit(
            caller,
            Change::of(caller, AuditAction::ApiKeyCreated, api_key.id).with(details),
        )
        .await;
        Ok(IssuedApiKey { api_key, key })
    }

    pub async fn list_api_keys(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<ApiKey>, EngineError> {
        require(caller, Permission::ManageTenant)?;
        Ok(self.store.list_api_keys(caller.tenant_id, page).await?)
    }

    pub async fn revoke_api_key(&self, caller: &Caller, id: ApiKeyId) -> Result<(), EngineError> {
        require(caller, Permission::ManageTenant)?;
        self.store.revoke_api_key(caller.tenant_id, id).await?;
        self.audit(caller, Change::of(caller, AuditAction::ApiKeyRevoked, id))
            .await;
        Ok(())
    }
}
