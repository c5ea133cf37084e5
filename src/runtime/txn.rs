//! Exactly-once mode: consume → enrich → produce inside Kafka transactions.
//!
//! One transactional producer per instance (KIP-447 style), `transactional.id =
//! <group_id>-<instance_id>` with an instance id that is stable across restarts:
//!
//! * `init_transactions` at start-up fences any earlier producer with the same id (a zombie
//!   of this instance) and aborts its open transaction; the zombie's next transactional call
//!   fails fatally and it exits non-zero.
//! * Input offsets are added to the transaction with `send_offsets_to_transaction` and the
//!   consumer's group metadata (generation, member id), so a member that lost its partitions
//!   in a rebalance cannot commit offsets for them.
//!
//! A transaction ("batch") is opened lazily on the first message after the previous one
//! ended and is ended after `pipeline.transaction_max_messages` messages or
//! `pipeline.transaction_max_ms` after its first message, before partitions are revoked, and
//! at shutdown. Ending waits until every message of the batch is finished; the transaction
//! is committed only if all of them were delivered (output or DLQ) without error, else it is
//! aborted and the consumer is rewound (seek) to the offsets the last committed transaction
//! stored, so the batch is processed again. Retriable errors of the transaction calls are
//! retried, abortable ones abort and rewind, fatal ones (fenced, …) stop the service with an
//! error.

use super::clients::Producer;
use super::progress::Progress;
use super::settings::TxnSettings;
use crate::telemetry::Event;
use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::producer::Producer as _;
use rdkafka::Offset;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A transaction error the service cannot recover from (fenced, invalid state, …).
#[derive(Debug, thiserror::Error)]
#[error("fatal transaction error: {0}")]
pub struct Fatal(pub String);

#[derive(Debug, Default)]
struct Batch {
    /// A transaction is open.
    open: bool,
    /// Transactions begun by this producer session.
    seq: u64,
    /// Id of the open transaction (`<transactional.id>#<session>#<seq>`), written to each
    /// record as the `newsflow-transaction` header for auditing.
    id: String,
    /// Input messages dispatched in the open transaction.
    messages: usize,
    /// When its first message was dispatched.
    started: Option<Instant>,
    /// Per partition: where to rewind to on abort (the offset stored by the last committed
    /// transaction, or the first offset consumed since).
    rewind_to: HashMap<i32, i64>,
    /// The input offsets of a transaction whose commit was sent but not confirmed in time.
    /// Its outcome is unknown, so it is never aborted: the next `end` (at revoke or
    /// shutdown) resumes the commit, or the instance stops and the restart's fencing
    /// settles it.
    commit_in_doubt: Option<Vec<(i32, i64)>>,
}

/// Transaction state of one instance.
pub struct Txn {
    producer: Arc<Producer>,
    /// `transactional.id` plus a per-process session nonce.
    session: String,
    settings: TxnSettings,
    progress: Arc<Progress>,
    /// Set when a produce in the open transaction failed: it must be aborted.
    failed: AtomicBool,
    batch: Mutex<Batch>,
    /// Id of the open transaction.
    current: Mutex<Option<String>>,
    /// Offset mirror: committed offsets whose mirror commit failed (retried with the next).
    unmirrored: Mutex<std::collections::BTreeMap<i32, i64>>,
    /// Inputs whose enriched record the output topic refused (a broker-side refusal makes
    /// the transaction abortable): after the rewind they go straight to the DLQ.
    rejected: Mutex<HashMap<(i32, i64), String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Retriable,
    Abort,
    Fatal,
}

fn classify(e: &KafkaError) -> Class {
    match e {
        KafkaError::Transaction(r) if r.is_fatal() => Class::Fatal,
        KafkaError::Transaction(r) if r.txn_requires_abort() => Class::Abort,
        KafkaError::Transaction(r) if r.is_retriable() => Class::Retriable,
        KafkaError::Flush(_) => Class::Retriable,
        _ => Class::Abort,
    }
}

/// Outcome of [`Txn::end`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// No transaction was open.
    Idle,
    /// Committed.
    Committed,
    /// Aborted and rewound: the batch will be processed again.
    Aborted,
}

impl Txn {
    /// Initializes transactions (fencing earlier producers with the same `transactional.id`).
    /// Blocking.
    pub fn init(
        settings: TxnSettings,
        producer: Arc<Producer>,
        progress: Arc<Progress>,
    ) -> Result<Txn, Fatal> {
        let op_timeout = settings.op_timeout;
        let deadline = Instant::now() + op_timeout.max(Duration::from_secs(1)) * 2;
        loop {
            match producer.init_transactions(op_timeout) {
                Ok(()) => break,
                Err(e) if classify(&e) == Class::Retriable && Instant::now() < deadline => {
                    tracing::warn!(error = %e, "init_transactions failed; retrying");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(Fatal(format!("init_transactions: {e}"))),
            }
        }
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Ok(Txn {
            session: format!("{}#{nonce:x}", settings.transactional_id),
            settings,
            producer,
            progress,
            failed: AtomicBool::new(false),
            batch: Mutex::new(Batch::default()),
            current: Mutex::new(None),
            unmirrored: Mutex::new(std::collections::BTreeMap::new()),
            rejected: Mutex::new(HashMap::new()),
        })
    }

    fn batch(&self) -> MutexGuard<'_, Batch> {
        self.batch.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called before a consumed message is dispatched: opens a transaction if none is open.
    pub fn on_message(&self, partition: i32, offset: i64) -> Result<(), Fatal> {
        let mut b = self.batch();
        if !b.open {
            self.producer
                .begin_transaction()
                .map_err(|e| Fatal(format!("begin_transaction: {e}")))?;
            b.open = true;
            b.seq += 1;
            b.id = format!("{}#{}", self.session, b.seq);
            *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(b.id.clone());
            b.messages = 0;
            b.started = None;
            self.failed.store(false, Ordering::SeqCst);
        }
        b.messages += 1;
        b.started.get_or_insert_with(Instant::now);
        b.rewind_to.entry(partition).or_insert(offset);
        Ok(())
    }

    /// How long ending a transaction may take: its drain and its calls' retries.
    pub fn end_bound(&self) -> Duration {
        self.settings.drain_timeout + self.settings.op_timeout * 3
    }

    /// Id of the open transaction, if any. (Not behind the batch lock, which
    /// [`Txn::end`] holds while it waits for the deliveries that ask for this.)
    pub fn current_id(&self) -> Option<String> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// When the open batch must end (`None`: no message in it yet).
    pub fn deadline(&self) -> Option<Instant> {
        let b = self.batch();
        b.started.map(|s| s + self.settings.max_time)
    }

    /// Whether the open batch should end now (full, timed out, or failed).
    pub fn due(&self) -> bool {
        let b = self.batch();
        b.open
            && (b.messages >= self.settings.max_messages
                || self.failed.load(Ordering::SeqCst)
                || b.started
                    .is_some_and(|s| s.elapsed() >= self.settings.max_time))
    }

    /// A produce in the open transaction failed: it will be aborted.
    pub fn mark_failed(&self) {
        self.failed.store(true, Ordering::SeqCst);
    }

    /// Remembers that the output topic refused the enriched record of an input.
    pub fn note_rejected(&self, partition: i32, offset: i64, reason: String) {
        self.rejected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((partition, offset), reason);
    }

    /// The refusal reason recorded for an input in an earlier (aborted) attempt.
    pub fn rejected_before(&self, partition: i32, offset: i64) -> Option<String> {
        self.rejected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(partition, offset))
            .cloned()
    }

    /// Forgets rewind positions of revoked partitions.
    pub fn forget(&self, partitions: &[i32]) {
        let mut b = self.batch();
        for p in partitions {
            b.rewind_to.remove(p);
        }
        // A partition that changes owner must not get a stale mirror later.
        self.unmirrored
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|p, _| !partitions.contains(p));
        self.rejected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(p, _), _| !partitions.contains(p));
    }

    /// Waits (at most the drain timeout) until every dispatched message is finished.
    fn wait_drained(&self) -> bool {
        let deadline = Instant::now() + self.settings.drain_timeout;
        self.progress.wait_until(deadline, |t| t.running() == 0)
    }

    /// Ends the open transaction: waits for its messages, then commits it with the input
    /// offsets, or aborts it and rewinds the consumer. `revoking` lists partitions being
    /// revoked (a failed seek of those is harmless). Blocking.
    pub fn end<C: ConsumerContext, K: Consumer<C>>(
        &self,
        consumer: &K,
        revoking: &[i32],
    ) -> Result<Ended, Fatal> {
        let mut b = self.batch();
        if !b.open {
            self.mirror(consumer, &[]);
            return Ok(Ended::Idle);
        }
        if let Some(commits) = b.commit_in_doubt.take() {
            return self.commit(consumer, &mut b, revoking, commits);
        }
        let drained = self.wait_drained();
        let pending = self.progress.tracker().total_pending();
        if !drained || pending > 0 || self.failed.load(Ordering::SeqCst) {
            tracing::warn!(
                drained,
                pending,
                "transaction has undelivered messages; aborting it"
            );
            return self.abort_and_rewind(consumer, &mut b, revoking);
        }
        let commits = self.progress.tracker().take_commits();
        let Some(cgm) = consumer.group_metadata() else {
            tracing::warn!("no consumer group metadata; aborting the transaction");
            return self.abort_and_rewind(consumer, &mut b, revoking);
        };
        if !commits.is_empty() {
            let tpl = self.progress.commit_list(&commits);
            if let Err(class) = self.retry("send_offsets_to_transaction", || {
                self.producer
                    .send_offsets_to_transaction(&tpl, &cgm, self.settings.op_timeout)
            }) {
                if class == Class::Fatal {
                    return Err(Fatal("send_offsets_to_transaction failed".into()));
                }
                return self.abort_and_rewind(consumer, &mut b, revoking);
            }
        }
        self.commit(consumer, &mut b, revoking, commits)
    }

    /// Commits the open transaction whose offsets were sent (`commits`), or resumes a
    /// commit in doubt.
    fn commit<C: ConsumerContext, K: Consumer<C>>(
        &self,
        consumer: &K,
        b: &mut Batch,
        revoking: &[i32],
        commits: Vec<(i32, i64)>,
    ) -> Result<Ended, Fatal> {
        if let Err(class) = self.retry("commit_transaction", || {
            self.producer.commit_transaction(self.settings.op_timeout)
        }) {
            match class {
                Class::Fatal => return Err(Fatal("commit_transaction failed".into())),
                // The broker said the transaction must be aborted: it did not commit.
                Class::Abort => return self.abort_and_rewind(consumer, b, revoking),
                // Still retriable at the deadline: the commit may have reached the
                // coordinator, so aborting and re-sending could write the batch twice.
                // Stop instead; the restart's init_transactions fences this producer
                // and the coordinator completes or aborts the transaction, never both.
                Class::Retriable => {
                    b.commit_in_doubt = Some(commits);
                    return Err(Fatal(format!(
                        "commit_transaction of {} did not complete within {:?}; its outcome \
                         is unknown, so the instance stops instead of aborting",
                        b.id, self.settings.op_timeout
                    )));
                }
            }
        }
        for (p, o) in &commits {
            b.rewind_to.insert(*p, *o);
        }
        let offsets = commits
            .iter()
            .map(|(p, o)| format!("{p}:{o}"))
            .collect::<Vec<_>>()
            .join(",");
        self.mirror(consumer, &commits);
        let messages = std::mem::take(&mut b.messages);
        b.open = false;
        b.started = None;
        self.progress.telemetry.emit(Event::Commit { ok: true });
        self.progress.telemetry.emit(Event::TransactionEnded {
            committed: true,
            transaction: &b.id,
            messages,
            offsets: &offsets,
        });
        Ok(Ended::Committed)
    }

    /// Offset mirror (`pipeline.transaction_mirror_offsets`): commits the committed
    /// transaction's offsets through the consumer too, with earlier failed ones.
    fn mirror<C: ConsumerContext, K: Consumer<C>>(&self, consumer: &K, commits: &[(i32, i64)]) {
        if !self.settings.mirror_offsets {
            return;
        }
        let mut pending = self.unmirrored.lock().unwrap_or_else(|p| p.into_inner());
        for (p, o) in commits {
            pending.insert(*p, *o);
        }
        if pending.is_empty() {
            return;
        }
        let all: Vec<(i32, i64)> = pending.iter().map(|(p, o)| (*p, *o)).collect();
        match consumer.commit(
            &self.progress.commit_list(&all),
            rdkafka::consumer::CommitMode::Sync,
        ) {
            Ok(()) => pending.clear(),
            Err(e) => tracing::warn!(
                error = %e,
                "mirroring transactional offsets failed; retried with the next transaction"
            ),
        }
    }

    /// Runs a transactional call, retrying retriable errors within the operation timeout.
    /// The error is the class of the last failure: `Retriable` means the deadline passed.
    fn retry(
        &self,
        what: &str,
        mut f: impl FnMut() -> rdkafka::error::KafkaResult<()>,
    ) -> Result<(), Class> {
        let deadline = Instant::now() + self.settings.op_timeout;
        loop {
            match f() {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let class = classify(&e);
                    if class == Class::Fatal || self.producer.client().fatal_error().is_some() {
                        tracing::error!(error = %e, "{what}: fatal error");
                        return Err(Class::Fatal);
                    }
                    if class == Class::Retriable && Instant::now() < deadline {
                        self.progress.telemetry.emit(Event::TransactionRetry {
                            call: what,
                            error: &e.to_string(),
                        });
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                    tracing::warn!(error = %e, "{what} failed");
                    return Err(class);
                }
            }
        }
    }

    fn abort_and_rewind<C: ConsumerContext, K: Consumer<C>>(
        &self,
        consumer: &K,
        b: &mut Batch,
        revoking: &[i32],
    ) -> Result<Ended, Fatal> {
        self.progress.telemetry.emit(Event::Commit { ok: false });
        self.progress.telemetry.emit(Event::TransactionEnded {
            committed: false,
            transaction: &b.id,
            messages: b.messages,
            offsets: "",
        });
        if let Err(class) = self.retry("abort_transaction", || {
            self.producer.abort_transaction(self.settings.op_timeout)
        }) {
            return Err(Fatal(format!(
                "abort_transaction failed ({class:?}); state unknown"
            )));
        }
        // Messages of the aborted batch that are still in flight (drain timeout) resolve
        // with purge errors; wait for them so that their completions cannot count later.
        let _ = self.wait_drained();
        b.open = false;
        b.messages = 0;
        b.started = None;
        self.failed.store(false, Ordering::SeqCst);
        // Reset the offset tracker (new epoch per partition) and seek back.
        let partitions: Vec<i32> = b.rewind_to.keys().copied().collect();
        {
            let mut t = self.progress.tracker();
            for p in t.partitions() {
                t.assign(p);
            }
        }
        for p in partitions {
            let offset = b.rewind_to[&p];
            let r = consumer.seek(
                &self.progress.input_topic,
                p,
                Offset::Offset(offset),
                self.settings.op_timeout,
            );
            match r {
                Ok(()) => tracing::info!(partition = p, offset, "rewound after abort"),
                Err(e) if revoking.contains(&p) => {
                    tracing::info!(partition = p, offset, error = %e, "no rewind of a revoked partition")
                }
                Err(e) => {
                    // Continuing would skip the aborted messages: stop; after a restart the
                    // group resumes from the committed offsets.
                    return Err(Fatal(format!(
                        "cannot rewind partition {p} to {offset} after an abort: {e}"
                    )));
                }
            }
        }
        Ok(Ended::Aborted)
    }
}
