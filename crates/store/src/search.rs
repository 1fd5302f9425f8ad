//! Full-text search over message text, ranked, scoped to a tenant and optionally a conversation.
//! On SQLite the order is FTS5's own `rank` column alone: FTS5 sorts on it without computing
//! bm25 twice, which halves the cost of broad queries (measured on a million messages).
//!
//! Ranking scores every match, so its cost grows with the corpus. On SQLite, when more of the
//! tenant's messages match than [`RANKING_WINDOW`], only the newest that many are ranked: a
//! broad word in a million-message inbox answers in milliseconds, with the best matches among
//! recent conversations, which is what a chat search is for.
//! SQLite uses FTS5 (bm25), PostgreSQL a generated tsvector with a GIN index (ts_rank). Both
//! treat the query as plain words that must all appear; quotes group a phrase.

use switchboard_core::{ConversationId, Message, Page, TenantId};

use crate::messages::message_from_row;
use crate::{Backend, PageRequest, Store, StoreError};

pub struct SearchQuery {
    pub text: String,
    pub conversation_id: Option<ConversationId>,
}

/// SQLite: the most matches ranked; beyond it, the newest this many of the tenant's matches are.
pub const RANKING_WINDOW: i64 = 2000;

/// A message that matched, with its relevance (higher is better).
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub message: Message,
    pub rank: f64,
}

impl Store {
    pub async fn search_messages(
        &self,
        tenant_id: TenantId,
        query: &SearchQuery,
        page: &PageRequest,
    ) -> Result<Page<SearchHit>, StoreError> {
        let offset = page.position_as::<i64>()?.unwrap_or(0);
        let terms = match self.backend() {
            Backend::Sqlite => fts5_query(&query.text),
            Backend::Postgres => tsquery_text(&query.text),
        };
        let Some(terms) = terms else {
            return Err(StoreError::InvalidSearch(
                "the query has no words to search for".into(),
            ));
        };
        let columns = crate::messages::COLUMNS
            .split(',')
            .map(|column| format!("m.{}", column.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = match self.backend() {
            Backend::Sqlite => {
                // The window's boundary first: the tenant's newest matches walked backwards
                // through the index, nothing scored; then rank only from it onwards.
                let boundary: i64 = switchboard_database::query(
                    "SELECT messages_fts.rowid AS boundary
                     FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid
                     WHERE messages_fts MATCH $1 AND m.tenant_id = $2 AND ($3 IS NULL OR m.conversation_id = $3)
                     ORDER BY messages_fts.rowid DESC LIMIT 1 OFFSET $4",
                )
                .bind(&terms)
                .bind(tenant_id.to_string())
                .bind(query.conversation_id.map(|id| id.to_string()))
                .bind(RANKING_WINDOW - 1)
                .blocking()
                .fetch_optional_scalar(self.reader())
                .await?
                .unwrap_or(0);
                switchboard_database::query(format!(
                    "SELECT {columns}, -messages_fts.rank AS rank
                     FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid
                     WHERE messages_fts MATCH $1 AND m.tenant_id = $2
                       AND ($3 IS NULL OR m.conversation_id = $3) AND messages_fts.rowid >= $6
                     ORDER BY messages_fts.rank LIMIT $4 OFFSET $5"
                ))
                .bind(terms)
                .bind(tenant_id.to_string())
                .bind(query.conversation_id.map(|id| id.to_string()))
                .bind(page.limit() + 1)
                .bind(offset)
                .bind(boundary)
                .blocking()
                .fetch_all(self.reader())
                .await?
            }
            // PostgreSQL ranks every match: bounding the window there costs more than it saves
            // (it must visit every match to find the newest; measured), see docs/benchmarks.md.
            Backend::Postgres => {
                switchboard_database::query(format!(
                    "SELECT {columns}, CAST(ts_rank(m.search, q) AS DOUBLE PRECISION) AS rank
                     FROM messages m, to_tsquery('simple', $1) q
                     WHERE m.search @@ q AND m.deleted_at IS NULL AND m.tenant_id = $2
                       AND ($3::text IS NULL OR m.conversation_id = $3)
                     ORDER BY rank DESC, m.id LIMIT $4 OFFSET $5"
                ))
                .bind(terms)
                .bind(tenant_id.to_string())
                .bind(query.conversation_id.map(|id| id.to_string()))
                .bind(page.limit() + 1)
                .bind(offset)
                .fetch_all(self.reader())
                .await?
            }
        };
        let hits = rows
            .iter()
            .map(|row| {
                Ok(SearchHit {
                    message: message_from_row(row)?,
                    rank: row.get("rank")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next_offset = offset + page.limit();
        Ok(page.finish(hits, |_| next_offset.to_string()))
    }
}

/// Words (and quoted phrases) of a user's query as an FTS5 query in which every part must
/// match. Each part is quoted, so FTS5 operators typed by a user are searched as words.
fn fts5_query(text: &str) -> Option<String> {
    let parts = query_parts(text);
    if parts.is_empty() {
        return None;
    }
    Some(
        parts
            .iter()
            .map(|part| format!("\"{}\"", part.replace('"', "")))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The same query as a `to_tsquery` expression: words joined by `&`, phrases by `<->`.
fn tsquery_text(text: &str) -> Option<String> {
    let parts = query_parts(text);
    if parts.is_empty() {
        return None;
    }
    Some(
        parts
            .iter()
            .map(|part| {
                part.split(' ')
                    .map(|word| format!("'{word}'"))
                    .collect::<Vec<_>>()
                    .join(" <-> ")
            })
            .collect::<Vec<_>>()
            .join(" & "),
    )
}

/// Splits a query into words and quoted phrases. Anything but letters and digits separates
/// words, so the parts hold nothing a query syntax could read as an operator.
fn query_parts(text: &str) -> Vec<String> {
    let words = |chunk: &str| -> Vec<String> {
        chunk
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut parts = Vec::new();
    for (index, chunk) in text.split('"').enumerate() {
        if index % 2 == 1 {
            let phrase = words(chunk);
            if !phrase.is_empty() {
                parts.push(phrase.join(" "));
            }
        } else {
            parts.extend(words(chunk));
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_and_punctuation_become_plain_words() {
        assert_eq!(
            fts5_query("refund OR order-42*").as_deref(),
            Some("\"refund\" \"OR\" \"order\" \"42\"")
        );
        assert_eq!(
            fts5_query("  \"late delivery\" box ").as_deref(),
            Some("\"late delivery\" \"box\"")
        );
        assert_eq!(
            tsquery_text("\"late delivery\" box!").as_deref(),
            Some("'late' <-> 'delivery' & 'box'")
        );
        assert_eq!(fts5_query("*** ()"), None);
    }
}
