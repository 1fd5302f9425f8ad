//! Database administration for platform admins: pool and table statistics, size, index
//! suggestions, query plans of read-only statements, and refreshing planner statistics.

use serde::Serialize;

use switchboard_database::{Executor, PoolStats, RowExt, execute_script, query};

use crate::{Backend, Store, StoreError};

/// The tables Switchboard owns, reported on by the admin endpoints.
const TABLES: &[&str] = &[
    "tenants",
    "users",
    "api_keys",
    "refresh_tokens",
    "contacts",
    "agents",
    "channels",
    "conversations",
    "participants",
    "messages",
    "credit_ledger",
];

/// Representative hot queries, checked for full scans by [`Store::index_suggestions`] on SQLite.
const HOT_QUERIES: &[(&str, &str)] = &[
    (
        "list a conversation's messages",
        "SELECT id FROM messages WHERE conversation_id = $1 AND tenant_id = $2 AND seq < $3 ORDER BY seq DESC LIMIT 50",
    ),
    (
        "list conversations",
        "SELECT c.id FROM conversations c LEFT JOIN participants p ON p.conversation_id = c.id AND p.user_id = $2 LEFT JOIN messages m ON m.id = c.last_message_id WHERE c.tenant_id = $1 ORDER BY c.last_activity_at DESC, c.id DESC LIMIT 50",
    ),
    (
        "deduplicate a provider message",
        "SELECT id FROM messages WHERE channel_id = $1 AND provider_message_id = $2",
    ),
    (
        "find contact by phone",
        "SELECT id FROM contacts WHERE tenant_id = $1 AND phone = $2",
    ),
];

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableStats {
    pub name: String,
    /// Exact on SQLite, the planner's live-row estimate on PostgreSQL.
    pub rows: i64,
    /// On-disk size with indexes, where the backend reports it.
    pub bytes: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseMetrics {
    pub backend: &'static str,
    pub pool: PoolStats,
    pub tables: Vec<TableStats>,
    /// Slowest statements by mean time (PostgreSQL with `pg_stat_statements`), else `None`.
    pub slowest_queries: Option<Vec<SlowQuery>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlowQuery {
    pub query: String,
    pub calls: i64,
    pub mean_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseSize {
    pub backend: &'static str,
    /// Total bytes the database occupies.
    pub bytes: i64,
    /// SQLite: the write-ahead log not yet checkpointed into the main file.
    pub wal_bytes: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexSuggestion {
    pub table: Option<String>,
    pub reason: String,
    pub suggestion: String,
}

impl Store {
    pub fn pool_stats(&self) -> PoolStats {
        self.inner.database.pool_stats()
    }

    /// Statements run on the read pool so far ([`switchboard_database::Database::reads_run`]).
    pub fn reads_run(&self) -> u64 {
        self.inner.database.reads_run()
    }

    pub async fn database_metrics(&self) -> Result<DatabaseMetrics, StoreError> {
        let (tables, slowest_queries) = match self.backend() {
            Backend::Sqlite => (self.sqlite_table_stats().await?, None),
            Backend::Postgres => (
                self.postgres_table_stats().await?,
                self.postgres_slowest_queries().await,
            ),
        };
        Ok(DatabaseMetrics {
            backend: self.backend().as_str(),
            pool: self.pool_stats(),
            tables,
            slowest_queries,
        })
    }

    async fn sqlite_table_stats(&self) -> Result<Vec<TableStats>, StoreError> {
        // dbstat is compiled into some SQLite builds only; without it sizes are unknown.
        let sizes: Vec<(String, i64)> =
            query("SELECT name, CAST(SUM(pgsize) AS INTEGER) AS bytes FROM dbstat GROUP BY name")
                .fetch_all(self.reader())
                .await
                .map(|rows| {
                    rows.iter()
                        .filter_map(|row| {
                            Some((row.text("name").ok()?, row.integer("bytes").ok()?))
                        })
                        .collect()
                })
                .unwrap_or_default();
        let mut tables = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let rows: i64 = query(format!("SELECT COUNT(*) FROM {table}"))
                .fetch_scalar(self.reader())
                .await?;
            let bytes = sizes
                .iter()
                .find(|(name, _)| name == table)
                .map(|(_, bytes)| *bytes);
            tables.push(TableStats {
                name: (*table).to_owned(),
                rows,
                bytes,
            });
        }
        Ok(tables)
    }

    async fn postgres_table_stats(&self) -> Result<Vec<TableStats>, StoreError> {
        let rows = query(
            "SELECT CAST(relname AS TEXT) AS name, n_live_tup AS rows,
                    pg_total_relation_size(relid) AS bytes
             FROM pg_stat_user_tables WHERE schemaname = current_schema() ORDER BY relname",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .filter(|row| {
                row.text("name")
                    .is_ok_and(|name| TABLES.contains(&name.as_str()))
            })
            .map(|row| {
                Ok(TableStats {
                    name: row.text("name")?,
                    rows: row.integer("rows")?,
                    bytes: row.optional_integer("bytes")?,
                })
            })
            .collect()
    }

    /// `None` when the `pg_stat_statements` extension is not installed.
    async fn postgres_slowest_queries(&self) -> Option<Vec<SlowQuery>> {
        let rows = query(
            "SELECT query, calls, CAST(mean_exec_time AS DOUBLE PRECISION) AS mean_ms
             FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
             ORDER BY mean_exec_time DESC LIMIT 10",
        )
        .fetch_all(self.reader())
        .await
        .ok()?;
        rows.iter()
            .map(|row| {
                Some(SlowQuery {
                    query: row.text("query").ok()?,
                    calls: row.integer("calls").ok()?,
                    mean_ms: row.get("mean_ms").ok()?,
                })
            })
            .collect()
    }

    pub async fn database_size(&self) -> Result<DatabaseSize, StoreError> {
        match self.backend() {
            Backend::Sqlite => {
                let path = switchboard_database::sqlite::database_path(&self.options().url);
                let file_size = |suffix: &str| {
                    std::fs::metadata(format!("{path}{suffix}"))
                        .map(|meta| i64::try_from(meta.len()).unwrap_or(i64::MAX))
                };
                let bytes = file_size("").unwrap_or(0);
                let wal_bytes = file_size("-wal").ok();
                Ok(DatabaseSize {
                    backend: "sqlite",
                    bytes: bytes + wal_bytes.unwrap_or(0),
                    wal_bytes,
                })
            }
            Backend::Postgres => {
                let bytes: i64 = query("SELECT pg_database_size(current_database())")
                    .fetch_scalar(self.reader())
                    .await?;
                Ok(DatabaseSize {
                    backend: "postgres",
                    bytes,
                    wal_bytes: None,
                })
            }
        }
    }

    pub async fn index_suggestions(&self) -> Result<Vec<IndexSuggestion>, StoreError> {
        match self.backend() {
            Backend::Sqlite => self.sqlite_index_suggestions().await,
            Backend::Postgres => self.postgres_index_suggestions().await,
        }
    }

    async fn sqlite_index_suggestions(&self) -> Result<Vec<IndexSuggestion>, StoreError> {
        let mut suggestions = Vec::new();
        for (purpose, query) in HOT_QUERIES {
            for line in self.explain(query).await? {
                let scans_table = line.trim_start().starts_with("SCAN ") && !line.contains("USING");
                if scans_table {
                    suggestions.push(IndexSuggestion {
                        table: line.split_whitespace().nth(1).map(str::to_owned),
                        reason: format!("`{purpose}` scans a whole table: {}", line.trim()),
                        suggestion: "add an index on the filtered columns".into(),
                    });
                }
            }
        }
        let analyzed: i64 = query("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            .fetch_scalar(self.reader())
            .await?;
        if analyzed == 0 {
            suggestions.push(IndexSuggestion {
                table: None,
                reason: "the query planner has no statistics yet".into(),
                suggestion: "POST /admin/database/optimize to gather them".into(),
            });
        }
        Ok(suggestions)
    }

    async fn postgres_index_suggestions(&self) -> Result<Vec<IndexSuggestion>, StoreError> {
        let mut suggestions = Vec::new();
        let scanned = query(
            "SELECT CAST(relname AS TEXT) AS name, seq_scan, COALESCE(idx_scan, 0) AS idx_scan, n_live_tup
             FROM pg_stat_user_tables
             WHERE schemaname = current_schema() AND n_live_tup > 10000 AND seq_scan > COALESCE(idx_scan, 0)",
        )
        .fetch_all(self.reader())
        .await?;
        for row in &scanned {
            suggestions.push(IndexSuggestion {
                table: Some(row.text("name")?),
                reason: format!(
                    "{} sequential scans against {} index scans over {} rows",
                    row.integer("seq_scan")?,
                    row.integer("idx_scan")?,
                    row.integer("n_live_tup")?
                ),
                suggestion: "find the filtering query (pg_stat_statements) and index its columns"
                    .into(),
            });
        }
        let unused = query(
            "SELECT CAST(relname AS TEXT) AS name, CAST(indexrelname AS TEXT) AS index_name
             FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
             WHERE schemaname = current_schema() AND idx_scan = 0 AND NOT i.indisunique",
        )
        .fetch_all(self.reader())
        .await?;
        for row in &unused {
            suggestions.push(IndexSuggestion {
                table: Some(row.text("name")?),
                reason: format!(
                    "index {} has never been used since statistics were reset",
                    row.text("index_name")?
                ),
                suggestion: "consider dropping it if the workload is representative".into(),
            });
        }
        Ok(suggestions)
    }

    /// The plan of one read-only SELECT (or WITH … SELECT), one line per plan node. The
    /// statement is never executed.
    pub async fn explain(&self, statement: &str) -> Result<Vec<String>, StoreError> {
        let statement = read_only_select(statement)?;
        match self.backend() {
            Backend::Sqlite => {
                let rows = query(format!("EXPLAIN QUERY PLAN {statement}"))
                    .unbound_as_null()
                    .blocking()
                    .fetch_all(self.reader())
                    .await
                    .map_err(invalid_query)?;
                let mut depth: Vec<(i64, usize)> = Vec::new();
                rows.iter()
                    .map(|row| {
                        let id = row.integer("id")?;
                        let parent = row.integer("parent")?;
                        let level = depth
                            .iter()
                            .find(|(node, _)| *node == parent)
                            .map_or(0, |(_, level)| level + 1);
                        depth.push((id, level));
                        Ok(format!("{}{}", "  ".repeat(level), row.text("detail")?))
                    })
                    .collect()
            }
            Backend::Postgres => {
                let explain = query(format!("EXPLAIN {statement}"));
                self.inner
                    .database
                    .read_only(|db| {
                        Box::pin(async move { Ok::<_, StoreError>(explain.fetch_all(db).await?) })
                    })
                    .await
                    .map_err(invalid_query)?
                    .iter()
                    .map(|row| Ok(row.text("QUERY PLAN")?))
                    .collect()
            }
        }
    }

    /// Refreshes the planner's statistics; returns what was run.
    pub async fn optimize(&self) -> Result<Vec<&'static str>, StoreError> {
        let statements: &'static [&'static str] = match self.backend() {
            Backend::Sqlite => &["ANALYZE", "PRAGMA optimize"],
            Backend::Postgres => &["ANALYZE"],
        };
        self.write(move |connection| {
            Box::pin(async move {
                for statement in statements {
                    execute_script(connection.db(), statement).await?;
                }
                Ok(())
            })
        })
        .await?;
        Ok(statements.to_vec())
    }
}

/// The database refusing a statement given for analysis is the caller's mistake.
fn invalid_query(error: impl Into<StoreError>) -> StoreError {
    match error.into() {
        StoreError::Database(source) => StoreError::InvalidQuery(source.to_string()),
        other => other,
    }
}

/// The statement without a trailing semicolon, if it is one SELECT or WITH … SELECT.
fn read_only_select(statement: &str) -> Result<&str, StoreError> {
    let statement = statement.trim().trim_end_matches(';').trim_end();
    if statement.contains(';') {
        return Err(StoreError::NotReadOnly(
            "only a single statement may be analysed".into(),
        ));
    }
    let first_word = statement
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    if first_word != "SELECT" && first_word != "WITH" {
        return Err(StoreError::NotReadOnly(format!(
            "only SELECT statements may be analysed, not {}",
            if first_word.is_empty() {
                "an empty statement".to_owned()
            } else {
                first_word
            }
        )));
    }
    let upper = statement.to_ascii_uppercase();
    let writes = [
        "INSERT ", "UPDATE ", "DELETE ", "DROP ", "ALTER ", "CREATE ", "PRAGMA ", "ATTACH ",
    ];
    if let Some(word) = writes.iter().find(|word| upper.contains(*word)) {
        return Err(StoreError::NotReadOnly(format!(
            "{} is not read-only",
            word.trim()
        )));
    }
    Ok(statement)
}

/// SQLite's plan of `statement` on a new database with every migration, a node a line: for the
/// tests that hold a statement to its index.
#[cfg(test)]
pub(crate) async fn sqlite_plan(statement: &str) -> anyhow::Result<String> {
    let directory = tempfile::tempdir()?;
    let url = format!("sqlite://{}", directory.path().join("plan.db").display());
    let store = Store::connect(switchboard_database::DatabaseOptions::new(url)).await?;
    store.migrate().await?;
    let plan = store.explain(statement).await?.join("\n");
    store.close().await;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::read_only_select;

    #[test]
    fn only_single_selects_pass() {
        assert_eq!(read_only_select(" SELECT 1; ").ok(), Some("SELECT 1"));
        assert!(read_only_select("with x as (select 1) select * from x").is_ok());
        assert!(read_only_select("DELETE FROM messages").is_err());
        assert!(read_only_select("SELECT 1; DROP TABLE tenants").is_err());
        assert!(
            read_only_select("WITH gone AS (DELETE FROM messages RETURNING id) SELECT * FROM gone")
                .is_err()
        );
        assert!(read_only_select("").is_err());
    }
}
