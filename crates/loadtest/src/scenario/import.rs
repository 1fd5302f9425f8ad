//! `bulk-import`: each iteration uploads a CSV of 1,000 contacts (`POST /api/v1/imports`) and
//! follows the import until it ends; the sample is the whole time, upload to completion. The
//! calling platform's target is 10 such uploads at once, each finished within 60 s
//! (`--vus 10 --threshold 'bulk_import:max<60s'`). An import that fails, or a row refused, is
//! an error.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};

use crate::cluster::ClusterConnection;
use crate::http::Connection;
use crate::metrics::{ErrorKind, Metric, Recorder};
use crate::target::Auth;

/// Rows per uploaded file.
pub const ROWS_PER_FILE: usize = 1_000;
/// How often a running import is looked at.
const POLL: Duration = Duration::from_millis(100);
/// How long an import may run before it counts as lost.
const GIVE_UP: Duration = Duration::from_secs(120);

pub struct BulkImportWorker {
    connection: ClusterConnection,
    recorder: Recorder,
    auth: Auth,
    /// This worker's number, and its uploads so far: together they make each file's phones.
    index: usize,
    uploads: usize,
}

impl BulkImportWorker {
    pub fn new(
        auth: Auth,
        connection: ClusterConnection,
        recorder: Recorder,
        index: usize,
    ) -> Self {
        Self {
            connection,
            recorder,
            auth,
            index,
            uploads: 0,
        }
    }

    /// A file of new contacts: phones unique to this worker and upload.
    fn file(&self) -> Bytes {
        let mut csv = String::with_capacity(ROWS_PER_FILE * 48);
        csv.push_str("phone,name,plan\n");
        let file = (self.index % 1000) * 10_000 + self.uploads % 10_000;
        for row in 0..ROWS_PER_FILE {
            csv.push_str(&format!("+1{file:07}{row:04},Load contact {row},gold\n"));
        }
        Bytes::from(csv)
    }

    /// One upload, followed on the node that took it.
    pub async fn iterate(&mut self, scheduled: Instant) {
        let file = self.file();
        let (node, connection) = self.connection.next_in_turn();
        let error = upload_and_follow(
            connection,
            &self.auth,
            "/api/v1/imports?kind=contacts",
            file,
        )
        .await
        .err();
        self.uploads += 1;
        self.recorder
            .record(Metric::BulkImport, node, scheduled, Instant::now(), error);
    }

    pub fn flush(&mut self) {
        self.recorder.flush();
    }
}

/// Posts a CSV file to `path` (`/api/v1/imports?kind=…`) and follows the import until it ends:
/// `Ok` once it completed with no row failed.
pub(crate) async fn upload_and_follow(
    connection: &mut Connection,
    auth: &Auth,
    path: &str,
    file: Bytes,
) -> Result<(), ErrorKind> {
    let mut headers = auth.headers();
    headers.push((
        HeaderName::from_static("content-type"),
        HeaderValue::from_static("text/csv"),
    ));
    let response = connection
        .send(Method::POST, path, &headers, Some(file))
        .await
        .map_err(|error| error.kind())?;
    if response.status != 202 {
        return Err(ErrorKind::Status(response.status));
    }
    let id = response
        .json()
        .and_then(|body| body["id"].as_str().map(str::to_owned))
        .ok_or(ErrorKind::InvalidBody)?;
    let path = format!("/api/v1/imports/{id}");
    let headers = auth.headers();
    let started = Instant::now();
    while started.elapsed() < GIVE_UP {
        tokio::time::sleep(POLL).await;
        let response = connection
            .get(&path, &headers)
            .await
            .map_err(|error| error.kind())?;
        if response.status != 200 {
            return Err(ErrorKind::Status(response.status));
        }
        let import = response.json().ok_or(ErrorKind::InvalidBody)?;
        match import["status"].as_str() {
            Some("running") => continue,
            Some("completed") if import["failed"] == 0 => return Ok(()),
            _ => return Err(ErrorKind::InvalidBody),
        }
    }
    Err(ErrorKind::Timeout)
}
