//! The inbox: a webhook is acknowledged once its messages are accepted — each appended to the
//! inbox, unless its provider id is already stored or already waiting there (a redelivery) — and
//! its delivery receipts applied. Storing the accepted messages (contact, conversation, `seq`,
//! queued run, stream event: [`store_message`]) follows in batches, oldest first. So a
//! webhook's commit appends to one small table, however many conversations the traffic spreads
//! over, and never waits for the batches' larger commits.
//!
//! On SQLite the inbox is a file of its own with its own writer (one fsync serves many webhooks
//! there too), and a batch is stored, then deleted from the inbox; on PostgreSQL it is a table
//! of the database, and one transaction does both.
//!
//! On SQLite a running pipeline mostly skips the inbox: [`Store::store_webhook`] stores a body's
//! messages in the webhook's own write, one commit where the inbox takes three (its insert, the
//! batch stored, its rows deleted). The inbox takes a body when that write fails (the database
//! held by another process, say: webhooks are still accepted), when no pipeline runs to queue
//! the runs, and while anything it holds waits to be stored, so messages are stored in the
//! order they were accepted.

mod message;
pub(crate) mod postgres_accept;
mod postgres_store;

pub use message::{IngestMessage, IngestStatus, Ingested};
pub(crate) use message::{apply_statuses, store_message};

use std::sync::atomic::Ordering;

use switchboard_core::{ChannelId, TenantId};

use crate::{Store, StoreError};
use postgres_accept::{AcceptBatches, Webhook};
use switchboard_database::{Database, RowExt, millis, now};
use switchboard_database::{Db, Row, query};
use switchboard_queue::entries::Registrar;

/// Where accepted messages wait to be stored.
pub(crate) enum Inbox {
    /// SQLite: a file of its own, with its own writer.
    File(InboxFile),
    /// PostgreSQL: a table of the database, where webhooks accepted together share a commit.
    Table(AcceptBatches),
}

/// The inbox's file (SQLite), beside the database; its schema is migration 6
/// (`migrations/sqlite/0006_inbox.sql`).
pub(crate) struct InboxFile {
    pub(crate) database: Database,
    /// The last inbox id stored in the database; rows up to it wait only to be deleted.
    pub(crate) stored_through: std::sync::atomic::AtomicI64,
}

impl InboxFile {
    pub(crate) fn new(database: Database) -> Self {
        Self {
            database,
            stored_through: std::sync::atomic::AtomicI64::new(0),
        }
    }
}

/// The advisory lock whose holder stores a batch of the PostgreSQL inbox (any constant shared
/// by every node).
const INBOX_LOCK_KEY: i64 = 0x5357_494E_4258;

impl Store {
    /// Accepts one webhook body on `channel_id`, ahead of the writes already waiting:
    /// `accepted` counts the messages added to the inbox, `duplicates` the redeliveries, and
    /// `statuses_applied` and `events` tell what the receipts changed. `Ok` means durable.
    pub async fn accept(
        &self,
        tenant_id: TenantId,
        channel_id: ChannelId,
        messages: Vec<IngestMessage>,
        statuses: Vec<IngestStatus>,
    ) -> Result<Ingested, StoreError> {
        let file = match &self.inner.inbox {
            Inbox::Table(batches) => {
                let webhook = Webhook {
                    tenant_id,
                    channel_id,
                    messages,
                    statuses,
                };
                return batches.submit(&self.inner.database, webhook).await;
            }
            Inbox::File(file) => file,
        };
        let database = self.inner.database.clone();
        let mut accepted = file
            .database
            .write_first(move |inbox| {
                Box::pin(async move {
                    add_all(inbox, &database, tenant_id, channel_id, &messages).await
                })
            })
            .await?;
        if !statuses.is_empty() {
            let applied = self
                .write_first(move |connection| {
                    Box::pin(async move {
                        let mut applied = Ingested::default();
                        apply_statuses(connection, tenant_id, channel_id, &statuses, &mut applied)
                            .await?;
                        Ok(applied)
                    })
                })
                .await?;
            accepted.statuses_applied = applied.statuses_applied;
            accepted.events = applied.events;
        }
        Ok(accepted)
    }

    /// Whether a webhook's messages can be stored as they are accepted ([`Store::store_webhook`]):
    /// on SQLite, where one writer serves one node. PostgreSQL's nodes share the inbox.
    pub fn stores_webhooks_at_once(&self) -> bool {
        matches!(self.inner.inbox, Inbox::File(_))
    }

    /// Stores one webhook body's messages at once (contact, conversation, `seq`, queued run,
    /// as [`Store::store_accepted`] would) and applies its receipts, in one write ahead of the
    /// pipeline's: the inbox's two steps and their three commits in one. `accepted` counts the
    /// messages stored, `duplicates` those stored already. The caller keeps the body, to
    /// [`Store::accept`] it into the inbox should this fail, and goes through the inbox while
    /// anything accepted earlier waits there (it is stored first).
    pub async fn store_webhook(
        &self,
        tenant_id: TenantId,
        channel_id: ChannelId,
        messages: Vec<IngestMessage>,
        statuses: Vec<IngestStatus>,
        registrar: Registrar,
    ) -> Result<Ingested, StoreError> {
        self.write_first(move |connection| {
            Box::pin(async move {
                let mut stored = Ingested::default();
                for message in messages {
                    store_message(
                        connection,
                        tenant_id,
                        channel_id,
                        message,
                        &registrar,
                        &mut stored,
                    )
                    .await?;
                }
                apply_statuses(connection, tenant_id, channel_id, &statuses, &mut stored).await?;
                Ok(stored)
            })
        })
        .await
    }

    /// Stores up to `limit` accepted messages, oldest first, and takes them out of the inbox.
    /// `accepted` counts the messages stored, `duplicates` those found stored already;
    /// together, the inbox rows taken.
    pub async fn store_accepted(
        &self,
        limit: u32,
        registrar: Registrar,
    ) -> Result<Ingested, StoreError> {
        let Inbox::File(file) = &self.inner.inbox else {
            // One transaction takes the rows and stores them. Only rows visible when the
            // statement runs are taken, so a row still committing waits for the next batch.
            // It takes its turn with the pipeline's transactions, leaving the connections kept
            // for acknowledgements to them. With several nodes, their batches take turns
            // (an advisory lock), each taking the oldest rows left: none waits on another's
            // rows halfway through, and batches commit in the order they took their rows.
            return self
                .write(move |connection| {
                    Box::pin(async move {
                        query("SELECT 1 FROM pg_advisory_xact_lock($1)")
                            .bind(INBOX_LOCK_KEY)
                            .execute(&mut *connection)
                            .await?;
                        let taken = query(format!(
                            "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox ORDER BY id LIMIT $1)
                             RETURNING {COLUMNS}"
                        ))
                        .bind(i64::from(limit))
                        .fetch_all(&mut *connection)
                        .await?;
                        store_rows(connection, &taken, &registrar).await
                    })
                })
                .await;
        };
        // Stored first, then deleted from the inbox: a crash in between stores the rows again
        // at the next start, where each is a duplicate and changes nothing. Meanwhile the next
        // batch reads on from the last row stored (ids are never reused).
        let after = file.stored_through.load(Ordering::Acquire);
        let taken = query(format!(
            "SELECT {COLUMNS} FROM inbox WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(file.database.reader())
        .await?;
        let Some(last) = taken.last().map(|row| row.integer("id")).transpose()? else {
            return Ok(Ingested::default());
        };
        let stored = self
            .write_first(move |connection| {
                Box::pin(async move { store_rows(connection, &taken, &registrar).await })
            })
            .await?;
        file.stored_through.store(last, Ordering::Release);
        let inbox = file.database.clone();
        tokio::spawn(async move {
            let deleted = inbox
                .write(move |inbox| {
                    Box::pin(async move {
                        query("DELETE FROM inbox WHERE id <= $1")
                            .bind(last)
                            .execute(inbox)
                            .await
                    })
                })
                .await;
            if let Err(error) = deleted {
                tracing::warn!(%error, "stored inbox rows stay until the next start");
            }
        });
        Ok(stored)
    }

    /// How many accepted messages (of `tenant_id`, or of every tenant) wait to be stored.
    pub async fn count_accepted(&self, tenant_id: Option<TenantId>) -> Result<u64, StoreError> {
        let tenant_id = tenant_id.map(|id| id.to_string());
        let count: i64 = match &self.inner.inbox {
            Inbox::File(file) => {
                query("SELECT COUNT(*) FROM inbox WHERE id > $1 AND ($2 IS NULL OR tenant_id = $2)")
                    .bind(file.stored_through.load(Ordering::Acquire))
                    .bind(tenant_id)
                    .fetch_scalar(file.database.reader())
                    .await?
            }
            Inbox::Table(_) => {
                query("SELECT COUNT(*) FROM inbox WHERE $1 IS NULL OR tenant_id = $1")
                    .bind(tenant_id)
                    .fetch_scalar(self.reader())
                    .await?
            }
        };
        Ok(u64::try_from(count).unwrap_or_default())
    }
}

/// The columns an accepted message is read back from.
const COLUMNS: &str = "id, tenant_id, channel_id, provider_message_id, contact_external_id, \
                       contact_name, contact_phone, type, text, content, priority, \
                       channel_ordering_key";

/// Stores inbox rows (as returned in any order) in id order: on PostgreSQL in a fixed number
/// of statements (`postgres_store::store_batch`), on SQLite one message at a time.
async fn store_rows(
    connection: &mut Db<'_>,
    rows: &[Row],
    registrar: &Registrar,
) -> Result<Ingested, StoreError> {
    let mut taken = rows
        .iter()
        .map(accepted_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    taken.sort_by_key(|accepted| accepted.id);
    if connection.is_postgres() {
        return postgres_store::store_batch(connection, taken, registrar).await;
    }
    let mut stored = Ingested::default();
    for accepted in taken {
        store_message(
            connection,
            accepted.tenant_id,
            accepted.channel_id,
            accepted.message,
            registrar,
            &mut stored,
        )
        .await?;
    }
    Ok(stored)
}

/// An inbox row.
pub(crate) struct Accepted {
    pub id: i64,
    pub tenant_id: TenantId,
    pub channel_id: ChannelId,
    pub message: IngestMessage,
}

fn accepted_from_row(row: &Row) -> Result<Accepted, StoreError> {
    Ok(Accepted {
        id: row.integer("id")?,
        tenant_id: row.parsed("tenant_id")?,
        channel_id: row.parsed("channel_id")?,
        message: IngestMessage {
            contact_external_id: row.text("contact_external_id")?,
            contact_name: row.optional_text("contact_name")?,
            contact_phone: row.optional_text("contact_phone")?,
            provider_message_id: row.text("provider_message_id")?,
            message_type: row.parsed("type")?,
            text: row.optional_text("text")?,
            content: row.optional_json("content")?,
            priority: u8::try_from(row.integer("priority")?).unwrap_or(u8::MAX),
            channel_ordering_key: row.optional_parsed("channel_ordering_key")?,
        },
    })
}

/// Adds a body's messages to the inbox file: see [`add_to_inbox`]. (PostgreSQL adds several
/// bodies' at once: `postgres_accept::AcceptBatches`.)
async fn add_all(
    inbox: &mut Db<'_>,
    database: &Database,
    tenant_id: TenantId,
    channel_id: ChannelId,
    messages: &[IngestMessage],
) -> Result<Ingested, StoreError> {
    let mut accepted = Ingested::default();
    for inbound in messages {
        add_to_inbox(
            inbox,
            database,
            tenant_id,
            channel_id,
            inbound,
            &mut accepted,
        )
        .await?;
    }
    Ok(accepted)
}

/// Adds `inbound` to the inbox (`inbox`) unless it is a redelivery: its provider id waiting in
/// the inbox already, or stored in the database (`database`).
///
/// The database is read after the insert: an insert that waited on (PostgreSQL) or followed
/// (SQLite's single inbox writer) the removal of the first delivery's row then sees the
/// message that was stored before that removal.
async fn add_to_inbox(
    inbox: &mut Db<'_>,
    database: &Database,
    tenant_id: TenantId,
    channel_id: ChannelId,
    inbound: &IngestMessage,
    accepted: &mut Ingested,
) -> Result<(), StoreError> {
    let added: Option<i64> = query(
        "INSERT INTO inbox (tenant_id, channel_id, provider_message_id, contact_external_id,
                            contact_name, contact_phone, type, text, content, priority,
                            channel_ordering_key, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (channel_id, provider_message_id) DO NOTHING
         RETURNING id",
    )
    .bind(tenant_id.to_string())
    .bind(channel_id.to_string())
    .bind(&inbound.provider_message_id)
    .bind(&inbound.contact_external_id)
    .bind(inbound.contact_name.clone())
    .bind(inbound.contact_phone.clone())
    .bind(inbound.message_type.as_str())
    .bind(inbound.text.clone())
    .bind(inbound.content.as_ref().map(serde_json::Value::to_string))
    .bind(i64::from(inbound.priority))
    .bind(inbound.channel_ordering_key.clone())
    .bind(millis(now()))
    .fetch_optional_scalar(&mut *inbox)
    .await?;
    let Some(id) = added else {
        accepted.duplicates += 1;
        return Ok(());
    };
    let stored = query("SELECT 1 FROM messages WHERE channel_id = $1 AND provider_message_id = $2")
        .bind(channel_id.to_string())
        .bind(&inbound.provider_message_id)
        .fetch_optional(database.reader())
        .await?;
    if stored.is_some() {
        query("DELETE FROM inbox WHERE id = $1")
            .bind(id)
            .execute(inbox)
            .await?;
        accepted.duplicates += 1;
    } else {
        accepted.accepted += 1;
    }
    Ok(())
}
