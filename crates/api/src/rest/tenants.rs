//! `/api/v1/tenants`: platform admins only.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{CreateTenant, ErrorBody, ListParams};
use switchboard_core::{Page, Tenant, TenantId};

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Path, Query};
use crate::{ApiError, ApiState};

#[utoipa::path(post, path = "/tenants", tag = "tenants", request_body = CreateTenant,
    responses((status = 201, body = Tenant), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn create_tenant(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Json(body): Json<CreateTenant>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    let tenant = state.engine.create_tenant(&caller, &body.name).await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}

#[utoipa::path(get, path = "/tenants", tag = "tenants", params(ListParams),
    responses((status = 200, body = Page<Tenant>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_tenants(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<Tenant>>, ApiError> {
    Ok(Json(
        state
            .engine
            .list_tenants(&caller, &page(params.limit, params.cursor))
            .await?,
    ))
}

#[utoipa::path(get, path = "/tenants/{id}", tag = "tenants", params(("id" = TenantId, Path)),
    responses((status = 200, body = Tenant), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_tenant(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<TenantId>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(state.engine.get_tenant(&caller, id).await?))
}
