//! The consumer side: client context with rebalance handling (drain, commit, release),
//! statistics (lag, broker state) and error reporting.

use super::offsets::OffsetTracker;
use crate::telemetry::{Event, Telemetry};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// State shared by the consumer context, the dispatcher and the delivery tasks.
pub struct Shared {
    /// In-flight offsets per partition.
    pub tracker: Mutex<OffsetTracker>,
    /// Metrics and health.
    pub telemetry: Arc<Telemetry>,
    /// Input topic name.
    pub input_topic: String,
    /// Bound on waiting for in-flight work of revoked partitions.
    pub drain_timeout: Duration,
}

impl Shared {
    /// Locks the tracker; a poisoned lock (a panic elsewhere while holding it) is recovered,
    /// since the tracker's invariants hold between method calls.
    pub fn tracker(&self) -> MutexGuard<'_, OffsetTracker> {
        self.tracker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Builds a commit list for the input topic.
    pub fn commit_list(&self, commits: &[(i32, i64)]) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::with_capacity(commits.len());
        for (p, o) in commits {
            // add_partition_offset only fails for invalid offsets; ours are >= 0.
            let _ = tpl.add_partition_offset(&self.input_topic, *p, Offset::Offset(*o));
        }
        tpl
    }
}

/// Partitions of `topic` in a rebalance's partition list.
fn partitions_of(tpl: &TopicPartitionList, topic: &str) -> Vec<i32> {
    tpl.elements()
        .iter()
        .filter(|e| e.topic() == topic)
        .map(|e| e.partition())
        .collect()
}

/// librdkafka client context of the consumer.
pub struct NewsflowConsumerContext {
    /// Shared pipeline state.
    pub shared: Arc<Shared>,
    /// Exactly-once mode: the open transaction is ended before partitions are released.
    pub txn: Option<Arc<super::txn::Txn>>,
    /// Cancelled on a fatal error (exactly-once: a transaction that cannot end).
    pub fatal: tokio_util::sync::CancellationToken,
}

/// Runs a blocking closure on the current thread, telling tokio to move its other tasks
/// elsewhere meanwhile when on a multi-thread runtime.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Runs a blocking librdkafka call on a thread of its own and waits for it at most `timeout`;
/// `None` if it is still running then (the thread is left to finish, or to end with the
/// process).
///
/// librdkafka can block without end when the group coordinator stops answering: a
/// synchronous commit, and the close that dropping a consumer performs, retry the coordinator
/// look-up forever (confluentinc/librdkafka#3740). Such a call must hold up neither the
/// service's shutdown nor the tokio runtime's, which waits for every task of its blocking
/// pool; hence a plain thread rather than `spawn_blocking`.
pub async fn off_thread<R: Send + 'static>(
    name: &str,
    timeout: Duration,
    f: impl FnOnce() -> R + Send + 'static,
) -> Option<R> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, thread = name, "cannot start a thread for a Kafka call");
        return None;
    }
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(r)) => Some(r),
        _ => None,
    }
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
        let up = stats
            .brokers
            .values()
            .any(|b| b.nodeid >= 0 && b.state == "UP");
        self.shared.telemetry.broker_up(up);
        if let Some(topic) = stats.topics.get(&self.shared.input_topic) {
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
                self.shared.telemetry.emit(Event::Lag {
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
            self.shared.telemetry.broker_up(false);
        }
        tracing::warn!(error = %error, reason, "kafka consumer client error");
    }
}

impl ConsumerContext for NewsflowConsumerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let partitions = partitions_of(tpl, &self.shared.input_topic);
        if partitions.is_empty() {
            return;
        }
        if let Some(txn) = &self.txn {
            // Exactly-once: end (commit or abort) the open transaction while this member
            // still owns the partitions, so the next owner starts exactly where it ended.
            match blocking(|| txn.end(consumer, &partitions)) {
                Ok(ended) => tracing::info!(?partitions, ?ended, "transaction ended before revoke"),
                Err(e) => {
                    tracing::error!(error = %e, "cannot end the transaction before revoke; stopping");
                    self.fatal.cancel();
                }
            }
            txn.forget(&partitions);
            let mut t = self.shared.tracker();
            for p in &partitions {
                t.revoke(*p);
                self.shared
                    .telemetry
                    .emit(Event::PartitionRevoked { partition: *p });
            }
            tracing::info!(?partitions, "partitions revoked");
            return;
        }
        let wait = || {
            let deadline = Instant::now() + self.shared.drain_timeout;
            loop {
                let pending: usize = {
                    let t = self.shared.tracker();
                    partitions.iter().map(|p| t.pending(*p)).sum()
                };
                if pending == 0 {
                    return 0;
                }
                if Instant::now() >= deadline {
                    return pending;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        // Waiting blocks this thread; let tokio move its other tasks elsewhere meanwhile.
        let abandoned = blocking(wait);
        let commits: Vec<(i32, i64)> = {
            let mut t = self.shared.tracker();
            partitions
                .iter()
                .filter_map(|p| t.revoke(*p).map(|w| (*p, w)))
                .collect()
        };
        for p in &partitions {
            self.shared
                .telemetry
                .emit(Event::PartitionRevoked { partition: *p });
        }
        if !commits.is_empty() {
            // A synchronous commit waits on the coordinator: off the runtime's threads too.
            let list = self.shared.commit_list(&commits);
            let result = blocking(|| consumer.commit(&list, CommitMode::Sync));
            self.shared
                .telemetry
                .emit(Event::Commit { ok: result.is_ok() });
            if let Err(e) = result {
                tracing::warn!(error = %e, ?commits, "commit on revoke failed; the next owner re-reads from the last committed offset");
            }
        }
        if abandoned > 0 {
            tracing::warn!(
                ?partitions,
                abandoned,
                "partitions revoked with work still in flight; it will be re-processed by the next owner"
            );
        }
        tracing::info!(?partitions, ?commits, "partitions revoked");
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let partitions = partitions_of(tpl, &self.shared.input_topic);
                {
                    let mut t = self.shared.tracker();
                    for p in &partitions {
                        t.assign(*p);
                    }
                }
                tracing::info!(?partitions, "partitions assigned");
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => tracing::error!(error = %e, "rebalance error"),
        }
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
