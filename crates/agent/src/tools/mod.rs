//! Tools an agent may call: the built-ins (over the gateway's own operations, run by the engine
//! through [`ToolHost`] so this crate never touches the store) and the tools of remote MCP
//! servers. A run's [`Toolbox`] holds only the tools its agent's allow list (`tools: [names]`)
//! names; every call is checked against the tool's JSON schema and bounded by a timeout, and a
//! failure becomes the call's result (`isError: true`) for the model to read, never a failed run.

mod builtin;
pub(crate) mod mcp;
mod schema;

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::{Value, json};
use switchboard_core::AgentEvent;

use crate::error::with_causes;
use crate::{AgentError, Emit, Runtime};
use builtin::Builtin;
use mcp::McpServer;

/// A tool as a model is told about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// A JSON schema of the arguments object.
    pub input_schema: Value,
}

/// The built-in tools the gateway runs, on the conversation of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostTool {
    /// `{}` → the contact's profile.
    GetContact,
    /// `{query, limit?}` → matching messages of the conversation.
    SearchMessages,
    /// `{status}` → the conversation takes this status when the reply commits.
    SetConversationStatus,
    /// `{reason?}` → the conversation waits for a human; the agent stays silent.
    HandoffToHuman,
    /// `{delayMinutes, note?}` → a follow-up recorded with the reply.
    ScheduleFollowUp,
}

/// A tool call the gateway could not carry out; the model reads the message.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    #[error("{0}")]
    Failed(String),
    /// Something the tool relies on failed (the store): the model reads `message`, the cause
    /// goes to the log.
    #[error("{message}")]
    Unavailable {
        message: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Runs the built-in tools that need the gateway. Implemented by the engine for each run;
/// effects that change the conversation must commit with the run's reply.
pub trait ToolHost: Send + Sync {
    fn call(&self, tool: HostTool, arguments: Value) -> BoxFuture<'_, Result<Value, ToolError>>;
}

/// A host with no conversation behind it: every host tool fails (benches, previews).
pub struct NoHost;

impl ToolHost for NoHost {
    fn call(&self, tool: HostTool, _arguments: Value) -> BoxFuture<'_, Result<Value, ToolError>> {
        Box::pin(async move { Err(ToolError::Failed(format!("{tool:?} needs a conversation"))) })
    }
}

enum Source {
    Local,
    Host(HostTool),
    Mcp(Arc<McpServer>),
}

struct Tool {
    spec: ToolSpec,
    source: Source,
}

/// What a tool call produced, as fed back to the model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolOutcome {
    pub result: Value,
    pub is_error: bool,
}

/// The tools of one run.
pub(crate) struct Toolbox<'a> {
    tools: Vec<Tool>,
    runtime: &'a Runtime,
    host: &'a dyn ToolHost,
    timeout: Duration,
}

impl<'a> Toolbox<'a> {
    /// The tools `allowed` names among the built-ins and the tools of the agent's
    /// `mcpServers`. A server that cannot be reached contributes nothing this run.
    pub(crate) async fn assemble(
        runtime: &'a Runtime,
        host: &'a dyn ToolHost,
        config: &Value,
        allowed: &[String],
    ) -> Result<Toolbox<'a>, AgentError> {
        let mut tools = Vec::new();
        for name in allowed {
            match Builtin::named(name) {
                Some(Builtin::GetTime) => tools.push(Tool {
                    spec: Builtin::GetTime.spec(),
                    source: Source::Local,
                }),
                Some(builtin @ Builtin::Host(tool)) => tools.push(Tool {
                    spec: builtin.spec(),
                    source: Source::Host(tool),
                }),
                None => {}
            }
        }
        for server in mcp_servers(config)? {
            if allowed.iter().all(|name| Builtin::named(name).is_some()) {
                break;
            }
            let server = Arc::new(server);
            match runtime.mcp.tools(&server).await {
                Ok(specs) => tools.extend(
                    specs
                        .into_iter()
                        .filter(|spec| allowed.contains(&spec.name))
                        .map(|spec| Tool {
                            spec,
                            source: Source::Mcp(server.clone()),
                        }),
                ),
                Err(error) => {
                    let error = with_causes(error.to_string(), error.source());
                    tracing::warn!(server = %server.name, %error, "MCP server unavailable; its tools are left out of this run");
                }
            }
        }
        Ok(Toolbox {
            tools,
            runtime,
            host,
            timeout: runtime.config.tool_timeout,
        })
    }

    pub(crate) fn specs(&self) -> impl Iterator<Item = &ToolSpec> {
        self.tools.iter().map(|tool| &tool.spec)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// Runs one call (arguments as the model wrote them, JSON text), reporting
    /// `tool_executing` before and `tool_completed` after.
    pub(crate) async fn execute(
        &self,
        call_id: &str,
        name: &str,
        arguments: &str,
        emit: Emit<'_>,
    ) -> ToolOutcome {
        let parsed = if arguments.trim().is_empty() {
            Ok(json!({}))
        } else {
            serde_json::from_str::<Value>(arguments)
        };
        emit(AgentEvent::ToolExecuting {
            call_id: call_id.to_owned(),
            tool: name.to_owned(),
            arguments: parsed
                .as_ref()
                .map_or_else(|_| Value::from(arguments), Clone::clone),
        });
        let started = Instant::now();
        let result = match parsed {
            Ok(arguments) => self.dispatch(name, arguments).await,
            Err(error) => Err(format!("arguments are not JSON: {error}")),
        };
        let outcome = match result {
            Ok((result, is_error)) => ToolOutcome { result, is_error },
            Err(message) => ToolOutcome {
                result: json!({"error": message}),
                is_error: true,
            },
        };
        emit(AgentEvent::ToolCompleted {
            call_id: call_id.to_owned(),
            tool: name.to_owned(),
            result: outcome.result.clone(),
            is_error: outcome.is_error,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        outcome
    }

    async fn dispatch(&self, name: &str, arguments: Value) -> Result<(Value, bool), String> {
        let tool = self
            .tools
            .iter()
            .find(|tool| tool.spec.name == name)
            .ok_or_else(|| format!("no tool named `{name}` is available"))?;
        schema::validate(&tool.spec.input_schema, &arguments)?;
        let call = async {
            match &tool.source {
                Source::Local => Ok((builtin::current_time(), false)),
                Source::Host(host_tool) => self
                    .host
                    .call(*host_tool, arguments)
                    .await
                    .map(|result| (result, false))
                    .map_err(|error| {
                        if let Some(cause) = error.source() {
                            let cause = with_causes(cause.to_string(), cause.source());
                            tracing::warn!(tool = name, %error, %cause, "a built-in tool failed");
                        }
                        error.to_string()
                    }),
                Source::Mcp(server) => self
                    .runtime
                    .mcp
                    .call(server, name, arguments)
                    .await
                    .map_err(|error| with_causes(error.to_string(), error.source())),
            }
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| format!("`{name}` did not answer within {:?}", self.timeout))?
    }
}

/// The `tools` allow list of an agent's configuration.
pub(crate) fn allow_list(config: &Value) -> Result<Vec<String>, AgentError> {
    match config.get("tools") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(names)) => names
            .iter()
            .map(|name| {
                name.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| AgentError::config("tools", "must be a list of tool names"))
            })
            .collect(),
        Some(_) => Err(AgentError::config("tools", "must be a list of tool names")),
    }
}

/// The `mcpServers: [{name, url, headers?}]` of an agent's configuration.
pub(crate) fn mcp_servers(config: &Value) -> Result<Vec<McpServer>, AgentError> {
    let Some(servers) = config.get("mcpServers") else {
        return Ok(Vec::new());
    };
    let servers = servers
        .as_array()
        .ok_or_else(|| AgentError::config("mcpServers", "must be a list"))?;
    servers
        .iter()
        .enumerate()
        .map(|(index, server)| {
            let field = |name: &str| format!("mcpServers[{index}].{name}");
            let url = server
                .get("url")
                .and_then(Value::as_str)
                .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
                .ok_or_else(|| AgentError::config(field("url"), "must be an http(s) URL"))?;
            let headers = match server.get("headers") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Object(headers)) => headers
                    .iter()
                    .map(|(name, value)| {
                        value
                            .as_str()
                            .map(|value| (name.clone(), value.to_owned()))
                            .ok_or_else(|| {
                                AgentError::config(field("headers"), "values must be strings")
                            })
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(AgentError::config(field("headers"), "must be an object")),
            };
            Ok(McpServer {
                name: server
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(url)
                    .to_owned(),
                url: url.to_owned(),
                headers,
            })
        })
        .collect()
}
