//! Decoding stored values into domain types: ids from text, times from Unix milliseconds,
//! vocabularies from their words, JSON from text. A value that does not decode is `Corrupt`.

use std::str::FromStr;

use serde::de::DeserializeOwned;

use switchboard_core::Timestamp;

use crate::DatabaseError;
use crate::db::Row;

pub trait RowExt {
    fn text(&self, column: &'static str) -> Result<String, DatabaseError>;
    fn optional_text(&self, column: &'static str) -> Result<Option<String>, DatabaseError>;
    fn integer(&self, column: &'static str) -> Result<i64, DatabaseError>;
    fn optional_integer(&self, column: &'static str) -> Result<Option<i64>, DatabaseError>;

    /// A value parsed from its text form: ids and vocabulary words.
    fn parsed<T: FromStr>(&self, column: &'static str) -> Result<T, DatabaseError>
    where
        T::Err: std::fmt::Display,
    {
        parse(column, &self.text(column)?)
    }

    fn optional_parsed<T: FromStr>(&self, column: &'static str) -> Result<Option<T>, DatabaseError>
    where
        T::Err: std::fmt::Display,
    {
        self.optional_text(column)?
            .map(|text| parse(column, &text))
            .transpose()
    }

    fn time(&self, column: &'static str) -> Result<Timestamp, DatabaseError> {
        from_millis(column, self.integer(column)?)
    }

    fn optional_time(&self, column: &'static str) -> Result<Option<Timestamp>, DatabaseError> {
        self.optional_integer(column)?
            .map(|millis| from_millis(column, millis))
            .transpose()
    }

    /// A JSON column parsed from its text straight into `T` (a `serde_json::Value`, or a typed
    /// record without a `Value` tree on the way).
    fn json<T: DeserializeOwned>(&self, column: &'static str) -> Result<T, DatabaseError> {
        serde_json::from_str(&self.text(column)?).map_err(|error| corrupt(column, error))
    }

    fn optional_json<T: DeserializeOwned>(
        &self,
        column: &'static str,
    ) -> Result<Option<T>, DatabaseError> {
        self.optional_text(column)?
            .map(|text| serde_json::from_str(&text).map_err(|error| corrupt(column, error)))
            .transpose()
    }
}

impl RowExt for Row {
    fn text(&self, column: &'static str) -> Result<String, DatabaseError> {
        self.get(column)
    }

    fn optional_text(&self, column: &'static str) -> Result<Option<String>, DatabaseError> {
        self.get(column)
    }

    fn integer(&self, column: &'static str) -> Result<i64, DatabaseError> {
        self.get(column)
    }

    fn optional_integer(&self, column: &'static str) -> Result<Option<i64>, DatabaseError> {
        self.get(column)
    }
}

/// A value parsed from text read outside a row (`RETURNING` scalars).
pub fn parse<T: FromStr>(column: &'static str, text: &str) -> Result<T, DatabaseError>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|error| corrupt(column, error))
}

fn corrupt(column: &'static str, error: impl std::fmt::Display) -> DatabaseError {
    DatabaseError::Corrupt {
        column,
        reason: error.to_string(),
    }
}

fn from_millis(column: &'static str, millis: i64) -> Result<Timestamp, DatabaseError> {
    Timestamp::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map_err(|error| corrupt(column, error))
}

/// The current time, truncated to the millisecond precision the store keeps.
pub fn now() -> Timestamp {
    let now = Timestamp::now_utc();
    from_millis("now", millis(now)).unwrap_or(now)
}

/// A timestamp as stored: Unix milliseconds.
pub fn millis(time: Timestamp) -> i64 {
    // Milliseconds since 1970 fit an i64 for the next 290 million years.
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// An UPDATE or DELETE that touched no row touched nothing of the caller's: not found.
pub fn expect_changed(rows_affected: u64, entity: &'static str) -> Result<(), DatabaseError> {
    if rows_affected == 0 {
        Err(DatabaseError::not_found(entity))
    } else {
        Ok(())
    }
}
