//! `/api/v1/api-keys`: the key is returned once, at creation.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{CreateApiKey, CreatedApiKey, ErrorBody, ListParams};
use switchboard_core::{ApiKey, ApiKeyId, Page};
use switchboard_engine::ApiKeyInput;

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Path, Query};
use crate::middleware::no_content;
use crate::{ApiError, ApiState};

/// Creates a key that acts for you with at most your role.
#[utoipa::path(post, path = "/api-keys", tag = "api-keys", request_body = CreateApiKey,
    responses((status = 201, body = CreatedApiKey), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn create_api_key(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Json(body): Json<CreateApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let input = ApiKeyInput {
        name: body.name,
        role: body.role,
    };
    let issued = state.engine.create_api_key(&caller, input).await?;
    let created = CreatedApiKey {
        api_key: issued.api_key,
        key: issued.key,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api-keys", tag = "api-keys", params(ListParams),
    responses((status = 200, body = Page<ApiKey>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_api_keys(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<ApiKey>>, ApiError> {
    Ok(Json(
        state
            .engine
            .list_api_keys(&caller, &page(params.limit, params.cursor))
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api-keys/{id}", tag = "api-keys", params(("id" = ApiKeyId, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn revoke_api_key(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ApiKeyId>,
) -> Result<StatusCode, ApiError> {
    state.engine.revoke_api_key(&caller, id).await?;
    Ok(no_content())
}
