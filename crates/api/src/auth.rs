//! The `Auth` extractor: who is calling. `Authorization: Bearer <access token>` (or an API key
//! as the bearer token) or `X-API-Key: <key>`; a platform admin may add `X-Tenant-Id` to act inside another tenant.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use switchboard_core::{Caller, Origin, TenantId};

use crate::{ApiError, ApiState};

/// How every API key starts (`sb_<prefix>_<secret>`); access tokens (JWTs) never do.
const API_KEY_PREFIX: &str = "sb_";

/// The authenticated caller of a request.
pub struct Auth(pub Caller);

impl FromRequestParts<ApiState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        // Already authenticated when the rate limits counted the request.
        let caller = match parts.extensions.get() {
            Some(crate::limits::Authenticated(caller)) => caller.clone(),
            None => caller_from_headers(&parts.headers, state)
                .await?
                .ok_or_else(missing_credentials)?,
        };
        Ok(Auth(Caller {
            origin: origin(&parts.headers, &parts.extensions),
            ..caller
        }))
    }
}

/// Where the request came from: the client's address (as the rate limits read it: the peer,
/// or the trusted proxy's header), its `User-Agent` and its `X-Request-Id`.
pub(crate) fn origin(headers: &HeaderMap, extensions: &axum::http::Extensions) -> Origin {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.chars().take(512).collect::<String>())
    };
    Origin {
        ip: extensions
            .get::<crate::limits::ClientIp>()
            .map(|crate::limits::ClientIp(ip)| ip.clone())
            .filter(|ip| ip != "unknown"),
        user_agent: text("user-agent"),
        request_id: text("x-request-id"),
    }
}

/// The refusal of a request that carries no credentials.
pub(crate) fn missing_credentials() -> ApiError {
    ApiError::Unauthorized(
        "missing credentials: send Authorization: Bearer <accessToken> or X-API-Key: <key>".into(),
    )
}

/// The caller the headers authenticate (`None` when they carry no credentials), in the tenant
/// `X-Tenant-Id` names if given.
pub(crate) async fn caller_from_headers(
    headers: &HeaderMap,
    state: &ApiState,
) -> Result<Option<Caller>, ApiError> {
    let engine = &state.engine;
    let caller = if let Some(token) = bearer_token(headers)? {
        // An API key sent as a bearer token, as OpenAI clients send theirs.
        if token.starts_with(API_KEY_PREFIX) {
            engine.authenticate_api_key(token).await?
        } else {
            engine.authenticate_token(token)?
        }
    } else if let Some(key) = header(headers, "x-api-key")? {
        engine.authenticate_api_key(key).await?
    } else {
        return Ok(None);
    };
    in_requested_tenant(caller, headers, state).await.map(Some)
}

/// Credentials that do not come in headers: a WebSocket's `?token=`, its first `auth` frame,
/// or a GraphQL `connection_init` payload.
pub(crate) enum Credentials {
    Token(String),
    ApiKey(String),
}

/// The caller `credentials` authenticate, in the tenant the request's `X-Tenant-Id` names if
/// it names one, as REST does.
pub(crate) async fn caller_from_credentials(
    state: &ApiState,
    credentials: Credentials,
    headers: &HeaderMap,
) -> Result<Caller, ApiError> {
    let engine = &state.engine;
    let caller = match credentials {
        Credentials::Token(token) => engine.authenticate_token(&token)?,
        Credentials::ApiKey(key) => engine.authenticate_api_key(&key).await?,
    };
    in_requested_tenant(caller, headers, state).await
}

/// `caller`, acting in the tenant `X-Tenant-Id` names (platform admins), if it names one.
pub(crate) async fn in_requested_tenant(
    caller: Caller,
    headers: &HeaderMap,
    state: &ApiState,
) -> Result<Caller, ApiError> {
    match header(headers, "x-tenant-id")? {
        Some(tenant) => {
            let tenant_id: TenantId = tenant
                .parse()
                .map_err(|_| ApiError::BadRequest("X-Tenant-Id: not a tenant id".into()))?;
            Ok(state.engine.act_in_tenant(caller, tenant_id).await?)
        }
        None => Ok(caller),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    headers
        .get(name)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| ApiError::BadRequest(format!("{name}: not valid text")))
        })
        .transpose()
}

fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    match header(headers, "authorization")? {
        None => Ok(None),
        Some(value) => value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(|token| Some(token.trim()))
            .ok_or_else(|| {
                ApiError::Unauthorized("Authorization must be `Bearer <accessToken>`".into())
            }),
    }
}
