//! `[cluster]`: several nodes over one PostgreSQL database and one Redis. Nodes started with
//! the same `database.url` (PostgreSQL) and `redis_url` form one cluster; nothing else is
//! configured.

use serde::{Deserialize, Serialize};
use switchboard_engine::Role;

use super::{ConfigError, Secret, require};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSection {
    /// `redis://host:port`: this node is one of several (PostgreSQL only). Unset: one node.
    pub redis_url: Option<Secret>,
    /// `all` (default), `api` (HTTP, webhooks, WebSocket) or `worker` (queue, turns,
    /// deliveries, the loops beside them; HTTP only for `/health`, `/ready`, `/metrics`).
    pub role: Role,
    /// How the node names itself in `/ready`, `/metrics` and logs [default: the host name
    /// and the listening port].
    pub node_name: Option<String>,
}

impl ClusterSection {
    pub(super) fn validate(&self, postgres: bool) -> Result<(), ConfigError> {
        require(
            self.redis_url.is_none() || postgres,
            "cluster.redis_url",
            "several nodes share a PostgreSQL database: set database.url to postgres://…",
        )?;
        require(
            self.role == Role::All || self.redis_url.is_some(),
            "cluster.role",
            "api and worker nodes need the others: set cluster.redis_url",
        )
    }
}
