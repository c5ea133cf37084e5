//! Typed internal events: what happened in the service. Each event is reported once,
//! through [`super::Telemetry::emit`], which updates its metrics and, for the events that
//! warrant a log line, writes it with a stable `event` field, so a log line and its metric
//! never disagree and tests assert on events rather than on message text.

use crate::core::tag::EntityType;
use crate::core::{RejectKind, StageTimings};
use std::time::Duration;

/// Something that happened in the service, reported to metrics.
#[derive(Debug)]
pub enum Event<'a> {
    /// A message was read from the input topic.
    Consumed {
        /// Payload size.
        bytes: usize,
    },
    /// The core enriched a message.
    Enriched {
        /// Stage timings.
        timings: StageTimings,
        /// Encode time.
        encode: Duration,
        /// Entity types found.
        entity_types: &'a [EntityType],
        /// Flagged as a duplicate of a recent article.
        duplicate: bool,
        /// The list of every watchlist hit.
        watchlist_hits: &'a [std::sync::Arc<str>],
    },
    /// A watchlist alert was acknowledged on the alerts topic.
    AlertSent,
    /// The alerts topic refused an alert (the enriched record still carries the hits).
    AlertRefused,
    /// Watchlists were reloaded (`ok`), or a reload failed validation and the old lists
    /// stay in force.
    WatchlistReload {
        /// Whether the new lists are in force.
        ok: bool,
        /// Entries now in force.
        entries: usize,
    },
    /// An enriched record was acknowledged by the broker.
    Produced {
        /// Input timestamp → ack, when the input had a timestamp.
        end_to_end: Option<Duration>,
    },
    /// A message was acknowledged on the DLQ.
    DeadLettered {
        /// Why.
        kind: RejectKind,
    },
    /// A produce failed and will be retried.
    ProduceRetry {
        /// `output` or `dlq`.
        target: &'static str,
    },
    /// An offset commit finished.
    Commit {
        /// Whether it succeeded.
        ok: bool,
    },
    /// Consumer lag of a partition from librdkafka statistics.
    Lag {
        /// Partition.
        partition: i32,
        /// Messages behind the high watermark.
        lag: i64,
    },
    /// A partition was revoked (its lag gauge is removed).
    PartitionRevoked {
        /// Partition.
        partition: i32,
    },
    /// Partitions of a topic this instance holds, after a rebalance.
    Assigned {
        /// The topic.
        topic: &'a str,
        /// The partitions held.
        partitions: &'a [i32],
    },
    /// The group assigned partitions to this member (`assigned`) or revoked them.
    Rebalance {
        /// Assign (true) or revoke (false).
        assigned: bool,
    },
    /// Partitions a topic has, from the client's metadata.
    TopicPartitions {
        /// The topic.
        topic: &'a str,
        /// Partitions in the metadata.
        partitions: usize,
    },
    /// Offsets of an input partition that were never delivered (logged with the range).
    OffsetGap {
        /// The topic.
        topic: &'a str,
        /// Partition.
        partition: i32,
        /// The offsets skipped (end exclusive).
        skipped: std::ops::Range<i64>,
    },
    /// librdkafka statistics of one client: cumulative counters since the client started,
    /// summed over its brokers, and the slowest broker's round trip.
    ClientStats {
        /// `consumer` or `producer`.
        client: &'static str,
        /// Requests re-sent (librdkafka `txretries`).
        retries: u64,
        /// Send and receive errors, error responses included (`txerrs` + `rxerrs`).
        errors: u64,
        /// Requests that timed out (`req_timeouts`).
        timeouts: u64,
        /// 99th percentile round trip of the slowest broker in the last window.
        rtt_p99: Duration,
    },
    /// An exactly-once transaction ended (logged: `transaction committed` / `aborted`).
    TransactionEnded {
        /// Committed, else aborted (its batch is processed again).
        committed: bool,
        /// The transaction's id (the `newsflow-transaction` header of its records).
        transaction: &'a str,
        /// Input messages in it.
        messages: usize,
        /// Committed offsets, `partition:offset,…` (empty when aborted).
        offsets: &'a str,
    },
    /// A transactional call failed with a retriable error and is retried (logged).
    TransactionRetry {
        /// The call (`commit_transaction`, …).
        call: &'a str,
        /// The error.
        error: &'a str,
    },
    /// Messages in flight changed.
    InFlight(i64),
    /// Readiness changed.
    Ready(bool),
}

impl Event<'_> {
    /// Stable name of the event, the `event` field of its log line.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Consumed { .. } => "consumed",
            Event::Enriched { .. } => "enriched",
            Event::AlertSent => "alert_sent",
            Event::AlertRefused => "alert_refused",
            Event::WatchlistReload { .. } => "watchlist_reload",
            Event::Produced { .. } => "produced",
            Event::DeadLettered { .. } => "dead_lettered",
            Event::ProduceRetry { .. } => "produce_retry",
            Event::Commit { .. } => "commit",
            Event::Lag { .. } => "lag",
            Event::PartitionRevoked { .. } => "partition_revoked",
            Event::Assigned { .. } => "assigned",
            Event::Rebalance { .. } => "rebalance",
            Event::TopicPartitions { .. } => "topic_partitions",
            Event::OffsetGap { .. } => "offset_gap",
            Event::ClientStats { .. } => "client_stats",
            Event::TransactionEnded {
                committed: true, ..
            } => "transaction_committed",
            Event::TransactionEnded { .. } => "transaction_aborted",
            Event::TransactionRetry { .. } => "transaction_retry",
            Event::InFlight(_) => "in_flight",
            Event::Ready(_) => "ready",
        }
    }

    /// Writes the event's log line, for the events that have one.
    pub(crate) fn log(&self) {
        let event = self.name();
        match self {
            Event::TransactionEnded {
                committed: true,
                transaction,
                messages,
                offsets,
            } => tracing::info!(
                event,
                transaction,
                offsets,
                messages,
                "transaction committed"
            ),
            Event::TransactionEnded {
                transaction,
                messages,
                ..
            } => tracing::warn!(event, transaction, messages, "transaction aborted"),
            Event::TransactionRetry { call, error } => {
                tracing::warn!(event, call, error, "{call} failed; retrying")
            }
            Event::OffsetGap {
                topic,
                partition,
                skipped,
            } => tracing::warn!(
                event,
                topic,
                partition,
                from = skipped.start,
                to = skipped.end - 1,
                count = skipped.end - skipped.start,
                "offsets {}..={} were never delivered (expected on compacted or transactional topics; else the broker skipped records)",
                skipped.start,
                skipped.end - 1
            ),
            _ => {}
        }
    }
}
