//! Reading tenant-owned rows by id and in id order, the same way for every resource: scoped to
//! the tenant, limited to live rows, keyset-paginated on the (time-ordered) id. Many rows by id
//! are one statement ([`IdList`]), the same on both backends.

use switchboard_core::{Page, TenantId};

use crate::pipeline::turn::placeholders;
use crate::{PageRequest, Store, StoreError};
use switchboard_database::{Query, Row, query};

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

/// Ids a statement matches with `IN (…)`, one parameter each. Their number is rounded up to a
/// power of two, the last id repeated: a handful of statements, each prepared once per
/// connection, serve lists of every length, where one statement per length would crowd the
/// pipeline's statements out of the connections' caches.
pub(crate) struct IdList(Vec<String>);

impl IdList {
    pub(crate) fn new<T: ToString>(ids: &[T]) -> Self {
        let mut ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        if let Some(last) = ids.last().cloned() {
            ids.resize(ids.len().next_power_of_two(), last);
        }
        Self(ids)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `$first, $first + 1, …`, one per id.
    pub(crate) fn placeholders(&self, first: usize) -> String {
        placeholders(first, self.0.len())
    }

    /// `statement` with the ids bound as its next parameters.
    pub(crate) fn bind(&self, statement: Query) -> Query {
        self.0.iter().fold(statement, Query::bind)
    }
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

    /// The tenant's live rows among `ids`, in no particular order, in one statement. An id of no
    /// such row (another tenant's, say) is left out.
    pub(crate) async fn fetch_rows<T>(
        &self,
        table: &Table<T>,
        tenant_id: TenantId,
        ids: &IdList,
    ) -> Result<Vec<T>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let statement = query(format!(
            "SELECT {} FROM {} WHERE tenant_id = $1 AND {} AND id IN ({})",
            table.columns,
            table.name,
            table.live,
            ids.placeholders(2)
        ))
        .bind(tenant_id.to_string());
        let rows = ids.bind(statement).fetch_all(self.reader()).await?;
        rows.iter().map(table.decode).collect()
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
