//! `/api/v1/users`.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{CreateUser, ErrorBody, ListParams, UpdateUser};
use switchboard_core::{Page, User, UserId};
use switchboard_engine::{UserChanges, UserInput};

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Path, Query};
use crate::middleware::no_content;
use crate::{ApiError, ApiState};

#[utoipa::path(post, path = "/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn create_user(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Json(body): Json<CreateUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let input = UserInput {
        username: body.username,
        password: body.password,
        role: body.role,
        tenant_id: body.tenant_id,
        external_id: body.external_id,
        name: body.name,
        email: body.email,
    };
    Ok((
        StatusCode::CREATED,
        Json(state.engine.create_user(&caller, input).await?),
    ))
}

#[utoipa::path(get, path = "/users", tag = "users", params(ListParams),
    responses((status = 200, body = Page<User>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_users(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<User>>, ApiError> {
    Ok(Json(
        state
            .engine
            .list_users(&caller, &page(params.limit, params.cursor))
            .await?,
    ))
}

#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = UserId, Path)),
    responses((status = 200, body = User), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_user(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<UserId>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(state.engine.get_user(&caller, id).await?))
}

#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = UserId, Path)), request_body = UpdateUser,
    responses((status = 200, body = User), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn update_user(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<UserId>,
    Json(body): Json<UpdateUser>,
) -> Result<Json<User>, ApiError> {
    let changes = UserChanges {
        role: body.role,
        password: body.password,
        external_id: body.external_id,
        name: body.name,
        email: body.email,
    };
    Ok(Json(state.engine.update_user(&caller, id, changes).await?))
}

/// Deletes a user and revokes their API keys and sessions.
#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(("id" = UserId, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn delete_user(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<UserId>,
) -> Result<StatusCode, ApiError> {
    state.engine.delete_user(&caller, id).await?;
    Ok(no_content())
}
