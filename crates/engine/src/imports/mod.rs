//! Bulk imports of contacts from CSV: the upload (`upload`: stored whole, and checked as a
//! file, before the caller hears 202), the background run (`runner`: batches of rows, each
//! committed with the import's checkpoint, resumed after a restart), the header and row rules
//! (`columns`), the CSV reader that keeps its place (`records`), and the events on the
//! tenant's stream (`events`); `fuzzing` reads a file as both do, for the fuzz target.
//!
//! A problem with one row is that row's error and the import goes on; a problem with the file
//! (not UTF-8, no header, no phone column, too large, not CSV at all) refuses the upload before
//! any row is applied, so nothing of a bad file is half-written.

mod columns;
mod events;
pub mod fuzzing;
mod records;
mod runner;
mod upload;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use futures::Stream;
use switchboard_core::{Caller, Country, Import, ImportId, ImportKind, Page, Permission, RowError};
use tokio_util::sync::CancellationToken;

use crate::{Engine, EngineError, PageRequest, require};

/// How imports behave.
#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// The largest file accepted, in bytes of CSV (after gzip); larger uploads get 413.
    pub max_bytes: u64,
    /// Rows applied per transaction (each with the checkpoint).
    pub batch_rows: usize,
    /// Imports run at once on this node; more wait their turn.
    pub concurrency: usize,
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self {
            max_bytes: 100 * 1024 * 1024,
            batch_rows: 1000,
            concurrency: 4,
        }
    }
}

/// What an upload says about itself.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// `contacts` (the only kind so far).
    pub kind: String,
    /// The country of national numbers (ISO 3166 alpha-2).
    pub default_country: Option<String>,
    pub file_name: Option<String>,
    /// With `calls`: the campaign (draft or paused) each row's contact is added to.
    pub campaign_id: Option<switchboard_core::CampaignId>,
    /// The body is gzipped (`Content-Encoding: gzip`); a gzipped body is also recognised by
    /// its first bytes.
    pub gzip: bool,
}

/// Why a file was refused (before any of it was applied) or an import failed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is larger than the {limit}-byte limit (imports.max_bytes)")]
    TooLarge { limit: u64 },
    #[error("the file is not UTF-8 text (line {line}); save it as CSV UTF-8")]
    NotUtf8 { line: i64 },
    #[error("not a CSV file: {reason}")]
    NotCsv { reason: &'static str },
    #[error("the file is empty: a header row is required")]
    NoHeader,
    #[error("the header has no phone column (phone, number or phone number); it has: {header}")]
    NoPhoneColumn { header: String },
    #[error("the gzip data is corrupt or cut short")]
    BadGzip(#[source] std::io::Error),
    #[error("line {line}: a row longer than 1 MB")]
    RecordTooLong { line: i64 },
    #[error("line {line}: more than 1000 fields")]
    TooManyFields { line: i64 },
    #[error("the upload was cut short")]
    Upload(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Options stored with an import, read again when it resumes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredOptions {
    default_country: Option<String>,
    /// The header's cells.
    header: Vec<String>,
    /// A `calls` import's campaign.
    #[serde(default)]
    campaign_id: Option<switchboard_core::CampaignId>,
}

/// The imports this node runs.
#[derive(Default)]
pub(crate) struct Imports {
    /// Set when imports start (`start_imports`); until then new imports wait in the store.
    shutdown: OnceLock<CancellationToken>,
    running: Mutex<HashSet<ImportId>>,
    /// Woken when the last running import ends.
    idle: tokio::sync::Notify,
    permits: OnceLock<Arc<tokio::sync::Semaphore>>,
}

fn parse_kind(kind: &str) -> Result<ImportKind, EngineError> {
    match kind {
        "contacts" => Ok(ImportKind::Contacts),
        "calls" => Ok(ImportKind::Calls),
        other => Err(EngineError::BadRequest(format!(
            "kind: unknown kind {:?}; supported kinds: contacts, calls",
            other.chars().take(40).collect::<String>()
        ))),
    }
}

fn parse_country(country: Option<&str>) -> Result<Option<Country>, EngineError> {
    country
        .map(|code| {
            code.parse()
                .map_err(|error: switchboard_core::UnknownCountry| {
                    EngineError::Invalid(switchboard_core::ValidationError::new(
                        "defaultCountry",
                        error.to_string(),
                    ))
                })
        })
        .transpose()
}

impl Engine {
    /// Receives a CSV file, stores it, and queues its rows; answers once the file is stored
    /// (the import then runs in the background). A file that cannot be imported is refused
    /// here and nothing of it is kept.
    pub async fn start_import<S, E>(
        &self,
        caller: &Caller,
        request: ImportRequest,
        body: S,
    ) -> Result<Import, EngineError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::error::Error + Send + Sync + 'static,
    {
        require(caller, Permission::Converse)?;
        let kind = parse_kind(&request.kind)?;
        parse_country(request.default_country.as_deref())?;
        self.check_import_campaign(caller, kind, request.campaign_id)
            .await?;
        let import = upload::receive(self, caller.tenant_id, kind, request, body).await?;
        self.launch_import(import.tenant_id, import.id);
        Ok(import)
    }

    pub async fn get_import(&self, caller: &Caller, id: ImportId) -> Result<Import, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.get_import(caller.tenant_id, id).await?)
    }

    pub async fn list_imports(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<Import>, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.list_imports(caller.tenant_id, page).await?)
    }

    /// An import's row errors in line order.
    pub async fn import_errors(
        &self,
        caller: &Caller,
        id: ImportId,
        page: &PageRequest,
    ) -> Result<Page<RowError>, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.import_errors(caller.tenant_id, id, page).await?)
    }

    /// Starts running imports: those left running by an earlier start first, then each new
    /// one as it is uploaded. They stop at their next batch when `shutdown` fires. Called by
    /// `start_pipeline`; the command line's in-process import calls it alone.
    pub async fn start_imports(&self, shutdown: CancellationToken) -> Result<(), EngineError> {
        let imports = &self.pipeline.imports;
        let concurrency = self.pipeline.config.imports.concurrency.max(1);
        let _ = imports
            .permits
            .set(Arc::new(tokio::sync::Semaphore::new(concurrency)));
        if imports.shutdown.set(shutdown).is_err() {
            return Err(EngineError::Conflict("imports are already running".into()));
        }
        // An upload that never finished is an hour old: its node died with it.
        let abandoned = self.store.discard_abandoned_uploads(3_600_000).await?;
        if abandoned > 0 {
            tracing::info!(abandoned, "deleted abandoned import uploads");
        }
        for (tenant_id, id) in self.store.running_imports().await? {
            tracing::info!(%id, "resuming import");
            self.launch_import(tenant_id, id);
        }
        Ok(())
    }

    /// Runs import `id` in the background, unless it already runs here or imports have not
    /// started (it waits in the store for the next start).
    fn launch_import(&self, tenant_id: switchboard_core::TenantId, id: ImportId) {
        let imports = &self.pipeline.imports;
        let (Some(shutdown), Some(permits)) = (imports.shutdown.get(), imports.permits.get())
        else {
            return;
        };
        let fresh = imports
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id);
        if !fresh {
            return;
        }
        let (engine, shutdown, permits) = (self.clone(), shutdown.clone(), permits.clone());
        tokio::spawn(async move {
            if let Ok(_permit) = permits.acquire_owned().await {
                runner::run(&engine, tenant_id, id, &shutdown).await;
            }
            let imports = &engine.pipeline.imports;
            let mut running = imports
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            running.remove(&id);
            if running.is_empty() {
                imports.idle.notify_waiters();
            }
        });
    }

    /// Waits until no import runs on this node (tests and the command line).
    pub async fn wait_imports(&self) {
        let imports = &self.pipeline.imports;
        loop {
            let notified = imports.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let idle = imports
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_empty();
            if idle {
                return;
            }
            notified.await;
        }
    }
}
