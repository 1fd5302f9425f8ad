//! `health`: `GET /health`, the cheapest round trip the server has (no I/O behind it).

use std::sync::Arc;
use std::time::Instant;

use crate::http::{Connection, Endpoint};
use crate::metrics::{ErrorKind, Metric, Recorder};

pub struct HealthWorker {
    connection: Connection,
    recorder: Recorder,
}

impl HealthWorker {
    pub fn new(endpoint: Arc<Endpoint>, recorder: Recorder) -> Self {
        Self {
            connection: Connection::new(endpoint),
            recorder,
        }
    }

    pub async fn iterate(&mut self, scheduled: Instant) {
        let error = match self.connection.get("/health", &[]).await {
            Ok(response) if response.status == 200 => None,
            Ok(response) => Some(ErrorKind::Status(response.status)),
            Err(error) => Some(error.kind()),
        };
        self.recorder
            .record(Metric::Health, scheduled, Instant::now(), error);
    }

    pub fn flush(&mut self) {
        self.recorder.flush();
    }
}
