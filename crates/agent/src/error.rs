//! How a run fails: a configuration that cannot work, or a failure of the agent with a code the
//! run log shows and whether running it again may help.

use std::time::Duration;

use switchboard_core::AgentKind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// This build has no runtime for the agent's kind.
    #[error("agents of kind {0} are not available in this version")]
    Unsupported(AgentKind),
    /// The agent's configuration cannot work; `field` names the culprit.
    #[error("config.{field}: {message}")]
    InvalidConfig { field: String, message: String },
    /// The agent failed; `retryable` says whether running it again may help, `retry_after`
    /// when the provider said how long to wait.
    #[error("{code}: {message}")]
    Failed {
        code: String,
        message: String,
        retryable: bool,
        retry_after: Option<Duration>,
    },
}

impl AgentError {
    pub(crate) fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        AgentError::InvalidConfig {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A failure that will not pass by itself.
    pub(crate) fn fatal(code: &str, message: impl Into<String>) -> Self {
        AgentError::Failed {
            code: code.to_owned(),
            message: message.into(),
            retryable: false,
            retry_after: None,
        }
    }

    /// A failure worth trying again, after `retry_after` if the provider said.
    pub(crate) fn transient(
        code: &str,
        message: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        AgentError::Failed {
            code: code.to_owned(),
            message: message.into(),
            retryable: true,
            retry_after,
        }
    }

    /// The code the run log records.
    pub fn code(&self) -> &str {
        match self {
            AgentError::Unsupported(_) => "unsupported_agent",
            AgentError::InvalidConfig { .. } => "invalid_config",
            AgentError::Failed { code, .. } => code,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AgentError::Failed {
                retryable: true,
                ..
            }
        )
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AgentError::Failed { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The message without its code.
    pub fn message(&self) -> String {
        match self {
            AgentError::Failed { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}
