//! The HTTP API end to end: a real server on a real socket over a fresh store, on SQLite and on
//! PostgreSQL (`backend_tests!` declares each test once per backend).

#[path = "api/world.rs"]
mod world;

#[path = "api/auth.rs"]
mod auth;
#[path = "api/bad_input.rs"]
mod bad_input;
#[path = "api/conversation_flow.rs"]
mod conversation_flow;
#[path = "api/credits.rs"]
mod credits;
#[path = "api/isolation.rs"]
mod isolation;
#[path = "api/operations.rs"]
mod operations;
