//! PostgreSQL connections, pooled here rather than by sqlx. sqlx's pool pings every connection
//! that comes back to it: a round trip after every read and every transaction, about ten per
//! message in the pipeline (six reads and four transactions, counted in the code).
//!
//! Here a connection goes back as it is once its work has finished ([`Lease::settle`]). One
//! whose work did not finish (its future was dropped mid-statement, or the connection itself
//! failed) is closed instead: what state it left on the server is unknown.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sqlx::any::AnyConnectOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::{AnyConnection, ConnectOptions};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::{DatabaseError, DatabaseOptions, Failure};

/// Whether turning Nagle's algorithm off failed once already (it is logged once).
static NODELAY_REFUSED: AtomicBool = AtomicBool::new(false);

pub struct Pool {
    options: AnyConnectOptions,
    /// One permit per connection that may be open, but for the reserved ones.
    permits: Semaphore,
    /// Permits only work someone outside is waiting on may take ([`Pool::acquire_first`]), so
    /// acknowledgements queue behind the pipeline's transactions only when more of them are in
    /// flight than there are reserved connections.
    reserved: Semaphore,
    max: u32,
    acquire_timeout: Duration,
    idle: Mutex<Vec<AnyConnection>>,
    /// Connections open now, idle or leased.
    open: AtomicU32,
    /// The server's TCP port, whose connections get `TCP_NODELAY` (see `super::nodelay`);
    /// `None` over a Unix socket.
    tcp_port: Option<u16>,
    /// What tells its connections from other stores' on the server (`super::earlier_writers`).
    tag: String,
    /// Settings each connection gets when it opens (`DatabaseOptions::postgres_settings`).
    settings: Vec<(String, String)>,
    /// Reads run so far: statements on a connection leased for that statement alone
    /// ([`crate::Db::Postgres`]).
    reads: AtomicU64,
}

/// A connection taken from the pool; back to it on drop once [`Lease::settle`] found it fit.
pub struct Lease<'p> {
    pool: &'p Pool,
    connection: Option<AnyConnection>,
    reusable: bool,
    _permit: SemaphorePermit<'p>,
}

impl Pool {
    /// A pool for `options.url`, with every connection opened now: one first, so a wrong
    /// address or password fails here rather than at the first request, then the rest at
    /// once. Opening one costs the server a process and its caches a warm-up, which a burst
    /// of traffic on a new pool would otherwise wait for (tens of milliseconds at the
    /// start of a load). A connection that fails to open now is opened when first needed.
    pub(crate) async fn connect(options: &DatabaseOptions) -> Result<Self, DatabaseError> {
        let max = options.max_connections.max(1);
        let reserved = max / 4;
        let postgres: PgConnectOptions = options.url.parse()?;
        let pool = Self {
            tcp_port: postgres.get_socket().is_none().then(|| postgres.get_port()),
            options: options.url.parse()?,
            tag: super::earlier_writers::tag(),
            settings: options.postgres_settings.clone(),
            permits: Semaphore::new(usize::try_from(max - reserved).unwrap_or(usize::MAX)),
            reserved: Semaphore::new(usize::try_from(reserved).unwrap_or(usize::MAX)),
            max,
            acquire_timeout: options.acquire_timeout,
            idle: Mutex::new(Vec::new()),
            open: AtomicU32::new(0),
            reads: AtomicU64::new(0),
        };
        pool.acquire().await?.settle(Ok::<_, DatabaseError>(()))?;
        let others = (1..max).map(|_| pool.open_connection());
        for connection in futures::future::join_all(others).await {
            match connection {
                Ok(connection) => pool.lock().push(connection),
                Err(error) => tracing::debug!(%error, "a connection will be opened when needed"),
            }
        }
        Ok(pool)
    }

    /// An idle connection, or a new one while fewer than the maximum are open (but for those
    /// kept for [`Pool::acquire_first`]); waits at most the acquire timeout for one to come
    /// back (`Unavailable` after that).
    pub async fn acquire(&self) -> Result<Lease<'_>, DatabaseError> {
        self.lease(self.permits.acquire()).await
    }

    /// Like [`Pool::acquire`], for work someone outside is waiting on: it may also take one of
    /// the connections kept for such work (a quarter of them), whichever comes first.
    pub async fn acquire_first(&self) -> Result<Lease<'_>, DatabaseError> {
        self.lease(async {
            tokio::select! {
                biased;
                permit = self.reserved.acquire() => permit,
                permit = self.permits.acquire() => permit,
            }
        })
        .await
    }

    async fn lease<'p>(
        &'p self,
        permit: impl Future<Output = Result<SemaphorePermit<'p>, tokio::sync::AcquireError>>,
    ) -> Result<Lease<'p>, DatabaseError> {
        let permit = match tokio::time::timeout(self.acquire_timeout, permit).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(sqlx::Error::PoolClosed.into()),
            Err(_) => return Err(sqlx::Error::PoolTimedOut.into()),
        };
        let idle = self.lock().pop();
        let connection = match idle {
            Some(connection) => connection,
            None => self.open_connection().await?,
        };
        Ok(Lease {
            pool: self,
            connection: Some(connection),
            reusable: false,
            _permit: permit,
        })
    }

    /// A new connection, counted open, named as this store's, with Nagle's algorithm off.
    async fn open_connection(&self) -> Result<AnyConnection, DatabaseError> {
        let mut connection = self.options.connect().await?;
        super::earlier_writers::name_connection(&mut connection, &self.tag).await?;
        for (name, value) in &self.settings {
            sqlx::query("SELECT set_config($1, $2, false)")
                .bind(name)
                .bind(value)
                .execute(&mut connection)
                .await?;
        }
        self.open.fetch_add(1, Ordering::Relaxed);
        if let Some(port) = self.tcp_port
            && let Err(error) = super::nodelay::set_on_sockets_to(port)
            && !NODELAY_REFUSED.swap(true, Ordering::Relaxed)
        {
            tracing::info!(
                %error,
                "could not turn Nagle's algorithm off on the database connections: statements \
                 longer than 16 KiB over TLS wait 40 ms more"
            );
        }
        Ok(connection)
    }

    /// Counts one read.
    pub(crate) fn count_read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads run so far.
    pub(crate) fn reads_run(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// What tells its connections from other stores' on the server.
    pub(crate) fn tag(&self) -> &str {
        &self.tag
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

    /// Whether [`Pool::close`] was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.permits.is_closed()
    }

    /// Refuses new leases and closes the idle connections; leased ones close when dropped.
    pub async fn close(&self) {
        self.permits.close();
        self.reserved.close();
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
    pub fn connection(&mut self) -> &mut AnyConnection {
        match &mut self.connection {
            Some(connection) => connection,
            // Only `drop` takes the connection out.
            None => unreachable!("a lease holds its connection until dropped"),
        }
    }

    /// The work on the connection ended with `result`: the connection goes back to the pool
    /// unless the connection itself failed. A statement the server refused (a constraint, a
    /// syntax error) leaves it fit for the next.
    pub fn settle<T, E: Failure>(mut self, result: Result<T, E>) -> Result<T, E> {
        self.reusable = !result.as_ref().is_err_and(Failure::is_unavailable);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::tests::server_url;

    #[tokio::test]
    async fn work_waited_on_outside_gets_a_connection_while_the_others_are_all_leased()
    -> Result<(), DatabaseError> {
        sqlx::any::install_default_drivers();
        let options = DatabaseOptions {
            max_connections: 4,
            acquire_timeout: Duration::from_millis(100),
            ..DatabaseOptions::new(server_url())
        };
        let pool = Pool::connect(&options).await?;
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(pool.acquire().await?);
        }
        assert!(
            matches!(pool.acquire().await, Err(DatabaseError::Unavailable(_))),
            "the fourth connection is kept for work waited on outside"
        );
        let first = pool.acquire_first().await?;
        assert_eq!(pool.size(), 4);
        drop(first);
        drop(held);
        pool.close().await;
        Ok(())
    }
}
