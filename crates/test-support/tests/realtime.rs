//! Realtime streams over real WebSockets against a running server, on SQLite and PostgreSQL:
//! agent events in order, resume by offset (also across a restart), lost epochs, slow
//! consumers, authentication and per-user isolation.

#[path = "pipeline/setup.rs"]
#[allow(
    dead_code,
    reason = "shared with the pipeline suite, which uses all of it"
)]
mod setup;

#[path = "realtime/access.rs"]
mod access;
#[path = "realtime/sse.rs"]
mod sse;
#[path = "realtime/streams.rs"]
mod streams;

use switchboard_test_support::TestApp;

/// The `/ws` address of `app`.
pub fn ws_url(app: &TestApp) -> String {
    app.url("/ws").replacen("http://", "ws://", 1)
}
