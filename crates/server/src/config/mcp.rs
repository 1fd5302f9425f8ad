//! `[mcp]`: who may reach the MCP endpoint at `/mcp`, and how long its sessions last.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_api::mcp::McpSettings;

use super::{ConfigError, duration, require};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpSection {
    /// Host names accepted in `Host` besides loopback and `http.listen`'s host (a proxy's
    /// public name, say); `"*"` accepts any.
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted besides those on an allowed host; `"*"` accepts any.
    pub allowed_origins: Vec<String>,
    /// A session (protocol versions before 2026-07-28) idle this long is ended.
    #[serde(with = "duration")]
    pub session_idle_timeout: Duration,
}

impl Default for McpSection {
    fn default() -> Self {
        let mcp = McpSettings::default();
        Self {
            allowed_hosts: mcp.allowed_hosts,
            allowed_origins: mcp.allowed_origins,
            session_idle_timeout: mcp.session_idle_timeout,
        }
    }
}

impl McpSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        require(
            self.allowed_hosts
                .iter()
                .all(|host| !host.trim().is_empty()),
            "mcp.allowed_hosts",
            "a host may not be empty",
        )?;
        require(
            self.allowed_origins
                .iter()
                .all(|origin| origin == "*" || origin.contains("://")),
            "mcp.allowed_origins",
            "expected origins such as https://app.example.com, or \"*\"",
        )?;
        require(
            !self.session_idle_timeout.is_zero(),
            "mcp.session_idle_timeout",
            "must be positive",
        )
    }

    /// The endpoint's settings: the configured hosts plus the host of `listen` (unless it is
    /// every interface, which no client names).
    pub fn settings(&self, listen: SocketAddr) -> McpSettings {
        let listen_host = (!listen.ip().is_unspecified()).then(|| listen.ip().to_string());
        McpSettings {
            allowed_hosts: self
                .allowed_hosts
                .iter()
                .cloned()
                .chain(listen_host)
                .collect(),
            allowed_origins: self.allowed_origins.clone(),
            session_idle_timeout: self.session_idle_timeout,
        }
    }
}
