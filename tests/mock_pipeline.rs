//! Integration tests of the service on librdkafka's in-process mock cluster.

use newsflow_testkit as common;

use common::*;
use newsflow::demo::SAMPLES;
use rdkafka::mocking::MockCluster;
use std::collections::BTreeSet;
use std::time::Duration;

fn cluster(
    partitions: i32,
) -> (
    MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    String,
) {
    let c = MockCluster::new(1).expect("mock cluster");
    for t in [RAW, OUT, DLQ] {
        c.create_topic(t, partitions, 1).expect("create topic");
    }
    let b = c.bootstrap_servers();
    (c, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_and_dead_letters_for_every_bad_kind() {
    let (_cluster, brokers) = cluster(3);
    let mut config = test_config(&brokers, "happy");
    config.pipeline.max_message_bytes = 50_000;
    let instance = Instance::start(config);

    let mut items: Vec<(String, Vec<u8>)> = SAMPLES
        .iter()
        .map(|(name, payload)| (name.to_string(), payload.to_vec()))
        .collect();
    let bad: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bad-utf8", b"\xc3\x28 broken".to_vec(), "invalid_utf8"),
        ("bad-json", b"{\"body\": ".to_vec(), "malformed_json"),
        ("bad-array", b"[1, 2]".to_vec(), "not_an_object"),
        (
            "bad-missing",
            b"{\"title\": \"t\"}".to_vec(),
            "missing_text",
        ),
        (
            "bad-empty",
            b"{\"body\": \" \\u200f \"}".to_vec(),
            "empty_text",
        ),
        ("bad-blank", b"   ".to_vec(), "empty_text"),
        ("bad-type", b"{\"body\": [\"x\"]}".to_vec(), "invalid_field"),
        (
            "bad-html",
            b"{\"html\": \"<html><body><nav>menu</nav><script>x()</script></body></html>\"}"
                .to_vec(),
            "html_no_text",
        ),
        ("bad-oversize", vec![b'a'; 50_001], "oversize"),
    ];
    for (k, v, _) in &bad {
        items.push((k.to_string(), v.clone()));
    }
    // One record without a key: its output key is derived from the article id.
    produce_all(&brokers, RAW, &items).await;
    {
        let p = producer(&brokers);
        let rec = rdkafka::producer::FutureRecord::<(), _>::to(RAW)
            .payload(br#"{"id":"no-key-article","body":"Lavrov spoke in Moscow."}"#);
        p.send(rec, Duration::from_secs(10)).await.unwrap();
    }
    let total = items.len() + 1;
    let r = reader(&brokers, &[OUT, DLQ]);
    let seen = read_until(&r, Duration::from_secs(60), |s| s.len() >= total).await;
    assert_eq!(
        seen.len(),
        total,
        "every input appears once: {:?}",
        keys(&seen)
    );

    let validator = schema();
    let outputs: Vec<&Seen> = seen.iter().filter(|s| s.topic == OUT).collect();
    let dlq: Vec<&Seen> = seen.iter().filter(|s| s.topic == DLQ).collect();
    // Samples: 4 good + 4 bad; plus 9 bad above; plus the keyless one.
    assert_eq!(outputs.len(), 5);
    assert_eq!(dlq.len(), 4 + bad.len());
    for o in &outputs {
        let rec = o.json();
        assert_valid_record(&validator, &rec);
        assert_eq!(o.headers["content-type"], "application/json");
        assert_eq!(o.headers["newsflow-schema-version"], "1");
        assert_eq!(rec["provenance"]["topic"], RAW);
        if o.key != "no-key-article" {
            assert_eq!(o.headers["x-test"], o.key, "input headers carried over");
        }
    }
    assert!(
        outputs.iter().any(|o| o.key == "no-key-article"),
        "key derived from id"
    );
    let html = outputs
        .iter()
        .find(|o| o.key == "he_heatwave.html.json")
        .unwrap()
        .json();
    assert_eq!(html["pipeline"]["input_format"], "json_html");
    assert!(
        !html["body"].as_str().unwrap().contains("פרסומת"),
        "ads dropped"
    );
    assert_eq!(html["published_at"], "2025-07-15T06:00:00+03:00");
    let plain = outputs
        .iter()
        .find(|o| o.key == "he_plain.txt")
        .unwrap()
        .json();
    assert_eq!(plain["published_date"], "2025-06-12");
    assert_eq!(plain["language"]["code"], "he");
    assert_eq!(plain["pipeline"]["tagger"], "fast");

    for (k, v, kind) in &bad {
        let d = dlq
            .iter()
            .find(|d| d.key == *k)
            .unwrap_or_else(|| panic!("{k} in DLQ"));
        assert_eq!(&d.payload, v, "original bytes unchanged for {k}");
        assert_eq!(d.headers["newsflow-error-kind"], *kind, "{k}");
        assert!(!d.headers["newsflow-error-message"].is_empty());
        assert_eq!(d.headers["newsflow-source-topic"], RAW);
        assert!(d.headers["newsflow-source-offset"].parse::<i64>().is_ok());
        assert!(d.headers.contains_key("newsflow-dlq-time"));
        assert_eq!(d.headers["x-test"], *k, "input headers kept on DLQ records");
    }

    // Metrics saw it all.
    assert_eq!(instance.metric("newsflow_consumed_total"), total as f64);
    assert_eq!(instance.metric("newsflow_produced_total"), 5.0);
    assert_eq!(
        instance.metric("newsflow_dead_lettered_total{reason=\"oversize\"}"),
        1.0
    );
    assert!(instance.metric("newsflow_entities_total{type=\"GPE\"}") > 0.0);
    instance.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accurate_tier_runs_end_to_end_with_the_same_schema() {
    let (_cluster, brokers) = cluster(2);
    let mut config = test_config(&brokers, "accurate");
    config.tagger.mode = newsflow::core::tag::Tier::Accurate;
    let instance = Instance::start(config);
    let items: Vec<(String, Vec<u8>)> = SAMPLES
        .iter()
        .map(|(name, payload)| (name.to_string(), payload.to_vec()))
        .collect();
    produce_all(&brokers, RAW, &items).await;
    let r = reader(&brokers, &[OUT, DLQ]);
    let seen = read_until(&r, Duration::from_secs(120), |s| s.len() >= items.len()).await;
    assert_eq!(seen.len(), items.len(), "{:?}", keys(&seen));
    let validator = schema();
    let outputs: Vec<&Seen> = seen.iter().filter(|s| s.topic == OUT).collect();
    assert_eq!(outputs.len(), 4, "the good samples are enriched");
    assert_eq!(seen.iter().filter(|s| s.topic == DLQ).count(), 4);
    for o in &outputs {
        let rec = o.json();
        assert_valid_record(&validator, &rec);
        assert_eq!(rec["pipeline"]["tagger"], "accurate");
    }
    let he = outputs
        .iter()
        .find(|o| o.key == "he_budget.json")
        .unwrap()
        .json();
    assert!(
        !he["entities"].as_array().unwrap().is_empty(),
        "Hebrew entities found: {he}"
    );
    assert!(instance.metric("newsflow_entities_total{type=\"GPE\"}") > 0.0);
    instance.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_stream_loses_nothing() {
    let (_cluster, brokers) = cluster(3);
    let n = 400;
    let items: Vec<(String, Vec<u8>)> = (0..n).map(|i| (format!("k{i}"), article(i))).collect();
    let first = Instance::start(test_config(&brokers, "restart"));
    produce_all(&brokers, RAW, &items).await;
    let r = reader(&brokers, &[OUT, DLQ]);
    // Let the first instance get part of the way, then kill it abruptly (task aborted:
    // no drain, no final commit beyond what the commit loop already did).
    let partial = read_until(&r, Duration::from_secs(60), |s| s.len() >= 50).await;
    assert!(partial.len() >= 50);
    first.task.abort();
    let _ = first.task.await;
    let second = Instance::start(test_config(&brokers, "restart"));
    let expected: BTreeSet<String> = (0..n).map(|i| format!("k{i}")).collect();
    let got =
        read_keys_until_complete(&r, &expected, keys(&partial), Duration::from_secs(90)).await;
    let missing: Vec<_> = expected.difference(&got).collect();
    assert!(missing.is_empty(), "lost after restart: {missing:?}");
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_rebalance_without_gaps() {
    let (_cluster, brokers) = cluster(4);
    let n = 600;
    let items: Vec<(String, Vec<u8>)> = (0..n).map(|i| (format!("r{i}"), article(i))).collect();
    let a = Instance::start(test_config(&brokers, "rebalance"));
    let r = reader(&brokers, &[OUT, DLQ]);
    produce_all(&brokers, RAW, &items[..200]).await;
    let seen = read_until(&r, Duration::from_secs(60), |s| s.len() >= 100).await;
    // A second instance joins while messages are in flight.
    let b = Instance::start(test_config(&brokers, "rebalance"));
    produce_all(&brokers, RAW, &items[200..400]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    produce_all(&brokers, RAW, &items[400..]).await;
    let expected: BTreeSet<String> = items.iter().map(|(k, _)| k.clone()).collect();
    let got = read_keys_until_complete(&r, &expected, keys(&seen), Duration::from_secs(90)).await;
    let missing: Vec<_> = expected.difference(&got).collect();
    assert!(missing.is_empty(), "gaps after rebalance: {missing:?}");
    assert!(
        b.metric("newsflow_consumed_total") > 0.0,
        "the second instance took over partitions"
    );
    // And the first leaves: the second finishes everything else.
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_only_cover_delivered_messages() {
    // After a graceful shutdown, a new instance in the same group re-reads nothing that was
    // delivered (offsets committed) and the committed position equals the input end.
    let (_cluster, brokers) = cluster(2);
    let items: Vec<(String, Vec<u8>)> = (0..100).map(|i| (format!("c{i}"), article(i))).collect();
    let inst = Instance::start(test_config(&brokers, "commits"));
    produce_all(&brokers, RAW, &items).await;
    let r = reader(&brokers, &[OUT, DLQ]);
    let seen = read_until(&r, Duration::from_secs(60), |s| s.len() >= 100).await;
    assert_eq!(keys(&seen).len(), 100);
    inst.shutdown().await;
    let again = Instance::start(test_config(&brokers, "commits"));
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        again.metric("newsflow_consumed_total"),
        0.0,
        "everything delivered was committed at shutdown"
    );
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_at_start_and_mid_stream_delays_but_loses_nothing() {
    let (cluster, brokers) = cluster(2);
    let items: Vec<(String, Vec<u8>)> = (0..200).map(|i| (format!("d{i}"), article(i))).collect();
    produce_all(&brokers, RAW, &items[..100]).await;
    cluster.broker_down(1).unwrap();
    let inst = Instance::start(test_config(&brokers, "down"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !inst.telemetry.health.is_ready(),
        "not ready while the broker is down"
    );
    assert_eq!(inst.metric("newsflow_produced_total"), 0.0);
    cluster.broker_up(1).unwrap();
    let r = reader(&brokers, &[OUT, DLQ]);
    let first = read_until(&r, Duration::from_secs(60), |s| keys(s).len() >= 100).await;
    assert_eq!(keys(&first).len(), 100);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !inst.telemetry.health.is_ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "ready again after the broker is back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Down again while the second half is being processed.
    produce_all(&brokers, RAW, &items[100..]).await;
    cluster.broker_down(1).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.broker_up(1).unwrap();
    let expected: BTreeSet<String> = items.iter().map(|(k, _)| k.clone()).collect();
    let got = read_keys_until_complete(&r, &expected, keys(&first), Duration::from_secs(90)).await;
    let missing: Vec<_> = expected.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "lost across broker outages: {missing:?}"
    );
    inst.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_refused_as_too_large_goes_to_the_dlq_with_the_reason() {
    let (_cluster, brokers) = cluster(1);
    let mut config = test_config(&brokers, "too-large");
    // The enriched record (body + entities + metadata) outgrows a 6000-byte limit that the
    // 3 KB original fits in.
    config
        .kafka
        .producer_properties
        .insert("message.max.bytes".into(), SMALL_MESSAGE_MAX.into());
    let inst = Instance::start(config);
    let big = too_large_when_enriched();
    assert!(big.len() < 6000);
    let small = br#"{"id": "small", "body": "A short note from Kyiv."}"#.to_vec();
    produce_all(
        &brokers,
        RAW,
        &[("big".into(), big.clone()), ("small".into(), small)],
    )
    .await;
    let r = reader(&brokers, &[OUT, DLQ]);
    let seen = read_until(&r, Duration::from_secs(60), |s| s.len() >= 2).await;
    let big_seen = seen
        .iter()
        .find(|s| s.key == "big")
        .expect("big accounted for");
    assert_eq!(big_seen.topic, DLQ);
    assert_eq!(big_seen.headers["newsflow-error-kind"], "output_rejected");
    assert!(big_seen.headers["newsflow-error-message"].contains("refused"));
    assert_eq!(big_seen.payload, big, "original bytes in the DLQ");
    assert_eq!(seen.iter().find(|s| s.key == "small").unwrap().topic, OUT);
    inst.shutdown().await;
}

/// Runs `scenario` on a runtime of its own in a thread, and reports whether the whole of it
/// (the runtime's shutdown included, where leftover tasks and blocking calls are waited
/// for) ended within `bound`. A hang here is the failure being tested, so it is reported
/// instead of hanging the suite.
fn ends_within(bound: Duration, scenario: impl FnOnce() + Send + 'static) -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        scenario();
        let _ = tx.send(());
    });
    rx.recv_timeout(bound).is_ok()
}

#[test]
fn an_aborted_instance_does_not_hang_once_its_brokers_are_gone() {
    // A service task dropped without its shutdown (an abort), whose cluster then goes away:
    // nothing it leaves behind (commit loop, consumer close) may block the runtime's exit.
    // librdkafka retries a close or sync commit without end once the coordinator is gone.
    let ended = ends_within(Duration::from_secs(90), || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (cluster, brokers) = cluster(2);
            let items: Vec<(String, Vec<u8>)> =
                (0..40).map(|i| (format!("a{i}"), article(i))).collect();
            let inst = Instance::start(test_config(&brokers, "aborted"));
            produce_all(&brokers, RAW, &items).await;
            let r = reader(&brokers, &[OUT, DLQ]);
            let seen = read_until(&r, Duration::from_secs(60), |s| keys(s).len() >= 40).await;
            assert_eq!(keys(&seen).len(), 40);
            inst.task.abort();
            let _ = inst.task.await;
            drop(r);
            drop(cluster);
            // Let what the aborted task left behind meet the dead cluster.
            tokio::time::sleep(Duration::from_millis(1500)).await;
        });
        drop(rt);
    });
    assert!(
        ended,
        "the runtime did not shut down: something waits on the dead cluster"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_with_the_broker_down_ends_within_its_timeout() {
    let (cluster, brokers) = cluster(2);
    let items: Vec<(String, Vec<u8>)> = (0..40).map(|i| (format!("g{i}"), article(i))).collect();
    let mut config = test_config(&brokers, "down-at-stop");
    config.pipeline.shutdown_timeout_ms = 3_000;
    let inst = Instance::start(config);
    produce_all(&brokers, RAW, &items).await;
    let r = reader(&brokers, &[OUT, DLQ]);
    let seen = read_until(&r, Duration::from_secs(60), |s| keys(s).len() >= 40).await;
    assert_eq!(keys(&seen).len(), 40);
    drop(r);
    cluster.broker_down(1).unwrap();
    // The final commit and the consumer's close cannot complete; the service still returns
    // within the 3 s timeout plus the 2 s floors of the final commit and of the close (and
    // a second of slack for a loaded machine). Unbounded, the commit and the close took
    // 12–13 s here before giving up on their own.
    let started = std::time::Instant::now();
    inst.shutdown().await;
    let took = started.elapsed();
    assert!(
        took <= Duration::from_secs(3 + 2 + 2 + 1),
        "shutdown took {took:?}"
    );
    cluster.broker_up(1).unwrap();
}
