//! Input rules that hold whatever the transport: each failure names the field to fix.

/// A value a caller supplied that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The offending field in the caller's terms (`config.phoneNumberId`, `password`).
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Checks that a required text is present and not longer than `max` characters.
    pub fn require_text(field: &str, value: &str, max: usize) -> Result<(), Self> {
        if value.trim().is_empty() {
            return Err(Self::new(field, "must not be empty"));
        }
        Self::limit_text(field, value, max)
    }

    /// Checks that a text is not longer than `max` characters.
    pub fn limit_text(field: &str, value: &str, max: usize) -> Result<(), Self> {
        if value.chars().count() > max {
            return Err(Self::new(
                field,
                format!("must be at most {max} characters"),
            ));
        }
        Ok(())
    }
}
