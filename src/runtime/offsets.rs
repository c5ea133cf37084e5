//! Per-partition tracking of in-flight offsets and the contiguous commit watermark.
//!
//! Work finishes out of order; the offset that may be committed for a partition is the
//! smallest offset still in flight, or one past the highest offset seen when nothing is in
//! flight. Committing it never skips an undelivered message, so a crash at any instant loses
//! nothing. Each assignment of a partition gets a new epoch so that completions of work from
//! an earlier assignment (before a revoke) cannot move the new assignment's watermark.
//!
//! The tracker is also the one count of in-flight work: `running` counts messages begun and
//! not yet finished, whatever their outcome and assignment.
//!
//! It also sees offsets the broker never delivered ([`OffsetTracker::skipped`]): between two
//! consecutive messages of a partition, and between the position an assignment starts from
//! (the committed offset, or where an aborted transaction rewound to) and its first message.
//! Compaction and transaction markers make such gaps in real topics; on a plain topic they
//! mean records were skipped.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

/// Proof that an offset was registered; handed back on completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    /// Partition of the message.
    pub partition: i32,
    /// Offset of the message.
    pub offset: i64,
    /// Assignment epoch the message belongs to.
    pub epoch: u64,
}

#[derive(Debug, Default)]
struct PartitionState {
    epoch: u64,
    pending: BTreeSet<i64>,
    /// One past the highest offset registered.
    next: Option<i64>,
    /// The last watermark handed out for commit.
    committed: Option<i64>,
    /// Where this assignment's first message is expected, when known.
    start: Option<i64>,
    /// Messages of this assignment begun and not finished.
    running: usize,
    /// Being revoked: work not started yet is not wanted.
    revoking: bool,
}

impl PartitionState {
    fn watermark(&self) -> Option<i64> {
        self.pending.first().copied().or(self.next)
    }
}

/// Tracks in-flight offsets of the assigned partitions of one topic.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: HashMap<i32, PartitionState>,
    next_epoch: u64,
    /// Messages begun and not finished (delivered or not).
    running: usize,
}

impl OffsetTracker {
    /// An empty tracker.
    pub fn new() -> OffsetTracker {
        OffsetTracker::default()
    }

    /// Starts tracking a newly assigned partition (resetting any earlier state).
    pub fn assign(&mut self, partition: i32) {
        self.next_epoch += 1;
        self.partitions.insert(
            partition,
            PartitionState {
                epoch: self.next_epoch,
                ..PartitionState::default()
            },
        );
    }

    /// Stops tracking a partition; returns its final watermark, if any offset was seen.
    pub fn revoke(&mut self, partition: i32) -> Option<i64> {
        self.partitions
            .remove(&partition)
            .and_then(|s| s.watermark())
    }

    /// This assignment of `partition` reads from `offset` on (its committed offset, or where
    /// a rewind put it): offsets between it and the first message are reported skipped.
    pub fn expect_from(&mut self, partition: i32, offset: i64) {
        if let Some(s) = self.partitions.get_mut(&partition) {
            if s.next.is_none() {
                s.start = Some(offset);
            }
        }
    }

    /// Offsets of `partition` that the broker skipped if `offset` is consumed next: those
    /// from one past the last consumed message (or the expected start of the assignment) up
    /// to `offset`. `None` for the next offset, a re-read, or an unknown start.
    pub fn skipped(&self, partition: i32, offset: i64) -> Option<Range<i64>> {
        let state = self.partitions.get(&partition)?;
        let expected = state.next.or(state.start)?;
        (offset > expected).then_some(expected..offset)
    }

    /// Registers a consumed offset as in flight.
    pub fn begin(&mut self, partition: i32, offset: i64) -> Ticket {
        if !self.partitions.contains_key(&partition) {
            self.assign(partition);
        }
        let state = self
            .partitions
            .get_mut(&partition)
            .unwrap_or_else(|| unreachable!("inserted above"));
        state.pending.insert(offset);
        state.running += 1;
        self.running += 1;
        state.next = Some(state.next.map_or(offset + 1, |n| n.max(offset + 1)));
        Ticket {
            partition,
            offset,
            epoch: state.epoch,
        }
    }

    /// A begun message is finished. When it was `delivered` (to the output or the DLQ) its
    /// offset is done; else it stays pending, holding the watermark, and is re-read after
    /// a restart or rebalance. Returns whether the offset was marked done (`false` also when
    /// the ticket belongs to an earlier assignment and was ignored).
    pub fn finish(&mut self, ticket: Ticket, delivered: bool) -> bool {
        self.running = self.running.saturating_sub(1);
        match self.partitions.get_mut(&ticket.partition) {
            Some(s) if s.epoch == ticket.epoch => {
                s.running = s.running.saturating_sub(1);
                delivered && s.pending.remove(&ticket.offset)
            }
            _ => false,
        }
    }

    /// Whether `ticket` belongs to its partition's current assignment, and that
    /// assignment is not being revoked.
    pub fn is_current(&self, ticket: Ticket) -> bool {
        self.partitions
            .get(&ticket.partition)
            .is_some_and(|s| s.epoch == ticket.epoch && !s.revoking)
    }

    /// `partition` is being revoked: its work not started yet is no longer wanted
    /// ([`OffsetTracker::is_current`] says no), so the revoke waits only for the work
    /// running ([`OffsetTracker::running_in`]).
    pub fn begin_revoke(&mut self, partition: i32) {
        if let Some(s) = self.partitions.get_mut(&partition) {
            s.revoking = true;
        }
    }

    /// Messages of `partition`'s current assignment begun and not finished.
    pub fn running_in(&self, partition: i32) -> usize {
        self.partitions.get(&partition).map_or(0, |s| s.running)
    }

    /// Messages begun and not yet finished, over all partitions and assignments.
    pub fn running(&self) -> usize {
        self.running
    }

    /// The offset that may be committed for a partition now.
    #[cfg(test)]
    fn watermark(&self, partition: i32) -> Option<i64> {
        self.partitions.get(&partition).and_then(|s| s.watermark())
    }

    /// Tracked partitions.
    pub fn partitions(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self.partitions.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// In-flight count of one partition.
    pub fn pending(&self, partition: i32) -> usize {
        self.partitions
            .get(&partition)
            .map_or(0, |s| s.pending.len())
    }

    /// In-flight count over all partitions.
    pub fn total_pending(&self) -> usize {
        self.partitions.values().map(|s| s.pending.len()).sum()
    }

    /// Watermarks that moved since they were last handed out, marked as handed out.
    pub fn take_commits(&mut self) -> Vec<(i32, i64)> {
        let mut out = Vec::new();
        for (p, s) in &mut self.partitions {
            if let Some(w) = s.watermark() {
                if s.committed != Some(w) {
                    s.committed = Some(w);
                    out.push((*p, w));
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Forgets that watermarks were handed out (after a failed commit), so they are retried.
    pub fn commit_failed(&mut self, commits: &[(i32, i64)]) {
        for (p, w) in commits {
            if let Some(s) = self.partitions.get_mut(p) {
                if s.committed == Some(*w) {
                    s.committed = None;
                }
            }
        }
    }

    /// All current watermarks (for the final commit at shutdown).
    pub fn all_watermarks(&self) -> Vec<(i32, i64)> {
        let mut v: Vec<_> = self
            .partitions
            .iter()
            .filter_map(|(p, s)| s.watermark().map(|w| (*p, w)))
            .collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_the_broker_skipped_are_seen() {
        let mut t = OffsetTracker::new();
        t.assign(0);
        // Unknown start: the first message is not judged.
        assert_eq!(t.skipped(0, 7), None);
        t.expect_from(0, 5);
        assert_eq!(t.skipped(0, 5), None);
        assert_eq!(t.skipped(0, 8), Some(5..8));
        t.begin(0, 8);
        assert_eq!(t.skipped(0, 9), None);
        assert_eq!(t.skipped(0, 12), Some(9..12));
        // A re-read after a rewind is not a gap.
        assert_eq!(t.skipped(0, 3), None);
        // Once messages flowed, a late expect_from changes nothing.
        t.expect_from(0, 100);
        assert_eq!(t.skipped(0, 9), None);
        // A new assignment forgets the old position.
        t.assign(0);
        assert_eq!(t.skipped(0, 50), None);
        assert_eq!(t.skipped(1, 50), None, "an untracked partition");
    }

    #[test]
    fn watermark_is_contiguous_prefix() {
        let mut t = OffsetTracker::new();
        t.assign(0);
        let a = t.begin(0, 10);
        let b = t.begin(0, 11);
        let c = t.begin(0, 12);
        assert_eq!(t.watermark(0), Some(10));
        assert!(t.finish(c, true));
        assert_eq!(t.watermark(0), Some(10), "12 done but 10 pending: no skip");
        assert!(t.finish(a, true));
        assert_eq!(t.watermark(0), Some(11));
        assert!(t.finish(b, true));
        assert_eq!(t.watermark(0), Some(13));
        assert_eq!(t.total_pending(), 0);
        assert_eq!(t.running(), 0);
    }

    #[test]
    fn an_undelivered_message_finishes_but_holds_the_watermark() {
        let mut t = OffsetTracker::new();
        let a = t.begin(0, 4);
        let b = t.begin(0, 5);
        assert_eq!(t.running(), 2);
        assert!(!t.finish(a, false));
        assert!(t.finish(b, true));
        assert_eq!(t.running(), 0);
        assert_eq!(t.watermark(0), Some(4), "4 was never delivered");
    }

    #[test]
    fn take_commits_only_reports_moves_and_retries_failures() {
        let mut t = OffsetTracker::new();
        let a = t.begin(1, 0);
        assert_eq!(t.take_commits(), vec![(1, 0)]);
        assert_eq!(t.take_commits(), vec![]);
        t.finish(a, true);
        let moved = t.take_commits();
        assert_eq!(moved, vec![(1, 1)]);
        t.commit_failed(&moved);
        assert_eq!(t.take_commits(), vec![(1, 1)]);
    }

    #[test]
    fn stale_tickets_after_reassignment_are_ignored() {
        let mut t = OffsetTracker::new();
        t.assign(3);
        let old = t.begin(3, 5);
        assert!(t.is_current(old));
        assert_eq!(t.revoke(3), Some(5));
        assert!(
            !t.is_current(old),
            "revoked: a queued job of it is not wanted"
        );
        t.assign(3);
        let new = t.begin(3, 5);
        assert!(!t.is_current(old), "nor after the partition came back");
        assert!(t.is_current(new));
        assert_eq!(
            t.running_in(3),
            1,
            "the old ticket is not this assignment's"
        );
        t.begin_revoke(3);
        assert!(!t.is_current(new), "being revoked: queued work is released");
        assert!(!t.finish(old, true));
        assert_eq!(t.watermark(3), Some(5));
        assert!(t.finish(new, true));
        assert_eq!(t.watermark(3), Some(6));
        assert_eq!(t.running_in(3), 0);
    }

    #[test]
    fn randomized_completion_order_never_passes_a_pending_offset() {
        // Deterministic pseudo-random permutations.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..50 {
            let mut t = OffsetTracker::new();
            let mut tickets: Vec<Ticket> = (0..200).map(|o| t.begin(0, o)).collect();
            while !tickets.is_empty() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed % tickets.len() as u64) as usize;
                let done = tickets.swap_remove(i);
                t.finish(done, true);
                let w = t.watermark(0).unwrap();
                assert!(tickets.iter().all(|p| p.offset >= w));
            }
            assert_eq!(t.watermark(0), Some(200));
        }
    }
}
