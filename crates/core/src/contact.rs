//! A contact: the person on the other side of a channel (a WhatsApp number, a Telegram chat, an
//! app's end user), known by phone and/or the id the customer's system gives them.

use crate::{ContactId, TenantId, Timestamp};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub id: ContactId,
    pub tenant_id: TenantId,
    pub name: Option<String>,
    /// E.164 when known (`+15551234567`).
    pub phone: Option<String>,
    /// The contact's id in the customer's or the provider's system, unique within the tenant.
    pub external_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl Contact {
    /// Checks that a phone number looks like E.164: `+` and 7 to 15 digits.
    pub fn validate_phone(phone: &str) -> Result<(), crate::ValidationError> {
        let digits = phone.strip_prefix('+').unwrap_or("");
        if (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(crate::ValidationError::new(
                "phone",
                "must be in E.164 form: + followed by 7 to 15 digits",
            ))
        }
    }
}
