//! `/api/v1/imports`: upload a CSV file (the body, `text/csv`, gzip accepted; or a multipart
//! file), follow the import, read its row errors as JSON or CSV.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use switchboard_api_types::{ErrorBody, ImportParams, ListParams};
use switchboard_core::{Caller, Import, ImportId, Page, RowError};
use switchboard_engine::{Engine, ImportRequest, PageRequest};

use super::page;
use crate::auth::Auth;
use crate::extract::{Json, Path, Query};
use crate::{ApiError, ApiState};

/// Content types a CSV file arrives as (spreadsheet programs and browsers differ).
const CSV_TYPES: &[&str] = &[
    "text/csv",
    "text/plain",
    "application/csv",
    "application/vnd.ms-excel",
    "application/octet-stream",
    "application/gzip",
    "application/x-gzip",
];

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// Starts an import: 202 once the file is stored; the rows are applied in the background.
#[utoipa::path(post, path = "/imports", tag = "imports", params(ImportParams),
    request_body(content = String, content_type = "text/csv",
        description = "The CSV file (gzip accepted), or multipart/form-data with a file field"),
    responses((status = 202, body = Import), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn create_import(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<ImportParams>,
    request: Request,
) -> Result<(StatusCode, Json<Import>), ApiError> {
    let headers = request.headers();
    let encoding = header_text(headers, header::CONTENT_ENCODING).to_ascii_lowercase();
    let gzip = match encoding.as_str() {
        "" | "identity" => false,
        "gzip" | "x-gzip" => true,
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Encoding {other} is not supported; send the file plain or gzipped"
            )));
        }
    };
    let content_type = header_text(headers, header::CONTENT_TYPE).to_ascii_lowercase();
    let mut import = ImportRequest {
        kind: params.kind,
        default_country: params.default_country,
        file_name: params.file_name,
        campaign_id: params.campaign_id,
        gzip,
    };
    let engine = &state.engine;
    let created = if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
        let field = loop {
            let field = multipart
                .next_field()
                .await
                .map_err(|error| ApiError::BadRequest(error.body_text()))?
                .ok_or_else(|| {
                    ApiError::BadRequest("the multipart body has no file field".into())
                })?;
            if field.file_name().is_some() || field.name() == Some("file") {
                break field;
            }
        };
        if let Some(name) = field.file_name() {
            import.gzip |= name.ends_with(".gz");
            import.file_name.get_or_insert_with(|| name.to_owned());
        }
        engine
            .start_import(&caller, import, Box::pin(field))
            .await?
    } else if content_type.is_empty() || CSV_TYPES.iter().any(|csv| content_type.starts_with(csv)) {
        let body = request.into_body().into_data_stream();
        engine.start_import(&caller, import, Box::pin(body)).await?
    } else {
        return Err(ApiError::UnsupportedMediaType(
            "send the file as Content-Type: text/csv (optionally gzipped), or as a \
             multipart/form-data file"
                .into(),
        ));
    };
    Ok((StatusCode::ACCEPTED, Json(created)))
}

#[utoipa::path(get, path = "/imports", tag = "imports", params(ListParams),
    responses((status = 200, body = Page<Import>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_imports(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<Import>>, ApiError> {
    let page = page(params.limit, params.cursor);
    Ok(Json(state.engine.list_imports(&caller, &page).await?))
}

/// An import: status, rows read, created, updated, unchanged, failed, progress.
#[utoipa::path(get, path = "/imports/{id}", tag = "imports", params(("id" = ImportId, Path)),
    responses((status = 200, body = Import), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_import(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ImportId>,
) -> Result<Json<Import>, ApiError> {
    Ok(Json(state.engine.get_import(&caller, id).await?))
}

/// The rows that were not applied, in line order: JSON pages, or with `Accept: text/csv` every
/// one as CSV (`line,column,code,message`).
#[utoipa::path(get, path = "/imports/{id}/errors", tag = "imports",
    params(("id" = ImportId, Path), ListParams),
    responses((status = 200, body = Page<RowError>,
        description = "JSON, or text/csv when asked for with Accept"),
        (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_import_errors(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ImportId>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let engine = &state.engine;
    if header_text(&headers, header::ACCEPT).contains("text/csv") {
        // Refuse an unknown import before the 200 starts.
        engine.get_import(&caller, id).await?;
        let rows = errors_csv(engine.clone(), caller, id);
        let response = (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            Body::from_stream(rows),
        );
        return Ok(response.into_response());
    }
    let page = page(params.limit, params.cursor);
    Ok(Json(engine.import_errors(&caller, id, &page).await?).into_response())
}

/// Every error of import `id` as CSV, a page at a time.
fn errors_csv(
    engine: Engine,
    caller: Caller,
    id: ImportId,
) -> impl futures::Stream<Item = Result<Bytes, ApiError>> {
    let header =
        futures::stream::once(async { Ok(Bytes::from_static(RowError::CSV_HEADER.as_bytes())) });
    let pages = futures::stream::unfold(
        Some(PageRequest::first(PageRequest::MAX_LIMIT)),
        move |next| {
            let (engine, caller) = (engine.clone(), caller.clone());
            async move {
                let request = next?;
                match engine.import_errors(&caller, id, &request).await {
                    Ok(page) => {
                        let mut text = String::new();
                        for error in &page.data {
                            text.push_str(&error.csv_line());
                        }
                        let following = page.next_cursor.map(|cursor| PageRequest {
                            limit: Some(PageRequest::MAX_LIMIT),
                            cursor: Some(cursor),
                        });
                        Some((Ok(Bytes::from(text)), following))
                    }
                    Err(error) => Some((Err(error.into()), None)),
                }
            }
        },
    );
    header.chain(pages)
}
