//! CPU worker threads: the enrichment core runs here, off the async runtime, and hands each
//! result to a delivery task on the runtime. A panic in the core for one message is caught
//! ([`enrich_guarded`]) and dead-lettered as `internal_error` instead of killing the worker.
//! A queued job nobody wants any more (its partition was revoked, or the service is
//! stopping) is released unprocessed: its offset stays uncommitted and is read again.

use super::sink::{Job, Sink};
use crate::core::{enrich_guarded, Context, Input, Provenance, Reject};
use crate::telemetry::Event;
use std::sync::Arc;
use std::thread::JoinHandle;

/// A fixed pool of enrichment threads fed by a bounded channel.
pub struct WorkerPool {
    tx: Option<crossbeam_channel::Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl WorkerPool {
    /// Starts `n` workers; `capacity` bounds the queue (the in-flight semaphore keeps it from
    /// ever filling).
    pub fn start(
        n: usize,
        capacity: usize,
        ctx: Arc<Context>,
        sink: Arc<Sink>,
        rt: tokio::runtime::Handle,
        passthrough: bool,
    ) -> std::io::Result<WorkerPool> {
        let (tx, rx) = crossbeam_channel::bounded::<Job>(capacity.max(1));
        let mut threads = Vec::with_capacity(n);
        for i in 0..n.max(1) {
            let rx = rx.clone();
            let ctx = ctx.clone();
            let sink = sink.clone();
            let rt = rt.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("newsflow-worker-{i}"))
                    .spawn(move || {
                        for job in rx {
                            if let Some(why) = sink.unwanted(&job) {
                                sink.release(job, why);
                                continue;
                            }
                            let result = if passthrough {
                                Ok(forward(&job))
                            } else {
                                process(&job, &ctx, &sink)
                            };
                            rt.spawn(sink.clone().finish(job, result));
                        }
                    })?,
            );
        }
        Ok(WorkerPool {
            tx: Some(tx),
            threads,
        })
    }

    /// Queues a job; returns it back if the pool is stopped.
    pub fn submit(&self, job: Job) -> Result<(), Box<Job>> {
        match &self.tx {
            Some(tx) => tx.send(job).map_err(|e| Box::new(e.into_inner())),
            None => Err(Box::new(job)),
        }
    }

    /// Closes the queue and joins the threads once they finished queued work.
    pub async fn stop(mut self) {
        self.tx = None;
        let threads = std::mem::take(&mut self.threads);
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

/// Pass-through "enrichment" for measuring the Kafka I/O ceiling: the payload unchanged.
fn forward(job: &Job) -> crate::core::Enriched {
    crate::core::Enriched {
        key: job.key.clone().unwrap_or_default(),
        payload: job.payload.clone(),
        timings: crate::core::StageTimings::default(),
        encode_time: std::time::Duration::ZERO,
        entity_types: Vec::new(),
        duplicate: false,
        watchlist_hits: Vec::new(),
        alert: None,
    }
}

fn process(job: &Job, ctx: &Context, sink: &Sink) -> Result<crate::core::Enriched, Reject> {
    let _enter = job.span.enter();
    let provenance = Provenance {
        topic: sink.delivery.progress().input_topic.clone(),
        partition: job.ticket.partition,
        offset: job.ticket.offset,
        timestamp_ms: job.timestamp_ms,
    };
    let input = Input {
        payload: &job.payload,
        key: job.key.as_deref(),
        provenance: Some(&provenance),
    };
    let result = enrich_guarded(input, ctx);
    if let Ok(e) = &result {
        sink.delivery.progress().telemetry.emit(Event::Enriched {
            timings: e.timings,
            encode: e.encode_time,
            entity_types: &e.entity_types,
            duplicate: e.duplicate,
            watchlist_hits: &e.watchlist_hits,
        });
    }
    result
}
