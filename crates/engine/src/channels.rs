//! Channels: configured by tenant admins, readable by everyone in the tenant (without secrets).

use switchboard_core::{
    AgentId, AuditAction, Caller, Channel, ChannelConfig, ChannelId, ChannelKind, Page, Permission,
    Secret, ValidationError,
};
use switchboard_store::{ChannelUpdate, NewChannel};

use crate::audit::{Change, changed_fields, config_keys};
use crate::{Engine, EngineError, PageRequest, require};

pub struct ChannelInput {
    pub kind: ChannelKind,
    pub name: String,
    pub agent_id: Option<AgentId>,
    /// Kind-specific settings; see `switchboard_core::ChannelConfig`.
    pub config: serde_json::Value,
}

/// A channel just created, with the signing secret generated for it if the caller gave none.
pub struct CreatedChannel {
    pub channel: Channel,
    pub generated_signing_secret: Option<Secret>,
}

#[derive(Default)]
pub struct ChannelChanges {
    pub name: Option<String>,
    /// `Some(None)` detaches the agent.
    pub agent_id: Option<Option<AgentId>>,
    /// Merged into the stored configuration: omitted fields (and secrets) are kept.
    pub config: Option<serde_json::Value>,
}

impl Engine {
    pub async fn create_channel(
        &self,
        caller: &Caller,
        input: ChannelInput,
    ) -> Result<CreatedChannel, EngineError> {
        require(caller, Permission::ManageTenant)?;
        ValidationError::require_text("name", &input.name, 200)?;
        let mut config = match input.config {
            serde_json::Value::Null => serde_json::Value::Object(serde_json::Map::new()),
            config => config,
        };
        let generated_signing_secret = generate_missing_secret(input.kind, &mut config);
        let config = ChannelConfig::parse(input.kind, config)?;
        if let Some(agent_id) = input.agent_id {
            self.require_agent(caller, agent_id).await?;
        }
        let new = NewChannel {
            name: input.name.trim().to_owned(),
            agent_id: input.agent_id,
            config,
        };
        let channel = self.store.create_channel(caller.tenant_id, new).await?;
        let details = serde_json::json!({
            "kind": channel.kind(), "name": channel.name, "agentId": channel.agent_id,
        });
        self.audit(
            caller,
            Change::of(caller, AuditAction::ChannelCreated, channel.id).with(details),
        )
        .await;
        Ok(CreatedChannel {
            channel,
            generated_signing_secret,
        })
    }

    pub async fn get_channel(
        &self,
        caller: &Caller,
        id: ChannelId,
    ) -> Result<Channel, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.get_channel(caller.tenant_id, id).await?)
    }

    /// The channels among `ids`, in no particular order, read at once; another tenant's ids
    /// find nothing, as with [`Engine::get_channel`].
    pub async fn get_channels(
        &self,
        caller: &Caller,
        ids: &[ChannelId],
    ) -> Result<Vec<Channel>, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.get_channels(caller.tenant_id, ids).await?)
    }

    pub async fn list_channels(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<Channel>, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.list_channels(caller.tenant_id, page).await?)
    }

    pub async fn update_channel(
        &self,
        caller: &Caller,
        id: ChannelId,
        changes: ChannelChanges,
    ) -> Result<Channel, EngineError> {
        require(caller, Permission::ManageTenant)?;
        if let Some(name) = &changes.name {
            ValidationError::require_text("name", name, 200)?;
        }
        if let Some(Some(agent_id)) = changes.agent_id {
            self.require_agent(caller, agent_id).await?;
        }
        let current = self.store.get_channel(caller.tenant_id, id).await?;
        let mut details = changed_fields(&[
            ("name", changes.name.is_some()),
            ("agentId", changes.agent_id.is_some()),
        ]);
        if let Some(fields) = details["fields"].as_array_mut() {
            fields.extend(
                config_keys(changes.config.as_ref())
                    .into_iter()
                    .map(Into::into),
            );
        }
        let config = changes
            .config
            .map(|patch| current.config.merged(patch))
            .transpose()?;
        let update = ChannelUpdate {
            name: changes.name.map(|name| name.trim().to_owned()),
            agent_id: changes.agent_id,
            config,
        };
        let updated = self
            .store
            .update_channel(caller.tenant_id, id, update)
            .await?;
        self.forget_channel(id);
        self.audit(
            caller,
            Change::of(caller, AuditAction::ChannelUpdated, id).with(details),
        )
        .await;
        Ok(updated)
    }

    pub async fn delete_channel(&self, caller: &Caller, id: ChannelId) -> Result<(), EngineError> {
        require(caller, Permission::ManageTenant)?;
        self.store
            .delete_channel(caller.tenant_id, id)
            .await
            .map_err(in_use("the channel has conversations"))?;
        self.forget_channel(id);
        self.audit(caller, Change::of(caller, AuditAction::ChannelDeleted, id))
            .await;
        Ok(())
    }

    /// A referenced agent must exist in the caller's tenant: a 422 naming `agentId` otherwise.
    pub(crate) async fn require_agent(
        &self,
        caller: &Caller,
        agent_id: AgentId,
    ) -> Result<(), EngineError> {
        match self.store.get_agent(caller.tenant_id, agent_id).await {
            Ok(_) => Ok(()),
            Err(switchboard_store::StoreError::NotFound { .. }) => {
                Err(ValidationError::new("agentId", "no such agent in this tenant").into())
            }
            Err(error) => Err(error.into()),
        }
    }
}

/// A delete refused because other records still point at the row.
pub(crate) fn in_use(
    message: &str,
) -> impl FnOnce(switchboard_store::StoreError) -> EngineError + '_ {
    move |error| match error {
        switchboard_store::StoreError::ForeignKey { .. } => {
            EngineError::Conflict(message.to_owned())
        }
        other => other.into(),
    }
}

/// An `api` channel created without a `signingSecret` gets a strong one (256 random bits): the
/// app needs one to sign its requests, and choosing it is not the app developer's job.
fn generate_missing_secret(kind: ChannelKind, config: &mut serde_json::Value) -> Option<Secret> {
    let serde_json::Value::Object(fields) = config else {
        return None;
    };
    let missing = fields
        .get("signingSecret")
        .is_none_or(serde_json::Value::is_null);
    if kind != ChannelKind::Api || !missing {
        return None;
    }
    let secret = format!("sbsig_{}", crate::auth::random_token(32));
    fields.insert("signingSecret".into(), secret.clone().into());
    Some(Secret::new(secret))
}
