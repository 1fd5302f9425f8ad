//! The nodes under load and how work is spread over them. `--target` lists the base URLs of one
//! or more identical nodes that share one store; setup (login, seeding, token refresh, queue
//! statistics) goes to the first node, load to all of them.
//!
//! Spreading is per operation, never per worker: each worker holds one keep-alive connection
//! per node and sends its successive operations to successive nodes, starting at its own index.
//! A conversation's webhooks are spread by their sequence number instead
//! ([`ClusterConnection::for_message`]), so its consecutive messages land on consecutive nodes
//! whichever other contacts its worker serves: any node must accept them and the cluster must
//! still answer them in order. A realtime consumer listens on the node after the one its events
//! are published on ([`Cluster::peer`]), so every event crosses nodes on its way back.
//!
//! One URL is one node, and everything then behaves as against a single server.

use std::sync::Arc;
use std::time::Duration;

use crate::error::LoadtestError;
use crate::http::{Connection, Endpoint};

/// A node's position in `--target`, counting from 0 (the node setup goes to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeIndex(pub usize);

/// The nodes of the deployment under load; never empty.
#[derive(Debug, Clone)]
pub struct Cluster {
    nodes: Arc<[Arc<Endpoint>]>,
}

impl Cluster {
    /// `--target`: base URLs separated by commas, each node once.
    pub fn parse(list: &str, timeout: Duration) -> Result<Cluster, LoadtestError> {
        let mut nodes: Vec<Arc<Endpoint>> = Vec::new();
        for url in list.split(',').map(str::trim) {
            if url.is_empty() {
                return Err(LoadtestError::InvalidOption {
                    option: "target",
                    message: format!(
                        "`{list}` has an empty entry: separate the nodes' base URLs with single \
                         commas"
                    ),
                });
            }
            let endpoint = Endpoint::parse(url, timeout)?;
            if nodes.iter().any(|node| node.base() == endpoint.base()) {
                return Err(LoadtestError::InvalidOption {
                    option: "target",
                    message: format!("`{}` is listed twice: give each node once", endpoint.base()),
                });
            }
            nodes.push(Arc::new(endpoint));
        }
        Ok(Cluster {
            nodes: nodes.into(),
        })
    }

    /// One node: a single server.
    pub fn single(endpoint: Arc<Endpoint>) -> Cluster {
        Cluster {
            nodes: Arc::new([endpoint]),
        }
    }

    /// Every node, in `--target` order.
    pub fn nodes(&self) -> &[Arc<Endpoint>] {
        &self.nodes
    }

    /// The node at `node` (wrapping around).
    pub fn node(&self, node: NodeIndex) -> &Arc<Endpoint> {
        &self.nodes[node.0 % self.nodes.len()]
    }

    /// The first node, where the harness logs in, seeds and reads queue statistics.
    pub fn setup(&self) -> &Arc<Endpoint> {
        self.node(NodeIndex(0))
    }

    /// The base URLs as `--target` takes them: separated by commas.
    pub fn describe(&self) -> String {
        self.nodes
            .iter()
            .map(|node| node.base())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Where a realtime consumer of events published on `node` listens: the next node (the same
    /// one when there is only one).
    pub fn peer(&self, node: NodeIndex) -> NodeIndex {
        NodeIndex((node.0 + 1) % self.nodes.len())
    }

    /// Worker `worker`'s connections; its first operation goes to node `worker mod n`.
    pub fn connect(&self, worker: usize) -> ClusterConnection {
        ClusterConnection {
            connections: self
                .nodes
                .iter()
                .map(|node| Connection::new(node.clone()))
                .collect(),
            next: worker % self.nodes.len(),
        }
    }
}

/// One worker's keep-alive connections, one per node, each opened on first use.
pub struct ClusterConnection {
    connections: Vec<Connection>,
    next: usize,
}

impl ClusterConnection {
    /// The node the next operation goes to and the connection to it; successive calls go round
    /// the nodes.
    pub fn next_in_turn(&mut self) -> (NodeIndex, &mut Connection) {
        let node = self.next_node();
        (node, self.at(node))
    }

    /// The node the next operation goes to; the one after it goes to the node after.
    pub fn next_node(&mut self) -> NodeIndex {
        let node = self.next;
        self.next = (node + 1) % self.connections.len();
        NodeIndex(node)
    }

    /// The connection to `node` (wrapping around).
    pub fn at(&mut self, node: NodeIndex) -> &mut Connection {
        let nodes = self.connections.len();
        &mut self.connections[node.0 % nodes]
    }

    /// Where message `seq` of contact `contact` goes: node `(contact + seq) mod n`, so that a
    /// conversation's consecutive messages go to consecutive nodes and the contacts start spread.
    pub fn for_message(&mut self, contact: usize, seq: u64) -> (NodeIndex, &mut Connection) {
        let nodes = self.connections.len();
        let node = NodeIndex((contact % nodes + (seq % nodes as u64) as usize) % nodes);
        (node, self.at(node))
    }
}
