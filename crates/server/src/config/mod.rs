//! One typed configuration in sections (`[http]`, `[database]`, `[queue]`, …), layered:
//! defaults → `switchboard.toml` → `SWITCHBOARD_*` environment variables → command-line flags.
//! Validated before anything starts.
//!
//! Each section's `Default` holds its defaults, taken from the owning crate's own where it has
//! them (`QueueConfig::default()`), so each is written once. Durations are written with a unit
//! (`"500ms"`, `"7days"`), choices are enums, secrets never print.

mod agents;
mod auth;
mod calls;
mod channels;
mod cluster;
mod database;
mod duration;
mod graphql;
mod http;
mod imports;
mod limits;
mod logging;
mod mcp;
mod pipeline;
mod queue;
mod realtime;
mod secret;
mod secrets;
mod setting;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::{Deserialize, Serialize};
use switchboard_engine::{DatabaseOptions, PipelineConfig};

pub use agents::AgentsSection;
pub use auth::AuthSection;
pub use calls::CallsSection;
pub use channels::ChannelsSection;
pub use cluster::ClusterSection;
pub use database::{DatabaseSection, DatabaseUrl, SqliteSynchronous};
pub use graphql::GraphqlSection;
pub use http::HttpSection;
pub use imports::ImportsSection;
pub use limits::{LimitsSection, QuotaSetting};
pub use logging::LoggingSection;
pub use mcp::McpSection;
pub use pipeline::PipelineSection;
pub use queue::QueueSection;
pub use realtime::RealtimeSection;
pub use secret::Secret;
pub use secrets::SecretsSection;
use setting::Setting;

/// The effective configuration: one table per section in `switchboard.toml`, and every key
/// also an environment variable (see `setting`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub http: HttpSection,
    pub graphql: GraphqlSection,
    pub mcp: McpSection,
    pub database: DatabaseSection,
    pub auth: AuthSection,
    pub queue: QueueSection,
    pub pipeline: PipelineSection,
    pub realtime: RealtimeSection,
    pub agents: AgentsSection,
    pub channels: ChannelsSection,
    pub imports: ImportsSection,
    pub calls: CallsSection,
    pub cluster: ClusterSection,
    pub limits: LimitsSection,
    pub secrets: SecretsSection,
    pub logging: LoggingSection,
}

/// Values given on the command line; they win over every other layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `serve --listen`.
    pub listen: Option<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `serve --redis-url`.
    pub redis_url: Option<String>,
    /// `serve --role`.
    pub role: Option<String>,
}

impl Overrides {
    fn settings(&self) -> impl Iterator<Item = Setting> {
        let listen = self
            .listen
            .as_deref()
            .map(|listen| Setting::flag("--listen", "http.listen", listen));
        let database_url = self
            .database_url
            .as_deref()
            .map(|url| Setting::flag("--database-url", "database.url", url));
        let redis_url = self
            .redis_url
            .as_deref()
            .map(|url| Setting::flag("--redis-url", "cluster.redis_url", url));
        let role = self
            .role
            .as_deref()
            .map(|role| Setting::flag("--role", "cluster.role", role));
        listen
            .into_iter()
            .chain(database_url)
            .chain(redis_url)
            .chain(role)
    }
}

/// A configuration that cannot be used, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("invalid configuration: {} does not exist", .0.display())]
    MissingFile(PathBuf),
    #[error("invalid configuration: {field}: {message}")]
    Invalid {
        field: &'static str,
        message: &'static str,
    },
}

/// `Ok` when `holds`; otherwise the error naming `field`.
fn require(holds: bool, field: &'static str, message: &'static str) -> Result<(), ConfigError> {
    if holds {
        Ok(())
    } else {
        Err(ConfigError::Invalid { field, message })
    }
}

impl Config {
    /// Loads every layer. `file` names a TOML file that must exist; without it,
    /// `./switchboard.toml` is read if present.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let (path, sections) = match file {
            Some(path) if !path.exists() => return Err(ConfigError::MissingFile(path.into())),
            Some(path) => (path, Toml::file_exact(path)),
            None => (
                Path::new("switchboard.toml"),
                Toml::file("switchboard.toml"),
            ),
        };
        // A file of the flat layout: its flat keys come first, as settings, then its sections.
        let flat = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| setting::flat_file(path, &text));
        let (base, flat_settings) = match flat {
            Some((settings, sections)) => (Figment::from(Toml::string(&sections)), settings),
            None => (Figment::from(sections), Vec::new()),
        };
        let config: Config = flat_settings
            .into_iter()
            .chain(setting::environment())
            .chain(overrides.settings())
            .fold(base, Figment::merge)
            .extract()
            .map_err(|error| ConfigError::Load(Box::new(error)))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        self.graphql.validate()?;
        self.mcp.validate()?;
        self.database.validate()?;
        self.auth.validate()?;
        self.queue.validate()?;
        self.pipeline.validate()?;
        self.realtime.validate()?;
        self.agents.validate()?;
        self.imports.validate()?;
        self.calls.validate()?;
        self.limits.validate()?;
        self.secrets.validate()?;
        let postgres = self.database.url.expose().starts_with("postgres");
        self.cluster.validate(postgres)?;
        require(
            self.cluster.redis_url.is_none() || self.auth.jwt_secret.is_some(),
            "auth.jwt_secret",
            "the nodes of a cluster must sign tokens with one key: set it on every node",
        )?;
        self.channels.validate()
    }

    /// What this node is called among several: `cluster.node_name`, else
    /// `switchboard@<listen address>`.
    pub fn node_name(&self) -> String {
        self.cluster
            .node_name
            .clone()
            .unwrap_or_else(|| format!("switchboard@{}", self.http.listen))
    }

    /// The node's name for log lines when it is one of several (Redis configured).
    pub fn log_node(&self) -> Option<String> {
        self.cluster.redis_url.is_some().then(|| self.node_name())
    }

    pub fn store_options(&self) -> DatabaseOptions {
        self.database.store_options(self.pipeline.nice)
    }

    pub fn pipeline_config(&self) -> PipelineConfig {
        PipelineConfig {
            queue: self.queue.queue_config(),
            ordering: self.queue.ordering,
            rate_limits: self.channels.rate_limits(),
            send_timeout: self.channels.send_timeout,
            realtime: self.realtime.hub_config(),
            event_retention: self.realtime.conversation_event_retention,
            agent: self.agents.runtime_config(),
            threads: self.pipeline.threads,
            nice: self.pipeline.nice,
            imports: self.imports.import_config(),
            calls: self
                .calls
                .calls_config(self.http.public_base_url.as_deref(), self.http.listen),
            ..PipelineConfig::default()
        }
    }

    /// The configuration as `switchboard.toml` would hold it, secrets redacted.
    pub fn redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|error| format!("# cannot render: {error}"))
    }
}
