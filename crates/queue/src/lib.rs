#![doc = include_str!("../README.md")]

mod backoff;
mod dispatch;
pub mod entries;
pub mod ownership;
mod ready;
mod stats;
mod workers;

pub use dispatch::Claimed;
pub use entries::{NewEntry, QueueCounts, Registrar};
pub use ownership::{ClusterConfig, Holdings, PARTITIONS, Wake, partition_of};
pub use stats::QueueStats;
pub use workers::{Cause, Enqueue, Handler, Outcome, Queue, QueueConfig, QueueFull, describe};
