//! Imports: the uploaded file (`import_chunks`, written before the client hears 202), the
//! import's checkpoint and counts (`imports`), and its row errors (`import_errors`). Applying a
//! batch of rows is `apply.rs`: the rows' upserts, their errors and the checkpoint commit
//! together, so a restart resumes at the checkpoint and never applies a row twice.
//!
//! An import is `receiving` while its file arrives (no client knows its id yet), then
//! `running`, then `completed` or `failed`. A `receiving` import is deleted when its upload
//! fails, or when it is found abandoned at start.

mod apply;

pub use apply::{ImportBatch, ImportRow};

use switchboard_core::{
    Import, ImportCounts, ImportId, ImportKind, ImportStatus, Page, RowError, TenantId,
};
use switchboard_database::{Row, RowExt, expect_changed, millis, now, query};

use crate::table::Table;
use crate::{PageRequest, Store, StoreError};

/// The internal status of an import whose file is still arriving.
const RECEIVING: &str = "receiving";

const COLUMNS: &str = "id, tenant_id, kind, status, options, file_name, total_bytes, rows_total,
    next_offset, next_line, rows_read, created, updated, unchanged, failed, error, created_at,
    updated_at, completed_at";

/// An import about to receive its file.
pub struct NewImport {
    pub kind: ImportKind,
    /// How to read the rows (the engine's, stored as JSON and handed back on resume).
    pub options: serde_json::Value,
    pub file_name: Option<String>,
}

/// A receiving import's file, all stored.
pub struct OpenImport {
    pub total_bytes: i64,
    pub rows_total: i64,
    /// Where the first data row starts (after the header), and its line.
    pub first_offset: i64,
    pub first_line: i64,
    /// The options, now complete with what the file said (its header).
    pub options: serde_json::Value,
}

/// Where a running import is: what the runner needs to resume it.
#[derive(Debug, Clone)]
pub struct ImportCheckpoint {
    pub import: Import,
    pub options: serde_json::Value,
    /// The next byte of the file to read (always the start of a row) and its line.
    pub next_offset: i64,
    pub next_line: i64,
}

/// One stored piece of an uploaded file.
pub struct ImportChunk {
    /// Where the piece starts in the file.
    pub byte_offset: i64,
    pub content: String,
}

fn import_from_row(row: &Row) -> Result<Import, StoreError> {
    let rows_total = row.integer("rows_total")?;
    let rows_read = row.integer("rows_read")?;
    let status: String = row.text("status")?;
    Ok(Import {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        kind: row.parsed("kind")?,
        // A `receiving` import is never read as an `Import` (every read leaves it out).
        status: status.parse().unwrap_or(ImportStatus::Running),
        file_name: row.optional_text("file_name")?,
        total_bytes: row.integer("total_bytes")?,
        rows_total,
        rows_read,
        created: row.integer("created")?,
        updated: row.integer("updated")?,
        unchanged: row.integer("unchanged")?,
        failed: row.integer("failed")?,
        progress: if rows_total > 0 {
            (rows_read as f64 / rows_total as f64).min(1.0)
        } else {
            1.0
        },
        error: row.optional_text("error")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        completed_at: row.optional_time("completed_at")?,
    })
}

fn checkpoint_from_row(row: &Row) -> Result<ImportCheckpoint, StoreError> {
    Ok(ImportCheckpoint {
        import: import_from_row(row)?,
        options: row.json("options")?,
        next_offset: row.integer("next_offset")?,
        next_line: row.integer("next_line")?,
    })
}

const IMPORTS: Table<Import> = Table {
    name: "imports",
    entity: "import",
    columns: COLUMNS,
    live: "status <> 'receiving'",
    decode: import_from_row,
    id: |import| import.id.to_string(),
};

impl Store {
    /// Records an import whose file is about to arrive (`receiving`: invisible to reads).
    pub async fn begin_import(
        &self,
        tenant_id: TenantId,
        new: NewImport,
    ) -> Result<ImportId, StoreError> {
        let id = ImportId::new();
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                query(
                    "INSERT INTO imports (id, tenant_id, kind, status, options, file_name,
                         created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(id.to_string())
                .bind(tenant_id.to_string())
                .bind(new.kind.as_str())
                .bind(RECEIVING)
                .bind(new.options.to_string())
                .bind(new.file_name)
                .bind(at)
                .execute(connection)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(id)
    }

    /// Stores piece `seq` of a receiving import's file.
    pub async fn append_import_chunk(
        &self,
        id: ImportId,
        seq: i64,
        chunk: ImportChunk,
    ) -> Result<(), StoreError> {
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                query(
                    "INSERT INTO import_chunks (import_id, seq, byte_offset, content)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(id.to_string())
                .bind(seq)
                .bind(chunk.byte_offset)
                .bind(chunk.content)
                .execute(&mut *connection)
                .await?;
                query("UPDATE imports SET updated_at = $2 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(at)
                    .execute(connection)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// The whole file is stored: the import becomes `running`, at its first data row.
    pub async fn open_import(
        &self,
        tenant_id: TenantId,
        id: ImportId,
        file: OpenImport,
    ) -> Result<Import, StoreError> {
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                let result = query(
                    "UPDATE imports SET status = 'running', total_bytes = $3, rows_total = $4,
                         next_offset = $5, next_line = $6, options = $7, updated_at = $8
                     WHERE tenant_id = $1 AND id = $2 AND status = 'receiving'",
                )
                .bind(tenant_id.to_string())
                .bind(id.to_string())
                .bind(file.total_bytes)
                .bind(file.rows_total)
                .bind(file.first_offset)
                .bind(file.first_line)
                .bind(file.options.to_string())
                .bind(at)
                .execute(connection)
                .await?;
                Ok(expect_changed(result.rows_affected(), "import")?)
            })
        })
        .await?;
        self.get_import(tenant_id, id).await
    }

    /// Deletes a receiving import and what it stored of its file (its upload failed).
    pub async fn discard_import(&self, id: ImportId) -> Result<(), StoreError> {
        self.write(move |connection| {
            Box::pin(async move {
                query("DELETE FROM import_chunks WHERE import_id = $1")
                    .bind(id.to_string())
                    .execute(&mut *connection)
                    .await?;
                query("DELETE FROM imports WHERE id = $1 AND status = 'receiving'")
                    .bind(id.to_string())
                    .execute(connection)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Deletes receiving imports untouched for `idle_millis` (their upload died with its
    /// node); returns how many.
    pub async fn discard_abandoned_uploads(&self, idle_millis: i64) -> Result<u64, StoreError> {
        let before = millis(now()) - idle_millis;
        self.write(move |connection| {
            Box::pin(async move {
                query(
                    "DELETE FROM import_chunks WHERE import_id IN
                         (SELECT id FROM imports WHERE status = 'receiving' AND updated_at < $1)",
                )
                .bind(before)
                .execute(&mut *connection)
                .await?;
                let deleted =
                    query("DELETE FROM imports WHERE status = 'receiving' AND updated_at < $1")
                        .bind(before)
                        .execute(connection)
                        .await?;
                Ok(deleted.rows_affected())
            })
        })
        .await
    }

    pub async fn get_import(
        &self,
        tenant_id: TenantId,
        id: ImportId,
    ) -> Result<Import, StoreError> {
        self.fetch_row(&IMPORTS, tenant_id, id.to_string()).await
    }

    /// The tenant's imports, oldest first.
    pub async fn list_imports(
        &self,
        tenant_id: TenantId,
        page: &PageRequest,
    ) -> Result<Page<Import>, StoreError> {
        self.fetch_page(&IMPORTS, tenant_id, page).await
    }

    /// Every running import of every tenant, oldest first: what a starting node resumes.
    pub async fn running_imports(&self) -> Result<Vec<(TenantId, ImportId)>, StoreError> {
        let rows = query("SELECT tenant_id, id FROM imports WHERE status = 'running' ORDER BY id")
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|row| Ok((row.parsed("tenant_id")?, row.parsed("id")?)))
            .collect()
    }

    /// A running import's checkpoint and options (`NotFound` once it is no longer running).
    pub async fn import_checkpoint(
        &self,
        tenant_id: TenantId,
        id: ImportId,
    ) -> Result<ImportCheckpoint, StoreError> {
        let row = query(format!(
            "SELECT {COLUMNS} FROM imports WHERE tenant_id = $1 AND id = $2 AND status = 'running'"
        ))
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::not_found("import"))?;
        checkpoint_from_row(&row)
    }

    /// The stored piece of the file that holds byte `offset`, or `None` past its end.
    pub async fn import_chunk_at(
        &self,
        id: ImportId,
        offset: i64,
    ) -> Result<Option<ImportChunk>, StoreError> {
        let row = query(
            "SELECT byte_offset, content FROM import_chunks
             WHERE import_id = $1 AND byte_offset <= $2
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(id.to_string())
        .bind(offset)
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let chunk = ImportChunk {
            byte_offset: row.integer("byte_offset")?,
            content: row.text("content")?,
        };
        let end = chunk.byte_offset + i64::try_from(chunk.content.len()).unwrap_or(i64::MAX);
        Ok((offset < end).then_some(chunk))
    }

    /// Fails a running import with `reason`; what its earlier batches applied stays, and its
    /// file is deleted.
    pub async fn fail_import(
        &self,
        tenant_id: TenantId,
        id: ImportId,
        reason: String,
    ) -> Result<(), StoreError> {
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                query(
                    "UPDATE imports SET status = 'failed', error = $3, updated_at = $4,
                         completed_at = $4
                     WHERE tenant_id = $1 AND id = $2 AND status = 'running'",
                )
                .bind(tenant_id.to_string())
                .bind(id.to_string())
                .bind(reason)
                .bind(at)
                .execute(&mut *connection)
                .await?;
                query("DELETE FROM import_chunks WHERE import_id = $1")
                    .bind(id.to_string())
                    .execute(connection)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// An import's row errors in line order, `limit` at a time.
    pub async fn import_errors(
        &self,
        tenant_id: TenantId,
        id: ImportId,
        page: &PageRequest,
    ) -> Result<Page<RowError>, StoreError> {
        self.get_import(tenant_id, id).await?;
        let position = page.position()?;
        let (after_line, after_column) = match position.as_deref().map(|p| p.split_once('\t')) {
            None => (-1, String::new()),
            Some(Some((line, column))) => (
                line.parse().map_err(|_| StoreError::InvalidCursor)?,
                column.to_owned(),
            ),
            Some(None) => return Err(StoreError::InvalidCursor),
        };
        let rows = query(
            "SELECT line, column_name, code, message FROM import_errors
             WHERE import_id = $1 AND (line > $2 OR (line = $2 AND column_name > $3))
             ORDER BY line, column_name LIMIT $4",
        )
        .bind(id.to_string())
        .bind(after_line)
        .bind(after_column)
        .bind(page.limit() + 1)
        .fetch_all(self.reader())
        .await?;
        let errors = rows
            .iter()
            .map(|row| {
                Ok(RowError {
                    line: row.integer("line")?,
                    column: row.text("column_name")?,
                    code: row.parsed("code")?,
                    message: row.text("message")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(page.finish(errors, |error| format!("{}\t{}", error.line, error.column)))
    }
}

/// Counts as the `imports` row holds them.
pub(crate) fn counts_from_row(row: &Row) -> Result<ImportCounts, StoreError> {
    Ok(ImportCounts {
        rows_read: row.integer("rows_read")?,
        created: row.integer("created")?,
        updated: row.integer("updated")?,
        unchanged: row.integer("unchanged")?,
        failed: row.integer("failed")?,
    })
}
