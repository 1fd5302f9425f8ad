//! The scale-out backend: PostgreSQL through one connection pool; each write is its own
//! transaction (PostgreSQL already shares fsyncs between concurrent commits), but for webhooks'
//! acceptances, which arrive too many at a time for that and share one ([`AcceptBatches`]).

mod accept;
mod pool;

use std::sync::Arc;

pub(crate) use accept::{AcceptBatches, Webhook};
pub(crate) use pool::Pool;

use crate::write::Writer;
use crate::{StoreError, StoreOptions};

pub(crate) async fn open(options: &StoreOptions) -> Result<(Arc<Pool>, Writer), StoreError> {
    let pool = Arc::new(Pool::connect(options).await?);
    Ok((Arc::clone(&pool), Writer::Pooled(pool)))
}
