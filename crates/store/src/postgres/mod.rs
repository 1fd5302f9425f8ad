//! The scale-out backend: PostgreSQL through one connection pool; each write is its own
//! transaction (PostgreSQL already shares fsyncs between concurrent commits).

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use crate::write::Writer;
use crate::{StoreError, StoreOptions};

pub(crate) async fn open(options: &StoreOptions) -> Result<(AnyPool, Writer), StoreError> {
    let pool = AnyPoolOptions::new()
        .max_connections(options.max_connections)
        .min_connections(1)
        .acquire_timeout(options.acquire_timeout)
        .connect(&options.url)
        .await?;
    Ok((pool.clone(), Writer::Pooled(pool)))
}
