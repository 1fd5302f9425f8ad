#![doc = include_str!("../README.md")]

pub mod calendar;
mod rollup;
mod sketch;

pub use calendar::{Bucket, CalendarError, Interval, Stretch, Tier};
pub use rollup::{Counter, Distribution, Measure, Rollup};
pub use sketch::{Percentiles, Sketch, SketchDecodeError};
