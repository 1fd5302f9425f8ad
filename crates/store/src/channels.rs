//! Channels: messaging endpoints with their provider configuration. The configuration holds
//! the provider's secrets and is stored sealed (`secrets`); only
//! `switchboard_core::ChannelConfig::public_json` leaves the gateway.

use switchboard_core::{
    AgentId, Channel, ChannelConfig, ChannelId, ChannelKind, Page, TenantId, Timestamp,
};

use crate::table::{IdList, Table};
use crate::{Keyring, PageRequest, SealedColumn, Store, StoreError};
use switchboard_database::{Row, query};
use switchboard_database::{RowExt, expect_changed, millis, now};

const COLUMNS: &str = "id, tenant_id, kind, name, agent_id, config, created_at, updated_at";

pub struct NewChannel {
    pub name: String,
    pub agent_id: Option<AgentId>,
    pub config: ChannelConfig,
}

/// Changes to a channel; `None` leaves a field as it is. `agent_id: Some(None)` detaches the agent.
#[derive(Default)]
pub struct ChannelUpdate {
    pub name: Option<String>,
    pub agent_id: Option<Option<AgentId>>,
    pub config: Option<ChannelConfig>,
}

/// A channel as read, its configuration still sealed.
pub(crate) struct StoredChannel {
    id: ChannelId,
    tenant_id: TenantId,
    name: String,
    agent_id: Option<AgentId>,
    kind: ChannelKind,
    config: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl StoredChannel {
    fn open(self, keyring: &Keyring) -> Result<Channel, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            column: "config",
            reason,
        };
        let config = keyring.open(
            SealedColumn::ChannelConfig,
            &self.id.to_string(),
            &self.config,
        )?;
        let config = serde_json::from_str(&config).map_err(|error| corrupt(error.to_string()))?;
        let config =
            ChannelConfig::parse(self.kind, config).map_err(|error| corrupt(error.to_string()))?;
        Ok(Channel {
            id: self.id,
            tenant_id: self.tenant_id,
            name: self.name,
            agent_id: self.agent_id,
            config,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn channel_from_row(row: &Row) -> Result<StoredChannel, StoreError> {
    Ok(StoredChannel {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        name: row.text("name")?,
        agent_id: row.optional_parsed("agent_id")?,
        kind: row.parsed("kind")?,
        config: row.text("config")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(crate) const CHANNELS: Table<StoredChannel> = Table {
    name: "channels",
    entity: "channel",
    columns: COLUMNS,
    live: "1 = 1",
    decode: channel_from_row,
    id: |row| row.id.to_string(),
};

impl Store {
    pub async fn create_channel(
        &self,
        tenant_id: TenantId,
        new: NewChannel,
    ) -> Result<Channel, StoreError> {
        let at = now();
        let channel = Channel {
            id: ChannelId::new(),
            tenant_id,
            name: new.name,
            agent_id: new.agent_id,
            config: new.config,
            created_at: at,
            updated_at: at,
        };
        let row = channel.clone();
        let config = self.seal_channel_config(row.id, &row.config)?;
        self.write(move |connection| {
            Box::pin(async move {
                query(
                    "INSERT INTO channels (id, tenant_id, kind, name, agent_id, config, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(row.id.to_string())
                .bind(row.tenant_id.to_string())
                .bind(row.kind().as_str())
                .bind(row.name)
                .bind(row.agent_id.map(|id| id.to_string()))
                .bind(config)
                .bind(millis(row.created_at))
                .execute(connection)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(channel)
    }

    pub async fn get_channel(
        &self,
        tenant_id: TenantId,
        id: ChannelId,
    ) -> Result<Channel, StoreError> {
        self.fetch_row(&CHANNELS, tenant_id, id.to_string())
            .await?
            .open(&self.inner.keyring)
    }

    /// The tenant's channels among `ids`, in no particular order, in one statement; another
    /// tenant's are left out.
    pub async fn get_channels(
        &self,
        tenant_id: TenantId,
        ids: &[ChannelId],
    ) -> Result<Vec<Channel>, StoreError> {
        self.fetch_rows(&CHANNELS, tenant_id, &IdList::new(ids))
            .await?
            .into_iter()
            .map(|stored| stored.open(&self.inner.keyring))
            .collect()
    }

    pub async fn list_channels(
        &self,
        tenant_id: TenantId,
        page: &PageRequest,
    ) -> Result<Page<Channel>, StoreError> {
        let stored = self.fetch_page(&CHANNELS, tenant_id, page).await?;
        Ok(Page {
            data: stored
                .data
                .into_iter()
                .map(|stored| stored.open(&self.inner.keyring))
                .collect::<Result<_, _>>()?,
            next_cursor: stored.next_cursor,
        })
    }

    pub async fn update_channel(
        &self,
        tenant_id: TenantId,
        id: ChannelId,
        update: ChannelUpdate,
    ) -> Result<Channel, StoreError> {
        let at = millis(now());
        let config = update
            .config
            .as_ref()
            .map(|config| self.seal_channel_config(id, config))
            .transpose()?;
        self.write(move |connection| {
            Box::pin(async move {
                let result = query(
                    "UPDATE channels SET name = COALESCE($3, name),
                         agent_id = CASE WHEN $4 = 1 THEN $5 ELSE agent_id END,
                         config = COALESCE($6, config), updated_at = $7
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant_id.to_string())
                .bind(id.to_string())
                .bind(update.name)
                .bind(i64::from(update.agent_id.is_some()))
                .bind(update.agent_id.flatten().map(|agent| agent.to_string()))
                .bind(config)
                .bind(at)
                .execute(connection)
                .await?;
                Ok(expect_changed(result.rows_affected(), "channel")?)
            })
        })
        .await?;
        self.get_channel(tenant_id, id).await
    }

    /// A channel by id in any tenant: webhooks name the channel, and its signature proves the
    /// caller.
    pub async fn find_channel(&self, id: ChannelId) -> Result<Option<Channel>, StoreError> {
        let row = query(format!("SELECT {COLUMNS} FROM channels WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.reader())
            .await?;
        row.as_ref()
            .map(|row| channel_from_row(row)?.open(&self.inner.keyring))
            .transpose()
    }

    /// Deletes a channel no conversation uses (`ForeignKey` otherwise).
    pub async fn delete_channel(
        &self,
        tenant_id: TenantId,
        id: ChannelId,
    ) -> Result<(), StoreError> {
        self.delete_row("channels", "channel", tenant_id, id.to_string())
            .await
    }
}

impl Store {
    /// A channel's configuration as stored: sealed, bound to the channel's row.
    fn seal_channel_config(
        &self,
        id: ChannelId,
        config: &ChannelConfig,
    ) -> Result<String, StoreError> {
        Ok(self.inner.keyring.seal(
            SealedColumn::ChannelConfig,
            &id.to_string(),
            &config.to_json().to_string(),
        )?)
    }
}
