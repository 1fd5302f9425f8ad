//! What an import tells the tenant's stream: `import_progress` (at most a few a second) while
//! it runs, and `import_completed` when it ends, completed or failed.

use std::time::{Duration, Instant};

use switchboard_core::{Import, ImportCounts, ImportId, ImportStatus, TenantId};

use crate::Engine;

/// The least time between two progress events of one import.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// Progress events of one import, throttled.
pub(super) struct Progress {
    tenant_id: TenantId,
    id: ImportId,
    rows_total: i64,
    last: Option<Instant>,
}

impl Progress {
    pub(super) fn new(import: &Import) -> Self {
        Self {
            tenant_id: import.tenant_id,
            id: import.id,
            rows_total: import.rows_total,
            last: None,
        }
    }

    /// Publishes `import_progress` unless one left less than the interval ago.
    pub(super) fn batch_done(&mut self, engine: &Engine, counts: &ImportCounts) {
        if self
            .last
            .is_some_and(|last| last.elapsed() < PROGRESS_INTERVAL)
        {
            return;
        }
        self.last = Some(Instant::now());
        let progress = if self.rows_total > 0 {
            (counts.rows_read as f64 / self.rows_total as f64).min(1.0)
        } else {
            1.0
        };
        let event = serde_json::json!({
            "type": "import_progress",
            "importId": self.id,
            "rowsTotal": self.rows_total,
            "rowsRead": counts.rows_read,
            "created": counts.created,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "failed": counts.failed,
            "progress": progress,
        });
        publish(engine, self.tenant_id, self.id, counts.rows_read, &event);
    }
}

/// Publishes `import_completed` with the import as it ended.
pub(super) fn completed(engine: &Engine, import: &Import) {
    let mut event = serde_json::to_value(import).unwrap_or_default();
    event["type"] = "import_completed".into();
    event["importId"] = import.id.to_string().into();
    debug_assert!(import.status != ImportStatus::Running);
    publish(
        engine,
        import.tenant_id,
        import.id,
        import.rows_read,
        &event,
    );
}

/// Puts `event` on the tenant's stream; its source is `import:<id>`, its offset the rows read
/// so far.
fn publish(
    engine: &Engine,
    tenant_id: TenantId,
    id: ImportId,
    offset: i64,
    event: &serde_json::Value,
) {
    let offset = u64::try_from(offset).unwrap_or_default();
    engine.publish_to_tenant(tenant_id, &format!("import:{id}"), offset, event, None);
}
