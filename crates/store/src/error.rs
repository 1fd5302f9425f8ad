//! What can go wrong in the store, in terms the engine can act on.

/// A store failure. Constraint violations arrive here already classified.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No row with that id in the caller's tenant.
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// A unique constraint refused the write; `constraint` names what collided.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// A referenced row does not exist in the tenant, or a row is still referenced.
    #[error("foreign key violation: {detail}")]
    ForeignKey { detail: String },
    /// A pagination cursor that this store did not issue.
    #[error("invalid cursor")]
    InvalidCursor,
    /// The tenant's balance does not cover a debit.
    #[error("insufficient credits")]
    InsufficientCredits,
    /// A full-text query the backend cannot parse.
    #[error("invalid search query: {0}")]
    InvalidSearch(String),
    /// The statement given for analysis is not a single read-only SELECT.
    #[error("not a read-only query: {0}")]
    NotReadOnly(String),
    /// A statement given for analysis that the database refused (syntax, unknown table).
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A stored value does not decode (a bug or a hand-edited database).
    #[error("corrupt value in column {column}: {reason}")]
    Corrupt {
        column: &'static str,
        reason: String,
    },
    /// The database cannot be reached, is locked by another process, or is shutting down.
    #[error("store unavailable")]
    Unavailable(#[source] Source),
    #[error("migration failed")]
    Migration(#[source] Source),
    #[error("database error")]
    Database(#[source] Source),
}

/// The driver's own error, kept as the cause.
pub type Source = Box<dyn std::error::Error + Send + Sync>;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &error {
            sqlx::Error::Database(database_error) => match database_error.kind() {
                ErrorKind::UniqueViolation => StoreError::Conflict {
                    constraint: database_error
                        .constraint()
                        .map(str::to_owned)
                        .unwrap_or_else(|| database_error.message().to_owned()),
                },
                ErrorKind::ForeignKeyViolation => StoreError::ForeignKey {
                    detail: database_error.message().to_owned(),
                },
                _ => StoreError::Database(Box::new(error)),
            },
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(error)),
            _ => StoreError::Database(Box::new(error)),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        let rusqlite::Error::SqliteFailure(failure, message) = &error else {
            return StoreError::Database(Box::new(error));
        };
        let message = message.clone().unwrap_or_else(|| failure.to_string());
        match failure.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                StoreError::Conflict {
                    constraint: message,
                }
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => StoreError::ForeignKey { detail: message },
            _ => match failure.code {
                rusqlite::ErrorCode::DatabaseBusy
                | rusqlite::ErrorCode::DatabaseLocked
                | rusqlite::ErrorCode::CannotOpen
                | rusqlite::ErrorCode::SystemIoFailure
                | rusqlite::ErrorCode::DiskFull
                | rusqlite::ErrorCode::OutOfMemory => StoreError::Unavailable(Box::new(error)),
                _ => StoreError::Database(Box::new(error)),
            },
        }
    }
}

impl StoreError {
    pub(crate) fn not_found(entity: &'static str) -> Self {
        StoreError::NotFound { entity }
    }

    /// Whether retrying later may succeed (the database was unreachable, not the request wrong).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}
