//! Logs (tracing, as text or JSON lines) and the Prometheus recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter, format};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Latency buckets in seconds, from half a millisecond to ten seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people reading a terminal.
    #[default]
    Text,
    /// One JSON object per line, for collectors.
    Json,
}

/// Starts logging. `filter` is a tracing filter; `RUST_LOG` wins when set. With `node` (one
/// node of several), every line names it: `node=<name>` first, or a `"node"` field in JSON.
pub fn init_logging(filter: &str, format: LogFormat, node: Option<String>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    // Logs go to standard error: standard output is for what commands print (JSON, TOML).
    // A second initialisation (tests, embedding) keeps the first subscriber.
    let _ = subscriber(filter, format, node, std::io::stderr).try_init();
}

/// The subscriber `init_logging` installs, writing to `writer`.
fn subscriber<W>(
    filter: EnvFilter,
    format: LogFormat,
    node: Option<String>,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(writer);
    match (format, node) {
        (LogFormat::Json, None) => Box::new(builder.json().flatten_event(true).finish()),
        (LogFormat::Text, None) => Box::new(builder.finish()),
        (LogFormat::Json, Some(node)) => {
            let inner = format::format()
                .with_target(false)
                .json()
                .flatten_event(true);
            Box::new(
                builder
                    .fmt_fields(format::JsonFields::new())
                    .event_format(WithNode {
                        node,
                        inner,
                        json: true,
                    })
                    .finish(),
            )
        }
        (LogFormat::Text, Some(node)) => {
            let inner = format::format().with_target(false);
            Box::new(
                builder
                    .event_format(WithNode {
                        node,
                        inner,
                        json: false,
                    })
                    .finish(),
            )
        }
    }
}

/// A line format that names the node before what `inner` writes.
struct WithNode<F> {
    node: String,
    inner: F,
    json: bool,
}

impl<S, N, F> FormatEvent<S, N> for WithNode<F>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(context, format::Writer::new(&mut line), event)?;
        match line.strip_prefix('{').filter(|_| self.json) {
            Some(rest) => {
                let node = serde_json::Value::from(self.node.as_str());
                write!(writer, "{{\"node\":{node},{rest}")
            }
            None => write!(writer, "node={} {line}", self.node),
        }
    }
}

/// The process-wide Prometheus recorder (the `metrics` facade has one per process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .map(|builder| builder.build_recorder());
            match recorder {
                Ok(recorder) => {
                    let handle = recorder.handle();
                    if metrics::set_global_recorder(recorder).is_err() {
                        tracing::warn!(
                            "a metrics recorder was already installed; /metrics may be empty"
                        );
                    }
                    handle
                }
                Err(error) => {
                    tracing::error!(%error, "could not build the metrics recorder");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            }
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer that keeps what it is given.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Kept {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .expect("not poisoned")
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(format: LogFormat) -> String {
        let kept = Kept::default();
        let writer = kept.clone();
        let subscriber = subscriber(
            EnvFilter::new("info"),
            format,
            Some("node-b".to_owned()),
            move || writer.clone(),
        );
        let dispatch = tracing::Dispatch::new(subscriber);
        tracing::dispatcher::with_default(&dispatch, || tracing::warn!(calls = 3, "a warning"));
        let bytes = kept.0.lock().expect("not poisoned").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn every_line_names_its_node_in_text_and_in_json() {
        let text = logged(LogFormat::Text);
        assert!(text.starts_with("node=node-b "), "{text}");
        assert!(
            text.contains("a warning") && text.contains("calls=3"),
            "{text}"
        );
        let json: serde_json::Value =
            serde_json::from_str(logged(LogFormat::Json).trim()).expect("one JSON object");
        assert_eq!(json["node"], "node-b");
        assert_eq!(json["message"], "a warning");
        assert_eq!(json["calls"], 3);
    }
}
