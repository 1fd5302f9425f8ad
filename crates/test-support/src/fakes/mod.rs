//! Fakes for what Switchboard does not own: local HTTP servers that answer like the providers
//! and capture every request for the test to inspect.

mod provider;

pub use provider::{CapturedRequest, FakeProvider};
