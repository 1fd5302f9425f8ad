//! The WebSocket protocol's frames and close codes (documented in `docs/realtime.md`).

use axum::http::HeaderMap;
use serde::Deserialize;
use switchboard_realtime::{Frame, Position};

/// Close codes, one per reason a client must act on differently.
pub(crate) mod close {
    /// Missing, invalid or expired credentials, or no `auth` frame in time: log in again.
    pub const UNAUTHORIZED: u16 = 4401;
    /// Too many refused subscriptions on one connection.
    pub const FORBIDDEN: u16 = 4403;
    /// A frame that is not valid protocol: fix the client.
    pub const BAD_FRAME: u16 = 4400;
    /// Nothing received for the idle timeout.
    pub const IDLE: u16 = 4408;
    /// The client did not keep up: reconnect and resume from the last offset.
    pub const SLOW_CONSUMER: u16 = 4429;
    /// The server is shutting down: reconnect (elsewhere) and resume.
    pub const GOING_AWAY: u16 = 1001;
}

/// What a client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ClientFrame {
    Auth {
        token: Option<String>,
        #[serde(rename = "apiKey")]
        api_key: Option<String>,
    },
    Subscribe {
        stream: String,
        since: Option<Position>,
    },
    Unsubscribe {
        stream: String,
    },
    Publish {
        stream: String,
        data: serde_json::Value,
    },
    Ping {
        #[serde(default)]
        id: Option<serde_json::Value>,
    },
    Ack {
        stream: String,
        offset: u64,
    },
}

/// Credentials as presented, and the tenant a platform admin acts in (`X-Tenant-Id`).
#[derive(Debug, Clone)]
pub(crate) struct Presented {
    pub credentials: Credentials,
    pub tenant: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum Credentials {
    Token(String),
    ApiKey(String),
    /// None yet: the first frame must be `auth`.
    Pending,
}

impl Presented {
    pub fn from_request(headers: &HeaderMap, query_token: Option<String>) -> Self {
        let tenant = headers
            .get("x-tenant-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Self {
            credentials: Credentials::from_request(headers, query_token),
            tenant,
        }
    }
}

impl Credentials {
    fn from_request(headers: &HeaderMap, query_token: Option<String>) -> Self {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        if let Some(token) = header("authorization").and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        }) {
            return Credentials::Token(token.trim().to_owned());
        }
        if let Some(key) = header("x-api-key") {
            return Credentials::ApiKey(key.to_owned());
        }
        match query_token {
            Some(token) => Credentials::Token(token),
            None => Credentials::Pending,
        }
    }
}

pub(crate) fn error(code: &str, message: &str, stream: Option<&str>) -> Frame {
    Frame::control(&serde_json::json!({
        "type": "error",
        "code": code,
        "message": message,
        "stream": stream,
    }))
}

pub(crate) fn pong(id: Option<serde_json::Value>) -> Frame {
    Frame::control(&serde_json::json!({ "type": "pong", "id": id }))
}

pub(crate) fn unsubscribed(stream: &str) -> Frame {
    Frame::control(&serde_json::json!({ "type": "unsubscribed", "stream": stream }))
}

pub(crate) fn authenticated(user_id: &str, tenant_id: &str) -> Frame {
    Frame::control(&serde_json::json!({
        "type": "authenticated",
        "userId": user_id,
        "tenantId": tenant_id,
    }))
}
