//! Reading tenant-owned rows by id and in id order, the same way for every resource: scoped to
//! the tenant, limited to live rows, keyset-paginated on the (time-ordered) id.

use switchboard_core::{Page, TenantId};

use crate::{PageRequest, Store, StoreError};
use switchboard_database::{Row, query};

/// How to read one kind of tenant-owned row.
pub(crate) struct Table<T> {
    pub name: &'static str,
    /// What a missing row is called in `NotFound`.
    pub entity: &'static str,
    pub columns: &'static str,
    /// The condition a row must meet to be seen (`deleted_at IS NULL`, or `1 = 1`).
    pub live: &'static str,
    pub decode: fn(&Row) -> Result<T, StoreError>,
    /// The row's id, for the cursor.
    pub id: fn(&T) -> String,
}

impl Store {
    /// One live row of the tenant, or `NotFound`.
    pub(crate) async fn fetch_row<T>(
        &self,
        table: &Table<T>,
        tenant_id: TenantId,
        id: String,
    ) -> Result<T, StoreError> {
        let row = query(format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 AND id = $2 AND {}",
            table.columns, table.name, table.live
        ))
        .bind(tenant_id.to_string())
        .bind(id)
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::not_found(table.entity))?;
        (table.decode)(&row)
    }

    /// A page of the tenant's live rows in creation order.
    pub(crate) async fn fetch_page<T>(
        &self,
        table: &Table<T>,
        tenant_id: TenantId,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let after = page.position()?.unwrap_or_default();
        let rows = query(format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 AND {} AND id > $2 ORDER BY id LIMIT $3",
            table.columns, table.name, table.live
        ))
        .bind(tenant_id.to_string())
        .bind(after)
        .bind(page.limit() + 1)
        .fetch_all(self.reader())
        .await?;
        let items = rows
            .iter()
            .map(table.decode)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page.finish(items, table.id))
    }
}
