//! A call's report: its transcript turns appended to the call's conversation as messages (each
//! under the provider id `<call id>:turn:<n>`, so a report posted again adds nothing), and its
//! summary and outcome fields kept on the call, in one transaction.

use switchboard_core::{CallId, MessageId, TenantId};
use switchboard_database::{RowExt, millis, now, query};

use crate::conversation_events::StreamEvent;
use crate::messages::NewMessage;
use crate::pipeline::append::append;
use crate::{Store, StoreError};

impl Store {
    /// Stores a report's turns and what it concluded; returns the events of the turns that are
    /// new.
    pub async fn record_call_report(
        &self,
        tenant_id: TenantId,
        call_id: CallId,
        turns: Vec<NewMessage>,
        summary: Option<String>,
        analysis: serde_json::Value,
    ) -> Result<Vec<StreamEvent>, StoreError> {
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                let changed = query(
                    "UPDATE calls SET summary = COALESCE($3, summary), analysis = $4,
                         updated_at = $5
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant_id.to_string())
                .bind(call_id.to_string())
                .bind(summary)
                .bind(analysis.to_string())
                .bind(at)
                .execute(&mut *connection)
                .await?;
                switchboard_database::expect_changed(changed.rows_affected(), "call")?;
                let mut events = Vec::new();
                for turn in turns {
                    let appended = append(connection, tenant_id, MessageId::new(), turn).await?;
                    events.extend(appended.event);
                }
                Ok(events)
            })
        })
        .await
    }

    /// The tenant's call one of whose attempts the provider knows as `provider_call_id`.
    pub async fn call_by_provider_id(
        &self,
        tenant_id: TenantId,
        provider_call_id: &str,
    ) -> Result<Option<CallId>, StoreError> {
        let row = query(
            "SELECT call_id FROM call_attempts WHERE tenant_id = $1 AND provider_call_id = $2",
        )
        .bind(tenant_id.to_string())
        .bind(provider_call_id)
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| Ok(row.parsed("call_id")?)).transpose()
    }
}
