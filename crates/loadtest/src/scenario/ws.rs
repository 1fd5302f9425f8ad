//! `ws`: every virtual user holds one WebSocket subscribed to the run's broadcast stream and, per
//! iteration, publishes an event and waits for its own copy to come back through the fan-out.
//! With one user that is the single-client round trip; with N users each event is delivered to
//! N subscribers, and the latency shows what fan-out costs.
//!
//! Against a cluster each worker holds two sockets: it publishes on its own node (worker `i` on
//! node `i mod n`) over a socket subscribed to nothing, and listens on the next node
//! ([`Cluster::peer`]), so every round trip crosses nodes. The latency is publish → delivery on
//! the other node, over all pairs; the sample counts towards the publishing node.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::cluster::{Cluster, NodeIndex};
use crate::http::Headers;
use crate::metrics::{ErrorKind, Metric, Recorder};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What every `ws` worker of a run shares.
#[derive(Clone)]
pub struct WsTraffic {
    /// The nodes workers publish on and listen on.
    pub cluster: Cluster,
    pub headers: Headers,
    /// The broadcast stream of this run.
    pub stream: String,
    pub timeout: Duration,
}

impl WsTraffic {
    /// `ws://host:port/ws` (or `wss://…`) of `node`.
    fn url(&self, node: NodeIndex) -> String {
        let base = self.cluster.node(node).base();
        match base.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}/ws"),
            None => format!("ws://{}/ws", base.trim_start_matches("http://")),
        }
    }
}

pub struct WsWorker {
    traffic: WsTraffic,
    /// Where this worker publishes, and where it listens for its events (the same node when
    /// there is only one).
    publishing_node: NodeIndex,
    listening_node: NodeIndex,
    /// Subscribed to the run's stream, on the listening node.
    listener: Option<Socket>,
    /// On the publishing node when that is another one; otherwise events are published through
    /// the listener.
    publisher: Option<Socket>,
    /// This worker's tag and its next sequence number: its own events are `{worker, n}`.
    worker: usize,
    next: u64,
    recorder: Recorder,
}

impl WsWorker {
    pub fn new(traffic: WsTraffic, worker: usize, recorder: Recorder) -> Self {
        let publishing_node = NodeIndex(worker % traffic.cluster.nodes().len());
        let listening_node = traffic.cluster.peer(publishing_node);
        Self {
            traffic,
            publishing_node,
            listening_node,
            listener: None,
            publisher: None,
            worker,
            next: 0,
            recorder,
        }
    }

    pub async fn iterate(&mut self, scheduled: Instant) {
        let error = match tokio::time::timeout(self.traffic.timeout, self.round_trip()).await {
            Ok(Ok(())) => None,
            Ok(Err(kind)) => Some(kind),
            Err(_) => Some(ErrorKind::Timeout),
        };
        if error.is_some() {
            // Start over on fresh connections next time.
            self.listener = None;
            self.publisher = None;
        }
        self.recorder.record(
            Metric::Ws,
            self.publishing_node,
            scheduled,
            Instant::now(),
            error,
        );
    }

    async fn round_trip(&mut self) -> Result<(), ErrorKind> {
        if self.listener.is_none() {
            self.listener = Some(self.connect(self.listening_node, true).await?);
        }
        if self.publishing_node != self.listening_node && self.publisher.is_none() {
            self.publisher = Some(self.connect(self.publishing_node, false).await?);
        }
        let Some(listener) = self.listener.as_mut() else {
            return Err(ErrorKind::Connect);
        };
        self.next += 1;
        let (worker, n) = (self.worker, self.next);
        let publish = serde_json::json!({"type": "publish", "stream": self.traffic.stream,
            "data": {"worker": worker, "n": n}});
        send(self.publisher.as_mut().unwrap_or(&mut *listener), &publish).await?;
        loop {
            let frame = match self.publisher.as_mut() {
                // The publishing socket hears only refusals: any error there fails the trip.
                Some(publisher) => tokio::select! {
                    frame = receive(listener) => frame?,
                    frame = receive(publisher) => frame?,
                },
                None => receive(listener).await?,
            };
            if frame["type"] == "error" {
                return Err(ErrorKind::InvalidBody);
            }
            let data = &frame["event"]["data"];
            if frame["type"] == "event" && data["worker"] == worker && data["n"] == n {
                return Ok(());
            }
        }
    }

    /// An authenticated socket to `node`, subscribed to the run's stream when `subscribe`.
    async fn connect(&self, node: NodeIndex, subscribe: bool) -> Result<Socket, ErrorKind> {
        let mut request = self
            .traffic
            .url(node)
            .into_client_request()
            .map_err(|_| ErrorKind::Connect)?;
        for (name, value) in &self.traffic.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .map_err(|error| match error {
                tokio_tungstenite::tungstenite::Error::Http(response) => {
                    ErrorKind::Status(response.status().as_u16())
                }
                _ => ErrorKind::Connect,
            })?;
        expect(&mut socket, "authenticated").await?;
        if subscribe {
            let frame = serde_json::json!({"type": "subscribe", "stream": self.traffic.stream});
            send(&mut socket, &frame).await?;
            expect(&mut socket, "subscribed").await?;
        }
        Ok(socket)
    }

    pub fn flush(&mut self) {
        self.recorder.flush();
    }
}

async fn send(socket: &mut Socket, frame: &serde_json::Value) -> Result<(), ErrorKind> {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .map_err(|_| ErrorKind::Transport)
}

async fn receive(socket: &mut Socket) -> Result<serde_json::Value, ErrorKind> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text).map_err(|_| ErrorKind::InvalidBody);
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                return Err(ErrorKind::Transport);
            }
            Some(Ok(_)) => {}
        }
    }
}

async fn expect(socket: &mut Socket, kind: &str) -> Result<(), ErrorKind> {
    let frame = receive(socket).await?;
    if frame["type"] == kind {
        Ok(())
    } else {
        Err(ErrorKind::InvalidBody)
    }
}
