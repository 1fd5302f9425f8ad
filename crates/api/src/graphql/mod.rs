//! GraphQL at `/graphql`: a thin adapter over the same engine operations REST uses. Queries read
//! every REST resource with Relay-style connections, mutations make the changes operators make,
//! subscriptions follow the realtime streams `/ws` serves (over WebSocket, [`ws`]); the caller
//! authenticates as for REST (`Authorization: Bearer …` or `X-API-Key`; a request without
//! credentials may only `login`) and sees exactly what REST shows them. Errors carry
//! `extensions.code`, REST's error codes. Depth and complexity are bounded and introspection can
//! be switched off ([`GraphqlSettings`]). What a list asks of each item is read for the whole
//! list at once (`loaders`). A browser asking `GET /graphql` for HTML gets GraphiQL
//! ([`graphiql`]). The served schema is `schema.graphql` in this crate (a test keeps the two
//! equal).

mod connection;
mod documents;
mod graphiql;
mod loaders;
mod mutation;
mod query;
mod subscription;
mod types;
mod ws;

use std::sync::Arc;

use async_graphql::parser::types::{DocumentOperations, Selection};
use async_graphql::{ErrorExtensions, Schema};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use switchboard_engine::EngineError;

use crate::adapters::Adapter;
use crate::auth::{caller_from_headers, missing_credentials};
use crate::{ApiError, ApiState};

/// How GraphQL requests are bounded.
#[derive(Debug, Clone)]
pub struct GraphqlSettings {
    /// How deep a query may nest.
    pub max_depth: usize,
    /// How many fields a query may ask for, a connection's fields counted once per row of
    /// its page (`first`, or the default page size).
    pub max_complexity: usize,
    /// Whether the schema answers introspection (`__schema`, `__type`).
    pub introspection: bool,
}

impl Default for GraphqlSettings {
    fn default() -> Self {
        Self {
            max_depth: 10,
            // A full page (200) of conversations, each with its own fields and last message,
            // costs 4,801; conversations with their messages at the default page size (50 × 50,
            // one field each) cost 7,651.
            max_complexity: 5000,
            introspection: true,
        }
    }
}

type SwitchboardSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// The schema, and the query texts it has parsed ([`documents`]).
pub(crate) struct Graphql {
    schema: SwitchboardSchema,
    documents: documents::Documents,
}

impl Graphql {
    async fn execute(&self, mut request: async_graphql::Request) -> async_graphql::Response {
        self.documents.prepare(&mut request);
        self.schema.execute(request).await
    }

    /// A subscription's results as they come (a query's or a mutation's: one).
    fn execute_stream(
        &self,
        mut request: async_graphql::Request,
    ) -> futures::stream::BoxStream<'static, async_graphql::Response> {
        self.documents.prepare(&mut request);
        self.schema.execute_stream(request)
    }
}

fn schema(settings: &GraphqlSettings) -> SwitchboardSchema {
    let schema = Schema::build(query::Query, mutation::Mutation, subscription::Subscription)
        .limit_depth(settings.max_depth)
        .limit_complexity(settings.max_complexity);
    if settings.introspection {
        schema.finish()
    } else {
        schema.disable_introspection().finish()
    }
}

/// `request` as an unauthenticated POST meets it, with no engine behind the schema: whether it
/// only logs in, then parsing, validation and the depth and complexity limits, each resolver it
/// reaches failing for want of data. For the fuzz target; `Err` holds the first error.
pub(crate) fn execute_detached(request: async_graphql::Request) -> Result<(), String> {
    static DETACHED: std::sync::OnceLock<Graphql> = std::sync::OnceLock::new();
    let graphql = DETACHED.get_or_init(|| Graphql {
        schema: schema(&GraphqlSettings::default()),
        documents: documents::Documents::default(),
    });
    let _ = only_logs_in(&request.query);
    let response = futures::executor::block_on(graphql.execute(request));
    match response.errors.into_iter().next() {
        Some(error) => Err(error.message),
        None => Ok(()),
    }
}

/// The schema in GraphQL's own language, as served.
pub fn sdl() -> String {
    schema(&GraphqlSettings::default()).sdl()
}

pub(crate) fn routes(settings: &GraphqlSettings) -> Router<ApiState> {
    let schema = Arc::new(Graphql {
        schema: schema(settings),
        documents: documents::Documents::default(),
    });
    let for_get = Arc::clone(&schema);
    Router::new()
        .route(
            "/graphql",
            get(move |state, headers, upgrade| open(Arc::clone(&for_get), state, headers, upgrade))
                .post(move |state, headers, extensions, request| {
                    execute(Arc::clone(&schema), state, headers, extensions, request)
                }),
        )
        .merge(graphiql::routes())
}

/// `GET /graphql`: a WebSocket for subscriptions, or GraphiQL for a browser.
async fn open(
    schema: Arc<Graphql>,
    State(state): State<ApiState>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let Ok(upgrade) = upgrade else {
        let wants_html = headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
        return if wants_html {
            Ok(graphiql::page().into_response())
        } else {
            Err(ApiError::MethodNotAllowed)
        };
    };
    let Some(protocol) = ws::Protocol::offered(&headers) else {
        return Err(ApiError::BadRequest(format!(
            "GraphQL over WebSocket needs Sec-WebSocket-Protocol: {}",
            ws::Protocol::NAMES.join(" or ")
        )));
    };
    let max_frame = state.realtime.settings.max_frame;
    Ok(upgrade
        .protocols(ws::Protocol::NAMES)
        // Small buffers keep an idle connection cheap.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(max_frame)
        .max_frame_size(max_frame)
        .on_upgrade(move |socket| async move {
            let _connected = state.adapters.connected(Adapter::Graphql);
            ws::run(socket, state, schema, protocol, headers).await;
        }))
}

async fn execute(
    schema: Arc<Graphql>,
    State(state): State<ApiState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    request: GraphQLRequest,
) -> Result<GraphQLResponse, ApiError> {
    let request = request.into_inner().data(state.engine.clone());
    match caller_from_headers(&headers, &state).await? {
        Some(caller) => {
            let caller = switchboard_core::Caller {
                origin: crate::auth::origin(&headers, &extensions),
                ..caller
            };
            let request = request.data(caller.clone());
            Ok(loaders::execute(&schema, request, &state.engine, caller)
                .await
                .into())
        }
        None if only_logs_in(&request.query) => Ok(schema.execute(request).await.into()),
        None => Err(missing_credentials()),
    }
}

/// Whether every operation of `query` asks for `login` and nothing else (a document that does
/// not parse does not).
fn only_logs_in(query: &str) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let mut operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(operations) => operations.values().collect(),
    };
    !operations.is_empty()
        && operations.drain(..).all(|operation| {
            operation.node.selection_set.node.items.iter().all(|selection| {
                matches!(&selection.node, Selection::Field(field) if field.node.name.node == "login")
            })
        })
}

/// An engine failure as a GraphQL error: REST's message, and REST's code in `extensions.code`.
fn engine_error(error: EngineError) -> async_graphql::Error {
    api_error(ApiError::from(error))
}

fn api_error(error: ApiError) -> async_graphql::Error {
    let (status, code) = error.status_and_code();
    if status.is_server_error() {
        tracing::error!(error = %error, cause = %crate::error::causes(&error), "graphql request failed");
    }
    let details = error.details();
    async_graphql::Error::new(error.client_message()).extend_with(|_, extensions| {
        extensions.set("code", code);
        if let Some(details) = &details
            && let Ok(details) = async_graphql::Value::from_json(details.clone())
        {
            extensions.set("details", details);
        }
    })
}

/// An id argument of the type `T`; a malformed one is a bad request naming the argument.
fn parse_id<T: std::str::FromStr>(
    argument: &str,
    id: &async_graphql::ID,
) -> async_graphql::Result<T> {
    id.parse::<T>()
        .map_err(|_| api_error(ApiError::BadRequest(format!("{argument}: not a valid id"))))
}

/// A vocabulary argument (`status: "open"`) in its REST word.
fn parse_word<T: serde::de::DeserializeOwned>(
    argument: &str,
    word: &str,
) -> async_graphql::Result<T> {
    serde_json::from_value(serde_json::Value::String(word.to_owned()))
        .map_err(|error| api_error(ApiError::BadRequest(format!("{argument}: {error}"))))
}
