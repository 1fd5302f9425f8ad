//! Extractors whose rejections are `ApiError`s, so malformed JSON, wrong types, oversize bodies
//! and bad path or query values all answer with the JSON error body.

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::ApiError;

/// A JSON body in, or a JSON body out.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A body sent as JSON or as an HTML form (`application/x-www-form-urlencoded`, as scripts and
/// load tools send a login), read into the same type with the same errors.
pub struct JsonOrForm<T>(pub T);

impl<S, T> FromRequest<S> for JsonOrForm<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if form {
            let axum::Form(value) = axum::Form::<T>::from_request(request, state).await?;
            Ok(Self(value))
        } else {
            let Json(value) = Json::<T>::from_request(request, state).await?;
            Ok(Self(value))
        }
    }
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            return ApiError::UnsupportedMediaType(
                "send the body as Content-Type: application/json".into(),
            );
        }
        unreadable_body(
            rejection.status(),
            rejection.body_text(),
            "Failed to deserialize the JSON body into the target type: ",
        )
    }
}

impl From<FormRejection> for ApiError {
    fn from(rejection: FormRejection) -> Self {
        unreadable_body(
            rejection.status(),
            rejection.body_text(),
            "Failed to deserialize form body: ",
        )
    }
}

/// A body that could not be read: too large (413), the wrong shape (422, in the parser's words
/// without their `preamble`), or otherwise malformed (400).
fn unreadable_body(status: StatusCode, message: String, preamble: &str) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge("request body is larger than the configured limit".into())
        }
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::Validation {
            field: None,
            message: message.trim_start_matches(preamble).to_owned(),
        },
        _ => ApiError::BadRequest(message),
    }
}

/// The raw request body, for webhooks whose signatures cover the exact bytes.
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::body::Bytes::from_request(request, state)
            .await
            .map(RawBody)
            .map_err(|rejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(
                    "request body is larger than the configured limit".into(),
                ),
                _ => ApiError::BadRequest(rejection.body_text()),
            })
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}
