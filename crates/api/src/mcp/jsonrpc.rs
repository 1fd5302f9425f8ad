//! JSON-RPC 2.0 as MCP uses it: one message per POST (no batches), requests with a string or
//! number id, notifications without one, and error objects with the codes MCP defines. Our own
//! refusals (credentials, hosts, sessions) use codes outside the range JSON-RPC and MCP reserve.

use serde_json::{Map, Value, json};

/// A message a client POSTed.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A request: it gets a response carrying `id`.
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    /// A notification: it gets `202 Accepted` and no body (none changes anything here).
    Notification,
}

impl Incoming {
    /// Reads one JSON-RPC message from a request body.
    pub(crate) fn parse(body: &[u8]) -> Result<Incoming, RpcError> {
        let message: Value = serde_json::from_slice(body).map_err(|error| {
            RpcError::new(PARSE_ERROR, format!("the body is not JSON: {error}"))
        })?;
        let Value::Object(mut message) = message else {
            return Err(RpcError::invalid_request(
                "send one JSON-RPC message as an object (batches are not supported)",
            ));
        };
        if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(RpcError::invalid_request(r#"`jsonrpc` must be "2.0""#));
        }
        let Some(Value::String(method)) = message.remove("method") else {
            return Err(RpcError::invalid_request(
                "`method` is missing: this server accepts requests and notifications only",
            ));
        };
        let params = message
            .remove("params")
            .unwrap_or(Value::Object(Map::new()));
        if !params.is_object() {
            return Err(RpcError::invalid_request("`params` must be an object"));
        }
        match message.remove("id") {
            None => Ok(Incoming::Notification),
            Some(id @ (Value::String(_) | Value::Number(_))) => {
                Ok(Incoming::Request { id, method, params })
            }
            Some(_) => Err(RpcError::invalid_request(
                "`id` must be a string or a number",
            )),
        }
    }
}

pub(crate) const PARSE_ERROR: i64 = -32700;
pub(crate) const INVALID_REQUEST: i64 = -32600;
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
pub(crate) const INVALID_PARAMS: i64 = -32602;
pub(crate) const INTERNAL_ERROR: i64 = -32603;
/// A `2025-11-25` session's unknown resource (later versions answer [`INVALID_PARAMS`]).
pub(crate) const RESOURCE_NOT_FOUND: i64 = -32002;
/// MCP: the `Mcp-*` headers disagree with the body, or one is missing.
pub(crate) const HEADER_MISMATCH: i64 = -32020;
/// MCP: the requested protocol version is not served; `data.supported` lists those that are.
pub(crate) const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// Ours: no credentials, or credentials that were refused (HTTP 401).
pub(crate) const UNAUTHORIZED: i64 = -31401;
/// Ours: a refused `Host` or `Origin`, or a forbidden tenant (HTTP 403).
pub(crate) const FORBIDDEN: i64 = -31403;
/// Ours: an `Mcp-Session-Id` this server does not know (HTTP 404).
pub(crate) const SESSION_NOT_FOUND: i64 = -31404;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(INVALID_REQUEST, message)
    }

    pub(crate) fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(INVALID_PARAMS, message)
    }

    pub(crate) fn method_not_found(method: &str) -> Self {
        Self::new(METHOD_NOT_FOUND, format!("method not found: {method}"))
    }

    pub(crate) fn header_mismatch(message: impl Into<String>) -> Self {
        Self::new(
            HEADER_MISMATCH,
            format!("header mismatch: {}", message.into()),
        )
    }

    /// `requested` is not served; the client should retry with one of `supported`.
    pub(crate) fn unsupported_version(requested: &str, supported: &[&str], hint: &str) -> Self {
        Self {
            code: UNSUPPORTED_PROTOCOL_VERSION,
            message: format!("unsupported protocol version {requested}{hint}"),
            data: Some(json!({ "supported": supported, "requested": requested })),
        }
    }

    pub(crate) fn internal() -> Self {
        Self::new(INTERNAL_ERROR, "internal error")
    }

    /// The error response to the request `id` (`null` when the id could not be read).
    pub(crate) fn response(&self, id: Option<&Value>) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(data) = &self.data {
            error["data"] = data.clone();
        }
        json!({ "jsonrpc": "2.0", "id": id.cloned().unwrap_or(Value::Null), "error": error })
    }
}

/// The success response to the request `id`.
pub(crate) fn result_response(id: &Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_notifications_are_told_apart() {
        let request = Incoming::parse(br#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#);
        assert!(
            matches!(request, Ok(Incoming::Request { ref id, ref method, ref params })
                if *id == json!(7) && method == "tools/list" && params.is_object()),
            "{request:?}"
        );
        let notification =
            Incoming::parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert!(matches!(notification, Ok(Incoming::Notification)));
    }

    #[test]
    fn malformed_messages_name_what_is_wrong() {
        let code = |body: &[u8]| Incoming::parse(body).map(|_| ()).expect_err("refused").code;
        assert_eq!(code(b"{"), PARSE_ERROR);
        assert_eq!(
            code(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#),
            INVALID_REQUEST
        );
        assert_eq!(code(br#"{"id":1,"method":"ping"}"#), INVALID_REQUEST);
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
            INVALID_REQUEST
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            INVALID_REQUEST
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[]}"#),
            INVALID_REQUEST
        );
    }

    #[test]
    fn an_unsupported_version_lists_the_supported_ones() {
        let error = RpcError::unsupported_version("1900-01-01", &["2026-07-28"], "");
        let body = error.response(Some(&json!("a")));
        assert_eq!(body["id"], "a");
        assert_eq!(body["error"]["code"], UNSUPPORTED_PROTOCOL_VERSION);
        assert_eq!(body["error"]["data"]["supported"], json!(["2026-07-28"]));
        assert_eq!(body["error"]["data"]["requested"], "1900-01-01");
    }
}
