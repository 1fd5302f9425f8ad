//! `/api/v1/credits`: balance, grants, ledger.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{Balance, ErrorBody, GrantCredits, GrantResult, ListParams};
use switchboard_core::{LedgerEntry, Page};
use switchboard_engine::GrantInput;

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Query};
use crate::{ApiError, ApiState};

#[utoipa::path(get, path = "/credits", tag = "credits",
    responses((status = 200, body = Balance), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_balance(
    State(state): State<ApiState>,
    Auth(caller): Auth,
) -> Result<Json<Balance>, ApiError> {
    Ok(Json(Balance {
        balance: state.engine.credit_balance(&caller).await?,
    }))
}

/// Grants credits once per idempotency key: 201 the first time, 200 with the same entry on replay.
#[utoipa::path(post, path = "/credits/grants", tag = "credits", request_body = GrantCredits,
    responses((status = 201, body = GrantResult), (status = 200, body = GrantResult), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn grant_credits(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Json(body): Json<GrantCredits>,
) -> Result<(StatusCode, Json<GrantResult>), ApiError> {
    let input = GrantInput {
        amount: body.amount,
        reason: body.reason,
        idempotency_key: body.idempotency_key,
    };
    let (entry, created) = state.engine.grant_credits(&caller, input).await?;
    let balance = state.engine.credit_balance(&caller).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(GrantResult {
            entry,
            balance,
            created,
        }),
    ))
}

/// Ledger entries, newest first.
#[utoipa::path(get, path = "/credits/ledger", tag = "credits", params(ListParams),
    responses((status = 200, body = Page<LedgerEntry>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_ledger(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<LedgerEntry>>, ApiError> {
    Ok(Json(
        state
            .engine
            .list_ledger(&caller, &page(params.limit, params.cursor))
            .await?,
    ))
}
