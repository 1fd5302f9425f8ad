#![doc = include_str!("../README.md")]

mod app;
mod database;
mod signing;
mod ws;

pub use app::{ADMIN_PASSWORD, ADMIN_USERNAME, Credential, JWT_SECRET, Reply, TestApp};
pub use database::TestDatabase;
pub use signing::whatsapp_signature;
/// The provider, model, MCP and bot fakes, for the suites here.
pub use switchboard_fakes as fakes;
pub use ws::{WsClient, WsClosed};

/// What [`backend_tests!`] expands to needs, reachable through this crate so callers need not
/// name these dependencies themselves. Not an API.
#[doc(hidden)]
pub mod __private {
    pub use tokio;

    /// How a test body reports failure: by panicking, or by returning an error.
    pub trait TestOutcome {
        fn check(self);
    }

    impl TestOutcome for () {
        fn check(self) {}
    }

    impl<E: std::fmt::Debug> TestOutcome for Result<(), E> {
        fn check(self) {
            if let Err(error) = self {
                panic!("test failed: {error:?}");
            }
        }
    }
}
