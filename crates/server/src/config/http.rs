//! `[http]`: where the API is served and how requests are bounded.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_api::HttpSettings;

use super::{ConfigError, duration, require};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSection {
    /// Address to serve HTTP on.
    pub listen: SocketAddr,
    /// The public address providers call (`https://gateway.example.com`), for URL-signed
    /// webhooks (Twilio) behind proxies. Unset: the request's `Host`.
    pub public_base_url: Option<String>,
    /// Largest request body in bytes; larger ones get 413.
    pub body_limit_bytes: usize,
    /// CORS origins allowed (`*` for any); empty disables CORS.
    pub cors_origins: Vec<String>,
    /// Requests still running after this long get 503.
    #[serde(with = "duration")]
    pub request_timeout: Duration,
}

impl Default for HttpSection {
    fn default() -> Self {
        let http = HttpSettings::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_base_url: None,
            body_limit_bytes: http.body_limit,
            cors_origins: http.cors_origins,
            request_timeout: http.request_timeout,
        }
    }
}

impl HttpSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let public_base_url_is_http = self
            .public_base_url
            .as_ref()
            .is_none_or(|url| url.starts_with("http://") || url.starts_with("https://"));
        require(
            public_base_url_is_http,
            "http.public_base_url",
            "expected an http(s) URL",
        )?;
        require(
            self.body_limit_bytes >= 1024,
            "http.body_limit_bytes",
            "must be at least 1024",
        )?;
        require(
            !self.request_timeout.is_zero(),
            "http.request_timeout",
            "must be positive",
        )
    }

    /// The API's settings, with GraphQL's bounds from `[graphql]` and MCP's hosts from
    /// `[mcp]`.
    pub fn settings(
        &self,
        graphql: switchboard_api::graphql::GraphqlSettings,
        mcp: switchboard_api::mcp::McpSettings,
    ) -> HttpSettings {
        HttpSettings {
            body_limit: self.body_limit_bytes,
            cors_origins: self.cors_origins.clone(),
            request_timeout: self.request_timeout,
            graphql,
            mcp,
            client_address_header: None,
        }
    }
}
