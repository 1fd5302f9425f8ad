//! The protocol versions served and what a request must carry to be read in each: the
//! `2026-07-28` envelope (`_meta` with the version and client capabilities, mirrored by the
//! `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers) and the session header of the
//! versions before it.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::jsonrpc::RpcError;

pub(crate) const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";
pub(crate) const SESSION_HEADER: &str = "mcp-session-id";
const METHOD_HEADER: &str = "mcp-method";
const NAME_HEADER: &str = "mcp-name";
const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";

/// A protocol version this server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// Stateless: every request carries its version and capabilities; no sessions.
    V2026_07_28,
    /// Sessions opened by `initialize`.
    V2025_11_25,
    /// Sessions opened by `initialize`.
    V2025_06_18,
}

impl Version {
    /// Every version served, newest first.
    pub(crate) const ALL: [Version; 3] = [
        Version::V2026_07_28,
        Version::V2025_11_25,
        Version::V2025_06_18,
    ];
    /// What an `initialize` asking for a version we do not speak is offered instead.
    pub(crate) const NEWEST_WITH_SESSIONS: Version = Version::V2025_11_25;

    pub(crate) fn parse(text: &str) -> Option<Version> {
        Self::ALL
            .into_iter()
            .find(|version| version.as_str() == text)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Version::V2026_07_28 => "2026-07-28",
            Version::V2025_11_25 => "2025-11-25",
            Version::V2025_06_18 => "2025-06-18",
        }
    }

    /// Whether the version opens sessions with `initialize` (rather than being stateless).
    pub(crate) fn has_sessions(self) -> bool {
        self != Version::V2026_07_28
    }

    /// The names of every version served, newest first, as error data and discovery list them.
    pub(crate) fn names() -> [&'static str; 3] {
        Self::ALL.map(Version::as_str)
    }
}

/// Checks a stateless request: its `_meta` names a protocol version and client capabilities,
/// the headers repeat the version, the method and (for a call or a read) the name, and the
/// version is one served without a session. Rules in the order the specification gives them.
pub(crate) fn read_envelope(
    headers: &HeaderMap,
    method: &str,
    params: &Value,
) -> Result<Version, RpcError> {
    let meta = &params["_meta"];
    let (Some(requested), Some(_capabilities)) = (
        meta.get(PROTOCOL_VERSION_KEY).and_then(Value::as_str),
        meta.get(CLIENT_CAPABILITIES_KEY)
            .filter(|value| value.is_object()),
    ) else {
        return Err(RpcError::invalid_params(format!(
            "params._meta must carry {PROTOCOL_VERSION_KEY:?} (a string) and \
             {CLIENT_CAPABILITIES_KEY:?} (an object); a client of a version before 2026-07-28 \
             sends initialize first"
        )));
    };
    let version_header = header(headers, PROTOCOL_VERSION_HEADER)?;
    if version_header != Some(requested) {
        return Err(RpcError::header_mismatch(format!(
            "MCP-Protocol-Version {} does not match the body's protocol version {requested:?}",
            shown(version_header)
        )));
    }
    let method_header = header(headers, METHOD_HEADER)?;
    if method_header != Some(method) {
        return Err(RpcError::header_mismatch(format!(
            "Mcp-Method {} does not match the body's method {method:?}",
            shown(method_header)
        )));
    }
    if let Some(field) = named_by(method)
        && let Some(expected) = params[field].as_str()
    {
        let name = header(headers, NAME_HEADER)?.map(decode_header_value);
        if name.as_deref() != Some(expected) {
            return Err(RpcError::header_mismatch(format!(
                "Mcp-Name {} does not match the body's {field} {expected:?}",
                shown(name.as_deref())
            )));
        }
    }
    match Version::parse(requested) {
        Some(version) if !version.has_sessions() => Ok(version),
        Some(_) => Err(RpcError::unsupported_version(
            requested,
            &Version::names(),
            ": it is spoken in sessions, send initialize first",
        )),
        None => Err(RpcError::unsupported_version(
            requested,
            &Version::names(),
            "",
        )),
    }
}

/// The body field `Mcp-Name` repeats for `method`, if it has one.
fn named_by(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// A header's text; a value that is not text is a mismatch with any body.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, RpcError> {
    headers
        .get(name)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| RpcError::header_mismatch(format!("{name} is not visible ASCII")))
        })
        .transpose()
}

/// A header value, decoded if it was sent in the `=?base64?…?=` form used for values that are
/// not plain ASCII. A form that does not decode stays as sent (and so matches nothing).
fn decode_header_value(value: &str) -> String {
    value
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| value.to_owned())
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "is missing and".to_owned(), |value| format!("{value:?}"))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use serde_json::json;

    use super::*;
    use crate::mcp::jsonrpc::{HEADER_MISMATCH, INVALID_PARAMS, UNSUPPORTED_PROTOCOL_VERSION};

    fn params(version: &str) -> Value {
        json!({"name": "echo", "_meta": {
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {}
        }})
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).expect("a header value"));
        }
        headers
    }

    fn code(result: Result<Version, RpcError>) -> i64 {
        result.expect_err("refused").code
    }

    #[test]
    fn a_complete_envelope_is_read() {
        let headers = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
        ]);
        let version = read_envelope(&headers, "tools/call", &params("2026-07-28"));
        assert_eq!(version, Ok(Version::V2026_07_28));
    }

    #[test]
    fn each_header_must_agree_with_the_body() {
        let full = [
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
        ];
        for left_out in 0..full.len() {
            let mut pairs = full.to_vec();
            pairs.remove(left_out);
            let result = read_envelope(&headers(&pairs), "tools/call", &params("2026-07-28"));
            assert_eq!(
                code(result),
                HEADER_MISMATCH,
                "without {:?}",
                full[left_out]
            );
        }
        let wrong_name = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "get_time"),
        ]);
        let result = read_envelope(&wrong_name, "tools/call", &params("2026-07-28"));
        assert_eq!(code(result), HEADER_MISMATCH);
    }

    #[test]
    fn a_name_may_come_base64_encoded() {
        let headers = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "=?base64?ZWNobw==?="),
        ]);
        let version = read_envelope(&headers, "tools/call", &params("2026-07-28"));
        assert_eq!(version, Ok(Version::V2026_07_28));
    }

    #[test]
    fn versions_without_sessions_are_the_only_ones_served_statelessly() {
        for (version, expected) in [
            ("1900-01-01", UNSUPPORTED_PROTOCOL_VERSION),
            ("2025-11-25", UNSUPPORTED_PROTOCOL_VERSION),
        ] {
            let headers = headers(&[
                ("mcp-protocol-version", version),
                ("mcp-method", "tools/list"),
            ]);
            let error =
                read_envelope(&headers, "tools/list", &params(version)).expect_err("refused");
            assert_eq!(error.code, expected);
            let supported = error.data.expect("data")["supported"].clone();
            assert_eq!(supported, json!(["2026-07-28", "2025-11-25", "2025-06-18"]));
        }
    }

    #[test]
    fn a_request_without_the_envelope_is_invalid_params() {
        let result = read_envelope(&HeaderMap::new(), "tools/list", &json!({}));
        assert_eq!(code(result), INVALID_PARAMS);
    }
}
