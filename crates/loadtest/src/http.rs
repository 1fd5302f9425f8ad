//! A lean HTTP/1.1 client: one keep-alive connection per virtual user, reopened after a
//! failure, so the harness spends its CPU on load rather than on a shared pool. `https://`
//! targets go through reqwest (rustls) instead.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::metrics::ErrorKind;

/// A base URL the harness talks to: `http://host:port` or `https://host[:port]`, with an
/// optional path prefix.
#[derive(Debug, Clone)]
pub struct Endpoint {
    base: String,
    authority: String,
    host: HeaderValue,
    prefix: String,
    https: Option<reqwest::Client>,
    timeout: Duration,
}

/// Why a URL is not usable.
#[derive(Debug, thiserror::Error)]
#[error("`{url}`: {reason}")]
pub struct EndpointError {
    pub url: String,
    pub reason: String,
}

impl Endpoint {
    pub fn parse(url: &str, timeout: Duration) -> Result<Endpoint, EndpointError> {
        let error = |reason: &str| EndpointError {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = url.trim().trim_end_matches('/');
        let (https, rest) = if let Some(rest) = trimmed.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = trimmed.strip_prefix("https://") {
            (true, rest)
        } else {
            return Err(error("expected http://host:port or https://host"));
        };
        let (authority, prefix) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(error("no host"));
        }
        let host = HeaderValue::from_str(authority).map_err(|_| error("invalid host"))?;
        let authority = if authority.contains(':') && !authority.ends_with(']') {
            authority.to_owned()
        } else {
            format!("{authority}:{}", if https { 443 } else { 80 })
        };
        let https = if https {
            let client = reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .map_err(|cause| error(&format!("cannot build a TLS client: {cause}")))?;
            Some(client)
        } else {
            None
        };
        Ok(Endpoint {
            base: trimmed.to_owned(),
            authority,
            host,
            prefix: prefix.to_owned(),
            https,
            timeout,
        })
    }

    /// The URL as given, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// How long one request may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `host:port` of the endpoint.
    pub fn authority(&self) -> &str {
        &self.authority
    }
}

/// A response: the status and the whole body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Bytes,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request that got no HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot connect to {authority}: {source}")]
    Connect {
        authority: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the connection failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("invalid request: {0}")]
    Request(#[from] http::Error),
    #[error("{0}")]
    Tls(#[from] reqwest::Error),
}

impl TransportError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            TransportError::Connect { .. } => ErrorKind::Connect,
            TransportError::Timeout(_) => ErrorKind::Timeout,
            TransportError::Tls(error) if error.is_timeout() => ErrorKind::Timeout,
            TransportError::Tls(error) if error.is_connect() => ErrorKind::Connect,
            _ => ErrorKind::Transport,
        }
    }
}

/// Headers sent with a request; values are cheap to clone.
pub type Headers = Vec<(HeaderName, HeaderValue)>;

/// One virtual user's connection to an [`Endpoint`].
pub struct Connection {
    endpoint: Arc<Endpoint>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    pub fn new(endpoint: Arc<Endpoint>) -> Self {
        Self {
            endpoint,
            sender: None,
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub async fn get(
        &mut self,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Response, TransportError> {
        self.send(Method::GET, path, headers, None).await
    }

    /// Sends `body` (JSON unless a `content-type` header says otherwise) to `path`.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Option<Bytes>,
    ) -> Result<Response, TransportError> {
        let timeout = self.endpoint.timeout;
        match tokio::time::timeout(timeout, self.exchange(method, path, headers, body)).await {
            Ok(result) => {
                if result.is_err() {
                    self.sender = None;
                }
                result
            }
            Err(_) => {
                // The answer may still come on this connection; never read it as the next one's.
                self.sender = None;
                Err(TransportError::Timeout(timeout))
            }
        }
    }

    async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Option<Bytes>,
    ) -> Result<Response, TransportError> {
        let uri = format!("{}{path}", self.endpoint.prefix);
        if let Some(client) = &self.endpoint.https {
            let mut request = client.request(method, format!("{}{path}", self.endpoint.base));
            for (name, value) in headers {
                request = request.header(name, value);
            }
            if let Some(body) = body {
                if !headers.iter().any(|(name, _)| name == CONTENT_TYPE) {
                    request = request.header(CONTENT_TYPE, "application/json");
                }
                request = request.body(body);
            }
            let response = request.send().await?;
            let status = response.status().as_u16();
            let body = response.bytes().await?;
            return Ok(Response { status, body });
        }
        let has_body = body.is_some();
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(HOST, self.endpoint.host.clone());
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        if has_body && !headers.iter().any(|(name, _)| name == CONTENT_TYPE) {
            builder = builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let request = builder.body(Full::new(body.unwrap_or_default()))?;
        let sender = self.ready_sender().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Response { status, body })
    }

    async fn ready_sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, TransportError> {
        let mut reused = self.sender.take();
        if let Some(sender) = &mut reused
            && sender.ready().await.is_err()
        {
            reused = None;
        }
        let sender = match reused {
            Some(sender) => sender,
            None => self.connect().await?,
        };
        Ok(self.sender.insert(sender))
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, TransportError> {
        let authority = &self.endpoint.authority;
        let stream =
            TcpStream::connect(authority)
                .await
                .map_err(|source| TransportError::Connect {
                    authority: authority.clone(),
                    source,
                })?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the peer closes; errors surface on the sender.
            let _ = connection.await;
        });
        Ok(sender)
    }
}
