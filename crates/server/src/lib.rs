#![doc = include_str!("../README.md")]

mod app;
pub mod cli;
mod config;
pub mod import;
pub mod telemetry;

pub use app::App;
pub use config::{
    AgentsSection, AuthSection, ChannelsSection, Config, ConfigError, DatabaseSection, DatabaseUrl,
    HttpSection, ImportsSection, LoggingSection, Overrides, PipelineSection, QueueSection,
    RealtimeSection, Secret, SqliteSynchronous,
};
