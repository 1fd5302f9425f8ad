//! The HTTP API end to end: a real server on a real socket over a fresh store, on SQLite and on
//! PostgreSQL (`backend_tests!` declares each test once per backend).

mod world;

mod agent_secrets;
mod audit;
mod auth;
mod bad_input;
mod conversation_flow;
mod credits;
mod graphql;
mod graphql_operations;
mod imports;
mod isolation;
mod limits;
mod mcp;
mod operations;
