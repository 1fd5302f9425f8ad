//! How each adapter is doing on this node — REST, GraphQL, WebSocket, SSE, MCP, webhooks —
//! for `GET /adapters/status` and `/metrics`: requests and errors since start, latency
//! percentiles over the last minute, and live connections or sessions where the adapter has
//! them. Requests are counted by the route they matched (the `observe` middleware calls
//! [`Adapters::record`]); latency is to the response's head, so a stream counts the time to
//! open it.

mod latency;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use switchboard_api_types::ErrorBody;
use switchboard_core::Permission;

use self::latency::{Percentiles, Window};
use crate::auth::Auth;
use crate::extract::Json;
use crate::{ApiError, ApiState};

/// An adapter: a way in to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adapter {
    Rest,
    Graphql,
    Websocket,
    Sse,
    Mcp,
    Webhooks,
}

impl Adapter {
    const ALL: [Adapter; 6] = [
        Adapter::Rest,
        Adapter::Graphql,
        Adapter::Websocket,
        Adapter::Sse,
        Adapter::Mcp,
        Adapter::Webhooks,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Adapter::Rest => "rest",
            Adapter::Graphql => "graphql",
            Adapter::Websocket => "websocket",
            Adapter::Sse => "sse",
            Adapter::Mcp => "mcp",
            Adapter::Webhooks => "webhooks",
        }
    }

    /// The adapter serving `route` (the matched path template), if any: operational routes
    /// (`/health`, `/metrics`, `/admin/…`) belong to none.
    pub(crate) fn of_route(route: &str) -> Option<Adapter> {
        match route {
            "/graphql" => Some(Adapter::Graphql),
            "/ws" => Some(Adapter::Websocket),
            "/mcp" => Some(Adapter::Mcp),
            _ if route.starts_with("/webhooks/") => Some(Adapter::Webhooks),
            _ if route.starts_with("/api/v1/") && route.ends_with("/events") => Some(Adapter::Sse),
            _ if route.starts_with("/api/v1/") || route.starts_with("/auth/") => {
                Some(Adapter::Rest)
            }
            _ => None,
        }
    }
}

/// Each adapter's figures on this node. Cheap to clone.
#[derive(Clone)]
pub struct Adapters {
    figures: Arc<[Figures; 6]>,
}

struct Figures {
    requests: AtomicU64,
    /// Answers with a 5xx status: the adapter failed.
    errors: AtomicU64,
    /// Answers with a 4xx status: the client was refused.
    client_errors: AtomicU64,
    /// Open connections, streams or sessions.
    live: Arc<AtomicUsize>,
    latency: Window,
}

impl Default for Adapters {
    fn default() -> Self {
        Self {
            figures: Arc::new(Adapter::ALL.map(|_| Figures {
                requests: AtomicU64::new(0),
                errors: AtomicU64::new(0),
                client_errors: AtomicU64::new(0),
                live: Arc::new(AtomicUsize::new(0)),
                latency: Window::new(),
            })),
        }
    }
}

impl Adapters {
    fn of(&self, adapter: Adapter) -> &Figures {
        &self.figures[adapter as usize]
    }

    /// Counts one request `adapter` answered with `status` after `latency`.
    pub(crate) fn record(&self, adapter: Adapter, status: StatusCode, latency: Duration) {
        let figures = self.of(adapter);
        figures.requests.fetch_add(1, Ordering::Relaxed);
        if status.is_server_error() {
            figures.errors.fetch_add(1, Ordering::Relaxed);
        } else if status.is_client_error() {
            figures.client_errors.fetch_add(1, Ordering::Relaxed);
        }
        figures.latency.record(latency);
    }

    /// Counts a connection or stream of `adapter` for as long as the guard lives.
    pub(crate) fn connected(&self, adapter: Adapter) -> Connected {
        let live = Arc::clone(&self.of(adapter).live);
        live.fetch_add(1, Ordering::Relaxed);
        Connected(live)
    }

    /// The gauge an adapter sets itself (MCP's open sessions).
    pub(crate) fn gauge(&self, adapter: Adapter) -> Arc<AtomicUsize> {
        Arc::clone(&self.of(adapter).live)
    }

    /// Every adapter's figures now; `websocket_connections` comes from the realtime transport,
    /// which counts its own.
    fn report(&self, websocket_connections: usize, draining: bool) -> Vec<AdapterStatus> {
        Adapter::ALL
            .into_iter()
            .map(|adapter| {
                let figures = self.of(adapter);
                let live = match adapter {
                    Adapter::Websocket => Some(websocket_connections),
                    Adapter::Graphql | Adapter::Sse | Adapter::Mcp => {
                        Some(figures.live.load(Ordering::Relaxed))
                    }
                    Adapter::Rest | Adapter::Webhooks => None,
                };
                AdapterStatus {
                    name: adapter.as_str(),
                    state: if draining { "draining" } else { "serving" },
                    connections: live,
                    requests: figures.requests.load(Ordering::Relaxed),
                    errors: figures.errors.load(Ordering::Relaxed),
                    client_errors: figures.client_errors.load(Ordering::Relaxed),
                    latency_ms: figures.latency.percentiles(),
                }
            })
            .collect()
    }
}

/// Holds one live connection of an adapter.
pub(crate) struct Connected(Arc<AtomicUsize>);

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One adapter in `GET /adapters/status`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AdapterStatus {
    /// `rest`, `graphql`, `websocket`, `sse`, `mcp` or `webhooks`.
    pub name: &'static str,
    /// `serving`, or `draining` once shutdown has begun.
    pub state: &'static str,
    /// Open WebSockets (`websocket`, and `graphql`'s subscriptions), event streams (`sse`) or
    /// sessions (`mcp`); absent for adapters without any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<usize>,
    /// Requests answered since this node started.
    pub requests: u64,
    /// Of those, answered with a server error (5xx).
    pub errors: u64,
    /// Of those, refused as the client's error (4xx).
    pub client_errors: u64,
    /// Latency percentiles over the last minute, in milliseconds; null without requests.
    #[schema(value_type = Option<Object>)]
    pub latency_ms: Option<Percentiles>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AdaptersReport {
    pub adapters: Vec<AdapterStatus>,
}

/// This node's adapters: state, live connections or sessions, requests and errors since start,
/// latency over the last minute. Tenant and platform admins.
#[utoipa::path(get, path = "/adapters/status", tag = "operations",
    responses((status = 200, body = AdaptersReport), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn status(
    State(state): State<ApiState>,
    Auth(caller): Auth,
) -> Result<Json<AdaptersReport>, ApiError> {
    if !caller.may(Permission::ManageTenant) {
        return Err(ApiError::Forbidden(
            "adapter status is for tenant and platform admins".into(),
        ));
    }
    Ok(Json(AdaptersReport {
        adapters: report(&state),
    }))
}

fn report(state: &ApiState) -> Vec<AdapterStatus> {
    let draining = state.realtime.closing.is_cancelled();
    state
        .adapters
        .report(state.realtime.connections(), draining)
}

/// Sets the `/metrics` figures of every adapter, labelled `adapter`, from the same counts.
pub(crate) fn export_metrics(state: &ApiState) {
    for adapter in report(state) {
        let name = adapter.name;
        metrics::counter!("adapter_requests_total", "adapter" => name).absolute(adapter.requests);
        metrics::counter!("adapter_errors_total", "adapter" => name).absolute(adapter.errors);
        metrics::counter!("adapter_client_errors_total", "adapter" => name)
            .absolute(adapter.client_errors);
        if let Some(connections) = adapter.connections {
            metrics::gauge!("adapter_connections", "adapter" => name).set(connections as f64);
        }
        let percentiles = adapter.latency_ms.map_or([None; 3], |latency| {
            [Some(latency.p50), Some(latency.p95), Some(latency.p99)]
        });
        for (quantile, millis) in ["0.5", "0.95", "0.99"].into_iter().zip(percentiles) {
            let seconds = millis.map_or(f64::NAN, |millis| millis / 1000.0);
            metrics::gauge!("adapter_latency_seconds", "adapter" => name, "quantile" => quantile)
                .set(seconds);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_belong_to_their_adapter() {
        for (route, adapter) in [
            ("/api/v1/conversations/{id}", Some(Adapter::Rest)),
            ("/auth/login", Some(Adapter::Rest)),
            ("/api/v1/conversations/{id}/events", Some(Adapter::Sse)),
            ("/api/v1/runs/{id}/events", Some(Adapter::Sse)),
            ("/graphql", Some(Adapter::Graphql)),
            ("/ws", Some(Adapter::Websocket)),
            ("/mcp", Some(Adapter::Mcp)),
            ("/webhooks/whatsapp/{channel_id}", Some(Adapter::Webhooks)),
            ("/health", None),
            ("/ws/health", None),
            ("/admin/database/size", None),
        ] {
            assert_eq!(Adapter::of_route(route), adapter, "{route}");
        }
    }

    #[test]
    fn requests_errors_and_connections_are_counted() {
        let adapters = Adapters::default();
        adapters.record(Adapter::Mcp, StatusCode::OK, Duration::from_millis(2));
        adapters.record(
            Adapter::Mcp,
            StatusCode::BAD_REQUEST,
            Duration::from_millis(1),
        );
        adapters.record(
            Adapter::Mcp,
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_millis(1),
        );
        let stream = adapters.connected(Adapter::Sse);
        let report = adapters.report(3, false);
        let mcp = &report[Adapter::Mcp as usize];
        assert_eq!((mcp.requests, mcp.errors, mcp.client_errors), (3, 1, 1));
        assert!(mcp.latency_ms.is_some());
        assert_eq!(report[Adapter::Sse as usize].connections, Some(1));
        assert_eq!(report[Adapter::Websocket as usize].connections, Some(3));
        assert_eq!(report[Adapter::Rest as usize].connections, None);
        assert_eq!(report[Adapter::Rest as usize].latency_ms, None);
        drop(stream);
        assert_eq!(
            adapters.report(0, true)[Adapter::Sse as usize].connections,
            Some(0)
        );
    }
}
