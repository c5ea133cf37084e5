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

use newsflow_testkit as common;

use common::mock::Mock;
use common::*;
use newsflow::config::{Config, DeliveryMode};
use rdkafka::mocking::MockCoordinator;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr, RDKafkaRespErr::*};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Broker leading the raw topic (the service fetches from it, the test producer writes to
/// it), and the broker leading the output and DLQ topics (the service writes to it, the
/// test reader fetches from it); group and transaction coordinators start on `RAW_BROKER`.
const RAW_BROKER: i32 = 1;
const OUT_BROKER: i32 = 2;

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

/// The series that show a fault reached the service (summed over its restarts).
const EVIDENCE: &[&str] = &[
    "newsflow_kafka_request_retries_total{client=\"consumer\"}",
    "newsflow_kafka_request_retries_total{client=\"producer\"}",
    "newsflow_kafka_request_errors_total{client=\"consumer\"}",
    "newsflow_kafka_request_errors_total{client=\"producer\"}",
    "newsflow_kafka_request_timeouts_total{client=\"consumer\"}",
    "newsflow_kafka_request_timeouts_total{client=\"producer\"}",
    "newsflow_produce_retries_total{target=\"output\"}",
    "newsflow_produce_retries_total{target=\"dlq\"}",
    "newsflow_commits_total{result=\"error\"}",
    "newsflow_transactions_total{result=\"aborted\"}",
    "newsflow_transaction_retries_total",
];

/// What a scenario observed of its fault.
#[derive(Default)]
struct Observed {
    /// Times the service stopped on a fatal error and was restarted.
    restarts: usize,
    /// [`EVIDENCE`] series summed over the instances.
    counters: BTreeMap<&'static str, f64>,
    /// Slowest broker round trip (s) the clients reported when the fault was healed.
    rtt_at_heal: f64,
    /// Messages the service consumed, over its restarts.
    consumed: f64,
    /// Requests (broker, API) the brokers received while the fault lasted, and after it.
    during_fault: Vec<(i32, i16)>,
    after_heal: Vec<(i32, i16)>,
}

impl Observed {
    fn add(&mut self, inst: &Instance) {
        for s in EVIDENCE {
            *self.counters.entry(s).or_default() += inst.metric(s);
        }
        self.consumed += inst.metric("newsflow_consumed_total");
    }

    /// Sum of the [`EVIDENCE`] series whose name contains `part`.
    fn sum(&self, part: &str) -> f64 {
        self.counters
            .iter()
            .filter(|(k, _)| k.contains(part))
            .map(|(_, v)| v)
            .sum()
    }
}

/// Ok when errors were pushed on `broker` for `api` and every one was returned to a
/// request.
fn drained(m: &Mock, broker: i32, api: RDKafkaApiKey) -> Result<(), String> {
    if m.errors_pushed(broker, api) == 0 {
        return Err(format!("no {api:?} error was injected on broker {broker}"));
    }
    match m.errors_left(broker, api) {
        0 => Ok(()),
        n => Err(format!(
            "{n} {api:?} error(s) never returned by broker {broker}"
        )),
    }
}

/// Ok when `cond` holds, else the evidence that was missing.
fn check(cond: bool, missing: &str) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(missing.to_string())
    }
}

/// Whether broker `broker` received an `api` request in `requests`.
fn received(requests: &[(i32, i16)], broker: i32, api: RDKafkaApiKey) -> bool {
    requests
        .iter()
        .any(|&(b, a)| b == broker && a == api as i16)
}

/// Runs one scenario: `fault` is applied after the first part was processed, `heal` after
/// the second part was produced and `fault_time` passed. Returns what it observed of the
/// fault, for the caller to assert that the fault fired.
///
/// With two brokers or more, the raw topic lives on [`RAW_BROKER`] and the output and DLQ on
/// [`OUT_BROKER`] (see `common::mock`), and the coordinators of the service's group and
/// transactional id start on [`RAW_BROKER`]. `fired` checks the evidence at the end.
async fn scenario(
    name: &str,
    mode: DeliveryMode,
    brokers_n: i32,
    fault_time: Duration,
    fault: impl FnOnce(&Mock, &str),
    heal: impl FnOnce(&Mock, &str),
    fired: impl FnOnce(&Mock, &Observed) -> Result<(), String>,
) {
    let mut observed = Observed::default();
    let m = Mock::new(brokers_n);
    let c = m.cluster();
    for t in [RAW, OUT, DLQ] {
        c.create_topic(t, 3, 1).expect("create topic");
    }
    let group = format!("faults-{name}");
    if brokers_n >= 2 {
        for p in 0..3 {
            c.partition_leader(RAW, p, Some(RAW_BROKER)).unwrap();
            for t in [OUT, DLQ] {
                c.partition_leader(t, p, Some(OUT_BROKER)).unwrap();
            }
        }
        c.coordinator(MockCoordinator::Group(group.clone()), RAW_BROKER)
            .unwrap();
        c.coordinator(
            MockCoordinator::Transaction(format!("{group}-pod-0")),
            RAW_BROKER,
        )
        .unwrap();
    }
    let brokers = m.bootstrap_servers();
    m.track_requests();
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
    m.take_requests();
    fault(&m, &group);
    // The second part is produced while the fault lasts; with the broker down the test
    // producer can only finish after the heal, so it runs beside the fault timer.
    let during = tokio::spawn({
        let brokers = brokers.clone();
        let part = items[150..300].to_vec();
        async move { produce_all(&brokers, RAW, &part).await }
    });
    tokio::time::sleep(fault_time).await;
    if !inst.task.is_finished() {
        observed.rtt_at_heal = ["consumer", "producer"]
            .iter()
            .map(|c| {
                inst.metric(&format!(
                    "newsflow_kafka_broker_rtt_seconds{{client=\"{c}\"}}"
                ))
            })
            .fold(0.0, f64::max);
    }
    observed.during_fault = m.take_requests();
    eprintln!("{name}: healing");
    heal(&m, &group);
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
            observed.add(&inst);
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
    observed.add(&inst);
    observed.restarts = restarts;
    observed.after_heal = m.take_requests();
    eprintln!(
        "{name} ({mode:?}): {} records for {} inputs",
        seen.len(),
        exp.len()
    );
    if !inst.task.is_finished() {
        inst.shutdown().await;
    }
    let mut brief = observed.counters.clone();
    brief.retain(|_, v| *v > 0.0);
    eprintln!(
        "{name}: evidence {brief:?}, restarts {}, consumed {}, rtt at heal {:.3}s",
        observed.restarts, observed.consumed, observed.rtt_at_heal
    );
    if let Err(e) = fired(&m, &observed) {
        panic!("{name}: the injected fault did not fire: {e}");
    }
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

fn no_heal(_: &Mock, _: &str) {}

// ---- at-least-once -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alo_produce_retriable_errors() {
    // Errors on the output broker's Produce requests: only the service's producer sees them.
    scenario(
        "alo-produce-retriable",
        DeliveryMode::AtLeastOnce,
        2,
        Duration::from_secs(2),
        |m, _| {
            m.push_errors(
                OUT_BROKER,
                RDKafkaApiKey::Produce,
                &RETRIABLE_PRODUCE.repeat(3),
            )
        },
        no_heal,
        |m, o| {
            drained(m, OUT_BROKER, RDKafkaApiKey::Produce)?;
            check(
                o.sum("request_errors_total{client=\"producer\"}") > 0.0,
                "the producer's statistics show no request error",
            )
        },
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
        2,
        Duration::from_secs(2),
        |m, _| {
            m.push_errors(
                OUT_BROKER,
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
        |m, o| {
            drained(m, OUT_BROKER, RDKafkaApiKey::Produce)?;
            check(
                o.sum("produce_retries_total") > 0.0 || o.restarts > 0,
                "no produce was retried and the service never stopped",
            )
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alo_fetch_errors_retriable_and_offset_out_of_range() {
    // Errors on the raw broker's Fetch requests: only the service's consumer sees them.
    scenario(
        "alo-fetch",
        DeliveryMode::AtLeastOnce,
        2,
        Duration::from_secs(2),
        |m, _| {
            let mut e = RETRIABLE_FETCH.repeat(3);
            // Non-retriable for the fetch: triggers auto.offset.reset (re-reading from the
            // earliest offset; duplicates are allowed in at-least-once, losses are not).
            e.push(RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE);
            m.push_errors(RAW_BROKER, RDKafkaApiKey::Fetch, &e)
        },
        no_heal,
        |m, o| {
            drained(m, RAW_BROKER, RDKafkaApiKey::Fetch)?;
            check(
                o.consumed > 450.0,
                "the service never re-read after the offset reset",
            )
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alo_offset_commit_errors() {
    // Only the service commits offsets (the test reader does not).
    scenario(
        "alo-commit",
        DeliveryMode::AtLeastOnce,
        2,
        Duration::from_secs(3),
        |m, _| {
            m.push_errors(
                RAW_BROKER,
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
        |m, o| {
            drained(m, RAW_BROKER, RDKafkaApiKey::OffsetCommit)?;
            check(
                o.sum("commits_total{result=\"error\"}") > 0.0,
                "no offset commit failed",
            )
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alo_coordinator_moves() {
    // The group coordinator moves twice; the service's commits follow it.
    scenario(
        "alo-coordinator",
        DeliveryMode::AtLeastOnce,
        3,
        Duration::from_secs(3),
        |m, g| {
            m.cluster()
                .coordinator(MockCoordinator::Group(g.to_string()), 2)
                .unwrap()
        },
        |m, g| {
            m.cluster()
                .coordinator(MockCoordinator::Group(g.to_string()), 3)
                .unwrap()
        },
        |_, o| {
            check(
                received(&o.during_fault, 2, RDKafkaApiKey::OffsetCommit),
                "no offset commit reached the coordinator the group moved to",
            )?;
            check(
                received(&o.after_heal, 3, RDKafkaApiKey::OffsetCommit),
                "no offset commit reached the coordinator the group moved back to",
            )
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
        |m, _| {
            m.cluster()
                .broker_round_trip_time(1, Duration::from_millis(400))
                .unwrap()
        },
        |m, _| {
            m.cluster()
                .broker_round_trip_time(1, Duration::ZERO)
                .unwrap()
        },
        rtt_seen,
    )
    .await;
}

/// The clients' statistics showed the injected 400 ms round trip.
fn rtt_seen(_: &Mock, o: &Observed) -> Result<(), String> {
    check(
        o.rtt_at_heal >= 0.3,
        &format!(
            "round trip at heal {:.3}s, not the injected 0.4s",
            o.rtt_at_heal
        ),
    )
}

// ---- exactly-once --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_broker_down_and_up() {
    scenario(
        "eos-down",
        DeliveryMode::ExactlyOnce,
        1,
        Duration::from_secs(3),
        |m, _| m.cluster().broker_down(1).unwrap(),
        |m, _| m.cluster().broker_up(1).unwrap(),
        |_, o| {
            check(
                o.sum("request_errors_total") > 0.0,
                "no client saw a request fail while the broker was down",
            )
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_commit_answer_lost_in_time() {
    // The coordinator commits a transaction but answers after the service's operation
    // timeout (10 s): commit_transaction returns a retriable timeout while the commit has
    // already happened. Aborting and re-sending that batch would put it in the output
    // twice; the service must stop instead and let the restart's fencing settle it.
    scenario(
        "eos-commit-late",
        DeliveryMode::ExactlyOnce,
        2,
        Duration::from_secs(2),
        |m, _| {
            m.push_answers(
                RAW_BROKER,
                RDKafkaApiKey::EndTxn,
                &[(RD_KAFKA_RESP_ERR_NO_ERROR, 12_000)],
            )
        },
        no_heal,
        |m, o| {
            drained(m, RAW_BROKER, RDKafkaApiKey::EndTxn)?;
            check(
                o.restarts > 0,
                "the service never stopped on the commit whose outcome it could not know",
            )
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_produce_and_fetch_retriable_errors() {
    scenario(
        "eos-produce-fetch",
        DeliveryMode::ExactlyOnce,
        2,
        Duration::from_secs(3),
        |m, _| {
            m.push_errors(
                OUT_BROKER,
                RDKafkaApiKey::Produce,
                &RETRIABLE_PRODUCE.repeat(2),
            );
            m.push_errors(RAW_BROKER, RDKafkaApiKey::Fetch, &RETRIABLE_FETCH.repeat(2));
        },
        no_heal,
        |m, _| {
            drained(m, OUT_BROKER, RDKafkaApiKey::Produce)?;
            drained(m, RAW_BROKER, RDKafkaApiKey::Fetch)
        },
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
        2,
        Duration::from_secs(3),
        |m, _| {
            m.push_errors(
                OUT_BROKER,
                RDKafkaApiKey::Produce,
                &[
                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                    RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS,
                ],
            )
        },
        no_heal,
        |m, o| {
            drained(m, OUT_BROKER, RDKafkaApiKey::Produce)?;
            check(
                o.sum("transactions_total{result=\"aborted\"}") > 0.0 || o.restarts > 0,
                "no transaction was aborted and the service never stopped",
            )
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_transaction_request_errors() {
    // Only the service sends transactional requests (to its coordinators on RAW_BROKER).
    scenario(
        "eos-txn",
        DeliveryMode::ExactlyOnce,
        2,
        Duration::from_secs(3),
        |m, _| {
            for (api, errs) in TXN_ERRORS {
                m.push_errors(RAW_BROKER, *api, errs);
            }
        },
        no_heal,
        |m, _| {
            for (api, _) in TXN_ERRORS {
                drained(m, RAW_BROKER, *api)?;
            }
            Ok(())
        },
    )
    .await;
}

const TXN_ERRORS: &[(RDKafkaApiKey, &[RDKafkaRespErr])] = &[
    (
        RDKafkaApiKey::AddPartitionsToTxn,
        &[
            RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
        ],
    ),
    (
        RDKafkaApiKey::AddOffsetsToTxn,
        &[
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        ],
    ),
    (
        RDKafkaApiKey::TxnOffsetCommit,
        &[
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        ],
    ),
    (
        RDKafkaApiKey::EndTxn,
        &[
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
        ],
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eos_coordinators_move() {
    // Group coordinator 1 → 2 → 3, transaction coordinator 1 → 3 → 1.
    scenario(
        "eos-coordinator",
        DeliveryMode::ExactlyOnce,
        3,
        Duration::from_secs(3),
        |m, g| {
            let c = m.cluster();
            c.coordinator(MockCoordinator::Group(g.to_string()), 2)
                .unwrap();
            c.coordinator(MockCoordinator::Transaction(format!("{g}-pod-0")), 3)
                .unwrap();
        },
        |m, g| {
            let c = m.cluster();
            c.coordinator(MockCoordinator::Group(g.to_string()), 3)
                .unwrap();
            c.coordinator(MockCoordinator::Transaction(format!("{g}-pod-0")), 1)
                .unwrap();
        },
        |_, o| {
            check(
                received(&o.during_fault, 2, RDKafkaApiKey::TxnOffsetCommit),
                "no transactional offset commit reached the group's new coordinator",
            )?;
            check(
                received(&o.during_fault, 3, RDKafkaApiKey::EndTxn),
                "no transaction ended at the new transaction coordinator",
            )?;
            check(
                received(&o.after_heal, 3, RDKafkaApiKey::TxnOffsetCommit)
                    && received(&o.after_heal, 1, RDKafkaApiKey::EndTxn),
                "the requests did not follow the coordinators back",
            )
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
        |m, _| {
            m.cluster()
                .broker_round_trip_time(1, Duration::from_millis(400))
                .unwrap()
        },
        |m, _| {
            m.cluster()
                .broker_round_trip_time(1, Duration::ZERO)
                .unwrap()
        },
        rtt_seen,
    )
    .await;
}
