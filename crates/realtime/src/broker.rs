//! The fan-out seam. Every publish goes through a [`Broker`], which hands the envelope to the
//! hub of every node that may have subscribers; the hub then numbers it (memory streams) and
//! writes it to its local subscribers. In one process that is a direct call; a cross-node broker
//! (Redis pub/sub, NATS) implements the same two methods, numbering memory-stream events
//! centrally before it forwards them, and the transports do not change.

use std::sync::{OnceLock, Weak};

use crate::frame::Envelope;
use crate::hub::HubInner;

/// Where a broker delivers envelopes on this node.
#[derive(Clone)]
pub struct LocalDelivery(pub(crate) Weak<HubInner>);

impl LocalDelivery {
    pub fn deliver(&self, envelope: Envelope) {
        if let Some(hub) = self.0.upgrade() {
            hub.deliver(envelope);
        }
    }
}

pub trait Broker: Send + Sync {
    /// Called once by the hub that owns this broker.
    fn attach(&self, local: LocalDelivery);
    /// Sends `envelope` to every node's hub, this one included.
    fn publish(&self, envelope: Envelope);
}

/// One node: publishing is delivering.
#[derive(Default)]
pub struct InProcessBroker {
    local: OnceLock<LocalDelivery>,
}

impl Broker for InProcessBroker {
    fn attach(&self, local: LocalDelivery) {
        let _ = self.local.set(local);
    }

    fn publish(&self, envelope: Envelope) {
        if let Some(local) = self.local.get() {
            local.deliver(envelope);
        }
    }
}
