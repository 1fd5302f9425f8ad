//! Decoding stored values into domain types: ids from text, times from Unix milliseconds,
//! vocabularies from their words, JSON from text. A value that does not decode is `Corrupt`.

use std::str::FromStr;

use switchboard_core::Timestamp;

use crate::StoreError;
use crate::db::Row;

pub(crate) trait RowExt {
    fn text(&self, column: &'static str) -> Result<String, StoreError>;
    fn optional_text(&self, column: &'static str) -> Result<Option<String>, StoreError>;
    fn integer(&self, column: &'static str) -> Result<i64, StoreError>;
    fn optional_integer(&self, column: &'static str) -> Result<Option<i64>, StoreError>;

    /// A value parsed from its text form: ids and vocabulary words.
    fn parsed<T: FromStr>(&self, column: &'static str) -> Result<T, StoreError>
    where
        T::Err: std::fmt::Display,
    {
        parse(column, &self.text(column)?)
    }

    fn optional_parsed<T: FromStr>(&self, column: &'static str) -> Result<Option<T>, StoreError>
    where
        T::Err: std::fmt::Display,
    {
        self.optional_text(column)?
            .map(|text| parse(column, &text))
            .transpose()
    }

    fn time(&self, column: &'static str) -> Result<Timestamp, StoreError> {
        from_millis(column, self.integer(column)?)
    }

    fn optional_time(&self, column: &'static str) -> Result<Option<Timestamp>, StoreError> {
        self.optional_integer(column)?
            .map(|millis| from_millis(column, millis))
            .transpose()
    }

    fn json(&self, column: &'static str) -> Result<serde_json::Value, StoreError> {
        serde_json::from_str(&self.text(column)?).map_err(|error| corrupt(column, error))
    }

    fn optional_json(&self, column: &'static str) -> Result<Option<serde_json::Value>, StoreError> {
        self.optional_text(column)?
            .map(|text| serde_json::from_str(&text).map_err(|error| corrupt(column, error)))
            .transpose()
    }
}

impl RowExt for Row {
    fn text(&self, column: &'static str) -> Result<String, StoreError> {
        self.get(column)
    }

    fn optional_text(&self, column: &'static str) -> Result<Option<String>, StoreError> {
        self.get(column)
    }

    fn integer(&self, column: &'static str) -> Result<i64, StoreError> {
        self.get(column)
    }

    fn optional_integer(&self, column: &'static str) -> Result<Option<i64>, StoreError> {
        self.get(column)
    }
}

/// A value parsed from text read outside a row (`RETURNING` scalars).
pub(crate) fn parse<T: FromStr>(column: &'static str, text: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|error| corrupt(column, error))
}

fn corrupt(column: &'static str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        column,
        reason: error.to_string(),
    }
}

fn from_millis(column: &'static str, millis: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map_err(|error| corrupt(column, error))
}

/// The current time, truncated to the millisecond precision the store keeps.
pub(crate) fn now() -> Timestamp {
    let now = Timestamp::now_utc();
    from_millis("now", millis(now)).unwrap_or(now)
}

/// A timestamp as stored: Unix milliseconds.
pub(crate) fn millis(time: Timestamp) -> i64 {
    // Milliseconds since 1970 fit an i64 for the next 290 million years.
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// An UPDATE or DELETE that touched no row touched nothing of the caller's: not found.
pub(crate) fn expect_changed(rows_affected: u64, entity: &'static str) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::not_found(entity))
    } else {
        Ok(())
    }
}
