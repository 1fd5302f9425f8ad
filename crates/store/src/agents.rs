//! Agents: what answers conversations, with kind-specific JSON configuration.

use switchboard_core::{Agent, AgentId, AgentKind, Credits, Page, TenantId};

use crate::table::Table;
use crate::{PageRequest, Store, StoreError};
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

fn agent_from_row(row: &Row) -> Result<Agent, StoreError> {
    Ok(Agent {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        name: row.text("name")?,
        kind: row.parsed("kind")?,
        config: row.json("config")?,
        cost_per_run: Credits(row.integer("cost_per_run")?),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(crate) const AGENTS: Table<Agent> = Table {
    name: "agents",
    entity: "agent",
    columns: COLUMNS,
    live: "1 = 1",
    decode: agent_from_row,
    id: |row| row.id.to_string(),
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
                .bind(row.config.to_string())
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
        self.fetch_row(&AGENTS, tenant_id, id.to_string()).await
    }

    pub async fn list_agents(
        &self,
        tenant_id: TenantId,
        page: &PageRequest,
    ) -> Result<Page<Agent>, StoreError> {
        self.fetch_page(&AGENTS, tenant_id, page).await
    }

    pub async fn update_agent(
        &self,
        tenant_id: TenantId,
        id: AgentId,
        update: AgentUpdate,
    ) -> Result<Agent, StoreError> {
        let at = millis(now());
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
                .bind(update.config.map(|config| config.to_string()))
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
