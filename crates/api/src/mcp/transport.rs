//! Streamable HTTP at `/mcp`, both generations on one endpoint. Every request passes the
//! `Host`/`Origin` check, then authenticates as REST does; then a POST is read as one JSON-RPC
//! message and routed by what it carries:
//! - `initialize` opens a session (`2025-11-25`, `2025-06-18`) and answers its id in
//!   `Mcp-Session-Id`;
//! - a request with `Mcp-Session-Id` belongs to that session (404 when unknown) and may repeat
//!   its version in `MCP-Protocol-Version` (400 when it differs);
//! - any other request is stateless (`2026-07-28`): its `_meta` and `Mcp-*` headers are checked
//!   (`protocol::read_envelope`) and its result carries `resultType`, the server's identity and,
//!   where the method allows, cache hints.
//!
//! `GET` is 405 (no standalone stream is offered), `DELETE` ends a session (405 without one).
//! Every refusal has a JSON-RPC error body. Responses are always `application/json`: no method
//! served streams.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard_core::Caller;

use super::jsonrpc::{
    FORBIDDEN, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, Incoming, METHOD_NOT_FOUND,
    RpcError, SESSION_NOT_FOUND, UNAUTHORIZED, result_response,
};
use super::methods::{self, Answer, capabilities};
use super::protocol::{PROTOCOL_VERSION_HEADER, SESSION_HEADER, Version, header, read_envelope};
use super::tools::Context;
use super::{INSTRUCTIONS, Mcp};
use crate::auth::{caller_from_headers, missing_credentials};
use crate::{ApiError, ApiState};

/// Handles any request to `/mcp`.
pub(crate) async fn serve(
    mcp: &Mcp,
    state: &ApiState,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let outcome = async {
        mcp.hosts
            .check(
                headers
                    .get(header::HOST)
                    .and_then(|host| host.to_str().ok()),
                headers
                    .get(header::ORIGIN)
                    .and_then(|origin| origin.to_str().ok()),
            )
            .map_err(|reason| {
                Refusal::new(StatusCode::FORBIDDEN, RpcError::new(FORBIDDEN, reason))
            })?;
        match method {
            Method::POST => {
                let caller = authenticate(state, &headers).await?;
                post(mcp, state, &caller, &headers, body).await
            }
            Method::DELETE => {
                let caller = authenticate(state, &headers).await?;
                end_session(mcp, &caller, &headers)
            }
            _ => Err(Refusal::method_not_allowed(&method)),
        }
    };
    outcome.await.unwrap_or_else(Refusal::into_response)
}

async fn post(
    mcp: &Mcp,
    state: &ApiState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Refusal> {
    let body = body.map_err(|rejection| {
        let error = RpcError::invalid_request(match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => "the body is larger than the configured limit".into(),
            _ => rejection.body_text(),
        });
        Refusal::new(rejection.status(), error)
    })?;
    let incoming = Incoming::parse(&body).map_err(Refusal::bad_request)?;
    let context = Context {
        engine: &state.engine,
        caller,
    };
    let session = header(headers, SESSION_HEADER).map_err(Refusal::bad_request)?;
    match (incoming, session) {
        (Incoming::Request { id, method, params }, _) if method == "initialize" => {
            Ok(initialize(mcp, caller, &id, &params))
        }
        (incoming, Some(session)) => {
            let version = resume(mcp, caller, headers, session)?;
            Ok(in_session(&context, version, incoming).await)
        }
        (Incoming::Notification, None) => Ok(StatusCode::ACCEPTED.into_response()),
        (Incoming::Request { id, method, params }, None) => {
            stateless(&context, headers, &id, &method, &params).await
        }
    }
}

/// A message in a session: a request's result or error comes with 200, as those versions
/// answer.
async fn in_session(context: &Context<'_>, version: Version, incoming: Incoming) -> Response {
    let Incoming::Request { id, method, params } = incoming else {
        return StatusCode::ACCEPTED.into_response();
    };
    let body = match methods::answer(context, version, &method, &params).await {
        Ok(answer) => result_response(&id, Value::Object(answer.result)),
        Err(error) => error.response(Some(&id)),
    };
    json_response(StatusCode::OK, body)
}

/// A stateless request: its envelope checked, its result in the `2026-07-28` form, its
/// error with the HTTP status that version gives it.
async fn stateless(
    context: &Context<'_>,
    headers: &HeaderMap,
    id: &Value,
    method: &str,
    params: &Value,
) -> Result<Response, Refusal> {
    let version = read_envelope(headers, method, params)
        .map_err(|error| Refusal::new(StatusCode::BAD_REQUEST, error).to(id))?;
    match methods::answer(context, version, method, params).await {
        Ok(answer) => Ok(json_response(
            StatusCode::OK,
            result_response(id, stateless_result(answer)),
        )),
        Err(error) => Err(Refusal::new(stateless_status(error.code), error).to(id)),
    }
}

/// Opens a session in the version the client asked for if it is one with sessions, else in
/// the newest one with sessions (the client decides whether it speaks that).
fn initialize(mcp: &Mcp, caller: &Caller, id: &Value, params: &Value) -> Response {
    let version = params["protocolVersion"]
        .as_str()
        .and_then(Version::parse)
        .filter(|version| version.has_sessions())
        .unwrap_or(Version::NEWEST_WITH_SESSIONS);
    let session = mcp.sessions.open(caller, version);
    let result = json!({
        "protocolVersion": version.as_str(),
        "capabilities": capabilities(),
        "serverInfo": server_info(),
        "instructions": INSTRUCTIONS
    });
    let mut response = json_response(StatusCode::OK, result_response(id, result));
    if let Ok(session) = HeaderValue::from_str(&session) {
        response.headers_mut().insert(SESSION_HEADER, session);
    }
    response
}

/// The version of the caller's session `session`, checked against `MCP-Protocol-Version`.
fn resume(
    mcp: &Mcp,
    caller: &Caller,
    headers: &HeaderMap,
    session: &str,
) -> Result<Version, Refusal> {
    let version = mcp
        .sessions
        .resume(session, caller)
        .ok_or_else(session_not_found)?;
    match header(headers, PROTOCOL_VERSION_HEADER).map_err(Refusal::bad_request)? {
        Some(requested) if requested != version.as_str() => {
            Err(Refusal::bad_request(RpcError::invalid_request(format!(
                "MCP-Protocol-Version {requested:?}: this session speaks {}",
                version.as_str()
            ))))
        }
        _ => Ok(version),
    }
}

/// `DELETE /mcp`: ends the session named by `Mcp-Session-Id`.
fn end_session(mcp: &Mcp, caller: &Caller, headers: &HeaderMap) -> Result<Response, Refusal> {
    let Some(session) = header(headers, SESSION_HEADER).map_err(Refusal::bad_request)? else {
        return Err(Refusal::method_not_allowed(&Method::DELETE));
    };
    if mcp.sessions.end(session, caller) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(session_not_found())
    }
}

fn session_not_found() -> Refusal {
    Refusal::new(
        StatusCode::NOT_FOUND,
        RpcError::new(
            SESSION_NOT_FOUND,
            "session not found (ended or expired): send initialize to open a new one",
        ),
    )
}

/// A `2026-07-28` result: marked complete, naming this server, with its cache hint.
fn stateless_result(answer: Answer) -> Value {
    let mut result = answer.result;
    result.insert("resultType".into(), Value::String("complete".into()));
    if let Some(cache) = answer.cache {
        result.insert("ttlMs".into(), json!(cache.ttl_ms));
        let scope = if cache.public { "public" } else { "private" };
        result.insert("cacheScope".into(), json!(scope));
    }
    result.insert(
        "_meta".into(),
        json!({ "io.modelcontextprotocol/serverInfo": server_info() }),
    );
    Value::Object(result)
}

/// The HTTP status of a stateless request's error: 404 for an unknown method, 500 for ours,
/// 400 for anything the client sent wrong.
fn stateless_status(code: i64) -> StatusCode {
    match code {
        METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        INTERNAL_ERROR => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn server_info() -> Value {
    json!({ "name": "switchboard", "title": "Switchboard", "version": env!("CARGO_PKG_VERSION") })
}

/// The caller the headers authenticate, as REST authenticates them.
async fn authenticate(state: &ApiState, headers: &HeaderMap) -> Result<Caller, Refusal> {
    match caller_from_headers(headers, state).await {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => Err(Refusal::from(missing_credentials())),
        Err(error) => Err(Refusal::from(error)),
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A request refused before any method ran: an HTTP status and a JSON-RPC error body.
struct Refusal {
    status: StatusCode,
    error: RpcError,
    /// The refused request's id, once read.
    id: Option<Value>,
}

impl Refusal {
    fn new(status: StatusCode, error: RpcError) -> Self {
        Self {
            status,
            error,
            id: None,
        }
    }

    fn bad_request(error: RpcError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error)
    }

    fn method_not_allowed(method: &Method) -> Self {
        let message = if *method == Method::DELETE {
            "DELETE ends a session: send it with the Mcp-Session-Id that initialize returned"
                .to_owned()
        } else {
            format!("{method} is not served: POST one JSON-RPC message per request")
        };
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            RpcError::invalid_request(message),
        )
    }

    fn to(mut self, id: &Value) -> Self {
        self.id = Some(id.clone());
        self
    }

    fn into_response(self) -> Response {
        let mut response = json_response(self.status, self.error.response(self.id.as_ref()));
        let headers = response.headers_mut();
        match self.status {
            StatusCode::UNAUTHORIZED => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::METHOD_NOT_ALLOWED => {
                headers.insert(header::ALLOW, HeaderValue::from_static("POST, DELETE"));
            }
            _ => {}
        }
        response
    }
}

impl From<ApiError> for Refusal {
    /// An authentication failure in REST's status, with REST's message.
    fn from(error: ApiError) -> Self {
        let (status, _) = error.status_and_code();
        let code = match status {
            StatusCode::UNAUTHORIZED => UNAUTHORIZED,
            StatusCode::FORBIDDEN => FORBIDDEN,
            status if status.is_server_error() => INTERNAL_ERROR,
            StatusCode::UNPROCESSABLE_ENTITY => INVALID_PARAMS,
            _ => INVALID_REQUEST,
        };
        if status.is_server_error() {
            tracing::error!(error = %error, cause = %crate::error::causes(&error), "mcp authentication failed");
        }
        Self::new(status, RpcError::new(code, error.client_message()))
    }
}
