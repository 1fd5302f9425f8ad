//! MCP at `/mcp`: the gateway's operations as tools and its conversations as resources, for AI
//! assistants and agent frameworks, over streamable HTTP. A thin adapter like REST and GraphQL:
//! the caller authenticates as for REST (`Authorization: Bearer …` or `X-API-Key`, with
//! `X-Tenant-Id` for platform admins), every tool calls the same engine operation REST calls,
//! and what a caller may see and do is what REST lets them.
//!
//! Both protocol generations are served on the one endpoint ([`transport`]): `2026-07-28`,
//! stateless (each request carries its version and capabilities; `server/discover`), and
//! `2025-11-25` / `2025-06-18`, in sessions opened by `initialize` ([`sessions`]).
//!
//! The JSON-RPC layer is written here rather than taken from `rmcp`, the official Rust SDK.
//! rmcp 3 speaks both generations, but answers its own refusals (a disallowed `Host` or
//! `Origin`, an unknown session, `GET`) with plain-text bodies, while clients tell a modern
//! server from a legacy one by the JSON-RPC error in a 4xx body; its sessions are not tied to
//! the user who opened them; and its stateless path builds a handler per request. What we
//! need of the protocol (requests in, one JSON response out, no server-to-client requests and
//! no streams) is a few hundred lines, with every wire rule in view and tested.

pub(crate) mod hosts;
pub(crate) mod jsonrpc;
mod methods;
pub(crate) mod protocol;
mod resources;
mod sessions;
mod tools;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, Method};
use axum::routing::any;

use crate::ApiState;
use crate::adapters::{Adapter, Adapters};

/// Who may reach `/mcp`, and how long sessions last.
#[derive(Debug, Clone)]
pub struct McpSettings {
    /// Host names accepted in `Host` besides loopback (`localhost`, `127.0.0.1`, `::1`), e.g.
    /// the listen address's host or a proxy's public name; `*` accepts any.
    pub allowed_hosts: Vec<String>,
    /// Origins accepted in `Origin` besides those on an allowed host
    /// (`https://app.example.com`); `*` accepts any. Requests without `Origin` pass.
    pub allowed_origins: Vec<String>,
    /// A session without requests for this long is ended.
    pub session_idle_timeout: Duration,
}

impl Default for McpSettings {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            session_idle_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// What the endpoint keeps between requests: the host rules and the open sessions.
pub(crate) struct Mcp {
    hosts: hosts::AllowedHosts,
    sessions: sessions::Sessions,
}

/// Guidance for the model using this server, given by `server/discover` and `initialize`.
const INSTRUCTIONS: &str = "Switchboard is a conversation gateway: contacts write in over \
    WhatsApp, SMS, Telegram or an app, an AI agent answers, and human operators step in. Find \
    conversations with list_conversations or search_messages, read one with get_conversation \
    (or the conversation://{conversationId} resource), answer with send_message, and use \
    hand_off / release to move a conversation between humans and its agent. get_run explains \
    what an agent did; list_dead_letters and retry_dead_letter deal with work that failed.";

/// `/mcp`; its open sessions are counted in `adapters`.
pub(crate) fn routes(settings: &McpSettings, adapters: &Adapters) -> Router<ApiState> {
    let mcp = Arc::new(Mcp {
        hosts: hosts::AllowedHosts::new(&settings.allowed_hosts, &settings.allowed_origins),
        sessions: sessions::Sessions::new(
            settings.session_idle_timeout,
            adapters.gauge(Adapter::Mcp),
        ),
    });
    Router::new().route(
        "/mcp",
        any(
            move |State(state): State<ApiState>,
                  method: Method,
                  headers: HeaderMap,
                  body: Result<Bytes, BytesRejection>| {
                let mcp = Arc::clone(&mcp);
                async move { transport::serve(&mcp, &state, method, headers, body).await }
            },
        ),
    )
}
