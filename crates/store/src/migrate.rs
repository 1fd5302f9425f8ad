//! Schema migrations, embedded in the binary: one ordered list for both backends, each
//! migration with one number and one name and a script per dialect. Each applies once, inside
//! the same transaction as its bookkeeping row (`schema_migrations`); on PostgreSQL an advisory
//! lock keeps nodes starting together from racing.
//!
//! On SQLite the inbox is a file of its own (`<database>-inbox`): its migrations run there,
//! before the database records them, so one that is cut short runs again at the next start.
//! Databases made before the list was one recorded some migrations under another number; they
//! are renumbered by name, once.

use crate::pipeline::inbox::Inbox;
use crate::{Backend, Store, StoreError};
use switchboard_database::RowExt;
use switchboard_database::{Executor, execute_script, query};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: Script,
    postgres: Script,
}

/// What a migration does on one backend.
#[derive(Clone, Copy)]
enum Script {
    /// Statements run on the database.
    Database(&'static str),
    /// SQLite: statements run on the inbox's file.
    InboxFile(&'static str),
    /// Nothing: the change does not apply to this backend.
    Nothing,
}

impl Migration {
    fn script(&self, backend: Backend) -> Script {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

macro_rules! sql {
    ($dialect:literal, $file:literal) => {
        include_str!(concat!("../migrations/", $dialect, "/", $file))
    };
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: Script::Database(sql!("sqlite", "0001_init.sql")),
        postgres: Script::Database(sql!("postgres", "0001_init.sql")),
    },
    Migration {
        version: 2,
        name: "pipeline",
        sqlite: Script::Database(sql!("sqlite", "0002_pipeline.sql")),
        postgres: Script::Database(sql!("postgres", "0002_pipeline.sql")),
    },
    Migration {
        version: 3,
        name: "streams",
        sqlite: Script::Database(sql!("sqlite", "0003_streams.sql")),
        postgres: Script::Database(sql!("postgres", "0003_streams.sql")),
    },
    Migration {
        version: 4,
        name: "agent_runtime",
        sqlite: Script::Database(sql!("sqlite", "0004_agent_runtime.sql")),
        postgres: Script::Database(sql!("postgres", "0004_agent_runtime.sql")),
    },
    Migration {
        version: 5,
        name: "follow_up_schedule",
        sqlite: Script::Database(sql!("sqlite", "0005_follow_up_schedule.sql")),
        postgres: Script::Database(sql!("postgres", "0005_follow_up_schedule.sql")),
    },
    Migration {
        version: 6,
        name: "inbox",
        sqlite: Script::InboxFile(sql!("sqlite", "0006_inbox.sql")),
        postgres: Script::Database(sql!("postgres", "0006_inbox.sql")),
    },
    Migration {
        version: 7,
        name: "dead_letter_index",
        sqlite: Script::Database(sql!("sqlite", "0007_dead_letter_index.sql")),
        postgres: Script::Database(sql!("postgres", "0007_dead_letter_index.sql")),
    },
    Migration {
        version: 8,
        name: "message_fillfactor",
        // SQLite fills its pages whole; an update rewrites the page in place anyway.
        sqlite: Script::Nothing,
        postgres: Script::Database(sql!("postgres", "0008_message_fillfactor.sql")),
    },
    Migration {
        version: 9,
        name: "search_index_per_commit",
        sqlite: Script::Database(sql!("sqlite", "0009_search_index_per_commit.sql")),
        // PostgreSQL's search index is a generated column, written by the insert itself.
        postgres: Script::Nothing,
    },
    Migration {
        version: 10,
        name: "user_name_email",
        sqlite: Script::Database(sql!("sqlite", "0010_user_name_email.sql")),
        postgres: Script::Database(sql!("postgres", "0010_user_name_email.sql")),
    },
    Migration {
        version: 11,
        name: "message_idempotency_key",
        sqlite: Script::Database(sql!("sqlite", "0011_message_idempotency_key.sql")),
        postgres: Script::Database(sql!("postgres", "0011_message_idempotency_key.sql")),
    },
    Migration {
        version: 12,
        name: "imports",
        sqlite: Script::Database(sql!("sqlite", "0012_imports.sql")),
        postgres: Script::Database(sql!("postgres", "0012_imports.sql")),
    },
    Migration {
        version: 13,
        name: "analytics",
        sqlite: Script::Database(sql!("sqlite", "0013_analytics.sql")),
        postgres: Script::Database(sql!("postgres", "0013_analytics.sql")),
    },
    Migration {
        version: 14,
        name: "cluster",
        sqlite: Script::Database(sql!("sqlite", "0014_cluster.sql")),
        postgres: Script::Database(sql!("postgres", "0014_cluster.sql")),
    },
    Migration {
        version: 15,
        name: "calls",
        sqlite: Script::Database(sql!("sqlite", "0015_calls.sql")),
        postgres: Script::Database(sql!("postgres", "0015_calls.sql")),
    },
    Migration {
        version: 16,
        name: "audit",
        sqlite: Script::Database(sql!("sqlite", "0016_audit.sql")),
        postgres: Script::Database(sql!("postgres", "0016_audit.sql")),
    },
    Migration {
        version: 17,
        name: "message_recency",
        sqlite: Script::Nothing,
        postgres: Script::Database(sql!("postgres", "0017_message_recency.sql")),
    },
    Migration {
        version: 18,
        name: "rollups_by_tier",
        sqlite: Script::Nothing,
        postgres: Script::Database(sql!("postgres", "0018_rollups_by_tier.sql")),
    },
    Migration {
        version: 19,
        name: "conversation_indexes",
        sqlite: Script::Database(sql!("sqlite", "0019_conversation_indexes.sql")),
        // PostgreSQL plans a statement for the values bound (its first runs at least), so its
        // list may use these indexes; its costs were not measured.
        postgres: Script::Nothing,
    },
];

/// An arbitrary constant shared by every Switchboard node: the advisory lock's key.
const MIGRATION_LOCK_KEY: i64 = 0x5357_4254_4348;

impl Store {
    /// Applies every migration not yet applied; returns the versions it applied.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let backend = self.backend();
        let applied = self.prepare_bookkeeping().await?;
        if let Inbox::File(inbox) = &self.inner.inbox {
            for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
                if let Script::InboxFile(sql) = migration.script(backend) {
                    tracing::info!(
                        version = migration.version,
                        name = migration.name,
                        "applying migration to the inbox file"
                    );
                    inbox
                        .database
                        .write(move |db| Box::pin(execute_script(db.db(), sql)))
                        .await
                        .map_err(migration_failed)?;
                }
            }
        }
        if MIGRATIONS.iter().all(|m| applied.contains(&m.version)) {
            return Ok(Vec::new());
        }
        self.write(move |connection| {
            Box::pin(async move {
                lock(backend, &mut *connection).await?;
                let applied = applied_versions(&mut *connection).await?;
                let mut newly_applied = Vec::new();
                for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
                    if let Script::Database(sql) = migration.script(backend) {
                        tracing::info!(version = migration.version, name = migration.name, "applying migration");
                        execute_script(connection.db(), sql)
                            .await
                            .map_err(migration_failed)?;
                    }
                    query(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    )
                    .bind(migration.version)
                    .bind(migration.name)
                    .bind(switchboard_database::millis(switchboard_database::now()))
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

    /// Creates the bookkeeping table if needed, moves migrations recorded under an earlier
    /// number to their number in the list (matched by name; on an up-to-date database, no
    /// statement), and returns the versions applied.
    async fn prepare_bookkeeping(&self) -> Result<Vec<i64>, StoreError> {
        let backend = self.backend();
        self.write(move |connection| {
            Box::pin(async move {
                lock(backend, &mut *connection).await?;
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
                let recorded = query("SELECT version, name FROM schema_migrations")
                    .fetch_all(&mut *connection)
                    .await
                    .map_err(migration_failed)?;
                let mut misplaced = Vec::new();
                for row in &recorded {
                    let (version, name) = (row.integer("version")?, row.text("name")?);
                    if let Some(listed) = MIGRATIONS
                        .iter()
                        .find(|m| m.name == name && m.version != version)
                    {
                        misplaced.push(listed);
                    }
                }
                // Through negative numbers, so that two migrations may trade places.
                for migration in &misplaced {
                    tracing::info!(
                        version = migration.version,
                        name = migration.name,
                        "migration renumbered"
                    );
                    query("UPDATE schema_migrations SET version = $1 WHERE name = $2")
                        .bind(-migration.version)
                        .bind(migration.name)
                        .execute(&mut *connection)
                        .await
                        .map_err(migration_failed)?;
                }
                if !misplaced.is_empty() {
                    query("UPDATE schema_migrations SET version = -version WHERE version < 0")
                        .execute(&mut *connection)
                        .await
                        .map_err(migration_failed)?;
                }
                applied_versions(&mut *connection).await
            })
        })
        .await
    }
}

/// PostgreSQL: waits for any other node migrating, until the transaction ends.
async fn lock<'a>(backend: Backend, connection: impl Executor<'a>) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        query("SELECT 1 AS locked FROM pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(connection)
            .await
            .map_err(migration_failed)?;
    }
    Ok(())
}

async fn applied_versions<'a>(connection: impl Executor<'a>) -> Result<Vec<i64>, StoreError> {
    query("SELECT version FROM schema_migrations")
        .fetch_scalars(connection)
        .await
        .map_err(migration_failed)
}

fn migration_failed(error: impl Into<StoreError>) -> StoreError {
    StoreError::Migration(Box::new(error.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_numbered_in_order_with_one_name_each() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, i64::try_from(index).unwrap_or(-1) + 1);
            let same_name = MIGRATIONS
                .iter()
                .filter(|m| m.name == migration.name)
                .count();
            assert_eq!(same_name, 1, "{}", migration.name);
        }
    }
}
