//! How a run fails: a configuration that cannot work, or a failure of the agent with a code the
//! run log shows and whether running it again may help. A foreign failure behind either (the
//! HTTP client's, the JSON decoder's, the regex compiler's) is kept as its source; `message`
//! spells out the whole chain for the run log.

use std::error::Error;
use std::fmt::Write as _;
use std::time::Duration;

use switchboard_core::AgentKind;

/// What a cause is kept as.
type Cause = Box<dyn Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// This build has no runtime for the agent's kind.
    #[error("agents of kind {0} are not available in this version")]
    Unsupported(AgentKind),
    /// The agent's configuration cannot work; `field` names the culprit.
    #[error("config.{field}: {message}")]
    InvalidConfig {
        field: String,
        message: String,
        /// Why the value was refused, when a library said (an invalid regular expression).
        #[source]
        source: Option<Cause>,
    },
    /// The agent failed; `retryable` says whether running it again may help, `retry_after`
    /// when the provider said how long to wait.
    #[error("{code}: {message}")]
    Failed {
        code: String,
        message: String,
        retryable: bool,
        retry_after: Option<Duration>,
        /// The failure behind it, when it came from below (a lost connection, a body that is
        /// not JSON).
        #[source]
        source: Option<Cause>,
    },
}

impl AgentError {
    pub(crate) fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        AgentError::InvalidConfig {
            field: field.into(),
            message: message.into(),
            source: None,
        }
    }

    /// A failure that will not pass by itself.
    pub(crate) fn fatal(code: &str, message: impl Into<String>) -> Self {
        AgentError::Failed {
            code: code.to_owned(),
            message: message.into(),
            retryable: false,
            retry_after: None,
            source: None,
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
            source: None,
        }
    }

    /// The same error, caused by `cause`.
    pub(crate) fn because(mut self, cause: impl Into<Cause>) -> Self {
        if let AgentError::InvalidConfig { source, .. } | AgentError::Failed { source, .. } =
            &mut self
        {
            *source = Some(cause.into());
        }
        self
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

    /// The message without its code, followed by its causes (`message: cause: its cause`).
    pub fn message(&self) -> String {
        match self {
            AgentError::Failed { message, .. } => with_causes(message.clone(), self.source()),
            other => with_causes(other.to_string(), other.source()),
        }
    }

    /// For a configuration that cannot work: the field, and why with its causes.
    pub fn invalid_field(&self) -> Option<(&str, String)> {
        match self {
            AgentError::InvalidConfig { field, message, .. } => {
                Some((field, with_causes(message.clone(), self.source())))
            }
            _ => None,
        }
    }
}

/// `text`, then the text of each cause in turn: `text: cause: its cause`.
pub(crate) fn with_causes(mut text: String, mut cause: Option<&(dyn Error + 'static)>) -> String {
    while let Some(error) = cause {
        let _ = write!(text, ": {error}");
        cause = error.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_spells_out_the_causes_the_error_keeps() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error =
            AgentError::transient("model_unreachable", "cannot reach the model", None).because(io);
        assert_eq!(
            error.to_string(),
            "model_unreachable: cannot reach the model"
        );
        assert_eq!(error.message(), "cannot reach the model: refused");
        assert!(error.source().is_some(), "the cause is kept as the source");
        let invalid =
            AgentError::config("rules[0].match.regex", "is not a valid regular expression")
                .because("unclosed group");
        assert_eq!(
            invalid.invalid_field(),
            Some((
                "rules[0].match.regex",
                "is not a valid regular expression: unclosed group".to_owned()
            ))
        );
    }
}
