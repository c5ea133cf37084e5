//! `newsflow redrive`: moves dead-lettered records back to the raw topic after a fix.
//!
//! Reads the DLQ from this redrive's committed position (per filter: the consumer group is
//! `<group_id>-redrive-<kinds or "all">`) up to the end seen at start, re-publishes the
//! original key, payload and headers (without the `newsflow-` DLQ headers) of every record
//! whose `newsflow-error-kind` matches the filter, and commits the DLQ offsets once the raw
//! topic acknowledged them. Records whose payload was omitted (too large for the DLQ) are
//! reported, not re-driven. `--dry-run` only counts.

use crate::config::Config;
use crate::runtime::clients::{kafka_client_config, Role};
use crate::wire::headers;
use anyhow::Context as _;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What to re-drive.
#[derive(Debug, Clone, Default)]
pub struct RedriveOptions {
    /// Error kinds to re-drive; empty means all.
    pub kinds: Vec<String>,
    /// Count only: produce and commit nothing.
    pub dry_run: bool,
    /// Stop after this many re-driven records.
    pub max: Option<usize>,
}

/// Counts of one run, per error kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedriveReport {
    /// Records re-published (or that would be, in a dry run).
    pub redriven: BTreeMap<String, usize>,
    /// Records not matching the filter.
    pub skipped: BTreeMap<String, usize>,
    /// Records whose payload was omitted from the DLQ (cannot be re-driven).
    pub omitted: usize,
}

/// The consumer group a filter uses (one per filter, so each keeps its own position).
pub fn group_for(config: &Config, kinds: &[String]) -> String {
    let mut k: Vec<&str> = kinds.iter().map(String::as_str).collect();
    k.sort_unstable();
    k.dedup();
    let tag = if k.is_empty() {
        "all".to_string()
    } else {
        k.join("+")
    };
    format!("{}-redrive-{tag}", config.kafka.group_id)
}

fn header<'a>(m: &'a impl Message, name: &str) -> Option<&'a [u8]> {
    m.headers()
        .and_then(|h| h.iter().find(|x| x.key == name).and_then(|x| x.value))
}

/// Runs a redrive against the configured cluster.
pub async fn redrive(config: &Config, opts: &RedriveOptions) -> anyhow::Result<RedriveReport> {
    for k in &opts.kinds {
        anyhow::ensure!(
            crate::core::RejectKind::parse(k).is_some(),
            "unknown error kind `{k}` (expected one of: {})",
            crate::core::RejectKind::ALL.map(|k| k.as_str()).join(", ")
        );
    }
    let k = &config.kafka;
    let group = group_for(config, &opts.kinds);
    let consumer: BaseConsumer =
        kafka_client_config(config, Role::RedriveConsumer { group: &group })?
            .create()
            .context("creating the DLQ consumer")?;
    let (assign, mut ends) = positions(&consumer, &k.dlq_topic)?;
    let mut report = RedriveReport::default();
    if ends.is_empty() {
        return Ok(report);
    }
    consumer
        .assign(&assign)
        .context("assigning DLQ partitions")?;
    let producer: FutureProducer = kafka_client_config(config, Role::RedriveProducer)?
        .create()
        .context("creating the producer")?;
    let mut pending = Vec::new();
    let mut next_offsets: BTreeMap<i32, i64> = BTreeMap::new();
    let mut idle_since = Instant::now();
    let mut done_count = 0usize;
    while !ends.is_empty() {
        let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
            anyhow::ensure!(
                idle_since.elapsed() < Duration::from_secs(30),
                "no DLQ records arrived for 30 s before reaching the end"
            );
            continue;
        };
        idle_since = Instant::now();
        let msg = msg.context("reading the DLQ")?;
        let (p, o) = (msg.partition(), msg.offset());
        let kind = header(&msg, headers::ERROR_KIND)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_else(|| "unknown".into());
        let matches = opts.kinds.is_empty() || opts.kinds.contains(&kind);
        if !matches {
            *report.skipped.entry(kind).or_default() += 1;
        } else if header(&msg, headers::PAYLOAD_OMITTED).is_some() {
            report.omitted += 1;
            tracing::warn!(
                partition = p,
                offset = o,
                "payload omitted from the DLQ record; not re-driven"
            );
        } else {
            *report.redriven.entry(kind).or_default() += 1;
            done_count += 1;
            if !opts.dry_run {
                pending.push(republish(&producer, &k.input_topic, &msg).await?);
            }
        }
        next_offsets.insert(p, o + 1);
        if ends.get(&p).is_some_and(|end| o + 1 >= *end) {
            ends.remove(&p);
        }
        if opts.max.is_some_and(|m| done_count >= m) {
            break;
        }
    }
    for f in pending {
        match f.await {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => anyhow::bail!("re-publishing to {}: {e}", k.input_topic),
            Err(_) => anyhow::bail!("re-publishing to {}: delivery cancelled", k.input_topic),
        }
    }
    if !opts.dry_run && !next_offsets.is_empty() {
        commit_positions(&consumer, &k.dlq_topic, &next_offsets)?;
    }
    Ok(report)
}

/// Where to read each DLQ partition: from the redrive group's committed position (else
/// the beginning) to the end seen now. Returns the assignment and the end of each
/// partition that has records to read.
fn positions(
    consumer: &BaseConsumer,
    topic: &str,
) -> anyhow::Result<(TopicPartitionList, BTreeMap<i32, i64>)> {
    let timeout = Duration::from_secs(10);
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .with_context(|| format!("fetching metadata of {topic}"))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    anyhow::ensure!(!partitions.is_empty(), "topic {topic} has no partitions");
    let mut wanted = TopicPartitionList::new();
    for p in &partitions {
        wanted.add_partition(topic, *p);
    }
    let committed = consumer
        .committed_offsets(wanted, timeout)
        .context("reading the redrive group's committed offsets")?;
    let mut assign = TopicPartitionList::new();
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    for p in &partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, *p, timeout)
            .with_context(|| format!("watermarks of {topic}/{p}"))?;
        let start = match committed.find_partition(topic, *p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) if o >= low => o,
            _ => low,
        };
        if start < high {
            ends.insert(*p, high);
            assign.add_partition_offset(topic, *p, Offset::Offset(start))?;
        }
    }
    Ok((assign, ends))
}

/// Queues a DLQ record's original key, payload and headers (without newsflow's DLQ
/// headers) for `topic`, waiting while the producer's queue is full.
async fn republish(
    producer: &FutureProducer,
    topic: &str,
    msg: &BorrowedMessage<'_>,
) -> anyhow::Result<DeliveryFuture> {
    let mut h = OwnedHeaders::new();
    if let Some(orig) = msg.headers() {
        for x in orig.iter().filter(|x| !x.key.starts_with(headers::PREFIX)) {
            h = h.insert(Header {
                key: x.key,
                value: x.value,
            });
        }
    }
    let mut record = FutureRecord::to(topic)
        .payload(msg.payload().unwrap_or(&[]))
        .headers(h);
    if let Some(key) = msg.key() {
        record = record.key(key);
    }
    // send_result copies the record into librdkafka's queue; wait when it is full.
    loop {
        match producer.send_result(record) {
            Ok(delivery) => return Ok(delivery),
            Err((e, r)) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                record = r;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err((e, _)) => anyhow::bail!("re-publishing to {topic}: {e}"),
        }
    }
}

/// Commits the next offset of each partition read, synchronously.
fn commit_positions(
    consumer: &BaseConsumer,
    topic: &str,
    next_offsets: &BTreeMap<i32, i64>,
) -> anyhow::Result<()> {
    let mut tpl = TopicPartitionList::new();
    for (p, o) in next_offsets {
        tpl.add_partition_offset(topic, *p, Offset::Offset(*o))?;
    }
    consumer
        .commit(&tpl, CommitMode::Sync)
        .context("committing the redrive position")
}
