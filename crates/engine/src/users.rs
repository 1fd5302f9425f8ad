//! Users of a tenant. Nobody hands out a role above their own; only platform admins create
//! users in another tenant.

use switchboard_core::{
    AuditAction, Caller, Page, Permission, Role, TenantId, User, UserId, ValidationError,
};
use switchboard_store::{NewUser, UserUpdate};

use crate::audit::{Change, changed_fields};
use crate::auth::validate_password;
use crate::{Engine, EngineError, PageRequest, require};

pub struct UserInput {
    pub username: String,
    pub password: String,
    pub role: Role,
    /// Another tenant than the caller's (platform admins only).
    pub tenant_id: Option<TenantId>,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Default)]
pub struct UserChanges {
    pub role: Option<Role>,
    pub password: Option<String>,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

fn validate_username(username: &str) -> Result<(), ValidationError> {
    let valid_length = (3..=64).contains(&username.chars().count());
    let valid_chars = username
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if valid_length && valid_chars {
        Ok(())
    } else {
        Err(ValidationError::new(
            "username",
            "must be 3 to 64 letters, digits or . _ - @",
        ))
    }
}

/// A user's display name: any text up to 200 characters.
fn validate_name(name: Option<&str>) -> Result<(), ValidationError> {
    name.map_or(Ok(()), |name| {
        ValidationError::require_text("name", name, 200)
    })
}

/// An email address, checked for its shape (`local@domain.tld`, 254 characters at most), in
/// lower case: addresses are compared without regard to case.
fn normalize_email(email: Option<String>) -> Result<Option<String>, ValidationError> {
    let Some(email) = email else {
        return Ok(None);
    };
    let email = email.trim().to_lowercase();
    let well_formed = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.split('.').count() >= 2
                && domain.split('.').all(|label| !label.is_empty())
        });
    if well_formed {
        Ok(Some(email))
    } else {
        Err(ValidationError::new(
            "email",
            "expected an address like name@example.com",
        ))
    }
}

fn check_grant(caller: &Caller, role: Role) -> Result<(), EngineError> {
    if caller.role.can_grant(role) {
        Ok(())
    } else {
        Err(EngineError::Forbidden(format!(
            "a {} may not grant the {role} role",
            caller.role
        )))
    }
}

impl Engine {
    pub async fn create_user(
        &self,
        caller: &Caller,
        input: UserInput,
    ) -> Result<User, EngineError> {
        require(caller, Permission::ManageTenant)?;
        check_grant(caller, input.role)?;
        validate_username(&input.username)?;
        validate_password(&input.password)?;
        if let Some(external_id) = &input.external_id {
            ValidationError::require_text("externalId", external_id, 200)?;
        }
        validate_name(input.name.as_deref())?;
        let email = normalize_email(input.email)?;
        let tenant_id = match input.tenant_id {
            Some(tenant_id) if tenant_id != caller.tenant_id => {
                require(caller, Permission::ManageTenants)?;
                self.store.get_tenant(tenant_id).await.map_err(|_| {
                    EngineError::Invalid(ValidationError::new("tenantId", "no such tenant"))
                })?;
                tenant_id
            }
            _ => caller.tenant_id,
        };
        let new = NewUser {
            username: input.username,
            password_hash: self.hash_password(input.password).await?,
            role: input.role,
            external_id: input.external_id,
            name: input.name,
            email,
        };
        let user =
            self.store
                .create_user(tenant_id, new)
                .await
                .map_err(EngineError::conflict_as(
                    "username, externalId or email is already taken",
                ))?;
        let details = serde_json::json!({"username": user.username, "role": user.role});
        let change = Change::of(caller, AuditAction::UserCreated, user.id)
            .in_tenant(tenant_id)
            .with(details);
        self.audit(caller, change).await;
        Ok(user)
    }

    pub async fn get_user(&self, caller: &Caller, id: UserId) -> Result<User, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.get_user(caller.tenant_id, id).await?)
    }

    pub async fn list_users(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<User>, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.list_users(caller.tenant_id, page).await?)
    }

    pub async fn update_user(
        &self,
        caller: &Caller,
        id: UserId,
        changes: UserChanges,
    ) -> Result<User, EngineError> {
        require(caller, Permission::ManageTenant)?;
        if let Some(role) = changes.role {
            check_grant(caller, role)?;
        }
        let target = self.store.get_user(caller.tenant_id, id).await?;
        check_grant(caller, target.role)?;
        let password_hash = match changes.password {
            Some(password) => {
                validate_password(&password)?;
                Some(self.hash_password(password).await?)
            }
            None => None,
        };
        validate_name(changes.name.as_deref())?;
        let mut details = changed_fields(&[
            ("role", changes.role.is_some()),
            ("password", password_hash.is_some()),
            ("externalId", changes.external_id.is_some()),
            ("name", changes.name.is_some()),
            ("email", changes.email.is_some()),
        ]);
        if let Some(role) = changes.role {
            details["role"] = serde_json::json!(role);
        }
        let update = UserUpdate {
            role: changes.role,
            password_hash,
            external_id: changes.external_id,
            name: changes.name,
            email: normalize_email(changes.email)?,
        };
        let user = self
            .store
            .update_user(caller.tenant_id, id, update)
            .await
            .map_err(EngineError::conflict_as(
                "externalId or email is already taken",
            ))?;
        self.audit(
            caller,
            Change::of(caller, AuditAction::UserUpdated, id).with(details),
        )
        .await;
        Ok(user)
    }

    pub async fn delete_user(&self, caller: &Caller, id: UserId) -> Result<(), EngineError> {
        require(caller, Permission::ManageTenant)?;
        if id == caller.user_id {
            return Err(EngineError::Conflict("you cannot delete yourself".into()));
        }
        let target = self.store.get_user(caller.tenant_id, id).await?;
        check_grant(caller, target.role)?;
        self.store.delete_user(caller.tenant_id, id).await?;
        let details = serde_json::json!({"username": target.username});
        self.audit(
            caller,
            Change::of(caller, AuditAction::UserDeleted, id).with(details),
        )
        .await;
        Ok(())
    }
}
