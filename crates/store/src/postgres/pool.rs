//! PostgreSQL connections, pooled here rather than by sqlx. sqlx's pool pings every connection
//! that comes back to it: a round trip after every read and every transaction, about ten per
//! message in the pipeline (six reads and four transactions, counted in the code).
//!
//! Here a connection goes back as it is once its work has finished ([`Lease::settle`]). One
//! whose work did not finish (its future was dropped mid-statement, or the connection itself
//! failed) is closed instead: what state it left on the server is unknown.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, ConnectOptions};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::{StoreError, StoreOptions};

pub(crate) struct Pool {
    options: AnyConnectOptions,
    /// One permit per connection that may be open.
    permits: Semaphore,
    max: u32,
    acquire_timeout: Duration,
    idle: Mutex<Vec<AnyConnection>>,
    /// Connections open now, idle or leased.
    open: AtomicU32,
}

/// A connection taken from the pool; back to it on drop once [`Lease::settle`] found it fit.
pub(crate) struct Lease<'p> {
    pool: &'p Pool,
    connection: Option<AnyConnection>,
    reusable: bool,
    _permit: SemaphorePermit<'p>,
}

impl Pool {
    /// A pool for `options.url`, with one connection opened now so a wrong address or
    /// password fails here rather than at the first request.
    pub(crate) async fn connect(options: &StoreOptions) -> Result<Self, StoreError> {
        let max = options.max_connections.max(1);
        let pool = Self {
            options: options.url.parse()?,
            permits: Semaphore::new(usize::try_from(max).unwrap_or(usize::MAX)),
            max,
            acquire_timeout: options.acquire_timeout,
            idle: Mutex::new(Vec::new()),
            open: AtomicU32::new(0),
        };
        pool.acquire().await?.settle(Ok(()))?;
        Ok(pool)
    }

    /// An idle connection, or a new one while fewer than the maximum are open; waits at most
    /// the acquire timeout for one to come back (`Unavailable` after that).
    pub(crate) async fn acquire(&self) -> Result<Lease<'_>, StoreError> {
        let permit = match tokio::time::timeout(self.acquire_timeout, self.permits.acquire()).await
        {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(sqlx::Error::PoolClosed.into()),
            Err(_) => return Err(sqlx::Error::PoolTimedOut.into()),
        };
        let idle = self.lock().pop();
        let connection = match idle {
            Some(connection) => connection,
            None => {
                let connection = self.options.connect().await?;
                self.open.fetch_add(1, Ordering::Relaxed);
                connection
            }
        };
        Ok(Lease {
            pool: self,
            connection: Some(connection),
            reusable: false,
            _permit: permit,
        })
    }

    /// Connections open now.
    pub(crate) fn size(&self) -> u32 {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections open and not leased.
    pub(crate) fn idle(&self) -> usize {
        self.lock().len()
    }

    pub(crate) fn max(&self) -> u32 {
        self.max
    }

    /// Refuses new leases and closes the idle connections; leased ones close when dropped.
    pub(crate) async fn close(&self) {
        self.permits.close();
        let idle = std::mem::take(&mut *self.lock());
        for connection in idle {
            self.open.fetch_sub(1, Ordering::Relaxed);
            // A connection that fails to say goodbye is closed all the same.
            let _ = sqlx::Connection::close(connection).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AnyConnection>> {
        // A panic while holding the lock cannot leave the list half-changed.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Lease<'_> {
    pub(crate) fn connection(&mut self) -> &mut AnyConnection {
        match &mut self.connection {
            Some(connection) => connection,
            // Only `drop` takes the connection out.
            None => unreachable!("a lease holds its connection until dropped"),
        }
    }

    /// The work on the connection ended with `result`: the connection goes back to the pool
    /// unless the connection itself failed. A statement the server refused (a constraint, a
    /// syntax error) leaves it fit for the next.
    pub(crate) fn settle<T>(mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        self.reusable = !matches!(result, Err(StoreError::Unavailable(_)));
        result
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        if self.reusable && !self.pool.permits.is_closed() {
            self.pool.lock().push(connection);
        } else {
            self.pool.open.fetch_sub(1, Ordering::Relaxed);
            drop(connection);
        }
    }
}
