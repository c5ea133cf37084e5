//! The service's settings, resolved once from the configuration: topics, bounds and every
//! `*_ms` value as a `Duration`.

use crate::config::{Config, DeliveryMode};
use std::time::Duration;

/// Exactly-once settings (`pipeline.transaction_*`).
#[derive(Debug, Clone)]
pub struct TxnSettings {
    /// `transactional.id` of this instance.
    pub transactional_id: String,
    /// Messages after which a transaction ends.
    pub max_messages: usize,
    /// Time after its first message at which a transaction ends.
    pub max_time: Duration,
    /// Bound on one transactional call (retriable errors are retried within it).
    pub op_timeout: Duration,
    /// Bound on waiting for a transaction's messages before ending it.
    pub drain_timeout: Duration,
    /// Also commit the committed offsets through the consumer (for lag tools).
    pub mirror_offsets: bool,
}

/// Everything the service reads from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Raw articles.
    pub input_topic: String,
    /// Enriched records.
    pub output_topic: String,
    /// Dead letters.
    pub dlq_topic: String,
    /// Watchlist alerts, if configured.
    pub alerts_topic: Option<String>,
    /// Exactly-once settings; `None` in at-least-once mode.
    pub exactly_once: Option<TxnSettings>,
    /// CPU workers.
    pub workers: usize,
    /// Bound on messages in flight (consumed, not yet finished).
    pub max_in_flight: usize,
    /// Forward payloads unchanged (benchmarking the Kafka I/O only).
    pub passthrough: bool,
    /// At-least-once: interval of offset commits.
    pub commit_interval: Duration,
    /// Bound on the whole shutdown.
    pub shutdown_timeout: Duration,
    /// Bound on waiting for revoked partitions' work.
    pub drain_timeout: Duration,
    /// Wait between produce retries.
    pub retry_backoff: Duration,
    /// In-flight work that does not move for this long fails readiness (zero: never).
    pub stall_timeout: Duration,
    /// Watchlist files to reload on change.
    pub watchlist_files: Vec<String>,
    /// Poll interval of the watchlist files (zero: SIGHUP only).
    pub watchlist_reload_interval: Duration,
}

impl Settings {
    /// Resolves the service's settings.
    pub fn new(config: &Config) -> Settings {
        let k = &config.kafka;
        let p = &config.pipeline;
        let ms = Duration::from_millis;
        let exactly_once = (k.delivery == DeliveryMode::ExactlyOnce).then(|| TxnSettings {
            transactional_id: config.transactional_id().unwrap_or_default(),
            max_messages: p.transaction_max_messages,
            max_time: ms(p.transaction_max_ms),
            op_timeout: ms(p.transaction_op_timeout_ms),
            drain_timeout: ms(p.rebalance_drain_timeout_ms),
            mirror_offsets: p.transaction_mirror_offsets,
        });
        Settings {
            input_topic: k.input_topic.clone(),
            output_topic: k.output_topic.clone(),
            dlq_topic: k.dlq_topic.clone(),
            alerts_topic: (!k.alerts_topic.is_empty()).then(|| k.alerts_topic.clone()),
            exactly_once,
            workers: p.effective_workers(),
            max_in_flight: p.max_in_flight,
            passthrough: p.passthrough,
            commit_interval: ms(p.commit_interval_ms),
            shutdown_timeout: ms(p.shutdown_timeout_ms),
            drain_timeout: ms(p.rebalance_drain_timeout_ms),
            retry_backoff: ms(p.produce_retry_backoff_ms),
            stall_timeout: ms(p.stall_timeout_ms),
            watchlist_files: config.watchlists.files.clone(),
            watchlist_reload_interval: ms(config.watchlists.reload_interval_ms),
        }
    }
}
