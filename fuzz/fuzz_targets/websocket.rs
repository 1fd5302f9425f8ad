//! WebSocket client frames (`/ws`): the JSON frame decoded, then the stream it names, which must
//! print as itself when it parses.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = switchboard_api::fuzzing::websocket_frame(text);
    }
});
