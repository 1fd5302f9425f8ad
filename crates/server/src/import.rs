//! `switchboard import FILE`: a CSV file imported in-process (on the configured database, the
//! engine's own import run here) or uploaded to a running server (`--target`), with a progress
//! bar on a terminal (plain lines otherwise), a summary, and the rows that were not applied
//! written beside the file as `FILE.errors.csv`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use switchboard_core::{Caller, Import, ImportId, ImportStatus, RowError};
use switchboard_engine::{Engine, ImportRequest, PageRequest};
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use crate::cli::ImportArgs;
use crate::{App, Config};

/// How often the import is looked at while it runs.
const POLL: Duration = Duration::from_millis(200);

/// Where the import runs.
enum Runner {
    InProcess {
        engine: Engine,
        caller: Caller,
    },
    Remote {
        client: reqwest::Client,
        base: String,
        token: String,
    },
}

/// Runs the command; returns the import as it ended.
pub async fn run(config: &Config, args: ImportArgs) -> anyhow::Result<Import> {
    let started = Instant::now();
    let shutdown = CancellationToken::new();
    let runner = match &args.target {
        Some(target) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let token = args
                .token
                .clone()
                .context("--target needs --token (or SWITCHBOARD_TOKEN)")?;
            Runner::Remote {
                client: reqwest::Client::builder().build()?,
                base: target.trim_end_matches('/').to_owned(),
                token,
            }
        }
        None => {
            let (app, _) = App::build(config).await?;
            let engine = app.engine().clone();
            let username = args
                .username
                .as_deref()
                .unwrap_or(&config.auth.admin_username);
            let caller = engine.caller_for_username(username).await?;
            engine.start_imports(shutdown.clone()).await?;
            Runner::InProcess { engine, caller }
        }
    };
    let import = runner.upload(&args).await?;
    let mut bar = ProgressBar::new();
    let finished = loop {
        let import = runner.status(import.id).await?;
        bar.show(&import);
        if import.status != ImportStatus::Running {
            break import;
        }
        tokio::time::sleep(POLL).await;
    };
    bar.done();
    let errors_file = errors_path(&args.file);
    if finished.failed > 0 {
        let csv = runner.errors_csv(finished.id).await?;
        std::fs::write(&errors_file, csv)
            .with_context(|| format!("writing {}", errors_file.display()))?;
    }
    println!(
        "import {} {} in {:.1} s: {} rows read, {} created, {} updated, {} unchanged, {} failed",
        finished.id,
        finished.status,
        started.elapsed().as_secs_f64(),
        finished.rows_read,
        finished.created,
        finished.updated,
        finished.unchanged,
        finished.failed
    );
    if let Some(error) = &finished.error {
        println!("error: {error}");
    }
    if finished.failed > 0 {
        println!("row errors written to {}", errors_file.display());
    }
    shutdown.cancel();
    if let Runner::InProcess { engine, .. } = &runner {
        engine.shutdown().await;
    }
    Ok(finished)
}

/// `FILE.errors.csv`, beside the file.
fn errors_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".errors.csv");
    PathBuf::from(name)
}

fn file_name(file: &Path) -> Option<String> {
    file.file_name()
        .map(|name| name.to_string_lossy().into_owned())
}

impl Runner {
    /// Sends the file; returns the running import.
    async fn upload(&self, args: &ImportArgs) -> anyhow::Result<Import> {
        match self {
            Runner::InProcess { engine, caller } => {
                let file = tokio::fs::File::open(&args.file)
                    .await
                    .with_context(|| format!("opening {}", args.file.display()))?;
                let campaign_id = args
                    .campaign_id
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .context("--campaign-id is not a campaign id")?;
                let request = ImportRequest {
                    kind: args.kind.clone(),
                    default_country: args.default_country.clone(),
                    file_name: file_name(&args.file),
                    campaign_id,
                    gzip: false,
                };
                Ok(engine
                    .start_import(caller, request, Box::pin(pieces(file)))
                    .await?)
            }
            Runner::Remote {
                client,
                base,
                token,
            } => {
                let body = tokio::fs::read(&args.file)
                    .await
                    .with_context(|| format!("reading {}", args.file.display()))?;
                let mut query = vec![("kind", args.kind.clone())];
                query.extend(
                    args.default_country
                        .clone()
                        .map(|country| ("defaultCountry", country)),
                );
                query.extend(file_name(&args.file).map(|name| ("fileName", name)));
                query.extend(args.campaign_id.clone().map(|id| ("campaignId", id)));
                let query: String = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query)
                    .finish();
                let request = client
                    .post(format!("{base}/api/v1/imports?{query}"))
                    .header("content-type", "text/csv")
                    .body(body);
                let response = authorize(request, token).send().await?;
                let status = response.status();
                let text = response.text().await?;
                anyhow::ensure!(
                    status.as_u16() == 202,
                    "the server refused the file ({status}): {text}"
                );
                Ok(serde_json::from_str(&text)?)
            }
        }
    }

    async fn status(&self, id: ImportId) -> anyhow::Result<Import> {
        match self {
            Runner::InProcess { engine, caller } => Ok(engine.get_import(caller, id).await?),
            Runner::Remote {
                client,
                base,
                token,
            } => {
                let request = client.get(format!("{base}/api/v1/imports/{id}"));
                let response = authorize(request, token).send().await?.error_for_status()?;
                Ok(response.json().await?)
            }
        }
    }

    /// Every row error, as CSV.
    async fn errors_csv(&self, id: ImportId) -> anyhow::Result<String> {
        match self {
            Runner::InProcess { engine, caller } => {
                let mut csv = RowError::CSV_HEADER.to_owned();
                let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
                loop {
                    let errors = engine.import_errors(caller, id, &page).await?;
                    errors
                        .data
                        .iter()
                        .for_each(|error| csv.push_str(&error.csv_line()));
                    match errors.next_cursor {
                        Some(cursor) => page.cursor = Some(cursor),
                        None => return Ok(csv),
                    }
                }
            }
            Runner::Remote {
                client,
                base,
                token,
            } => {
                let request = client
                    .get(format!("{base}/api/v1/imports/{id}/errors"))
                    .header("accept", "text/csv");
                Ok(authorize(request, token)
                    .send()
                    .await?
                    .error_for_status()?
                    .text()
                    .await?)
            }
        }
    }
}

/// A JWT as a bearer token; anything else as an API key.
fn authorize(request: reqwest::RequestBuilder, token: &str) -> reqwest::RequestBuilder {
    if token.matches('.').count() == 2 {
        request.bearer_auth(token)
    } else {
        request.header("x-api-key", token)
    }
}

/// A file read in pieces.
fn pieces(file: tokio::fs::File) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buffer = vec![0; 256 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(read) => {
                buffer.truncate(read);
                Some((Ok(Bytes::from(buffer)), Some(file)))
            }
            Err(error) => Some((Err(error), None)),
        }
    })
}

/// Progress on stderr: a bar redrawn in place on a terminal, a line a second otherwise.
struct ProgressBar {
    terminal: bool,
    last_line: Option<Instant>,
}

impl ProgressBar {
    fn new() -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
            last_line: None,
        }
    }

    fn show(&mut self, import: &Import) {
        let percent = (import.progress * 100.0).round();
        let counts = format!(
            "{}/{} rows · {} created, {} updated, {} unchanged, {} failed",
            import.rows_read,
            import.rows_total,
            import.created,
            import.updated,
            import.unchanged,
            import.failed
        );
        let mut stderr = std::io::stderr().lock();
        if self.terminal {
            let filled = (import.progress * 30.0).round() as usize;
            let bar = format!("{}{}", "#".repeat(filled), "-".repeat(30 - filled.min(30)));
            let _ = write!(stderr, "\r[{bar}] {percent:>3}% {counts}\x1b[K");
        } else if self
            .last_line
            .is_none_or(|last| last.elapsed() >= Duration::from_secs(1))
        {
            self.last_line = Some(Instant::now());
            let _ = writeln!(stderr, "{percent:>3}% {counts}");
        }
        let _ = stderr.flush();
    }

    fn done(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}
