//! Fakes for what Switchboard does not own: local HTTP servers that answer like the providers
//! (messaging channels, an OpenAI-compatible model, an MCP server, a customer's bot) and
//! capture every request for the test to inspect.

mod bot;
mod mcp;
mod model;
mod provider;
mod server;

pub use bot::{BotMode, FakeBot};
pub use mcp::FakeMcp;
pub use model::{FAKE_MODEL, FakeModel, ModelAnswer};
pub use provider::{CapturedRequest, FakeProvider};
