//! Bringing every sealed column under the keyring's current key, in one transaction: values
//! stored before sealing existed are sealed, values under an older key are re-sealed, and every
//! other value is opened once to prove the key is right. On SQLite the replaced values are
//! zeroed in the database file (`secure_delete`) and the WAL is emptied after the commit. Run on every start (so a database from
//! before sealing, or one left half-way through a rotation, is brought up to date) and by the
//! rotation command; running it twice changes nothing the second time.

use switchboard_database::{RowExt, query};

use super::SealedColumn;
use crate::{Store, StoreError};

/// What [`Store::seal_secrets`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Values read and opened.
    pub checked: u64,
    /// Values written anew under the current key (plaintext before, or under an older key).
    pub sealed: u64,
}

impl Store {
    /// Seals every secret-holding value not yet under the current key, in one transaction.
    /// Fails, changing nothing, if any stored value does not open under the configured keys
    /// (`StoreError::Secrets` names the row and the key id it needs).
    pub async fn seal_secrets(&self) -> Result<Resealed, StoreError> {
        let keyring = self.inner.keyring.clone();
        let resealed = self
            .write(move |connection| {
                Box::pin(async move {
                    if !connection.is_postgres() {
                        // A value replaced here is zeroed in the file, not left in a free block;
                        // the setting stays on for the writer's connection, so later changes of a
                        // sealed column leave nothing behind either.
                        query("PRAGMA secure_delete = ON")
                            .execute(&mut *connection)
                            .await?;
                    }
                    let mut resealed = Resealed::default();
                    for column in SealedColumn::ALL {
                        let rows = query(format!(
                            "SELECT id, {} FROM {} ORDER BY id",
                            column.column(),
                            column.table()
                        ))
                        .fetch_all(&mut *connection)
                        .await?;
                        for row in rows {
                            let id = row.text("id")?;
                            let stored = row.text(column.column())?;
                            let plaintext = keyring.open(column, &id, &stored)?;
                            resealed.checked += 1;
                            if keyring.is_current(column, &id, &stored) {
                                continue;
                            }
                            let sealed = keyring.seal(column, &id, &plaintext)?;
                            query(format!(
                                "UPDATE {} SET {} = $1 WHERE id = $2",
                                column.table(),
                                column.column()
                            ))
                            .bind(sealed)
                            .bind(id)
                            .execute(&mut *connection)
                            .await?;
                            resealed.sealed += 1;
                        }
                    }
                    Ok(resealed)
                })
            })
            .await?;
        if resealed.sealed > 0 && !self.inner.database.truncate_wal().await? {
            tracing::warn!(
                "the WAL still holds the values replaced by sealing until its next checkpoint"
            );
        }
        Ok(resealed)
    }
}
