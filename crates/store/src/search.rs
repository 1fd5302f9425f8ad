//! Full-text search over message text, ranked, scoped to a tenant and optionally a conversation.
//! On SQLite the order is FTS5's own `rank` column alone: FTS5 sorts on it without computing
//! bm25 twice, which halves the cost of broad queries (measured on a million messages).
//!
//! Ranking scores every match, so its cost grows with the corpus. A broad word is therefore
//! ranked among recent messages only: in a million-message inbox it answers in milliseconds,
//! with the best matches among recent conversations, which is what a chat search is for. On
//! SQLite, when more of the tenant's messages match than [`SQLITE_WINDOW`], only the newest that
//! many are ranked. On PostgreSQL, finding the newest matches would mean visiting every match,
//! so the window is the newest [`POSTGRES_WINDOW`] messages instead, used when it holds enough
//! matches ([`POSTGRES_WINDOW_MATCHES`]).
//! SQLite uses FTS5 (bm25), PostgreSQL a generated tsvector with a GIN index (ts_rank). Both
//! treat the query as plain words that must all appear; quotes group a phrase.

use std::sync::LazyLock;

use switchboard_core::{ConversationId, Message, Page, TenantId};

use crate::messages::message_from_row;
use crate::{Backend, PageRequest, Store, StoreError};
use switchboard_database::{Row, RowExt};

pub struct SearchQuery {
    pub text: String,
    pub conversation_id: Option<ConversationId>,
}

/// SQLite: the most matches ranked; beyond it, the newest this many of the tenant's matches are.
pub const SQLITE_WINDOW: i64 = 2000;

/// PostgreSQL: how many of the newest messages (of all tenants) form the window whose matches
/// are ranked. Ranking them took 9.5–14.6 ms at a million messages, on a busy machine
/// (docs/benchmarks.md, "PostgreSQL search").
pub const POSTGRES_WINDOW: i64 = 8000;

/// PostgreSQL: the fewest matches the window must hold to be ranked alone; with fewer, every
/// match is. A word this rare lately (under 1 in 160 messages) is found through its GIN entry.
pub const POSTGRES_WINDOW_MATCHES: i64 = 50;

/// A message that matched, with its relevance (higher is better).
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub message: Message,
    pub rank: f64,
}

/// SQLite: indexes for search the messages noted in `messages_fts_pending` and clears the
/// notes (migration 9). Group commits run it at most once a second (`connect`); a search runs
/// it first.
pub(crate) const INDEX_PENDING: [&str; 2] = [
    // CROSS JOIN keeps the few pending rows outermost; a plain join may scan every message.
    "INSERT INTO messages_fts (rowid, text)
     SELECT m.rowid, m.text
     FROM messages_fts_pending pending CROSS JOIN messages m ON m.rowid = pending.message_rowid
     WHERE m.text IS NOT NULL AND m.deleted_at IS NULL
     ORDER BY pending.message_rowid",
    "DELETE FROM messages_fts_pending",
];

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
        let scope = Scope {
            tenant_id,
            conversation_id: query.conversation_id,
            terms,
            limit: page.limit() + 1,
            offset,
        };
        let rows = match self.backend() {
            Backend::Sqlite => self.search_sqlite(&scope).await?,
            Backend::Postgres => self.search_postgres(&scope).await?,
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

    /// FTS5: the window's boundary first, the tenant's newest matches walked backwards through
    /// the index with nothing scored; then only the matches from it onwards are ranked.
    async fn search_sqlite(&self, scope: &Scope) -> Result<Vec<Row>, StoreError> {
        self.index_pending_messages().await?;
        let boundary: i64 = switchboard_database::query(
            "SELECT messages_fts.rowid AS boundary
             FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid
             WHERE messages_fts MATCH $1 AND m.tenant_id = $2 AND ($3 IS NULL OR m.conversation_id = $3)
             ORDER BY messages_fts.rowid DESC LIMIT 1 OFFSET $4",
        )
        .bind(&scope.terms)
        .bind(scope.tenant_id.to_string())
        .bind(scope.conversation_id.map(|id| id.to_string()))
        .bind(SQLITE_WINDOW - 1)
        .blocking()
        .fetch_optional_scalar(self.reader())
        .await?
        .unwrap_or(0);
        let columns = &*PREFIXED_COLUMNS;
        Ok(switchboard_database::query(format!(
            "SELECT {columns}, -messages_fts.rank AS rank
             FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid
             WHERE messages_fts MATCH $1 AND m.tenant_id = $2
               AND ($3 IS NULL OR m.conversation_id = $3) AND messages_fts.rowid >= $6
             ORDER BY messages_fts.rank LIMIT $4 OFFSET $5"
        ))
        .bind(&scope.terms)
        .bind(scope.tenant_id.to_string())
        .bind(scope.conversation_id.map(|id| id.to_string()))
        .bind(scope.limit)
        .bind(scope.offset)
        .bind(boundary)
        .blocking()
        .fetch_all(self.reader())
        .await?)
    }

    /// SQLite: indexes the messages committed and not yet indexed ([`INDEX_PENDING`]), in a
    /// write of its own; nothing if none wait.
    async fn index_pending_messages(&self) -> Result<(), StoreError> {
        let waiting = switchboard_database::query(
            "SELECT EXISTS (SELECT 1 FROM messages_fts_pending) AS waiting",
        )
        .fetch_optional_scalar::<i64>(self.reader())
        .await?;
        if waiting != Some(1) {
            return Ok(());
        }
        self.write(|connection| {
            Box::pin(async move {
                for statement in INDEX_PENDING {
                    switchboard_database::query(statement)
                        .execute(&mut *connection)
                        .await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// PostgreSQL: the matches among the newest [`POSTGRES_WINDOW`] messages when they hold at
    /// least [`POSTGRES_WINDOW_MATCHES`]; otherwise (a word rare lately, so rare anywhere, or a
    /// table smaller than the window) every match, found through the GIN index. Within one
    /// conversation, every match of it.
    ///
    /// The window is found by `created_at` through a block-range index; its boundary is the
    /// creation time of the message [`POSTGRES_WINDOW`] places from the newest, read from the
    /// primary key (ids are time-ordered). Which set is ranked depends on the query alone, never
    /// on the page asked for, so consecutive pages rank the same set.
    async fn search_postgres(&self, scope: &Scope) -> Result<Vec<Row>, StoreError> {
        if scope.conversation_id.is_some() {
            return self.rank_every_postgres_match(scope).await;
        }
        let boundary: Option<i64> = switchboard_database::query(
            "SELECT created_at FROM messages
             WHERE id = (SELECT id FROM messages ORDER BY id DESC LIMIT 1 OFFSET $1)",
        )
        .bind(POSTGRES_WINDOW)
        .fetch_optional_scalar(self.reader())
        .await?;
        if let Some(boundary) = boundary {
            let rows = self.rank_postgres_window(scope, boundary).await?;
            let matches = match rows.first() {
                Some(row) => row.integer("matches")?,
                None => 0,
            };
            if matches >= POSTGRES_WINDOW_MATCHES {
                let empty_page = match rows.as_slice() {
                    [only] => only.optional_text("id")?.is_none(),
                    _ => false,
                };
                return Ok(if empty_page { Vec::new() } else { rows });
            }
        }
        self.rank_every_postgres_match(scope).await
    }

    /// Every match of the tenant (or of its one conversation, by plain equality, so that
    /// conversation's rows are read through its index), found through the GIN index.
    async fn rank_every_postgres_match(&self, scope: &Scope) -> Result<Vec<Row>, StoreError> {
        let in_conversation = match scope.conversation_id {
            Some(_) => "AND m.conversation_id = $5",
            None => "",
        };
        let statement = switchboard_database::query(format!(
            "SELECT {columns}, CAST(ts_rank(m.search, q) AS DOUBLE PRECISION) AS rank
             FROM messages m, to_tsquery('simple', $1) q
             WHERE m.search @@ q AND m.deleted_at IS NULL AND m.tenant_id = $2 {in_conversation}
             ORDER BY rank DESC, m.id LIMIT $3 OFFSET $4",
            columns = *PREFIXED_COLUMNS,
        ))
        .bind(&scope.terms)
        .bind(scope.tenant_id.to_string())
        .bind(scope.limit)
        .bind(scope.offset);
        let statement = match scope.conversation_id {
            Some(conversation_id) => statement.bind(conversation_id.to_string()),
            None => statement,
        };
        Ok(statement.fetch_all(self.reader()).await?)
    }

    /// The page of the window's matches, each row also carrying how many matches the window
    /// holds; an empty page is one row of the count alone (its message columns null).
    ///
    /// The window's rows are read through the block-range index with `id` and `search` only;
    /// `OFFSET 0` keeps the planner from combining them with the GIN index, whose bitmap of a
    /// common word costs more to build than the window to read. Whole rows are read for the
    /// page alone.
    async fn rank_postgres_window(
        &self,
        scope: &Scope,
        boundary: i64,
    ) -> Result<Vec<Row>, StoreError> {
        Ok(switchboard_database::query(format!(
            "WITH hits AS MATERIALIZED (
                 SELECT r.id, CAST(ts_rank(r.search, q) AS DOUBLE PRECISION) AS rank
                 FROM (SELECT id, search FROM messages
                       WHERE created_at >= $3 AND tenant_id = $2 AND deleted_at IS NULL
                       OFFSET 0) r,
                      to_tsquery('simple', $1) q
                 WHERE r.search @@ q
             ),
             page AS (SELECT id, rank FROM hits ORDER BY rank DESC, id LIMIT $4 OFFSET $5)
             SELECT (SELECT count(*) FROM hits) AS matches, {columns}, page.rank
             FROM (SELECT 1) AS one
                  LEFT JOIN (page JOIN messages m ON m.id = page.id) ON TRUE
             ORDER BY page.rank DESC, page.id",
            columns = *PREFIXED_COLUMNS,
        ))
        .bind(&scope.terms)
        .bind(scope.tenant_id.to_string())
        .bind(boundary)
        .bind(scope.limit)
        .bind(scope.offset)
        .fetch_all(self.reader())
        .await?)
    }
}

/// What one search asks for, in the form both backends' queries bind.
struct Scope {
    tenant_id: TenantId,
    conversation_id: Option<ConversationId>,
    /// The query in the backend's own syntax.
    terms: String,
    /// Rows to fetch: the page's size and one more, to tell whether another page follows.
    limit: i64,
    offset: i64,
}

/// The message columns, each prefixed with the alias `m`.
static PREFIXED_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    crate::messages::COLUMNS
        .split(',')
        .map(|column| format!("m.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
});

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
