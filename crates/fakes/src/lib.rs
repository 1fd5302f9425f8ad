#![doc = include_str!("../README.md")]

mod bot;
mod mcp;
mod model;
mod provider;
mod server;
mod voice;

pub use bot::{BotMode, FakeBot};
pub use mcp::FakeMcp;
pub use model::{FAKE_MODEL, FakeModel, ModelAnswer};
pub use provider::{CapturedRequest, FakeProvider};
pub use voice::{Behaviour, Delivery, Dial, FakeVoice};
