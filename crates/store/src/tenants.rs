//! Tenants: created by a platform admin (or on first start), listed across the installation.

use switchboard_core::{Credits, Page, Tenant, TenantId};

use crate::{PageRequest, Store, StoreError};
use switchboard_database::{Row, query};
use switchboard_database::{RowExt, millis, now};

const COLUMNS: &str = "id, name, credit_balance, created_at";

fn tenant_from_row(row: &Row) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: row.parsed("id")?,
        name: row.text("name")?,
        credit_balance: Credits(row.integer("credit_balance")?),
        created_at: row.time("created_at")?,
    })
}

impl Store {
    pub async fn create_tenant(&self, name: String) -> Result<Tenant, StoreError> {
        let tenant = Tenant {
            id: TenantId::new(),
            name,
            credit_balance: Credits(0),
            created_at: now(),
        };
        let row = tenant.clone();
        self.write(move |connection| {
            Box::pin(async move {
                query(
                    "INSERT INTO tenants (id, name, credit_balance, created_at) VALUES ($1, $2, 0, $3)",
                )
                .bind(row.id.to_string())
                .bind(row.name)
                .bind(millis(row.created_at))
                .execute(connection)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(tenant)
    }

    pub async fn get_tenant(&self, id: TenantId) -> Result<Tenant, StoreError> {
        let row = query(format!("SELECT {COLUMNS} FROM tenants WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::not_found("tenant"))?;
        tenant_from_row(&row)
    }

    pub async fn list_tenants(&self, page: &PageRequest) -> Result<Page<Tenant>, StoreError> {
        let after = page.position()?.unwrap_or_default();
        let rows = query(format!(
            "SELECT {COLUMNS} FROM tenants WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(page.limit() + 1)
        .fetch_all(self.reader())
        .await?;
        let tenants = rows
            .iter()
            .map(tenant_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page.finish(tenants, |tenant| tenant.id.to_string()))
    }

    pub async fn count_tenants(&self) -> Result<i64, StoreError> {
        Ok(query("SELECT COUNT(*) FROM tenants")
            .fetch_scalar(self.reader())
            .await?)
    }
}
