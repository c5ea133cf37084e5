//! Recent-article index for duplicate flagging: exact duplicates by content hash and
//! near-duplicates by SimHash Hamming distance, over a bounded window of the most recent
//! articles. Duplicates are flagged in the output (`duplicate_of`), never dropped.
//!
//! Near-duplicate lookup uses the pigeonhole trick: with at most `d` differing bits, at least
//! one of `d + 1` disjoint bit bands of the two hashes is identical, so candidates come from
//! `d + 1` band maps and are confirmed by their full distance. Each band bucket keeps only
//! its [`MAX_BUCKET`] most recent articles, so a burst of copies of one story (a wire story
//! republished everywhere, a scraper re-sending its backlog) costs a bounded amount per
//! lookup instead of a scan of every copy in the window.

use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Most recent articles kept per band bucket. Near-identical articles share buckets; beyond
/// this many, the oldest leave the bucket (they stay in the window and the exact index),
/// and a near-duplicate is reported against one of the newer copies instead.
pub const MAX_BUCKET: usize = 128;

/// How an article duplicates an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateKind {
    /// Same normalized title and body.
    Exact,
    /// SimHash within the configured Hamming distance.
    Near,
}

/// The earlier article this one duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateOf {
    /// Id of the earlier article.
    pub id: String,
    /// Exact or near.
    pub kind: DuplicateKind,
    /// SimHash Hamming distance (0 for exact).
    pub distance: u32,
}

struct Entry {
    seq: u64,
    id: String,
    exact: u64,
    simhash: u64,
}

struct Inner {
    ring: VecDeque<Entry>,
    next_seq: u64,
    exact: HashMap<u64, u64>,
    bands: Vec<HashMap<u64, Vec<u64>>>,
}

/// A bounded, thread-safe index of recently seen articles.
pub struct DedupIndex {
    window: usize,
    max_distance: u32,
    band_masks: Vec<(u32, u64)>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for DedupIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DedupIndex")
            .field("window", &self.window)
            .field("max_distance", &self.max_distance)
            .finish()
    }
}

impl DedupIndex {
    /// An index remembering the last `window` articles, flagging SimHash distances up to
    /// `max_distance` (at most 15) as near-duplicates.
    pub fn new(window: usize, max_distance: u32) -> DedupIndex {
        let max_distance = max_distance.min(15);
        let n = max_distance as usize + 1;
        let width = 64 / n as u32;
        let band_masks = (0..n as u32)
            .map(|b| {
                let shift = b * width;
                let bits = if b as usize == n - 1 {
                    64 - shift
                } else {
                    width
                };
                let mask = if bits >= 64 {
                    u64::MAX
                } else {
                    (1u64 << bits) - 1
                };
                (shift, mask)
            })
            .collect();
        DedupIndex {
            window: window.max(1),
            max_distance,
            band_masks,
            inner: Mutex::new(Inner {
                ring: VecDeque::new(),
                next_seq: 0,
                exact: HashMap::new(),
                bands: vec![HashMap::new(); n],
            }),
        }
    }

    /// Checks an article against the window and remembers it. An earlier article with the
    /// same `id` is not reported (a redelivery or an update of the same article).
    pub fn check_and_insert(&self, id: &str, exact: u64, simhash: u64) -> Option<DuplicateOf> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let found = self.find(&inner, id, exact, simhash);
        let known = inner
            .exact
            .get(&exact)
            .and_then(|s| Self::entry(&inner, *s))
            .is_some_and(|e| e.id == id);
        if known {
            return found; // a redelivery of a remembered article: nothing new to remember
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.exact.insert(exact, seq);
        for (b, (shift, mask)) in self.band_masks.iter().enumerate() {
            let bucket = inner.bands[b].entry((simhash >> shift) & mask).or_default();
            if bucket.len() >= MAX_BUCKET {
                bucket.remove(0);
            }
            bucket.push(seq);
        }
        inner.ring.push_back(Entry {
            seq,
            id: id.to_string(),
            exact,
            simhash,
        });
        while inner.ring.len() > self.window {
            if let Some(old) = inner.ring.pop_front() {
                self.forget(&mut inner, &old);
            }
        }
        found
    }

    fn entry(inner: &Inner, seq: u64) -> Option<&Entry> {
        let first = inner.ring.front()?.seq;
        let idx = usize::try_from(seq.checked_sub(first)?).ok()?;
        inner.ring.get(idx).filter(|e| e.seq == seq)
    }

    fn find(&self, inner: &Inner, id: &str, exact: u64, simhash: u64) -> Option<DuplicateOf> {
        if let Some(e) = inner.exact.get(&exact).and_then(|s| Self::entry(inner, *s)) {
            if e.id != id {
                return Some(DuplicateOf {
                    id: e.id.clone(),
                    kind: DuplicateKind::Exact,
                    distance: 0,
                });
            }
        }
        let mut best: Option<(u32, u64)> = None;
        for (b, (shift, mask)) in self.band_masks.iter().enumerate() {
            let Some(seqs) = inner.bands[b].get(&((simhash >> shift) & mask)) else {
                continue;
            };
            for seq in seqs {
                let Some(e) = Self::entry(inner, *seq) else {
                    continue;
                };
                // Distance first (one XOR): the id comparison only for real candidates.
                let d = (e.simhash ^ simhash).count_ones();
                if d <= self.max_distance
                    && best.is_none_or(|(bd, bs)| (d, *seq) < (bd, bs))
                    && e.id != id
                {
                    best = Some((d, *seq));
                }
            }
        }
        best.and_then(|(d, seq)| {
            Self::entry(inner, seq).map(|e| DuplicateOf {
                id: e.id.clone(),
                kind: DuplicateKind::Near,
                distance: d,
            })
        })
    }

    fn forget(&self, inner: &mut Inner, old: &Entry) {
        if inner.exact.get(&old.exact) == Some(&old.seq) {
            inner.exact.remove(&old.exact);
        }
        for (b, (shift, mask)) in self.band_masks.iter().enumerate() {
            let key = (old.simhash >> shift) & mask;
            if let Some(v) = inner.bands[b].get_mut(&key) {
                v.retain(|s| *s != old.seq);
                if v.is_empty() {
                    inner.bands[b].remove(&key);
                }
            }
        }
    }

    /// Articles currently remembered.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |i| i.ring.len())
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[cfg(test)]
    fn largest_bucket(&self) -> usize {
        let inner = self.inner.lock().unwrap();
        inner
            .bands
            .iter()
            .flat_map(|b| b.values().map(Vec::len))
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_near_duplicates_are_flagged() {
        let d = DedupIndex::new(100, 3);
        assert_eq!(d.check_and_insert("a", 1, 0b1111_0000), None);
        let exact = d.check_and_insert("b", 1, 0b1111_0000).unwrap();
        assert_eq!((exact.id.as_str(), exact.kind), ("a", DuplicateKind::Exact));
        let near = d.check_and_insert("c", 2, 0b1111_0111).unwrap();
        assert_eq!(near.kind, DuplicateKind::Near);
        assert_eq!(near.distance, 3);
        assert_eq!(
            d.check_and_insert("e", 3, !0b1111_0000u64),
            None,
            "far apart"
        );
    }

    #[test]
    fn same_id_is_not_a_duplicate_of_itself() {
        let d = DedupIndex::new(100, 3);
        d.check_and_insert("a", 1, 5);
        assert_eq!(d.check_and_insert("a", 1, 5), None);
        assert_eq!(d.len(), 1, "redelivery is not remembered twice");
    }

    #[test]
    fn window_is_bounded_and_old_articles_forgotten() {
        let d = DedupIndex::new(10, 3);
        d.check_and_insert("first", 42, 0xdead_beef);
        for i in 0..50u64 {
            d.check_and_insert(
                &format!("x{i}"),
                1000 + i,
                i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            );
        }
        assert_eq!(d.len(), 10);
        assert_eq!(
            d.check_and_insert("again", 42, 0xdead_beef),
            None,
            "evicted"
        );
    }

    #[test]
    fn a_flood_of_copies_keeps_buckets_bounded_and_is_still_flagged() {
        let d = DedupIndex::new(100_000, 3);
        d.check_and_insert("original", 1, 0xfeed_f00d);
        for i in 0..5_000u64 {
            // Same SimHash, different exact hashes (near-identical copies).
            let found = d.check_and_insert(&format!("copy{i}"), 100 + i, 0xfeed_f00d);
            assert_eq!(found.map(|f| f.kind), Some(DuplicateKind::Near), "copy {i}");
        }
        assert_eq!(d.len(), 5_001);
        assert!(d.largest_bucket() <= MAX_BUCKET);
        // Exact copies are found through the exact index whatever the buckets hold.
        let exact = d.check_and_insert("late", 1, 0xfeed_f00d).unwrap();
        assert_eq!(
            (exact.id.as_str(), exact.kind),
            ("original", DuplicateKind::Exact)
        );
    }

    #[test]
    fn every_distance_up_to_the_limit_is_found() {
        // Pigeonhole banding must not miss any pair within the distance (while no bucket
        // overflows: fewer variants than MAX_BUCKET).
        const _: () = assert!(MAX_BUCKET > 100);
        let d = DedupIndex::new(1000, 3);
        let base = 0x0123_4567_89ab_cdefu64;
        d.check_and_insert("base", 1, base);
        let mut seed = 7u64;
        for i in 0..100 {
            let mut h = base;
            for _ in 0..3 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                h ^= 1 << (seed >> 58);
            }
            let dist = (h ^ base).count_ones();
            let found = d.check_and_insert(&format!("v{i}"), 10 + i, h);
            assert!(found.is_some(), "distance {dist} missed");
        }
    }
}
