//! One typed configuration, layered: defaults → `switchboard.toml` → `SWITCHBOARD_<FIELD>`
//! environment variables → command-line flags. Validated before anything starts.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use switchboard_api::{HttpSettings, WsSettings};
use switchboard_engine::{
    AgentRuntimeConfig, AuthConfig, Backend, HubConfig, Ordering, PipelineConfig, QueueConfig,
    RateLimits, StoreOptions, redact_url,
};

/// The effective configuration. Every field is also `SWITCHBOARD_<FIELD>` in the environment
/// (`SWITCHBOARD_DATABASE_URL`, `SWITCHBOARD_ADMIN_PASSWORD`, …) and a key in `switchboard.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to serve HTTP on.
    pub listen: String,
    /// `sqlite://path` (created on first start) or `postgres://user:password@host/database`.
    pub database_url: String,
    /// Store connections (SQLite: readers; PostgreSQL: all).
    pub database_max_connections: u32,
    /// How long a statement waits for a database lock held elsewhere before the request is
    /// answered 503 (SQLite; PostgreSQL waits on its own locks).
    pub database_busy_timeout_ms: u64,
    /// SQLite durability: `full` (fsync every commit) or `normal` (WAL, may lose the last
    /// commits on power loss, never corrupts).
    pub sqlite_synchronous: String,
    /// HMAC key for access tokens (32 bytes or more). Unset: a random key per start, so tokens
    /// do not survive a restart (refresh tokens do).
    pub jwt_secret: Option<String>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// Username of the admin created on first start.
    pub admin_username: String,
    /// Password of that admin; unset: one is generated and printed once.
    pub admin_password: Option<String>,
    /// Largest request body in bytes; larger ones get 413.
    pub body_limit_bytes: usize,
    /// CORS origins allowed (`*` for any); empty disables CORS.
    pub cors_origins: Vec<String>,
    pub request_timeout_secs: u64,
    /// Most queued entries (runs and deliveries); beyond it webhooks get 429 with `Retry-After`.
    pub queue_capacity: usize,
    /// Workers that process queued entries grow between these with the ready work. A worker
    /// is a task, not a thread: one waiting on a model holds no thread and no connection, so
    /// the maximum bounds concurrent agent runs and should be well above them.
    pub queue_min_workers: usize,
    pub queue_max_workers: usize,
    /// Threads of the pipeline's own runtime (workers, agent turns, replies, storing accepted
    /// messages); `0`: as many as the machine has cores. Requests have a runtime of their own.
    pub pipeline_threads: usize,
    /// Nice value of the pipeline's threads and of the SQLite database's writer (Linux; `0`
    /// leaves them at the process's). When the machine is saturated, acknowledging webhooks
    /// and answering requests then run first, and the pipeline takes the time left over.
    pub pipeline_nice: i32,
    /// Attempts before an entry becomes a dead letter.
    pub queue_max_attempts: u32,
    /// First retry delay in milliseconds; doubles per attempt (with jitter) up to five minutes.
    pub queue_retry_base_ms: u64,
    /// `conversation` (strict order per conversation) or `channel` (strict order per business
    /// number across its conversations).
    pub queue_ordering: String,
    /// Events kept per memory stream (tenant, broadcast) and live run, for resume.
    pub realtime_history_size: usize,
    /// How long kept events (and idle memory streams) live, in seconds.
    pub realtime_history_ttl_secs: u64,
    /// How long conversation stream events are kept for resume, in seconds; `0` keeps them
    /// for ever. Older ones are deleted every few minutes (messages and runs stay).
    pub conversation_event_retention_secs: u64,
    /// Frames a realtime client may have waiting before it is cut off as a slow consumer.
    pub realtime_client_buffer: usize,
    /// Seconds a WebSocket without credentials has to send its `auth` frame.
    pub ws_auth_timeout_secs: u64,
    /// Seconds between server pings.
    pub ws_heartbeat_secs: u64,
    /// Seconds of client silence before a WebSocket is closed.
    pub ws_idle_timeout_secs: u64,
    /// The public address providers call (`https://gateway.example.com`), for URL-signed
    /// webhooks (Twilio) behind proxies. Unset: the request's `Host`.
    pub public_base_url: Option<String>,
    /// How long one provider call may take.
    pub send_timeout_secs: u64,
    /// How long one request to a model or a customer's bot may take (agents may override it
    /// with `timeoutMs`).
    pub agent_timeout_ms: u64,
    /// Retries of a model request that failed with 429, 5xx, a timeout or a lost connection,
    /// within one run; the first waits this long (or the provider's `Retry-After`), doubling.
    pub agent_max_retries: u32,
    pub agent_retry_base_ms: u64,
    /// Consecutive failures after which a model or bot endpoint's circuit opens: runs against
    /// it fail fast (and are retried later) until a probe succeeds after the cool-down.
    pub agent_breaker_failures: u32,
    pub agent_breaker_cooldown_ms: u64,
    /// Outbound sends per second per WhatsApp number, Telegram bot, Telegram chat, Twilio
    /// number and API channel.
    pub whatsapp_sends_per_second: u32,
    pub telegram_sends_per_second: u32,
    pub telegram_chat_sends_per_second: u32,
    pub twilio_sends_per_second: u32,
    pub api_sends_per_second: u32,
    /// A tracing filter (`info`, `switchboard=debug,sqlx=warn`); `RUST_LOG` wins when set.
    pub log_level: String,
    /// `text` or `json`.
    pub log_format: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:3000".into(),
            database_url: "sqlite://./data/switchboard.db".into(),
            database_max_connections: 16,
            database_busy_timeout_ms: 5000,
            sqlite_synchronous: "full".into(),
            jwt_secret: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            admin_username: "admin".into(),
            admin_password: None,
            body_limit_bytes: 1024 * 1024,
            cors_origins: Vec::new(),
            request_timeout_secs: 30,
            queue_capacity: 100_000,
            queue_min_workers: 2,
            queue_max_workers: 4096,
            pipeline_threads: 0,
            pipeline_nice: 10,
            queue_max_attempts: 8,
            queue_retry_base_ms: 500,
            queue_ordering: "conversation".into(),
            realtime_history_size: 1000,
            realtime_history_ttl_secs: 300,
            conversation_event_retention_secs: 7 * 24 * 3600,
            realtime_client_buffer: 1024,
            ws_auth_timeout_secs: 10,
            ws_heartbeat_secs: 25,
            ws_idle_timeout_secs: 60,
            public_base_url: None,
            send_timeout_secs: 10,
            agent_timeout_ms: 60_000,
            agent_max_retries: 2,
            agent_retry_base_ms: 500,
            agent_breaker_failures: 5,
            agent_breaker_cooldown_ms: 30_000,
            whatsapp_sends_per_second: 80,
            telegram_sends_per_second: 30,
            telegram_chat_sends_per_second: 1,
            twilio_sends_per_second: 1,
            api_sends_per_second: 100,
            log_level: "info".into(),
            log_format: "text".into(),
        }
    }
}

/// Values given on the command line; they win over every other layer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

/// A configuration that cannot be used, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("invalid configuration: {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// The configuration's field names: the `SWITCHBOARD_<FIELD>` variables read from the
/// environment (others with the prefix, such as test settings, are ignored).
fn field_names() -> Vec<String> {
    serde_json::to_value(Config::default())
        .ok()
        .and_then(|value| {
            value
                .as_object()
                .map(|fields| fields.keys().cloned().collect())
        })
        .unwrap_or_default()
}

impl Config {
    /// Loads every layer. `file` names a TOML file that must exist; without it,
    /// `./switchboard.toml` is read if present.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        figment = match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError::Invalid {
                    field: "config",
                    message: format!("{} does not exist", path.display()),
                });
            }
            Some(path) => figment.merge(Toml::file_exact(path)),
            None => figment.merge(Toml::file("switchboard.toml")),
        };
        let config: Config = figment
            .merge(Env::prefixed("SWITCHBOARD_").filter({
                let names = field_names();
                move |key| {
                    names
                        .iter()
                        .any(|name| key.as_str().eq_ignore_ascii_case(name))
                }
            }))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|error| ConfigError::Load(Box::new(error)))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.to_owned(),
            })
        };
        if self.listen.parse::<SocketAddr>().is_err() {
            return invalid("listen", "expected host:port, e.g. 127.0.0.1:3000");
        }
        if Backend::from_url(&self.database_url).is_none() {
            return invalid("database_url", "expected sqlite://path or postgres://…");
        }
        if self.database_max_connections == 0 {
            return invalid("database_max_connections", "must be at least 1");
        }
        if !matches!(self.sqlite_synchronous.as_str(), "full" | "normal") {
            return invalid("sqlite_synchronous", "expected `full` or `normal`");
        }
        if self
            .jwt_secret
            .as_ref()
            .is_some_and(|secret| secret.len() < 32)
        {
            return invalid("jwt_secret", "must be at least 32 bytes");
        }
        if self.access_token_ttl_secs == 0 || self.refresh_token_ttl_secs == 0 {
            return invalid("access_token_ttl_secs", "token lifetimes must be positive");
        }
        if self.admin_username.trim().is_empty() {
            return invalid("admin_username", "must not be empty");
        }
        if self
            .admin_password
            .as_ref()
            .is_some_and(|password| password.chars().count() < 8)
        {
            return invalid("admin_password", "must be at least 8 characters");
        }
        if self.body_limit_bytes < 1024 {
            return invalid("body_limit_bytes", "must be at least 1024");
        }
        if self.request_timeout_secs == 0 {
            return invalid("request_timeout_secs", "must be positive");
        }
        for (field, value) in [
            ("realtime_history_ttl_secs", self.realtime_history_ttl_secs),
            ("ws_auth_timeout_secs", self.ws_auth_timeout_secs),
            ("ws_heartbeat_secs", self.ws_heartbeat_secs),
            ("ws_idle_timeout_secs", self.ws_idle_timeout_secs),
        ] {
            if value == 0 {
                return invalid(field, "must be positive");
            }
        }
        if self.realtime_client_buffer < 16 {
            return invalid("realtime_client_buffer", "must be at least 16");
        }
        if self.queue_capacity == 0 {
            return invalid("queue_capacity", "must be at least 1");
        }
        if self.queue_min_workers == 0 || self.queue_max_workers < self.queue_min_workers {
            return invalid(
                "queue_max_workers",
                "need 1 <= queue_min_workers <= queue_max_workers",
            );
        }
        if !(0..=19).contains(&self.pipeline_nice) {
            return invalid("pipeline_nice", "must be between 0 and 19");
        }
        if self.queue_max_attempts == 0 {
            return invalid("queue_max_attempts", "must be at least 1");
        }
        if !matches!(self.queue_ordering.as_str(), "conversation" | "channel") {
            return invalid("queue_ordering", "expected `conversation` or `channel`");
        }
        if self
            .public_base_url
            .as_ref()
            .is_some_and(|url| !(url.starts_with("http://") || url.starts_with("https://")))
        {
            return invalid("public_base_url", "expected an http(s) URL");
        }
        if self.agent_timeout_ms == 0 {
            return invalid("agent_timeout_ms", "must be positive");
        }
        if self.agent_breaker_failures == 0 {
            return invalid("agent_breaker_failures", "must be at least 1");
        }
        if self.send_timeout_secs == 0 {
            return invalid("send_timeout_secs", "must be positive");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return invalid("log_format", "expected `text` or `json`");
        }
        Ok(())
    }

    pub fn listen_address(&self) -> SocketAddr {
        // Checked by `validate`.
        self.listen
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 3000)))
    }

    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            max_connections: self.database_max_connections,
            sqlite_full_sync: self.sqlite_synchronous == "full",
            busy_timeout: Duration::from_millis(self.database_busy_timeout_ms),
            sqlite_writer_nice: self.pipeline_nice,
            ..StoreOptions::new(self.database_url.clone())
        }
    }

    /// Authentication settings; a random signing key when none is configured.
    pub fn auth(&self) -> AuthConfig {
        let secret = self.jwt_secret.clone().unwrap_or_else(|| {
            tracing::warn!(
                "jwt_secret is not set: using a random key, access tokens end with this process"
            );
            let bytes: [u8; 32] = rand::random();
            bytes.iter().map(|byte| format!("{byte:02x}")).collect()
        });
        AuthConfig {
            access_token_ttl: Duration::from_secs(self.access_token_ttl_secs),
            refresh_token_ttl: Duration::from_secs(self.refresh_token_ttl_secs),
            ..AuthConfig::new(secret)
        }
    }

    pub fn pipeline(&self) -> PipelineConfig {
        PipelineConfig {
            queue: QueueConfig {
                capacity: self.queue_capacity,
                min_workers: self.queue_min_workers,
                max_workers: self.queue_max_workers,
                max_attempts: self.queue_max_attempts,
                backoff_base: Duration::from_millis(self.queue_retry_base_ms),
                ..QueueConfig::default()
            },
            ordering: if self.queue_ordering == "channel" {
                Ordering::Channel
            } else {
                Ordering::Conversation
            },
            rate_limits: RateLimits {
                whatsapp_per_second: self.whatsapp_sends_per_second,
                telegram_per_second: self.telegram_sends_per_second,
                telegram_per_chat_per_second: self.telegram_chat_sends_per_second,
                twilio_per_second: self.twilio_sends_per_second,
                api_per_second: self.api_sends_per_second,
            },
            send_timeout: Duration::from_secs(self.send_timeout_secs),
            realtime: HubConfig {
                history_size: self.realtime_history_size,
                history_ttl: Duration::from_secs(self.realtime_history_ttl_secs),
                outbox_capacity: self.realtime_client_buffer,
                ..HubConfig::default()
            },
            agent: AgentRuntimeConfig {
                request_timeout: Duration::from_millis(self.agent_timeout_ms),
                max_retries: self.agent_max_retries,
                retry_base: Duration::from_millis(self.agent_retry_base_ms),
                breaker_threshold: self.agent_breaker_failures,
                breaker_cooldown: Duration::from_millis(self.agent_breaker_cooldown_ms),
                ..AgentRuntimeConfig::default()
            },
            threads: match self.pipeline_threads {
                0 => std::thread::available_parallelism().map_or(2, usize::from),
                threads => threads,
            },
            nice: self.pipeline_nice,
            event_retention: (self.conversation_event_retention_secs > 0)
                .then(|| Duration::from_secs(self.conversation_event_retention_secs)),
            ..PipelineConfig::default()
        }
    }

    pub fn ws(&self) -> WsSettings {
        WsSettings {
            auth_timeout: Duration::from_secs(self.ws_auth_timeout_secs),
            heartbeat: Duration::from_secs(self.ws_heartbeat_secs),
            idle_timeout: Duration::from_secs(self.ws_idle_timeout_secs),
            ..WsSettings::default()
        }
    }

    pub fn http(&self) -> HttpSettings {
        HttpSettings {
            body_limit: self.body_limit_bytes,
            cors_origins: self.cors_origins.clone(),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
        }
    }

    /// The configuration as TOML with secrets replaced by `"<redacted>"`.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.clone();
        let redact = |value: &mut Option<String>| {
            if value.is_some() {
                *value = Some("<redacted>".into());
            }
        };
        redact(&mut shown.jwt_secret);
        redact(&mut shown.admin_password);
        shown.database_url = redact_url(&shown.database_url);
        toml::to_string_pretty(&shown).unwrap_or_else(|error| format!("# cannot render: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail closures return figment::Error"
    )]
    fn layers_apply_in_order_and_bad_fields_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "switchboard.toml",
                "listen = \"127.0.0.1:4000\"\nlog_level = \"debug\"",
            )?;
            jail.set_env("SWITCHBOARD_LISTEN", "127.0.0.1:5000");
            let config = Config::load(None, &Overrides::default()).expect("valid");
            assert_eq!(config.listen, "127.0.0.1:5000");
            assert_eq!(config.log_level, "debug");
            let flags = Overrides {
                listen: Some("127.0.0.1:6000".into()),
                database_url: None,
            };
            assert_eq!(
                Config::load(None, &flags).expect("valid").listen,
                "127.0.0.1:6000"
            );

            jail.set_env("SWITCHBOARD_JWT_SECRET", "short");
            let error = Config::load(None, &flags).expect_err("short secret");
            assert!(error.to_string().contains("jwt_secret"), "{error}");

            jail.set_env("SWITCHBOARD_JWT_SECRET", "x".repeat(40));
            jail.set_env("SWITCHBOARD_BODY_LIMIT_BYTES", "lots");
            let error = Config::load(None, &flags).expect_err("not a number");
            assert!(
                error
                    .to_string()
                    .to_lowercase()
                    .contains("body_limit_bytes"),
                "{error}"
            );
            Ok(())
        });
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail closures return figment::Error"
    )]
    fn every_field_is_read_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("SWITCHBOARD_QUEUE_CAPACITY", "7");
            jail.set_env("SWITCHBOARD_QUEUE_ORDERING", "channel");
            jail.set_env("SWITCHBOARD_DATABASE_BUSY_TIMEOUT_MS", "250");
            jail.set_env("SWITCHBOARD_TEST_POSTGRES_URL", "not a field; ignored");
            let config = Config::load(None, &Overrides::default()).expect("valid");
            assert_eq!(config.queue_capacity, 7);
            assert_eq!(config.queue_ordering, "channel");
            assert_eq!(config.database_busy_timeout_ms, 250);
            Ok(())
        });
    }

    #[test]
    fn redaction_hides_every_secret() {
        let config = Config {
            jwt_secret: Some("j".repeat(40)),
            admin_password: Some("hunter22hunter".into()),
            database_url: "postgres://app:pa55word@db/switchboard".into(),
            ..Config::default()
        };
        let shown = config.redacted_toml();
        for secret in ["jjjj", "hunter22", "pa55word"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains("postgres://app:<redacted>@db/switchboard"),
            "{shown}"
        );
    }
}
