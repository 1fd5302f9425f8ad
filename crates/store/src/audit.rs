//! The audit log (`audit_events`, migration 16): changes appended one row each, read newest
//! first with filters, one tenant's or (for platform admins) every tenant's.

use switchboard_core::{
    AuditAction, AuditEvent, AuditResource, Origin, Page, TenantId, Timestamp, UserId,
};
use switchboard_database::{Row, RowExt, millis, query};

use crate::{PageRequest, Store, StoreError};

const COLUMNS: &str = "id, tenant_id, actor_user_id, actor_api_key_id, actor_role, action, \
                       resource, resource_id, details, ip, user_agent, request_id, created_at";

/// Which events to read; every field left `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this tenant's; `None`: every tenant's.
    pub tenant_id: Option<TenantId>,
    pub actor_user_id: Option<UserId>,
    pub action: Option<AuditAction>,
    pub resource: Option<AuditResource>,
    pub resource_id: Option<String>,
    /// At or after this instant.
    pub from: Option<Timestamp>,
    /// Before this instant.
    pub to: Option<Timestamp>,
}

fn audit_event_from_row(row: &Row) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        actor_user_id: row.parsed("actor_user_id")?,
        actor_api_key_id: row.optional_parsed("actor_api_key_id")?,
        actor_role: row.parsed("actor_role")?,
        action: row.parsed("action")?,
        resource: row.parsed("resource")?,
        resource_id: row.optional_text("resource_id")?,
        details: row.json("details")?,
        origin: Origin {
            ip: row.optional_text("ip")?,
            user_agent: row.optional_text("user_agent")?,
            request_id: row.optional_text("request_id")?,
        },
        created_at: row.time("created_at")?,
    })
}

impl Store {
    /// Appends one event to the log.
    pub async fn record_audit(&self, event: AuditEvent) -> Result<(), StoreError> {
        self.write(move |connection| {
            Box::pin(async move {
                query(format!(
                    "INSERT INTO audit_events ({COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                ))
                .bind(event.id.to_string())
                .bind(event.tenant_id.to_string())
                .bind(event.actor_user_id.to_string())
                .bind(event.actor_api_key_id.map(|id| id.to_string()))
                .bind(event.actor_role.as_str())
                .bind(event.action.as_str())
                .bind(event.resource.as_str())
                .bind(event.resource_id)
                .bind(event.details.to_string())
                .bind(event.origin.ip)
                .bind(event.origin.user_agent)
                .bind(event.origin.request_id)
                .bind(millis(event.created_at))
                .execute(connection)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// A page of the events `filter` matches, newest first.
    pub async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let mut conditions = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        let mut condition = |clause: &str, value: Value| {
            values.push(value);
            conditions.push(clause.replace('?', &format!("${}", values.len())));
        };
        if let Some(tenant_id) = filter.tenant_id {
            condition("tenant_id = ?", Value::Text(tenant_id.to_string()));
        }
        if let Some(actor) = filter.actor_user_id {
            condition("actor_user_id = ?", Value::Text(actor.to_string()));
        }
        if let Some(action) = filter.action {
            condition("action = ?", Value::Text(action.as_str().to_owned()));
        }
        if let Some(resource) = filter.resource {
            condition("resource = ?", Value::Text(resource.as_str().to_owned()));
        }
        if let Some(resource_id) = &filter.resource_id {
            condition("resource_id = ?", Value::Text(resource_id.clone()));
        }
        if let Some(from) = filter.from {
            condition("created_at >= ?", Value::Integer(millis(from)));
        }
        if let Some(to) = filter.to {
            condition("created_at < ?", Value::Integer(millis(to)));
        }
        if let Some(before) = page.position()? {
            condition("id < ?", Value::Text(before));
        }
        let mut statement = format!("SELECT {COLUMNS} FROM audit_events");
        if !conditions.is_empty() {
            statement.push_str(" WHERE ");
            statement.push_str(&conditions.join(" AND "));
        }
        statement.push_str(&format!(" ORDER BY id DESC LIMIT ${}", values.len() + 1));
        let mut statement = query(statement);
        for value in values {
            statement = match value {
                Value::Text(text) => statement.bind(text),
                Value::Integer(number) => statement.bind(number),
            };
        }
        let rows = statement
            .bind(page.limit() + 1)
            .fetch_all(self.reader())
            .await?;
        let events = rows
            .iter()
            .map(audit_event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page.finish(events, |event| event.id.to_string()))
    }
}

/// A filter's value, bound in order.
enum Value {
    Text(String),
    Integer(i64),
}
