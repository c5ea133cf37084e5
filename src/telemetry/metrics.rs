//! Prometheus metrics, updated from typed [`Event`]s in one place so that names and labels
//! stay consistent. Each service instance owns its registry (tests run several in a process).

use super::events::Event;
use crate::core::tag::EntityType;
use crate::core::{RejectKind, StageTimings};
use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// All newsflow metrics.
pub struct Metrics {
    registry: Registry,
    consumed: IntCounter,
    consumed_bytes: IntCounter,
    produced: IntCounter,
    dead_lettered: IntCounterVec,
    produce_retries: IntCounterVec,
    commits: IntCounterVec,
    duplicates: IntCounter,
    stage_seconds: HistogramVec,
    end_to_end: Histogram,
    in_flight: IntGauge,
    lag: IntGaugeVec,
    assigned_partitions: IntGaugeVec,
    topic_partitions: IntGaugeVec,
    offset_gaps: IntCounterVec,
    rebalances: IntCounterVec,
    entities: IntCounterVec,
    ready: IntGauge,
    watchlist_hits: IntCounterVec,
    watchlist_reload_errors: IntCounter,
    watchlist_entries: IntGauge,
    alerts: IntCounterVec,
    kafka_retries: IntCounterVec,
    kafka_errors: IntCounterVec,
    kafka_timeouts: IntCounterVec,
    kafka_rtt: GaugeVec,
    transactions: IntCounterVec,
    transaction_retries: IntCounter,
    /// Last cumulative (retries, errors, timeouts) per client, to count the increase.
    client_totals: Mutex<HashMap<&'static str, [u64; 3]>>,
}

/// Buckets for per-stage durations (10 µs … 1 s).
const STAGE_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 1.0,
];
/// Buckets for end-to-end latency (1 ms … 60 s).
const E2E_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

fn reg<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, m: T) -> T {
    // Registration only fails on duplicate names, which the constructor never creates.
    if let Err(e) = r.register(Box::new(m.clone())) {
        tracing::error!(error = %e, "metric registration failed");
    }
    m
}

impl Metrics {
    /// Creates and registers every metric (label values pre-created so series exist at 0).
    pub fn new() -> Metrics {
        let r = Registry::new();
        let counter = |name: &str, help: &str| {
            reg(
                &r,
                IntCounter::with_opts(Opts::new(name, help)).expect("valid metric opts"),
            )
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            reg(
                &r,
                IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric opts"),
            )
        };
        let m = Metrics {
            consumed: counter(
                "newsflow_consumed_total",
                "Messages read from the input topic.",
            ),
            consumed_bytes: counter(
                "newsflow_consumed_bytes_total",
                "Payload bytes read from the input topic.",
            ),
            produced: counter(
                "newsflow_produced_total",
                "Enriched records acknowledged by the broker.",
            ),
            dead_lettered: counter_vec(
                "newsflow_dead_lettered_total",
                "Messages acknowledged on the dead-letter topic, by reason.",
                &["reason"],
            ),
            produce_retries: counter_vec(
                "newsflow_produce_retries_total",
                "Produce attempts that failed with a transient error and were retried.",
                &["target"],
            ),
            commits: counter_vec(
                "newsflow_commits_total",
                "Offset commits, by result.",
                &["result"],
            ),
            duplicates: counter(
                "newsflow_duplicates_total",
                "Articles flagged as near-duplicates of a recent article.",
            ),
            stage_seconds: reg(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "newsflow_stage_duration_seconds",
                        "Time spent in each enrichment stage.",
                    )
                    .buckets(STAGE_BUCKETS.to_vec()),
                    &["stage"],
                )
                .expect("valid metric opts"),
            ),
            end_to_end: reg(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "newsflow_end_to_end_latency_seconds",
                        "Input message timestamp to broker acknowledgement of the output record.",
                    )
                    .buckets(E2E_BUCKETS.to_vec()),
                )
                .expect("valid metric opts"),
            ),
            in_flight: reg(
                &r,
                IntGauge::new(
                    "newsflow_in_flight",
                    "Messages consumed and not yet acknowledged by the broker.",
                )
                .expect("valid metric opts"),
            ),
            lag: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "newsflow_consumer_lag",
                        "Messages behind the partition high watermark (librdkafka statistics).",
                    ),
                    &["partition"],
                )
                .expect("valid metric opts"),
            ),
            assigned_partitions: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "newsflow_assigned_partitions",
                        "Partitions of the topic this instance holds in its consumer group.",
                    ),
                    &["topic"],
                )
                .expect("valid metric opts"),
            ),
            topic_partitions: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "newsflow_topic_partitions",
                        "Partitions the topic has (client metadata).",
                    ),
                    &["topic"],
                )
                .expect("valid metric opts"),
            ),
            offset_gaps: counter_vec(
                "newsflow_input_offset_gaps_total",
                "Input offsets never delivered: between consecutive messages of a partition, \
                 or between an assignment's committed position and its first message. \
                 Expected on compacted or transactional topics; else the broker skipped records.",
                &["partition"],
            ),
            rebalances: counter_vec(
                "newsflow_rebalances_total",
                "Consumer group rebalances seen by this instance: partitions assigned \
                 (kind=\"assign\", also on joining) or revoked (kind=\"revoke\").",
                &["kind"],
            ),
            entities: counter_vec(
                "newsflow_entities_total",
                "Entity mentions found, by type.",
                &["type"],
            ),
            ready: reg(
                &r,
                IntGauge::new(
                    "newsflow_ready",
                    "1 when /readyz answers 200: a broker reachable, a member of the consumer group, \
                     in-flight work moving, not shutting down.",
                )
                .expect("valid metric opts"),
            ),
            watchlist_hits: counter_vec(
                "newsflow_watchlist_hits_total",
                "Watchlist hits in enriched articles, by list.",
                &["list"],
            ),
            watchlist_reload_errors: counter(
                "newsflow_watchlist_reload_errors_total",
                "Watchlist reloads that failed validation (the old lists stay in force).",
            ),
            watchlist_entries: reg(
                &r,
                IntGauge::new("newsflow_watchlist_entries", "Watchlist entries in force.")
                    .expect("valid metric opts"),
            ),
            alerts: counter_vec(
                "newsflow_alerts_total",
                "Watchlist alerts: acknowledged on the alerts topic (sent) or refused by it.",
                &["result"],
            ),
            kafka_retries: counter_vec(
                "newsflow_kafka_request_retries_total",
                "Kafka requests re-sent by librdkafka, by client (statistics).",
                &["client"],
            ),
            kafka_errors: counter_vec(
                "newsflow_kafka_request_errors_total",
                "Kafka request send and receive errors, error responses included, by client.",
                &["client"],
            ),
            kafka_timeouts: counter_vec(
                "newsflow_kafka_request_timeouts_total",
                "Kafka requests that timed out, by client.",
                &["client"],
            ),
            kafka_rtt: reg(
                &r,
                GaugeVec::new(
                    Opts::new(
                        "newsflow_kafka_broker_rtt_seconds",
                        "99th percentile broker round trip of the slowest broker in the last statistics window, by client.",
                    ),
                    &["client"],
                )
                .expect("valid metric opts"),
            ),
            transactions: counter_vec(
                "newsflow_transactions_total",
                "Exactly-once transactions ended, by result (committed, aborted).",
                &["result"],
            ),
            transaction_retries: counter(
                "newsflow_transaction_retries_total",
                "Transactional calls retried after a retriable error.",
            ),
            client_totals: Mutex::new(HashMap::new()),
            registry: r,
        };
        let build = reg(
            &m.registry,
            IntGaugeVec::new(
                Opts::new("newsflow_build_info", "Build information; always 1."),
                &["version", "schema_version"],
            )
            .expect("valid metric opts"),
        );
        build
            .with_label_values(&[crate::VERSION, &crate::wire::SCHEMA_VERSION.to_string()])
            .set(1);
        for kind in RejectKind::ALL {
            m.dead_lettered.with_label_values(&[kind.as_str()]);
        }
        for t in EntityType::ALL {
            m.entities.with_label_values(&[t.as_str()]);
        }
        for stage in ["decode", "normalize", "tag", "encode"] {
            m.stage_seconds.with_label_values(&[stage]);
        }
        for result in ["sent", "refused"] {
            m.alerts.with_label_values(&[result]);
        }
        for target in ["output", "dlq", "alert"] {
            m.produce_retries.with_label_values(&[target]);
        }
        for result in ["ok", "error"] {
            m.commits.with_label_values(&[result]);
        }
        for result in ["committed", "aborted"] {
            m.transactions.with_label_values(&[result]);
        }
        for client in ["consumer", "producer"] {
            m.kafka_retries.with_label_values(&[client]);
            m.kafka_errors.with_label_values(&[client]);
            m.kafka_timeouts.with_label_values(&[client]);
        }
        #[cfg(target_os = "linux")]
        {
            let pc = prometheus::process_collector::ProcessCollector::for_self();
            if let Err(e) = m.registry.register(Box::new(pc)) {
                tracing::warn!(error = %e, "process metrics unavailable");
            }
        }
        m
    }

    /// Applies one event.
    pub fn emit(&self, event: Event<'_>) {
        match event {
            Event::Consumed { bytes } => {
                self.consumed.inc();
                self.consumed_bytes.inc_by(bytes as u64);
            }
            Event::Enriched {
                timings,
                encode,
                entity_types,
                duplicate,
                watchlist_hits,
            } => self.record_enriched(timings, encode, entity_types, duplicate, watchlist_hits),
            Event::Produced { end_to_end } => {
                self.produced.inc();
                if let Some(d) = end_to_end {
                    self.end_to_end.observe(d.as_secs_f64());
                }
            }
            Event::DeadLettered { kind } => {
                self.dead_lettered.with_label_values(&[kind.as_str()]).inc()
            }
            Event::ProduceRetry { target } => {
                self.produce_retries.with_label_values(&[target]).inc()
            }
            Event::Commit { ok } => self
                .commits
                .with_label_values(&[if ok { "ok" } else { "error" }])
                .inc(),
            Event::Lag { partition, lag } => self
                .lag
                .with_label_values(&[&partition.to_string()])
                .set(lag),
            Event::PartitionRevoked { partition } => {
                let _ = self.lag.remove_label_values(&[&partition.to_string()]);
            }
            Event::Assigned { topic, partitions } => {
                self.assigned_partitions
                    .with_label_values(&[topic])
                    .set(i64::try_from(partitions.len()).unwrap_or(i64::MAX));
                // The gap counters of held partitions exist from 0, so that `increase`
                // sees their first gap.
                for p in partitions {
                    self.offset_gaps.with_label_values(&[&p.to_string()]);
                }
            }
            Event::Rebalance { assigned } => self
                .rebalances
                .with_label_values(&[if assigned { "assign" } else { "revoke" }])
                .inc(),
            Event::TopicPartitions { topic, partitions } => self
                .topic_partitions
                .with_label_values(&[topic])
                .set(i64::try_from(partitions).unwrap_or(i64::MAX)),
            Event::OffsetGap {
                partition, skipped, ..
            } => self
                .offset_gaps
                .with_label_values(&[&partition.to_string()])
                .inc_by(u64::try_from(skipped.end - skipped.start).unwrap_or(0)),
            Event::ClientStats {
                client,
                retries,
                errors,
                timeouts,
                rtt_p99,
            } => self.record_client_stats(client, [retries, errors, timeouts], rtt_p99),
            Event::TransactionEnded { committed, .. } => self
                .transactions
                .with_label_values(&[if committed { "committed" } else { "aborted" }])
                .inc(),
            Event::TransactionRetry { .. } => self.transaction_retries.inc(),
            Event::InFlight(n) => self.in_flight.set(n),
            Event::Ready(r) => self.ready.set(i64::from(r)),
            Event::AlertSent => self.alerts.with_label_values(&["sent"]).inc(),
            Event::AlertRefused => self.alerts.with_label_values(&["refused"]).inc(),
            Event::WatchlistReload { ok, entries } => {
                if ok {
                    self.watchlist_entries
                        .set(i64::try_from(entries).unwrap_or(i64::MAX));
                } else {
                    self.watchlist_reload_errors.inc();
                }
            }
        }
    }

    /// An enriched article: watchlist hits, duplicates, stage times, entity types.
    fn record_enriched(
        &self,
        timings: StageTimings,
        encode: Duration,
        entity_types: &[EntityType],
        duplicate: bool,
        watchlist_hits: &[std::sync::Arc<str>],
    ) {
        for list in watchlist_hits {
            self.watchlist_hits
                .with_label_values(&[list.as_ref()])
                .inc();
        }
        if duplicate {
            self.duplicates.inc();
        }
        let s = &self.stage_seconds;
        s.with_label_values(&["decode"])
            .observe(timings.decode_us as f64 / 1e6);
        s.with_label_values(&["normalize"])
            .observe(timings.normalize_us as f64 / 1e6);
        s.with_label_values(&["tag"])
            .observe(timings.tag_us as f64 / 1e6);
        s.with_label_values(&["encode"])
            .observe(encode.as_secs_f64());
        for t in entity_types {
            self.entities.with_label_values(&[t.as_str()]).inc();
        }
    }

    /// librdkafka's cumulative request counters (`[retries, errors, timeouts]`) as
    /// counter increases since the last report, and the broker round trip.
    fn record_client_stats(&self, client: &'static str, now: [u64; 3], rtt_p99: Duration) {
        let before = {
            let mut totals = self.client_totals.lock().unwrap_or_else(|p| p.into_inner());
            totals.insert(client, now).unwrap_or_default()
        };
        for (counter, (n, b)) in [
            &self.kafka_retries,
            &self.kafka_errors,
            &self.kafka_timeouts,
        ]
        .into_iter()
        .zip(now.into_iter().zip(before))
        {
            // A restarted client starts from zero again.
            let increase = if n >= b { n - b } else { n };
            counter.with_label_values(&[client]).inc_by(increase);
        }
        self.kafka_rtt
            .with_label_values(&[client])
            .set(rtt_p99.as_secs_f64());
    }

    /// The Prometheus text exposition of all metrics.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut buf) {
            return format!("# metrics encoding failed: {e}\n");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_update_named_metrics() {
        let m = Metrics::new();
        m.emit(Event::Consumed { bytes: 10 });
        m.emit(Event::DeadLettered {
            kind: RejectKind::MalformedJson,
        });
        m.emit(Event::Lag {
            partition: 2,
            lag: 7,
        });
        let text = m.render();
        assert!(text.contains("newsflow_consumed_total 1"));
        assert!(text.contains("newsflow_dead_lettered_total{reason=\"malformed_json\"} 1"));
        assert!(text.contains("newsflow_dead_lettered_total{reason=\"oversize\"} 0"));
        assert!(text.contains("newsflow_consumer_lag{partition=\"2\"} 7"));
        assert!(text.contains("newsflow_build_info{"));
        m.emit(Event::PartitionRevoked { partition: 2 });
        assert!(!m
            .render()
            .contains("newsflow_consumer_lag{partition=\"2\"}"));
    }
}
