//! `/api/v1/audit`: the audit log, newest first, for admins (their tenant) and platform admins
//! (any tenant with `X-Tenant-Id`, or every tenant with `allTenants=true`).

use axum::extract::State;
use serde::Deserialize;
use switchboard_api_types::ErrorBody;
use switchboard_core::{AuditAction, AuditEvent, AuditResource, Page, UserId};
use switchboard_engine::AuditQuery;
use utoipa::IntoParams;

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Query};
use crate::{ApiError, ApiState};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditListParams {
    /// Only what this user did (the user an API key acts for included).
    pub actor: Option<UserId>,
    pub action: Option<AuditAction>,
    pub resource: Option<AuditResource>,
    /// Only changes to this record.
    pub resource_id: Option<String>,
    /// RFC 3339: at or after this instant.
    pub from: Option<String>,
    /// RFC 3339: before this instant.
    pub to: Option<String>,
    /// Platform admins: every tenant's events.
    pub all_tenants: Option<bool>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Who changed what, when and from where, newest first.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditListParams),
    responses((status = 200, body = Page<AuditEvent>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_audit(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<AuditListParams>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    let query = AuditQuery {
        actor: params.actor,
        action: params.action,
        resource: params.resource,
        resource_id: params.resource_id,
        from: params
            .from
            .as_deref()
            .map(|from| parse_time("from", from))
            .transpose()?,
        to: params
            .to
            .as_deref()
            .map(|to| parse_time("to", to))
            .transpose()?,
        all_tenants: params.all_tenants.unwrap_or(false),
    };
    let page = page(params.limit, params.cursor);
    Ok(Json(state.engine.list_audit(&caller, query, &page).await?))
}

fn parse_time(field: &str, text: &str) -> Result<time::OffsetDateTime, ApiError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(
        |_| ApiError::Validation {
            field: Some(field.into()),
            message: format!("{text:?} is not an RFC 3339 time (2026-03-01T00:00:00Z)"),
        },
    )
}
