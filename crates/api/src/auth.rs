//! The `Auth` extractor: who is calling. `Authorization: Bearer <access token>` or
//! `X-API-Key: <key>`; a platform admin may add `X-Tenant-Id` to act inside another tenant.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use switchboard_core::{Caller, TenantId};

use crate::{ApiError, ApiState};

/// The authenticated caller of a request.
pub struct Auth(pub Caller);

impl FromRequestParts<ApiState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let engine = &state.engine;
        let caller = if let Some(token) = bearer_token(&parts.headers)? {
            engine.authenticate_token(token)?
        } else if let Some(key) = header(&parts.headers, "x-api-key")? {
            engine.authenticate_api_key(key).await?
        } else {
            return Err(ApiError::Unauthorized(
                "missing credentials: send Authorization: Bearer <accessToken> or X-API-Key: <key>"
                    .into(),
            ));
        };
        let caller = match header(&parts.headers, "x-tenant-id")? {
            Some(tenant) => {
                let tenant_id: TenantId = tenant
                    .parse()
                    .map_err(|_| ApiError::BadRequest("X-Tenant-Id: not a tenant id".into()))?;
                engine.act_in_tenant(caller, tenant_id).await?
            }
            None => caller,
        };
        Ok(Auth(caller))
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
