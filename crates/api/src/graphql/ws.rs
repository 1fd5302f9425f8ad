//! GraphQL over WebSocket on `/graphql`, in both protocols clients speak:
//!
//! - `graphql-transport-ws`, the current one (the `graphql-ws` library's): `connection_init` →
//!   `connection_ack`, `subscribe`/`next`/`error`/`complete`, `ping`/`pong` either way.
//! - `graphql-ws`, the legacy one (Apollo's `subscriptions-transport-ws`): `connection_init` →
//!   `connection_ack` (or `connection_error`), `start`/`data`/`error`/`complete`, `stop`,
//!   `connection_terminate`, and the server's `ka` keep-alives.
//!
//! Credentials come in `connection_init`'s payload (`authorization`, `token` or `apiKey`) or in
//! the upgrade request's headers, and are checked exactly as REST checks them. Close codes are
//! those `graphql-transport-ws` defines, used for both: 4400 a message that is not the
//! protocol's, 4401 an operation before `connection_ack`, 4403 credentials refused, 4408 no
//! `connection_init` in time (or, later, nothing heard for the idle timeout), 4409 an operation
//! id already running, 4429 a second `connection_init`. The server pings every heartbeat.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use async_graphql::{Request, Response};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use axum::http::{HeaderMap, header};
use futures::StreamExt;
use futures::stream::{AbortHandle, BoxStream, SelectAll};
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::Caller;

use super::Graphql;
use crate::ApiState;
use crate::auth::{Credentials, caller_from_credentials, caller_from_headers};

/// Operations one connection may run at once.
const MAX_OPERATIONS: usize = 1000;

/// The two protocols, by their `Sec-WebSocket-Protocol` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    TransportWs,
    LegacyWs,
}

impl Protocol {
    pub(crate) const NAMES: [&'static str; 2] = ["graphql-transport-ws", "graphql-ws"];

    /// The protocol to speak: the current one if the client offers it, else the legacy one
    /// (the order in [`Protocol::NAMES`], which is also the upgrade's preference).
    pub(crate) fn offered(headers: &HeaderMap) -> Option<Protocol> {
        let offers = |name: &str| {
            headers
                .get_all(header::SEC_WEBSOCKET_PROTOCOL)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .any(|offered| offered.trim() == name)
        };
        [Protocol::TransportWs, Protocol::LegacyWs]
            .into_iter()
            .zip(Self::NAMES)
            .find_map(|(protocol, name)| offers(name).then_some(protocol))
    }

    /// The message that carries an operation's result.
    fn result_type(self) -> &'static str {
        match self {
            Protocol::TransportWs => "next",
            Protocol::LegacyWs => "data",
        }
    }
}

mod close {
    pub const BAD_MESSAGE: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const TIMEOUT: u16 = 4408;
    pub const DUPLICATE_OPERATION: u16 = 4409;
    pub const REPEATED_INIT: u16 = 4429;
    pub const GOING_AWAY: u16 = 1001;
    pub const INTERNAL: u16 = 1011;
}

/// What a client sends, in either protocol.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    #[serde(alias = "start")]
    Subscribe {
        id: String,
        payload: Box<Request>,
    },
    #[serde(alias = "stop")]
    Complete {
        id: String,
    },
    Ping {
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    Pong {},
    ConnectionTerminate,
}

/// Why a connection ends.
struct Ending {
    code: u16,
    reason: String,
}

impl Ending {
    /// A close frame's reason fits in 123 bytes; a longer one is cut at a character boundary.
    fn new(code: u16, reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        if reason.len() > MAX_REASON {
            let mut end = MAX_REASON;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        Self { code, reason }
    }
}

/// The longest close reason the WebSocket protocol allows.
const MAX_REASON: usize = 123;

pub(crate) async fn run(
    mut socket: WebSocket,
    state: ApiState,
    schema: Arc<Graphql>,
    protocol: Protocol,
    headers: HeaderMap,
) {
    let mut connection = Connection {
        protocol,
        state,
        schema,
        headers,
        caller: None,
        operations: HashMap::new(),
        results: SelectAll::new(),
    };
    let ending = connection.serve(&mut socket).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: ending.code,
            reason: Utf8Bytes::from(ending.reason),
        })))
        .await;
}

/// An operation's result, or its end.
type Item = (String, Option<Response>);

struct Connection {
    protocol: Protocol,
    state: ApiState,
    schema: Arc<Graphql>,
    /// The upgrade request's headers: credentials and `X-Tenant-Id` may be there.
    headers: HeaderMap,
    /// Set once `connection_init` is accepted.
    caller: Option<Caller>,
    /// Running operations by the client's id; aborting one ends its stream.
    operations: HashMap<String, AbortHandle>,
    results: SelectAll<BoxStream<'static, Item>>,
}

impl Connection {
    async fn serve(&mut self, socket: &mut WebSocket) -> Ending {
        let settings = self.state.realtime.settings.clone();
        let closing = self.state.realtime.closing.clone();
        let init_deadline = tokio::time::sleep(settings.auth_timeout);
        tokio::pin!(init_deadline);
        let mut heartbeat = tokio::time::interval(settings.heartbeat);
        heartbeat.tick().await;
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                biased;
                () = closing.cancelled() => {
                    return Ending::new(close::GOING_AWAY, "server shutting down");
                }
                () = &mut init_deadline, if self.caller.is_none() => {
                    return Ending::new(close::TIMEOUT, "Connection initialisation timeout");
                }
                Some((id, result)) = self.results.next(), if !self.results.is_empty() => {
                    if let Err(ending) = self.deliver(socket, id, result).await {
                        return ending;
                    }
                }
                received = socket.recv() => {
                    last_heard = Instant::now();
                    let text = match received {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Binary(_))) => {
                            return Ending::new(close::BAD_MESSAGE, "messages are JSON text");
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                            return Ending::new(1000, "bye");
                        }
                    };
                    if let Err(ending) = self.handle(socket, &text).await {
                        return ending;
                    }
                }
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > settings.idle_timeout {
                        return Ending::new(close::TIMEOUT, "idle timeout");
                    }
                    let ping = match self.protocol {
                        Protocol::TransportWs => json!({ "type": "ping" }),
                        Protocol::LegacyWs => json!({ "type": "ka" }),
                    };
                    if send(socket, &ping).await.is_err()
                        || socket.send(Message::Ping(Default::default())).await.is_err()
                    {
                        return Ending::new(close::GOING_AWAY, "send failed");
                    }
                }
            }
        }
    }

    /// Handles one client message; `Err` ends the connection.
    async fn handle(&mut self, socket: &mut WebSocket, text: &str) -> Result<(), Ending> {
        let message = serde_json::from_str::<ClientMessage>(text).map_err(|error| {
            Ending::new(close::BAD_MESSAGE, format!("Invalid message: {error}"))
        })?;
        match message {
            ClientMessage::ConnectionInit { payload } => {
                if self.caller.is_some() {
                    return Err(Ending::new(
                        close::REPEATED_INIT,
                        "Too many initialisation requests",
                    ));
                }
                let caller = authenticate(&self.state, &self.headers, payload).await;
                match caller {
                    Some(caller) => {
                        self.caller = Some(caller);
                        send(socket, &json!({ "type": "connection_ack" })).await?;
                        if self.protocol == Protocol::LegacyWs {
                            send(socket, &json!({ "type": "ka" })).await?;
                        }
                    }
                    None => {
                        if self.protocol == Protocol::LegacyWs {
                            let refusal = json!({
                                "type": "connection_error",
                                "payload": { "message": "Forbidden" },
                            });
                            send(socket, &refusal).await?;
                        }
                        return Err(Ending::new(close::FORBIDDEN, "Forbidden"));
                    }
                }
            }
            ClientMessage::Subscribe { id, payload } => self.start(socket, id, *payload).await?,
            ClientMessage::Complete { id } => {
                if let Some(operation) = self.operations.remove(&id) {
                    operation.abort();
                }
            }
            ClientMessage::Ping { payload } => {
                let mut pong = json!({ "type": "pong" });
                if let Some(payload) = payload {
                    pong["payload"] = payload;
                }
                send(socket, &pong).await?;
            }
            ClientMessage::Pong {} => {}
            ClientMessage::ConnectionTerminate => return Err(Ending::new(1000, "bye")),
        }
        Ok(())
    }

    /// Starts the operation `id`: a subscription streams until it ends or the client completes
    /// it; a query or mutation answers once.
    async fn start(
        &mut self,
        socket: &mut WebSocket,
        id: String,
        request: Request,
    ) -> Result<(), Ending> {
        let Some(caller) = self.caller.clone() else {
            return Err(Ending::new(close::UNAUTHORIZED, "Unauthorized"));
        };
        if self.operations.contains_key(&id) {
            return Err(Ending::new(
                close::DUPLICATE_OPERATION,
                format!("Subscriber for {id} already exists"),
            ));
        }
        if self.operations.len() >= MAX_OPERATIONS {
            let refusal = async_graphql::ServerError::new(
                format!("at most {MAX_OPERATIONS} operations may run on one connection"),
                None,
            );
            return send(socket, &self.error(&id, refusal)).await;
        }
        let request = request.data(self.state.engine.clone()).data(caller);
        let results = self.schema.execute_stream(request);
        let (results, abort) = futures::stream::abortable(results);
        let ended = futures::stream::once(std::future::ready(None));
        let tagged = id.clone();
        let stream = results
            .map(Some)
            .chain(ended)
            .map(move |result| (tagged.clone(), result));
        self.operations.insert(id, abort);
        self.results.push(stream.boxed());
        Ok(())
    }

    /// Sends an operation's result, or its end (unless the client ended it).
    async fn deliver(
        &mut self,
        socket: &mut WebSocket,
        id: String,
        result: Option<Response>,
    ) -> Result<(), Ending> {
        let Some(response) = result else {
            if self.operations.remove(&id).is_some() {
                send(socket, &json!({ "type": "complete", "id": id })).await?;
            }
            return Ok(());
        };
        if !self.operations.contains_key(&id) {
            return Ok(());
        }
        // An operation refused before it ran (it does not parse, fails validation or its
        // subscription is refused) is an `error`, which ends it; anything else is a result.
        let refused = response.data == async_graphql::Value::Null && !response.errors.is_empty();
        if refused && self.protocol == Protocol::TransportWs {
            self.operations.remove(&id);
            let errors = Outgoing {
                kind: "error",
                id: &id,
                payload: &response.errors,
            };
            return send(socket, &errors).await;
        }
        let result = Outgoing {
            kind: self.protocol.result_type(),
            id: &id,
            payload: &response,
        };
        send(socket, &result).await
    }

    /// An `error` message for one operation, in this connection's protocol.
    fn error(&self, id: &str, error: async_graphql::ServerError) -> serde_json::Value {
        let payload = match self.protocol {
            Protocol::TransportWs => json!([error]),
            Protocol::LegacyWs => json!(error),
        };
        json!({ "type": "error", "id": id, "payload": payload })
    }
}

/// The caller that `connection_init`'s payload, or else the upgrade request's `headers`,
/// authenticates; `None` when there are no credentials or they are refused.
async fn authenticate(
    state: &ApiState,
    headers: &HeaderMap,
    payload: Option<serde_json::Value>,
) -> Option<Caller> {
    let checked = match payload.as_ref().and_then(presented) {
        Some(credentials) => caller_from_credentials(state, credentials, headers)
            .await
            .map(Some),
        None => caller_from_headers(headers, state).await,
    };
    checked.unwrap_or_else(|error| {
        tracing::debug!(%error, "graphql websocket credentials refused");
        None
    })
}

/// The credentials a `connection_init` payload carries: `token`, `authorization` (`Bearer …`)
/// or `apiKey`, key names in any case.
fn presented(payload: &serde_json::Value) -> Option<Credentials> {
    let payload = payload.as_object()?;
    payload.iter().find_map(|(key, value)| {
        let value = value.as_str()?;
        match key.to_ascii_lowercase().as_str() {
            "authorization" => {
                let token = value.strip_prefix("Bearer ").unwrap_or(value);
                Some(Credentials::Token(token.trim().to_owned()))
            }
            "token" => Some(Credentials::Token(value.to_owned())),
            "apikey" | "x-api-key" => Some(Credentials::ApiKey(value.to_owned())),
            _ => None,
        }
    })
}

/// A message about one operation, serialized straight from its payload.
#[derive(Serialize)]
struct Outgoing<'a, P> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    payload: P,
}

async fn send(socket: &mut WebSocket, message: &impl Serialize) -> Result<(), Ending> {
    let text = serde_json::to_string(message)
        .map_err(|_| Ending::new(close::INTERNAL, "a message could not be written"))?;
    socket
        .send(Message::Text(Utf8Bytes::from(text)))
        .await
        .map_err(|_| Ending::new(close::GOING_AWAY, "send failed"))
}
