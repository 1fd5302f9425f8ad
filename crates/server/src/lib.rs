#![doc = include_str!("../README.md")]

mod app;
pub mod cli;
mod config;
pub mod import;
pub mod keys;
mod single_node;
pub mod telemetry;

pub use app::App;
pub use config::{
    AgentsSection, AuthSection, ChannelsSection, Config, ConfigError, DatabaseSection, DatabaseUrl,
    HttpSection, ImportsSection, LimitsSection, LoggingSection, Overrides, PipelineSection,
    QueueSection, QuotaSetting, RealtimeSection, Secret, SecretsSection, SqliteSynchronous,
};
pub use single_node::lock_sqlite_file;
