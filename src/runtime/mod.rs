//! The Kafka runtime around the pure core: consume → dispatch to CPU workers → produce to
//! the output topic or the DLQ → commit the contiguous prefix of acknowledged offsets.
//!
//! At-least-once (default): an input offset is committed only after its output (or DLQ)
//! record was acknowledged by the broker. Exactly-once: see [`txn`]. In-flight messages are
//! bounded by a semaphore (`pipeline.max_in_flight`): when it is exhausted the consumer
//! stops fetching.

pub mod consumer;
pub mod offsets;
mod reload;
pub mod sink;
pub mod txn;
pub mod workers;

use crate::config::{Config, DeliveryMode};
use crate::core::Context;
use crate::telemetry::{Event, Telemetry};
use anyhow::Context as _;
use consumer::{ClosingConsumer, NewsflowConsumerContext, Shared};
use offsets::OffsetTracker;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, Producer};
use sink::{Job, ProducerLogContext, Sink};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// The consumer type of the service.
pub type NewsflowConsumer = StreamConsumer<NewsflowConsumerContext>;

fn base_config(config: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.kafka.brokers);
    for (k, v) in &config.kafka.properties {
        c.set(k, v);
    }
    // Secrets from files (validated at load; a file that vanished since leaves the property
    // unset, and the connection fails with librdkafka's authentication error).
    match config.file_properties() {
        Ok(props) => {
            for (k, v) in props {
                c.set(k, v);
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot read kafka.property_files"),
    }
    c
}

/// Room for record and batch framing around the largest accepted message (bytes).
const FETCH_OVERHEAD: usize = 64 * 1024;

/// librdkafka configuration of the consumer.
pub fn consumer_config(config: &Config) -> ClientConfig {
    let k = &config.kafka;
    let mut c = base_config(config);
    c.set("group.id", &k.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", &k.auto_offset_reset)
        .set("fetch.wait.max.ms", k.fetch_wait_max_ms.to_string())
        .set(
            "statistics.interval.ms",
            k.statistics_interval_ms.to_string(),
        );
    // Fetch sizes follow `pipeline.max_message_bytes`, so a message the pipeline accepts is
    // also fetched by brokers without KIP-74 (which return nothing when the first record of
    // a partition exceeds the limit, stalling that partition).
    let partition_fetch = (config.pipeline.max_message_bytes + FETCH_OVERHEAD).max(1 << 20);
    c.set("max.partition.fetch.bytes", partition_fetch.to_string())
        .set(
            "fetch.max.bytes",
            partition_fetch.max(52_428_800).to_string(),
        )
        .set(
            "receive.message.max.bytes",
            (partition_fetch.max(52_428_800) + FETCH_OVERHEAD)
                .max(100_000_000)
                .to_string(),
        );
    if k.delivery == DeliveryMode::ExactlyOnce {
        // Inputs produced in transactions: never process aborted or open ones.
        c.set("isolation.level", "read_committed");
    }
    for (key, v) in &k.consumer_properties {
        c.set(key, v);
    }
    c
}

/// librdkafka configuration of the producer.
pub fn producer_config(config: &Config) -> ClientConfig {
    let mut c = base_config(config);
    c.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5");
    if config.kafka.delivery == DeliveryMode::ExactlyOnce {
        if let Some(id) = config.transactional_id() {
            c.set("transactional.id", id);
        }
    }
    for (key, v) in &config.kafka.producer_properties {
        c.set(key, v);
    }
    c
}

/// Runs the service until `shutdown` is cancelled (or a fatal error), then drains in-flight
/// work, flushes, commits and returns. `Err` means the service failed (exit non-zero).
pub async fn run(
    config: &Config,
    ctx: Arc<Context>,
    telemetry: Arc<Telemetry>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let k = &config.kafka;
    let p = &config.pipeline;
    let shared = Arc::new(Shared {
        tracker: Mutex::new(OffsetTracker::new()),
        telemetry: telemetry.clone(),
        input_topic: k.input_topic.clone(),
        drain_timeout: Duration::from_millis(p.rebalance_drain_timeout_ms),
    });
    let exactly_once = k.delivery == DeliveryMode::ExactlyOnce;
    let fatal = CancellationToken::new();
    let producer: Arc<FutureProducer<ProducerLogContext>> = Arc::new(
        producer_config(config)
            .create_with_context(ProducerLogContext)
            .context("creating the Kafka producer")?,
    );
    let in_flight = Arc::new(Semaphore::new(p.max_in_flight));
    let max_in_flight = p.max_in_flight;
    let txn = if exactly_once {
        let producer = producer.clone();
        let shared = shared.clone();
        let tid = config.transactional_id().unwrap_or_default();
        let mirror = p.transaction_mirror_offsets;
        let (max_messages, max_time, op_timeout, drain) = (
            p.transaction_max_messages,
            Duration::from_millis(p.transaction_max_ms),
            Duration::from_millis(p.transaction_op_timeout_ms),
            Duration::from_millis(p.rebalance_drain_timeout_ms),
        );
        let txn = tokio::task::spawn_blocking(move || {
            txn::Txn::init(
                &tid,
                mirror,
                producer,
                shared,
                max_messages,
                max_time,
                op_timeout,
                drain,
            )
        })
        .await
        .context("initializing transactions")??;
        tracing::info!(
            transactional_id = config.transactional_id().unwrap_or_default(),
            "exactly-once mode: transactions initialized"
        );
        Some(Arc::new(txn))
    } else {
        None
    };
    // The one lasting strong reference: the consumer is closed, with a bound, when this
    // guard drops, whether at the end of the shutdown or when this future is dropped.
    let closing = ClosingConsumer::new(
        Arc::new(
            consumer_config(config)
                .create_with_context(NewsflowConsumerContext {
                    shared: shared.clone(),
                    txn: txn.clone(),
                    fatal: fatal.clone(),
                })
                .context("creating the Kafka consumer")?,
        ),
        Duration::from_millis(p.shutdown_timeout_ms),
    );
    let consumer: &Arc<NewsflowConsumer> = closing.get();
    consumer
        .subscribe(&[&k.input_topic])
        .with_context(|| format!("subscribing to {}", k.input_topic))?;

    let abort = CancellationToken::new();
    let sink = Arc::new(Sink {
        producer,
        txn: txn.clone(),
        output_topic: k.output_topic.clone(),
        dlq_topic: k.dlq_topic.clone(),
        alerts_topic: (!k.alerts_topic.is_empty()).then(|| k.alerts_topic.clone()),
        retry_backoff: Duration::from_millis(p.produce_retry_backoff_ms),
        shared: shared.clone(),
        abort: abort.clone(),
        fatal: fatal.clone(),
    });
    // Stops when this future ends, however it ends.
    let reload_stop = CancellationToken::new();
    let _reload_stop_on_drop = reload_stop.clone().drop_guard();
    tokio::spawn(reload::watch(
        config.watchlists.files.clone(),
        Duration::from_millis(config.watchlists.reload_interval_ms),
        ctx.watchlists.clone(),
        shared.telemetry.clone(),
        reload_stop,
    ));
    let n_workers = p.effective_workers();
    let pool = workers::WorkerPool::start(
        n_workers,
        p.max_in_flight,
        ctx,
        sink.clone(),
        tokio::runtime::Handle::current(),
        p.passthrough,
    )?;
    if p.passthrough {
        tracing::warn!(
            "pipeline.passthrough is on: payloads are forwarded unchanged (benchmarking only)"
        );
    }
    tracing::info!(
        brokers = %k.brokers,
        group = %k.group_id,
        input = %k.input_topic,
        output = %k.output_topic,
        dlq = %k.dlq_topic,
        workers = n_workers,
        max_in_flight = p.max_in_flight,
        delivery = ?k.delivery,
        "newsflow started"
    );

    // At-least-once: a commit loop; exactly-once commits offsets in the transactions.
    let commit_stop = CancellationToken::new();
    // Dropping this future (a task abort) stops the commit loop and the deliveries too.
    let _stop_on_drop = (commit_stop.clone().drop_guard(), abort.clone().drop_guard());
    let commit_task = (!exactly_once).then(|| {
        tokio::spawn(commit_loop(
            Arc::downgrade(consumer),
            shared.clone(),
            Duration::from_millis(p.commit_interval_ms),
            commit_stop.clone(),
        ))
    });

    loop {
        if let Some(t) = &txn {
            if t.due() {
                if let Err(e) = consumer::blocking(|| t.end(consumer.as_ref(), &[])) {
                    tracing::error!(error = %e, "stopping");
                    fatal.cancel();
                    break;
                }
            }
        }
        let batch_deadline = txn.as_ref().and_then(|t| t.deadline());
        let batch_due = async move {
            match batch_deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(batch_due);
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            () = fatal.cancelled() => break,
            permit = in_flight.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let msg = tokio::select! {
            () = shutdown.cancelled() => break,
            () = fatal.cancelled() => break,
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
        if let Some(t) = &txn {
            if let Err(e) = t.on_message(partition, offset) {
                tracing::error!(error = %e, "stopping");
                fatal.cancel();
                break;
            }
        }
        let payload = msg.payload().unwrap_or(&[]).to_vec();
        telemetry.emit(Event::Consumed {
            bytes: payload.len(),
        });
        let ticket = shared.tracker().begin(partition, offset);
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
        telemetry.emit(Event::InFlight(
            (max_in_flight - in_flight.available_permits()) as i64,
        ));
        if let Err(job) = pool.submit(job) {
            // Workers are gone (cannot happen while the pool lives): do not commit it.
            tracing::error!(
                partition,
                offset = job.ticket.offset,
                "worker pool closed; stopping"
            );
            break;
        }
    }

    // Shutdown: stop fetching, drain in-flight work, flush, commit.
    telemetry.health.set_shutting_down();
    telemetry.emit(Event::Ready(false));
    let deadline = Instant::now() + Duration::from_millis(p.shutdown_timeout_ms);
    tracing::info!(
        in_flight = max_in_flight - in_flight.available_permits(),
        "shutting down: draining in-flight messages"
    );
    let all = u32::try_from(max_in_flight).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout_at(deadline.into(), in_flight.acquire_many(all)).await;
    if drained.is_err() {
        let left = max_in_flight - in_flight.available_permits();
        tracing::warn!(
            left,
            "shutdown deadline reached; unfinished messages will be re-read after restart"
        );
        abort.cancel();
    }
    // Release the slots again (exactly-once: ending the transaction waits for them).
    drop(drained);
    pool.stop().await;
    let remaining = deadline.saturating_duration_since(Instant::now());
    if let Err(e) = sink
        .producer
        .flush(remaining.max(Duration::from_millis(100)))
    {
        tracing::warn!(error = %e, "producer flush incomplete");
    }
    commit_stop.cancel();
    if let Some(task) = commit_task {
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left.max(COMMIT_TIMEOUT_MIN), task)
            .await
            .is_err()
        {
            tracing::warn!("the commit loop did not stop in time (a commit is stuck); going on");
        }
    }
    if let (Some(t), false) = (&txn, fatal.is_cancelled()) {
        // Exactly-once: the last transaction (aborted if anything in it is unfinished).
        let (t, c) = (t.clone(), consumer.clone());
        match tokio::task::spawn_blocking(move || t.end(c.as_ref(), &[])).await {
            Ok(Ok(ended)) => tracing::info!(?ended, "last transaction ended"),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "last transaction failed");
                fatal.cancel();
            }
            Err(e) => tracing::warn!(error = %e, "transaction end task failed"),
        }
    }
    let finals = if exactly_once {
        Vec::new()
    } else {
        shared.tracker().all_watermarks()
    };
    let consumer_for_close = consumer.clone();
    let shared_for_close = shared.clone();
    let left = deadline.saturating_duration_since(Instant::now());
    let closed = consumer::off_thread(
        "newsflow-final-commit",
        left.max(COMMIT_TIMEOUT_MIN),
        move || {
            if !finals.is_empty() {
                let r = consumer_for_close
                    .commit(&shared_for_close.commit_list(&finals), CommitMode::Sync);
                shared_for_close
                    .telemetry
                    .emit(Event::Commit { ok: r.is_ok() });
                match r {
                    Ok(()) => tracing::info!(commits = ?finals, "final offsets committed"),
                    Err(e) => tracing::warn!(error = %e, "final commit failed; uncommitted messages will be re-read"),
                }
            }
            consumer_for_close.unsubscribe();
        },
    )
    .await;
    if closed.is_none() {
        tracing::warn!("the final commit did not finish in time (brokers unreachable?); uncommitted messages will be re-read");
    }
    let mut closing = closing;
    closing.timeout = deadline
        .saturating_duration_since(Instant::now())
        .max(COMMIT_TIMEOUT_MIN);
    consumer::blocking(move || drop(closing));
    if fatal.is_cancelled() {
        anyhow::bail!("stopped after a fatal Kafka producer or transaction error");
    }
    tracing::info!("newsflow stopped cleanly");
    Ok(())
}

/// Lower bound on waiting for a commit (or the consumer's close) at shutdown, even when
/// the shutdown deadline has passed: a healthy broker answers well within it.
const COMMIT_TIMEOUT_MIN: Duration = Duration::from_secs(2);

/// Bound on one periodic commit; one that takes longer counts as failed and is retried
/// (committing the same offsets twice is harmless).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Commits moved watermarks every `interval` until `stop`. Holds the consumer weakly, so
/// that the service's [`ClosingConsumer`] stays the one that closes it.
async fn commit_loop(
    consumer: std::sync::Weak<NewsflowConsumer>,
    shared: Arc<Shared>,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let commits = shared.tracker().take_commits();
        if commits.is_empty() {
            continue;
        }
        let Some(c) = consumer.upgrade() else {
            return;
        };
        let list = shared.commit_list(&commits);
        let result = consumer::off_thread("newsflow-commit", COMMIT_TIMEOUT, move || {
            let r = c.commit(&list, CommitMode::Sync);
            // The last reference may be this one (the service is stopping): the close then
            // happens here, off the async threads.
            drop(c);
            r
        })
        .await;
        let error = match result {
            Some(Ok(())) => {
                shared.telemetry.emit(Event::Commit { ok: true });
                continue;
            }
            Some(Err(e)) => e.to_string(),
            None => format!("no answer within {} s", COMMIT_TIMEOUT.as_secs()),
        };
        shared.telemetry.emit(Event::Commit { ok: false });
        shared.tracker().commit_failed(&commits);
        tracing::warn!(error, "offset commit failed; will retry");
    }
}
