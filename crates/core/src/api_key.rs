//! API keys: long-lived credentials for servers. A key acts for the user who created it, with at
//! most that user's role, inside one tenant. The secret is shown once and stored only as a hash.

use crate::{ApiKeyId, Role, TenantId, Timestamp, UserId};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    /// The user the key acts for.
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    /// The first characters of the key, enough to recognise it in a list.
    pub prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_used_at: Option<Timestamp>,
}
