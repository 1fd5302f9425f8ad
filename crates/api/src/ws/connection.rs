//! One WebSocket connection: authenticate, then serve frames both ways until the client leaves,
//! falls behind, goes idle, or the server shuts down. Everything the server sends goes through
//! the connection's outbox, so replies and events keep one order.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use switchboard_core::Caller;
use switchboard_realtime::{Closed, Frame, StreamKey, StreamName, Subscriber};

use super::protocol::{self, ClientFrame, Presented, close};
use crate::{ApiError, ApiState, auth};

/// How long the frames still queued at a close may take to leave.
const FLUSH_PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);

/// Refused subscriptions tolerated on one connection before it is closed (stops probing).
const MAX_REFUSALS: u32 = 10;

/// Why the connection ends, and what the client is told.
struct Ending {
    code: u16,
    reason: &'static str,
}

pub(crate) async fn run(mut socket: WebSocket, state: ApiState, presented: Presented) {
    let caller = match authenticate(&mut socket, &state, presented).await {
        Ok(caller) => caller,
        Err(ending) => {
            let _ = finish(&mut socket, ending).await;
            return;
        }
    };
    let hub = state.engine.hub().clone();
    let mut connection = Connection {
        subscriber: hub.subscriber(),
        state,
        caller,
        streams: HashMap::new(),
        refusals: 0,
    };
    connection.push(protocol::authenticated(
        &connection.caller.user_id.to_string(),
        &connection.caller.tenant_id.to_string(),
    ));
    let ending = connection.serve(&mut socket).await;
    for key in connection.streams.values() {
        hub.unsubscribe(connection.subscriber.id, key);
    }
    // What is still queued (the error frame that explains a bad frame, say) goes out before the
    // close, unless the client stopped reading.
    let outbox = &connection.subscriber.outbox;
    let flush = send_queued(&mut socket, outbox);
    let _ = tokio::time::timeout(FLUSH_PATIENCE, flush).await;
    let _ = finish(&mut socket, ending).await;
}

struct Connection {
    subscriber: Subscriber,
    state: ApiState,
    caller: Caller,
    /// Subscriptions by the stream's name as the client wrote it.
    streams: HashMap<String, StreamKey>,
    refusals: u32,
}

impl Connection {
    async fn serve(&mut self, socket: &mut WebSocket) -> Ending {
        let settings = self.state.realtime.settings.clone();
        let closing = self.state.realtime.closing.clone();
        let mut heartbeat = tokio::time::interval(settings.heartbeat);
        heartbeat.tick().await;
        let mut last_heard = Instant::now();
        let outbox = self.subscriber.outbox.clone();
        let mut batch: Vec<Frame> = Vec::new();
        loop {
            tokio::select! {
                biased;
                () = closing.cancelled() => {
                    return Ending { code: close::GOING_AWAY, reason: "server shutting down" };
                }
                ready = outbox.next_batch(&mut batch) => {
                    if let Err(reason) = ready {
                        return match reason {
                            Closed::SlowConsumer => Ending { code: close::SLOW_CONSUMER, reason: "slow consumer: resume from your last offset" },
                            Closed::Shutdown => Ending { code: close::GOING_AWAY, reason: "closing" },
                        };
                    }
                    if send_batch(socket, &mut batch).await.is_err() {
                        return Ending { code: close::GOING_AWAY, reason: "send failed" };
                    }
                }
                received = socket.recv() => {
                    last_heard = Instant::now();
                    match received {
                        Some(Ok(Message::Text(text))) => {
                            if let Err(ending) = self.handle(&text).await {
                                return ending;
                            }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            self.push(protocol::error("bad_frame", "frames are JSON text", None));
                            return Ending { code: close::BAD_FRAME, reason: "binary frame" };
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                            return Ending { code: 1000, reason: "bye" };
                        }
                    }
                }
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > settings.idle_timeout {
                        return Ending { code: close::IDLE, reason: "idle timeout" };
                    }
                    if socket.send(Message::Ping(Default::default())).await.is_err() {
                        return Ending { code: close::GOING_AWAY, reason: "send failed" };
                    }
                }
            }
        }
    }

    fn push(&self, frame: Frame) {
        self.subscriber.outbox.push(frame);
    }

    /// Handles one client frame; `Err` ends the connection.
    async fn handle(&mut self, text: &str) -> Result<(), Ending> {
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(error) => {
                self.push(protocol::error("bad_frame", &error.to_string(), None));
                return Err(Ending {
                    code: close::BAD_FRAME,
                    reason: "bad frame",
                });
            }
        };
        match frame {
            ClientFrame::Auth { .. } => {
                // Already authenticated: a second identity on one connection is refused.
                self.push(protocol::error(
                    "forbidden",
                    "this connection is already authenticated",
                    None,
                ));
            }
            ClientFrame::Subscribe { stream, since } => self.subscribe(stream, since).await?,
            ClientFrame::Unsubscribe { stream } => {
                if let Some(key) = self.streams.remove(&stream) {
                    self.state
                        .engine
                        .hub()
                        .unsubscribe(self.subscriber.id, &key);
                }
                self.push(protocol::unsubscribed(&stream));
            }
            ClientFrame::Publish { stream, data } => {
                let published = StreamName::parse(&stream)
                    .map_err(|error| ApiError::BadRequest(error.to_string()))
                    .and_then(|name| {
                        self.state
                            .engine
                            .publish_broadcast(&self.caller, &name, &data)
                            .map_err(ApiError::from)
                    });
                if let Err(error) = published {
                    self.refuse(&stream, &error)?;
                }
            }
            ClientFrame::Ping { id } => self.push(protocol::pong(id)),
            ClientFrame::Ack { stream, offset } => {
                metrics::counter!("ws_acks_total").increment(1);
                tracing::trace!(%stream, offset, "client confirmed delivery");
            }
        }
        Ok(())
    }

    async fn subscribe(
        &mut self,
        stream: String,
        since: Option<switchboard_realtime::Position>,
    ) -> Result<(), Ending> {
        let name = match StreamName::parse(&stream) {
            Ok(name) => name,
            Err(error) => {
                let error = ApiError::BadRequest(error.to_string());
                return self.refuse(&stream, &error);
            }
        };
        let engine = &self.state.engine;
        let filter = match engine.authorize_stream(&self.caller, &name).await {
            Ok(filter) => filter,
            Err(error) => return self.refuse(&stream, &error.into()),
        };
        let key = StreamKey {
            tenant_id: self.caller.tenant_id,
            name,
        };
        match engine
            .hub()
            .subscribe(&self.subscriber, key.clone(), since, filter)
            .await
        {
            Ok(_) => {
                self.streams.insert(stream, key);
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, %stream, "subscription failed");
                self.push(protocol::error(
                    "unavailable",
                    "the stream's history could not be read; retry",
                    Some(&stream),
                ));
                Ok(())
            }
        }
    }

    /// Tells the client why a request was refused; too many refusals end the connection.
    fn refuse(&mut self, stream: &str, error: &ApiError) -> Result<(), Ending> {
        let (_, code) = error.status_and_code();
        self.push(protocol::error(code, &error.to_string(), Some(stream)));
        self.refusals += 1;
        if self.refusals >= MAX_REFUSALS {
            return Err(Ending {
                code: close::FORBIDDEN,
                reason: "too many refused requests",
            });
        }
        Ok(())
    }
}

/// Waits for credentials when the request had none (a first `auth` frame), and turns a refusal
/// into the close code the client acts on.
async fn authenticate(
    socket: &mut WebSocket,
    state: &ApiState,
    presented: Presented,
) -> Result<Caller, Ending> {
    let unauthorized = |reason| Ending {
        code: close::UNAUTHORIZED,
        reason,
    };
    let checked = match presented {
        Presented::Checked(checked) => checked,
        Presented::Pending(headers) => {
            let timeout = state.realtime.settings.auth_timeout;
            let first = tokio::time::timeout(timeout, socket.recv())
                .await
                .map_err(|_| unauthorized("no auth frame in time"))?;
            let Some(Ok(Message::Text(text))) = first else {
                return Err(unauthorized("expected an auth frame"));
            };
            let credentials = match serde_json::from_str::<ClientFrame>(&text) {
                Ok(ClientFrame::Auth {
                    token: Some(token), ..
                }) => auth::Credentials::Token(token),
                Ok(ClientFrame::Auth {
                    api_key: Some(key), ..
                }) => auth::Credentials::ApiKey(key),
                _ => return Err(unauthorized("the first frame must be auth {token}")),
            };
            auth::caller_from_credentials(state, credentials, &headers).await
        }
    };
    checked.map_err(|error| match error {
        ApiError::Unauthorized(_) => unauthorized("invalid or expired credentials"),
        _ => Ending {
            code: close::FORBIDDEN,
            reason: "may not act in that tenant",
        },
    })
}

async fn send_batch(socket: &mut WebSocket, batch: &mut Vec<Frame>) -> Result<(), axum::Error> {
    use futures::SinkExt;
    for frame in batch.drain(..) {
        let text = Utf8Bytes::try_from(frame.bytes).unwrap_or_default();
        socket.feed(Message::Text(text)).await?;
    }
    socket.flush().await
}

/// Sends what is queued, without waiting for more.
async fn send_queued(
    socket: &mut WebSocket,
    outbox: &switchboard_realtime::Outbox,
) -> Result<(), axum::Error> {
    let mut batch = Vec::new();
    if !outbox.is_empty() && outbox.next_batch(&mut batch).await.is_ok() {
        send_batch(socket, &mut batch).await?;
    }
    Ok(())
}

async fn finish(socket: &mut WebSocket, ending: Ending) -> Result<(), axum::Error> {
    socket
        .send(Message::Close(Some(CloseFrame {
            code: ending.code,
            reason: Utf8Bytes::from_static(ending.reason),
        })))
        .await
}
