//! What every fake shares: a router served on `127.0.0.1:0` for as long as the fake lives, and
//! captured headers as `(lowercase name, value)` pairs.

use std::net::SocketAddr;

use anyhow::Context;
use axum::http::HeaderMap;

/// A router served on a local port; stops when dropped.
pub(crate) struct LocalServer {
    pub address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl LocalServer {
    /// Serves `router` on `127.0.0.1:0`; `what` names the fake in errors.
    pub(crate) async fn start(router: axum::Router, what: &str) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .with_context(|| format!("binding the {what}"))?;
        let address = listener.local_addr()?;
        let task = tokio::spawn(async move {
            // The fake lives as long as the test; a failing accept loop shows as refused requests.
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self { address, task })
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Header names in lowercase with their values, in arrival order.
pub(crate) fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}
