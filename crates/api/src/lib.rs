#![doc = include_str!("../README.md")]

mod adapters;
mod admin;
mod auth;
mod completions;
mod error;
mod extract;
#[doc(hidden)]
pub mod fuzzing;
pub mod graphql;
mod limits;
pub mod mcp;
mod middleware;
mod openapi;
mod ops;
mod rest;
mod sse;
mod webhooks;
mod ws;

pub use adapters::Adapters;
pub use error::ApiError;
pub use openapi::openapi;
pub use ws::{Realtime, WsSettings};

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use metrics_exporter_prometheus::PrometheusHandle;
use switchboard_engine::Engine;

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub engine: Engine,
    pub metrics: PrometheusHandle,
    /// The address providers reach this service at (`https://gateway.example.com`), for
    /// signatures over the URL (Twilio). Unset: taken from the request's `Host`.
    pub public_base_url: Option<String>,
    /// WebSocket settings and live connections.
    pub realtime: Realtime,
    /// Each adapter's requests, errors, latency and connections on this node.
    pub adapters: Adapters,
}

/// HTTP behaviour the operator configures.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest accepted request body; larger ones get 413.
    pub body_limit: usize,
    /// Origins allowed by CORS; empty disables CORS, `*` allows any.
    pub cors_origins: Vec<String>,
    /// Requests still running after this long get 503.
    pub request_timeout: Duration,
    pub graphql: graphql::GraphqlSettings,
    pub mcp: mcp::McpSettings,
    /// The header a trusted proxy puts the client's address in (`X-Forwarded-For`), for the
    /// rate limits per address; unset, the connection's peer address.
    pub client_address_header: Option<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            cors_origins: Vec::new(),
            request_timeout: Duration::from_secs(30),
            graphql: graphql::GraphqlSettings::default(),
            mcp: mcp::McpSettings::default(),
            client_address_header: None,
        }
    }
}

/// The whole HTTP application.
pub fn router(state: ApiState, settings: &HttpSettings) -> Router {
    let (routes, _) = openapi::routes().split_for_parts();
    let adapters = state.adapters.clone();
    let app = routes
        .merge(graphql::routes(&settings.graphql))
        .merge(mcp::routes(&settings.mcp, &adapters))
        .merge(switchboard_console::routes())
        .fallback(error::unknown_route)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), limits::client_address(settings)),
            limits::enforce,
        ))
        .with_state(state);
    middleware::wrap(app, settings, adapters)
}

/// What a worker node serves (`--role worker`): liveness, readiness and metrics only.
pub fn operations_router(state: ApiState) -> Router {
    use axum::routing::get;
    Router::new()
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .fallback(error::unknown_route)
        .with_state(state)
}

/// Connections the kernel holds for a listener before they are accepted (it caps this at
/// `net.core.somaxconn`).
const BACKLOG: u32 = 4096;

/// Listens on `address`, with room for bursts of new connections. With the usual 128, a
/// provider (or load generator) opening a thousand connections at once has some of them
/// dropped (30 to 130 of 1,000 on the machine in `docs/benchmarks.md`), and each of their first
/// requests waits a second for the SYN to be retried.
pub fn listen(address: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(BACKLOG)
}
