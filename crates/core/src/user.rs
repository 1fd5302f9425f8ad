//! People who log in (platform admins, tenant admins, operators, viewers) and the end users an
//! app maps to its own ids with `external_id`.

use crate::vocabulary::vocabulary;
use crate::{TenantId, Timestamp, UserId};

vocabulary! {
    /// What a user (or an API key acting for one) may do; see [`crate::Permission`].
    pub enum Role {
        /// Operates the whole installation: tenants, and any tenant's data.
        PlatformAdmin = "platform-admin",
        /// Administers one tenant: users, keys, channels, agents, credits.
        Admin = "admin",
        /// A human operator: reads and answers conversations.
        Agent = "agent",
        /// Reads only.
        Viewer = "viewer",
        /// An end user of the tenant's app: sees and writes only in the conversations they
        /// take part in.
        Member = "member",
    }
}

impl Role {
    /// Whether this role may hand `other` to a new user or key (no one grants more than they hold).
    pub fn can_grant(&self, other: Role) -> bool {
        self.rank() >= other.rank()
    }

    fn rank(&self) -> u8 {
        match self {
            Role::PlatformAdmin => 3,
            Role::Admin => 2,
            Role::Agent => 1,
            Role::Viewer | Role::Member => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub username: String,
    pub role: Role,
    /// The id this user has in the customer's own system, unique within the tenant.
    pub external_id: Option<String>,
    /// How the user is called, for people.
    pub name: Option<String>,
    /// In lower case, unique within the tenant.
    pub email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}
