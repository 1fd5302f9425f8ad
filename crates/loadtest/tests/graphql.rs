//! GraphQL against REST for the same work: how a GraphQL answer is judged, and what the GraphQL
//! and REST workers send and record, against a stand-in server on loopback that answers as
//! Switchboard does and counts what it was asked.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};
use switchboard_loadtest::cluster::{Cluster, ClusterConnection};
use switchboard_loadtest::graphql::{self, verdict};
use switchboard_loadtest::http::Endpoint;
use switchboard_loadtest::metrics::{ErrorKind, Metric, MetricReport};
use switchboard_loadtest::scenario::{
    GraphqlLoad, GraphqlWorker, LISTED_CONVERSATIONS, MESSAGES_PER_CONVERSATION, RestLoad,
    RestWorker,
};
use switchboard_loadtest::target::{Auth, Credentials, Fixture, RestFixture};

use common::{answer, measure, serve};

#[test]
fn data_without_errors_is_a_success() {
    assert_eq!(
        verdict(&answer(200, r#"{"data":{"me":{"id":"u1"}}}"#)),
        None
    );
    assert_eq!(
        verdict(&answer(200, r#"{"data":{"me":{"id":"u1"}},"errors":[]}"#)),
        None
    );
}

#[test]
fn errors_in_a_200_answer_are_an_error() {
    let refused =
        r#"{"data":null,"errors":[{"message":"not found","extensions":{"code":"not_found"}}]}"#;
    assert_eq!(verdict(&answer(200, refused)), Some(ErrorKind::Graphql));
    let partial = r#"{"data":{"me":null},"errors":[{"message":"boom"}]}"#;
    assert_eq!(verdict(&answer(200, partial)), Some(ErrorKind::Graphql));
    assert_eq!(ErrorKind::Graphql.name(), "graphql_errors");
}

#[test]
fn another_status_or_a_body_that_is_no_graphql_answer_is_an_error() {
    assert_eq!(
        verdict(&answer(401, r#"{"error":{"code":"unauthorized"}}"#)),
        Some(ErrorKind::Status(401))
    );
    assert_eq!(
        verdict(&answer(200, "<html>")),
        Some(ErrorKind::InvalidBody)
    );
    assert_eq!(verdict(&answer(200, "{}")), Some(ErrorKind::InvalidBody));
}

#[test]
fn a_request_body_carries_the_document_and_its_variables() {
    let sent: Value =
        serde_json::from_slice(&graphql::body(graphql::SEARCH, json!({"q": "refund"})))
            .expect("json");
    assert_eq!(sent["query"], graphql::SEARCH);
    assert_eq!(sent["variables"]["q"], "refund");
}

/// What the stand-in server was asked, and how it answers GraphQL.
#[derive(Default)]
struct Seen {
    /// GraphQL operation names (`query Me …` → `Me`), in order.
    operations: Vec<String>,
    /// The variables of each GraphQL request.
    variables: Vec<Value>,
    /// REST paths, in order.
    paths: Vec<String>,
    /// Answer every GraphQL request with an error inside a `200`.
    refuse_graphql: bool,
}

type Shared = Arc<Mutex<Seen>>;

async fn graphql_answer(State(seen): State<Shared>, body: Bytes) -> (StatusCode, String) {
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    let document = request["query"].as_str().unwrap_or_default();
    let operation = document
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .split('(')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut seen = seen.lock().expect("lock");
    seen.operations.push(operation);
    seen.variables.push(request["variables"].clone());
    if seen.refuse_graphql {
        let refused = json!({"data": null, "errors": [{"message": "not found",
            "extensions": {"code": "not_found"}}]});
        return (StatusCode::OK, refused.to_string());
    }
    (StatusCode::OK, json!({"data": {}}).to_string())
}

async fn list_conversations(State(seen): State<Shared>) -> String {
    seen.lock()
        .expect("lock")
        .paths
        .push("/api/v1/conversations".into());
    json!({"data": [{"id": "c1", "status": "open"}, {"id": "c2", "status": "open"}],
        "nextCursor": null})
    .to_string()
}

async fn list_messages(
    State(seen): State<Shared>,
    Path(conversation): Path<String>,
) -> (StatusCode, String) {
    seen.lock()
        .expect("lock")
        .paths
        .push(format!("/api/v1/conversations/{conversation}/messages"));
    match conversation.as_str() {
        "c1" | "c2" => (StatusCode::OK, json!({"data": []}).to_string()),
        _ => (StatusCode::NOT_FOUND, json!({"error": {}}).to_string()),
    }
}

const USER_ID: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

async fn log_in() -> String {
    json!({"tokens": {"accessToken": "access", "refreshToken": "refresh", "expiresIn": 86400},
        "user": {"id": USER_ID, "tenantId": "0190a1b2-c3d4-7e5f-8a9b-000000000001",
            "username": "ops", "role": "admin", "externalId": null, "name": null, "email": null,
            "createdAt": "2026-01-01T00:00:00Z"}})
    .to_string()
}

async fn get_user(State(seen): State<Shared>, Path(user): Path<String>) -> String {
    seen.lock()
        .expect("lock")
        .paths
        .push(format!("/api/v1/users/{user}"));
    json!({"id": user}).to_string()
}

/// A stand-in server on a free loopback port and a fixture to load it with, authenticated by
/// `credentials`.
async fn stand_in(seen: Shared, credentials: Credentials) -> (Arc<Endpoint>, Fixture) {
    let router = Router::new()
        .route("/auth/login", post(log_in))
        .route("/graphql", post(graphql_answer))
        .route("/api/v1/conversations", get(list_conversations))
        .route("/api/v1/conversations/{id}/messages", get(list_messages))
        .route("/api/v1/users/{id}", get(get_user))
        .with_state(seen);
    let endpoint = serve(router).await;
    let auth = Auth::establish(endpoint.clone(), &credentials)
        .await
        .expect("authenticated");
    let fixture = Fixture {
        auth,
        tenant_id: None,
        channels: Vec::new(),
        rest: RestFixture {
            channel_id: "app".into(),
            contacts: vec!["k1".into()],
            conversations: vec!["c1".into(), "c2".into()],
        },
    };
    (endpoint, fixture)
}

/// A worker's connection to the one stand-in server.
fn connect(endpoint: &Arc<Endpoint>) -> ClusterConnection {
    Cluster::single(endpoint.clone()).connect(0)
}

fn api_key() -> Credentials {
    Credentials::ApiKey("key".into())
}

async fn run_graphql(
    fixture: &Fixture,
    endpoint: &Arc<Endpoint>,
    load: GraphqlLoad,
    iterations: usize,
) -> BTreeMap<String, MetricReport> {
    measure(
        iterations,
        Metric::Graphql,
        |recorder| GraphqlWorker::new(fixture, load, connect(endpoint), recorder, 0),
        async |worker| worker.iterate(Instant::now()).await,
        GraphqlWorker::flush,
    )
    .await
}

async fn run_rest(
    fixture: &Fixture,
    endpoint: &Arc<Endpoint>,
    load: RestLoad,
    iterations: usize,
) -> BTreeMap<String, MetricReport> {
    measure(
        iterations,
        Metric::Rest,
        |recorder| RestWorker::new(fixture, load, connect(endpoint), recorder, 0),
        async |worker| worker.iterate(Instant::now()).await,
        RestWorker::flush,
    )
    .await
}

#[tokio::test]
async fn a_graphql_answer_with_errors_is_counted_as_an_error_though_its_status_is_200() {
    let seen = Shared::default();
    seen.lock().expect("lock").refuse_graphql = true;
    let (endpoint, fixture) = stand_in(seen.clone(), api_key()).await;
    let metrics = run_graphql(&fixture, &endpoint, GraphqlLoad::Me, 3).await;
    let me = &metrics["graphql.me"];
    assert_eq!((me.count, me.errors), (3, 3));
    assert_eq!(me.errors_by_kind.get("graphql_errors"), Some(&3));
    assert_eq!(metrics["graphql"].errors, 3, "counts towards `graphql`");
    assert_eq!(seen.lock().expect("lock").operations, vec!["Me"; 3]);
}

#[tokio::test]
async fn the_graphql_list_asks_for_the_same_page_as_rest_in_one_request() {
    let seen = Shared::default();
    let (endpoint, fixture) = stand_in(seen.clone(), api_key()).await;
    let metrics = run_graphql(&fixture, &endpoint, GraphqlLoad::List, 2).await;
    assert_eq!((metrics["graphql.list"].ok, metrics["graphql"].ok), (2, 2));
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.operations, vec!["List"; 2]);
    assert_eq!(
        seen.variables[0],
        json!({"conversations": LISTED_CONVERSATIONS, "messages": MESSAGES_PER_CONVERSATION})
    );
}

#[tokio::test]
async fn the_graphql_mix_is_mostly_the_list_with_searches_and_sends() {
    let seen = Shared::default();
    let (endpoint, fixture) = stand_in(seen.clone(), api_key()).await;
    let metrics = run_graphql(&fixture, &endpoint, GraphqlLoad::Mix, 300).await;
    let count = |name: &str| metrics.get(name).map_or(0, |metric| metric.ok);
    let (list, search, send) = (
        count("graphql.list"),
        count("graphql.search"),
        count("graphql.send_message"),
    );
    assert_eq!(list + search + send, 300);
    assert_eq!(count("graphql"), 300);
    assert!(list > search && list > send, "{list} {search} {send}");
    assert!(search > 0 && send > 0, "{search} {send}");
    let seen = seen.lock().expect("lock");
    let sent = seen
        .operations
        .iter()
        .zip(&seen.variables)
        .find(|(operation, _)| *operation == "Send")
        .map(|(_, variables)| variables.clone())
        .expect("a send");
    assert!(["c1", "c2"].contains(&sent["conversationId"].as_str().unwrap_or_default()));
}

#[tokio::test]
async fn the_rest_list_reads_each_listed_conversations_messages_as_one_operation() {
    let seen = Shared::default();
    let (endpoint, fixture) = stand_in(seen.clone(), api_key()).await;
    let metrics = run_rest(&fixture, &endpoint, RestLoad::List, 2).await;
    let list = &metrics["rest.list"];
    assert_eq!((list.count, list.ok), (2, 2), "one sample per operation");
    assert_eq!(metrics["rest"].count, 2);
    let paths = seen.lock().expect("lock").paths.clone();
    let one = [
        "/api/v1/conversations",
        "/api/v1/conversations/c1/messages",
        "/api/v1/conversations/c2/messages",
    ];
    assert_eq!(paths, [one, one].concat());
}

#[tokio::test]
async fn rest_me_reads_the_logged_in_users_own_record() {
    let seen = Shared::default();
    let password = Credentials::Password {
        username: "ops".into(),
        password: "secret".into(),
    };
    let (endpoint, fixture) = stand_in(seen.clone(), password).await;
    assert_eq!(fixture.auth.user_id(), Some(USER_ID));
    let metrics = run_rest(&fixture, &endpoint, RestLoad::Me, 2).await;
    assert_eq!((metrics["rest.me"].ok, metrics["rest"].ok), (2, 2));
    let expected = format!("/api/v1/users/{USER_ID}");
    assert_eq!(seen.lock().expect("lock").paths, vec![expected; 2]);
    fixture.auth.stop();
}
