//! The MCP methods served, for an authenticated caller: `server/discover` (stateless),
//! `initialize` and `ping` (sessions), and in both `tools/list`, `tools/call`,
//! `resources/list`, `resources/templates/list` and `resources/read`. Each answers its result
//! object and how long a client may cache it; the transport adds what the caller's protocol
//! version puts around results.

use serde_json::{Map, Value, json};

use super::jsonrpc::{INVALID_PARAMS, RESOURCE_NOT_FOUND, RpcError};
use super::protocol::Version;
use super::tools::{self, Context, Failure};
use super::{INSTRUCTIONS, resources};

/// How long a result may be reused, as the `ttlMs` and `cacheScope` of `2026-07-28` results.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CacheHint {
    pub ttl_ms: u64,
    /// Whether the result is the same for every caller (`public`) or theirs alone (`private`).
    pub public: bool,
}

/// What the tool and template lists and discovery may be cached for: they change only with
/// a new version of this server.
const STATIC: CacheHint = CacheHint {
    ttl_ms: 5 * 60 * 1000,
    public: true,
};
/// Conversations change all the time: not to be reused.
const LIVE: CacheHint = CacheHint {
    ttl_ms: 0,
    public: false,
};

/// A method's result.
pub(crate) struct Answer {
    pub result: Map<String, Value>,
    /// Set for the results `2026-07-28` lets clients cache.
    pub cache: Option<CacheHint>,
}

impl Answer {
    fn new(result: Value, cache: Option<CacheHint>) -> Self {
        let result = match result {
            Value::Object(result) => result,
            _ => Map::new(),
        };
        Self { result, cache }
    }
}

/// Answers `method` with `params` for the caller in `context`, speaking `version`.
pub(crate) async fn answer(
    context: &Context<'_>,
    version: Version,
    method: &str,
    params: &Value,
) -> Result<Answer, RpcError> {
    match method {
        "server/discover" if !version.has_sessions() => Ok(Answer::new(
            json!({
                "supportedVersions": Version::names(),
                "capabilities": capabilities(),
                "instructions": INSTRUCTIONS
            }),
            Some(STATIC),
        )),
        "ping" if version.has_sessions() => Ok(Answer::new(json!({}), None)),
        "tools/list" => {
            no_cursor(params)?;
            Ok(Answer::new(json!({ "tools": tools::list() }), Some(STATIC)))
        }
        "tools/call" => {
            let name = params["name"]
                .as_str()
                .ok_or_else(|| RpcError::invalid_params("params.name: the tool to call"))?;
            let arguments = params.get("arguments").cloned().unwrap_or(Value::Null);
            let result = tools::call(context, name, arguments).await?;
            Ok(Answer {
                result,
                cache: None,
            })
        }
        "resources/list" => {
            let cursor = params["cursor"].as_str().map(str::to_owned);
            let (list, next_cursor) = resources::list(context, cursor).await.map_err(failed)?;
            let mut result = json!({ "resources": list });
            if let Some(next_cursor) = next_cursor {
                result["nextCursor"] = Value::String(next_cursor);
            }
            Ok(Answer::new(result, Some(LIVE)))
        }
        "resources/templates/list" => {
            no_cursor(params)?;
            let templates = resources::templates();
            Ok(Answer::new(
                json!({ "resourceTemplates": templates }),
                Some(STATIC),
            ))
        }
        "resources/read" => {
            let uri = params["uri"]
                .as_str()
                .ok_or_else(|| RpcError::invalid_params("params.uri: the resource to read"))?;
            let not_found_code = if version.has_sessions() {
                RESOURCE_NOT_FOUND
            } else {
                INVALID_PARAMS
            };
            let contents =
                resources::read(context, uri)
                    .await
                    .map_err(|failure| match failure {
                        None => resources::not_found(uri, not_found_code),
                        Some(Failure::Operation(error))
                            if error.status_and_code().1 == "not_found" =>
                        {
                            resources::not_found(uri, not_found_code)
                        }
                        Some(failure) => failed(failure),
                    })?;
            Ok(Answer::new(json!({ "contents": contents }), Some(LIVE)))
        }
        _ => Err(RpcError::method_not_found(method)),
    }
}

/// What this server offers, as `server/discover` and `initialize` describe it.
pub(crate) fn capabilities() -> Value {
    json!({
        "tools": { "listChanged": false },
        "resources": { "subscribe": false, "listChanged": false }
    })
}

/// The tool and template lists come in one page: a cursor can only be one we never gave.
fn no_cursor(params: &Value) -> Result<(), RpcError> {
    match params.get("cursor") {
        None | Some(Value::Null) => Ok(()),
        Some(_) => Err(RpcError::invalid_params(
            "cursor: this list has a single page, so no cursor is valid",
        )),
    }
}

/// A resource read or list that failed: its parameters (a cursor, a URI) were refused, with
/// REST's message and code, or an internal error.
fn failed(failure: Failure) -> RpcError {
    match failure {
        Failure::Arguments(message) => RpcError::invalid_params(message),
        Failure::Operation(error) => {
            let (status, code) = error.status_and_code();
            if status.is_server_error() {
                tracing::error!(error = %error, cause = %crate::error::causes(&error), "mcp read failed");
                return RpcError::internal();
            }
            RpcError {
                code: INVALID_PARAMS,
                message: error.client_message(),
                data: Some(json!({ "code": code })),
            }
        }
    }
}
