//! Entry points for the fuzz targets (`fuzz/`): each inbound decoder of the API as a request
//! reaches it, answering whether the input was taken. Not part of the API.

/// A WebSocket client's text frame (`auth`, `subscribe`, `publish`, …).
pub fn websocket_frame(text: &str) -> bool {
    serde_json::from_str::<crate::ws::protocol::ClientFrame>(text).is_ok()
}

/// One MCP JSON-RPC message, as `POST /mcp` reads its body.
pub fn mcp_message(body: &[u8]) -> bool {
    crate::mcp::jsonrpc::Incoming::parse(body).is_ok()
}

/// A GraphQL request body (`{query, operationName?, variables?}`), then its query text.
pub fn graphql_request(body: &[u8]) -> bool {
    let Ok(request) = serde_json::from_slice::<async_graphql::Request>(body) else {
        return false;
    };
    async_graphql::parser::parse_query(&request.query).is_ok()
}
