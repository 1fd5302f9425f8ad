#![doc = include_str!("../README.md")]

pub mod args;
pub mod breakpoint;
pub mod checker;
pub mod cluster;
pub mod command;
pub mod cpu;
pub mod error;
pub mod executor;
pub mod graphql;
pub mod http;
pub mod mcp;
pub mod memory;
pub mod metrics;
pub mod plan;
pub mod provider;
pub mod quantity;
pub mod report;
pub mod scenario;
pub mod session;
pub mod suite;
pub mod target;
pub mod threshold;
pub mod voice;
pub mod whatsapp;

pub use args::{LoadtestArgs, Suite};
pub use command::{Verdict, run};
pub use error::LoadtestError;
