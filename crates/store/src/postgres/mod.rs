//! The scale-out backend: PostgreSQL through one connection pool; each write is its own
//! transaction (PostgreSQL already shares fsyncs between concurrent commits), but for webhooks'
//! acceptances, which arrive too many at a time for that and share their statements
//! ([`AcceptBatches`]), the commonest agent turns and deliveries' starts and completions,
//! which do too ([`TurnBatches`], [`StartBatches`], [`DeliveryBatches`]), the reads every turn
//! starts with ([`SubjectReads`], [`HistoryReads`]), and the inbox, stored a batch at a time
//! ([`store_batch`]).

mod accept;
mod append;
mod batches;
mod delivery_batch;
mod earlier_writers;
mod inbox_batch;
mod nodelay;
mod pool;
mod start_batch;
mod statistics;
mod turn;
mod turn_batch;
mod turn_reads;

use std::sync::Arc;

pub(crate) use accept::{AcceptBatches, Webhook};
pub(crate) use append::append;
pub(crate) use delivery_batch::{Completed, DeliveryBatches};
pub(crate) use earlier_writers::wait_for_earlier_writers;
pub(crate) use inbox_batch::store_batch;
pub(crate) use pool::Pool;
pub(crate) use start_batch::{StartBatches, Starting};
pub(crate) use turn_batch::{AloneTurn, TurnBatches};
pub(crate) use turn_reads::{HistoryRead, HistoryReads, SubjectRead, SubjectReads};

use crate::write::Writer;
use crate::{StoreError, StoreOptions};

pub(crate) async fn open(options: &StoreOptions) -> Result<(Arc<Pool>, Writer), StoreError> {
    let pool = Arc::new(Pool::connect(options).await?);
    statistics::keep_fresh(Arc::downgrade(&pool));
    Ok((Arc::clone(&pool), Writer::Pooled(pool)))
}

#[cfg(test)]
pub(crate) mod tests {
    /// The PostgreSQL server the test suites use (see `test-support`'s `TestDatabase`).
    pub(crate) fn server_url() -> String {
        std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
    }
}
