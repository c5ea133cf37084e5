//! Exactly-once mode on librdkafka's in-process mock cluster (tansu has no transactions):
//! a `read_committed` reader of the output and DLQ sees every input exactly once across
//! crashes (SIGKILL of the real binary), injected transaction/produce errors, a second
//! instance joining and leaving, and a zombie with the same transactional.id.
//!
//! The mock cluster does not apply transactions (no markers, no aborted-transaction
//! filtering, transactional offsets not stored): see `common::audit` for how the tests
//! build the read_committed view and keep the offsets.

use newsflow_testkit as common;

use common::service::{kill_rounds, Service};
use common::*;
use newsflow::config::{Config, DeliveryMode};
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use std::collections::BTreeSet;
use std::time::Duration;

type Cluster = MockCluster<'static, rdkafka::producer::DefaultProducerContext>;

fn cluster(brokers: i32, partitions: i32) -> (Cluster, String) {
    let c = MockCluster::new(brokers).expect("mock cluster");
    for t in [RAW, OUT, DLQ] {
        c.create_topic(t, partitions, 1).expect("create topic");
    }
    let b = c.bootstrap_servers();
    (c, b)
}

fn eos_config(brokers: &str, group: &str, instance: &str) -> Config {
    let mut c = test_config(brokers, group);
    c.kafka.delivery = DeliveryMode::ExactlyOnce;
    c.kafka.instance_id = instance.into();
    c.pipeline.transaction_max_messages = 40;
    c.pipeline.transaction_max_ms = 100;
    c.pipeline.transaction_op_timeout_ms = 10_000;
    c.pipeline.transaction_mirror_offsets = true;
    audit::install();
    c
}

fn expected(items: &[(String, Vec<u8>)]) -> BTreeSet<String> {
    items.iter().map(|(k, _)| k.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_happy_path_counts_and_transactions() {
    let (_c, brokers) = cluster(1, 3);
    let items = mixed_inputs("h", 300, 10);
    produce_all(&brokers, RAW, &items).await;
    let inst = Instance::start(eos_config(&brokers, "eos-happy", "pod-0"));
    let r = reader(&brokers, &[OUT, DLQ]);
    let exp = expected(&items);
    let seen = read_all_committed(&r, &exp).await;
    assert_complete(&seen, &exp, true, "happy path");
    assert_eq!(seen.iter().filter(|s| s.topic == DLQ).count(), 30);
    assert!(
        inst.metric("newsflow_commits_total{result=\"ok\"}") >= 1.0,
        "transactions committed"
    );
    inst.shutdown().await;
}

/// The real binary is SIGKILLed at random points (3 times) while transactions are open and
/// restarted with the same instance id each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_survives_repeated_sigkill() {
    let (_c, brokers) = cluster(1, 3);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("newsflow.toml");
    let sections = "[pipeline]\nmax_in_flight = 64\ntransaction_max_messages = 50\n\
                    transaction_max_ms = 200\ntransaction_mirror_offsets = true\n\
                    [http]\nlisten = \"\"\n";
    let kafka_extra = "delivery = \"exactly-once\"\ninstance_id = \"pod-0\"";
    let toml = service::service_toml(&brokers, "eos-kill", kafka_extra, sections);
    std::fs::write(&config, toml).unwrap();
    let items = mixed_inputs("k", 1500, 25);
    produce_all(&brokers, RAW, &items).await;
    let exp = expected(&items);
    let r = reader(&brokers, &[OUT, DLQ]);
    let (seen, mut logs) = kill_rounds(&config, dir.path(), &r, &[], 3, 100, 600, exp.len()).await;
    let mut last = Service::start(&config, &[], dir.path().join("last.log"));
    logs.push(dir.path().join("last.log"));
    let committed = || {
        logs.iter()
            .flat_map(|l| audit::committed_in_log(l))
            .collect::<std::collections::HashSet<_>>()
    };
    let view = read_committed_view(
        &r,
        &exp,
        committed,
        Duration::from_secs(120),
        Duration::from_secs(3),
        seen,
    )
    .await;
    let all_committed = committed();
    assert!(all_committed.len() > 4, "transactions were committed");
    assert_complete(&view, &exp, true, &last.log_tail());
    last.signal("-TERM");
    let status = last.wait_exit(Duration::from_secs(20)).expect("exits");
    assert!(status.success(), "exit 0; log:\n{}", last.log_tail());
}

/// Retriable errors on produce and on every transactional request, plus one abortable
/// failure: transactions are retried or aborted and the batch re-processed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_with_injected_transaction_and_produce_errors() {
    let (c, brokers) = cluster(1, 3);
    let items = mixed_inputs("e", 600, 20);
    let inst = Instance::start(eos_config(&brokers, "eos-errors", "pod-0"));
    let r = reader(&brokers, &[OUT, DLQ]);
    produce_all(&brokers, RAW, &items[..200]).await;
    let mut seen = read_until(&r, Duration::from_secs(60), |s| s.len() >= 50).await;
    use RDKafkaRespErr::*;
    c.request_errors(
        RDKafkaApiKey::Produce,
        &[
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        ],
    );
    c.request_errors(
        RDKafkaApiKey::AddPartitionsToTxn,
        &[
            RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        ],
    );
    c.request_errors(
        RDKafkaApiKey::AddOffsetsToTxn,
        &[RD_KAFKA_RESP_ERR_NOT_COORDINATOR],
    );
    c.request_errors(
        RDKafkaApiKey::TxnOffsetCommit,
        &[
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        ],
    );
    c.request_errors(
        RDKafkaApiKey::EndTxn,
        &[
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        ],
    );
    produce_all(&brokers, RAW, &items[200..400]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // An abortable error: the partition is unknown to AddPartitionsToTxn once.
    c.request_errors(
        RDKafkaApiKey::AddPartitionsToTxn,
        &[RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART],
    );
    produce_all(&brokers, RAW, &items[400..]).await;
    let exp = expected(&items);
    let before = keys(&seen);
    let rest: BTreeSet<String> = exp.difference(&before).cloned().collect();
    seen.extend(
        read_all_expected(&r, &rest, Duration::from_secs(90), Duration::from_secs(3)).await,
    );
    assert_complete(&seen, &exp, true, "injected errors");
    eprintln!(
        "transactions: committed {}, aborted {}",
        inst.metric("newsflow_transactions_total{result=\"committed\"}"),
        inst.metric("newsflow_transactions_total{result=\"aborted\"}")
    );
    inst.shutdown().await;
}

/// A second instance joins while transactions are open and leaves again: each rebalance
/// ends the open transaction before partitions move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_across_rebalances() {
    let (_c, brokers) = cluster(1, 4);
    let items = mixed_inputs("r", 1200, 30);
    // Cooperative rebalancing: partitions are revoked after the group synced, when the
    // mock cluster accepts the offset commit that stands in for the transactional offsets
    // (it refuses commits while members re-join; Kafka accepts them then, so the eager
    // protocol works there too).
    let config = |instance: &str| {
        let mut c = eos_config(&brokers, "eos-rebalance", instance);
        c.kafka.consumer_properties.insert(
            "partition.assignment.strategy".into(),
            "cooperative-sticky".into(),
        );
        c
    };
    let a = Instance::start(config("pod-0"));
    let r = reader(&brokers, &[OUT, DLQ]);
    produce_all(&brokers, RAW, &items[..600]).await;
    let mut seen = read_until(&r, Duration::from_secs(60), |s| s.len() >= 150).await;
    let b = Instance::start(config("pod-1"));
    produce_all(&brokers, RAW, &items[600..]).await;
    seen.extend(read_until(&r, Duration::from_secs(60), |s| s.len() >= 300).await);
    b.shutdown().await;
    let exp = expected(&items);
    let before = keys(&seen);
    let rest: BTreeSet<String> = exp.difference(&before).cloned().collect();
    seen.extend(
        read_all_expected(&r, &rest, Duration::from_secs(90), Duration::from_secs(3)).await,
    );
    assert_complete(&seen, &exp, true, "rebalance");
    a.shutdown().await;
}

/// Fencing: the broker answers the instance's transaction requests with PRODUCER_FENCED
/// (what Kafka does once a newer producer with the same transactional.id initialized; the
/// mock cluster does not fence by itself, so the answer is injected). The fenced instance
/// must stop with an error instead of writing on; its successor with the same instance id
/// finishes the work, each input exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fenced_instance_stops_with_an_error_and_its_successor_finishes() {
    let (c, brokers) = cluster(1, 2);
    let items = mixed_inputs("z", 600, 50);
    let zombie = Instance::start(eos_config(&brokers, "eos-zombie", "pod-0"));
    let r = reader(&brokers, &[OUT, DLQ]);
    produce_all(&brokers, RAW, &items[..300]).await;
    let seen = read_until(&r, Duration::from_secs(60), |s| s.len() >= 50).await;
    use RDKafkaRespErr::*;
    c.request_errors(
        RDKafkaApiKey::EndTxn,
        &[RD_KAFKA_RESP_ERR_PRODUCER_FENCED; 3],
    );
    c.request_errors(
        RDKafkaApiKey::AddPartitionsToTxn,
        &[RD_KAFKA_RESP_ERR_PRODUCER_FENCED; 3],
    );
    let result = tokio::time::timeout(Duration::from_secs(60), zombie.task)
        .await
        .expect("the fenced instance stops")
        .expect("no panic");
    let err = result.expect_err("fenced instance exits with an error");
    eprintln!("fenced instance stopped with: {err:#}");
    c.clear_request_errors(RDKafkaApiKey::EndTxn);
    c.clear_request_errors(RDKafkaApiKey::AddPartitionsToTxn);
    let successor = Instance::start(eos_config(&brokers, "eos-zombie", "pod-0"));
    produce_all(&brokers, RAW, &items[300..]).await;
    let exp = expected(&items);
    let view = read_committed_view(
        &r,
        &exp,
        audit::committed_in_process,
        Duration::from_secs(90),
        Duration::from_secs(3),
        seen,
    )
    .await;
    assert_complete(&view, &exp, true, "fenced");
    successor.shutdown().await;
}

/// Output refused as too large in exactly-once mode: dead-lettered with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_output_refused_goes_to_the_dlq() {
    let (_c, brokers) = cluster(1, 1);
    let mut config = eos_config(&brokers, "eos-too-large", "pod-0");
    config
        .kafka
        .producer_properties
        .insert("message.max.bytes".into(), SMALL_MESSAGE_MAX.into());
    let inst = Instance::start(config);
    let big = too_large_when_enriched();
    let mut items = mixed_inputs("t", 50, 0);
    items.push(("big".into(), big.clone()));
    produce_all(&brokers, RAW, &items).await;
    let r = reader(&brokers, &[OUT, DLQ]);
    let exp = expected(&items);
    let seen = read_all_committed(&r, &exp).await;
    assert_complete(&seen, &exp, true, "too large");
    let b = seen.iter().find(|s| s.key == "big").unwrap();
    assert_eq!(b.topic, DLQ);
    assert_eq!(b.headers["newsflow-error-kind"], "output_rejected");
    assert_eq!(b.payload, big);
    inst.shutdown().await;
}

/// Everything the service committed for `exp` (in-process instances), read from scratch.
async fn read_all_committed(
    r: &rdkafka::consumer::StreamConsumer,
    exp: &BTreeSet<String>,
) -> Vec<Seen> {
    read_committed_view(
        r,
        exp,
        audit::committed_in_process,
        Duration::from_secs(60),
        Duration::from_secs(2),
        Vec::new(),
    )
    .await
}
