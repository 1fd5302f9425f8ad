#![doc = include_str!("../README.md")]

pub mod outcome;
pub mod retry;
pub mod window;
pub mod zone;

pub use jiff::tz::TimeZone;
pub use outcome::{billable_minutes, outcome_of};
pub use retry::next_attempt_at;
pub use window::{is_open, next_opening};
pub use zone::{recipient_zone, recipient_zone_name, single_zone_of_number};
