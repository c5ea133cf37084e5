//! The delivery mode, decided in one place: every hook the dispatcher, the sink and the
//! consumer context need, for at-least-once and exactly-once alike.
//!
//! | hook | at-least-once | exactly-once |
//! | --- | --- | --- |
//! | [`Delivery::consumed`] | track the offset | also open a transaction if none is |
//! | [`Delivery::after_send_error`] | retry after a backoff | mark the transaction failed |
//! | [`Delivery::finished`] | offset done if delivered | same (ending waits for it) |
//! | [`Delivery::end_batch_if_due`] / [`Delivery::batch_deadline`] | — | end a full or old transaction |
//! | [`Delivery::revoke`] | wait for the partitions' work, commit | end the transaction |
//! | [`Delivery::committer`] | periodic commits | — (offsets go in transactions) |
//! | [`Delivery::finish`] | final commit | end the last transaction |

use super::blocking::{blocking, off_thread};
use super::offsets::Ticket;
use super::progress::Progress;
use super::txn::{Fatal, Txn};
use crate::telemetry::Event;
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What a failed send does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterSendError {
    /// Wait and send again (at-least-once).
    Retry,
    /// Give up: the transaction will be aborted and its batch processed again.
    Abort,
}

enum Mode {
    AtLeastOnce,
    ExactlyOnce(Box<Txn>),
}

/// The delivery mode with the progress it keeps.
pub struct Delivery {
    progress: Arc<Progress>,
    mode: Mode,
    /// Bound on waiting for revoked partitions' work (at-least-once).
    drain_timeout: Duration,
}

/// Lower bound on waiting for a commit at shutdown, even when the shutdown deadline has
/// passed: a healthy broker answers well within it.
pub const COMMIT_TIMEOUT_MIN: Duration = Duration::from_secs(2);

/// Bound on one periodic commit; one that takes longer counts as failed and is retried
/// (committing the same offsets twice is harmless).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

impl Delivery {
    /// At-least-once delivery.
    pub fn at_least_once(progress: Arc<Progress>, drain_timeout: Duration) -> Delivery {
        Delivery {
            progress,
            mode: Mode::AtLeastOnce,
            drain_timeout,
        }
    }

    /// Exactly-once delivery through `txn` (which shares `progress`).
    pub fn exactly_once(progress: Arc<Progress>, txn: Txn, drain_timeout: Duration) -> Delivery {
        Delivery {
            progress,
            mode: Mode::ExactlyOnce(Box::new(txn)),
            drain_timeout,
        }
    }

    /// The progress of the consumed messages.
    pub fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }

    fn txn(&self) -> Option<&Txn> {
        match &self.mode {
            Mode::ExactlyOnce(t) => Some(t),
            Mode::AtLeastOnce => None,
        }
    }

    /// A message was consumed and is about to be dispatched: its ticket and the messages
    /// now in flight.
    pub fn consumed(&self, partition: i32, offset: i64) -> Result<(Ticket, usize), Fatal> {
        if let Some(t) = self.txn() {
            t.on_message(partition, offset)?;
        }
        Ok(self.progress.begin(partition, offset))
    }

    /// A send failed with a transient error.
    pub fn after_send_error(&self) -> AfterSendError {
        match self.txn() {
            Some(t) => {
                // The transaction cannot commit with this record missing.
                t.mark_failed();
                AfterSendError::Abort
            }
            None => AfterSendError::Retry,
        }
    }

    /// A dispatched message is finished; `delivered`: its output or DLQ record was
    /// acknowledged.
    pub fn finished(&self, ticket: Ticket, delivered: bool) {
        self.progress.finish(ticket, delivered);
    }

    /// Id of the open transaction, written to each record (exactly-once).
    pub fn transaction_id(&self) -> Option<String> {
        self.txn().and_then(Txn::current_id)
    }

    /// The output topic refused this input's enriched record in an earlier, aborted
    /// attempt (exactly-once): why.
    pub fn refused_before(&self, partition: i32, offset: i64) -> Option<String> {
        self.txn()
            .and_then(|t| t.rejected_before(partition, offset))
    }

    /// Remembers that the output topic refused an input's enriched record (exactly-once:
    /// the transaction aborts, and the retry sends the input to the DLQ at once).
    pub fn note_refused(&self, partition: i32, offset: i64, reason: String) {
        if let Some(t) = self.txn() {
            t.note_rejected(partition, offset, reason);
        }
    }

    /// When the open batch must end, if a batch is open (exactly-once).
    pub fn batch_deadline(&self) -> Option<Instant> {
        self.txn().and_then(Txn::deadline)
    }

    /// Ends the open transaction if it is full, old or failed (exactly-once). Blocking.
    pub fn end_batch_if_due<C: ConsumerContext, K: Consumer<C>>(
        &self,
        consumer: &K,
    ) -> Result<(), Fatal> {
        match self.txn() {
            Some(t) if t.due() => t.end(consumer, &[]).map(|_| ()),
            _ => Ok(()),
        }
    }

    /// Partitions are being revoked (called from the rebalance callback, blocking).
    /// At-least-once: release their queued work, wait (bounded) for their running work,
    /// then commit their watermarks.
    /// Exactly-once: end the open transaction while this member still owns them.
    pub fn revoke<C: ConsumerContext, K: Consumer<C>>(
        &self,
        consumer: &K,
        partitions: &[i32],
    ) -> Result<(), Fatal> {
        let telemetry = &self.progress.telemetry;
        if let Some(txn) = self.txn() {
            let ended = blocking(|| txn.end(consumer, partitions));
            txn.forget(partitions);
            let mut t = self.progress.tracker();
            for p in partitions {
                t.revoke(*p);
                telemetry.emit(Event::PartitionRevoked { partition: *p });
            }
            let ended = ended?;
            tracing::info!(?partitions, ?ended, "partitions revoked; transaction ended");
            return Ok(());
        }
        let deadline = Instant::now() + self.drain_timeout;
        {
            // Their queued work is released unprocessed (the next owner reads it); what
            // runs is waited for.
            let mut t = self.progress.tracker();
            for p in partitions {
                t.begin_revoke(*p);
            }
        }
        // Waiting blocks this thread; let tokio move its other tasks elsewhere meanwhile.
        blocking(|| {
            self.progress.wait_until(deadline, |t| {
                partitions.iter().all(|p| t.running_in(*p) == 0)
            })
        });
        let (commits, still_running, unfinished) = {
            let mut t = self.progress.tracker();
            let still_running: usize = partitions.iter().map(|p| t.running_in(*p)).sum();
            let unfinished: usize = partitions.iter().map(|p| t.pending(*p)).sum();
            let commits: Vec<(i32, i64)> = partitions
                .iter()
                .filter_map(|p| t.revoke(*p).map(|w| (*p, w)))
                .collect();
            (commits, still_running, unfinished)
        };
        for p in partitions {
            telemetry.emit(Event::PartitionRevoked { partition: *p });
        }
        if !commits.is_empty() {
            // A synchronous commit waits on the coordinator: off the runtime's threads too.
            let list = self.progress.commit_list(&commits);
            let result = blocking(|| consumer.commit(&list, CommitMode::Sync));
            telemetry.emit(Event::Commit { ok: result.is_ok() });
            if let Err(e) = result {
                tracing::warn!(error = %e, ?commits, "commit on revoke failed; the next owner re-reads from the last committed offset");
            }
        }
        if still_running > 0 {
            tracing::warn!(
                ?partitions,
                still_running,
                "partitions revoked while messages were still being processed (drain deadline); the next owner processes them again"
            );
        }
        tracing::info!(
            ?partitions,
            ?commits,
            unfinished,
            "partitions revoked; their unfinished messages are read again by the next owner"
        );
        Ok(())
    }

    /// Waits (at most until `deadline`) for every dispatched message to finish; whether
    /// they all did.
    pub async fn drain(self: &Arc<Self>, deadline: Instant) -> bool {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.progress.wait_until(deadline, |t| t.running() == 0))
            .await
            .unwrap_or(false)
    }

    /// At-least-once: the task that commits moved watermarks every `interval` until
    /// `stop`. It holds the consumer weakly, so that the service stays the one that closes
    /// it. `None` in exactly-once mode (offsets are committed in the transactions).
    pub fn committer<C, K>(
        self: &Arc<Self>,
        consumer: Weak<K>,
        interval: Duration,
        stop: CancellationToken,
    ) -> Option<tokio::task::JoinHandle<()>>
    where
        C: ConsumerContext + 'static,
        K: Consumer<C> + Send + Sync + 'static,
    {
        if self.txn().is_some() {
            return None;
        }
        let progress = self.progress.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let commits = progress.tracker().take_commits();
                if commits.is_empty() {
                    continue;
                }
                let Some(c) = consumer.upgrade() else {
                    return;
                };
                let list = progress.commit_list(&commits);
                let result = off_thread("newsflow-commit", COMMIT_TIMEOUT, move || {
                    let r = c.commit(&list, CommitMode::Sync);
                    // The last reference may be this one (the service is stopping): the
                    // close then happens here, off the async threads.
                    drop(c);
                    r
                })
                .await;
                let error = match result {
                    Some(Ok(())) => {
                        progress.telemetry.emit(Event::Commit { ok: true });
                        continue;
                    }
                    Some(Err(e)) => e.to_string(),
                    None => format!("no answer within {} s", COMMIT_TIMEOUT.as_secs()),
                };
                progress.telemetry.emit(Event::Commit { ok: false });
                progress.tracker().commit_failed(&commits);
                tracing::warn!(error, "offset commit failed; will retry");
            }
        }))
    }

    /// The last step of a shutdown, once the work is drained and the producer flushed:
    /// at-least-once commits the final watermarks, exactly-once ends the last transaction
    /// (aborting it if anything in it is unfinished). Bounded by `deadline` (but given at
    /// least [`COMMIT_TIMEOUT_MIN`]). `Err`: the transaction could not end.
    pub async fn finish<C, K>(
        self: &Arc<Self>,
        consumer: Arc<K>,
        deadline: Instant,
    ) -> Result<(), Fatal>
    where
        C: ConsumerContext + 'static,
        K: Consumer<C> + Send + Sync + 'static,
    {
        let floor = match &self.mode {
            Mode::ExactlyOnce(t) => t.end_bound(),
            Mode::AtLeastOnce => COMMIT_TIMEOUT_MIN,
        };
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(floor);
        let me = self.clone();
        let ended = off_thread("newsflow-final-commit", left, move || match &me.mode {
            Mode::ExactlyOnce(t) => t.end(consumer.as_ref(), &[]).map(|ended| {
                tracing::info!(?ended, "last transaction ended");
            }),
            Mode::AtLeastOnce => {
                let finals = me.progress.tracker().all_watermarks();
                if finals.is_empty() {
                    return Ok(());
                }
                let r = consumer.commit(&me.progress.commit_list(&finals), CommitMode::Sync);
                me.progress.telemetry.emit(Event::Commit { ok: r.is_ok() });
                match r {
                    Ok(()) => tracing::info!(commits = ?finals, "final offsets committed"),
                    Err(e) => tracing::warn!(error = %e, "final commit failed; uncommitted messages will be re-read"),
                }
                Ok(())
            }
        })
        .await;
        match ended {
            Some(r) => r,
            None => {
                tracing::warn!("the final commit did not finish in time (brokers unreachable?); uncommitted messages will be re-read");
                Ok(())
            }
        }
    }
}
