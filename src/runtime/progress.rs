//! Progress of the consumed messages, shared by the dispatcher, the delivery tasks and the
//! rebalance callbacks: the offset tracker behind a lock, and the one wait for in-flight
//! work to settle (a condition variable signalled whenever a message finishes).

use super::offsets::{OffsetTracker, Ticket};
use crate::telemetry::{Event, Telemetry};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// The consumed messages' progress, and where it is reported.
pub struct Progress {
    tracker: Mutex<OffsetTracker>,
    settled: Condvar,
    /// Input topic name.
    pub input_topic: String,
    /// Metrics and health.
    pub telemetry: Arc<Telemetry>,
}

impl Progress {
    /// Fresh progress of `input_topic`.
    pub fn new(input_topic: String, telemetry: Arc<Telemetry>) -> Progress {
        Progress {
            tracker: Mutex::new(OffsetTracker::new()),
            settled: Condvar::new(),
            input_topic,
            telemetry,
        }
    }

    /// Locks the tracker; a poisoned lock (a panic elsewhere while holding it) is recovered,
    /// since the tracker's invariants hold between method calls.
    pub fn tracker(&self) -> MutexGuard<'_, OffsetTracker> {
        self.tracker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a consumed message; returns its ticket and the messages now in flight.
    /// Offsets the broker skipped before it are reported ([`Event::OffsetGap`]).
    pub fn begin(&self, partition: i32, offset: i64) -> (Ticket, usize) {
        let mut t = self.tracker();
        let skipped = t.skipped(partition, offset);
        let ticket = t.begin(partition, offset);
        let running = t.running();
        self.telemetry.health.work(running, false);
        drop(t);
        if let Some(range) = skipped {
            self.telemetry.emit(Event::OffsetGap {
                topic: &self.input_topic,
                partition,
                skipped: range,
            });
        }
        (ticket, running)
    }

    /// Whether `ticket` belongs to the current assignment of its partition (not to one
    /// revoked since it was consumed, whose next owner reads the message again).
    pub fn is_current(&self, ticket: Ticket) -> bool {
        self.tracker().is_current(ticket)
    }

    /// A message is finished (see [`OffsetTracker::finish`]); wakes the waiters.
    pub fn finish(&self, ticket: Ticket, delivered: bool) {
        let mut t = self.tracker();
        t.finish(ticket, delivered);
        let running = t.running();
        self.telemetry.health.work(running, true);
        drop(t);
        self.telemetry
            .emit(Event::InFlight(i64::try_from(running).unwrap_or(i64::MAX)));
        self.settled.notify_all();
    }

    /// Blocks until `settled` holds for the tracker or `deadline` passes; whether it holds.
    pub fn wait_until(&self, deadline: Instant, settled: impl Fn(&OffsetTracker) -> bool) -> bool {
        let mut t = self.tracker();
        loop {
            if settled(&t) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            t = self
                .settled
                .wait_timeout(t, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_wait_wakes_when_the_last_message_finishes() {
        let p = Arc::new(Progress::new("raw".into(), Arc::new(Telemetry::new())));
        let (a, n) = p.begin(0, 1);
        assert_eq!(n, 1);
        let finisher = {
            let p = p.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                p.finish(a, true);
            })
        };
        let started = Instant::now();
        let deadline = started + Duration::from_secs(10);
        assert!(p.wait_until(deadline, |t| t.running() == 0));
        assert!(started.elapsed() < Duration::from_secs(5));
        finisher.join().unwrap();
        // A wait that cannot be met ends at its deadline, reporting so.
        p.begin(0, 2);
        assert!(
            !p.wait_until(Instant::now() + Duration::from_millis(20), |t| t.running()
                == 0)
        );
    }
}
