#![doc = include_str!("../README.md")]

mod broker;
mod frame;
mod history;
mod hub;
mod outbox;
mod resume;
mod state;
mod stream;
mod wire;

pub use broker::{Broker, InProcessBroker, LocalDelivery};
pub use frame::{Envelope, EventMeta, Frame};
pub use history::{History, HistoryError, HistoryPage, NoHistory, StoredEvent};
pub use hub::{Hub, HubConfig, HubError, HubStats, Subscribed, Subscriber};
pub use outbox::{Closed, Outbox};
pub use state::Filter;
pub use stream::{BadStreamName, DURABLE_EPOCH, Position, StreamKey, StreamName};
pub use wire::WireError;
