//! Readiness of one instance, read by `/readyz` and the `newsflow_ready` gauge.
//!
//! Ready means the instance is doing its job: a broker is reachable, it is a member of the
//! consumer group, it is not shutting down, and work in flight moves. A revoke starts a
//! grace period instead of failing readiness at once, so the rebalances that scaling causes
//! do not make readiness flap; an instance that stays out of the group past it (evicted for
//! a missed poll, a coordinator that never answers) is reported.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long an instance may be between a revoke and its next assignment and stay ready.
pub const REBALANCE_GRACE: Duration = Duration::from_secs(60);

/// Why an instance is not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// Shutting down (draining).
    ShuttingDown,
    /// No broker connection is up.
    BrokerDown,
    /// The group has not assigned this member yet since start.
    NotJoined,
    /// Out of the group (revoked, not reassigned) for this long.
    OutOfGroup(Duration),
    /// Messages are in flight and none finished for this long.
    Stalled {
        /// Time since work last moved.
        since: Duration,
        /// Messages in flight.
        in_flight: usize,
    },
}

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotReady::ShuttingDown => write!(f, "shutting down"),
            NotReady::BrokerDown => write!(f, "no broker reachable"),
            NotReady::NotJoined => write!(f, "not yet a member of the consumer group"),
            NotReady::OutOfGroup(d) => write!(
                f,
                "out of the consumer group for {} s (revoked, not reassigned)",
                d.as_secs()
            ),
            NotReady::Stalled { since, in_flight } => write!(
                f,
                "no message finished for {} s with {in_flight} in flight",
                since.as_secs()
            ),
        }
    }
}

/// Stamps start this far from 0 (ms), so that 0 can mean "never" and a stamp can always be
/// compared with one taken earlier.
const STAMP_BASE: u64 = 1 << 32;

/// Milliseconds since `epoch` plus [`STAMP_BASE`].
fn stamp(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis())
        .unwrap_or(u64::MAX / 2)
        .saturating_add(STAMP_BASE)
}

/// Health of one service instance. Lock-free: the consumer callbacks, the delivery tasks
/// and the HTTP handlers all touch it.
#[derive(Debug)]
pub struct Health {
    epoch: Instant,
    broker_up: AtomicBool,
    shutting_down: AtomicBool,
    /// Assigned since the last revoke (or never revoked since the first assignment).
    in_group: AtomicBool,
    joined_once: AtomicBool,
    /// When the last revoke happened (ms since `epoch`; 0: none pending).
    revoked_at: AtomicU64,
    in_flight: AtomicUsize,
    /// When work last moved: a message finished, or work began after an idle spell.
    moved_at: AtomicU64,
    /// In-flight work that does not move for this long is a stall (0 ms: never).
    stall_after_ms: AtomicU64,
    /// Last readiness reported, to log changes once.
    last_ready: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            epoch: Instant::now(),
            broker_up: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            in_group: AtomicBool::new(false),
            joined_once: AtomicBool::new(false),
            revoked_at: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            moved_at: AtomicU64::new(0),
            stall_after_ms: AtomicU64::new(0),
            last_ready: AtomicBool::new(false),
        }
    }
}

impl Health {
    /// Records whether at least one broker connection is up; whether it changed.
    pub fn set_broker_up(&self, up: bool) -> bool {
        self.broker_up.swap(up, Ordering::Relaxed) != up
    }

    /// Marks the instance as draining (not ready for new work).
    pub fn set_shutting_down(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    /// In-flight work that does not move for `after` makes the instance not ready
    /// (`Duration::ZERO`: never).
    pub fn set_stall_after(&self, after: Duration) {
        let ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
        self.stall_after_ms.store(ms, Ordering::Relaxed);
    }

    /// The group assigned this member partitions (possibly none).
    pub fn assigned(&self) {
        self.joined_once.store(true, Ordering::Relaxed);
        self.in_group.store(true, Ordering::Relaxed);
        self.revoked_at.store(0, Ordering::Relaxed);
    }

    /// The group revoked this member's partitions (a rebalance began, or it was evicted).
    pub fn revoked(&self) {
        self.in_group.store(false, Ordering::Relaxed);
        self.revoked_at.store(stamp(self.epoch), Ordering::Relaxed);
    }

    /// The messages in flight changed to `in_flight`; `finished`: one of them finished.
    pub fn work(&self, in_flight: usize, finished: bool) {
        let before = self.in_flight.swap(in_flight, Ordering::Relaxed);
        if finished || before == 0 {
            self.moved_at.store(stamp(self.epoch), Ordering::Relaxed);
        }
    }

    /// Ready, or why not.
    pub fn readiness(&self) -> Result<(), NotReady> {
        if self.shutting_down.load(Ordering::Relaxed) {
            return Err(NotReady::ShuttingDown);
        }
        if !self.broker_up.load(Ordering::Relaxed) {
            return Err(NotReady::BrokerDown);
        }
        if !self.joined_once.load(Ordering::Relaxed) {
            return Err(NotReady::NotJoined);
        }
        let now = stamp(self.epoch);
        let revoked_at = self.revoked_at.load(Ordering::Relaxed);
        if !self.in_group.load(Ordering::Relaxed) && revoked_at > 0 {
            let out = Duration::from_millis(now.saturating_sub(revoked_at));
            if out > REBALANCE_GRACE {
                return Err(NotReady::OutOfGroup(out));
            }
        }
        let stall_after = self.stall_after_ms.load(Ordering::Relaxed);
        let in_flight = self.in_flight.load(Ordering::Relaxed);
        if stall_after > 0 && in_flight > 0 {
            let since = now.saturating_sub(self.moved_at.load(Ordering::Relaxed));
            if since > stall_after {
                return Err(NotReady::Stalled {
                    since: Duration::from_millis(since),
                    in_flight,
                });
            }
        }
        Ok(())
    }

    /// Whether the instance is ready.
    pub fn is_ready(&self) -> bool {
        self.readiness().is_ok()
    }

    /// Remembers `ready` as the last reported state; whether it changed.
    pub(crate) fn note_reported(&self, ready: bool) -> bool {
        self.last_ready.swap(ready, Ordering::Relaxed) != ready
    }

    #[cfg(test)]
    fn age(&self, field: &AtomicU64, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let v = field.load(Ordering::Relaxed);
        field.store(v.saturating_sub(ms).max(1), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined() -> Health {
        let h = Health::default();
        h.set_broker_up(true);
        h.assigned();
        h
    }

    #[test]
    fn ready_only_once_a_broker_is_up_and_the_group_assigned_the_member() {
        let h = Health::default();
        assert_eq!(h.readiness(), Err(NotReady::BrokerDown));
        h.set_broker_up(true);
        assert_eq!(h.readiness(), Err(NotReady::NotJoined));
        h.assigned();
        assert_eq!(h.readiness(), Ok(()));
        h.set_shutting_down();
        assert_eq!(h.readiness(), Err(NotReady::ShuttingDown));
    }

    #[test]
    fn a_rebalance_is_not_a_readiness_failure_until_the_grace_runs_out() {
        let h = joined();
        h.revoked();
        assert_eq!(h.readiness(), Ok(()), "inside the grace");
        h.age(&h.revoked_at, REBALANCE_GRACE + Duration::from_secs(1));
        assert!(matches!(h.readiness(), Err(NotReady::OutOfGroup(_))));
        h.assigned();
        assert_eq!(h.readiness(), Ok(()));
    }

    #[test]
    fn work_in_flight_that_does_not_move_is_a_stall() {
        let h = joined();
        h.set_stall_after(Duration::from_secs(30));
        h.work(3, false);
        assert_eq!(h.readiness(), Ok(()), "work just began");
        h.age(&h.moved_at, Duration::from_secs(31));
        let err = h.readiness().unwrap_err();
        assert!(
            matches!(err, NotReady::Stalled { in_flight: 3, .. }),
            "{err}"
        );
        h.work(2, true);
        assert_eq!(h.readiness(), Ok(()), "a message finished");
        h.age(&h.moved_at, Duration::from_secs(31));
        h.work(0, true);
        assert_eq!(h.readiness(), Ok(()), "idle is not a stall");
        h.age(&h.moved_at, Duration::from_secs(300));
        h.work(1, false);
        assert_eq!(
            h.readiness(),
            Ok(()),
            "work after an idle spell starts a new clock"
        );
    }

    #[test]
    fn stall_detection_can_be_switched_off() {
        let h = joined();
        h.work(5, false);
        h.age(&h.moved_at, Duration::from_secs(3600));
        assert_eq!(h.readiness(), Ok(()));
    }
}
