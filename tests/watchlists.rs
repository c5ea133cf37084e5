//! Watchlists in the running service (librdkafka's mock cluster): hits in the records,
//! alerts on the alerts topic in both delivery modes, and reloads (file change, SIGHUP, a
//! bad file) while articles flow, with nothing lost.

use newsflow_testkit as common;

use common::*;
use newsflow::config::{Config, DeliveryMode};
use rdkafka::mocking::MockCluster;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

type Cluster = MockCluster<'static, rdkafka::producer::DefaultProducerContext>;

fn cluster() -> (Cluster, String) {
    let c = MockCluster::new(1).expect("mock cluster");
    for t in [RAW, OUT, DLQ, ALERTS] {
        c.create_topic(t, 3, 1).expect("create topic");
    }
    let b = c.bootstrap_servers();
    (c, b)
}

/// `common::article(i)` is English (NATO, Jerusalem) when `i % 3 == 0`, else Hebrew
/// (בירושלים, צרפת).
fn is_english(i: usize) -> bool {
    i.is_multiple_of(3)
}

const NATO: &str = "{\"id\": \"nato\", \"type\": \"ORG\", \"names\": [\"NATO\", \"נאט\\\"ו\"]}\n";
const JERUSALEM: &str =
    "{\"id\": \"jlm\", \"type\": \"GPE\", \"names\": [\"ירושלים\", \"Jerusalem\"], \"tags\": [\"city\"]}\n";

fn config(brokers: &str, group: &str, list: &Path, interval_ms: u64) -> Config {
    let mut c = test_config(brokers, group);
    c.watchlists.files = vec![list.display().to_string()];
    c.watchlists.reload_interval_ms = interval_ms;
    c.kafka.alerts_topic = ALERTS.into();
    c
}

/// Waits until `cond` holds on the instance's metrics (or fails after 20 s).
async fn wait_metric(inst: &Instance, what: &str, cond: impl Fn(&Instance) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond(inst) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The distinct keys read from `topic`.
fn keys_on(seen: &[Seen], topic: &str) -> BTreeSet<String> {
    seen.iter()
        .filter(|s| s.topic == topic)
        .map(|s| s.key.clone())
        .collect()
}

/// The ids of the hits of each output record, by key.
fn hits_by_key(seen: &[Seen]) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    seen.iter()
        .filter(|s| s.topic == OUT)
        .map(|s| {
            let ids = s.json()["watchlist_hits"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|h| h["id"].as_str().unwrap().to_string())
                .collect();
            (s.key.clone(), ids)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_follow_hits_and_lists_reload_while_articles_flow() {
    let (_c, brokers) = cluster();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("clients.jsonl");
    std::fs::write(&list, NATO).unwrap();
    let inst = Instance::start(config(&brokers, "wl-reload", &list, 100));
    wait_metric(&inst, "lists loaded", |i| {
        i.metric("newsflow_watchlist_entries") == 1.0
    })
    .await;

    // Batch 1 with the first list: only the English articles mention NATO.
    let first = mixed_inputs("a", 60, 0);
    produce_all(&brokers, RAW, &first).await;
    let r = reader(&brokers, &[OUT, DLQ, ALERTS]);
    let want_alerts: BTreeSet<String> = (0..60)
        .filter(|&i| is_english(i))
        .map(|i| format!("a{i}"))
        .collect();
    let seen = read_until(&r, Duration::from_secs(60), |s| {
        let outs = s.iter().filter(|x| x.topic == OUT).count();
        outs >= 60 && want_alerts.is_subset(&keys_on(s, ALERTS))
    })
    .await;
    let hits = hits_by_key(&seen);
    for i in 0..60 {
        let want: BTreeSet<String> = if is_english(i) {
            ["nato".to_string()].into()
        } else {
            BTreeSet::new()
        };
        assert_eq!(hits[&format!("a{i}")], want, "a{i}");
    }
    let alerts: Vec<&Seen> = seen.iter().filter(|s| s.topic == ALERTS).collect();
    assert_eq!(keys_on(&seen, ALERTS), want_alerts);
    let a = alerts[0].json();
    assert!(
        a["url"]
            .as_str()
            .unwrap()
            .starts_with("https://test.invalid/"),
        "{a}"
    );
    assert_eq!(a["hits"][0]["id"], "nato");
    let validator = schema();
    for s in seen.iter().filter(|s| s.topic == OUT) {
        assert_valid_record(&validator, &s.json());
    }

    // The file changes: the new list (two entries) is swapped in.
    std::fs::write(&list, format!("{NATO}{JERUSALEM}")).unwrap();
    wait_metric(&inst, "reload", |i| {
        i.metric("newsflow_watchlist_entries") == 2.0
    })
    .await;
    // A broken file: the reload fails, is counted, and the lists in force stay.
    std::fs::write(&list, format!("{NATO}{{\"id\": \"x\", broken\n")).unwrap();
    wait_metric(&inst, "reload error", |i| {
        i.metric("newsflow_watchlist_reload_errors_total") == 1.0
    })
    .await;
    assert_eq!(inst.metric("newsflow_watchlist_entries"), 2.0);

    // Batch 2 runs with the two-entry list: every article hits Jerusalem (Hebrew with the
    // prefix ב), the English ones NATO too; every one of them alerts.
    let second = mixed_inputs("b", 60, 0);
    produce_all(&brokers, RAW, &second).await;
    let want_b: BTreeSet<String> = (0..60).map(|i| format!("b{i}")).collect();
    let seen2 = read_until(&r, Duration::from_secs(60), |s| {
        want_b.is_subset(&keys_on(s, OUT)) && want_b.is_subset(&keys_on(s, ALERTS))
    })
    .await;
    let hits = hits_by_key(&seen2);
    for i in 0..60 {
        let mut want: BTreeSet<String> = ["jlm".to_string()].into();
        if is_english(i) {
            want.insert("nato".into());
        }
        assert_eq!(hits[&format!("b{i}")], want, "b{i}");
    }
    // Nothing lost; no duplicates in this fault-free run.
    let mut all = seen.clone();
    all.extend(seen2.iter().cloned());
    let outs: Vec<Seen> = all.iter().filter(|s| s.topic != ALERTS).cloned().collect();
    let expected: BTreeSet<String> = first
        .iter()
        .chain(&second)
        .map(|(k, _)| k.clone())
        .collect();
    assert_complete(&outs, &expected, true, "records");
    // Every hit in the records is counted (each body repeats its sentence: several hits
    // an article).
    let total_hits: usize = outs
        .iter()
        .filter(|s| s.topic == OUT)
        .map(|s| s.json()["watchlist_hits"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(total_hits > 100, "{total_hits}");
    assert_eq!(
        inst.metric("newsflow_watchlist_hits_total{list=\"clients\"}"),
        total_hits as f64
    );
    assert_eq!(
        inst.metric("newsflow_alerts_total{result=\"sent\"}"),
        (20 + 60) as f64
    );
    inst.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_lists() {
    let (_c, brokers) = cluster();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("people.tsv");
    std::fs::write(&list, "p-1\tPER\tNobody Here\n").unwrap();
    // Polling off: only SIGHUP reloads.
    let inst = Instance::start(config(&brokers, "wl-hup", &list, 0));
    wait_metric(&inst, "lists loaded", |i| {
        i.metric("newsflow_watchlist_entries") == 1.0
    })
    .await;
    std::fs::write(&list, "p-1\tPER\tNobody Here\np-2\tPER\tSomebody Else\n").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        inst.metric("newsflow_watchlist_entries"),
        1.0,
        "no reload without SIGHUP"
    );
    // SAFETY: kill(2) on our own pid; the service's SIGHUP handler is installed (the
    // entries gauge is set after it).
    assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGHUP) }, 0);
    wait_metric(&inst, "SIGHUP reload", |i| {
        i.metric("newsflow_watchlist_entries") == 2.0
    })
    .await;
    inst.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_alerts_are_in_the_transaction() {
    let (_c, brokers) = cluster();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("clients.jsonl");
    std::fs::write(&list, NATO).unwrap();
    let mut c = config(&brokers, "wl-eos", &list, 100);
    c.kafka.delivery = DeliveryMode::ExactlyOnce;
    c.kafka.instance_id = "pod-0".into();
    c.pipeline.transaction_max_messages = 20;
    c.pipeline.transaction_max_ms = 100;
    c.pipeline.transaction_op_timeout_ms = 10_000;
    c.pipeline.transaction_mirror_offsets = true;
    audit::install();
    let items = mixed_inputs("e", 90, 10);
    produce_all(&brokers, RAW, &items).await;
    let inst = Instance::start(c);
    let r = reader(&brokers, &[OUT, DLQ]);
    let expected: BTreeSet<String> = items.iter().map(|(k, _)| k.clone()).collect();
    let seen = read_committed_view(
        &r,
        &expected,
        audit::committed_in_process,
        Duration::from_secs(60),
        Duration::from_secs(1),
        Vec::new(),
    )
    .await;
    assert_complete(&seen, &expected, true, "records");
    // English articles that are not the broken ones (every 10th) alert, once each, in
    // committed transactions.
    let want: BTreeSet<String> = (0..90)
        .filter(|&i| is_english(i) && i % 10 != 9)
        .map(|i| format!("e{i}"))
        .collect();
    let ra = reader(&brokers, &[ALERTS]);
    let alerts = read_committed_view(
        &ra,
        &want,
        audit::committed_in_process,
        Duration::from_secs(30),
        Duration::from_secs(1),
        Vec::new(),
    )
    .await;
    assert!(
        alerts
            .iter()
            .all(|a| a.headers.contains_key("newsflow-transaction")),
        "alerts carry the transaction id"
    );
    assert_complete(&alerts, &want, true, "alerts");
    inst.shutdown().await;
}
