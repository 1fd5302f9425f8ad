//! GraphiQL, for people: `GET /graphql` from a browser serves the page, and its scripts and
//! styles come from `/graphql/assets/`, compiled into the binary (`assets/graphiql/`, fetched
//! from npm by `scripts/vendor-graphiql`, licences beside them). Nothing is fetched from the
//! internet. The vendored files are kept gzipped and sent as they are to clients that accept
//! gzip (every browser), unpacked for the others.

use std::io::Read;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::{ApiError, ApiState};

/// The page: loads the assets below, then `start.js` starts GraphiQL on this server.
pub(super) fn page() -> Html<&'static str> {
    Html(include_str!("../../assets/graphiql/index.html"))
}

pub(super) fn routes() -> Router<ApiState> {
    Router::new().route("/graphql/assets/{file}", get(asset))
}

/// How an asset is stored.
enum Stored {
    Plain(&'static [u8]),
    Gzipped(&'static [u8]),
}

/// An asset by name, with its content type.
fn find(file: &str) -> Option<(Stored, &'static str)> {
    const SCRIPT: &str = "text/javascript; charset=utf-8";
    const STYLE: &str = "text/css; charset=utf-8";
    macro_rules! gzipped {
        ($name:literal) => {
            Stored::Gzipped(include_bytes!(concat!(
                "../../assets/graphiql/",
                $name,
                ".gz"
            )))
        };
    }
    Some(match file {
        "graphiql.min.js" => (gzipped!("graphiql.min.js"), SCRIPT),
        "graphiql.min.css" => (gzipped!("graphiql.min.css"), STYLE),
        "react.production.min.js" => (gzipped!("react.production.min.js"), SCRIPT),
        "react-dom.production.min.js" => (gzipped!("react-dom.production.min.js"), SCRIPT),
        "graphql-ws.min.js" => (gzipped!("graphql-ws.min.js"), SCRIPT),
        "start.js" => (
            Stored::Plain(include_bytes!("../../assets/graphiql/start.js")),
            SCRIPT,
        ),
        _ => return None,
    })
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let Some((stored, content_type)) = find(&file) else {
        return Err(ApiError::NotFound(format!("no asset {file}")));
    };
    let mut response = match stored {
        Stored::Plain(bytes) => bytes.into_response(),
        Stored::Gzipped(bytes) if accepts_gzip(&headers) => {
            let mut response = bytes.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            response
        }
        Stored::Gzipped(bytes) => {
            let mut unpacked = Vec::new();
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut unpacked)
                .map_err(|error| ApiError::Internal(error.into()))?;
            unpacked.into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    Ok(response)
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|parameter| {
                parameter
                    .trim()
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse() == Ok(0.0))
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_sent_only_to_clients_that_accept_it() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
            accepts_gzip(&headers)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, GZIP;q=0.5"));
        assert!(with("*"));
        assert!(!with("br"));
        assert!(!with("gzip;q=0"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
