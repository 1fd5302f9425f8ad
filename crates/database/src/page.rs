//! Keyset pagination. A cursor is the sort key of the last row returned, encoded opaquely
//! (base64url) so clients pass it back without depending on its shape.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use switchboard_core::Page;

use crate::DatabaseError;

/// What a caller asks of a list: how many rows, after which cursor.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    pub fn first(limit: u32) -> Self {
        Self {
            limit: Some(limit),
            cursor: None,
        }
    }

    /// The page size, clamped to `1..=MAX_LIMIT`.
    pub fn limit(&self) -> i64 {
        i64::from(
            self.limit
                .unwrap_or(Self::DEFAULT_LIMIT)
                .clamp(1, Self::MAX_LIMIT),
        )
    }

    /// The decoded cursor, if any.
    pub fn position(&self) -> Result<Option<String>, DatabaseError> {
        self.cursor.as_deref().map(decode).transpose()
    }

    /// The decoded cursor parsed as one value (an id or a number).
    pub fn position_as<T: std::str::FromStr>(&self) -> Result<Option<T>, DatabaseError> {
        self.position()?
            .map(|text| text.parse().map_err(|_| DatabaseError::InvalidCursor))
            .transpose()
    }

    /// Turns `limit + 1` fetched rows into a page, with a cursor when there are more.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> Page<T> {
        let limit = usize::try_from(self.limit()).unwrap_or(usize::MAX);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| encode_cursor(&key(last)))
        } else {
            None
        };
        Page {
            data: rows,
            next_cursor,
        }
    }
}

fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position)
}

fn decode(cursor: &str) -> Result<String, DatabaseError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| DatabaseError::InvalidCursor)?;
    String::from_utf8(bytes).map_err(|_| DatabaseError::InvalidCursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_garbage_is_refused() {
        let page = PageRequest {
            limit: Some(2),
            cursor: Some(encode_cursor("42")),
        };
        assert_eq!(page.position_as::<i64>().expect("valid"), Some(42));
        let garbage = PageRequest {
            limit: None,
            cursor: Some("%%%".into()),
        };
        assert!(matches!(
            garbage.position(),
            Err(DatabaseError::InvalidCursor)
        ));
    }

    #[test]
    fn finish_cuts_at_limit_and_points_past_the_last_row() {
        let page = PageRequest::first(2).finish(vec![1, 2, 3], |n| n.to_string());
        assert_eq!(page.data, [1, 2]);
        assert_eq!(page.next_cursor, Some(encode_cursor("2")));
        let last = PageRequest::first(5).finish(vec![1, 2, 3], |n| n.to_string());
        assert_eq!(last.next_cursor, None);
    }
}
