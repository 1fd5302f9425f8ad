//! The database handle: where reads run ([`Database::reader`]) and the single way to change
//! the database ([`Database::write`] and its variants), which runs a closure inside a
//! transaction and returns only after that transaction is durable.

use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::Connection as _;

use crate::db::{Db, query};
use crate::postgres::Pool;
use crate::sqlite::{GroupCommit, Readers};
use crate::{DatabaseError, DatabaseOptions, Failure};

/// One database, cheap to clone, shared by every task.
///
/// Reads go to a connection pool (on SQLite, read-only connections used in place); writes go
/// through [`Database::write`], which on SQLite batches concurrent transactions into one
/// commit (group commit) and on PostgreSQL runs each in its own pooled transaction.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    readers: ReadPool,
    writer: Writer,
    options: DatabaseOptions,
}

/// The connections reads use.
enum ReadPool {
    Sqlite(Arc<Readers>),
    Postgres(Arc<Pool>),
}

enum Writer {
    /// SQLite: one connection, concurrent writes batched into one commit.
    GroupCommit(GroupCommit),
    /// PostgreSQL: each write in its own pooled transaction.
    Pooled(Arc<Pool>),
}

/// How many connections a database holds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

impl Database {
    /// Opens the database the URL names: on SQLite, the file (created, with its directory, on
    /// first use); on PostgreSQL, a pool with every connection opened now.
    pub async fn connect(options: DatabaseOptions) -> Result<Database, DatabaseError> {
        sqlx::any::install_default_drivers();
        let backend = crate::Backend::from_url(&options.url).ok_or_else(|| {
            DatabaseError::unavailable(format!(
                "unsupported database URL scheme in `{}`; use sqlite:// or postgres://",
                crate::redact_url(&options.url)
            ))
        })?;
        let (readers, writer) = match backend {
            crate::Backend::Sqlite => {
                let location = crate::sqlite::Location::from_url(&options.url)?;
                location.create_parent_directory()?;
                let (readers, writer) = crate::sqlite::open(
                    location,
                    &options,
                    "sqlite-writer",
                    options.sqlite_writer_nice,
                )?;
                (ReadPool::Sqlite(readers), Writer::GroupCommit(writer))
            }
            crate::Backend::Postgres => {
                let pool = crate::postgres::open(&options).await?;
                (ReadPool::Postgres(Arc::clone(&pool)), Writer::Pooled(pool))
            }
        };
        Ok(Database {
            inner: Arc::new(Inner {
                readers,
                writer,
                options,
            }),
        })
    }

    /// SQLite: a second database beside this one (`<path>-<suffix>`, or a fresh in-memory
    /// database beside an in-memory one), with a writer of its own at the process's priority.
    /// `None` on PostgreSQL.
    pub fn open_beside(&self, suffix: &str) -> Result<Option<Database>, DatabaseError> {
        let ReadPool::Sqlite(_) = &self.inner.readers else {
            return Ok(None);
        };
        let options = &self.inner.options;
        let location = crate::sqlite::Location::from_url(&options.url)?.beside(suffix);
        let options = DatabaseOptions {
            sqlite_after_commit: None,
            ..options.clone()
        };
        let (readers, writer) =
            crate::sqlite::open(location, &options, &format!("sqlite-{suffix}"), 0)?;
        Ok(Some(Database {
            inner: Arc::new(Inner {
                readers: ReadPool::Sqlite(readers),
                writer: Writer::GroupCommit(writer),
                options,
            }),
        }))
    }

    /// SQLite: copies the WAL into the database file and empties it, so that what a write
    /// replaced (a secret sealed in its place) is gone from the WAL too; `false` when a read in
    /// progress kept it from finishing. Nothing to do on PostgreSQL.
    pub async fn truncate_wal(&self) -> Result<bool, DatabaseError> {
        let ReadPool::Sqlite(_) = &self.inner.readers else {
            return Ok(true);
        };
        let url = self.inner.options.url.clone();
        let busy_timeout = self.inner.options.busy_timeout;
        tokio::task::spawn_blocking(move || crate::sqlite::truncate_wal(&url, busy_timeout))
            .await
            .map_err(|error| DatabaseError::Unavailable(Box::new(error)))?
    }

    pub fn backend(&self) -> crate::Backend {
        match self.inner.readers {
            ReadPool::Sqlite(_) => crate::Backend::Sqlite,
            ReadPool::Postgres(_) => crate::Backend::Postgres,
        }
    }

    pub fn options(&self) -> &DatabaseOptions {
        &self.inner.options
    }

    /// Where reads run.
    pub fn reader(&self) -> Db<'_> {
        match &self.inner.readers {
            ReadPool::Sqlite(readers) => Db::SqliteReaders(readers),
            ReadPool::Postgres(pool) => Db::Postgres(pool),
        }
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), DatabaseError> {
        query("SELECT 1").fetch_one(self.reader()).await?;
        Ok(())
    }

    /// Connections open, idle and at most kept for reads.
    pub fn pool_stats(&self) -> PoolStats {
        let count = |value: usize| u32::try_from(value).unwrap_or(u32::MAX);
        match &self.inner.readers {
            ReadPool::Sqlite(readers) => {
                let (open, idle) = readers.counts();
                PoolStats {
                    size: count(open),
                    idle: count(idle),
                    max: count(readers.max_idle()),
                }
            }
            ReadPool::Postgres(pool) => PoolStats {
                size: pool.size(),
                idle: count(pool.idle()),
                max: pool.max(),
            },
        }
    }

    /// Statements run on the read pool ([`Database::reader`]) since the database was opened.
    /// Writes, and the background upkeep of PostgreSQL's planner statistics, run on connections
    /// of their own and are not counted. For tests and measurements of what an operation reads.
    pub fn reads_run(&self) -> u64 {
        match &self.inner.readers {
            ReadPool::Sqlite(readers) => readers.reads_run(),
            ReadPool::Postgres(pool) => pool.reads_run(),
        }
    }

    /// PostgreSQL's pool, for work that leases its own connection (`None` on SQLite).
    pub fn postgres_pool(&self) -> Option<&Pool> {
        match &self.inner.writer {
            Writer::Pooled(pool) => Some(pool),
            Writer::GroupCommit(_) => None,
        }
    }

    /// Closes every connection after in-flight work finishes.
    pub async fn close(&self) {
        match &self.inner.writer {
            Writer::GroupCommit(group) => group.close().await,
            Writer::Pooled(pool) => pool.close().await,
        }
        if let ReadPool::Sqlite(readers) = &self.inner.readers {
            readers.close();
        }
    }

    /// Runs `op` in a write transaction; `Ok` means committed and durable. If `op` fails,
    /// nothing it did is kept.
    pub async fn write<T, E, F>(&self, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: Failure,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    {
        self.write_in_turn(op, false).await
    }

    /// Like [`Database::write`], for a write someone outside is waiting on (a webhook's
    /// acknowledgement): on SQLite it goes ahead of the writes already waiting; on PostgreSQL
    /// it may take a connection kept for such writes.
    pub async fn write_first<T, E, F>(&self, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: Failure,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    {
        self.write_in_turn(op, true).await
    }

    /// Like [`Database::write`], for a write of exactly one statement: on PostgreSQL it runs
    /// without `BEGIN` and `COMMIT` (a statement alone is its own transaction), two round trips
    /// fewer. A second statement in `op` would commit on its own: use `write` for that.
    pub async fn write_statement<T, E, F>(&self, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: Failure,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    {
        match &self.inner.writer {
            Writer::Pooled(pool) => {
                let mut lease = pool.acquire().await?;
                let result = op(&mut Db::PostgresConnection(lease.connection())).await;
                lease.settle(result)
            }
            Writer::GroupCommit(_) => self.write(op).await,
        }
    }

    /// Like [`Database::write_first`], but on PostgreSQL without `BEGIN` and `COMMIT`: each
    /// statement of `op` commits by itself, on one connection, two round trips fewer. For work
    /// whose statements each leave the database right if a later one fails (or never runs).
    pub async fn write_first_each_committed<T, E, F>(&self, op: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: Failure,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    {
        match &self.inner.writer {
            Writer::Pooled(pool) => {
                let mut lease = pool.acquire_first().await?;
                let result = op(&mut Db::PostgresConnection(lease.connection())).await;
                lease.settle(result)
            }
            Writer::GroupCommit(_) => self.write_first(op).await,
        }
    }

    /// Runs `op` in a read-only transaction that is then rolled back: for statements that must
    /// change nothing whatever they say (plans of statements given by an operator). On SQLite,
    /// whose readers are read-only connections, on a reader.
    pub async fn read_only<T, E, F>(&self, op: F) -> Result<T, E>
    where
        E: Failure,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<T, E>>,
    {
        let Some(pool) = self.postgres_pool() else {
            return op(&mut self.reader()).await;
        };
        let mut lease = pool.acquire().await?;
        let mut transaction = lease
            .connection()
            .begin()
            .await
            .map_err(DatabaseError::from)?;
        let result = {
            let mut db = Db::PostgresConnection(&mut transaction);
            match query("SET TRANSACTION READ ONLY").execute(&mut db).await {
                Ok(_) => op(&mut db).await,
                Err(error) => Err(error.into()),
            }
        };
        let rolled_back = transaction.rollback().await.map_err(DatabaseError::from);
        lease.settle(rolled_back.map_err(E::from).and(result))
    }

    async fn write_in_turn<T, E, F>(&self, op: F, first: bool) -> Result<T, E>
    where
        T: Send + 'static,
        E: Failure,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    {
        match &self.inner.writer {
            Writer::GroupCommit(group) => group.submit(Box::new(op), first).await,
            Writer::Pooled(pool) => {
                let mut lease = if first {
                    pool.acquire_first().await?
                } else {
                    pool.acquire().await?
                };
                let mut transaction = lease
                    .connection()
                    .begin()
                    .await
                    .map_err(DatabaseError::from)?;
                let result = {
                    let mut db = Db::PostgresConnection(&mut transaction);
                    op(&mut db).await
                };
                let outcome = match result {
                    Ok(value) => transaction
                        .commit()
                        .await
                        .map(|()| value)
                        .map_err(|error| DatabaseError::from(error).into()),
                    Err(error) => match transaction.rollback().await {
                        Ok(()) => Err(error),
                        // The connection failed: it is not reused.
                        Err(_) => return Err(error),
                    },
                };
                lease.settle(outcome)
            }
        }
    }
}

/// A write: given the transaction, does its statements.
pub(crate) type WriteOp<T, E> =
    Box<dyn for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<T, E>> + Send>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::tests::server_url;

    /// A write of the one statement `sql`.
    fn statement(
        sql: String,
    ) -> impl for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<(), DatabaseError>> + Send + 'static
    {
        move |db| Box::pin(async move { query(sql).execute(db).await.map(drop) })
    }

    /// Creates a table, writes a row through every kind of write, then reads twice: only the
    /// reads are counted. On PostgreSQL the planner-statistics upkeep starts its first pass
    /// at connect, concurrently; it is not counted either.
    async fn only_reads_are_counted(url: String) -> Result<(), DatabaseError> {
        let database = Database::connect(DatabaseOptions::new(url)).await?;
        let table = format!("counted_{}", uuid::Uuid::now_v7().simple());
        let before = database.reads_run();
        database
            .write(statement(format!("CREATE TABLE {table} (id BIGINT)")))
            .await?;
        database
            .write_statement(statement(format!("INSERT INTO {table} VALUES (1)")))
            .await?;
        database
            .write_first_each_committed(statement(format!("INSERT INTO {table} VALUES (2)")))
            .await?;
        let written = database.reads_run();
        let rows = query(format!("SELECT id FROM {table}"))
            .fetch_all(database.reader())
            .await?;
        database.ping().await?;
        let read = database.reads_run();
        database
            .write(statement(format!("DROP TABLE {table}")))
            .await?;
        database.close().await;
        assert_eq!(rows.len(), 2);
        assert_eq!(written, before, "writes are not reads");
        assert_eq!(
            read,
            before + 2,
            "each statement on the readers counts once"
        );
        Ok(())
    }

    #[tokio::test]
    async fn sqlite_counts_only_reads() -> Result<(), DatabaseError> {
        only_reads_are_counted("sqlite::memory:".to_owned()).await
    }

    #[tokio::test]
    async fn postgres_counts_only_reads() -> Result<(), DatabaseError> {
        only_reads_are_counted(server_url()).await
    }
}
