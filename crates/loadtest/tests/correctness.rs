//! The correctness checker and the fake provider: a reply that is reordered, dropped or
//! duplicated is reported, and a report carrying it fails.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use switchboard_loadtest::checker::{Checker, Correctness, Reply};
use switchboard_loadtest::command::judge;
use switchboard_loadtest::http::{Connection, Endpoint};
use switchboard_loadtest::metrics::{Aggregator, Metric, ProgressStyle};
use switchboard_loadtest::provider::{FakeProvider, Fault, FaultPlan};
use switchboard_loadtest::report::Report;
use switchboard_loadtest::whatsapp::token;

const RUN: &str = "12345ab";
const PHONE: &str = "15550001";

fn checker(contacts: usize) -> Checker {
    Checker::new(
        RUN,
        (0..contacts)
            .map(|contact| (wa_id(contact), PHONE.to_owned()))
            .collect(),
    )
}

fn wa_id(contact: usize) -> String {
    format!("4470000{contact:04}")
}

fn reply(key: &str, contact: usize, seqs: &[u64]) -> Reply {
    Reply {
        idempotency_key: key.to_owned(),
        phone_number_id: PHONE.to_owned(),
        to: wa_id(contact),
        text: seqs
            .iter()
            .map(|seq| token(RUN, contact, *seq))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Sends and acknowledges `count` messages of `contact`.
fn acknowledge(checker: &mut Checker, contact: usize, count: u64) {
    for seq in 0..count {
        checker.sending(contact, seq, Instant::now());
        checker.answered(contact, seq, true);
    }
}

#[test]
fn replies_in_order_hold_even_when_one_reply_answers_several_messages() {
    let mut checker = checker(2);
    acknowledge(&mut checker, 0, 3);
    acknowledge(&mut checker, 1, 1);
    assert_eq!(checker.reply(&reply("a", 0, &[0])).len(), 1);
    assert_eq!(checker.reply(&reply("b", 1, &[0])).len(), 1);
    assert_eq!(checker.reply(&reply("c", 0, &[1, 2])).len(), 2);
    let figures = checker.correctness();
    assert!(figures.holds(), "{figures:?}");
    assert_eq!((figures.acknowledged, figures.replied), (4, 4));
    assert_eq!(checker.outstanding(), 0);
}

#[test]
fn a_reordered_reply_is_an_order_violation() {
    let mut checker = checker(1);
    acknowledge(&mut checker, 0, 2);
    checker.reply(&reply("b", 0, &[1]));
    checker.reply(&reply("a", 0, &[0]));
    let figures = checker.correctness();
    assert_eq!(figures.order_violations, 1);
    assert!(!figures.holds());
}

#[test]
fn an_acknowledged_message_without_a_reply_is_lost() {
    let mut checker = checker(1);
    acknowledge(&mut checker, 0, 3);
    checker.reply(&reply("a", 0, &[0]));
    checker.reply(&reply("c", 0, &[2]));
    let figures = checker.correctness();
    assert_eq!(figures.lost, 1);
    assert_eq!(figures.lost_examples, vec!["0:1".to_owned()]);
    assert!(!figures.holds());
}

#[test]
fn a_second_reply_under_another_key_is_a_duplicate_but_the_same_key_is_a_resend() {
    let mut checker = checker(1);
    acknowledge(&mut checker, 0, 1);
    checker.reply(&reply("a", 0, &[0]));
    checker.reply(&reply("a", 0, &[0]));
    let figures = checker.correctness();
    assert_eq!((figures.resends, figures.duplicates), (1, 0));
    assert!(figures.holds());
    checker.reply(&reply("a-again", 0, &[0]));
    let figures = checker.correctness();
    assert_eq!(figures.duplicates, 1);
    assert!(!figures.holds());
}

#[test]
fn a_reply_to_someone_else_is_misrouted_and_one_to_a_rejected_message_unexpected() {
    let mut checker = checker(2);
    acknowledge(&mut checker, 0, 1);
    checker.sending(0, 1, Instant::now());
    checker.answered(0, 1, false);
    let mut wrong = reply("a", 0, &[0]);
    wrong.to = wa_id(1);
    checker.reply(&wrong);
    checker.reply(&reply("b", 0, &[1]));
    checker.reply(&Reply {
        text: "hello from nowhere".into(),
        ..reply("c", 0, &[])
    });
    let figures = checker.correctness();
    assert_eq!(figures.misrouted, 1);
    assert_eq!(figures.unexpected, 2);
    assert_eq!(
        figures.acknowledged, 1,
        "a rejected message is not owed a reply"
    );
    assert!(!figures.holds());
}

#[test]
fn a_report_with_a_correctness_failure_fails_even_without_thresholds() {
    let mut report = Report::new("http://127.0.0.1:1", "e2e", "smoke");
    report.correctness = Some(Correctness {
        acknowledged: 5,
        replied: 5,
        order_violations: 1,
        ..Correctness::default()
    });
    assert!(!judge(&mut report, &[], None));
    assert!(!report.passed);
    report.correctness = Some(Correctness {
        acknowledged: 5,
        replied: 5,
        ..Correctness::default()
    });
    report.thresholds.clear();
    assert!(judge(&mut report, &[], None));
}

/// Replies `seqs` of contact 0 to the fake provider as the server would, one request each.
async fn send_replies(provider: &FakeProvider, seqs: &[u64]) -> Vec<serde_json::Value> {
    let endpoint =
        Arc::new(Endpoint::parse(&provider.base_url(), Duration::from_secs(5)).expect("url"));
    let mut connection = Connection::new(endpoint);
    let mut answers = Vec::new();
    for seq in seqs {
        let body = serde_json::json!({"messaging_product": "whatsapp", "recipient_type": "individual",
            "to": wa_id(0), "type": "text", "text": {"body": token(RUN, 0, *seq)}});
        let key = HeaderValue::from_str(&format!("message-{seq}")).expect("header");
        let response = connection
            .send(
                http::Method::POST,
                &format!("/{PHONE}/messages"),
                &[(HeaderName::from_static("idempotency-key"), key)],
                Some(Bytes::from(serde_json::to_vec(&body).expect("json"))),
            )
            .await
            .expect("the fake provider answers");
        assert_eq!(response.status, 200);
        answers.push(response.json().expect("json answer"));
    }
    answers
}

async fn faulty_run(fault: Option<Fault>) -> (Correctness, u64) {
    let checker = Arc::new(Mutex::new(checker(1)));
    acknowledge(&mut checker.lock().expect("lock"), 0, 4);
    let plan = fault.map(|fault| FaultPlan { fault, at: 2 });
    let provider = FakeProvider::start("127.0.0.1:0", None, Arc::clone(&checker), plan)
        .await
        .expect("provider starts");
    let (sink, aggregator) =
        Aggregator::start("test".into(), vec![Metric::EndToEnd], ProgressStyle::Off);
    provider.set_sink(Some(sink.clone()));
    let answers = send_replies(&provider, &[0, 1, 2, 3]).await;
    for answer in &answers {
        let id = answer
            .pointer("/messages/0/id")
            .and_then(|id| id.as_str())
            .unwrap_or_default();
        assert!(id.starts_with("wamid."), "{answer}");
    }
    provider.release_held();
    provider.set_sink(None);
    drop(sink);
    let metrics: BTreeMap<_, _> = aggregator.finish(Duration::from_secs(1)).await.metrics;
    let end_to_end = metrics.get("e2e").map_or(0, |metric| metric.ok);
    let figures = checker.lock().expect("lock").correctness();
    (figures, end_to_end)
}

#[tokio::test]
async fn the_fake_provider_passes_clean_replies_on_and_times_them() {
    let (figures, end_to_end) = faulty_run(None).await;
    assert!(figures.holds(), "{figures:?}");
    assert_eq!(figures.replied, 4);
    assert_eq!(
        end_to_end, 4,
        "each answered message ends one end-to-end sample"
    );
}

#[tokio::test]
async fn a_reply_dropped_at_the_fake_provider_is_reported_lost() {
    let (figures, end_to_end) = faulty_run(Some(Fault::Drop)).await;
    assert_eq!(figures.lost, 1, "{figures:?}");
    assert_eq!(figures.lost_examples, vec!["0:1".to_owned()]);
    assert_eq!(end_to_end, 3);
    assert!(!figures.holds());
}

#[tokio::test]
async fn a_reply_duplicated_at_the_fake_provider_is_reported() {
    let (figures, _) = faulty_run(Some(Fault::Duplicate)).await;
    assert_eq!(figures.duplicates, 1, "{figures:?}");
    assert!(!figures.holds());
}

#[tokio::test]
async fn a_reply_reordered_at_the_fake_provider_is_reported() {
    let (figures, _) = faulty_run(Some(Fault::Reorder)).await;
    assert_eq!(figures.order_violations, 1, "{figures:?}");
    assert_eq!(figures.lost, 0);
    assert!(!figures.holds());
}

#[test]
fn each_conversations_longest_wait_counts_from_its_message_or_the_reply_before() {
    let mut checker = checker(4);
    let ago = |seconds| Instant::now() - Duration::from_secs(seconds);
    let send = |checker: &mut Checker, contact, seq, scheduled| {
        checker.sending(contact, seq, scheduled);
        checker.answered(contact, seq, true);
    };
    send(&mut checker, 0, 0, ago(20));
    send(&mut checker, 1, 0, ago(5));
    // Its second message is older than its first reply: that wait starts at the reply.
    send(&mut checker, 2, 0, Instant::now());
    send(&mut checker, 2, 1, ago(60));
    // Never answered: not counted.
    send(&mut checker, 3, 0, ago(60));
    checker.reply(&reply("a", 0, &[0]));
    checker.reply(&reply("b", 1, &[0]));
    checker.reply(&reply("c", 2, &[0]));
    checker.reply(&reply("d", 2, &[1]));
    let waits = checker.correctness().longest_wait_ms;
    assert!(
        (5_000.0..20_000.0).contains(&waits.p50),
        "the median of the three contacts answered is contact 1's: {waits:?}"
    );
    assert!((20_000.0..60_000.0).contains(&waits.max), "{waits:?}");
    assert!(waits.p99 <= waits.max, "{waits:?}");
}
