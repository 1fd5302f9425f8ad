#![doc = include_str!("../README.md")]

mod app;
pub mod cli;
mod config;
pub mod telemetry;

pub use app::App;
pub use config::{Config, ConfigError, Overrides};
