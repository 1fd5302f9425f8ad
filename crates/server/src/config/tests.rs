//! Loading: defaults, layers and their order, both environment forms, and what errors and
//! printing reveal.
#![expect(
    clippy::result_large_err,
    reason = "figment's Jail closures return figment::Error"
)]

use std::net::SocketAddr;
use std::time::Duration;

use figment::Jail;
use switchboard_engine::Ordering;

use super::*;
use crate::telemetry::LogFormat;

fn load() -> Result<Config, ConfigError> {
    Config::load(None, &Overrides::default())
}

fn address(text: &str) -> SocketAddr {
    text.parse().expect("an address")
}

#[test]
fn defaults_load_without_file_or_environment() {
    Jail::expect_with(|_| {
        let config = load().expect("valid");
        assert_eq!(config.http.listen, address("127.0.0.1:3000"));
        assert_eq!(
            config.database.url.expose(),
            "sqlite://./data/switchboard.db"
        );
        assert_eq!(config.database.sqlite_synchronous, SqliteSynchronous::Full);
        assert_eq!(config.queue.retry_base, Duration::from_millis(500));
        assert_eq!(config.queue.ordering, Ordering::Conversation);
        assert_eq!(
            config.realtime.conversation_event_retention,
            Some(Duration::from_secs(7 * 24 * 3600))
        );
        assert!(config.pipeline.threads >= 1);
        assert_eq!(config.logging.format, LogFormat::Text);
        Ok(())
    });
}

#[test]
fn layers_apply_in_order_file_environment_flags() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "switchboard.toml",
            "[http]\nlisten = \"127.0.0.1:4000\"\n[logging]\nlevel = \"debug\"\n",
        )?;
        let config = load().expect("valid");
        assert_eq!(config.http.listen, address("127.0.0.1:4000"));
        assert_eq!(config.logging.level, "debug");

        jail.set_env("SWITCHBOARD_LISTEN", "127.0.0.1:5000");
        assert_eq!(
            load().expect("valid").http.listen,
            address("127.0.0.1:5000")
        );

        let flags = Overrides {
            listen: Some("127.0.0.1:6000".into()),
            database_url: Some("postgres://app@db/flags".into()),
            ..Overrides::default()
        };
        let config = Config::load(None, &flags).expect("valid");
        assert_eq!(config.http.listen, address("127.0.0.1:6000"));
        assert_eq!(config.database.url.expose(), "postgres://app@db/flags");
        Ok(())
    });
}

#[test]
fn a_file_of_the_flat_layout_still_loads_under_the_environment() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "switchboard.toml",
            "listen = \"127.0.0.1:4100\"\nqueue_retry_base_ms = 2000\n\
             jwt_secret = \"a-flat-secret-long-enough-for-its-check\"\n[logging]\nlevel = \"debug\"\n",
        )?;
        let config = load().expect("valid");
        assert_eq!(config.http.listen, address("127.0.0.1:4100"));
        assert_eq!(config.queue.retry_base, Duration::from_secs(2));
        assert_eq!(
            config.auth.jwt_secret.as_ref().map(Secret::expose),
            Some("a-flat-secret-long-enough-for-its-check")
        );
        assert_eq!(config.logging.level, "debug");

        jail.set_env("SWITCHBOARD_LISTEN", "127.0.0.1:5100");
        assert_eq!(
            load().expect("valid").http.listen,
            address("127.0.0.1:5100"),
            "the environment still wins over the file"
        );
        jail.clear_env();

        jail.create_file("switchboard.toml", "listen = \"nowhere\"\n")?;
        let error = load().expect_err("not an address").to_string();
        assert!(error.contains("listen"), "{error}");
        Ok(())
    });
}

#[test]
fn listen_and_database_url_are_read_from_their_variables() {
    Jail::expect_with(|jail| {
        jail.set_env("SWITCHBOARD_LISTEN", "0.0.0.0:8080");
        jail.set_env(
            "SWITCHBOARD_DATABASE_URL",
            "postgres://app:pw@db/switchboard",
        );
        let config = load().expect("valid");
        assert_eq!(config.http.listen, address("0.0.0.0:8080"));
        assert_eq!(
            config.database.url.expose(),
            "postgres://app:pw@db/switchboard"
        );
        Ok(())
    });
}

#[test]
fn short_names_keep_their_flat_meaning_and_the_nested_form_wins() {
    Jail::expect_with(|jail| {
        jail.set_env("SWITCHBOARD_QUEUE_RETRY_BASE_MS", "250");
        jail.set_env("SWITCHBOARD_WS_AUTH_TIMEOUT_SECS", "3");
        jail.set_env("SWITCHBOARD_QUEUE_CAPACITY", "7");
        jail.set_env("SWITCHBOARD_CONVERSATION_EVENT_RETENTION_SECS", "0");
        jail.set_env("SWITCHBOARD_PIPELINE_THREADS", "0");
        jail.set_env(
            "SWITCHBOARD_TEST_POSTGRES_URL",
            "not configuration; ignored",
        );
        let config = load().expect("valid");
        assert_eq!(config.queue.retry_base, Duration::from_millis(250));
        assert_eq!(
            config.realtime.websocket_auth_timeout,
            Duration::from_secs(3)
        );
        assert_eq!(config.queue.capacity, 7);
        assert_eq!(config.realtime.conversation_event_retention, None);
        assert_eq!(config.pipeline.threads, PipelineSection::default().threads);

        jail.set_env("SWITCHBOARD_QUEUE__RETRY_BASE", "2s");
        jail.set_env(
            "SWITCHBOARD_REALTIME__CONVERSATION_EVENT_RETENTION",
            "3days",
        );
        let config = load().expect("valid");
        assert_eq!(config.queue.retry_base, Duration::from_secs(2));
        assert_eq!(
            config.realtime.conversation_event_retention,
            Some(Duration::from_secs(3 * 24 * 3600))
        );
        Ok(())
    });
}

#[test]
fn durations_are_read_with_a_unit_and_refused_without() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "switchboard.toml",
            "[agents]\nrequest_timeout = \"1m 30s\"\nbreaker_cooldown = \"500ms\"\n\
             [realtime]\nconversation_event_retention = \"forever\"\n\
             [database]\nsqlite_commit_window = \"6ms\"\n",
        )?;
        let config = load().expect("valid");
        assert_eq!(
            config.database.store_options(0).sqlite_commit_window,
            Duration::from_millis(6)
        );
        assert_eq!(config.agents.request_timeout, Duration::from_secs(90));
        assert_eq!(config.agents.breaker_cooldown, Duration::from_millis(500));
        assert_eq!(config.realtime.conversation_event_retention, None);

        jail.create_file("switchboard.toml", "[agents]\nrequest_timeout = 90\n")?;
        let error = load().expect_err("no unit").to_string();
        assert!(
            error.contains("agents.request_timeout") && error.contains("\"30s\""),
            "{error}"
        );
        Ok(())
    });
}

#[test]
fn an_unknown_choice_names_the_accepted_ones() {
    Jail::expect_with(|jail| {
        jail.set_env("SWITCHBOARD_QUEUE_ORDERING", "sideways");
        let error = load().expect_err("unknown ordering").to_string();
        for expected in ["sideways", "`conversation`", "`channel`", "queue.ordering"] {
            assert!(error.contains(expected), "{expected}: {error}");
        }

        jail.set_env("SWITCHBOARD_QUEUE_ORDERING", "channel");
        jail.create_file("switchboard.toml", "[logging]\nformat = \"xml\"\n")?;
        let error = load().expect_err("unknown format").to_string();
        assert!(
            error.contains("`text`") && error.contains("`json`"),
            "{error}"
        );
        Ok(())
    });
}

#[test]
fn bad_values_name_their_field() {
    Jail::expect_with(|jail| {
        jail.set_env("SWITCHBOARD_JWT_SECRET", "short");
        let error = load().expect_err("short secret").to_string();
        assert!(error.contains("auth.jwt_secret"), "{error}");

        jail.set_env("SWITCHBOARD_JWT_SECRET", "x".repeat(40));
        jail.set_env("SWITCHBOARD_BODY_LIMIT_BYTES", "lots");
        let error = load().expect_err("not a number").to_string();
        assert!(
            error.contains("http.body_limit_bytes")
                && error.contains("SWITCHBOARD_BODY_LIMIT_BYTES"),
            "{error}"
        );

        jail.set_env("SWITCHBOARD_BODY_LIMIT_BYTES", "4096");
        jail.create_file("switchboard.toml", "queue_capacityy = 10\n")?;
        let error = load().expect_err("no such key").to_string();
        assert!(error.contains("queue_capacityy"), "{error}");
        Ok(())
    });
}

#[test]
fn secrets_never_print() {
    let mut config = Config::default();
    config.auth.jwt_secret = Some(Secret::new("j".repeat(40)));
    config.auth.admin_password = Some(Secret::new("hunter22hunter"));
    config.database.url =
        DatabaseUrl::parse("postgres://app:pa55word@db/switchboard").expect("a postgres URL");
    let debug = format!("{config:?}");
    let shown = config.redacted_toml();
    for secret in ["jjjj", "hunter22", "pa55word"] {
        assert!(!debug.contains(secret), "{debug}");
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(shown.contains("jwt_secret = \"[redacted]\""), "{shown}");
    assert!(
        shown.contains("url = \"postgres://app:<redacted>@db/switchboard\""),
        "{shown}"
    );
}

#[test]
fn mcp_hosts_add_to_loopback_and_the_listen_host() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "switchboard.toml",
            "[http]\nlisten = \"10.0.0.5:3000\"\n[mcp]\nallowed_hosts = [\"gateway.example.com\"]\n\
             allowed_origins = [\"https://app.example.com\"]\nsession_idle_timeout = \"5m\"\n",
        )?;
        let config = load().expect("valid");
        let settings = config.mcp.settings(config.http.listen);
        assert_eq!(settings.allowed_hosts, ["gateway.example.com", "10.0.0.5"]);
        assert_eq!(settings.allowed_origins, ["https://app.example.com"]);
        assert_eq!(settings.session_idle_timeout, Duration::from_secs(300));
        let every_interface = config.mcp.settings(address("0.0.0.0:3000"));
        assert_eq!(every_interface.allowed_hosts, ["gateway.example.com"]);

        jail.set_env("SWITCHBOARD_MCP__ALLOWED_ORIGINS", "[\"app.example.com\"]");
        let error = load().expect_err("an origin without a scheme").to_string();
        assert!(error.contains("mcp.allowed_origins"), "{error}");
        Ok(())
    });
}
