//! One batch of an import, in one transaction: each valid row upserted (by externalId, else by
//! phone), the batch's row errors recorded, and the checkpoint moved past the batch. The
//! checkpoint moves only from where the batch began, so a batch is applied once even if two
//! nodes run the same import.
//!
//! Each contact an import writes remembers the import and line (`import_id`, `import_line`):
//! a later row of the same file that reaches the same contact is a `duplicate_in_file`, found
//! without the file's keys held in memory, and across restarts.

use std::collections::HashMap;

use switchboard_core::{
    Attributes, CampaignId, ContactId, ImportCounts, ImportId, RowError, RowErrorCode, TenantId,
};
use switchboard_database::{Db, Query, Row, RowExt, millis, now, query};

use super::counts_from_row;
use crate::contacts::attributes_text;
use crate::table::IdList;
use crate::{Store, StoreError};

/// A row that passed validation: what to write.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// The line of the file the row starts on.
    pub line: i64,
    /// E.164.
    pub phone: String,
    pub name: Option<String>,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub timezone: Option<String>,
    /// The row's other columns; empty cells left out.
    pub attributes: Attributes,
}

/// A batch of rows read from an import's file, and the checkpoint after it.
#[derive(Debug, Default)]
pub struct ImportBatch {
    /// Where the batch begins: the checkpoint it expects to find.
    pub from_offset: i64,
    pub rows: Vec<ImportRow>,
    /// The errors of rows refused before the store (several may name one row).
    pub errors: Vec<RowError>,
    /// Rows read, valid or not, and how many of them were refused.
    pub rows_read: i64,
    pub rows_refused: i64,
    /// The next row's byte and line.
    pub next_offset: i64,
    pub next_line: i64,
    /// The file ends with this batch: the import completes with it.
    pub last: bool,
    /// A `calls` import's campaign: each row's contact is added to it as a queued call (once).
    pub campaign_id: Option<CampaignId>,
}

/// A contact as the batch knows it.
#[derive(Debug, Clone, PartialEq)]
struct Known {
    id: ContactId,
    name: Option<String>,
    phone: Option<String>,
    external_id: Option<String>,
    email: Option<String>,
    timezone: Option<String>,
    attributes: Attributes,
    import_id: Option<String>,
    import_line: Option<i64>,
}

impl Known {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        let attributes = row.text("attributes")?;
        Ok(Self {
            id: row.parsed("id")?,
            name: row.optional_text("name")?,
            phone: row.optional_text("phone")?,
            external_id: row.optional_text("external_id")?,
            email: row.optional_text("email")?,
            timezone: row.optional_text("timezone")?,
            attributes: serde_json::from_str(&attributes).map_err(|error| StoreError::Corrupt {
                column: "attributes",
                reason: error.to_string(),
            })?,
            import_id: row.optional_text("import_id")?,
            import_line: row.optional_integer("import_line")?,
        })
    }

    /// This contact with the row's non-empty values over its own.
    fn merged(&self, row: &ImportRow) -> Known {
        let mut attributes = self.attributes.clone();
        attributes.extend(row.attributes.clone());
        Known {
            id: self.id,
            name: row.name.clone().or_else(|| self.name.clone()),
            phone: Some(row.phone.clone()),
            external_id: row.external_id.clone().or_else(|| self.external_id.clone()),
            email: row.email.clone().or_else(|| self.email.clone()),
            timezone: row.timezone.clone().or_else(|| self.timezone.clone()),
            attributes,
            import_id: self.import_id.clone(),
            import_line: self.import_line,
        }
    }
}

/// The contacts a batch may reach, looked up once, kept current as the batch writes.
#[derive(Default)]
struct Directory {
    contacts: Vec<Known>,
    by_external_id: HashMap<String, usize>,
    /// The oldest contact with each phone.
    by_phone: HashMap<String, usize>,
}

impl Directory {
    fn index(&mut self, position: usize) {
        let contact = &self.contacts[position];
        if let Some(external_id) = &contact.external_id {
            self.by_external_id.insert(external_id.clone(), position);
        }
        if let Some(phone) = &contact.phone {
            self.by_phone.entry(phone.clone()).or_insert(position);
        }
    }

    fn add(&mut self, contact: Known) {
        self.contacts.push(contact);
        self.index(self.contacts.len() - 1);
    }

    /// The contact a row upserts: by externalId; else by phone (a row with an externalId takes
    /// a phone's contact only if that contact has none). With the column the match was on.
    fn find(&self, row: &ImportRow) -> Option<(usize, &'static str)> {
        if let Some(external_id) = &row.external_id {
            if let Some(&position) = self.by_external_id.get(external_id) {
                return Some((position, "externalId"));
            }
            return self
                .by_phone
                .get(&row.phone)
                .filter(|&&position| self.contacts[position].external_id.is_none())
                .map(|&position| (position, "phone"));
        }
        self.by_phone
            .get(&row.phone)
            .map(|&position| (position, "phone"))
    }
}

const KNOWN_COLUMNS: &str =
    "id, name, phone, external_id, email, timezone, attributes, import_id, import_line";

impl Store {
    /// Applies `batch` to import `id` and returns the import's counts after it. `Conflict` when
    /// the checkpoint is no longer where the batch began (another node applied it).
    pub async fn apply_import_batch(
        &self,
        tenant_id: TenantId,
        id: ImportId,
        batch: ImportBatch,
    ) -> Result<ImportCounts, StoreError> {
        self.write(move |connection| {
            Box::pin(async move { apply(connection, tenant_id, id, batch).await })
        })
        .await
    }
}

async fn apply(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    id: ImportId,
    batch: ImportBatch,
) -> Result<ImportCounts, StoreError> {
    let import = id.to_string();
    let at = millis(now());
    let mut directory = look_up(connection, tenant_id, &batch.rows).await?;
    let mut counts = ImportCounts {
        rows_read: batch.rows_read,
        failed: batch.rows_refused,
        ..ImportCounts::default()
    };
    let end = batch_end(&batch);
    let mut errors = batch.errors;
    let campaign = match batch.campaign_id {
        Some(campaign_id) => Some(CampaignCalls::read(connection, tenant_id, campaign_id).await?),
        None => None,
    };
    for row in &batch.rows {
        let Some((position, column)) = directory.find(row) else {
            let contact = insert(connection, tenant_id, &import, row, at).await?;
            if let Some(campaign) = &campaign {
                campaign.add(connection, tenant_id, &contact).await?;
            }
            directory.add(contact);
            counts.created += 1;
            continue;
        };
        let known = &directory.contacts[position];
        if known.import_id.as_deref() == Some(import.as_str()) {
            errors.push(RowError {
                line: row.line,
                column: column.into(),
                code: RowErrorCode::DuplicateInFile,
                message: format!(
                    "the same contact as line {}",
                    known.import_line.unwrap_or_default()
                ),
            });
            counts.failed += 1;
            continue;
        }
        let mut merged = known.merged(row);
        let changed = merged != *known;
        update(
            connection, tenant_id, &import, row.line, &merged, changed, at,
        )
        .await?;
        merged.import_id = Some(import.clone());
        merged.import_line = Some(row.line);
        if let Some(campaign) = &campaign {
            campaign.add(connection, tenant_id, &merged).await?;
        }
        directory.contacts[position] = merged;
        directory.index(position);
        if changed {
            counts.updated += 1;
        } else {
            counts.unchanged += 1;
        }
    }
    for error in &errors {
        query(
            "INSERT INTO import_errors (import_id, line, column_name, code, message)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(&import)
        .bind(error.line)
        .bind(&error.column)
        .bind(error.code.as_str())
        .bind(&error.message)
        .execute(&mut *connection)
        .await?;
    }
    checkpoint(connection, tenant_id, &import, &end, &counts, at).await
}

/// Where a batch leaves the import.
struct BatchEnd {
    from_offset: i64,
    next_offset: i64,
    next_line: i64,
    last: bool,
}

fn batch_end(batch: &ImportBatch) -> BatchEnd {
    BatchEnd {
        from_offset: batch.from_offset,
        next_offset: batch.next_offset,
        next_line: batch.next_line,
        last: batch.last,
    }
}

/// Moves the checkpoint and adds the batch's counts; completes the import after its last batch.
async fn checkpoint(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    import: &str,
    end: &BatchEnd,
    counts: &ImportCounts,
    at: i64,
) -> Result<ImportCounts, StoreError> {
    let row = query(
        "UPDATE imports SET next_offset = $4, next_line = $5, rows_read = rows_read + $6,
             created = created + $7, updated = updated + $8, unchanged = unchanged + $9,
             failed = failed + $10, updated_at = $11,
             status = CASE WHEN $12 = 1 THEN 'completed' ELSE status END,
             completed_at = CASE WHEN $12 = 1 THEN $11 ELSE completed_at END
         WHERE tenant_id = $1 AND id = $2 AND status = 'running' AND next_offset = $3
         RETURNING rows_read, created, updated, unchanged, failed",
    )
    .bind(tenant_id.to_string())
    .bind(import)
    .bind(end.from_offset)
    .bind(end.next_offset)
    .bind(end.next_line)
    .bind(counts.rows_read)
    .bind(counts.created)
    .bind(counts.updated)
    .bind(counts.unchanged)
    .bind(counts.failed)
    .bind(at)
    .bind(end.last)
    .fetch_optional(&mut *connection)
    .await?
    .ok_or_else(|| StoreError::Conflict {
        constraint: "import checkpoint".into(),
    })?;
    if end.last {
        query("DELETE FROM import_chunks WHERE import_id = $1")
            .bind(import)
            .execute(&mut *connection)
            .await?;
    }
    counts_from_row(&row)
}

/// The tenant's contacts with the batch's externalIds or phones, in two statements.
async fn look_up(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    rows: &[ImportRow],
) -> Result<Directory, StoreError> {
    let mut directory = Directory::default();
    let external_ids: Vec<&str> = rows
        .iter()
        .filter_map(|row| row.external_id.as_deref())
        .collect();
    let phones: Vec<&str> = rows.iter().map(|row| row.phone.as_str()).collect();
    let mut found = Vec::new();
    for (column, keys) in [("external_id", external_ids), ("phone", phones)] {
        let keys = IdList::new(&keys);
        if keys.is_empty() {
            continue;
        }
        // No ORDER BY: SQLite would walk the whole table in id order to avoid a sort.
        let statement = query(format!(
            "SELECT {KNOWN_COLUMNS} FROM contacts WHERE tenant_id = $1 AND {column} IN ({})",
            keys.placeholders(2)
        ))
        .bind(tenant_id.to_string());
        for row in keys.bind(statement).fetch_all(&mut *connection).await? {
            found.push(Known::from_row(&row)?);
        }
    }
    // Oldest first (ids are time-ordered), so a phone leads to its oldest contact.
    found.sort_by_key(|contact| contact.id);
    found.dedup_by_key(|contact| contact.id);
    for contact in found {
        directory.add(contact);
    }
    Ok(directory)
}

async fn insert(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    import: &str,
    row: &ImportRow,
    at: i64,
) -> Result<Known, StoreError> {
    let contact = Known {
        id: ContactId::new(),
        name: row.name.clone(),
        phone: Some(row.phone.clone()),
        external_id: row.external_id.clone(),
        email: row.email.clone(),
        timezone: row.timezone.clone(),
        attributes: row.attributes.clone(),
        import_id: Some(import.to_owned()),
        import_line: Some(row.line),
    };
    let statement = query(
        "INSERT INTO contacts (id, tenant_id, import_id, import_line, name, phone, external_id,
             email, timezone, attributes, updated_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(contact.id.to_string())
    .bind(tenant_id.to_string())
    .bind(import)
    .bind(row.line);
    bind_fields(statement, &contact, at)
        .execute(connection)
        .await?;
    Ok(contact)
}

/// The contact's fields and the time, as the next seven parameters (`name` to `updated_at`).
fn bind_fields(statement: Query, contact: &Known, at: i64) -> Query {
    statement
        .bind(contact.name.as_deref())
        .bind(contact.phone.as_deref())
        .bind(contact.external_id.as_deref())
        .bind(contact.email.as_deref())
        .bind(contact.timezone.as_deref())
        .bind(attributes_text(&contact.attributes))
        .bind(at)
}

/// Writes `contact` back (or, `changed` false, only which import and line reached it).
async fn update(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    import: &str,
    line: i64,
    contact: &Known,
    changed: bool,
    at: i64,
) -> Result<(), StoreError> {
    let statement = if changed {
        query(
            "UPDATE contacts SET import_id = $3, import_line = $4, name = $5, phone = $6,
                 external_id = $7, email = $8, timezone = $9, attributes = $10, updated_at = $11
             WHERE tenant_id = $1 AND id = $2",
        )
    } else {
        query(
            "UPDATE contacts SET import_id = $3, import_line = $4 WHERE tenant_id = $1 AND id = $2",
        )
    };
    let statement = statement
        .bind(tenant_id.to_string())
        .bind(contact.id.to_string())
        .bind(import)
        .bind(line);
    let statement = if changed {
        bind_fields(statement, contact, at)
    } else {
        statement
    };
    statement.execute(connection).await?;
    Ok(())
}

/// A `calls` import's campaign, as each row's call needs it.
struct CampaignCalls {
    id: CampaignId,
    channel_id: switchboard_core::ChannelId,
    agent_id: Option<switchboard_core::AgentId>,
    timezone: String,
    due_at: switchboard_core::Timestamp,
}

impl CampaignCalls {
    async fn read(
        connection: &mut Db<'_>,
        tenant_id: TenantId,
        id: CampaignId,
    ) -> Result<Self, StoreError> {
        let row = query(
            "SELECT channel_id, agent_id, schedule FROM campaigns WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *connection)
        .await?
        .ok_or(StoreError::not_found("campaign"))?;
        let schedule: switchboard_core::CampaignSchedule = row.json("schedule")?;
        Ok(Self {
            id,
            channel_id: row.parsed("channel_id")?,
            agent_id: row.optional_parsed("agent_id")?,
            due_at: schedule.start_at.unwrap_or_else(now),
            timezone: schedule.timezone,
        })
    }

    /// Adds `contact` to the campaign as a queued call, unless it is in it already.
    async fn add(
        &self,
        connection: &mut Db<'_>,
        tenant_id: TenantId,
        contact: &Known,
    ) -> Result<(), StoreError> {
        let Some(phone) = contact.phone.clone() else {
            return Ok(());
        };
        let timezone = switchboard_calling::recipient_zone_name(
            contact.timezone.as_deref(),
            &phone,
            &self.timezone,
        )
        .to_owned();
        let call = crate::calls::NewCall {
            channel_id: self.channel_id,
            contact_id: contact.id,
            agent_id: self.agent_id,
            to: phone,
            timezone,
            due_at: self.due_at,
            variables: serde_json::to_value(&contact.attributes).unwrap_or_default(),
            retry: None,
        };
        crate::calls::insert_call(connection, tenant_id, Some(self.id), call).await?;
        Ok(())
    }
}
