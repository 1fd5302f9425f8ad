//! Values given outside the file: `SWITCHBOARD_*` environment variables and command-line
//! flags. Each is one [`Setting`], a figment layer that names its source in errors
//! (`… for key "queue.ordering" in environment variable SWITCHBOARD_QUEUE_ORDERING`).
//!
//! A variable sets a key in one of two forms:
//! - nested: `SWITCHBOARD_<SECTION>__<KEY>` (`SWITCHBOARD_QUEUE__RETRY_BASE=2s`), for every key;
//! - short: the names of [`SHORT_NAMES`] (`SWITCHBOARD_QUEUE_RETRY_BASE_MS=2000`), one per key,
//!   kept from the flat layout that scripts and deployments use. A short name ending in `_MS`
//!   or `_SECS` takes a number in that unit.
//!
//! A configuration file of the flat layout (`listen = "…"`, `queue_retry_base_ms = 2000` at
//! its top) is read the same way: each top-level key that is a short name, lowercased, sets
//! its key ([`flat_file`]), with a warning that names the section it now belongs in.
//!
//! Other `SWITCHBOARD_*` variables (`SWITCHBOARD_TEST_POSTGRES_URL`, the load harness's
//! `SWITCHBOARD_URL`, …) are not configuration and are left alone.

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

const PREFIX: &str = "SWITCHBOARD_";

/// Each short variable name (after `SWITCHBOARD_`) and the key it sets.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("LISTEN", "http.listen"),
    ("PUBLIC_BASE_URL", "http.public_base_url"),
    ("BODY_LIMIT_BYTES", "http.body_limit_bytes"),
    ("CORS_ORIGINS", "http.cors_origins"),
    ("REQUEST_TIMEOUT_SECS", "http.request_timeout"),
    ("DATABASE_URL", "database.url"),
    ("DATABASE_MAX_CONNECTIONS", "database.max_connections"),
    ("DATABASE_BUSY_TIMEOUT_MS", "database.busy_timeout"),
    ("SQLITE_SYNCHRONOUS", "database.sqlite_synchronous"),
    ("JWT_SECRET", "auth.jwt_secret"),
    ("ACCESS_TOKEN_TTL_SECS", "auth.access_token_ttl"),
    ("REFRESH_TOKEN_TTL_SECS", "auth.refresh_token_ttl"),
    ("ADMIN_USERNAME", "auth.admin_username"),
    ("ADMIN_PASSWORD", "auth.admin_password"),
    ("QUEUE_CAPACITY", "queue.capacity"),
    ("QUEUE_MIN_WORKERS", "queue.min_workers"),
    ("QUEUE_MAX_WORKERS", "queue.max_workers"),
    ("QUEUE_MAX_ATTEMPTS", "queue.max_attempts"),
    ("QUEUE_RETRY_BASE_MS", "queue.retry_base"),
    ("QUEUE_ORDERING", "queue.ordering"),
    ("PIPELINE_THREADS", "pipeline.threads"),
    ("PIPELINE_NICE", "pipeline.nice"),
    ("REALTIME_HISTORY_SIZE", "realtime.history_size"),
    ("REALTIME_HISTORY_TTL_SECS", "realtime.history_ttl"),
    ("REALTIME_CLIENT_BUFFER", "realtime.client_buffer"),
    (
        "CONVERSATION_EVENT_RETENTION_SECS",
        "realtime.conversation_event_retention",
    ),
    ("WS_AUTH_TIMEOUT_SECS", "realtime.websocket_auth_timeout"),
    ("WS_HEARTBEAT_SECS", "realtime.websocket_heartbeat"),
    ("WS_IDLE_TIMEOUT_SECS", "realtime.websocket_idle_timeout"),
    ("AGENT_TIMEOUT_MS", "agents.request_timeout"),
    ("AGENT_MAX_RETRIES", "agents.max_retries"),
    ("AGENT_RETRY_BASE_MS", "agents.retry_base"),
    ("AGENT_BREAKER_FAILURES", "agents.breaker_failures"),
    ("AGENT_BREAKER_COOLDOWN_MS", "agents.breaker_cooldown"),
    ("SEND_TIMEOUT_SECS", "channels.send_timeout"),
    (
        "WHATSAPP_SENDS_PER_SECOND",
        "channels.whatsapp_sends_per_second",
    ),
    (
        "TELEGRAM_SENDS_PER_SECOND",
        "channels.telegram_sends_per_second",
    ),
    (
        "TELEGRAM_CHAT_SENDS_PER_SECOND",
        "channels.telegram_chat_sends_per_second",
    ),
    (
        "TWILIO_SENDS_PER_SECOND",
        "channels.twilio_sends_per_second",
    ),
    ("API_SENDS_PER_SECOND", "channels.api_sends_per_second"),
    ("IMPORTS_MAX_BYTES", "imports.max_bytes"),
    ("CALLS_CREDITS_PER_MINUTE", "calls.credits_per_minute"),
    ("CALLS_QUIET_AFTER_MS", "calls.quiet_after"),
    ("REDIS_URL", "cluster.redis_url"),
    ("ROLE", "cluster.role"),
    ("NODE_NAME", "cluster.node_name"),
    ("MASTER_KEY", "secrets.master_key"),
    ("MASTER_KEY_FILE", "secrets.key_file"),
    ("LOG_LEVEL", "logging.level"),
    ("LOG_FORMAT", "logging.format"),
];

/// The unit a short name's suffix gives its bare numbers.
const UNIT_SUFFIXES: &[(&str, &str)] = &[("_MS", "ms"), ("_SECS", "s")];

/// One key set from outside the file.
pub(super) struct Setting {
    /// What set it, for error messages: `environment variable SWITCHBOARD_LISTEN`, `--listen`.
    source: String,
    /// Dotted: `http.listen`.
    key: String,
    value: Value,
}

impl Setting {
    /// A flag's value, taken as the string it is.
    pub(super) fn flag(flag: &str, key: &str, value: &str) -> Setting {
        Setting {
            source: format!("command-line flag {flag}"),
            key: key.to_owned(),
            value: Value::from(value.to_owned()),
        }
    }

    /// The setting a variable makes, if it is configuration. Values are read as figment's
    /// `Env` reads them (`7` a number, `[a, b]` a list, anything else a string).
    fn variable(name: &str, value: &str) -> Option<Setting> {
        let unprefixed = name.strip_prefix(PREFIX)?;
        let (key, value) = if unprefixed.contains("__") {
            (unprefixed.to_lowercase().replace("__", "."), parse(value))
        } else {
            let (_, key) = SHORT_NAMES
                .iter()
                .find(|(short_name, _)| *short_name == unprefixed)?;
            let value = match (unprefixed, value.trim()) {
                // The flat layout's zeros: "for ever", and "one per core" (now the default).
                ("CONVERSATION_EVENT_RETENTION_SECS", "0") => Value::from("forever"),
                ("PIPELINE_THREADS", "0") => return None,
                _ => parse_with_unit(unprefixed, value),
            };
            ((*key).to_owned(), value)
        };
        Some(Setting {
            source: format!("environment variable {name}"),
            key,
            value,
        })
    }
}

/// The flat layout's keys at the top of a configuration file, as settings, and the rest of
/// the file (its sections) as TOML, or `None` when the file has no such key.
pub(super) fn flat_file(path: &std::path::Path, text: &str) -> Option<(Vec<Setting>, String)> {
    let mut table: toml::Table = text.parse().ok()?;
    let flat: Vec<(String, toml::Value)> = table
        .iter()
        .filter(|(name, value)| !value.is_table() && short_key(name).is_some())
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    if flat.is_empty() {
        return None;
    }
    let settings = flat
        .into_iter()
        .filter_map(|(name, value)| {
            table.remove(&name);
            let key = short_key(&name)?;
            tracing::warn!(
                file = %path.display(),
                "`{name}` is the flat layout's name: write `{}` under [{}]",
                key.split_once('.').map_or(key, |(_, field)| field),
                key.split_once('.').map_or("", |(section, _)| section),
            );
            let value = match value {
                toml::Value::String(text) => text,
                other => other.to_string(),
            };
            let mut setting =
                Setting::variable(&format!("{PREFIX}{}", name.to_uppercase()), &value)?;
            setting.source = format!("key `{name}` of {}", path.display());
            Some(setting)
        })
        .collect();
    Some((settings, table.to_string()))
}

/// The key a short name (any case) sets.
fn short_key(name: &str) -> Option<&'static str> {
    let upper = name.to_uppercase();
    SHORT_NAMES
        .iter()
        .find(|(short_name, _)| *short_name == upper)
        .map(|(_, key)| *key)
}

/// Every `SWITCHBOARD_*` variable that sets a key. Short names come first, so that when both
/// forms set one key, the nested form wins.
pub(super) fn environment() -> Vec<Setting> {
    let mut variables: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect();
    variables.sort_by_key(|(name, _)| name.contains("__"));
    variables
        .iter()
        .filter_map(|(name, value)| Setting::variable(name, value))
        .collect()
}

fn parse(value: &str) -> Value {
    value
        .parse()
        .unwrap_or_else(|infallible| match infallible {})
}

/// A bare number given to a name ending in `_MS` or `_SECS`, as a duration in that unit.
fn parse_with_unit(name: &str, value: &str) -> Value {
    let unit = UNIT_SUFFIXES
        .iter()
        .find(|(suffix, _)| name.ends_with(suffix))
        .map(|(_, unit)| unit);
    match (unit, value.trim().parse::<u64>()) {
        (Some(unit), Ok(number)) => Value::from(format!("{number}{unit}")),
        _ => parse(value),
    }
}

impl Provider for Setting {
    fn metadata(&self) -> Metadata {
        // The key as written in the file, without figment's profile in front.
        Metadata::named(self.source.clone()).interpolater(|_, keys| keys.join("."))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let nested = figment::util::nest(&self.key, self.value.clone());
        Ok(Profile::Default.collect(nested.into_dict().unwrap_or_default()))
    }
}
