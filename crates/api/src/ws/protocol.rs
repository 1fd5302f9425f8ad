//! The WebSocket protocol's frames and close codes (documented in `docs/realtime.md`).

use axum::http::HeaderMap;
use serde::Deserialize;
use switchboard_core::Caller;
use switchboard_realtime::{Frame, Position};

use crate::ApiError;

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

/// Who a connection is, as far as its upgrade request says.
pub(crate) enum Presented {
    /// Credentials in the headers or `?token=`, already checked.
    Checked(Result<Caller, ApiError>),
    /// None yet: the first frame must be `auth`. The request's headers may still name the
    /// tenant a platform admin acts in.
    Pending(HeaderMap),
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
