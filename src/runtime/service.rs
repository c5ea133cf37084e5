//! The service: one type that owns the Kafka clients, the delivery mode, the worker pool and
//! the watchlist reloader. [`Service::start`] builds it from settings resolved once;
//! [`Service::run`] consumes until a stop signal (or a fatal error) and then shuts down as a
//! phase of its own, bounded by `pipeline.shutdown_timeout_ms`: stop fetching, release the
//! queued work not yet started, finish the messages being processed, flush, commit (or end
//! the last transaction), leave the group.

use super::blocking::blocking;
use super::clients::{kafka_client_config, ProducerClientContext, Role};
use super::consumer::{ClosingConsumer, NewsflowConsumer, NewsflowConsumerContext};
use super::delivery::{Delivery, COMMIT_TIMEOUT_MIN};
use super::progress::Progress;
use super::settings::Settings;
use super::sink::{Job, Sink};
use super::txn::Txn;
use super::workers::WorkerPool;
use crate::config::Config;
use crate::core::Context;
use crate::telemetry::{Event, Telemetry};
use anyhow::Context as _;
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::producer::Producer as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_util::sync::{CancellationToken, DropGuard};

/// A started newsflow instance.
pub struct Service {
    settings: Settings,
    telemetry: Arc<Telemetry>,
    delivery: Arc<Delivery>,
    sink: Arc<Sink>,
    pool: WorkerPool,
    /// Bounds consumed, unfinished messages: when it is exhausted the consumer stops
    /// fetching.
    in_flight: Arc<Semaphore>,
    /// Cancelled on a fatal producer or transaction error: the service stops, exit non-zero.
    fatal: CancellationToken,
    /// Cancelled when the shutdown deadline passed (or the service is dropped): deliveries
    /// give up, their offsets stay uncommitted.
    abort: CancellationToken,
    /// Cancelled when the shutdown begins: workers release queued jobs unprocessed.
    stopping: CancellationToken,
    _abort_on_drop: DropGuard,
    _reload_stop_on_drop: DropGuard,
    /// Last: closing the consumer (leaving the group) is the last thing a drop does.
    consumer: ClosingConsumer<NewsflowConsumer>,
}

impl Service {
    /// Creates the clients (initializing transactions in exactly-once mode), subscribes,
    /// and starts the workers and the watchlist reloader.
    pub async fn start(
        config: &Config,
        ctx: Arc<Context>,
        telemetry: Arc<Telemetry>,
    ) -> anyhow::Result<Service> {
        let settings = Settings::new(config);
        let progress = Arc::new(Progress::new(
            settings.input_topic.clone(),
            telemetry.clone(),
        ));
        // An instance holds nothing until the group assigns it partitions: the series
        // exists at 0, so the sum over instances counts it.
        telemetry.emit(Event::Assigned {
            topic: &settings.input_topic,
            partitions: &[],
        });
        telemetry.health.set_stall_after(settings.stall_timeout);
        let producer: Arc<super::clients::Producer> = Arc::new(
            kafka_client_config(config, Role::Producer)?
                .create_with_context(ProducerClientContext {
                    telemetry: telemetry.clone(),
                })
                .context("creating the Kafka producer")?,
        );
        let delivery = Self::delivery(&settings, producer.clone(), progress).await?;
        let delivery = Arc::new(delivery);
        let fatal = CancellationToken::new();
        let consumer = Self::subscribe(config, &settings, delivery.clone(), fatal.clone())?;
        let abort = CancellationToken::new();
        let stopping = CancellationToken::new();
        let sink = Arc::new(Sink {
            stopping: stopping.clone(),
            producer,
            delivery: delivery.clone(),
            output_topic: settings.output_topic.clone(),
            dlq_topic: settings.dlq_topic.clone(),
            alerts_topic: settings.alerts_topic.clone(),
            retry_backoff: settings.retry_backoff,
            abort: abort.clone(),
            fatal: fatal.clone(),
        });
        let reload_stop = CancellationToken::new();
        tokio::spawn(super::reload::watch(
            settings.watchlist_files.clone(),
            settings.watchlist_reload_interval,
            ctx.watchlists.clone(),
            telemetry.clone(),
            reload_stop.clone(),
        ));
        let pool = WorkerPool::start(
            settings.workers,
            settings.max_in_flight,
            ctx,
            sink.clone(),
            tokio::runtime::Handle::current(),
            settings.passthrough,
        )?;
        log_started(config, &settings);
        Ok(Service {
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight)),
            settings,
            telemetry,
            delivery,
            sink,
            pool,
            fatal,
            _abort_on_drop: abort.clone().drop_guard(),
            abort,
            stopping,
            _reload_stop_on_drop: reload_stop.drop_guard(),
            consumer,
        })
    }

    /// The delivery mode: exactly-once initializes transactions first (blocking calls,
    /// off the async threads).
    async fn delivery(
        settings: &Settings,
        producer: Arc<super::clients::Producer>,
        progress: Arc<Progress>,
    ) -> anyhow::Result<Delivery> {
        Ok(match settings.exactly_once.clone() {
            Some(txn_settings) => {
                let shared = progress.clone();
                let tid = txn_settings.transactional_id.clone();
                let txn =
                    tokio::task::spawn_blocking(move || Txn::init(txn_settings, producer, shared))
                        .await
                        .context("initializing transactions")??;
                tracing::info!(
                    transactional_id = tid,
                    "exactly-once mode: transactions initialized"
                );
                Delivery::exactly_once(progress, txn, settings.drain_timeout)
            }
            None => Delivery::at_least_once(progress, settings.drain_timeout),
        })
    }

    /// The consumer, subscribed to the input topic. The one lasting strong reference: the
    /// consumer is closed, with a bound, when this guard drops, whether at the end of the
    /// shutdown or when the service is dropped.
    fn subscribe(
        config: &Config,
        settings: &Settings,
        delivery: Arc<Delivery>,
        fatal: CancellationToken,
    ) -> anyhow::Result<ClosingConsumer<NewsflowConsumer>> {
        let consumer: ClosingConsumer<NewsflowConsumer> = ClosingConsumer::new(
            Arc::new(
                kafka_client_config(config, Role::Consumer)?
                    .create_with_context(NewsflowConsumerContext { delivery, fatal })
                    .context("creating the Kafka consumer")?,
            ),
            settings.shutdown_timeout,
        );
        consumer
            .get()
            .subscribe(&[&settings.input_topic])
            .with_context(|| format!("subscribing to {}", settings.input_topic))?;
        Ok(consumer)
    }

    /// Consumes until `shutdown` is cancelled (or a fatal error), then shuts down. `Err`
    /// means the service failed (exit non-zero).
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let commit_stop = CancellationToken::new();
        // Dropping this future (a task abort) stops the commit loop too.
        let _commit_stop_on_drop = commit_stop.clone().drop_guard();
        let committer = self.delivery.committer(
            Arc::downgrade(self.consumer.get()),
            self.settings.commit_interval,
            commit_stop.clone(),
        );
        self.consume(&shutdown).await;
        self.shut_down(committer, commit_stop).await
    }

    /// The consume loop: ends the open transaction when due, takes an in-flight slot,
    /// receives, registers the message with the delivery mode and hands it to a worker.
    async fn consume(&self, shutdown: &CancellationToken) {
        let consumer = self.consumer.get();
        loop {
            if let Err(e) = blocking(|| self.delivery.end_batch_if_due(consumer.as_ref())) {
                tracing::error!(error = %e, "stopping");
                self.fatal.cancel();
                return;
            }
            let batch_deadline = self.delivery.batch_deadline();
            let batch_due = async move {
                match batch_deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(batch_due);
            let permit = tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.fatal.cancelled() => return,
                permit = self.in_flight.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let msg = tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.fatal.cancelled() => return,
                () = &mut batch_due => continue,
                msg = consumer.recv() => msg,
            };
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "consume error");
                    drop(permit);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let (partition, offset) = (msg.partition(), msg.offset());
            let (ticket, running) = match self.delivery.consumed(partition, offset) {
                Ok(x) => x,
                Err(e) => {
                    tracing::error!(error = %e, partition, offset, "stopping");
                    self.fatal.cancel();
                    return;
                }
            };
            let payload = msg.payload().unwrap_or(&[]).to_vec();
            self.telemetry.emit(Event::Consumed {
                bytes: payload.len(),
            });
            self.telemetry.emit(Event::InFlight(running as i64));
            let span = tracing::info_span!("message", topic = %msg.topic(), partition, offset);
            let job = Job {
                key: msg.key().map(<[u8]>::to_vec),
                headers: msg.headers().map(rdkafka::message::BorrowedHeaders::detach),
                timestamp_ms: msg.timestamp().to_millis(),
                payload,
                ticket,
                permit,
                span,
            };
            drop(msg);
            if let Err(job) = self.pool.submit(job) {
                // Workers are gone (cannot happen while the pool lives): do not commit it.
                tracing::error!(
                    partition,
                    offset = job.ticket.offset,
                    "worker pool closed; stopping"
                );
                return;
            }
        }
    }

    /// The shutdown phase: stop fetching, drain in-flight work, flush, commit, leave.
    async fn shut_down(
        self,
        committer: Option<tokio::task::JoinHandle<()>>,
        commit_stop: CancellationToken,
    ) -> anyhow::Result<()> {
        self.telemetry.health.set_shutting_down();
        let _ = self.telemetry.report_ready();
        // At-least-once: work not started yet is released, to be read again after the
        // restart. Exactly-once keeps it: a transaction cannot commit with a released
        // message in it, and aborting would throw away the finished part of the batch.
        if self.settings.exactly_once.is_none() {
            self.stopping.cancel();
        }
        let deadline = Instant::now() + self.settings.shutdown_timeout;
        let in_flight = self.delivery.progress().tracker().running();
        tracing::info!(
            in_flight,
            "shutting down: finishing the messages being processed"
        );
        if !self.delivery.drain(deadline).await {
            let left = self.delivery.progress().tracker().running();
            tracing::warn!(
                left,
                "shutdown deadline reached; unfinished messages will be re-read after restart"
            );
            self.abort.cancel();
        }
        self.pool.stop().await;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if let Err(e) = self
            .sink
            .producer
            .flush(remaining.max(Duration::from_millis(100)))
        {
            tracing::warn!(error = %e, "producer flush incomplete");
        }
        commit_stop.cancel();
        if let Some(task) = committer {
            let left = deadline.saturating_duration_since(Instant::now());
            if tokio::time::timeout(left.max(COMMIT_TIMEOUT_MIN), task)
                .await
                .is_err()
            {
                tracing::warn!(
                    "the commit loop did not stop in time (a commit is stuck); going on"
                );
            }
        }
        if !self.fatal.is_cancelled() {
            if let Err(e) = self
                .delivery
                .finish(self.consumer.get().clone(), deadline)
                .await
            {
                tracing::error!(error = %e, "last transaction failed");
                self.fatal.cancel();
            }
        }
        let consumer = self.consumer.get().clone();
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(COMMIT_TIMEOUT_MIN);
        if super::blocking::off_thread("newsflow-unsubscribe", left, move || consumer.unsubscribe())
            .await
            .is_none()
        {
            tracing::warn!("leaving the group did not finish in time (brokers unreachable?)");
        }
        let fatal = self.fatal.is_cancelled();
        let mut closing = self.consumer;
        closing.timeout = deadline
            .saturating_duration_since(Instant::now())
            .max(COMMIT_TIMEOUT_MIN);
        blocking(move || drop(closing));
        if fatal {
            anyhow::bail!("stopped after a fatal Kafka producer or transaction error");
        }
        tracing::info!("newsflow stopped cleanly");
        Ok(())
    }
}

/// The start-up log lines: where the service reads and writes, and how.
fn log_started(config: &Config, settings: &Settings) {
    if settings.passthrough {
        tracing::warn!(
            "pipeline.passthrough is on: payloads are forwarded unchanged (benchmarking only)"
        );
    }
    tracing::info!(
        brokers = %config.kafka.brokers,
        group = %config.kafka.group_id,
        input = %settings.input_topic,
        output = %settings.output_topic,
        dlq = %settings.dlq_topic,
        workers = settings.workers,
        max_in_flight = settings.max_in_flight,
        delivery = ?config.kafka.delivery,
        "newsflow started"
    );
}
