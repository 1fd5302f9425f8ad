//! Entry points for the fuzz targets (`fuzz/`): each inbound decoder of the API as a request
//! reaches it, answering whether the input was taken. Not part of the API.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use switchboard_realtime::StreamName;

use crate::mcp::jsonrpc::Incoming;
use crate::ws::protocol::ClientFrame;

/// A WebSocket client's text frame (`auth`, `subscribe`, `publish`, …), then the stream it
/// names. A stream name that parses must print as itself.
pub fn websocket_frame(text: &str) -> bool {
    let Ok(frame) = serde_json::from_str::<ClientFrame>(text) else {
        return false;
    };
    let stream = match &frame {
        ClientFrame::Subscribe { stream, .. }
        | ClientFrame::Unsubscribe { stream }
        | ClientFrame::Publish { stream, .. }
        | ClientFrame::Ack { stream, .. } => stream,
        ClientFrame::Auth { .. } | ClientFrame::Ping { .. } => return true,
    };
    match StreamName::parse(stream) {
        Ok(name) => {
            assert_eq!(name.to_string(), *stream, "a stream name prints as itself");
            true
        }
        Err(_) => false,
    }
}

/// An MCP request as `POST /mcp` reads it: `Name: value` header lines, a blank line, then the
/// body. The `Host` and `Origin` headers are checked against the default allowed hosts, the body
/// read as one JSON-RPC message, and a request's envelope (its `_meta` and the `Mcp-*` headers
/// that repeat it) checked as a stateless request's is.
pub fn mcp_request(input: &[u8]) -> bool {
    let (head, body) = split_head(input);
    let headers = header_lines(head);
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let hosts = crate::mcp::hosts::AllowedHosts::new(&[], &[]);
    let allowed = hosts.check(text("host"), text("origin")).is_ok();
    match Incoming::parse(body) {
        Ok(Incoming::Request { method, params, .. }) => {
            let envelope = crate::mcp::protocol::read_envelope(&headers, &method, &params);
            allowed && envelope.is_ok()
        }
        Ok(Incoming::Notification) => allowed,
        Err(_) => false,
    }
}

/// A GraphQL request body (`{query, operationName?, variables?}`) as an unauthenticated POST
/// meets it: whether it only logs in, then the schema as served (parsing, validation, depth
/// and complexity limits) with no engine behind it, so each resolver it reaches fails.
pub fn graphql_request(body: &[u8]) -> bool {
    let Ok(request) = serde_json::from_slice::<async_graphql::Request>(body) else {
        return false;
    };
    crate::graphql::execute_detached(request).is_ok()
}

/// The part of `input` before its first blank line, and the part after.
fn split_head(input: &[u8]) -> (&[u8], &[u8]) {
    let cut = input.windows(2).position(|pair| pair == b"\n\n");
    match cut {
        Some(cut) => (&input[..cut], &input[cut + 2..]),
        None => (&[], input),
    }
}

/// `Name: value` lines as headers; a line that is not a valid header is skipped.
fn header_lines(head: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in head.split(|byte| *byte == b'\n') {
        let Some(colon) = line.iter().position(|byte| *byte == b':') else {
            continue;
        };
        let value = line[colon + 1..].trim_ascii();
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    headers
}
