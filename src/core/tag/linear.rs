//! The fast tier's linear model: hashed features (see `features.rs`) scored from an
//! open-addressing table of i16 weights, decoded with Viterbi under the BIOSE constraints.
//! Weights are stored sparsely (only the labels a feature has a weight for), so scoring is
//! integer adds and decoding is integer max-plus.
//!
//! The same code scores during training (with `f32` weights, see `training/train.rs`) and
//! at run time, so the feature extraction and the decoder cannot drift apart.

use super::clusters::WordClusters;
use super::decoder::{viterbi, Scratch};
use super::features::{features, TokInfo};
use super::labels::{label, split_label, Constraints, N_LABELS, O};
use super::model_file::ModelData;
use super::EntityType;
use super::TagError;
use std::collections::HashMap;

/// Feature keys of one position buffered for prefetching (a position has fewer than 100
/// features; any beyond this are scored directly).
const KEYS_PER_POSITION: usize = 128;

/// Hints the CPU to fetch the cache line at `p` (a no-op on other architectures).
#[inline]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint and never faults; `p` points into a live slice.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// One slot of the feature table: key, offset and length of its weight run (16 bytes, so
/// a lookup touches one cache line).
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
struct Slot {
    key: u64,
    start: u32,
    len: u32,
}

/// The loaded model, ready to score: an open-addressing table from feature key to a
/// contiguous run of packed (label, weight) pairs.
#[derive(Debug, Clone)]
pub struct Model {
    mask: usize,
    slots: Vec<Slot>,
    /// `label << 16 | weight as u16`.
    pairs: Vec<u32>,
    n_rows: usize,
    trans: Vec<i32>,
    cons: Constraints,
    /// Real value of one weight unit.
    pub scale: f32,
    prefix_len: HashMap<u64, u8>,
    word_freq: HashMap<u64, u32>,
    clusters: WordClusters,
    /// Description stored at training time.
    pub info: String,
}

impl Model {
    /// Builds the run-time model.
    pub fn new(data: ModelData) -> Model {
        // Load factor between 0.4 and 0.8: a small table stays in cache.
        let cap = (data.rows.len() + data.rows.len() / 4)
            .next_power_of_two()
            .max(16);
        let mask = cap - 1;
        let mut slots = vec![Slot::default(); cap];
        let n_pairs: usize = data.rows.iter().map(|r| r.1.pairs.len()).sum();
        let mut pairs = Vec::with_capacity(n_pairs);
        for (key, row) in &data.rows {
            let mut s = (*key as usize) & mask;
            while slots[s].key != 0 && slots[s].key != *key {
                s = (s + 1) & mask;
            }
            slots[s] = Slot {
                key: *key,
                start: pairs.len() as u32,
                len: row.pairs.len() as u32,
            };
            for &(l, w) in &row.pairs {
                pairs.push(u32::from(l) << 16 | u32::from(w as u16));
            }
        }
        Model {
            mask,
            slots,
            pairs,
            n_rows: data.rows.len(),
            trans: data.trans.iter().map(|&w| i32::from(w)).collect(),
            cons: Constraints::default(),
            scale: data.scale,
            prefix_len: data.prefix_len.into_iter().collect(),
            word_freq: data.word_freq.into_iter().collect(),
            clusters: WordClusters::from_pairs(data.clusters),
            info: data.info,
        }
    }

    /// Loads a model from its bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Model, TagError> {
        Ok(Model::new(ModelData::from_bytes(b)?))
    }

    /// Number of features with weights.
    pub fn n_features(&self) -> usize {
        self.n_rows
    }

    /// Approximate resident size of the weights and tables in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot>()
            + self.pairs.len() * 4
            + self.trans.len() * 4
            + (self.prefix_len.len() + self.word_freq.len()) * 24
            + self.clusters.memory_bytes()
    }

    /// The word clusters the model was trained with (its features look them up).
    pub fn clusters(&self) -> &WordClusters {
        &self.clusters
    }

    /// The weight run of `key`: `(start, len)` in `pairs`, `(0, 0)` when unknown.
    #[inline]
    fn find(&self, key: u64) -> (usize, usize) {
        let mut s = (key as usize) & self.mask;
        loop {
            let slot = self.slots[s];
            if slot.key == key {
                return (slot.start as usize, slot.len as usize);
            }
            if slot.key == 0 {
                return (0, 0);
            }
            s = (s + 1) & self.mask;
        }
    }

    #[inline]
    fn add_run(&self, (a, n): (usize, usize), scores: &mut [i32]) {
        for &p in &self.pairs[a..a + n] {
            scores[(p >> 16) as usize] += i32::from(p as u16 as i16);
        }
    }

    #[inline]
    fn add_row(&self, key: u64, scores: &mut [i32]) {
        self.add_run(self.find(key), scores);
    }

    /// Emission scores of every position (`toks.len() * N_LABELS`, reusing `emis`).
    pub fn emissions(&self, toks: &[TokInfo], emis: &mut Vec<i32>) {
        emis.clear();
        emis.resize(toks.len() * N_LABELS, 0);
        // The table is larger than the L2 cache: the keys of a position are collected
        // first and their slots prefetched, so the look-ups overlap instead of waiting
        // for memory one after another.
        let mut keys = [0u64; KEYS_PER_POSITION];
        let mut runs = [(0usize, 0usize); KEYS_PER_POSITION];
        for i in 0..toks.len() {
            let row = &mut emis[i * N_LABELS..(i + 1) * N_LABELS];
            let mut n = 0;
            features(toks, i, |k| {
                if n < keys.len() {
                    keys[n] = k;
                    n += 1;
                } else {
                    self.add_row(k, row);
                }
            });
            for &k in &keys[..n] {
                prefetch(self.slots[(k as usize) & self.mask..].as_ptr());
            }
            // Then the weight runs of the slots found.
            for j in 0..n {
                let run = self.find(keys[j]);
                runs[j] = run;
                prefetch(self.pairs[run.0..].as_ptr());
            }
            for &run in &runs[..n] {
                self.add_run(run, row);
            }
        }
    }

    /// Decodes the best label sequence.
    pub fn decode(&self, emis: &[i32], scratch: &mut Scratch<i32>, out: &mut Vec<u8>) {
        viterbi(emis, &self.trans, &self.cons, scratch, out);
    }

    /// How much better the decoded path is than its nearest rivals for the entity at
    /// `labels[start..end]`: the same path with the span read as `O`, or as another type
    /// with the same B/I/E/S shape (emissions and transitions of the span and its two
    /// boundaries). Unlike a per-token margin it does not punish a multi-word name whose
    /// inner words alone look like something else.
    pub fn span_margin(&self, emis: &[i32], labels: &[u8], start: usize, end: usize) -> i32 {
        let n = labels.len();
        let window = |f: &dyn Fn(usize) -> u8| -> i32 {
            let at = |j: usize| {
                if (start..end).contains(&j) {
                    f(j)
                } else {
                    labels[j]
                }
            };
            let mut v = 0;
            for j in start..end {
                v += emis[j * N_LABELS + usize::from(at(j))];
            }
            for j in start.max(1)..(end + 1).min(n) {
                v += self.trans(at(j - 1), at(j));
            }
            v
        };
        let best = window(&|j| labels[j]);
        let kind = split_label(labels[start]).1;
        let mut rival = window(&|_| O);
        for t in EntityType::ALL {
            if Some(t) != kind {
                rival = rival.max(window(&|j| label(split_label(labels[j]).0, t)));
            }
        }
        best - rival
    }

    /// Transition weight.
    pub fn trans(&self, prev: u8, cur: u8) -> i32 {
        self.trans[usize::from(prev) * N_LABELS + usize::from(cur)]
    }

    /// Learned number of prefix letters outside an entity starting with this token.
    pub fn known_prefix_len(&self, token_hash: u64) -> Option<u8> {
        self.prefix_len.get(&token_hash).copied()
    }

    /// Training-text frequency of a word.
    pub fn word_freq(&self, word_hash: u64) -> u32 {
        self.word_freq.get(&word_hash).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::tag::labels::Pos;
    use crate::core::tag::model_file::SparseRow;

    #[test]
    fn span_margin_compares_the_path_with_o_and_other_types() {
        let data = ModelData {
            scale: 1.0,
            trans: vec![0; N_LABELS * N_LABELS],
            ..ModelData::default()
        };
        let m = Model::new(data);
        let (b, e) = (
            label(Pos::B, EntityType::ORG),
            label(Pos::E, EntityType::ORG),
        );
        let (bp, ep) = (
            label(Pos::B, EntityType::PER),
            label(Pos::E, EntityType::PER),
        );
        // Three tokens, the entity on tokens 1-2: B-ORG E-ORG scores 5 + 4, O O 2 + 3,
        // B-PER E-PER 6 + 1.
        let mut emis = vec![0; 3 * N_LABELS];
        let set =
            |emis: &mut Vec<i32>, i: usize, l: u8, v: i32| emis[i * N_LABELS + usize::from(l)] = v;
        set(&mut emis, 1, b, 5);
        set(&mut emis, 2, e, 4);
        set(&mut emis, 1, O, 2);
        set(&mut emis, 2, O, 3);
        set(&mut emis, 1, bp, 6);
        set(&mut emis, 2, ep, 1);
        let labels = [O, b, e];
        assert_eq!(m.span_margin(&emis, &labels, 1, 3), 9 - 7);
        // Transitions count: O -> B-ORG costs 3.
        let mut data = ModelData {
            scale: 1.0,
            trans: vec![0; N_LABELS * N_LABELS],
            ..ModelData::default()
        };
        data.trans[usize::from(O) * N_LABELS + usize::from(b)] = -3;
        let m = Model::new(data);
        assert_eq!(m.span_margin(&emis, &labels, 1, 3), 6 - 7);
    }

    #[test]
    fn model_bytes_round_trip() {
        let data = ModelData {
            scale: 0.5,
            trans: vec![1; N_LABELS * N_LABELS],
            rows: vec![(
                7,
                SparseRow {
                    pairs: vec![(1, 3), (5, -2)],
                },
            )],
            prefix_len: vec![(9, 1)],
            word_freq: vec![(11, 4)],
            clusters: vec![(13, [1, 40, 65535])],
            info: "test".into(),
        };
        let bytes = data.to_bytes();
        let back = ModelData::from_bytes(&bytes).unwrap();
        assert_eq!(back.rows[0].1.pairs, vec![(1, 3), (5, -2)]);
        assert_eq!(back.info, "test");
        assert_eq!(back.clusters, vec![(13, [1, 40, 65535])]);
        // A model written without clusters (the older format) still loads.
        let old = ModelData {
            clusters: Vec::new(),
            ..data.clone()
        };
        assert!(ModelData::from_bytes(&old.to_bytes())
            .unwrap()
            .clusters
            .is_empty());
        assert!(ModelData::from_bytes(&bytes[..bytes.len() - 3]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(ModelData::from_bytes(&longer).is_err());
        let m = Model::new(back);
        let mut scores = vec![0; N_LABELS];
        m.add_row(7, &mut scores);
        assert_eq!((scores[1], scores[5]), (3, -2));
        m.add_row(8, &mut scores);
        assert_eq!(scores[1], 3);
        assert!(ModelData::from_bytes(b"garbage").is_err());
    }
}
