//! The harness's failures: bad options, a target that refuses or is unreachable, files that
//! cannot be read or written. A run whose thresholds fail is not an error: see `Verdict`.

use std::path::PathBuf;

use crate::http::{EndpointError, TransportError};
use crate::quantity::QuantityError;
use crate::threshold::ThresholdError;

#[derive(Debug, thiserror::Error)]
pub enum LoadtestError {
    #[error("--{option}: {source}")]
    Quantity {
        option: &'static str,
        #[source]
        source: QuantityError,
    },
    #[error("--{option}: {message}")]
    InvalidOption {
        option: &'static str,
        message: String,
    },
    #[error("--threshold {0}")]
    Threshold(#[from] ThresholdError),
    #[error("--target {0}")]
    Endpoint(#[from] EndpointError),
    #[error("{step}: {source}")]
    Transport {
        step: String,
        #[source]
        source: TransportError,
    },
    #[error("{step}: the server answered {status}: {body}")]
    Refused {
        step: String,
        status: u16,
        body: String,
    },
    #[error(
        "{0} needs credentials: --username/--password (or SWITCHBOARD_ADMIN_USERNAME/PASSWORD) or --api-key"
    )]
    MissingCredentials(&'static str),
    #[error("starting `{program}`: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the spawned server {problem}; the end of its log:\n{log}")]
    ServerFailed { problem: String, log: String },
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a switchboard-loadtest results file: {source}")]
    Results {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the fake provider cannot listen on {address}: {source}")]
    Provider {
        address: String,
        #[source]
        source: std::io::Error,
    },
}

impl LoadtestError {
    pub(crate) fn transport(step: impl Into<String>, source: TransportError) -> Self {
        LoadtestError::Transport {
            step: step.into(),
            source,
        }
    }

    pub(crate) fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LoadtestError::File {
            path: path.into(),
            source,
        }
    }
}
