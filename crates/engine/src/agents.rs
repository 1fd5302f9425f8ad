//! Agents: configured by tenant admins. Secrets in the configuration are write-only.

use switchboard_core::{
    Agent, AgentId, AgentKind, AuditAction, Caller, Credits, Page, Permission, ValidationError,
};
use switchboard_store::{AgentUpdate, NewAgent};

use crate::audit::{Change, changed_fields, config_keys};
use crate::channels::in_use;
use crate::{Engine, EngineError, PageRequest, require};

/// Credits a run costs when the agent does not say.
const DEFAULT_COST_PER_RUN: Credits = Credits(1);

pub struct AgentInput {
    pub name: String,
    pub kind: AgentKind,
    pub config: Option<serde_json::Value>,
    pub cost_per_run: Option<Credits>,
}

#[derive(Default)]
pub struct AgentChanges {
    pub name: Option<String>,
    /// Merged into the stored configuration: omitted keys (and secrets) are kept.
    pub config: Option<serde_json::Value>,
    pub cost_per_run: Option<Credits>,
}

fn validate_config(config: &serde_json::Value) -> Result<(), ValidationError> {
    if config.is_object() {
        Ok(())
    } else {
        Err(ValidationError::new("config", "must be a JSON object"))
    }
}

/// Checks a whole configuration against what the agent's kind needs.
fn validate_for_kind(kind: AgentKind, config: &serde_json::Value) -> Result<(), ValidationError> {
    switchboard_agent::validate_config(kind, config).map_err(|error| match error.invalid_field() {
        Some((field, reason)) => ValidationError::new(format!("config.{field}"), reason),
        None => ValidationError::new("config", error.message()),
    })
}

fn validate_cost(cost: Credits) -> Result<(), ValidationError> {
    if cost.0 < 0 {
        return Err(ValidationError::new("costPerRun", "must not be negative"));
    }
    Ok(())
}

impl Engine {
    pub async fn create_agent(
        &self,
        caller: &Caller,
        input: AgentInput,
    ) -> Result<Agent, EngineError> {
        require(caller, Permission::ManageTenant)?;
        ValidationError::require_text("name", &input.name, 200)?;
        let config = input.config.unwrap_or_else(|| serde_json::json!({}));
        validate_config(&config)?;
        validate_for_kind(input.kind, &config)?;
        let cost_per_run = input.cost_per_run.unwrap_or(DEFAULT_COST_PER_RUN);
        validate_cost(cost_per_run)?;
        let new = NewAgent {
            name: input.name.trim().to_owned(),
            kind: input.kind,
            config,
            cost_per_run,
        };
        let agent = self.store.create_agent(caller.tenant_id, new).await?;
        let details = serde_json::json!({"kind": agent.kind, "name": agent.name});
        self.audit(
            caller,
            Change::of(caller, AuditAction::AgentCreated, agent.id).with(details),
        )
        .await;
        Ok(agent)
    }

    pub async fn get_agent(&self, caller: &Caller, id: AgentId) -> Result<Agent, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.get_agent(caller.tenant_id, id).await?)
    }

    pub async fn list_agents(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<Agent>, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.list_agents(caller.tenant_id, page).await?)
    }

    pub async fn update_agent(
        &self,
        caller: &Caller,
        id: AgentId,
        changes: AgentChanges,
    ) -> Result<Agent, EngineError> {
        require(caller, Permission::ManageTenant)?;
        if let Some(name) = &changes.name {
            ValidationError::require_text("name", name, 200)?;
        }
        if let Some(cost) = changes.cost_per_run {
            validate_cost(cost)?;
        }
        let mut details = changed_fields(&[
            ("name", changes.name.is_some()),
            ("costPerRun", changes.cost_per_run.is_some()),
        ]);
        if let Some(fields) = details["fields"].as_array_mut() {
            fields.extend(
                config_keys(changes.config.as_ref())
                    .into_iter()
                    .map(Into::into),
            );
        }
        let config = match changes.config {
            Some(patch) => {
                validate_config(&patch)?;
                let agent = self.store.get_agent(caller.tenant_id, id).await?;
                let mut config = agent.config;
                if let (Some(current), serde_json::Value::Object(mut patch)) =
                    (config.as_object_mut(), patch)
                {
                    keep_mcp_headers(current.get("mcpServers"), &mut patch);
                    current.extend(patch);
                }
                validate_for_kind(agent.kind, &config)?;
                Some(config)
            }
            None => None,
        };
        let update = AgentUpdate {
            name: changes.name.map(|name| name.trim().to_owned()),
            config,
            cost_per_run: changes.cost_per_run,
        };
        let updated = self
            .store
            .update_agent(caller.tenant_id, id, update)
            .await?;
        self.forget_agent(id);
        self.audit(
            caller,
            Change::of(caller, AuditAction::AgentUpdated, id).with(details),
        )
        .await;
        Ok(updated)
    }

    pub async fn delete_agent(&self, caller: &Caller, id: AgentId) -> Result<(), EngineError> {
        require(caller, Permission::ManageTenant)?;
        self.store
            .delete_agent(caller.tenant_id, id)
            .await
            .map_err(in_use("the agent is used by channels or conversations"))?;
        self.forget_agent(id);
        self.audit(caller, Change::of(caller, AuditAction::AgentDeleted, id))
            .await;
        Ok(())
    }
}

/// MCP servers' headers are secrets, never returned: a patch that lists a server again without
/// its `headers` keeps the ones stored for the server of that name.
fn keep_mcp_headers(
    stored: Option<&serde_json::Value>,
    patch: &mut serde_json::Map<String, serde_json::Value>,
) {
    let (Some(serde_json::Value::Array(stored)), Some(serde_json::Value::Array(servers))) =
        (stored, patch.get_mut("mcpServers"))
    else {
        return;
    };
    for server in servers
        .iter_mut()
        .filter_map(serde_json::Value::as_object_mut)
    {
        if server.contains_key("headers") {
            continue;
        }
        let headers = stored
            .iter()
            .find(|kept| kept.get("name").is_some() && kept.get("name") == server.get("name"))
            .and_then(|kept| kept.get("headers"));
        if let Some(headers) = headers {
            server.insert("headers".into(), headers.clone());
        }
    }
}
