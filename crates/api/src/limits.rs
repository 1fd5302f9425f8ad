//! Inbound rate limits at the HTTP edge: which bucket a request is counted in, the 429 that
//! refuses it and the `RateLimit-*` headers that tell a client where it stands.
//!
//! - A request with credentials in its headers (`Authorization`, `X-API-Key`) is counted
//!   against its caller: the API key, or the user of an access token, at its tenant's quota.
//!   The caller found here is handed on to the `Auth` extractor, so it is authenticated once.
//!   Credentials that do not authenticate are left for the handler to refuse (401).
//! - `/auth/login`, `/auth/refresh` and `/auth/logout` are counted per client address.
//! - A webhook to a channel that does not exist (404) is counted per client address; once that
//!   bucket is spent the answer is 429 instead. Webhooks of existing channels are not counted:
//!   the queue's capacity bounds them.
//!
//! Failed logins per username are the engine's (`Engine::login`). The buckets, and whether
//! they are shared across nodes, are the engine's `Limits`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use switchboard_core::{Admission, Caller};
use switchboard_engine::LimitKey;

use crate::{ApiError, ApiState};

const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// The caller the limits authenticated, for the `Auth` extractor to take.
#[derive(Clone)]
pub(crate) struct Authenticated(pub Caller);

/// The client's address as [`ClientAddress`] reads it, for the audit log's origin.
#[derive(Clone)]
pub(crate) struct ClientIp(pub String);

/// Where a client's address is read from.
#[derive(Clone, Default)]
pub(crate) struct ClientAddress {
    /// A header set by a trusted proxy in front (`X-Forwarded-For`: its first address);
    /// unset, the connection's peer.
    pub header: Option<HeaderName>,
}

/// Where `settings` say a client's address is read from.
pub(crate) fn client_address(settings: &crate::HttpSettings) -> ClientAddress {
    ClientAddress {
        header: settings
            .client_address_header
            .as_deref()
            .and_then(|name| HeaderName::try_from(name).ok()),
    }
}

impl ClientAddress {
    fn of(&self, request: &Request) -> String {
        let forwarded = self.header.as_ref().and_then(|name| {
            let value = request.headers().get(name)?.to_str().ok()?;
            let first = value.split(',').next()?.trim();
            (!first.is_empty()).then(|| first.to_owned())
        });
        forwarded
            .or_else(|| {
                request
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(peer)| peer.ip().to_string())
            })
            .unwrap_or_else(|| "unknown".to_owned())
    }
}

/// Admits each request under its bucket, or answers 429.
pub(crate) async fn enforce(
    State((state, address)): State<(ApiState, ClientAddress)>,
    mut request: Request,
    next: Next,
) -> Response {
    let client_ip = ClientIp(address.of(&request));
    request.extensions_mut().insert(client_ip);
    let limits = state.engine.limits();
    if !limits.config().enabled {
        return next.run(request).await;
    }
    let path = request.uri().path();
    if matches!(path, "/auth/login" | "/auth/refresh" | "/auth/logout") {
        let key = LimitKey::SignIn(address.of(&request));
        return match limits.admit(&key, None, true).await {
            Some(refused) if !refused.allowed => ApiError::RateLimited(refused).into_response(),
            _ => next.run(request).await,
        };
    }
    if path.starts_with("/webhooks/") {
        let client = address.of(&request);
        let response = next.run(request).await;
        if response.status() != StatusCode::NOT_FOUND {
            return response;
        }
        let key = LimitKey::UnknownWebhook(client);
        return match limits.admit(&key, None, true).await {
            Some(refused) if !refused.allowed => ApiError::RateLimited(refused).into_response(),
            _ => response,
        };
    }
    let Some(caller) = caller(request.headers(), &state).await else {
        return next.run(request).await;
    };
    let admission = limits
        .admit(&LimitKey::caller(&caller), Some(caller.tenant_id), true)
        .await;
    match admission {
        Some(refused) if !refused.allowed => ApiError::RateLimited(refused).into_response(),
        admission => {
            request.extensions_mut().insert(Authenticated(caller));
            let mut response = next.run(request).await;
            if let Some(admission) = admission {
                add_headers(response.headers_mut(), &admission);
            }
            response
        }
    }
}

/// The caller the request's headers authenticate, if any.
async fn caller(headers: &HeaderMap, state: &ApiState) -> Option<Caller> {
    if !headers.contains_key("authorization") && !headers.contains_key("x-api-key") {
        return None;
    }
    crate::auth::caller_from_headers(headers, state)
        .await
        .ok()
        .flatten()
}

/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the bucket is
/// full), and `Retry-After` when the request was refused.
pub(crate) fn add_headers(headers: &mut HeaderMap, admission: &Admission) {
    let reset = admission.reset.as_secs_f64().ceil() as u64;
    headers.insert(RATELIMIT_LIMIT, HeaderValue::from(admission.limit));
    headers.insert(RATELIMIT_REMAINING, HeaderValue::from(admission.remaining));
    headers.insert(RATELIMIT_RESET, HeaderValue::from(reset));
    if !admission.allowed {
        headers.insert(
            axum::http::header::RETRY_AFTER,
            HeaderValue::from(switchboard_engine::retry_seconds(admission)),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_refusal_carries_retry_after_and_the_bucket_state() {
        let mut headers = HeaderMap::new();
        add_headers(
            &mut headers,
            &Admission {
                allowed: false,
                limit: 10,
                remaining: 0,
                reset: Duration::from_millis(59_100),
                retry_after: Duration::from_millis(5_100),
            },
        );
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        assert_eq!(header("ratelimit-limit"), Some("10"));
        assert_eq!(header("ratelimit-remaining"), Some("0"));
        assert_eq!(header("ratelimit-reset"), Some("60"));
        assert_eq!(header("retry-after"), Some("6"));
    }

    #[test]
    fn an_admission_has_no_retry_after() {
        let mut headers = HeaderMap::new();
        add_headers(
            &mut headers,
            &Admission {
                allowed: true,
                limit: 10,
                remaining: 9,
                reset: Duration::from_millis(100),
                retry_after: Duration::ZERO,
            },
        );
        assert!(headers.get("retry-after").is_none());
        assert_eq!(
            headers.get("ratelimit-reset").and_then(|v| v.to_str().ok()),
            Some("1")
        );
    }
}
