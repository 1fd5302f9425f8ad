//! API keys: the hash and a short public prefix are stored, the key itself never.

use switchboard_core::{ApiKey, ApiKeyId, Page, Role, TenantId, UserId};

use crate::table::Table;
use crate::{PageRequest, Store, StoreError};
use switchboard_database::{Row, query};
use switchboard_database::{RowExt, millis, now};

const COLUMNS: &str = "id, tenant_id, user_id, name, role, prefix, created_at, last_used_at";

pub struct NewApiKey {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    /// The public part of the key, unique; used to find the row.
    pub prefix: String,
    /// SHA-256 of the whole key.
    pub key_hash: String,
}

fn api_key_from_row(row: &Row) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        user_id: row.parsed("user_id")?,
        name: row.text("name")?,
        role: row.parsed("role")?,
        prefix: row.text("prefix")?,
        created_at: row.time("created_at")?,
        last_used_at: row.optional_time("last_used_at")?,
    })
}

pub(crate) const API_KEYS: Table<ApiKey> = Table {
    name: "api_keys",
    entity: "api key",
    columns: COLUMNS,
    live: "revoked_at IS NULL",
    decode: api_key_from_row,
    id: |row| row.id.to_string(),
};

impl Store {
    pub async fn create_api_key(
        &self,
        tenant_id: TenantId,
        new: NewApiKey,
    ) -> Result<ApiKey, StoreError> {
        let key = ApiKey {
            id: ApiKeyId::new(),
            tenant_id,
            user_id: new.user_id,
            name: new.name,
            role: new.role,
            prefix: new.prefix,
            created_at: now(),
            last_used_at: None,
        };
        let row = key.clone();
        self.write(move |connection| {
            Box::pin(async move {
                query(
                    "INSERT INTO api_keys (id, tenant_id, user_id, name, role, prefix, key_hash, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(row.id.to_string())
                .bind(row.tenant_id.to_string())
                .bind(row.user_id.to_string())
                .bind(row.name)
                .bind(row.role.as_str())
                .bind(row.prefix)
                .bind(new.key_hash)
                .bind(millis(row.created_at))
                .execute(connection)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(key)
    }

    pub async fn list_api_keys(
        &self,
        tenant_id: TenantId,
        page: &PageRequest,
    ) -> Result<Page<ApiKey>, StoreError> {
        self.fetch_page(&API_KEYS, tenant_id, page).await
    }

    pub async fn revoke_api_key(
        &self,
        tenant_id: TenantId,
        id: ApiKeyId,
    ) -> Result<(), StoreError> {
        let at = millis(now());
        let changed = self
            .write(move |connection| {
                Box::pin(async move {
                    let result = query(
                        "UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
                    )
                    .bind(tenant_id.to_string())
                    .bind(id.to_string())
                    .bind(at)
                    .execute(connection)
                    .await?;
                    Ok(result.rows_affected())
                })
            })
            .await?;
        if changed == 0 {
            return Err(StoreError::not_found("api key"));
        }
        Ok(())
    }

    /// The live key with this prefix and its hash, for authentication.
    pub async fn find_api_key(&self, prefix: &str) -> Result<Option<(ApiKey, String)>, StoreError> {
        let row = query(format!(
            "SELECT {COLUMNS}, key_hash FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL"
        ))
        .bind(prefix)
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| Ok((api_key_from_row(&row)?, row.text("key_hash")?)))
            .transpose()
    }

    /// Records that a key was used (callers throttle this; it is a write).
    pub async fn touch_api_key(&self, id: ApiKeyId) -> Result<(), StoreError> {
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(at)
                    .execute(connection)
                    .await?;
                Ok(())
            })
        })
        .await
    }
}
