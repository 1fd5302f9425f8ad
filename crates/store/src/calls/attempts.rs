//! Attempts: recording a dial before the provider hears of it (under the caps, while its
//! campaign runs), the attempts the provider went quiet on and the claim one node takes on
//! each, and the entry point for what the provider says of an attempt (applied in `update.rs`).

use switchboard_core::{
    AttemptStatus, CallAttempt, CallAttemptId, CallId, CallOutcome, CallStatus, CampaignId,
    ChannelId, ConversationId, ConversationType, TenantId, Timestamp,
};
use switchboard_database::{RowExt, millis, now, query};

use crate::conversations::{NewConversation, insert_conversation};
use crate::{Store, StoreError};

/// The caps a new attempt must fit under: calls on the line for its campaign (the campaign and
/// its `maxConcurrentCalls`) and for its tenant.
#[derive(Debug, Clone, Copy)]
pub struct AttemptCaps {
    pub campaign: Option<(CampaignId, i64)>,
    pub tenant: i64,
}

/// What `begin_attempt` did.
#[derive(Debug, Clone)]
pub enum Begin {
    Begun(BegunAttempt),
    /// The call is no longer queued (cancelled, or another node took it).
    NotQueued,
    /// Its campaign stopped running (paused or cancelled) since the call was read.
    NotRunning,
    /// The tenant's cap is reached: the call stays queued.
    TenantFull,
    /// The campaign's cap is reached: the call stays queued.
    CampaignFull,
}

/// An attempt just recorded: what the dial needs.
#[derive(Debug, Clone)]
pub struct BegunAttempt {
    pub attempt_id: CallAttemptId,
    pub number: i64,
    pub conversation_id: ConversationId,
}

/// What the provider said of an attempt, found by our id (from the callback's URL) or by the
/// provider's call id.
#[derive(Debug, Clone)]
pub struct AttemptUpdate {
    pub attempt_id: Option<CallAttemptId>,
    pub provider_call_id: Option<String>,
    pub status: AttemptStatus,
    pub duration_seconds: Option<i64>,
    pub answered_by: Option<String>,
}

/// What a connected minute costs.
#[derive(Debug, Clone, Copy)]
pub struct CallPricing {
    pub credits_per_minute: i64,
}

/// What an update changed.
#[derive(Debug, Clone)]
pub struct AttemptChange {
    pub tenant_id: TenantId,
    pub call_id: CallId,
    pub campaign_id: Option<CampaignId>,
    pub conversation_id: Option<ConversationId>,
    pub attempt: CallAttempt,
    /// Whether the status moved (a repeated or late callback moves nothing).
    pub moved: bool,
    /// The call after it.
    pub call_status: CallStatus,
    pub call_outcome: Option<CallOutcome>,
    /// When a retry is due, if the attempt closed and the call goes on.
    pub retry_at: Option<Timestamp>,
    /// Whether the call's campaign has just completed with this.
    pub campaign_completed: bool,
}

/// An attempt the provider has not closed, last heard of some time ago.
#[derive(Debug, Clone)]
pub struct OpenAttempt {
    pub tenant_id: TenantId,
    pub call_id: CallId,
    pub channel_id: ChannelId,
    pub attempt_id: CallAttemptId,
    pub provider_call_id: Option<String>,
    pub status: AttemptStatus,
    pub to: String,
    pub started_at: Timestamp,
}

impl Store {
    /// Records the next attempt of a queued call and moves the call to `dialing`, opening its
    /// conversation at the first one, if `caps` allow one more call on the line. The caps are
    /// counted inside the transaction (on PostgreSQL under a lock per tenant), so nodes dialling
    /// at once never exceed them.
    pub async fn begin_attempt(
        &self,
        call_id: CallId,
        caps: AttemptCaps,
    ) -> Result<Begin, StoreError> {
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                let queued = query(
                    "SELECT tenant_id, campaign_id FROM calls WHERE id = $1 AND status = 'queued'",
                )
                .bind(call_id.to_string())
                .fetch_optional(&mut *connection)
                .await?;
                let Some(queued) = queued else {
                    return Ok(Begin::NotQueued);
                };
                let tenant = queued.text("tenant_id")?;
                if let Some(campaign_id) = queued.optional_text("campaign_id")? {
                    // Read under a share lock on PostgreSQL: a pause or cancel committing now
                    // waits for this attempt, or this attempt sees it.
                    let lock = if connection.is_postgres() {
                        " FOR SHARE"
                    } else {
                        ""
                    };
                    let status: Option<String> =
                        query(format!("SELECT status FROM campaigns WHERE id = $1{lock}"))
                            .bind(campaign_id)
                            .fetch_optional_scalar(&mut *connection)
                            .await?;
                    if status.as_deref() != Some("running") {
                        return Ok(Begin::NotRunning);
                    }
                }
                if connection.is_postgres() {
                    query("SELECT 1 FROM pg_advisory_xact_lock(hashtext($1))")
                        .bind(format!("calls:{tenant}"))
                        .execute(&mut *connection)
                        .await?;
                }
                let on_line: i64 = query(
                    "SELECT COUNT(*) FROM calls WHERE tenant_id = $1
                         AND status IN ('dialing', 'ringing', 'in-progress')",
                )
                .bind(&tenant)
                .fetch_scalar(&mut *connection)
                .await?;
                if on_line >= caps.tenant {
                    return Ok(Begin::TenantFull);
                }
                if let Some((campaign_id, cap)) = caps.campaign {
                    let on_line: i64 = query(
                        "SELECT COUNT(*) FROM calls WHERE campaign_id = $1
                             AND status IN ('dialing', 'ringing', 'in-progress')",
                    )
                    .bind(campaign_id.to_string())
                    .fetch_scalar(&mut *connection)
                    .await?;
                    if on_line >= cap {
                        return Ok(Begin::CampaignFull);
                    }
                }
                let Some(row) = query(
                    "UPDATE calls SET status = 'dialing', attempts = attempts + 1, due_at = NULL,
                         updated_at = $2
                     WHERE id = $1 AND status = 'queued'
                     RETURNING tenant_id, channel_id, contact_id, agent_id, conversation_id,
                         attempts",
                )
                .bind(call_id.to_string())
                .bind(at)
                .fetch_optional(&mut *connection)
                .await?
                else {
                    return Ok(Begin::NotQueued);
                };
                let tenant_id: TenantId = row.parsed("tenant_id")?;
                let number = row.integer("attempts")?;
                let conversation_id = match row.optional_parsed("conversation_id")? {
                    Some(id) => id,
                    None => {
                        let id = ConversationId::new();
                        let new = NewConversation {
                            channel_id: row.parsed("channel_id")?,
                            contact_id: Some(row.parsed("contact_id")?),
                            conversation_type: ConversationType::Call,
                            business_id: None,
                            agent_id: row.optional_parsed("agent_id")?,
                        };
                        insert_conversation(connection, tenant_id, id, new).await?;
                        query("UPDATE calls SET conversation_id = $2 WHERE id = $1")
                            .bind(call_id.to_string())
                            .bind(id.to_string())
                            .execute(&mut *connection)
                            .await?;
                        id
                    }
                };
                let attempt_id = CallAttemptId::new();
                query(
                    "INSERT INTO call_attempts (id, call_id, tenant_id, number, status,
                         status_rank, started_at, heard_at)
                     VALUES ($1, $2, $3, $4, 'dialing', 0, $5, $5)",
                )
                .bind(attempt_id.to_string())
                .bind(call_id.to_string())
                .bind(tenant_id.to_string())
                .bind(number)
                .bind(at)
                .execute(connection)
                .await?;
                Ok(Begin::Begun(BegunAttempt {
                    attempt_id,
                    number,
                    conversation_id,
                }))
            })
        })
        .await
    }

    /// Applies what the provider said of an attempt: its call id if new, the status if it
    /// moves forward, and, when it is final, the outcome, debit and the call's next step.
    pub async fn update_attempt(
        &self,
        update: AttemptUpdate,
        pricing: CallPricing,
    ) -> Result<AttemptChange, StoreError> {
        self.write(move |connection| {
            Box::pin(super::update::update_attempt(connection, update, pricing))
        })
        .await
    }

    /// Takes an open attempt not heard of since `heard_before` for reconciliation: marks it heard
    /// of now, and answers whether this caller did (another node may have taken it first).
    pub async fn claim_quiet_attempt(
        &self,
        attempt_id: CallAttemptId,
        heard_before: Timestamp,
    ) -> Result<bool, StoreError> {
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                let result = query(
                    "UPDATE call_attempts SET heard_at = $3
                     WHERE id = $1 AND heard_at < $2 AND status_rank < 5",
                )
                .bind(attempt_id.to_string())
                .bind(millis(heard_before))
                .bind(at)
                .execute(connection)
                .await?;
                Ok(result.rows_affected() > 0)
            })
        })
        .await
    }

    /// Open attempts not heard of since `heard_before`, oldest first: what the reconciler asks
    /// the provider about (or dials again under the same key, when the dial never answered).
    pub async fn open_attempts(
        &self,
        heard_before: Timestamp,
        limit: i64,
    ) -> Result<Vec<OpenAttempt>, StoreError> {
        let rows = query(
            "SELECT a.id, a.call_id, a.tenant_id, a.provider_call_id, a.status, a.started_at,
                 c.channel_id, c.to_number
             FROM call_attempts a JOIN calls c ON c.id = a.call_id
             WHERE a.status_rank < 5 AND a.heard_at < $1
             ORDER BY a.heard_at LIMIT $2",
        )
        .bind(millis(heard_before))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OpenAttempt {
                    tenant_id: row.parsed("tenant_id")?,
                    call_id: row.parsed("call_id")?,
                    channel_id: row.parsed("channel_id")?,
                    attempt_id: row.parsed("id")?,
                    provider_call_id: row.optional_text("provider_call_id")?,
                    status: row.parsed("status")?,
                    to: row.text("to_number")?,
                    started_at: row.time("started_at")?,
                })
            })
            .collect()
    }
}
