//! Agents: what answers conversations, with kind-specific JSON configuration, stored sealed
//! (`secrets`): it holds the model's API key, the bot's signing secret and MCP servers' headers.

use switchboard_core::{Agent, AgentId, AgentKind, Credits, Page, TenantId};

use crate::table::Table;
use crate::{Keyring, PageRequest, SealedColumn, Store, StoreError};
use switchboard_database::{Row, query};
use switchboard_database::{RowExt, expect_changed, millis, now};

const COLUMNS: &str = "id, tenant_id, name, kind, config, cost_per_run, created_at, updated_at";

pub struct NewAgent {
    pub name: String,
    pub kind: AgentKind,
    pub config: serde_json::Value,
    pub cost_per_run: Credits,
}

/// Changes to an agent; `None` leaves a field as it is. `config` replaces the whole object.
#[derive(Default)]
pub struct AgentUpdate {
    pub name: Option<String>,
    pub config: Option<serde_json::Value>,
    pub cost_per_run: Option<Credits>,
}

/// An agent as read, its configuration still sealed.
pub(crate) struct StoredAgent {
    agent: Agent,
    config: String,
}

impl StoredAgent {
    fn open(self, keyring: &Keyring) -> Result<Agent, StoreError> {
        let id = self.agent.id.to_string();
        let config = keyring.open(SealedColumn::AgentConfig, &id, &self.config)?;
        let config = serde_json::from_str(&config).map_err(|error| StoreError::Corrupt {
            column: "config",
            reason: error.to_string(),
        })?;
        Ok(Agent {
            config,
            ..self.agent
        })
    }
}

fn agent_from_row(row: &Row) -> Result<StoredAgent, StoreError> {
    Ok(StoredAgent {
        agent: Agent {
            id: row.parsed("id")?,
            tenant_id: row.parsed("tenant_id")?,
            name: row.text("name")?,
            kind: row.parsed("kind")?,
            config: serde_json::Value::Null,
            cost_per_run: Credits(row.integer("cost_per_run")?),
            created_at: row.time("created_at")?,
            updated_at: row.time("updated_at")?,
        },
        config: row.text("config")?,
    })
}

pub(crate) const AGENTS: Table<StoredAgent> = Table {
    name: "agents",
    entity: "agent",
    columns: COLUMNS,
    live: "1 = 1",
    decode: agent_from_row,
    id: |row| row.agent.id.to_string(),
};

impl Store {
    pub async fn create_agent(
        &self,
        tenant_id: TenantId,
        new: NewAgent,
    ) -> Result<Agent, StoreError> {
        let at = now();
        let agent = Agent {
            id: AgentId::new(),
            tenant_id,
            name: new.name,
            kind: new.kind,
            config: new.config,
            cost_per_run: new.cost_per_run,
            created_at: at,
            updated_at: at,
        };
        let row = agent.clone();
        let config = self.seal_agent_config(row.id, &row.config)?;
        self.write(move |connection| {
            Box::pin(async move {
                query(
                    "INSERT INTO agents (id, tenant_id, name, kind, config, cost_per_run, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(row.id.to_string())
                .bind(row.tenant_id.to_string())
                .bind(row.name)
                .bind(row.kind.as_str())
                .bind(config)
                .bind(row.cost_per_run.0)
                .bind(millis(row.created_at))
                .execute(connection)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(agent)
    }

    pub async fn get_agent(&self, tenant_id: TenantId, id: AgentId) -> Result<Agent, StoreError> {
        self.fetch_row(&AGENTS, tenant_id, id.to_string())
            .await?
            .open(&self.inner.keyring)
    }

    pub async fn list_agents(
        &self,
        tenant_id: TenantId,
        page: &PageRequest,
    ) -> Result<Page<Agent>, StoreError> {
        let stored = self.fetch_page(&AGENTS, tenant_id, page).await?;
        Ok(Page {
            data: stored
                .data
                .into_iter()
                .map(|stored| stored.open(&self.inner.keyring))
                .collect::<Result<_, _>>()?,
            next_cursor: stored.next_cursor,
        })
    }

    pub async fn update_agent(
        &self,
        tenant_id: TenantId,
        id: AgentId,
        update: AgentUpdate,
    ) -> Result<Agent, StoreError> {
        let at = millis(now());
        let config = update
            .config
            .as_ref()
            .map(|config| self.seal_agent_config(id, config))
            .transpose()?;
        self.write(move |connection| {
            Box::pin(async move {
                let result = query(
                    "UPDATE agents SET name = COALESCE($3, name), config = COALESCE($4, config),
                         cost_per_run = COALESCE($5, cost_per_run), updated_at = $6
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant_id.to_string())
                .bind(id.to_string())
                .bind(update.name)
                .bind(config)
                .bind(update.cost_per_run.map(|cost| cost.0))
                .bind(at)
                .execute(connection)
                .await?;
                Ok(expect_changed(result.rows_affected(), "agent")?)
            })
        })
        .await?;
        self.get_agent(tenant_id, id).await
    }

    /// Deletes an agent no channel or conversation uses (`ForeignKey` otherwise).
    pub async fn delete_agent(&self, tenant_id: TenantId, id: AgentId) -> Result<(), StoreError> {
        self.delete_row("agents", "agent", tenant_id, id.to_string())
            .await
    }
}

impl Store {
    /// An agent's configuration as stored: sealed, bound to the agent's row.
    fn seal_agent_config(
        &self,
        id: AgentId,
        config: &serde_json::Value,
    ) -> Result<String, StoreError> {
        Ok(self.inner.keyring.seal(
            SealedColumn::AgentConfig,
            &id.to_string(),
            &config.to_string(),
        )?)
    }
}
