//! PostgreSQL: one connection pool of our own ([`Pool`]), with Nagle's algorithm off on its
//! connections (`nodelay`), each connection named so that a restart can wait for a killed
//! predecessor's statements ([`wait_for_earlier_writers`]), and the planner's statistics of
//! young tables kept fresh (`statistics`).

mod earlier_writers;
mod nodelay;
mod pool;
mod statistics;

use std::sync::Arc;

pub use earlier_writers::wait_for_earlier_writers;
pub use pool::{Lease, Pool};

use crate::{DatabaseError, DatabaseOptions};

pub(crate) async fn open(options: &DatabaseOptions) -> Result<Arc<Pool>, DatabaseError> {
    let pool = Arc::new(Pool::connect(options).await?);
    statistics::keep_fresh(Arc::downgrade(&pool));
    Ok(pool)
}

#[cfg(test)]
pub(crate) mod tests {
    /// The PostgreSQL server the test suites use (see `test-database`'s `TestDatabase`).
    pub(crate) fn server_url() -> String {
        std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
    }
}
