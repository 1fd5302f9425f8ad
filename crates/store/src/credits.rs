//! The credit ledger: append-only, one entry per idempotency key, the tenant's balance updated in
//! the same transaction so it always equals the sum of the entries.

use switchboard_core::{Credits, LedgerEntry, LedgerEntryId, Page, TenantId};

use crate::{PageRequest, Store, StoreError};
use switchboard_database::{Row, query};
use switchboard_database::{RowExt, millis, now};

const COLUMNS: &str = "id, tenant_id, amount, balance_after, reason, idempotency_key, created_at";

pub struct NewLedgerEntry {
    /// Positive for a grant, negative for a debit.
    pub amount: Credits,
    pub reason: String,
    /// Recording the same key twice records it once.
    pub idempotency_key: String,
}

fn entry_from_row(row: &Row) -> Result<LedgerEntry, StoreError> {
    Ok(LedgerEntry {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        amount: Credits(row.integer("amount")?),
        balance_after: Credits(row.integer("balance_after")?),
        reason: row.text("reason")?,
        idempotency_key: row.text("idempotency_key")?,
        created_at: row.time("created_at")?,
    })
}

impl Store {
    pub async fn credit_balance(&self, tenant_id: TenantId) -> Result<Credits, StoreError> {
        let balance: i64 = query("SELECT credit_balance FROM tenants WHERE id = $1")
            .bind(tenant_id.to_string())
            .fetch_optional_scalar(self.reader())
            .await?
            .ok_or(StoreError::not_found("tenant"))?;
        Ok(Credits(balance))
    }

    /// Records an entry and moves the balance; returns the entry and whether it is new. An entry
    /// with the same idempotency key already recorded is returned as it was.
    pub async fn record_credits(
        &self,
        tenant_id: TenantId,
        new: NewLedgerEntry,
    ) -> Result<(LedgerEntry, bool), StoreError> {
        self.write(move |connection| {
            Box::pin(async move {
                let existing = query(format!(
                    "SELECT {COLUMNS} FROM credit_ledger WHERE tenant_id = $1 AND idempotency_key = $2"
                ))
                .bind(tenant_id.to_string())
                .bind(&new.idempotency_key)
                .fetch_optional(&mut *connection)
                .await?;
                if let Some(row) = existing {
                    return Ok((entry_from_row(&row)?, false));
                }
                let balance_after: i64 = query(
                    "UPDATE tenants SET credit_balance = credit_balance + $2 WHERE id = $1 RETURNING credit_balance",
                )
                .bind(tenant_id.to_string())
                .bind(new.amount.0)
                .fetch_optional_scalar(&mut *connection)
                .await?
                .ok_or(StoreError::not_found("tenant"))?;
                let entry = LedgerEntry {
                    id: LedgerEntryId::new(),
                    tenant_id,
                    amount: new.amount,
                    balance_after: Credits(balance_after),
                    reason: new.reason,
                    idempotency_key: new.idempotency_key,
                    created_at: now(),
                };
                query(
                    "INSERT INTO credit_ledger (id, tenant_id, amount, balance_after, reason, idempotency_key, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(entry.id.to_string())
                .bind(tenant_id.to_string())
                .bind(entry.amount.0)
                .bind(balance_after)
                .bind(entry.reason.clone())
                .bind(entry.idempotency_key.clone())
                .bind(millis(entry.created_at))
                .execute(&mut *connection)
                .await?;
                Ok((entry, true))
            })
        })
        .await
    }

    /// Ledger entries, newest first.
    pub async fn list_ledger(
        &self,
        tenant_id: TenantId,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, StoreError> {
        // No sentinel id for the first page: under a non-C collation no string sorts after every id.
        let before = page.position()?.unwrap_or_default();
        let rows = query(format!(
            "SELECT {COLUMNS} FROM credit_ledger WHERE tenant_id = $1 AND ($2 = '' OR id < $2)
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(tenant_id.to_string())
        .bind(before)
        .bind(page.limit() + 1)
        .fetch_all(self.reader())
        .await?;
        let entries = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page.finish(entries, |entry| entry.id.to_string()))
    }
}
