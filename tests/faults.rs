//! Fault-injection suite on librdkafka's in-process mock cluster, in both delivery modes.
//!
//! Every scenario pushes a known set of inputs (articles plus invalid ones for the DLQ)
//! through the service in three parts: before the fault, during it, and after it is healed.
//! It then reads the output and DLQ topics completely (`read_committed`) and checks that every
//! input is there (at-least-once: at least once; exactly-once: exactly once) and nothing
//! else. If a fault is fatal for the service (it stops with an error, as it must on fatal
//! Kafka errors), the scenario restarts it like a supervisor would and counts the restarts.
//! Order per key is not checked: the service does not promise output order (README).
//!
//! The suite takes about a minute and a half and runs in the default `cargo test`;
//! `scripts/faults.sh N` runs it (with the exactly-once and tansu kill loops) N times in a row.

mod common;

use common::*;
use newsflow::config::{Config, DeliveryMode};
use rdkafka::mocking::{MockCluster, MockCoordinator};
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr, RDKafkaRespErr::*};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const RAW: &str = "articles.raw";
const OUT: &str = "articles.enriched";
const DLQ: &str = "articles.dlq";

type Cluster = MockCluster<'static, rdkafka::producer::DefaultProducerContext>;

fn config(brokers: &str, group: &str, mode: DeliveryMode) -> Config {
    let mut c = test_config(brokers, group);
    c.kafka.delivery = mode;
    c.kafka.instance_id = "pod-0".into();
    c.pipeline.transaction_max_messages = 40;
    c.pipeline.transaction_max_ms = 100;
    c.pipeline.transaction_op_timeout_ms = 10_000;
    // The mock cluster does not store transactional offsets: see common::audit.
    c.pipeline.transaction_mirror_offsets = true;
    audit::install();
    c
}

/// Runs one scenario: `fault` is applied after the first part was processed, `heal` after
/// the second part was produced and `fault_time` passed.
async fn scenario(
    name: &str,
    mode: DeliveryMode,
    brokers_n: i32,
    fault_time: Duration,
    fault: impl FnOnce(&Cluster, &str),
    heal: impl FnOnce(&Cluster, &str),
) -> usize {
    let c = MockCluster::new(brokers_n).expect("mock cluster");
    for t in [RAW, OUT, DLQ] {
        c.create_topic(t, 3, 1).expect("create topic");
    }
    let brokers = c.bootstrap_servers();
    let group = format!("faults-{name}");
    let items = mixed_inputs(&format!("{name}-"), 450, 15);
    let exp: BTreeSet<String> = items.iter().map(|(k, _)| k.clone()).collect();
    let cfg = config(&brokers, &group, mode);
    let mut inst = Instance::start(cfg.clone());
    let r = reader(&brokers, &[OUT, DLQ]);
    produce_all(&brokers, RAW, &items[..150]).await;
    let mut seen = read_until(&r, Duration::from_secs(60), |s| s.len() >= 50).await;
    assert!(seen.len() >= 50, "{name}: no progress before the fault");
    eprintln!(
        "{name}: {} records before the fault; applying it",
        seen.len()
    );
    fault(&c, &group);
    // The second part is produced while the fault lasts; with the broker down the test
    // producer can only finish after the heal, so it runs beside the fault timer.
    let during = tokio::spawn({
        let brokers = brokers.clone();
        let part = items[150..300].to_vec();
        async move { produce_all(&brokers, RAW, &part).await }
    });
    tokio::time::sleep(fault_time).await;
    eprintln!("{name}: healing");
    heal(&c, &group);
    during.await.expect("test producer task");
    produce_all(&brokers, RAW, &items[300..]).await;
    eprintln!("{name}: all inputs produced");

    // Read until complete, restarting the service whenever it stopped on a fatal error.
    let mut restarts = 0;
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let k = keys(&seen);
        if exp.iter().all(|e| k.contains(e)) || Instant::now() > deadline {
            break;
        }
        if inst.task.is_finished() {
            let result = inst.task.await.expect("no panic");
            eprintln!("{name}: service stopped ({result:?}); restarting it");
            assert!(result.is_err(), "{name}: stopped without being asked to");
            restarts += 1;
            assert!(restarts <= 5, "{name}: restarted too often");
            inst = Instance::start(cfg.clone());
        }
        seen.extend(read_until(&r, Duration::from_millis(500), |_| false).await);
    }
    seen.extend(read_until(&r, Duration::from_secs(3), |_| false).await);
    eprintln!(
        "{name}: {} records read, {restarts} restarts; checking",
        seen.len()
    );
    let exactly = mode == DeliveryMode::ExactlyOnce;
    if exactly {
        seen = read_committed_view(
            &r,
            &exp,
            audit::committed_in_process,
            Duration::from_secs(60),
            Duration::from_secs(1),
            seen,
        )
        .await;
    }
    assert_complete(&seen, &exp, exactly, &format!("scenario {name} ({mode:?})"));
    let dlq: BTreeSet<&str> = seen
        .iter()
        .filter(|s| s.topic == DLQ)
        .map(|s| s.key.as_str())
        .collect();
    assert_eq!(dlq.len(), 30, "{name}: the invalid inputs are in the DLQ");
    for s in seen.iter().filter(|s| s.topic == DLQ) {
        assert_eq!(s.headers["newsflow-error-kind"], "malformed_json");
    }
    eprintln!(
        "{name} ({mode:?}): {} records for {} inputs, {restarts} restarts",
        seen.len(),
        exp.len()
    );
    if !inst.task.is_finished() {
        inst.shutdown().await;
    }
    restarts
}

fn errors(c: &Cluster, key: RDKafkaApiKey, errs: &[RDKafkaRespErr]) {
    c.request_errors(key, errs);
}

const RETRIABLE_PRODUCE: &[RDKafkaRespErr] = &[
    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
    RD_KAFKA_RESP_ERR__TRANSPORT,
    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
];

const RETRIABLE_FETCH: &[RDKafkaRespErr] = &[
    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
    RD_KAFKA_RESP_ERR__TRANSPORT,
    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
];

fn no_heal(_: &Cluster, _: &str) {}

// ---- at-least-once -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alo_produce_retriable_errors() {
    scenario(
        "alo-produce-retriable",
        DeliveryMode::AtLeastOnce,
        1,
        Duration::from_secs(2),
        |c, _| errors(c, RDKafkaApiKey::Produce, &RETRIABLE_PRODUCE.repeat(3)),
        no_heal,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alo_produce_fatal_errors() {
    // Non-retriable produce errors: the records fail; the sink re-sends them, or the
    // idempotent producer raises a fatal error and the service exits (and is restarted).
    scenario(
        "alo-produce-fatal",
        DeliveryMode::AtLeastOnce,
        1,
        Duration::from_secs(2),
        |c, _| {
            errors(
                c,
                RDKafkaApiKey::Produce,
                &[
                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                    RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
                    RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS,
                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                ],
            )
        },
        no_heal,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alo_fetch_errors_retriable_and_offset_out_of_range() {
    scenario(
        "alo-fetch",
        DeliveryMode::AtLeastOnce,
        1,
        Duration::from_secs(2),
        |c, _| {
            let mut e = RETRIABLE_FETCH.repeat(3);
            // Non-retriable for the fetch: triggers auto.offset.reset (re-reading from the
            // earliest offset; duplicates are allowed in at-least-once, losses are not).
            e.push(RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE);
            errors(c, RDKafkaApiKey::Fetch, &e)
        },
        no_heal,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alo_offset_commit_errors() {
    scenario(
        "alo-commit",
        DeliveryMode::AtLeastOnce,
        1,
        Duration::from_secs(3),
        |c, _| {
            errors(
                c,
                RDKafkaApiKey::OffsetCommit,
                &[
                    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                    RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                    RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
                    RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION,
                    RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID,
                    RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
                ],
            )
        },
        no_heal,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alo_coordinator_moves() {
    scenario(
        "alo-coordinator",
        DeliveryMode::AtLeastOnce,
        3,
        Duration::from_secs(3),
        |c, g| {
            c.coordinator(MockCoordinator::Group(g.to_string()), 2)
                .unwrap()
        },
        |c, g| {
            c.coordinator(MockCoordinator::Group(g.to_string()), 3)
                .unwrap()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alo_high_broker_rtt() {
    scenario(
        "alo-rtt",
        DeliveryMode::AtLeastOnce,
        1,
        Duration::from_secs(4),
        |c, _| {
            c.broker_round_trip_time(1, Duration::from_millis(400))
                .unwrap()
        },
        |c, _| c.broker_round_trip_time(1, Duration::ZERO).unwrap(),
    )
    .await;
}

// ---- exactly-once --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_broker_down_and_up() {
    scenario(
        "eos-down",
        DeliveryMode::ExactlyOnce,
        1,
        Duration::from_secs(3),
        |c, _| c.broker_down(1).unwrap(),
        |c, _| c.broker_up(1).unwrap(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_produce_and_fetch_retriable_errors() {
    scenario(
        "eos-produce-fetch",
        DeliveryMode::ExactlyOnce,
        1,
        Duration::from_secs(3),
        |c, _| {
            errors(c, RDKafkaApiKey::Produce, &RETRIABLE_PRODUCE.repeat(2));
            errors(c, RDKafkaApiKey::Fetch, &RETRIABLE_FETCH.repeat(2));
        },
        no_heal,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_fatal_produce_errors() {
    // A non-retriable produce error inside a transaction makes it abortable (abort, rewind,
    // retry) or fatal for the producer (exit non-zero; the restart fences and resumes).
    scenario(
        "eos-produce-fatal",
        DeliveryMode::ExactlyOnce,
        1,
        Duration::from_secs(3),
        |c, _| {
            errors(
                c,
                RDKafkaApiKey::Produce,
                &[
                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                    RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS,
                ],
            )
        },
        no_heal,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_transaction_request_errors() {
    scenario(
        "eos-txn",
        DeliveryMode::ExactlyOnce,
        1,
        Duration::from_secs(3),
        |c, _| {
            errors(
                c,
                RDKafkaApiKey::AddPartitionsToTxn,
                &[
                    RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                    RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
                ],
            );
            errors(
                c,
                RDKafkaApiKey::AddOffsetsToTxn,
                &[
                    RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                ],
            );
            errors(
                c,
                RDKafkaApiKey::TxnOffsetCommit,
                &[
                    RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                    RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                ],
            );
            errors(
                c,
                RDKafkaApiKey::EndTxn,
                &[
                    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                    RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                    RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                ],
            );
        },
        no_heal,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_coordinators_move() {
    scenario(
        "eos-coordinator",
        DeliveryMode::ExactlyOnce,
        3,
        Duration::from_secs(3),
        |c, g| {
            c.coordinator(MockCoordinator::Group(g.to_string()), 2)
                .unwrap();
            c.coordinator(MockCoordinator::Transaction(format!("{g}-pod-0")), 3)
                .unwrap();
        },
        |c, g| {
            c.coordinator(MockCoordinator::Group(g.to_string()), 3)
                .unwrap();
            c.coordinator(MockCoordinator::Transaction(format!("{g}-pod-0")), 1)
                .unwrap();
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_high_broker_rtt() {
    scenario(
        "eos-rtt",
        DeliveryMode::ExactlyOnce,
        1,
        Duration::from_secs(4),
        |c, _| {
            c.broker_round_trip_time(1, Duration::from_millis(400))
                .unwrap()
        },
        |c, _| c.broker_round_trip_time(1, Duration::ZERO).unwrap(),
    )
    .await;
}
