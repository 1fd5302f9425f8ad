//! Cross-cutting HTTP behaviour: request ids (taken from `X-Request-Id` or generated, echoed
//! back), one structured access-log line and request metrics per request, CORS, and a timeout.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};

use crate::adapters::{Adapter, Adapters};
use crate::{ApiError, HttpSettings};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps the routes in the layers every request passes through (outermost last).
pub(crate) fn wrap(app: Router, settings: &HttpSettings, adapters: Adapters) -> Router {
    let timeout = settings.request_timeout;
    let app = app
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| async move {
                match tokio::time::timeout(timeout, next.run(request)).await {
                    Ok(response) => response,
                    Err(_) => ApiError::Unavailable("request timed out".into()).into_response(),
                }
            },
        ))
        .layer(axum::middleware::from_fn_with_state(adapters, observe));
    let app = match cors(&settings.cors_origins) {
        Some(cors) => app.layer(cors),
        None => app,
    };
    app.layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Records `http_requests_total` and `http_request_duration_seconds` by method, route and
/// status, counts the request for its adapter, and logs one line per request.
async fn observe(
    axum::extract::State(adapters): axum::extract::State<Adapters>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let elapsed = started.elapsed();
    if let Some(adapter) = Adapter::of_route(&route) {
        adapters.record(adapter, status, elapsed);
    }
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::warn!(%method, %path, status = status.as_u16(), latency_ms, request_id, "request");
    } else {
        tracing::info!(%method, %path, status = status.as_u16(), latency_ms, request_id, "request");
    }
    response
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers(Any)
            .expose_headers([REQUEST_ID])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// `204 No Content`, for deletes.
pub(crate) fn no_content() -> StatusCode {
    StatusCode::NO_CONTENT
}
