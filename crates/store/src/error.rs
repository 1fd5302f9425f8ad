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
    /// A secret that cannot be sealed or opened: most often a master key that is not the one
    /// the database was sealed with.
    #[error(transparent)]
    Secrets(#[from] crate::SecretsError),
}

pub use switchboard_database::Source;
use switchboard_database::{DatabaseError, Failure};

impl From<DatabaseError> for StoreError {
    fn from(error: DatabaseError) -> Self {
        match error {
            DatabaseError::NotFound { entity } => StoreError::NotFound { entity },
            DatabaseError::Conflict { constraint } => StoreError::Conflict { constraint },
            DatabaseError::ForeignKey { detail } => StoreError::ForeignKey { detail },
            DatabaseError::InvalidCursor => StoreError::InvalidCursor,
            DatabaseError::Corrupt { column, reason } => StoreError::Corrupt { column, reason },
            DatabaseError::Unavailable(source) => StoreError::Unavailable(source),
            DatabaseError::Other(source) => StoreError::Database(source),
        }
    }
}

impl Failure for StoreError {
    fn is_unavailable(&self) -> bool {
        StoreError::is_unavailable(self)
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
