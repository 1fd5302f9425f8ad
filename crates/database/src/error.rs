//! What can go wrong in the database, classified where the driver's error arrives, so that the
//! crates above map it to their own terms without knowing either driver.

/// A database failure. Constraint violations arrive here already classified.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// No row matched a statement that had to change or return one.
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// A unique constraint refused the write; `constraint` names what collided.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// A referenced row does not exist, or a row is still referenced.
    #[error("foreign key violation: {detail}")]
    ForeignKey { detail: String },
    /// A pagination cursor that was not issued here.
    #[error("invalid cursor")]
    InvalidCursor,
    /// A stored value does not decode (a bug or a hand-edited database).
    #[error("corrupt value in column {column}: {reason}")]
    Corrupt {
        column: &'static str,
        reason: String,
    },
    /// The database cannot be reached, is locked by another process, or is shutting down.
    #[error("database unavailable")]
    Unavailable(#[source] Source),
    #[error("database error")]
    Other(#[source] Source),
}

/// The driver's own error, kept as the cause.
pub type Source = Box<dyn std::error::Error + Send + Sync>;

/// An error a write or a batch may end in: the caller's own error type, which every database
/// failure converts into, and which says whether it means the database is unavailable (so
/// that batches tell every caller at once rather than trying each alone).
pub trait Failure: From<DatabaseError> + std::error::Error + Send + Sync + 'static {
    fn is_unavailable(&self) -> bool;
}

impl Failure for DatabaseError {
    fn is_unavailable(&self) -> bool {
        matches!(self, DatabaseError::Unavailable(_))
    }
}

impl DatabaseError {
    pub fn not_found(entity: &'static str) -> Self {
        DatabaseError::NotFound { entity }
    }

    /// Unavailable, for a reason of our own.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        DatabaseError::Unavailable(reason.into().into())
    }
}

impl From<sqlx::Error> for DatabaseError {
    fn from(error: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &error {
            sqlx::Error::Database(database_error) => match database_error.kind() {
                ErrorKind::UniqueViolation => DatabaseError::Conflict {
                    constraint: database_error
                        .constraint()
                        .map(str::to_owned)
                        .unwrap_or_else(|| database_error.message().to_owned()),
                },
                ErrorKind::ForeignKeyViolation => DatabaseError::ForeignKey {
                    detail: database_error.message().to_owned(),
                },
                _ => DatabaseError::Other(Box::new(error)),
            },
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => DatabaseError::Unavailable(Box::new(error)),
            _ => DatabaseError::Other(Box::new(error)),
        }
    }
}

impl From<rusqlite::Error> for DatabaseError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        let rusqlite::Error::SqliteFailure(failure, message) = &error else {
            return DatabaseError::Other(Box::new(error));
        };
        let message = message.clone().unwrap_or_else(|| failure.to_string());
        match failure.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                DatabaseError::Conflict {
                    constraint: message,
                }
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => DatabaseError::ForeignKey { detail: message },
            _ => match failure.code {
                rusqlite::ErrorCode::DatabaseBusy
                | rusqlite::ErrorCode::DatabaseLocked
                | rusqlite::ErrorCode::CannotOpen
                | rusqlite::ErrorCode::SystemIoFailure
                | rusqlite::ErrorCode::DiskFull
                | rusqlite::ErrorCode::OutOfMemory => DatabaseError::Unavailable(Box::new(error)),
                _ => DatabaseError::Other(Box::new(error)),
            },
        }
    }
}
