//! Users: people who log in, and end users an app maps by `external_id`. Usernames are unique
//! across the installation (login names no tenant); deleted users keep their row but cannot log in.

use switchboard_core::{Page, Role, TenantId, User, UserId};

use crate::table::Table;
use crate::{PageRequest, Store, StoreError};
use switchboard_database::{Row, query};
use switchboard_database::{RowExt, expect_changed, millis, now};

const COLUMNS: &str = "id, tenant_id, username, role, external_id, name, email, created_at";

pub struct NewUser {
    pub username: String,
    /// An argon2 PHC string; the store never sees a password.
    pub password_hash: String,
    pub role: Role,
    pub external_id: Option<String>,
    pub name: Option<String>,
    /// In lower case.
    pub email: Option<String>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserUpdate {
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// What login needs to check a password.
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

pub(crate) fn user_from_row(row: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        username: row.text("username")?,
        role: row.parsed("role")?,
        external_id: row.optional_text("external_id")?,
        name: row.optional_text("name")?,
        email: row.optional_text("email")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) const USERS: Table<User> = Table {
    name: "users",
    entity: "user",
    columns: COLUMNS,
    live: "deleted_at IS NULL",
    decode: user_from_row,
    id: |row| row.id.to_string(),
};

impl Store {
    pub async fn create_user(&self, tenant_id: TenantId, new: NewUser) -> Result<User, StoreError> {
        let user = User {
            id: UserId::new(),
            tenant_id,
            username: new.username,
            role: new.role,
            external_id: new.external_id,
            name: new.name,
            email: new.email,
            created_at: now(),
        };
        let row = user.clone();
        self.write(move |connection| {
            Box::pin(async move {
                query(
                    "INSERT INTO users (id, tenant_id, username, password_hash, role, external_id,
                         name, email, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(row.id.to_string())
                .bind(row.tenant_id.to_string())
                .bind(row.username)
                .bind(new.password_hash)
                .bind(row.role.as_str())
                .bind(row.external_id)
                .bind(row.name)
                .bind(row.email)
                .bind(millis(row.created_at))
                .execute(connection)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(user)
    }

    pub async fn get_user(&self, tenant_id: TenantId, id: UserId) -> Result<User, StoreError> {
        self.fetch_row(&USERS, tenant_id, id.to_string()).await
    }

    pub async fn list_users(
        &self,
        tenant_id: TenantId,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        self.fetch_page(&USERS, tenant_id, page).await
    }

    pub async fn update_user(
        &self,
        tenant_id: TenantId,
        id: UserId,
        update: UserUpdate,
    ) -> Result<User, StoreError> {
        let changed = self
            .write(move |connection| {
                Box::pin(async move {
                    let result = query(
                        "UPDATE users SET role = COALESCE($3, role),
                             password_hash = COALESCE($4, password_hash),
                             external_id = COALESCE($5, external_id),
                             name = COALESCE($6, name), email = COALESCE($7, email)
                         WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
                    )
                    .bind(tenant_id.to_string())
                    .bind(id.to_string())
                    .bind(update.role.map(|role| role.as_str()))
                    .bind(update.password_hash)
                    .bind(update.external_id)
                    .bind(update.name)
                    .bind(update.email)
                    .execute(connection)
                    .await?;
                    Ok(result.rows_affected())
                })
            })
            .await?;
        if changed == 0 {
            return Err(StoreError::not_found("user"));
        }
        self.get_user(tenant_id, id).await
    }

    /// Marks a user deleted and revokes their API keys and refresh tokens, in one transaction.
    pub async fn delete_user(&self, tenant_id: TenantId, id: UserId) -> Result<(), StoreError> {
        let at = millis(now());
        self.write(move |connection| {
            Box::pin(async move {
                let result = query(
                    "UPDATE users SET deleted_at = $3 WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
                )
                .bind(tenant_id.to_string())
                .bind(id.to_string())
                .bind(at)
                .execute(&mut *connection)
                .await?;
                // Another tenant's user id must not reach their keys and sessions.
                expect_changed(result.rows_affected(), "user")?;
                query("UPDATE api_keys SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                    .bind(id.to_string())
                    .bind(at)
                    .execute(&mut *connection)
                    .await?;
                query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                    .bind(id.to_string())
                    .bind(at)
                    .execute(&mut *connection)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// The live user with this username and their password hash, in any tenant.
    pub async fn find_credentials(
        &self,
        username: &str,
    ) -> Result<Option<UserCredentials>, StoreError> {
        let row = query(format!(
            "SELECT {COLUMNS}, password_hash FROM users WHERE username = $1 AND deleted_at IS NULL"
        ))
        .bind(username)
        .fetch_optional(self.reader())
        .await?;
        row.map(|row| {
            Ok(UserCredentials {
                user: user_from_row(&row)?,
                password_hash: row.text("password_hash")?,
            })
        })
        .transpose()
    }

    /// A live user by id, in whatever tenant it belongs to (for token checks).
    pub async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = query(format!(
            "SELECT {COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL"
        ))
        .bind(id.to_string())
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }
}
