//! Campaigns: many contacts called through one voice channel under one schedule, at most
//! `maxConcurrentCalls` on the line and `callsPerSecond` dials, retried by outcome. Created as a
//! draft with a queued call per contact; `start`, `pause`, `resume` and `cancel` move it.

use switchboard_core::{
    AgentId, AuditAction, Caller, Campaign, CampaignId, CampaignSchedule, CampaignStatus,
    ChannelId, ContactId, ImportKind, Page, Permission, RetryPolicy, ValidationError,
};
use switchboard_store::{CampaignRecipient, NewCampaign};

use super::events;
use crate::audit::Change;
use crate::{Engine, EngineError, PageRequest, require};

/// The most recipients one campaign takes (larger lists go in several campaigns).
const MAX_RECIPIENTS: usize = 1_000_000;

/// A campaign as a client asks for it.
#[derive(Debug, Clone, Default)]
pub struct CampaignRequest {
    pub name: String,
    pub channel_id: Option<ChannelId>,
    pub agent_id: Option<AgentId>,
    pub contact_ids: Vec<ContactId>,
    pub schedule: Option<CampaignSchedule>,
    pub max_concurrent_calls: Option<i64>,
    pub calls_per_second: Option<i64>,
    pub retry: Option<RetryPolicy>,
}

/// Which statuses a control moves a campaign from.
fn allowed_from(to: CampaignStatus) -> &'static [CampaignStatus] {
    use CampaignStatus::{Cancelled, Draft, Paused, Running};
    match to {
        Running => &[Draft, Paused],
        Paused => &[Running],
        Cancelled => &[Draft, Running, Paused],
        CampaignStatus::Completed | Draft => &[],
    }
}

impl Engine {
    /// Creates a draft campaign with one queued call per contact; contacts without a phone
    /// number are refused (naming the first).
    pub async fn create_campaign(
        &self,
        caller: &Caller,
        request: CampaignRequest,
    ) -> Result<Campaign, EngineError> {
        require(caller, Permission::Converse)?;
        let tenant_id = caller.tenant_id;
        ValidationError::require_text("name", &request.name, 200)?;
        let channel_id = self
            .voice_target(tenant_id, request.channel_id, request.agent_id)
            .await?;
        let mut schedule = request.schedule.unwrap_or_default();
        schedule.validate()?;
        let max_concurrent_calls = request.max_concurrent_calls.unwrap_or(10);
        if !(1..=10_000).contains(&max_concurrent_calls) {
            return Err(
                ValidationError::new("maxConcurrentCalls", "must be from 1 to 10000").into(),
            );
        }
        let calls_per_second = request.calls_per_second.unwrap_or(1);
        if !(1..=1_000).contains(&calls_per_second) {
            return Err(ValidationError::new("callsPerSecond", "must be from 1 to 1000").into());
        }
        if request.contact_ids.len() > MAX_RECIPIENTS {
            return Err(ValidationError::new(
                "contactIds",
                format!("must list at most {MAX_RECIPIENTS} contacts (add more by a calls import)"),
            )
            .into());
        }
        let mut contact_ids = request.contact_ids;
        contact_ids.sort_unstable();
        contact_ids.dedup();
        let mut recipients = Vec::with_capacity(contact_ids.len());
        for ids in contact_ids.chunks(500) {
            let contacts = self.store.get_contacts(tenant_id, ids).await?;
            if contacts.len() != ids.len() {
                let missing = ids
                    .iter()
                    .find(|id| contacts.iter().all(|contact| contact.id != **id));
                return Err(ValidationError::new(
                    "contactIds",
                    format!(
                        "no contact {}",
                        missing.map(ToString::to_string).unwrap_or_default()
                    ),
                )
                .into());
            }
            for contact in contacts {
                let Some(to) = contact.phone.clone() else {
                    return Err(ValidationError::new(
                        "contactIds",
                        format!("contact {} has no phone number", contact.id),
                    )
                    .into());
                };
                let timezone = switchboard_calling::recipient_zone_name(
                    contact.timezone.as_deref(),
                    &to,
                    &schedule.timezone,
                )
                .to_owned();
                let variables = serde_json::to_value(&contact.attributes)
                    .unwrap_or_else(|_| serde_json::json!({}));
                recipients.push(CampaignRecipient {
                    contact_id: contact.id,
                    to,
                    timezone,
                    variables,
                });
            }
        }
        let new = NewCampaign {
            name: request.name.trim().to_owned(),
            channel_id,
            agent_id: request.agent_id,
            schedule,
            retry: request.retry.unwrap_or_default(),
            max_concurrent_calls,
            calls_per_second,
            recipients,
        };
        let campaign = self.store.create_campaign(tenant_id, new).await?;
        let details = serde_json::json!({"name": campaign.name, "channelId": campaign.channel_id});
        self.audit(
            caller,
            Change::of(caller, AuditAction::CampaignCreated, campaign.id).with(details),
        )
        .await;
        Ok(campaign)
    }

    /// Checks a `calls` import's campaign: given, the caller's, and draft or paused (so it
    /// cannot complete while rows are added); other kinds take none.
    pub(crate) async fn check_import_campaign(
        &self,
        caller: &Caller,
        kind: ImportKind,
        campaign_id: Option<CampaignId>,
    ) -> Result<(), EngineError> {
        match (kind, campaign_id) {
            (ImportKind::Calls, None) => {
                Err(ValidationError::new("campaignId", "is required with kind=calls").into())
            }
            (ImportKind::Calls, Some(id)) => {
                let campaign = self.store.get_campaign(caller.tenant_id, id).await?;
                if matches!(
                    campaign.status,
                    CampaignStatus::Draft | CampaignStatus::Paused
                ) {
                    Ok(())
                } else {
                    Err(EngineError::Conflict(format!(
                        "calls are imported into a draft or paused campaign; this one is {}",
                        campaign.status
                    )))
                }
            }
            (ImportKind::Contacts, Some(_)) => {
                Err(ValidationError::new("campaignId", "only with kind=calls").into())
            }
            (ImportKind::Contacts, None) => Ok(()),
        }
    }

    pub async fn get_campaign(
        &self,
        caller: &Caller,
        id: CampaignId,
    ) -> Result<Campaign, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.get_campaign(caller.tenant_id, id).await?)
    }

    pub async fn list_campaigns(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<Campaign>, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.list_campaigns(caller.tenant_id, page).await?)
    }

    /// Starts or resumes (`running`), pauses or cancels a campaign; 409 from a status it
    /// cannot leave that way (a completed campaign, say).
    pub async fn control_campaign(
        &self,
        caller: &Caller,
        id: CampaignId,
        to: CampaignStatus,
    ) -> Result<Campaign, EngineError> {
        require(caller, Permission::Converse)?;
        let tenant_id = caller.tenant_id;
        let changed = self
            .store
            .control_campaign(tenant_id, id, allowed_from(to), to)
            .await?;
        let campaign = self.store.get_campaign(tenant_id, id).await?;
        if !changed {
            return Err(EngineError::Conflict(format!(
                "a {} campaign cannot become {to}",
                campaign.status
            )));
        }
        self.pipeline.calls.wake.notify_one();
        events::campaign_changed(self, tenant_id, id, true).await;
        let change = Change::of(caller, AuditAction::CampaignControlled, id)
            .with(serde_json::json!({"status": to}));
        self.audit(caller, change).await;
        Ok(campaign)
    }
}
