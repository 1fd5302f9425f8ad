//! MCP over `POST /mcp`: header lines, a blank line and a body; the `Host`/`Origin` check, the
//! JSON-RPC message, and a stateless request's envelope against its `Mcp-*` headers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = switchboard_api::fuzzing::mcp_request(data);
});
