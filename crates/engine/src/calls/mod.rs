//! Outbound voice calls: placing one call now or at a time, campaigns of many (`campaigns`),
//! the dialer that places due calls inside their windows, caps and pace (`dialer`), what the
//! provider says back (`callbacks`: status callbacks and call reports), asking the provider
//! about attempts it went quiet on (`reconcile`), and the events on the tenant's and the
//! call's streams (`events`).
//!
//! Every decision is durable before it acts: an attempt is recorded before its dial (its id is
//! the dial's `Idempotency-Key`), and the callback that closes it records the outcome, the debit
//! and the retry in one transaction. A restarted node finds every due call in the store, and
//! every attempt left open is reconciled with the provider, never dialled blindly again.

mod analytics;
mod callbacks;
mod campaigns;
mod dialer;
mod events;
mod pacing;
mod reconcile;

pub use campaigns::CampaignRequest;
pub(crate) use dialer::run as run_dialer;

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::{
    AgentId, Call, CallId, CallStatus, Caller, CampaignId, ChannelConfig, ChannelId, ContactId,
    Page, Permission, RetryPolicy, Timestamp, ValidationError, VoiceConfig,
};
use switchboard_store::{CallFilter, NewCall, NewContact};
use tokio::sync::Notify;

use crate::{Engine, EngineError, PageRequest, require};

/// How calls are placed.
#[derive(Debug, Clone)]
pub struct CallsConfig {
    /// Where the provider reaches this server (status callbacks); the HTTP listener's address
    /// when not behind a proxy.
    pub public_base_url: String,
    /// Credits per started minute of a connected call.
    pub credits_per_minute: i64,
    /// Calls on the line at once per tenant, across its campaigns and single calls.
    pub max_concurrent_per_tenant: i64,
    /// How long a dial rings before the provider gives up (`Timeout`).
    pub ring_timeout: Duration,
    /// Ask the provider to tell a machine from a person (`MachineDetection`).
    pub machine_detection: bool,
    /// How often due calls are looked for (a new call or a started campaign wakes it sooner).
    pub tick: Duration,
    /// How long an open attempt may go unheard of before the provider is asked about it (or,
    /// when its dial never answered, dialled again under the same idempotency key).
    pub quiet_after: Duration,
}

impl Default for CallsConfig {
    fn default() -> Self {
        Self {
            public_base_url: "http://127.0.0.1:3000".to_owned(),
            credits_per_minute: 1,
            max_concurrent_per_tenant: 100,
            ring_timeout: Duration::from_secs(30),
            machine_detection: true,
            tick: Duration::from_millis(250),
            quiet_after: Duration::from_secs(60),
        }
    }
}

/// The dialer's wake-up: new due work was written on this node.
#[derive(Default)]
pub(crate) struct Calls {
    pub(crate) wake: Arc<Notify>,
    pub(crate) pacing: pacing::Pacing,
    pub(crate) progress: events::ProgressTimes,
}

/// A call to place, as a client asks for it.
#[derive(Debug, Clone, Default)]
pub struct CallRequest {
    pub channel_id: Option<ChannelId>,
    pub contact_id: Option<ContactId>,
    /// A number to call when no contact is given (E.164, or national with `country`).
    pub to: Option<String>,
    /// When to call; now when omitted.
    pub at: Option<Timestamp>,
    pub agent_id: Option<AgentId>,
    pub variables: Option<serde_json::Value>,
    pub retry: Option<RetryPolicy>,
}

/// The voice settings of a channel, or why it has none.
pub(crate) fn voice_config(config: &ChannelConfig) -> Result<&VoiceConfig, ValidationError> {
    match config {
        ChannelConfig::Voice(voice) => Ok(voice),
        _ => Err(ValidationError::new(
            "channelId",
            "must be a voice channel (kind \"voice\")",
        )),
    }
}

impl Engine {
    /// Checks what calls are placed through: `channel_id` is given and one of the tenant's
    /// voice channels, and `agent_id`, if any, one of its agents.
    pub(crate) async fn voice_target(
        &self,
        tenant_id: switchboard_core::TenantId,
        channel_id: Option<ChannelId>,
        agent_id: Option<AgentId>,
    ) -> Result<ChannelId, EngineError> {
        let channel_id =
            channel_id.ok_or_else(|| ValidationError::new("channelId", "is required"))?;
        let channel = self.store.get_channel(tenant_id, channel_id).await?;
        voice_config(&channel.config)?;
        if let Some(agent_id) = agent_id {
            self.store.get_agent(tenant_id, agent_id).await?;
        }
        Ok(channel_id)
    }

    /// Places one call now or at `at`, to a contact or a number (a contact is found or made
    /// for the number).
    pub async fn place_call(
        &self,
        caller: &Caller,
        request: CallRequest,
    ) -> Result<Call, EngineError> {
        require(caller, Permission::Converse)?;
        let tenant_id = caller.tenant_id;
        let channel_id = self
            .voice_target(tenant_id, request.channel_id, request.agent_id)
            .await?;
        let variables = request.variables.unwrap_or_else(|| serde_json::json!({}));
        if !variables.is_object() {
            return Err(ValidationError::new("variables", "must be a JSON object").into());
        }
        let contact = match (request.contact_id, request.to) {
            (Some(id), _) => self.store.get_contact(tenant_id, id).await?,
            (None, Some(to)) => {
                let phone = switchboard_core::normalize_phone(&to, None)
                    .map_err(|error| ValidationError::new("to", error.message))?;
                match self.store.contact_id_by_phone(tenant_id, &phone).await? {
                    Some(id) => self.store.get_contact(tenant_id, id).await?,
                    None => {
                        let new = NewContact {
                            phone: Some(phone),
                            ..NewContact::default()
                        };
                        self.store.create_contact(tenant_id, new).await?
                    }
                }
            }
            (None, None) => {
                return Err(
                    ValidationError::new("contactId", "contactId or to is required").into(),
                );
            }
        };
        let to = contact
            .phone
            .clone()
            .ok_or_else(|| ValidationError::new("contactId", "the contact has no phone number"))?;
        let timezone =
            switchboard_calling::recipient_zone_name(contact.timezone.as_deref(), &to, "UTC")
                .to_owned();
        let new = NewCall {
            channel_id,
            contact_id: contact.id,
            agent_id: request.agent_id,
            to,
            timezone,
            due_at: request.at.unwrap_or_else(time::OffsetDateTime::now_utc),
            variables,
            retry: request.retry,
        };
        let call = self.store.create_call(tenant_id, new).await?;
        events::call_queued(self, &call);
        self.pipeline.calls.wake.notify_one();
        Ok(call)
    }

    pub async fn get_call(&self, caller: &Caller, id: CallId) -> Result<Call, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.get_call(caller.tenant_id, id).await?)
    }

    /// The tenant's calls, oldest first, by campaign and status.
    pub async fn list_calls(
        &self,
        caller: &Caller,
        campaign_id: Option<CampaignId>,
        status: Option<CallStatus>,
        page: &PageRequest,
    ) -> Result<Page<Call>, EngineError> {
        require(caller, Permission::Read)?;
        let filter = CallFilter {
            campaign_id,
            status,
        };
        Ok(self
            .store
            .list_calls(caller.tenant_id, &filter, page)
            .await?)
    }

    /// Puts a number on the tenant's do-not-call list: it is never dialled from now on.
    pub async fn add_do_not_call(
        &self,
        caller: &Caller,
        phone: &str,
    ) -> Result<String, EngineError> {
        require(caller, Permission::Converse)?;
        let phone = switchboard_core::normalize_phone(phone, None)
            .map_err(|error| ValidationError::new("phone", error.message))?;
        self.store
            .add_do_not_call(caller.tenant_id, phone.clone())
            .await?;
        Ok(phone)
    }

    pub async fn remove_do_not_call(
        &self,
        caller: &Caller,
        phone: &str,
    ) -> Result<(), EngineError> {
        require(caller, Permission::Converse)?;
        let phone = switchboard_core::normalize_phone(phone, None)
            .map_err(|error| ValidationError::new("phone", error.message))?;
        Ok(self
            .store
            .remove_do_not_call(caller.tenant_id, phone)
            .await?)
    }

    pub async fn list_do_not_call(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<String>, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.list_do_not_call(caller.tenant_id, page).await?)
    }
}
