//! Running one import: from its checkpoint, read rows from the stored file, check them, and
//! apply them a batch at a time, each batch committed with the checkpoint after it. Stopped
//! anywhere (shutdown, `kill -9`), it resumes at the last committed batch: no row is applied
//! twice, none is skipped.

use std::time::Duration;

use switchboard_core::{Country, ImportId, TenantId};
use switchboard_store::{ImportBatch, StoreError};
use tokio_util::sync::CancellationToken;

use super::columns::Columns;
use super::events::{self, Progress};
use super::records::{Records, Step};
use super::{FileError, StoredOptions};
use crate::Engine;

/// Why a run stopped before the end of the file.
enum Stop {
    /// Shutdown, or another node has the import: nothing to record.
    Quietly,
    /// The store was unreachable: try again from the checkpoint.
    Retry(StoreError),
    /// The import cannot go on: it fails with this reason.
    Fail(String),
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Self {
        match error {
            // Another node moved the checkpoint, or the import ended meanwhile.
            StoreError::Conflict { .. } | StoreError::NotFound { .. } => Stop::Quietly,
            error if error.is_unavailable() => Stop::Retry(error),
            error => Stop::Fail(format!("the store refused a batch: {error}")),
        }
    }
}

impl From<FileError> for Stop {
    fn from(error: FileError) -> Self {
        Stop::Fail(error.to_string())
    }
}

/// Runs import `id` to its end (or until `shutdown`), retrying while the store is unreachable.
pub(super) async fn run(
    engine: &Engine,
    tenant_id: TenantId,
    id: ImportId,
    shutdown: &CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match run_once(engine, tenant_id, id, shutdown).await {
            Ok(()) | Err(Stop::Quietly) => return,
            Err(Stop::Retry(error)) => {
                tracing::warn!(%id, %error, "import paused: the store is unavailable");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            Err(Stop::Fail(reason)) => {
                tracing::warn!(%id, %reason, "import failed");
                if let Err(error) = engine.store.fail_import(tenant_id, id, reason).await {
                    tracing::error!(%id, %error, "could not record an import's failure");
                }
                if let Ok(import) = engine.store.get_import(tenant_id, id).await {
                    events::completed(engine, &import);
                }
                return;
            }
        }
    }
}

async fn run_once(
    engine: &Engine,
    tenant_id: TenantId,
    id: ImportId,
    shutdown: &CancellationToken,
) -> Result<(), Stop> {
    let store = &engine.store;
    let checkpoint = store.import_checkpoint(tenant_id, id).await?;
    let options: StoredOptions = serde_json::from_value(checkpoint.options.clone())
        .map_err(|error| Stop::Fail(format!("unreadable import options: {error}")))?;
    let header: Vec<&str> = options.header.iter().map(String::as_str).collect();
    let columns = Columns::from_header(&header)?;
    let country: Option<Country> = options
        .default_country
        .as_deref()
        .and_then(|code| code.parse().ok());
    let batch_rows = engine.pipeline.config.imports.batch_rows.max(1);
    let mut progress = Progress::new(&checkpoint.import);
    let mut records = Records::starting_at(checkpoint.next_offset, checkpoint.next_line);
    let mut batch = ImportBatch {
        from_offset: checkpoint.next_offset,
        campaign_id: options.campaign_id,
        ..ImportBatch::default()
    };
    // The piece of the file being read, and how far into it.
    let mut chunk = store.import_chunk_at(id, checkpoint.next_offset).await?;
    let mut at = chunk.as_ref().map_or(0, |chunk| {
        (checkpoint.next_offset - chunk.byte_offset) as usize
    });
    loop {
        let input = chunk
            .as_ref()
            .map_or(&[][..], |chunk| &chunk.content.as_bytes()[at..]);
        let (step, used) = records.read(input)?;
        at += used;
        match step {
            Step::Record => {
                let fields = records.fields();
                match columns.row(records.record_line(), &fields, country) {
                    Ok(row) => batch.rows.push(row),
                    Err(errors) => {
                        batch.errors.extend(errors);
                        batch.rows_refused += 1;
                    }
                }
                batch.rows_read += 1;
                if batch.rows_read as usize >= batch_rows {
                    if shutdown.is_cancelled() {
                        return Err(Stop::Quietly);
                    }
                    let (offset, line) = records.position();
                    let full = std::mem::take(&mut batch);
                    commit(
                        engine,
                        tenant_id,
                        id,
                        full,
                        (offset, line, false),
                        &mut progress,
                    )
                    .await?;
                    batch.from_offset = offset;
                    batch.campaign_id = options.campaign_id;
                }
            }
            Step::NeedInput => {
                let Some(current) = &chunk else { continue };
                let end = current.byte_offset + current.content.len() as i64;
                chunk = store.import_chunk_at(id, end).await?;
                at = 0;
            }
            Step::End => {
                let (offset, line) = records.position();
                commit(
                    engine,
                    tenant_id,
                    id,
                    batch,
                    (offset, line, true),
                    &mut progress,
                )
                .await?;
                let import = store.get_import(tenant_id, id).await?;
                events::completed(engine, &import);
                return Ok(());
            }
        }
    }
}

/// Applies `batch`, ending at `(offset, line, last)`, and reports progress.
async fn commit(
    engine: &Engine,
    tenant_id: TenantId,
    id: ImportId,
    mut batch: ImportBatch,
    (offset, line, last): (i64, i64, bool),
    progress: &mut Progress,
) -> Result<(), Stop> {
    batch.next_offset = offset;
    batch.next_line = line;
    batch.last = last;
    let counts = engine
        .store
        .apply_import_batch(tenant_id, id, batch)
        .await?;
    progress.batch_done(engine, &counts);
    Ok(())
}
