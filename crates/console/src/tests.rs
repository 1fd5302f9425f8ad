//! The serving contract: content types, gzip when asked, ETag revalidation, JSON 404s.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn get(path: &str, headers: &[(&str, &str)]) -> axum::response::Response {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::empty()).expect("request");
    super::routes::<()>()
        .oneshot(request)
        .await
        .expect("infallible")
}

#[tokio::test]
async fn the_page_is_html_with_a_strict_policy() {
    let response = get("/", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert!(
        response
            .headers()
            .contains_key(header::CONTENT_SECURITY_POLICY)
    );
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("/console/app.js"));
}

#[tokio::test]
async fn scripts_are_gzipped_when_asked_and_revalidate_by_etag() {
    let response = get("/console/app.js", &[("accept-encoding", "br, gzip")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    let etag = response.headers()[header::ETAG]
        .to_str()
        .expect("ascii")
        .to_owned();
    let again = get("/console/app.js", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let body = again.into_body().collect().await.expect("body").to_bytes();
    assert!(body.is_empty());

    let plain = get("/console/app.js", &[("accept-encoding", "gzip;q=0")]).await;
    assert!(!plain.headers().contains_key(header::CONTENT_ENCODING));
}

#[tokio::test]
async fn an_unknown_file_is_a_json_404() {
    let response = get("/console/nothing.js", &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("\"code\":\"not_found\""));
}
