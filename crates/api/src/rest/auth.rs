//! `POST /auth/login`, `POST /auth/refresh`, `POST /auth/logout`.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{ErrorBody, LoginRequest, LoginResponse, RefreshRequest, Tokens};
use switchboard_engine::Session;

use crate::extract::{Json, JsonOrForm};
use crate::{ApiError, ApiState};

fn response(session: Session) -> Json<LoginResponse> {
    Json(LoginResponse {
        tokens: Tokens {
            access_token: session.tokens.access_token,
            refresh_token: session.tokens.refresh_token,
            expires_in: session.tokens.expires_in,
        },
        user: session.user,
    })
}

/// Exchanges a username and password for an access token and a refresh token. The body is JSON
/// or a form (`username=…&password=…`).
#[utoipa::path(post, path = "/auth/login", tag = "auth",
    request_body(content(
        (LoginRequest = "application/json"),
        (LoginRequest = "application/x-www-form-urlencoded"))),
    responses((status = 200, body = LoginResponse), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn login(
    State(state): State<ApiState>,
    JsonOrForm(request): JsonOrForm<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    Ok(response(
        state
            .engine
            .login(&request.username, &request.password)
            .await?,
    ))
}

/// Spends a refresh token for a new pair. A refresh token works once.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = LoginResponse), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn refresh(
    State(state): State<ApiState>,
    Json(request): Json<RefreshRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    Ok(response(
        state.engine.refresh(&request.refresh_token).await?,
    ))
}

/// Ends the session of a refresh token: it, and every token refreshed from the same login,
/// stops working. The access token lasts until it expires. Answers 204 whether or not the
/// token was known.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn logout(
    State(state): State<ApiState>,
    Json(request): Json<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    state.engine.logout(&request.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}
