//! Outbound calls: the `calls` table (one number to reach, alone or as a campaign's recipient),
//! `call_attempts` (each dial), `campaigns` and the tenant's `do_not_call` list.
//!
//! A call is `queued` until its `due_at`, `dialing` from the moment its attempt is recorded (the
//! attempt's id is the dial's idempotency key, so the row exists before the provider hears of
//! it), `ringing` and `in-progress` as callbacks say, and `ended` with an outcome. Attempts move
//! forward only (`status_rank`); closing one records its outcome, its debit and the call's next
//! step (a retry's due time, or the end) in one transaction (`attempts.rs`). What the dialer
//! reads is `dialing.rs`; campaigns and their counts `campaigns.rs`.

mod analytics;
mod attempts;
mod campaigns;
mod dialing;
mod report;
mod update;

pub use analytics::{CallAnalyticsFilter, CallTotals};
pub use attempts::{
    AttemptCaps, AttemptChange, AttemptUpdate, Begin, BegunAttempt, CallPricing, OpenAttempt,
};
pub use campaigns::{CampaignRecipient, NewCampaign};
pub use dialing::DueCall;

use switchboard_core::{
    AgentId, Call, CallAttempt, CallId, CallStatus, CampaignId, ChannelId, ContactId, Page,
    RetryPolicy, TenantId, Timestamp,
};
use switchboard_database::{Db, Row, RowExt, millis, now, query};

use crate::table::Table;
use crate::{PageRequest, Store, StoreError};

const COLUMNS: &str = "id, tenant_id, channel_id, campaign_id, contact_id, conversation_id,
    agent_id, to_number, timezone, status, outcome, due_at, variables, attempts, created_at,
    updated_at";

const ATTEMPT_COLUMNS: &str = "id, call_id, number, provider_call_id, status, outcome,
    answered_by, started_at, answered_at, ended_at, duration_seconds, credits";

/// A call to place.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub channel_id: ChannelId,
    pub contact_id: ContactId,
    pub agent_id: Option<AgentId>,
    /// E.164.
    pub to: String,
    /// The recipient's IANA zone (for calling windows).
    pub timezone: String,
    pub due_at: Timestamp,
    pub variables: serde_json::Value,
    /// Its own retries by outcome; `None` for the default (a campaign's calls follow the
    /// campaign's).
    pub retry: Option<RetryPolicy>,
}

/// Which calls a list shows.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub campaign_id: Option<CampaignId>,
    pub status: Option<CallStatus>,
}

/// A call row without its attempts.
fn call_from_row(row: &Row) -> Result<Call, StoreError> {
    Ok(Call {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        channel_id: row.parsed("channel_id")?,
        campaign_id: row.optional_parsed("campaign_id")?,
        contact_id: row.parsed("contact_id")?,
        conversation_id: row.optional_parsed("conversation_id")?,
        agent_id: row.optional_parsed("agent_id")?,
        to: row.text("to_number")?,
        status: row.parsed("status")?,
        outcome: row.optional_parsed("outcome")?,
        due_at: row.optional_time("due_at")?,
        variables: row.json("variables")?,
        attempts: Vec::new(),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

fn attempt_from_row(row: &Row) -> Result<CallAttempt, StoreError> {
    Ok(CallAttempt {
        id: row.parsed("id")?,
        number: row.integer("number")?,
        provider_call_id: row.optional_text("provider_call_id")?,
        status: row.parsed("status")?,
        outcome: row.optional_parsed("outcome")?,
        answered_by: row.optional_text("answered_by")?,
        started_at: row.time("started_at")?,
        answered_at: row.optional_time("answered_at")?,
        ended_at: row.optional_time("ended_at")?,
        duration_seconds: row.optional_integer("duration_seconds")?,
        credits: row.integer("credits")?,
    })
}

const CALLS: Table<Call> = Table {
    name: "calls",
    entity: "call",
    columns: COLUMNS,
    live: "1 = 1",
    decode: call_from_row,
    id: |call| call.id.to_string(),
};

/// Inserts one `queued` call inside the caller's transaction; a contact already among the
/// campaign's calls is left as it is.
pub(crate) async fn insert_call(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    campaign_id: Option<CampaignId>,
    new: NewCall,
) -> Result<CallId, StoreError> {
    let id = CallId::new();
    let at = millis(now());
    query(
        "INSERT INTO calls (id, tenant_id, channel_id, campaign_id, contact_id, agent_id,
             to_number, timezone, status, due_at, variables, retry, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, $10, $11, $12, $12)
         ON CONFLICT DO NOTHING",
    )
    .bind(id.to_string())
    .bind(tenant_id.to_string())
    .bind(new.channel_id.to_string())
    .bind(campaign_id.map(|id| id.to_string()))
    .bind(new.contact_id.to_string())
    .bind(new.agent_id.map(|id| id.to_string()))
    .bind(new.to)
    .bind(new.timezone)
    .bind(millis(new.due_at))
    .bind(new.variables.to_string())
    .bind(
        new.retry
            .map(|retry| serde_json::to_string(&retry).unwrap_or_default()),
    )
    .bind(at)
    .execute(connection)
    .await?;
    Ok(id)
}

impl Store {
    /// Places one call (not part of a campaign).
    pub async fn create_call(&self, tenant_id: TenantId, new: NewCall) -> Result<Call, StoreError> {
        let id = self
            .write(move |connection| {
                Box::pin(async move { insert_call(connection, tenant_id, None, new).await })
            })
            .await?;
        self.get_call(tenant_id, id).await
    }

    /// One call with every attempt, first attempt first.
    pub async fn get_call(&self, tenant_id: TenantId, id: CallId) -> Result<Call, StoreError> {
        let mut call = self.fetch_row(&CALLS, tenant_id, id.to_string()).await?;
        let rows = query(format!(
            "SELECT {ATTEMPT_COLUMNS} FROM call_attempts WHERE call_id = $1 ORDER BY number"
        ))
        .bind(id.to_string())
        .fetch_all(self.reader())
        .await?;
        call.attempts = rows
            .iter()
            .map(attempt_from_row)
            .collect::<Result<_, _>>()?;
        Ok(call)
    }

    /// The tenant's calls, oldest first, each with its attempts.
    pub async fn list_calls(
        &self,
        tenant_id: TenantId,
        filter: &CallFilter,
        page: &PageRequest,
    ) -> Result<Page<Call>, StoreError> {
        let after = page.position()?.unwrap_or_default();
        let rows = query(format!(
            "SELECT {COLUMNS} FROM calls
             WHERE tenant_id = $1 AND id > $2
               AND ($3 = '' OR campaign_id = $3) AND ($4 = '' OR status = $4)
             ORDER BY id LIMIT $5"
        ))
        .bind(tenant_id.to_string())
        .bind(after)
        .bind(
            filter
                .campaign_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
        )
        .bind(filter.status.map(|s| s.as_str()).unwrap_or_default())
        .bind(page.limit() + 1)
        .fetch_all(self.reader())
        .await?;
        let mut calls = rows
            .iter()
            .map(call_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<String> = calls.iter().map(|call| call.id.to_string()).collect();
        if !ids.is_empty() {
            let ids = crate::table::IdList::new(&ids);
            let rows = ids
                .bind(query(format!(
                    "SELECT {ATTEMPT_COLUMNS} FROM call_attempts WHERE call_id IN ({})
                     ORDER BY call_id, number",
                    ids.placeholders(1)
                )))
                .fetch_all(self.reader())
                .await?;
            // The padded id list names its last call more than once; the statement reads each
            // attempt once all the same, since `IN` matches a row once.
            let mut attempts: std::collections::HashMap<CallId, Vec<CallAttempt>> =
                std::collections::HashMap::new();
            for row in &rows {
                let call_id: CallId = row.parsed("call_id")?;
                attempts
                    .entry(call_id)
                    .or_default()
                    .push(attempt_from_row(row)?);
            }
            for call in &mut calls {
                call.attempts = attempts.remove(&call.id).unwrap_or_default();
            }
        }
        Ok(page.finish(calls, |call| call.id.to_string()))
    }

    /// The tenant's contact with this E.164 phone (the oldest, if several), if any.
    pub async fn contact_id_by_phone(
        &self,
        tenant_id: TenantId,
        phone: &str,
    ) -> Result<Option<ContactId>, StoreError> {
        let id: Option<String> = query(
            "SELECT id FROM contacts WHERE tenant_id = $1 AND phone = $2 ORDER BY id LIMIT 1",
        )
        .bind(tenant_id.to_string())
        .bind(phone)
        .fetch_optional_scalar(self.reader())
        .await?;
        id.map(|id| {
            id.parse().map_err(|_| StoreError::Corrupt {
                column: "id",
                reason: "not a uuid".into(),
            })
        })
        .transpose()
    }

    /// Adds `phone` to the tenant's do-not-call list (again is harmless).
    pub async fn add_do_not_call(
        &self,
        tenant_id: TenantId,
        phone: String,
    ) -> Result<(), StoreError> {
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                query(
                    "INSERT INTO do_not_call (tenant_id, phone, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (tenant_id, phone) DO NOTHING",
                )
                .bind(tenant_id.to_string())
                .bind(phone)
                .bind(at)
                .execute(connection)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Takes `phone` off the list; `NotFound` when it was not on it.
    pub async fn remove_do_not_call(
        &self,
        tenant_id: TenantId,
        phone: String,
    ) -> Result<(), StoreError> {
        self.write(move |connection| {
            Box::pin(async move {
                let result = query("DELETE FROM do_not_call WHERE tenant_id = $1 AND phone = $2")
                    .bind(tenant_id.to_string())
                    .bind(phone)
                    .execute(connection)
                    .await?;
                Ok(switchboard_database::expect_changed(
                    result.rows_affected(),
                    "do-not-call number",
                )?)
            })
        })
        .await
    }

    /// The tenant's do-not-call numbers, in order.
    pub async fn list_do_not_call(
        &self,
        tenant_id: TenantId,
        page: &PageRequest,
    ) -> Result<Page<String>, StoreError> {
        let after = page.position()?.unwrap_or_default();
        let rows = query(
            "SELECT phone FROM do_not_call WHERE tenant_id = $1 AND phone > $2
             ORDER BY phone LIMIT $3",
        )
        .bind(tenant_id.to_string())
        .bind(after)
        .bind(page.limit() + 1)
        .fetch_all(self.reader())
        .await?;
        let phones = rows
            .iter()
            .map(|row| row.text("phone"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page.finish(phones, Clone::clone))
    }
}
