//! `/api/v1/contacts`.

use axum::extract::State;
use axum::http::StatusCode;
use switchboard_api_types::{ContactListParams, CreateContact, ErrorBody, UpdateContact};
use switchboard_core::{Contact, ContactId, Page};
use switchboard_engine::ContactInput;

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Path, Query};
use crate::middleware::no_content;
use crate::{ApiError, ApiState};

fn input(body: CreateContact) -> ContactInput {
    ContactInput {
        name: body.name,
        phone: body.phone,
        external_id: body.external_id,
        email: body.email,
        timezone: body.timezone,
        attributes: body.attributes,
    }
}

#[utoipa::path(post, path = "/contacts", tag = "contacts", request_body = CreateContact,
    responses((status = 201, body = Contact), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn create_contact(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Json(body): Json<CreateContact>,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    let contact = state.engine.create_contact(&caller, input(body)).await?;
    Ok((StatusCode::CREATED, Json(contact)))
}

#[utoipa::path(get, path = "/contacts", tag = "contacts", params(ContactListParams),
    responses((status = 200, body = Page<Contact>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_contacts(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<ContactListParams>,
) -> Result<Json<Page<Contact>>, ApiError> {
    let page = page(params.limit, params.cursor);
    let contacts = state
        .engine
        .list_contacts(
            &caller,
            params.phone.as_deref(),
            params.external_id.as_deref(),
            &page,
        )
        .await?;
    Ok(Json(contacts))
}

#[utoipa::path(get, path = "/contacts/{id}", tag = "contacts", params(("id" = ContactId, Path)),
    responses((status = 200, body = Contact), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_contact(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ContactId>,
) -> Result<Json<Contact>, ApiError> {
    Ok(Json(state.engine.get_contact(&caller, id).await?))
}

#[utoipa::path(patch, path = "/contacts/{id}", tag = "contacts", params(("id" = ContactId, Path)),
    request_body = UpdateContact,
    responses((status = 200, body = Contact), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn update_contact(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ContactId>,
    Json(body): Json<UpdateContact>,
) -> Result<Json<Contact>, ApiError> {
    Ok(Json(
        state
            .engine
            .update_contact(&caller, id, input(body))
            .await?,
    ))
}

/// Deletes a contact without conversations (409 otherwise).
#[utoipa::path(delete, path = "/contacts/{id}", tag = "contacts", params(("id" = ContactId, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn delete_contact(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ContactId>,
) -> Result<StatusCode, ApiError> {
    state.engine.delete_contact(&caller, id).await?;
    Ok(no_content())
}
