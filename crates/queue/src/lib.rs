#![doc = include_str!("../README.md")]

mod backoff;
mod dispatch;
pub mod entries;
mod ready;
mod stats;
mod workers;

pub use dispatch::Claimed;
pub use entries::{NewEntry, QueueCounts, Registrar};
pub use stats::QueueStats;
pub use workers::{Cause, Enqueue, Handler, Outcome, Queue, QueueConfig, QueueFull, describe};
