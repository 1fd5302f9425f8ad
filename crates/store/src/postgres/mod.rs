//! The scale-out backend: PostgreSQL through one connection pool; each write is its own
//! transaction (PostgreSQL already shares fsyncs between concurrent commits).

mod pool;

use std::sync::Arc;

pub(crate) use pool::Pool;

use crate::write::Writer;
use crate::{StoreError, StoreOptions};

pub(crate) async fn open(options: &StoreOptions) -> Result<(Arc<Pool>, Writer), StoreError> {
    let pool = Arc::new(Pool::connect(options).await?);
    Ok((Arc::clone(&pool), Writer::Pooled(pool)))
}
