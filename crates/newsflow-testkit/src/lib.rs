//! What newsflow's integration tests, benchmarks and examples share: in-process brokers,
//! service instances, readers, schema validation ([this module]); librdkafka's mock
//! cluster with fault injection ([`mock`]); the `newsflow` binary as a child process
//! ([`service`]); tansu ([`tansu`]); TLS ([`tls`]); the read-committed audit ([`audit`]);
//! synthetic articles ([`articles`]); the benchmark corpus ([`corpus`]) and workload
//! ([`bench`]); `../shared` lookup ([`shared`]). A dev-dependency of the `newsflow`
//! crate: one compiled library instead of a copy in every test binary.

use newsflow::config::Config;
use newsflow::telemetry::Telemetry;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The topics of the tests' service configurations (the service's defaults).
pub const RAW: &str = "articles.raw";
pub const OUT: &str = "articles.enriched";
pub const DLQ: &str = "articles.dlq";
pub const ALERTS: &str = "articles.alerts";

/// Producer limit under which [`too_large_when_enriched`] fits but its enriched record
/// does not (set it as the service producer's `message.max.bytes`).
pub const SMALL_MESSAGE_MAX: &str = "6000";

/// A ~3 KB article (key `big`) whose enriched record (body + entities + metadata) outgrows
/// [`SMALL_MESSAGE_MAX`] bytes.
pub fn too_large_when_enriched() -> Vec<u8> {
    let body = "Putin met Macron in Paris and Trump in Washington. ".repeat(60);
    serde_json::to_vec(&serde_json::json!({"id": "big", "body": body})).unwrap()
}

/// A record read back from the output or DLQ topic.
#[derive(Debug, Clone)]
pub struct Seen {
    pub topic: String,
    pub key: String,
    pub payload: Vec<u8>,
    pub headers: BTreeMap<String, String>,
    pub partition: i32,
    pub offset: i64,
}

impl Seen {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).expect("output record is JSON")
    }
}

/// Service configuration for tests against `brokers`.
pub fn test_config(brokers: &str, group: &str) -> Config {
    let mut c = Config::default();
    // The runtime tests exercise delivery, not the tagger: the fast tier keeps them quick.
    c.tagger.mode = newsflow::core::tag::Tier::Fast;
    c.kafka.brokers = brokers.to_string();
    c.kafka.group_id = group.to_string();
    c.kafka.fetch_wait_max_ms = 10;
    c.kafka.statistics_interval_ms = 500;
    c.pipeline.commit_interval_ms = 100;
    c.pipeline.shutdown_timeout_ms = 10_000;
    c.pipeline.rebalance_drain_timeout_ms = 5_000;
    c.pipeline.produce_retry_backoff_ms = 100;
    c.pipeline.workers = 2;
    c.pipeline.max_in_flight = 64;
    c.http.listen = String::new();
    c.kafka
        .consumer_properties
        .insert("session.timeout.ms".into(), "6000".into());
    c.kafka
        .consumer_properties
        .insert("heartbeat.interval.ms".into(), "500".into());
    c
}

/// A running in-process service instance.
pub struct Instance {
    pub telemetry: Arc<Telemetry>,
    pub stop: CancellationToken,
    pub task: JoinHandle<anyhow::Result<()>>,
}

impl Instance {
    pub fn start(config: Config) -> Instance {
        let ctx = Arc::new(newsflow::app::build_context(&config, None).unwrap());
        let app = newsflow::app::App::spawn(config, ctx, Arc::new(Telemetry::new()));
        Instance {
            telemetry: app.telemetry,
            stop: app.stop,
            task: app.task,
        }
    }

    /// Graceful stop; panics if the service returned an error.
    pub async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("service stops within 30 s")
            .expect("service task did not panic")
            .expect("service stopped without error");
    }

    /// Value of a metric line (`name` or `name{labels}`) from this instance's metrics.
    pub fn metric(&self, series: &str) -> f64 {
        metric_value(&self.telemetry.metrics.render(), series)
    }
}

/// Parses one series out of Prometheus text.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

pub fn producer(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "2")
        .create()
        .expect("test producer")
}

/// Produces `(key, payload)` pairs in order, with an `x-test` header on each. The test
/// producer is idempotent and re-sends a record whose delivery failed (fault tests inject
/// errors that hit it too; a failed delivery was not written), so each input is written once.
/// Each record is its own batch (a `send` is enqueued when awaited, and each is awaited
/// before the next): tansu 0.6 answers a fetch that starts inside a batch with the next
/// batch, so restart tests must not resume inside one.
pub async fn produce_all(brokers: &str, topic: &str, items: &[(String, Vec<u8>)]) {
    let p: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "2")
        .set("enable.idempotence", "true")
        .create()
        .expect("test producer");
    async fn send_one(
        p: &FutureProducer,
        topic: &str,
        k: &str,
        v: &[u8],
    ) -> rdkafka::producer::future_producer::OwnedDeliveryResult {
        let headers = OwnedHeaders::new().insert(Header {
            key: "x-test",
            value: Some(k),
        });
        let record = FutureRecord::to(topic).key(k).payload(v).headers(headers);
        p.send(record, Duration::from_secs(30)).await
    }
    let mut futures = Vec::with_capacity(items.len());
    for (k, v) in items {
        futures.push(send_one(&p, topic, k, v));
    }
    let mut failed = Vec::new();
    for (f, item) in futures.into_iter().zip(items) {
        if let Err((e, _)) = f.await {
            eprintln!("test produce failed ({e}); re-sending");
            failed.push(item);
        }
    }
    for (k, v) in failed {
        let mut attempt = 0;
        while let Err((e, _)) = send_one(&p, topic, k, v).await {
            attempt += 1;
            assert!(attempt < 20, "test produce keeps failing: {e}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

static READER_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A reader of `topics` from the beginning, in a group of its own.
pub fn reader(brokers: &str, topics: &[&str]) -> StreamConsumer {
    let n = READER_SEQ.fetch_add(1, Ordering::Relaxed);
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set(
            "group.id",
            format!("test-reader-{}-{n}", std::process::id()),
        )
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .set("isolation.level", "read_committed")
        .create()
        .expect("test reader");
    c.subscribe(topics).expect("subscribe");
    c
}

/// Reads until `done(&seen)` holds or `timeout` passes; returns everything read.
pub async fn read_until(
    reader: &StreamConsumer,
    timeout: Duration,
    mut done: impl FnMut(&[Seen]) -> bool,
) -> Vec<Seen> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while !done(&seen) {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        match tokio::time::timeout(remaining, reader.recv()).await {
            Ok(Ok(m)) => {
                let mut headers = BTreeMap::new();
                if let Some(h) = m.headers() {
                    for x in h.iter() {
                        headers.insert(
                            x.key.to_string(),
                            String::from_utf8_lossy(x.value.unwrap_or(&[])).into_owned(),
                        );
                    }
                }
                seen.push(Seen {
                    topic: m.topic().to_string(),
                    key: String::from_utf8_lossy(m.key().unwrap_or(&[])).into_owned(),
                    payload: m.payload().unwrap_or(&[]).to_vec(),
                    headers,
                    partition: m.partition(),
                    offset: m.offset(),
                });
            }
            // Injected request errors hit the test reader too: it just reads on.
            Ok(Err(e)) => eprintln!("reader error (retrying): {e}"),
            Err(_) => break,
        }
    }
    seen
}

/// Reads until every key of `expected` was seen (counting `already`), or `timeout`; returns
/// all keys seen, `already` included.
pub async fn read_keys_until_complete(
    reader: &StreamConsumer,
    expected: &std::collections::BTreeSet<String>,
    already: std::collections::BTreeSet<String>,
    timeout: Duration,
) -> std::collections::BTreeSet<String> {
    let rest = read_until(reader, timeout, |s| {
        let mut k = keys(s);
        k.extend(already.iter().cloned());
        expected.is_subset(&k)
    })
    .await;
    let mut got = already;
    got.extend(keys(&rest));
    got
}

/// Distinct keys seen.
pub fn keys(seen: &[Seen]) -> std::collections::BTreeSet<String> {
    seen.iter().map(|s| s.key.clone()).collect()
}

/// The output JSON Schema, compiled.
pub fn schema() -> jsonschema::Validator {
    let text = include_str!("../../../schema/enriched-article.v1.schema.json");
    let value: serde_json::Value = serde_json::from_str(text).expect("schema is JSON");
    jsonschema::validator_for(&value).expect("schema compiles")
}

/// Asserts a record validates against the schema and that entity offsets are consistent.
pub fn assert_valid_record(validator: &jsonschema::Validator, record: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(record)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "schema violations: {errors:?}\n{record:#}"
    );
    for e in record["entities"].as_array().unwrap() {
        let field = e["field"].as_str().unwrap();
        let text: Vec<char> = record[field].as_str().unwrap().chars().collect();
        let (s, t) = (
            e["start"].as_u64().unwrap() as usize,
            e["end"].as_u64().unwrap() as usize,
        );
        let surface: String = text[s..t].iter().collect();
        assert_eq!(
            surface,
            e["text"].as_str().unwrap(),
            "entity offsets match its text"
        );
    }
    let n_entities = record["entities"].as_array().unwrap().len();
    for h in record["watchlist_hits"].as_array().into_iter().flatten() {
        let field = h["field"].as_str().unwrap();
        let text: Vec<char> = record[field].as_str().unwrap().chars().collect();
        let (s, t) = (
            h["start"].as_u64().unwrap() as usize,
            h["end"].as_u64().unwrap() as usize,
        );
        let surface: String = text[s..t].iter().collect();
        assert_eq!(
            surface,
            h["text"].as_str().unwrap(),
            "hit offsets match its text"
        );
        if let Some(i) = h["entity"].as_u64() {
            assert!((i as usize) < n_entities, "hit points at an entity");
        }
    }
}

pub mod articles;
pub mod audit;
pub mod bench;
pub mod corpus;
pub mod mock;
pub mod service;
pub mod shared;
pub mod tansu;
pub mod tls;

pub use articles::article;

/// How many times each key was seen (output and DLQ together).
pub fn count_by_key(seen: &[Seen]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for s in seen {
        *m.entry(s.key.clone()).or_insert(0) += 1;
    }
    m
}

/// Reads until every expected key was seen, then keeps reading for `settle` to catch late
/// duplicates; returns everything read.
pub async fn read_all_expected(
    reader: &StreamConsumer,
    expected: &std::collections::BTreeSet<String>,
    timeout: Duration,
    settle: Duration,
) -> Vec<Seen> {
    let mut seen = read_until(reader, timeout, |s| {
        let k = keys(s);
        expected.iter().all(|e| k.contains(e))
    })
    .await;
    seen.extend(read_until(reader, settle, |_| false).await);
    seen
}

/// Asserts that output + DLQ hold every expected key (exactly once when `exactly_once`, at
/// least once otherwise) and nothing else.
pub fn assert_complete(
    seen: &[Seen],
    expected: &std::collections::BTreeSet<String>,
    exactly_once: bool,
    context: &str,
) {
    let counts = count_by_key(seen);
    let missing: Vec<&String> = expected
        .iter()
        .filter(|k| !counts.contains_key(*k))
        .collect();
    let unexpected: Vec<&String> = counts.keys().filter(|k| !expected.contains(*k)).collect();
    let dups: Vec<(&String, &usize)> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        missing.is_empty(),
        "{} of {} inputs missing, e.g. {:?}\n{context}",
        missing.len(),
        expected.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(
        unexpected.is_empty(),
        "unexpected records: {:?}\n{context}",
        &unexpected[..unexpected.len().min(10)]
    );
    if exactly_once {
        let detail: Vec<String> = dups
            .iter()
            .take(3)
            .flat_map(|(k, _)| {
                seen.iter().filter(move |s| &s.key == *k).map(|s| {
                    format!(
                        "{} {}[{}]@{} txn={}",
                        s.key,
                        s.topic,
                        s.partition,
                        s.offset,
                        s.headers
                            .get("newsflow-transaction")
                            .map_or("-", String::as_str)
                    )
                })
            })
            .collect();
        assert!(
            dups.is_empty(),
            "{} inputs seen more than once in read_committed, e.g. {:?}\n{detail:#?}\n{context}",
            dups.len(),
            &dups[..dups.len().min(10)]
        );
    }
}

/// Inputs `prefix0..prefixN`: articles, with every `bad_every`-th one invalid JSON (DLQ).
pub fn mixed_inputs(prefix: &str, n: usize, bad_every: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let payload = if bad_every > 0 && i % bad_every == bad_every - 1 {
                format!("{{\"id\": \"{prefix}{i}\", broken").into_bytes()
            } else {
                article(i)
            };
            (format!("{prefix}{i}"), payload)
        })
        .collect()
}

/// Reads until the read_committed view (see [`audit`]) holds every expected key, then keeps
/// reading for `settle`; returns the view. `committed` is asked again on every round.
pub async fn read_committed_view(
    reader: &StreamConsumer,
    expected: &std::collections::BTreeSet<String>,
    mut committed: impl FnMut() -> std::collections::HashSet<String>,
    timeout: Duration,
    settle: Duration,
    mut seen: Vec<Seen>,
) -> Vec<Seen> {
    let deadline = Instant::now() + timeout;
    loop {
        let view = audit::committed_view(&seen, &committed());
        let k = keys(&view);
        if expected.iter().all(|e| k.contains(e)) || Instant::now() > deadline {
            break;
        }
        seen.extend(read_until(reader, Duration::from_millis(500), |_| false).await);
    }
    seen.extend(read_until(reader, settle, |_| false).await);
    audit::committed_view(&seen, &committed())
}
