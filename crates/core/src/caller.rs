//! Who is asking, and what their role lets them do. Every operation takes a `Caller`; every
//! query it makes is scoped to `caller.tenant_id`.

use crate::{ApiKeyId, Origin, Role, TenantId, UserId};

/// An authenticated principal acting inside one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The tenant every read and write is scoped to. For a platform admin this may be another
    /// tenant than their own, chosen per request.
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub role: Role,
    /// Set when the caller authenticated with an API key rather than a token.
    pub api_key_id: Option<ApiKeyId>,
    /// Where the request came from, for the audit log; empty when the adapter cannot tell.
    pub origin: Origin,
}

/// Things a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Create and list tenants; act inside any tenant.
    ManageTenants,
    /// Users, API keys, channels, agents, credit grants and database administration of a tenant.
    ManageTenant,
    /// Read conversations, messages, contacts and everything configured in the tenant (members
    /// read only the conversations they take part in).
    Read,
    /// Create contacts and conversations, manage participants, change conversation status,
    /// delete messages (staff, not members).
    Converse,
    /// Post messages in the conversations one may see, and publish to broadcast streams.
    Post,
}

impl Caller {
    pub fn may(&self, permission: Permission) -> bool {
        match permission {
            Permission::ManageTenants => self.role == Role::PlatformAdmin,
            Permission::ManageTenant => matches!(self.role, Role::PlatformAdmin | Role::Admin),
            Permission::Converse => !matches!(self.role, Role::Viewer | Role::Member),
            Permission::Post => self.role != Role::Viewer,
            Permission::Read => self.role != Role::Member,
        }
    }
}
