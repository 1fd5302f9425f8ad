//! What the protocol workers' tests share: answers to judge, a stand-in server on loopback, and
//! a run of a worker measured as a session measures it. Each test file uses part of it.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use switchboard_loadtest::http::{Endpoint, Response};
use switchboard_loadtest::metrics::{Aggregator, Metric, MetricReport, ProgressStyle, Recorder};

/// A response with `status` and `body`, to judge.
pub fn answer(status: u16, body: &str) -> Response {
    Response {
        status,
        body: Bytes::from(body.to_owned()),
    }
}

/// Serves `router` on a loopback port; the endpoint to load it through.
pub async fn serve(router: Router) -> Arc<Endpoint> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Arc::new(Endpoint::parse(&format!("http://{address}"), Duration::from_secs(5)).expect("url"))
}

/// Runs `iterations` of a worker and returns what the run measured.
pub async fn measure<W>(
    iterations: usize,
    primary: Metric,
    worker: impl FnOnce(Recorder) -> W,
    mut iterate: impl AsyncFnMut(&mut W),
    flush: impl FnOnce(&mut W),
) -> BTreeMap<String, MetricReport> {
    let (sink, aggregator) = Aggregator::start("test".into(), vec![primary], ProgressStyle::Off);
    let mut worker = worker(sink.recorder());
    for _ in 0..iterations {
        iterate(&mut worker).await;
    }
    flush(&mut worker);
    drop(worker);
    drop(sink);
    aggregator.finish(Duration::from_secs(1)).await.metrics
}
