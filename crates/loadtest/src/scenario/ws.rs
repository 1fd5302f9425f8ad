//! `ws`: every virtual user holds one WebSocket subscribed to the run's broadcast stream and, per
//! iteration, publishes an event and waits for its own copy to come back through the fan-out.
//! With one user that is the single-client round trip; with N users each event is delivered to
//! N subscribers, and the latency shows what fan-out costs.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::http::Headers;
use crate::metrics::{ErrorKind, Metric, Recorder};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What every `ws` worker of a run shares.
#[derive(Clone)]
pub struct WsTraffic {
    /// `ws://host:port/ws`.
    pub url: String,
    pub headers: Headers,
    /// The broadcast stream of this run.
    pub stream: String,
    pub timeout: Duration,
}

pub struct WsWorker {
    traffic: WsTraffic,
    socket: Option<Socket>,
    /// This worker's tag and its next sequence number: its own events are `{worker, n}`.
    worker: usize,
    next: u64,
    recorder: Recorder,
}

impl WsWorker {
    pub fn new(traffic: WsTraffic, worker: usize, recorder: Recorder) -> Self {
        Self {
            traffic,
            socket: None,
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
            // Start over on a fresh connection next time.
            self.socket = None;
        }
        self.recorder
            .record(Metric::Ws, scheduled, Instant::now(), error);
    }

    async fn round_trip(&mut self) -> Result<(), ErrorKind> {
        if self.socket.is_none() {
            self.socket = Some(self.connect().await?);
        }
        let Some(socket) = self.socket.as_mut() else {
            return Err(ErrorKind::Connect);
        };
        self.next += 1;
        let (worker, n) = (self.worker, self.next);
        let publish = serde_json::json!({"type": "publish", "stream": self.traffic.stream,
            "data": {"worker": worker, "n": n}});
        send(socket, &publish).await?;
        loop {
            let frame = receive(socket).await?;
            if frame["type"] == "error" {
                return Err(ErrorKind::InvalidBody);
            }
            let data = &frame["event"]["data"];
            if frame["type"] == "event" && data["worker"] == worker && data["n"] == n {
                return Ok(());
            }
        }
    }

    async fn connect(&self) -> Result<Socket, ErrorKind> {
        let mut request = self
            .traffic
            .url
            .as_str()
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
        let subscribe = serde_json::json!({"type": "subscribe", "stream": self.traffic.stream});
        send(&mut socket, &subscribe).await?;
        expect(&mut socket, "subscribed").await?;
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
