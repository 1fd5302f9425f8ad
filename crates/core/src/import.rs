//! Bulk imports: a CSV file uploaded once, stored, and applied in the background in batches,
//! each committed with the import's checkpoint. Row problems are kept per row and do not stop
//! the import; a file that cannot be read at all is refused before anything is stored.

use crate::vocabulary::vocabulary;
use crate::{ImportId, TenantId, Timestamp};

vocabulary! {
    /// What an import's rows become.
    pub enum ImportKind {
        Contacts = "contacts",
        /// Contacts, each also added to a campaign as a call.
        Calls = "calls",
    }
}

vocabulary! {
    /// Where an import is.
    pub enum ImportStatus {
        /// Stored and being applied (also after a restart, until it finishes).
        Running = "running",
        /// Every row read: applied, or recorded as a row error.
        Completed = "completed",
        /// Stopped for a reason that is not one row's (`error` says which).
        Failed = "failed",
    }
}

vocabulary! {
    /// Why one row was not applied.
    pub enum RowErrorCode {
        /// No phone in a row that needs one (no externalId to go by, or a new contact).
        MissingPhone = "missing_phone",
        InvalidPhone = "invalid_phone",
        InvalidEmail = "invalid_email",
        InvalidTimezone = "invalid_timezone",
        /// A value longer than its column allows.
        TooLong = "too_long",
        /// More or fewer fields than the header.
        WrongFieldCount = "wrong_field_count",
        /// The same contact (externalId, else phone) on an earlier line of the file.
        DuplicateInFile = "duplicate_in_file",
    }
}

/// An import as clients see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Import {
    pub id: ImportId,
    pub tenant_id: TenantId,
    pub kind: ImportKind,
    pub status: ImportStatus,
    /// The uploaded file's name, when it had one (multipart, or the command line's).
    pub file_name: Option<String>,
    /// Bytes of CSV (after any gzip) and data rows in the file, counted at upload.
    pub total_bytes: i64,
    pub rows_total: i64,
    /// Data rows read so far, and what became of them.
    pub rows_read: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
    /// Share of the rows read, 0 to 1.
    pub progress: f64,
    /// Why a failed import failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub completed_at: Option<Timestamp>,
}

/// One row that was not applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RowError {
    /// The line of the file the row starts on (the header is line 1).
    pub line: i64,
    /// The column at fault, as the header names it (empty for the whole row).
    pub column: String,
    pub code: RowErrorCode,
    pub message: String,
}

impl RowError {
    /// The header of a CSV of row errors.
    pub const CSV_HEADER: &'static str = "line,column,code,message\n";

    /// This error as a CSV line (quoted where needed; a text a spreadsheet would run as a
    /// formula is prefixed with `'`).
    pub fn csv_line(&self) -> String {
        format!(
            "{},{},{},{}\n",
            self.line,
            csv_field(&self.column),
            self.code,
            csv_field(&self.message)
        )
    }
}

fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// How far an import's rows have come: counts so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub rows_read: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
}

impl ImportCounts {
    pub fn add(&mut self, other: &ImportCounts) {
        self.rows_read += other.rows_read;
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.failed += other.failed;
    }
}
