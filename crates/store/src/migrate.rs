//! Schema migrations, embedded in the binary, one ordered list per backend. Each applies once,
//! inside the same transaction as its bookkeeping row; on PostgreSQL an advisory lock keeps
//! nodes starting together from racing.

use crate::db::{Executor, execute_script, query};
use crate::{Backend, Store, StoreError};

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "pipeline",
        sql: include_str!("../migrations/sqlite/0002_pipeline.sql"),
    },
    Migration {
        version: 3,
        name: "streams",
        sql: include_str!("../migrations/sqlite/0003_streams.sql"),
    },
    Migration {
        version: 4,
        name: "agent_runtime",
        sql: include_str!("../migrations/sqlite/0004_agent_runtime.sql"),
    },
    Migration {
        version: 5,
        name: "follow_up_schedule",
        sql: include_str!("../migrations/sqlite/0005_follow_up_schedule.sql"),
    },
    Migration {
        version: 6,
        name: "search_index_per_commit",
        sql: include_str!("../migrations/sqlite/0006_search_index_per_commit.sql"),
    },
    Migration {
        version: 7,
        name: "dead_letter_index",
        sql: include_str!("../migrations/sqlite/0007_dead_letter_index.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "pipeline",
        sql: include_str!("../migrations/postgres/0002_pipeline.sql"),
    },
    Migration {
        version: 3,
        name: "streams",
        sql: include_str!("../migrations/postgres/0003_streams.sql"),
    },
    Migration {
        version: 4,
        name: "agent_runtime",
        sql: include_str!("../migrations/postgres/0004_agent_runtime.sql"),
    },
    Migration {
        version: 5,
        name: "follow_up_schedule",
        sql: include_str!("../migrations/postgres/0005_follow_up_schedule.sql"),
    },
    Migration {
        version: 6,
        name: "inbox",
        sql: include_str!("../migrations/postgres/0006_inbox.sql"),
    },
    Migration {
        version: 7,
        name: "dead_letter_index",
        sql: include_str!("../migrations/postgres/0007_dead_letter_index.sql"),
    },
    Migration {
        version: 8,
        name: "message_fillfactor",
        sql: include_str!("../migrations/postgres/0008_message_fillfactor.sql"),
    },
];

/// An arbitrary constant shared by every Switchboard node: the advisory lock's key.
const MIGRATION_LOCK_KEY: i64 = 0x5357_4254_4348;

impl Store {
    /// Applies every migration not yet applied; returns the versions it applied.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let backend = self.backend();
        self.write(move |connection| {
            Box::pin(async move {
                if backend == Backend::Postgres {
                    query("SELECT 1 AS locked FROM pg_advisory_xact_lock($1)")
                        .bind(MIGRATION_LOCK_KEY)
                        .execute(&mut *connection)
                        .await
                        .map_err(migration_failed)?;
                }
                execute_script(
                    connection.db(),
                    "CREATE TABLE IF NOT EXISTS schema_migrations (
                        version BIGINT PRIMARY KEY,
                        name TEXT NOT NULL,
                        applied_at BIGINT NOT NULL
                    )",
                )
                .await
                .map_err(migration_failed)?;
                let applied: Vec<i64> =
                    query("SELECT version FROM schema_migrations")
                        .fetch_scalars(&mut *connection)
                        .await
                        .map_err(migration_failed)?;
                let migrations = match backend {
                    Backend::Sqlite => SQLITE,
                    Backend::Postgres => POSTGRES,
                };
                let mut newly_applied = Vec::new();
                for migration in migrations.iter().filter(|m| !applied.contains(&m.version)) {
                    tracing::info!(version = migration.version, name = migration.name, "applying migration");
                    execute_script(connection.db(), migration.sql)
                        .await
                        .map_err(migration_failed)?;
                    query(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    )
                    .bind(migration.version)
                    .bind(migration.name)
                    .bind(crate::row::millis(crate::row::now()))
                    .execute(&mut *connection)
                    .await
                    .map_err(migration_failed)?;
                    newly_applied.push(migration.version);
                }
                Ok(newly_applied)
            })
        })
        .await
    }
}

fn migration_failed(error: StoreError) -> StoreError {
    StoreError::Migration(Box::new(error))
}
