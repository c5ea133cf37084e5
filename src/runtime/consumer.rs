//! The consumer side: client context with rebalance handling (the delivery mode decides
//! what a revoke does), statistics (lag, broker state) and error reporting; and the guard
//! that closes the consumer without hanging.

use super::blocking::blocking;
use super::delivery::Delivery;
use crate::telemetry::Event;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::Duration;

/// The consumer type of the service.
pub type NewsflowConsumer = StreamConsumer<NewsflowConsumerContext>;

/// Partitions of `topic` in a rebalance's partition list.
fn partitions_of(tpl: &TopicPartitionList, topic: &str) -> Vec<i32> {
    tpl.elements()
        .iter()
        .filter(|e| e.topic() == topic)
        .map(|e| e.partition())
        .collect()
}

/// Bound on asking the coordinator for a new assignment's committed offsets (the start
/// positions that skipped offsets are judged from; without an answer the first message of
/// the assignment is not judged).
const COMMITTED_TIMEOUT: Duration = Duration::from_secs(2);

/// librdkafka client context of the consumer.
pub struct NewsflowConsumerContext {
    /// The delivery mode and its progress.
    pub delivery: Arc<Delivery>,
    /// Cancelled on a fatal error (exactly-once: a transaction that cannot end).
    pub fatal: tokio_util::sync::CancellationToken,
}

/// Owns the service's consumer and closes it when dropped (leave the group, release the
/// partitions), off the async threads and for at most `timeout`.
///
/// Dropping an rdkafka consumer closes it and polls until librdkafka reports it closed,
/// which never happens once the brokers are gone; the drop runs on a thread of its own, so
/// a stuck close is logged and left behind instead of hanging the service. This also holds
/// when the service future is dropped without its shutdown sequence (a task abort).
pub struct ClosingConsumer<C: Send + Sync + 'static> {
    consumer: Option<Arc<C>>,
    /// Bound on waiting for the close.
    pub timeout: Duration,
}

impl<C: Send + Sync + 'static> ClosingConsumer<C> {
    /// Takes ownership of the service's strong reference to `consumer`; everything else
    /// holds it only briefly (or weakly), so the close happens in [`Drop`].
    pub fn new(consumer: Arc<C>, timeout: Duration) -> Self {
        ClosingConsumer {
            consumer: Some(consumer),
            timeout,
        }
    }

    /// The consumer.
    pub fn get(&self) -> &Arc<C> {
        // Only `drop` takes it out.
        self.consumer.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl<C: Send + Sync + 'static> Drop for ClosingConsumer<C> {
    fn drop(&mut self) {
        let Some(consumer) = self.consumer.take() else {
            return;
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("newsflow-consumer-close".into())
            .spawn(move || {
                drop(consumer);
                let _ = tx.send(());
            });
        match spawned {
            Ok(_) => {
                if rx.recv_timeout(self.timeout).is_err() {
                    tracing::warn!(
                        timeout_ms = self.timeout.as_millis() as u64,
                        "the Kafka consumer did not close in time (brokers unreachable?); leaving it behind, the group will expire the membership"
                    );
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot start the consumer close thread"),
        }
    }
}

impl ClientContext for NewsflowConsumerContext {
    fn stats(&self, stats: Statistics) {
        let progress = self.delivery.progress();
        progress
            .telemetry
            .emit(super::clients::client_stats("consumer", &stats));
        let up = stats
            .brokers
            .values()
            .any(|b| b.nodeid >= 0 && b.state == "UP");
        progress.telemetry.broker_up(up);
        if let Some(topic) = stats.topics.get(&progress.input_topic) {
            progress.telemetry.emit(Event::TopicPartitions {
                topic: &progress.input_topic,
                partitions: topic
                    .partitions
                    .values()
                    .filter(|p| p.partition >= 0)
                    .count(),
            });
            for p in topic.partitions.values() {
                if p.partition < 0 || !p.desired {
                    continue;
                }
                let lag = if p.consumer_lag >= 0 {
                    p.consumer_lag
                } else if p.hi_offset >= 0 && p.app_offset >= 0 {
                    (p.hi_offset - p.app_offset).max(0)
                } else {
                    continue;
                };
                progress.telemetry.emit(Event::Lag {
                    partition: p.partition,
                    lag,
                });
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::AllBrokersDown)
        ) {
            self.delivery.progress().telemetry.broker_up(false);
        }
        tracing::warn!(error = %error, reason, "kafka consumer client error");
    }
}

impl ConsumerContext for NewsflowConsumerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let partitions = partitions_of(tpl, &self.delivery.progress().input_topic);
        if partitions.is_empty() {
            return;
        }
        if let Err(e) = self.delivery.revoke(consumer, &partitions) {
            tracing::error!(error = %e, ?partitions, "cannot end the transaction before revoke; stopping");
            self.fatal.cancel();
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let progress = self.delivery.progress();
        match rebalance {
            Rebalance::Assign(tpl) => {
                let partitions = partitions_of(tpl, &progress.input_topic);
                // Where each partition resumes, so that offsets skipped before the first
                // message are seen. Asked before the lock: it waits on the coordinator.
                let committed =
                    blocking(|| consumer.committed_offsets((*tpl).clone(), COMMITTED_TIMEOUT));
                {
                    let mut t = progress.tracker();
                    for p in &partitions {
                        t.assign(*p);
                    }
                    match &committed {
                        Ok(list) => {
                            for e in list.elements_for_topic(&progress.input_topic) {
                                if let Offset::Offset(o) = e.offset() {
                                    t.expect_from(e.partition(), o);
                                }
                            }
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "committed offsets unknown; the first messages of this assignment are not checked for skipped offsets")
                        }
                    }
                }
                tracing::info!(?partitions, "partitions assigned");
                progress.telemetry.health.assigned();
                progress.telemetry.emit(Event::Rebalance { assigned: true });
            }
            Rebalance::Revoke(_) => {
                progress.telemetry.health.revoked();
                progress
                    .telemetry
                    .emit(Event::Rebalance { assigned: false });
            }
            Rebalance::Error(e) => tracing::error!(error = %e, "rebalance error"),
        }
        if let Ok(assignment) = consumer.assignment() {
            progress.telemetry.emit(Event::Assigned {
                topic: &progress.input_topic,
                partitions: &partitions_of(&assignment, &progress.input_topic),
            });
        }
        let _ = progress.telemetry.report_ready();
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(e) = result {
            // Commits without new offsets report NoOffset: not an error for us.
            if !matches!(e, KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) {
                tracing::debug!(error = %e, "commit callback error");
            }
        }
    }
}
