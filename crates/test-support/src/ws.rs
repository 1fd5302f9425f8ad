//! A WebSocket client for tests: JSON frames in and out over a real socket, with a deadline on
//! every wait so a missing frame fails the test instead of hanging it.

use std::time::Duration;

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for one frame.
const FRAME_PATIENCE: Duration = Duration::from_secs(10);

pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsClosed {
    pub code: u16,
    pub reason: String,
}

impl WsClient {
    /// Connects to `url` (`ws://…/ws`), with `Authorization: Bearer <token>` when given.
    pub async fn connect(url: &str, token: Option<&str>) -> anyhow::Result<Self> {
        Self::connect_with(url, token, None).await
    }

    /// Connects to `url` offering the sub-protocol `protocol` (`graphql-transport-ws`).
    pub async fn connect_with(
        url: &str,
        token: Option<&str>,
        protocol: Option<&str>,
    ) -> anyhow::Result<Self> {
        let mut request = url.into_client_request()?;
        if let Some(token) = token {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse()?);
        }
        if let Some(protocol) = protocol {
            request
                .headers_mut()
                .insert("sec-websocket-protocol", protocol.parse()?);
        }
        let (socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .context("connecting the WebSocket")?;
        Ok(Self { socket })
    }

    pub async fn send(&mut self, frame: Value) -> anyhow::Result<()> {
        self.socket
            .send(Message::Text(frame.to_string().into()))
            .await?;
        Ok(())
    }

    /// The next JSON frame (pings answered on the way); an error if the connection closes.
    pub async fn next(&mut self) -> anyhow::Result<Value> {
        match self.next_or_close().await? {
            Ok(frame) => Ok(frame),
            Err(closed) => anyhow::bail!("connection closed: {closed:?}"),
        }
    }

    /// The next JSON frame, or how the connection closed.
    pub async fn next_or_close(&mut self) -> anyhow::Result<Result<Value, WsClosed>> {
        loop {
            let message = tokio::time::timeout(FRAME_PATIENCE, self.socket.next())
                .await
                .context("no frame in time")?;
            match message {
                Some(Ok(Message::Text(text))) => return Ok(Ok(serde_json::from_str(&text)?)),
                Some(Ok(Message::Close(frame))) => {
                    return Ok(Err(WsClosed {
                        code: frame.as_ref().map_or(1005, |frame| u16::from(frame.code)),
                        reason: frame
                            .map(|frame| frame.reason.to_string())
                            .unwrap_or_default(),
                    }));
                }
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(error.into()),
                None => {
                    return Ok(Err(WsClosed {
                        code: 1006,
                        reason: "dropped".into(),
                    }));
                }
            }
        }
    }

    /// Frames until one of `type` arrives (returned, with those before it).
    pub async fn until(&mut self, kind: &str) -> anyhow::Result<(Vec<Value>, Value)> {
        let mut before = Vec::new();
        loop {
            let frame = self.next().await?;
            if frame["type"] == kind {
                return Ok((before, frame));
            }
            before.push(frame);
        }
    }

    /// Subscribes and returns the `subscribed` frame.
    pub async fn subscribe(&mut self, stream: &str, since: Option<Value>) -> anyhow::Result<Value> {
        let mut frame = serde_json::json!({"type": "subscribe", "stream": stream});
        if let Some(since) = since {
            frame["since"] = since;
        }
        self.send(frame).await?;
        let frame = self.next().await?;
        anyhow::ensure!(
            frame["type"] == "subscribed",
            "expected subscribed, got {frame}"
        );
        Ok(frame)
    }

    /// Event frames until `count` have arrived.
    pub async fn events(&mut self, count: usize) -> anyhow::Result<Vec<Value>> {
        let mut events = Vec::new();
        while events.len() < count {
            let frame = self.next().await?;
            if frame["type"] == "event" {
                events.push(frame);
            }
        }
        Ok(events)
    }

    /// Stops reading: the socket stays open but nothing is consumed.
    pub fn into_inner(self) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        self.socket
    }
}
