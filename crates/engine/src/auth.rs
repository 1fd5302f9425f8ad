//! Authentication: passwords (argon2id), access tokens (HS256 JWT, short-lived), refresh tokens
//! (opaque, stored hashed, rotated on every use, a reused one revokes its family), API keys
//! (`sb_<prefix>_<secret>`, stored as SHA-256), and the first-start bootstrap of an admin.

use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, Params};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use switchboard_core::{Caller, Role, Tenant, TenantId, User};
use switchboard_store::{NewRefreshToken, NewUser, Rotation};

use crate::{Engine, EngineError};

/// How tokens are signed and how long they live.
#[derive(Clone)]
pub struct AuthConfig {
    /// HMAC key for access tokens; at least 32 bytes.
    pub jwt_secret: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Argon2 memory cost in KiB (19 MiB is OWASP's minimum for argon2id).
    pub password_memory_kib: u32,
    pub password_iterations: u32,
    /// Inbound rate limits, failed logins per username among them.
    pub limits: crate::limits::LimitsConfig,
}

impl AuthConfig {
    pub fn new(jwt_secret: impl Into<String>) -> Self {
        Self {
            jwt_secret: jwt_secret.into(),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            password_memory_kib: 19 * 1024,
            password_iterations: 2,
            limits: crate::limits::LimitsConfig::default(),
        }
    }

    fn hasher(&self) -> Result<Argon2<'static>, EngineError> {
        let params = Params::new(self.password_memory_kib, self.password_iterations, 1, None)
            .map_err(|error| EngineError::Internal(Box::new(error)))?;
        Ok(Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params,
        ))
    }
}

/// An access token and the refresh token that renews it.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Session {
    pub tokens: TokenPair,
    pub user: User,
}

/// What the first start on an empty store created.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub tenant: Tenant,
    pub admin: User,
    /// Set when no password was configured and one was generated: show it once.
    pub generated_password: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Claims {
    sub: String,
    tid: String,
    role: String,
    iat: u64,
    exp: u64,
}

const API_KEY_PREFIX_LEN: usize = 12;

impl Engine {
    /// Checks a username and password; returns fresh tokens and the user.
    /// A username whose logins failed too often is refused with `RateLimited` before its
    /// password is looked at, right or not, until a failure refills.
    pub async fn login(&self, username: &str, password: &str) -> Result<Session, EngineError> {
        let failures = crate::limits::LimitKey::LoginFailures(username.to_lowercase());
        if let Some(refused) = self.limits.admit(&failures, None, false).await
            && !refused.allowed
        {
            return Err(EngineError::RateLimited(refused));
        }
        let credentials = self.store.find_credentials(username).await?;
        let hash = credentials
            .as_ref()
            .map(|found| found.password_hash.clone());
        // Verify even for an unknown user, so timing does not reveal which usernames exist.
        let verified = self.verify_password(password.to_owned(), hash).await?;
        match credentials {
            Some(found) if verified => {
                let tokens = self
                    .issue_tokens(&found.user, uuid::Uuid::now_v7().to_string())
                    .await?;
                Ok(Session {
                    tokens,
                    user: found.user,
                })
            }
            _ => {
                self.limits.admit(&failures, None, true).await;
                Err(EngineError::Unauthorized(
                    "invalid username or password".into(),
                ))
            }
        }
    }

    /// Spends a refresh token and returns the next pair.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, EngineError> {
        let next_token = random_token(32);
        let next_hash = sha256_hex(&next_token);
        let expires_at = time::OffsetDateTime::now_utc() + self.auth.refresh_token_ttl;
        let rotation = self
            .store
            .rotate_refresh_token(sha256_hex(refresh_token), move |user_id, family_id| {
                NewRefreshToken {
                    user_id,
                    family_id,
                    token_hash: next_hash,
                    expires_at,
                }
            })
            .await?;
        let user_id = match rotation {
            Rotation::Rotated { user_id } => user_id,
            Rotation::Invalid => {
                return Err(EngineError::Unauthorized(
                    "refresh token is invalid or expired".into(),
                ));
            }
            Rotation::Reused => {
                tracing::warn!("a spent refresh token was presented again; its session is revoked");
                return Err(EngineError::Unauthorized(
                    "refresh token was already used".into(),
                ));
            }
        };
        let user = self
            .store
            .find_user(user_id)
            .await?
            .ok_or_else(|| EngineError::Unauthorized("user no longer exists".into()))?;
        let tokens = TokenPair {
            access_token: self.access_token(&user)?,
            refresh_token: next_token,
            expires_in: self.auth.access_token_ttl.as_secs(),
        };
        Ok(Session { tokens, user })
    }

    /// Ends the session a refresh token belongs to: its family is revoked, so neither it nor
    /// a token issued from it refreshes again. Access tokens already issued stay valid until
    /// they expire (they are not stored). An unknown token is not an error.
    pub async fn logout(&self, refresh_token: &str) -> Result<(), EngineError> {
        Ok(self
            .store
            .revoke_refresh_family(sha256_hex(refresh_token))
            .await?)
    }

    /// The caller an access token stands for.
    pub fn authenticate_token(&self, token: &str) -> Result<Caller, EngineError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(self.auth.jwt_secret.as_bytes()),
            &validation,
        )
        .map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                EngineError::Unauthorized("access token expired; refresh it or log in again".into())
            }
            _ => EngineError::Unauthorized("access token is invalid".into()),
        })?;
        let invalid = || EngineError::Unauthorized("access token is invalid".into());
        Ok(Caller {
            tenant_id: data.claims.tid.parse().map_err(|_| invalid())?,
            user_id: data.claims.sub.parse().map_err(|_| invalid())?,
            role: data.claims.role.parse().map_err(|_| invalid())?,
            api_key_id: None,
            origin: Default::default(),
        })
    }

    /// The caller an API key stands for.
    pub async fn authenticate_api_key(&self, key: &str) -> Result<Caller, EngineError> {
        let invalid = || EngineError::Unauthorized("API key is invalid or revoked".into());
        let prefix = key
            .strip_prefix("sb_")
            .and_then(|rest| rest.get(..API_KEY_PREFIX_LEN))
            .ok_or_else(invalid)?;
        let (api_key, stored_hash) = self.store.find_api_key(prefix).await?.ok_or_else(invalid)?;
        let presented_hash = sha256_hex(key);
        if !bool::from(presented_hash.as_bytes().ct_eq(stored_hash.as_bytes())) {
            return Err(invalid());
        }
        let stale = api_key
            .last_used_at
            .is_none_or(|used| time::OffsetDateTime::now_utc() - used > time::Duration::minutes(1));
        if stale {
            // Usage is recorded at most once a minute per key, off the request path.
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Err(error) = store.touch_api_key(api_key.id).await {
                    tracing::warn!(%error, "could not record API key use");
                }
            });
        }
        Ok(Caller {
            tenant_id: api_key.tenant_id,
            user_id: api_key.user_id,
            role: api_key.role,
            api_key_id: Some(api_key.id),
            origin: Default::default(),
        })
    }

    /// A platform admin acting inside another tenant.
    pub async fn act_in_tenant(
        &self,
        caller: Caller,
        tenant_id: TenantId,
    ) -> Result<Caller, EngineError> {
        if tenant_id == caller.tenant_id {
            return Ok(caller);
        }
        if caller.role != Role::PlatformAdmin {
            return Err(EngineError::Forbidden(
                "only platform admins may act in another tenant".into(),
            ));
        }
        self.store.get_tenant(tenant_id).await?;
        Ok(Caller {
            tenant_id,
            ..caller
        })
    }

    /// On an empty store, creates the `default` tenant and a platform admin. Returns `None` when
    /// the store already has tenants.
    pub async fn bootstrap(
        &self,
        username: &str,
        password: Option<String>,
    ) -> Result<Option<Bootstrap>, EngineError> {
        if self.store.count_tenants().await? > 0 {
            return Ok(None);
        }
        let generated_password = password.is_none().then(|| random_token(18));
        let password = password
            .or_else(|| generated_password.clone())
            .unwrap_or_default();
        validate_password(&password)?;
        let tenant = self.store.create_tenant("default".into()).await?;
        let admin = self
            .store
            .create_user(
                tenant.id,
                NewUser {
                    username: username.to_owned(),
                    password_hash: self.hash_password(password).await?,
                    role: Role::PlatformAdmin,
                    external_id: None,
                    name: None,
                    email: None,
                },
            )
            .await?;
        Ok(Some(Bootstrap {
            tenant,
            admin,
            generated_password,
        }))
    }

    /// Hashes a password off the async threads (argon2 is deliberately slow).
    pub(crate) async fn hash_password(&self, password: String) -> Result<String, EngineError> {
        let hasher = self.auth.hasher()?;
        tokio::task::spawn_blocking(move || {
            let salt: [u8; 16] = rand::random();
            PasswordHasher::<PasswordHash>::hash_password_with_salt(
                &hasher,
                password.as_bytes(),
                &salt,
            )
            .map(|hash| hash.to_string())
            .map_err(|error| EngineError::Internal(Box::new(error)))
        })
        .await
        .map_err(|error| EngineError::Internal(Box::new(error)))?
    }

    async fn verify_password(
        &self,
        password: String,
        hash: Option<String>,
    ) -> Result<bool, EngineError> {
        let hasher = self.auth.hasher()?;
        // Some hash to spend the same time on when the user does not exist.
        let decoy = self.decoy_hash().await?;
        tokio::task::spawn_blocking(move || {
            let hash = hash.unwrap_or(decoy);
            let known_user = !hash.is_empty();
            let parsed =
                PasswordHash::new(&hash).map_err(|error| EngineError::Internal(Box::new(error)))?;
            Ok(known_user && hasher.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .map_err(|error| EngineError::Internal(Box::new(error)))?
    }

    async fn decoy_hash(&self) -> Result<String, EngineError> {
        static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
        DECOY
            .get_or_try_init(|| self.hash_password("decoy password".into()))
            .await
            .cloned()
    }

    async fn issue_tokens(&self, user: &User, family_id: String) -> Result<TokenPair, EngineError> {
        let refresh_token = random_token(32);
        self.store
            .insert_refresh_token(NewRefreshToken {
                user_id: user.id,
                family_id,
                token_hash: sha256_hex(&refresh_token),
                expires_at: time::OffsetDateTime::now_utc() + self.auth.refresh_token_ttl,
            })
            .await?;
        Ok(TokenPair {
            access_token: self.access_token(user)?,
            refresh_token,
            expires_in: self.auth.access_token_ttl.as_secs(),
        })
    }

    fn access_token(&self, user: &User) -> Result<String, EngineError> {
        let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
        let claims = Claims {
            sub: user.id.to_string(),
            tid: user.tenant_id.to_string(),
            role: user.role.as_str().to_owned(),
            iat: now,
            exp: now + self.auth.access_token_ttl.as_secs(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.auth.jwt_secret.as_bytes()),
        )
        .map_err(|error| EngineError::Internal(Box::new(error)))
    }

    /// Issues a new API key secret: `(key, prefix, hash)`.
    pub(crate) fn new_api_key_secret() -> (String, String, String) {
        let prefix: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(API_KEY_PREFIX_LEN)
            .map(char::from)
            .collect();
        let key = format!("sb_{prefix}_{}", random_token(32));
        let hash = sha256_hex(&key);
        (key, prefix, hash)
    }

    /// The user a caller acts for must still exist (keys of deleted users are revoked already).
    pub(crate) async fn caller_user(&self, caller: &Caller) -> Result<User, EngineError> {
        self.store
            .find_user(caller.user_id)
            .await?
            .ok_or_else(|| EngineError::Unauthorized("user no longer exists".into()))
    }
}

pub(crate) fn validate_password(password: &str) -> Result<(), switchboard_core::ValidationError> {
    let length = password.chars().count();
    if !(8..=1024).contains(&length) {
        return Err(switchboard_core::ValidationError::new(
            "password",
            "must be 8 to 1024 characters",
        ));
    }
    Ok(())
}

pub(crate) fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill(buffer.as_mut_slice());
    URL_SAFE_NO_PAD.encode(buffer)
}

pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl Engine {
    /// The installation operator, as the `switchboard admin` command acts: a platform admin
    /// inside `tenant_id`, not tied to any user.
    pub fn operator(tenant_id: TenantId) -> Caller {
        Caller {
            tenant_id,
            user_id: switchboard_core::UserId::from_uuid(uuid::Uuid::nil()),
            role: Role::PlatformAdmin,
            api_key_id: None,
            origin: Default::default(),
        }
    }

    /// Acting as an existing user, found by username (for the `switchboard admin` command).
    pub async fn caller_for_username(&self, username: &str) -> Result<Caller, EngineError> {
        let found = self
            .store
            .find_credentials(username)
            .await?
            .ok_or(EngineError::NotFound("user"))?;
        Ok(Caller {
            tenant_id: found.user.tenant_id,
            user_id: found.user.id,
            role: found.user.role,
            api_key_id: None,
            origin: Default::default(),
        })
    }
}
