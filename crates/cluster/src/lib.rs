#![doc = include_str!("../README.md")]

mod broker;
mod error;
mod keys;
mod limits;
mod link;
mod outage;
mod subscription;
mod wake;

pub use broker::RedisBroker;
pub use error::ClusterError;
pub use limits::{Reservation, SharedLimiter};
pub use link::{LinkConfig, LinkHealth, RedisLink};
pub use wake::WakeUp;
