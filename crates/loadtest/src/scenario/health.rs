//! `health`: `GET /health`, the cheapest round trip the server has (no I/O behind it).

use std::time::Instant;

use crate::cluster::ClusterConnection;
use crate::metrics::{ErrorKind, Metric, Recorder};

pub struct HealthWorker {
    connection: ClusterConnection,
    recorder: Recorder,
}

impl HealthWorker {
    pub fn new(connection: ClusterConnection, recorder: Recorder) -> Self {
        Self {
            connection,
            recorder,
        }
    }

    pub async fn iterate(&mut self, scheduled: Instant) {
        let (node, connection) = self.connection.next_in_turn();
        let error = match connection.get("/health", &[]).await {
            Ok(response) if response.status == 200 => None,
            Ok(response) => Some(ErrorKind::Status(response.status)),
            Err(error) => Some(error.kind()),
        };
        self.recorder
            .record(Metric::Health, node, scheduled, Instant::now(), error);
    }

    pub fn flush(&mut self) {
        self.recorder.flush();
    }
}
