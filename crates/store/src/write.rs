//! The single way to change the store: [`Store::write`] runs a closure inside a transaction and
//! returns only after that transaction is durable.

use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::Connection as _;

use crate::db::Db;
use crate::postgres::Pool;
use crate::sqlite::GroupCommit;
use crate::{Store, StoreError};

/// A write: given the transaction, does its statements.
pub(crate) type WriteOp<T> =
    Box<dyn for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<T, StoreError>> + Send>;

pub(crate) enum Writer {
    /// SQLite: one connection, concurrent writes batched into one commit.
    GroupCommit(GroupCommit),
    /// PostgreSQL: each write in its own pooled transaction.
    Pooled(Arc<Pool>),
}

impl Writer {
    pub(crate) async fn close(&self) {
        match self {
            Writer::GroupCommit(group) => group.close().await,
            Writer::Pooled(pool) => pool.close().await,
        }
    }
}

impl Store {
    /// Runs `op` in a write transaction; `Ok` means committed and durable. If `op` fails,
    /// nothing it did is kept.
    pub(crate) async fn write<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        self.write_in_turn(op, false).await
    }

    /// Like [`Store::write`], for a write someone outside is waiting on (a webhook's
    /// acknowledgement): on SQLite it goes ahead of the writes already waiting; on PostgreSQL
    /// it may take a connection kept for such writes.
    pub(crate) async fn write_first<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        self.write_in_turn(op, true).await
    }

    /// Like [`Store::write`], for a write of exactly one statement: on PostgreSQL it runs
    /// without `BEGIN` and `COMMIT` (a statement alone is its own transaction), two round trips
    /// fewer. A second statement in `op` would commit on its own: use `write` for that.
    pub(crate) async fn write_statement<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        match &self.inner.writer {
            Writer::Pooled(pool) => op(&mut Db::Postgres(pool)).await,
            Writer::GroupCommit(_) => self.write(op).await,
        }
    }

    /// Like [`Store::write_first`], but on PostgreSQL without `BEGIN` and `COMMIT`: each
    /// statement of `op` commits by itself, on one connection, two round trips fewer. For work
    /// whose statements each leave the store right if a later one fails (or never runs).
    pub(crate) async fn write_first_each_committed<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
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

    /// PostgreSQL's pool, for work that leases its own connection (`None` on SQLite).
    pub(crate) fn postgres_pool(&self) -> Option<&Pool> {
        match &self.inner.writer {
            Writer::Pooled(pool) => Some(pool),
            Writer::GroupCommit(_) => None,
        }
    }

    async fn write_in_turn<T, F>(&self, op: F, first: bool) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Db<'c>) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        match &self.inner.writer {
            Writer::GroupCommit(group) => group.submit(Box::new(op), first).await,
            Writer::Pooled(pool) => {
                let mut lease = if first {
                    pool.acquire_first().await?
                } else {
                    pool.acquire().await?
                };
                let mut transaction = lease.connection().begin().await?;
                let result = {
                    let mut db = Db::PostgresConnection(&mut transaction);
                    op(&mut db).await
                };
                let outcome = match result {
                    Ok(value) => transaction
                        .commit()
                        .await
                        .map(|()| value)
                        .map_err(Into::into),
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
