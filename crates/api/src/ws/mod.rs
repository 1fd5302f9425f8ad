//! `GET /ws`: realtime streams over WebSocket, with the JSON protocol of `docs/realtime.md`.
//! This is a thin transport: authentication and stream access come from the engine, ordering,
//! resume and back-pressure from the realtime hub. `GET /ws/health` reports connections.

mod connection;
pub(crate) mod protocol;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use self::protocol::Presented;
use crate::{ApiState, auth};

/// How WebSocket connections behave.
#[derive(Debug, Clone)]
pub struct WsSettings {
    /// How long a connection without credentials may take to send its `auth` frame.
    pub auth_timeout: Duration,
    /// How often the server pings.
    pub heartbeat: Duration,
    /// A connection that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout: Duration,
    /// Largest frame a client may send.
    pub max_frame: usize,
}

impl Default for WsSettings {
    fn default() -> Self {
        Self {
            auth_timeout: Duration::from_secs(10),
            heartbeat: Duration::from_secs(25),
            idle_timeout: Duration::from_secs(60),
            max_frame: 64 * 1024,
        }
    }
}

/// Shared by every connection: settings, the live count, and the signal to close at shutdown.
#[derive(Clone)]
pub struct Realtime {
    pub settings: WsSettings,
    pub closing: CancellationToken,
    connections: Arc<AtomicUsize>,
}

impl Realtime {
    pub fn new(settings: WsSettings) -> Self {
        Self {
            settings,
            closing: CancellationToken::new(),
            connections: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Default for Realtime {
    fn default() -> Self {
        Self::new(WsSettings::default())
    }
}

/// Counts a connection while it lives.
struct Counted(Arc<AtomicUsize>);

impl Counted {
    fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct WsParams {
    /// An access token, for browsers that cannot set headers on a WebSocket.
    token: Option<String>,
}

/// Upgrades to a WebSocket. Credentials may come in the `Authorization` or `X-API-Key` header,
/// as `?token=`, or in a first `auth` frame.
#[utoipa::path(get, path = "/ws", tag = "realtime", security(()),
    params(("token" = Option<String>, Query, description = "access token, for browsers")),
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 400, description = "not a WebSocket upgrade (missing or wrong `Connection`, `Upgrade`, `Sec-WebSocket-Version` or `Sec-WebSocket-Key`)",
            body = String, content_type = "text/plain"),
        (status = 426, description = "the connection cannot be upgraded", body = String,
            content_type = "text/plain"),
        (status = 429, description = "over the caller's rate limit",
            body = switchboard_api_types::ErrorBody)))]
pub(crate) async fn connect(
    State(state): State<ApiState>,
    Query(params): Query<WsParams>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let presented = match auth::caller_from_headers(&headers, &state).await {
        Ok(None) => match params.token {
            Some(token) => {
                let token = auth::Credentials::Token(token);
                Presented::Checked(auth::caller_from_credentials(&state, token, &headers).await)
            }
            None => Presented::Pending(headers),
        },
        Ok(Some(caller)) => Presented::Checked(Ok(caller)),
        Err(error) => Presented::Checked(Err(error)),
    };
    let max_frame = state.realtime.settings.max_frame;
    upgrade
        // Small buffers keep an idle connection cheap; frames are small JSON.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(max_frame)
        .max_frame_size(max_frame)
        .on_upgrade(move |socket| async move {
            let _counted = Counted::new(&state.realtime.connections);
            connection::run(socket, state, presented).await;
        })
}

/// Connections and subscriptions on this node.
#[utoipa::path(get, path = "/ws/health", tag = "realtime", security(()),
    responses((status = 200, description = "connections, subscriptions and streams on this node")))]
pub(crate) async fn health(State(state): State<ApiState>) -> Json<serde_json::Value> {
    let hub = state.engine.hub().stats();
    Json(serde_json::json!({
        "status": "ok",
        "connections": state.realtime.connections(),
        "subscriptions": hub.subscriptions,
        "streams": hub.streams,
    }))
}
