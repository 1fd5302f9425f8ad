//! Driving several nodes: how `--target` is read, which node each operation and each realtime
//! consumer goes to, what the report says per node, and a short run against two targets that
//! are one stand-in server under two names (`127.0.0.1` and `localhost`), whose webhooks land on
//! both and whose replies the checker still finds complete and in order.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use serde_json::{Value, json};
use switchboard_loadtest::cluster::{Cluster, NodeIndex};
use switchboard_loadtest::http::{Connection, Endpoint};
use switchboard_loadtest::metrics::{Aggregator, Metric, ProgressStyle};
use switchboard_loadtest::plan::LoadModel;
use switchboard_loadtest::provider::FakeProvider;
use switchboard_loadtest::quantity::Stage;
use switchboard_loadtest::report::{DrainReport, NodeReport, Report, RunReport, table};
use switchboard_loadtest::scenario::{Scenario, ScenarioContext, WebhookTraffic};
use switchboard_loadtest::target::SeededChannel;
use switchboard_loadtest::{LoadtestError, executor};
use tokio_util::sync::CancellationToken;

const TIMEOUT: Duration = Duration::from_secs(5);

fn cluster(list: &str) -> Cluster {
    Cluster::parse(list, TIMEOUT).expect("a valid --target")
}

fn bases(cluster: &Cluster) -> Vec<&str> {
    cluster.nodes().iter().map(|node| node.base()).collect()
}

#[test]
fn one_url_is_one_node_and_a_list_is_its_nodes_in_order() {
    let single = cluster("http://127.0.0.1:3000/");
    assert_eq!(bases(&single), ["http://127.0.0.1:3000"]);
    assert_eq!(single.describe(), "http://127.0.0.1:3000");
    let three = cluster("http://127.0.0.1:3001, http://127.0.0.1:3002,http://gateway.example.com");
    assert_eq!(
        bases(&three),
        [
            "http://127.0.0.1:3001",
            "http://127.0.0.1:3002",
            "http://gateway.example.com"
        ]
    );
    assert_eq!(three.setup().base(), "http://127.0.0.1:3001");
    assert_eq!(
        three.describe(),
        "http://127.0.0.1:3001,http://127.0.0.1:3002,http://gateway.example.com"
    );
}

#[test]
fn an_empty_entry_a_node_listed_twice_or_a_bad_url_is_refused_naming_the_problem() {
    let refused = |list: &str| match Cluster::parse(list, TIMEOUT) {
        Err(error @ (LoadtestError::InvalidOption { .. } | LoadtestError::Endpoint(_))) => {
            error.to_string()
        }
        Err(other) => panic!("{list}: unexpected error {other}"),
        Ok(_) => panic!("{list}: accepted"),
    };
    assert!(refused("").contains("empty entry"));
    assert!(refused("http://a:1,,http://b:2").contains("empty entry"));
    assert!(refused("http://a:1,http://b:2,").contains("empty entry"));
    assert!(refused("http://a:1,http://a:1/").contains("`http://a:1` is listed twice"));
    assert!(refused("http://a:1,b:2").contains("`b:2`"));
}

#[test]
fn a_workers_operations_go_round_the_nodes_starting_at_its_own() {
    let cluster = cluster("http://127.0.0.1:3001,http://127.0.0.1:3002,http://127.0.0.1:3003");
    for (worker, expected) in [(0, [0, 1, 2, 0]), (1, [1, 2, 0, 1]), (5, [2, 0, 1, 2])] {
        let mut connection = cluster.connect(worker);
        let nodes: Vec<usize> = (0..4).map(|_| connection.next_in_turn().0.0).collect();
        assert_eq!(nodes, expected, "worker {worker}");
    }
    let mut connection = cluster.connect(0);
    let (node, to_node) = connection.next_in_turn();
    assert_eq!(to_node.endpoint().base(), cluster.node(node).base());
    let mut alone = Cluster::single(cluster.setup().clone()).connect(7);
    assert!((0..3).all(|_| alone.next_in_turn().0 == NodeIndex(0)));
}

#[test]
fn a_conversations_consecutive_messages_go_to_consecutive_nodes() {
    let cluster = cluster("http://127.0.0.1:3001,http://127.0.0.1:3002,http://127.0.0.1:3003");
    let mut connection = cluster.connect(0);
    for contact in 0..6 {
        let nodes: Vec<usize> = (0..6)
            .map(|seq| connection.for_message(contact, seq).0.0)
            .collect();
        let first = contact % 3;
        let expected: Vec<usize> = (0..6).map(|seq| (first + seq) % 3).collect();
        assert_eq!(nodes, expected, "contact {contact}");
    }
    // However many contacts a worker serves in turn, each contact still moves on.
    for seq in 0..4 {
        let a = connection.for_message(0, seq).0;
        let b = connection.for_message(3, seq).0;
        assert_eq!(a, b, "contacts 0 and 3 start on one node and move together");
        assert_ne!(a, connection.for_message(0, seq + 1).0);
    }
}

#[test]
fn a_realtime_consumer_listens_on_the_next_node_and_alone_on_the_only_one() {
    let cluster = cluster("http://127.0.0.1:3001,http://127.0.0.1:3002,http://127.0.0.1:3003");
    let peers: Vec<usize> = (0..3).map(|node| cluster.peer(NodeIndex(node)).0).collect();
    assert_eq!(peers, [1, 2, 0]);
    let single = Cluster::single(cluster.setup().clone());
    assert_eq!(single.peer(NodeIndex(0)), NodeIndex(0));
}

fn run_report(nodes: Vec<NodeReport>) -> RunReport {
    RunReport {
        name: "e2e".into(),
        scenario: "e2e".into(),
        model: LoadModel::Open {
            rate: 100.0,
            duration: Duration::from_secs(10),
            workers: 0,
        },
        duration_secs: 10.0,
        primary: vec!["e2e".into()],
        metrics: BTreeMap::new(),
        nodes,
        drain: Some(DrainReport {
            waited_secs: 1.0,
            timed_out: false,
            pending_at_end: Some(0),
            dead: Some(0),
        }),
        calls: None,
        cpu: None,
    }
}

#[test]
fn the_report_names_the_node_of_each_figure_and_says_nothing_of_nodes_against_one() {
    let nodes = ["http://127.0.0.1:3001", "http://127.0.0.1:3002"];
    let mut report = Report::new(&nodes.join(","), "e2e", "smoke");
    report.nodes = nodes.iter().map(|node| (*node).to_owned()).collect();
    report.runs.push(run_report(vec![
        NodeReport {
            node: nodes[0].into(),
            requests: 500,
            errors: 0,
        },
        NodeReport {
            node: nodes[1].into(),
            requests: 400,
            errors: 100,
        },
    ]));
    let text = table::render(&report);
    assert!(text.contains("nodes: 2"), "{text}");
    let row = |node: &str| {
        text.lines()
            .find(|line| line.trim_start().starts_with(node))
            .unwrap_or_else(|| panic!("no row for {node}:\n{text}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row(nodes[0]), "500 0 (0.00%)");
    assert_eq!(row(nodes[1]), "400 100 (25.00%)");
    assert!(
        text.contains("queue statistics from http://127.0.0.1:3001"),
        "{text}"
    );
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["nodes"][1], nodes[1]);
    assert_eq!(json["runs"][0]["nodes"][1]["errors"], 100);

    let mut single = Report::new(nodes[0], "e2e", "smoke");
    single.runs.push(run_report(Vec::new()));
    let text = table::render(&single);
    assert!(!text.contains("node"), "{text}");
    let json = serde_json::to_value(&single).expect("json");
    assert!(json.get("nodes").is_none());
    assert!(json["runs"][0].get("nodes").is_none());
}

/// What the stand-in server saw: each webhook's `Host` and message token, in arrival order.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

#[derive(Clone)]
struct StandIn {
    seen: Seen,
    provider: Arc<Endpoint>,
}

/// A node that answers a webhook as Switchboard's echo agent would, at once: the reply carrying
/// the message's token goes to the fake provider before the webhook is acknowledged.
async fn accept_webhook(
    State(stand_in): State<StandIn>,
    headers: HeaderMap,
    body: Bytes,
) -> http::StatusCode {
    let Ok(webhook) = serde_json::from_slice::<Value>(&body) else {
        return http::StatusCode::BAD_REQUEST;
    };
    let value = &webhook["entry"][0]["changes"][0]["value"];
    let phone = value["metadata"]["phone_number_id"].as_str().unwrap_or("");
    let message = &value["messages"][0];
    let text = message["text"]["body"].as_str().unwrap_or("").to_owned();
    let host = headers
        .get("host")
        .and_then(|host| host.to_str().ok())
        .unwrap_or("")
        .to_owned();
    stand_in
        .seen
        .lock()
        .expect("lock")
        .push((host, text.clone()));
    let reply = json!({"messaging_product": "whatsapp", "to": message["from"], "type": "text",
        "text": {"body": text}});
    let key = HeaderValue::from_str(message["id"].as_str().unwrap_or("")).expect("header");
    let sent = Connection::new(stand_in.provider.clone())
        .send(
            http::Method::POST,
            &format!("/{phone}/messages"),
            &[(HeaderName::from_static("idempotency-key"), key)],
            Some(Bytes::from(reply.to_string())),
        )
        .await;
    match sent {
        Ok(response) if response.is_success() => http::StatusCode::OK,
        _ => http::StatusCode::BAD_GATEWAY,
    }
}

#[tokio::test]
async fn webhooks_spread_over_two_names_of_one_server_are_all_answered_in_order() {
    const RUN: &str = "77777ab";
    const CONTACTS: usize = 4;
    let channel = SeededChannel {
        id: "channel".into(),
        phone_number_id: "15550001".into(),
        app_secret: "secret".into(),
        webhook_path: "/webhooks/whatsapp/channel".into(),
    };
    let traffic = WebhookTraffic::new(RUN, 77777, vec![channel], CONTACTS);
    let checker = Arc::new(Mutex::new(traffic.checker_for()));
    let traffic = Arc::new(traffic.with_checker(Arc::clone(&checker)));
    let provider = FakeProvider::start("127.0.0.1:0", None, Arc::clone(&checker), None)
        .await
        .expect("provider starts");
    let seen = Seen::default();
    let stand_in = StandIn {
        seen: seen.clone(),
        provider: Arc::new(Endpoint::parse(&provider.base_url(), TIMEOUT).expect("url")),
    };
    let router = Router::new()
        .route("/webhooks/whatsapp/channel", post(accept_webhook))
        .route("/health", get(|| async { "ok" }))
        .with_state(stand_in);
    let port = common::serve(router)
        .await
        .authority()
        .rsplit(':')
        .next()
        .expect("port")
        .to_owned();
    let nodes = [format!("127.0.0.1:{port}"), format!("localhost:{port}")];
    let cluster = cluster(&format!("http://{},http://{}", nodes[0], nodes[1]));

    // Two workers with two contacts each: a spread by worker would pin every contact to a node.
    let model = LoadModel::Closed {
        start_vus: 2,
        stages: vec![Stage {
            duration: Duration::from_millis(500),
            target: 2,
        }],
        think_time: Duration::from_millis(10),
    };
    let context = Arc::new(ScenarioContext {
        scenario: Scenario::E2e,
        cluster,
        fixture: None,
        traffic: Some(traffic),
        ws: None,
        voice: None,
    });
    let (sink, aggregator) =
        Aggregator::start("e2e".into(), vec![Metric::EndToEnd], ProgressStyle::Off);
    provider.set_sink(Some(sink.clone()));
    let load = executor::drive(&model, context, &sink, &CancellationToken::new()).await;
    provider.set_sink(None);
    drop(sink);
    let measured = aggregator.finish(load).await;

    let figures = checker.lock().expect("lock").correctness();
    assert!(figures.holds(), "{figures:?}");
    assert!(figures.acknowledged >= 8, "{figures:?}");
    assert_eq!(figures.replied, figures.acknowledged);
    let acknowledged = measured.metrics["webhook_ack"].ok;
    assert_eq!(measured.metrics["e2e"].ok, acknowledged);

    // Each node's count is what that name of the server saw, and both took webhooks.
    let seen = seen.lock().expect("lock").clone();
    for (index, node) in nodes.iter().enumerate() {
        let arrived = seen.iter().filter(|(host, _)| host == node).count() as u64;
        let counted = measured.nodes[&NodeIndex(index)];
        assert!(arrived > 0, "nothing reached {node}");
        assert_eq!((counted.requests, counted.errors), (arrived, 0), "{node}");
    }
    // Every contact's consecutive messages went to one name and then the other.
    for contact in 0..CONTACTS {
        let hosts: Vec<&str> = seen
            .iter()
            .filter(|(_, text)| text.starts_with(&format!("lt-{RUN}-{contact}-")))
            .map(|(host, _)| host.as_str())
            .collect();
        assert!(hosts.len() >= 2, "contact {contact}: {hosts:?}");
        assert!(
            hosts.windows(2).all(|pair| pair[0] != pair[1]),
            "contact {contact}: {hosts:?}"
        );
    }
}
