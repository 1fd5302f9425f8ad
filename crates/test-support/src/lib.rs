#![doc = include_str!("../README.md")]

mod app;
pub mod pipeline;
mod signing;
mod ws;

pub use app::{ADMIN_PASSWORD, ADMIN_USERNAME, Credential, JWT_SECRET, MASTER_KEY, Reply, TestApp};
pub use signing::whatsapp_signature;
/// The provider, model, MCP and bot fakes, for the suites here.
pub use switchboard_fakes as fakes;
pub use switchboard_test_database::{TestDatabase, backend_tests};
pub use ws::{WsClient, WsClosed};
