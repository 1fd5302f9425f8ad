//! Contacts: the people on the other side of channels.

use switchboard_core::{Attributes, Contact, ContactId, Page, TenantId};

use crate::table::{IdList, Table};
use crate::{PageRequest, Store, StoreError};
use switchboard_database::{Row, query};
use switchboard_database::{RowExt, expect_changed, millis, now};

pub(crate) const COLUMNS: &str =
    "id, tenant_id, name, phone, external_id, email, timezone, attributes, created_at, updated_at";

#[derive(Default)]
pub struct NewContact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub timezone: Option<String>,
    pub attributes: Option<Attributes>,
}

/// Changes to a contact; `None` leaves a field as it is.
pub type ContactUpdate = NewContact;

/// Attributes as stored: a JSON object of texts.
pub(crate) fn attributes_text(attributes: &Attributes) -> String {
    serde_json::to_string(attributes).unwrap_or_else(|_| "{}".into())
}

fn attributes_from(row: &Row, column: &'static str) -> Result<Attributes, StoreError> {
    let text = row.text(column)?;
    serde_json::from_str(&text).map_err(|error| StoreError::Corrupt {
        column,
        reason: error.to_string(),
    })
}

pub(crate) fn contact_from_row(row: &Row) -> Result<Contact, StoreError> {
    Ok(Contact {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        name: row.optional_text("name")?,
        phone: row.optional_text("phone")?,
        external_id: row.optional_text("external_id")?,
        email: row.optional_text("email")?,
        timezone: row.optional_text("timezone")?,
        attributes: attributes_from(row, "attributes")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// A contact's columns joined to another row as `contact` (the id and tenant known from it):
/// read back by [`joined_contact`].
pub(crate) const JOINED_CONTACT_COLUMNS: &str = "contact.id AS contact_found,
    contact.tenant_id AS contact_tenant_id, contact.name AS contact_name,
    contact.phone AS contact_phone, contact.external_id AS contact_external_id,
    contact.email AS contact_email, contact.timezone AS contact_timezone,
    contact.attributes AS contact_attributes, contact.created_at AS contact_created_at, contact.updated_at AS contact_updated_at";

/// The contact joined to a row with [`JOINED_CONTACT_COLUMNS`]; `None` if none was found.
pub(crate) fn joined_contact(row: &Row) -> Result<Option<Contact>, StoreError> {
    let Some(id) = row.optional_parsed("contact_found")? else {
        return Ok(None);
    };
    Ok(Some(Contact {
        id,
        tenant_id: row.parsed("contact_tenant_id")?,
        name: row.optional_text("contact_name")?,
        phone: row.optional_text("contact_phone")?,
        external_id: row.optional_text("contact_external_id")?,
        email: row.optional_text("contact_email")?,
        timezone: row.optional_text("contact_timezone")?,
        attributes: attributes_from(row, "contact_attributes")?,
        created_at: row.time("contact_created_at")?,
        updated_at: row.time("contact_updated_at")?,
    }))
}

pub(crate) const CONTACTS: Table<Contact> = Table {
    name: "contacts",
    entity: "contact",
    columns: COLUMNS,
    live: "1 = 1",
    decode: contact_from_row,
    id: |row| row.id.to_string(),
};

impl Store {
    pub async fn create_contact(
        &self,
        tenant_id: TenantId,
        new: NewContact,
    ) -> Result<Contact, StoreError> {
        let at = now();
        let contact = Contact {
            id: ContactId::new(),
            tenant_id,
            name: new.name,
            phone: new.phone,
            external_id: new.external_id,
            email: new.email,
            timezone: new.timezone,
            attributes: new.attributes.unwrap_or_default(),
            created_at: at,
            updated_at: at,
        };
        let row = contact.clone();
        self.write(move |connection| {
            Box::pin(async move {
                query(
                    "INSERT INTO contacts (id, tenant_id, name, phone, external_id, email, timezone,
                         attributes, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                )
                .bind(row.id.to_string())
                .bind(row.tenant_id.to_string())
                .bind(row.name)
                .bind(row.phone)
                .bind(row.external_id)
                .bind(row.email)
                .bind(row.timezone)
                .bind(attributes_text(&row.attributes))
                .bind(millis(row.created_at))
                .execute(connection)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(contact)
    }

    pub async fn get_contact(
        &self,
        tenant_id: TenantId,
        id: ContactId,
    ) -> Result<Contact, StoreError> {
        self.fetch_row(&CONTACTS, tenant_id, id.to_string()).await
    }

    /// The tenant's contacts among `ids`, in no particular order, in one statement; another
    /// tenant's are left out.
    pub async fn get_contacts(
        &self,
        tenant_id: TenantId,
        ids: &[ContactId],
    ) -> Result<Vec<Contact>, StoreError> {
        self.fetch_rows(&CONTACTS, tenant_id, &IdList::new(ids))
            .await
    }

    /// Contacts in creation order; `phone` or `external_id` narrow to exact matches.
    pub async fn list_contacts(
        &self,
        tenant_id: TenantId,
        phone: Option<&str>,
        external_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<Contact>, StoreError> {
        let after = page.position()?.unwrap_or_default();
        let rows = query(format!(
            "SELECT {COLUMNS} FROM contacts
             WHERE tenant_id = $1 AND id > $2
               AND ($3 IS NULL OR phone = $3) AND ($4 IS NULL OR external_id = $4)
             ORDER BY id LIMIT $5"
        ))
        .bind(tenant_id.to_string())
        .bind(after)
        .bind(phone)
        .bind(external_id)
        .bind(page.limit() + 1)
        .fetch_all(self.reader())
        .await?;
        let contacts = rows
            .iter()
            .map(contact_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page.finish(contacts, |contact| contact.id.to_string()))
    }

    pub async fn update_contact(
        &self,
        tenant_id: TenantId,
        id: ContactId,
        update: ContactUpdate,
    ) -> Result<Contact, StoreError> {
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                let result = query(
                    "UPDATE contacts SET name = COALESCE($3, name), phone = COALESCE($4, phone),
                         external_id = COALESCE($5, external_id), email = COALESCE($6, email),
                         timezone = COALESCE($7, timezone), attributes = COALESCE($8, attributes),
                         updated_at = $9
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant_id.to_string())
                .bind(id.to_string())
                .bind(update.name)
                .bind(update.phone)
                .bind(update.external_id)
                .bind(update.email)
                .bind(update.timezone)
                .bind(update.attributes.as_ref().map(attributes_text))
                .bind(at)
                .execute(connection)
                .await?;
                Ok(expect_changed(result.rows_affected(), "contact")?)
            })
        })
        .await?;
        self.get_contact(tenant_id, id).await
    }

    /// Deletes a contact that no conversation refers to (`ForeignKey` otherwise).
    pub async fn delete_contact(
        &self,
        tenant_id: TenantId,
        id: ContactId,
    ) -> Result<(), StoreError> {
        self.delete_row("contacts", "contact", tenant_id, id.to_string())
            .await
    }

    /// Deletes one tenant-owned row by id.
    pub(crate) async fn delete_row(
        &self,
        table: &'static str,
        entity: &'static str,
        tenant_id: TenantId,
        id: String,
    ) -> Result<(), StoreError> {
        self.write(move |connection| {
            Box::pin(async move {
                let result = query(format!(
                    "DELETE FROM {table} WHERE tenant_id = $1 AND id = $2"
                ))
                .bind(tenant_id.to_string())
                .bind(id)
                .execute(connection)
                .await?;
                Ok(expect_changed(result.rows_affected(), entity)?)
            })
        })
        .await
    }
}
