//! Contacts: created by operators and apps (and, later, by inbound messages).

use switchboard_core::{Attributes, Caller, Contact, ContactId, Page, Permission, ValidationError};
use switchboard_store::NewContact;

use crate::channels::in_use;
use crate::{Engine, EngineError, PageRequest, require};

/// A new contact, or changes to one (`None` leaves a field as it is).
#[derive(Default)]
pub struct ContactInput {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    pub email: Option<String>,
    /// An IANA time zone, any case (stored in its canonical spelling).
    pub timezone: Option<String>,
    /// Replaces every attribute when given.
    pub attributes: Option<Attributes>,
}

/// The most attributes a contact keeps, and the longest name and value.
const MAX_ATTRIBUTES: usize = 100;
const MAX_ATTRIBUTE_NAME: usize = 100;
const MAX_ATTRIBUTE_VALUE: usize = 1000;

impl ContactInput {
    fn validate(&self) -> Result<(), ValidationError> {
        if let Some(name) = &self.name {
            ValidationError::limit_text("name", name, 200)?;
        }
        if let Some(phone) = &self.phone {
            Contact::validate_phone(phone)?;
        }
        if let Some(external_id) = &self.external_id {
            ValidationError::require_text("externalId", external_id, 200)?;
        }
        if let Some(email) = &self.email {
            Contact::validate_email(email)?;
        }
        if let Some(timezone) = &self.timezone {
            Contact::canonical_timezone(timezone)?;
        }
        if let Some(attributes) = &self.attributes {
            if attributes.len() > MAX_ATTRIBUTES {
                return Err(ValidationError::new(
                    "attributes",
                    format!("at most {MAX_ATTRIBUTES} attributes"),
                ));
            }
            for (name, value) in attributes {
                ValidationError::require_text("attributes", name, MAX_ATTRIBUTE_NAME)?;
                ValidationError::limit_text(
                    &format!("attributes.{name}"),
                    value,
                    MAX_ATTRIBUTE_VALUE,
                )?;
            }
        }
        Ok(())
    }

    fn into_new(self) -> NewContact {
        let timezone = self
            .timezone
            .as_deref()
            .and_then(|zone| Contact::canonical_timezone(zone).ok())
            .map(str::to_owned);
        NewContact {
            name: self.name,
            phone: self.phone,
            external_id: self.external_id,
            email: self.email,
            timezone,
            attributes: self.attributes,
        }
    }
}

const TAKEN: &str = "a contact with this externalId already exists";

impl Engine {
    pub async fn create_contact(
        &self,
        caller: &Caller,
        input: ContactInput,
    ) -> Result<Contact, EngineError> {
        require(caller, Permission::Converse)?;
        input.validate()?;
        self.store
            .create_contact(caller.tenant_id, input.into_new())
            .await
            .map_err(EngineError::conflict_as(TAKEN))
    }

    pub async fn get_contact(
        &self,
        caller: &Caller,
        id: ContactId,
    ) -> Result<Contact, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.get_contact(caller.tenant_id, id).await?)
    }

    /// The contacts among `ids`, in no particular order, read at once; another tenant's ids
    /// find nothing, as with [`Engine::get_contact`].
    pub async fn get_contacts(
        &self,
        caller: &Caller,
        ids: &[ContactId],
    ) -> Result<Vec<Contact>, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.get_contacts(caller.tenant_id, ids).await?)
    }

    pub async fn list_contacts(
        &self,
        caller: &Caller,
        phone: Option<&str>,
        external_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<Contact>, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self
            .store
            .list_contacts(caller.tenant_id, phone, external_id, page)
            .await?)
    }

    pub async fn update_contact(
        &self,
        caller: &Caller,
        id: ContactId,
        input: ContactInput,
    ) -> Result<Contact, EngineError> {
        require(caller, Permission::Converse)?;
        input.validate()?;
        self.store
            .update_contact(caller.tenant_id, id, input.into_new())
            .await
            .map_err(EngineError::conflict_as(TAKEN))
    }

    pub async fn delete_contact(&self, caller: &Caller, id: ContactId) -> Result<(), EngineError> {
        require(caller, Permission::ManageTenant)?;
        self.store
            .delete_contact(caller.tenant_id, id)
            .await
            .map_err(in_use("the contact has conversations"))
    }
}
