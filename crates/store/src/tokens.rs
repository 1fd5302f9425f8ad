//! Refresh tokens, stored as hashes. Each login starts a family; each refresh revokes the token
//! it used and issues the next one of the same family. A revoked token presented again means it
//! was copied: the whole family is revoked. Logging out revokes the family too.

use switchboard_core::{Timestamp, UserId};

use crate::{Store, StoreError};
use switchboard_database::{Db, query};
use switchboard_database::{RowExt, millis, now};

pub struct NewRefreshToken {
    pub user_id: UserId,
    /// The login this token descends from.
    pub family_id: String,
    /// SHA-256 of the token; the token itself is never stored.
    pub token_hash: String,
    pub expires_at: Timestamp,
}

/// What presenting a refresh token led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was valid; it is now spent and its successor stored.
    Rotated { user_id: UserId },
    /// Unknown or expired.
    Invalid,
    /// Already spent: the family is now revoked.
    Reused,
}

impl Store {
    pub async fn insert_refresh_token(&self, token: NewRefreshToken) -> Result<(), StoreError> {
        self.write(move |connection| Box::pin(async move { insert(connection, token).await }))
            .await
    }

    /// Spends `presented_hash` and stores `next` in its place, in one transaction.
    pub async fn rotate_refresh_token(
        &self,
        presented_hash: String,
        next: impl FnOnce(UserId, String) -> NewRefreshToken + Send + 'static,
    ) -> Result<Rotation, StoreError> {
        let at = now();
        self.write(move |connection| {
            Box::pin(async move {
                let Some(row) = query(
                    "SELECT user_id, family_id, expires_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
                )
                .bind(presented_hash)
                .fetch_optional(&mut *connection)
                .await?
                else {
                    return Ok(Rotation::Invalid);
                };
                let user_id: UserId = row.parsed("user_id")?;
                let family_id = row.text("family_id")?;
                if row.optional_integer("revoked_at")?.is_some() {
                    query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
                        .bind(&family_id)
                        .bind(millis(at))
                        .execute(&mut *connection)
                        .await?;
                    return Ok(Rotation::Reused);
                }
                if row.time("expires_at")? <= at {
                    return Ok(Rotation::Invalid);
                }
                query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
                    .bind(&family_id)
                    .bind(millis(at))
                    .execute(&mut *connection)
                    .await?;
                insert(connection, next(user_id, family_id)).await?;
                Ok(Rotation::Rotated { user_id })
            })
        })
        .await
    }

    /// Revokes the family of the token whose hash is `presented_hash` (a logout): none of its
    /// tokens refreshes again. Whether there was such a token is not told.
    pub async fn revoke_refresh_family(&self, presented_hash: String) -> Result<(), StoreError> {
        let at = now();
        self.write(move |connection| {
            Box::pin(async move {
                query(
                    "UPDATE refresh_tokens SET revoked_at = $2
                     WHERE revoked_at IS NULL
                       AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
                )
                .bind(presented_hash)
                .bind(millis(at))
                .execute(connection)
                .await?;
                Ok(())
            })
        })
        .await
    }
}

async fn insert(connection: &mut Db<'_>, token: NewRefreshToken) -> Result<(), StoreError> {
    query(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(token.user_id.to_string())
    .bind(token.family_id)
    .bind(token.token_hash)
    .bind(millis(token.expires_at))
    .bind(millis(now()))
    .execute(connection)
    .await?;
    Ok(())
}
