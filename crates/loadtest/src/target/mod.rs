//! The deployment under load: its address, how the harness authenticates (a logged-in user
//! whose access token is refreshed in the background, or an API key), and the server process
//! when the harness started it itself.

mod seed;
mod spawn;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use serde_json::Value;
use switchboard_api_types::{LoginRequest, LoginResponse, RefreshRequest};
use tokio_util::sync::CancellationToken;

pub use seed::{Fixture, RestFixture, SEARCH_WORDS, SeedOptions, SeededChannel, seed};
pub(crate) use spawn::random_hex;
pub use spawn::{SpawnOptions, SpawnedServer};

use crate::error::LoadtestError;
use crate::http::{Connection, Endpoint, Headers, Response};

/// How the harness proves who it is.
#[derive(Debug, Clone)]
pub enum Credentials {
    Password { username: String, password: String },
    ApiKey(String),
}

/// Authentication headers for `/api/v1`, kept fresh for the whole run.
#[derive(Clone)]
pub struct Auth {
    authorization: Arc<RwLock<(HeaderName, HeaderValue)>>,
    tenant: Option<HeaderValue>,
    /// The logged-in user's id; an API key does not tell it.
    user_id: Option<String>,
    stop: CancellationToken,
}

impl Auth {
    /// Logs in (or checks the API key) and, for a password login, refreshes the access token
    /// before it expires until [`Auth::stop`].
    pub async fn establish(
        endpoint: Arc<Endpoint>,
        credentials: &Credentials,
    ) -> Result<Auth, LoadtestError> {
        let stop = CancellationToken::new();
        let authorization = match credentials {
            Credentials::ApiKey(key) => (
                HeaderName::from_static("x-api-key"),
                header_value(key, "api-key")?,
            ),
            Credentials::Password { username, password } => {
                let mut connection = Connection::new(endpoint.clone());
                let body = LoginRequest {
                    username: username.clone(),
                    password: password.clone(),
                };
                let login: LoginResponse = call_json(
                    &mut connection,
                    Method::POST,
                    "/auth/login",
                    &[],
                    &body,
                    "logging in",
                )
                .await?;
                let header = bearer(&login.tokens.access_token)?;
                let authorization = Arc::new(RwLock::new((AUTHORIZATION, header)));
                let user_id = Some(login.user.id.to_string());
                tokio::spawn(refresh_tokens(
                    connection,
                    Arc::clone(&authorization),
                    login,
                    stop.clone(),
                ));
                return Ok(Auth {
                    authorization,
                    tenant: None,
                    user_id,
                    stop,
                });
            }
        };
        Ok(Auth {
            authorization: Arc::new(RwLock::new(authorization)),
            tenant: None,
            user_id: None,
            stop,
        })
    }

    /// The id of the user the harness acts as, when it logged in with a password.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// Acts inside `tenant` (platform admins) from now on.
    pub fn in_tenant(&self, tenant: &str) -> Result<Auth, LoadtestError> {
        Ok(Auth {
            tenant: Some(header_value(tenant, "tenant")?),
            ..self.clone()
        })
    }

    /// The headers to send with an `/api/v1` request.
    pub fn headers(&self) -> Headers {
        let authorization = self
            .authorization
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut headers = vec![authorization];
        if let Some(tenant) = &self.tenant {
            headers.push((HeaderName::from_static("x-tenant-id"), tenant.clone()));
        }
        headers
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}

fn bearer(token: &str) -> Result<HeaderValue, LoadtestError> {
    header_value(&format!("Bearer {token}"), "access token")
}

fn header_value(value: &str, what: &'static str) -> Result<HeaderValue, LoadtestError> {
    HeaderValue::from_str(value).map_err(|_| LoadtestError::InvalidOption {
        option: "api-key",
        message: format!("the {what} is not a valid header value"),
    })
}

/// Swaps in a new access token a minute before the current one expires.
async fn refresh_tokens(
    mut connection: Connection,
    authorization: Arc<RwLock<(HeaderName, HeaderValue)>>,
    mut login: LoginResponse,
    stop: CancellationToken,
) {
    loop {
        let lifetime = Duration::from_secs(login.tokens.expires_in);
        let wait = lifetime
            .saturating_sub(Duration::from_secs(60))
            .max(lifetime / 2);
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        let body = RefreshRequest {
            refresh_token: login.tokens.refresh_token.clone(),
        };
        match call_json::<LoginResponse>(
            &mut connection,
            Method::POST,
            "/auth/refresh",
            &[],
            &body,
            "refreshing the token",
        )
        .await
        {
            Ok(renewed) => {
                if let Ok(header) = bearer(&renewed.tokens.access_token) {
                    *authorization
                        .write()
                        .unwrap_or_else(PoisonError::into_inner) = (AUTHORIZATION, header);
                }
                login = renewed;
            }
            Err(error) => {
                eprintln!("switchboard loadtest: {error}; requests may start failing with 401");
                return;
            }
        }
    }
}

/// Sends `body` as JSON and reads a 2xx answer as `T`; anything else is an error naming `step`.
pub(crate) async fn call_json<T: serde::de::DeserializeOwned>(
    connection: &mut Connection,
    method: Method,
    path: &str,
    headers: &[(HeaderName, HeaderValue)],
    body: &impl serde::Serialize,
    step: &str,
) -> Result<T, LoadtestError> {
    let bytes = serde_json::to_vec(body).map_err(|error| LoadtestError::Refused {
        step: step.to_owned(),
        status: 0,
        body: error.to_string(),
    })?;
    let response = connection
        .send(method, path, headers, Some(Bytes::from(bytes)))
        .await
        .map_err(|error| LoadtestError::transport(step, error))?;
    parse_answer(response, step)
}

/// `GET path` and read a 2xx answer as `T`.
pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
    connection: &mut Connection,
    path: &str,
    headers: &[(HeaderName, HeaderValue)],
    step: &str,
) -> Result<T, LoadtestError> {
    let response = connection
        .get(path, headers)
        .await
        .map_err(|error| LoadtestError::transport(step, error))?;
    parse_answer(response, step)
}

fn parse_answer<T: serde::de::DeserializeOwned>(
    response: Response,
    step: &str,
) -> Result<T, LoadtestError> {
    let refused = |response: &Response| LoadtestError::Refused {
        step: step.to_owned(),
        status: response.status,
        body: response.text().chars().take(500).collect(),
    };
    if !response.is_success() {
        return Err(refused(&response));
    }
    serde_json::from_slice(&response.body).map_err(|_| refused(&response))
}

/// The `id` field of a created resource.
pub(crate) fn id_of(value: &Value, step: &str) -> Result<String, LoadtestError> {
    value
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| LoadtestError::Refused {
            step: step.to_owned(),
            status: 200,
            body: format!("no `id` in {value}"),
        })
}
