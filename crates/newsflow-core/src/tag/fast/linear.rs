//! The fast tier's linear model: hashed features (see `features.rs`) scored from an
//! open-addressing table of i16 weights, decoded with Viterbi under the BIOSE constraints.
//! Weights are stored sparsely (only the labels a feature has a weight for) and compactly
//! (8-byte slots, 16-bit label+weight pairs, short runs inline), so scoring is integer adds
//! from a table that fits in the caches, and decoding is integer max-plus.
//!
//! The same code scores during training (with `f32` weights, see `training/train.rs`) and
//! at run time, so the feature extraction and the decoder cannot drift apart.

use super::clusters::WordClusters;
use super::features::{features, TokInfo};
use super::model_file::ModelData;
use crate::tag::decoder::{viterbi_with, Scratch, Transitions};
use crate::tag::labels::{label, split_label, N_LABELS, O};
use crate::tag::lexicon::Lexicon;
use crate::tag::EntityType;
use crate::tag::TagError;
use std::sync::Arc;

/// Feature keys of one position buffered for prefetching (a position has fewer than 100
/// features; any beyond this are scored directly).
const KEYS_PER_POSITION: usize = 128;

/// Table load: low enough that a miss (most keys of rare words) ends within a few slots.
const LOAD: f64 = 0.6;

/// Bits of a packed weight (`label << WEIGHT_BITS | weight`): 6 bits of label, 10 of
/// weight. The file's i16 weights are requantized to this range when the model loads
/// (no measurable F1 cost on the dev sets).
const WEIGHT_BITS: u32 = 10;
const WEIGHT_MAX: i32 = (1 << (WEIGHT_BITS - 1)) - 1;

/// Weight runs of at most this many labels live in their slot (most features have one or
/// two), so their look-up touches one cache line.
const INLINE_PAIRS: usize = 2;

/// Marks a slot whose payload holds its weights inline.
const INLINE: u32 = 1 << 31;

/// Features with at least this many labels (the frequent ones: bias, shapes, common words
/// and affixes) keep a dense row of weights, added with SIMD instead of label by label.
const DENSE_FROM: usize = 16;

/// Label slots of a dense row and of the score accumulators (`N_LABELS` rounded up).
const LANES: usize = 64;
const _: () = assert!(N_LABELS <= LANES);

/// A dense row of weights (two cache lines).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct DenseRow([i16; LANES]);

/// Where a feature's weights are: in its slot, a run in `pairs`, or a dense row.
#[derive(Debug, Clone, Copy)]
enum Found {
    Inline(u32),
    Run(u32, u32),
    Dense(u32),
}

/// Score accumulators of one position: sparse adds in i32, dense rows in saturating i16
/// lanes (a position's features cannot come near the i16 range: 100 weights of at most
/// 511).
struct Acc {
    sparse: [i32; LANES],
    dense: [i16; LANES],
}

impl Acc {
    fn new() -> Acc {
        Acc {
            sparse: [0; LANES],
            dense: [0; LANES],
        }
    }

    /// Adds one packed weight (the empty pair 0 adds 0 to label 0).
    #[inline]
    fn add_packed(&mut self, p: u16) {
        let w = i32::from(((p << (16 - WEIGHT_BITS)) as i16) >> (16 - WEIGHT_BITS));
        // `p >> WEIGHT_BITS` < 64 = LANES: no bounds check.
        self.sparse[usize::from(p >> WEIGHT_BITS)] += w;
    }

    #[inline]
    fn add_dense(&mut self, row: &DenseRow) {
        for (a, &w) in self.dense.iter_mut().zip(&row.0) {
            *a = a.saturating_add(w);
        }
    }

    /// Writes the sums to `out` (`N_LABELS` scores) and clears the accumulators.
    #[inline]
    fn drain(&mut self, out: &mut [i32]) {
        for ((o, s), d) in out.iter_mut().zip(&self.sparse).zip(&self.dense) {
            *o += s + i32::from(*d);
        }
        self.sparse = [0; LANES];
        self.dense = [0; LANES];
    }
}

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

/// One slot of the feature table (8 bytes, eight to a cache line): 31 bits of the key
/// (0 = empty) with [`INLINE`] on top, and either up to two packed weights, the
/// `start << 6 | len` of a run in `pairs`, or `index << 6` of a dense row (len 0).
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
struct Slot {
    tag: u32,
    payload: u32,
}

/// The 31 bits of a key a slot keeps (never 0, the empty mark), taken from the key
/// remixed, so they are independent of the low bits that choose the home slot: a false
/// match needs 31 more equal bits (~1 in 2 billion probes; feature keys are 64-bit
/// hashes, which collide in any case).
#[inline]
fn key_tag(key: u64) -> u32 {
    ((key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) as u32).max(1)
}

/// Packs a label and a requantized weight into 16 bits.
#[inline]
fn pack(label: u8, w: i32) -> u16 {
    (u16::from(label) << WEIGHT_BITS) | (w as u16 & ((1 << WEIGHT_BITS) - 1))
}

/// The loaded model, ready to score: a compact open-addressing table from feature key to
/// its weights (inline in the slot, or a run of packed (label, weight) pairs). The whole
/// table is a few MB, so it stays in the caches of small machines too.
#[derive(Debug, Clone)]
pub struct Model {
    slots: Vec<Slot>,
    /// `label << WEIGHT_BITS | weight`, for runs longer than [`INLINE_PAIRS`].
    pairs: Vec<u16>,
    /// Weights of the features with at least [`DENSE_FROM`] labels.
    dense: Vec<DenseRow>,
    n_rows: usize,
    trans: Transitions<i32>,
    /// Real value of one weight unit.
    pub scale: f32,
    /// The prefix and frequency tables the file carries (read by the shared pipeline).
    lexicon: Arc<Lexicon>,
    clusters: WordClusters,
    /// Description stored at training time.
    pub info: String,
    /// Trained on English gold too.
    english: bool,
    /// Size of the file it was read from (0 when built in memory).
    file_bytes: usize,
}

/// How many file units make one run-time unit: 1 when every weight fits in
/// [`WEIGHT_BITS`], else the factor that fits the largest. (Fitting a percentile and
/// clipping the rest cost 3.6 points of NEMO dev F1: the few largest weights matter; the
/// coarser step costs nothing measurable.)
fn requantization(data: &ModelData) -> f32 {
    let max = data
        .rows
        .iter()
        .flat_map(|r| r.1.pairs.iter().map(|p| i32::from(p.1).abs()))
        .max()
        .unwrap_or(0);
    (max as f32 / WEIGHT_MAX as f32).max(1.0)
}

impl Model {
    /// Builds the run-time model.
    pub fn new(data: ModelData) -> Model {
        let factor = requantization(&data);
        let q = |w: i16| ((f32::from(w) / factor).round() as i32).clamp(-WEIGHT_MAX, WEIGHT_MAX);
        let cap = ((data.rows.len() as f64 / LOAD) as usize).max(16);
        let mut slots = vec![Slot::default(); cap];
        let mut pairs = Vec::new();
        let mut dense = Vec::new();
        for (key, row) in &data.rows {
            let packed: Vec<u16> = row
                .pairs
                .iter()
                .map(|&(l, w)| (l, q(w)))
                .filter(|&(_, w)| w != 0)
                .map(|(l, w)| pack(l, w))
                .collect();
            let (tag, payload) = if packed.len() <= INLINE_PAIRS {
                let mut p = 0u32;
                for (j, &x) in packed.iter().enumerate() {
                    p |= u32::from(x) << (16 * j);
                }
                (key_tag(*key) | INLINE, p)
            } else if packed.len() >= DENSE_FROM {
                let mut d = DenseRow([0; LANES]);
                for &(l, w) in &row.pairs {
                    d.0[usize::from(l)] = q(w) as i16;
                }
                dense.push(d);
                (key_tag(*key), (dense.len() as u32 - 1) << 6)
            } else {
                let start = pairs.len() as u32;
                pairs.extend_from_slice(&packed);
                (key_tag(*key), start << 6 | packed.len() as u32)
            };
            let mut s = Self::home(*key, cap);
            while slots[s].tag != 0 && slots[s].tag & !INLINE != key_tag(*key) {
                s = if s + 1 == cap { 0 } else { s + 1 };
            }
            slots[s] = Slot { tag, payload };
        }
        Model {
            slots,
            pairs,
            dense,
            n_rows: data.rows.len(),
            trans: Transitions::new(
                &data
                    .trans
                    .iter()
                    .map(|&w| (f32::from(w) / factor).round() as i32)
                    .collect::<Vec<_>>(),
            ),
            scale: data.scale * factor,
            lexicon: Arc::new(Lexicon::new(data.prefix_len, data.word_freq)),
            clusters: WordClusters::from_pairs(data.clusters).with_names(data.names),
            info: data.info,
            english: data.english,
            file_bytes: 0,
        }
    }

    /// Whether it was trained on English gold (English chunks go to it then).
    pub fn english(&self) -> bool {
        self.english
    }

    /// Loads a model from its bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Model, TagError> {
        let mut model = Model::new(ModelData::from_bytes(b)?);
        model.file_bytes = b.len();
        Ok(model)
    }

    /// Size of the file the model was read from (0 when built in memory).
    pub fn file_bytes(&self) -> usize {
        self.file_bytes
    }

    /// Number of features with weights.
    pub fn n_features(&self) -> usize {
        self.n_rows
    }

    /// Approximate resident size of the weights and tables in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot>()
            + self.pairs.len() * 2
            + self.dense.len() * std::mem::size_of::<DenseRow>()
            + N_LABELS * N_LABELS * 8
            + self.lexicon.memory_bytes()
            + self.clusters.memory_bytes()
    }

    /// The word clusters the model was trained with (its features look them up).
    pub fn clusters(&self) -> &WordClusters {
        &self.clusters
    }

    /// The home slot of `key` (its low 32 bits scaled to the table: no power-of-two size
    /// needed).
    #[inline]
    fn home(key: u64, cap: usize) -> usize {
        ((u64::from(key as u32) * cap as u64) >> 32) as usize
    }

    /// Where the weights of `key` are (`Inline(0)`, nothing to add, when it is unknown).
    #[inline]
    fn find(&self, key: u64) -> Found {
        let tag = key_tag(key);
        let cap = self.slots.len();
        let mut s = Self::home(key, cap);
        loop {
            let slot = self.slots[s];
            if slot.tag & !INLINE == tag {
                return if slot.tag & INLINE != 0 {
                    Found::Inline(slot.payload)
                } else if slot.payload & 63 == 0 {
                    Found::Dense(slot.payload >> 6)
                } else {
                    Found::Run(slot.payload >> 6, slot.payload & 63)
                };
            }
            if slot.tag == 0 {
                return Found::Inline(0);
            }
            s = if s + 1 == cap { 0 } else { s + 1 };
        }
    }

    #[inline]
    fn add_found(&self, f: Found, acc: &mut Acc) {
        match f {
            Found::Inline(p) => {
                acc.add_packed(p as u16);
                acc.add_packed((p >> 16) as u16);
            }
            Found::Run(a, n) => {
                for &p in &self.pairs[a as usize..(a + n) as usize] {
                    acc.add_packed(p);
                }
            }
            Found::Dense(i) => acc.add_dense(&self.dense[i as usize]),
        }
    }

    /// Adds the weights of `key` to `scores` (`N_LABELS` of them).
    #[cfg(test)]
    fn add_row(&self, key: u64, scores: &mut [i32]) {
        let mut acc = Acc::new();
        self.add_found(self.find(key), &mut acc);
        acc.drain(scores);
    }

    /// Emission scores of every position (`toks.len() * N_LABELS`, reusing `emis`).
    pub fn emissions(&self, toks: &[TokInfo], emis: &mut Vec<i32>) {
        emis.clear();
        emis.resize(toks.len() * N_LABELS, 0);
        // The keys of a position are collected first and their slots prefetched, so the
        // look-ups overlap instead of waiting for memory one after another.
        let mut keys = [0u64; KEYS_PER_POSITION];
        let mut found = [Found::Inline(0); KEYS_PER_POSITION];
        let mut acc = Acc::new();
        let cap = self.slots.len();
        for i in 0..toks.len() {
            let mut n = 0;
            features(toks, i, |k| {
                if n < keys.len() {
                    keys[n] = k;
                    n += 1;
                } else {
                    self.add_found(self.find(k), &mut acc);
                }
            });
            for &k in &keys[..n] {
                prefetch(self.slots[Self::home(k, cap)..].as_ptr());
            }
            // Then the weights of the slots found (most are inline).
            for j in 0..n {
                let f = self.find(keys[j]);
                found[j] = f;
                match f {
                    Found::Inline(_) => {}
                    Found::Run(a, _) => prefetch(self.pairs[a as usize..].as_ptr()),
                    Found::Dense(d) => {
                        let row = &self.dense[d as usize].0;
                        prefetch(row.as_ptr());
                        prefetch(row[LANES / 2..].as_ptr());
                    }
                }
            }
            for &f in &found[..n] {
                self.add_found(f, &mut acc);
            }
            acc.drain(&mut emis[i * N_LABELS..(i + 1) * N_LABELS]);
        }
    }

    /// Decodes the best label sequence.
    pub fn decode(&self, emis: &[i32], scratch: &mut Scratch<i32>, out: &mut Vec<u8>) {
        viterbi_with(emis, &self.trans, scratch, out);
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
        self.trans.get(prev, cur)
    }

    /// The prefix and frequency tables the model file carries.
    pub fn lexicon(&self) -> &Arc<Lexicon> {
        &self.lexicon
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tag::fast::model_file::SparseRow;
    use crate::tag::labels::Pos;

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

    /// A model with one feature per weight-run length (inline, sparse run, dense row).
    fn model_with_runs(lens: &[usize], weight: impl Fn(usize, usize) -> i16) -> Model {
        let rows = lens
            .iter()
            .enumerate()
            .map(|(k, &len)| {
                let pairs = (0..len)
                    .map(|j| ((j * 3 % N_LABELS) as u8, weight(k, j)))
                    .collect();
                (
                    1000 + (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    SparseRow { pairs },
                )
            })
            .collect();
        Model::new(ModelData {
            scale: 0.01,
            trans: vec![0; N_LABELS * N_LABELS],
            rows,
            ..ModelData::default()
        })
    }

    #[test]
    fn every_weight_layout_scores_what_the_file_holds() {
        let lens = [
            1,
            2,
            INLINE_PAIRS + 1,
            DENSE_FROM - 1,
            DENSE_FROM,
            N_LABELS / 3 + 1,
        ];
        let w = |k: usize, j: usize| (k as i16 + 1) * 7 - j as i16 * 3 - 20;
        let m = model_with_runs(&lens, w);
        assert_eq!(m.scale, 0.01, "weights within 10 bits are not requantized");
        for (k, &len) in lens.iter().enumerate() {
            let mut scores = vec![0; N_LABELS];
            m.add_row(
                1000 + (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                &mut scores,
            );
            let mut want = vec![0; N_LABELS];
            for j in 0..len {
                want[j * 3 % N_LABELS] += i32::from(w(k, j));
            }
            assert_eq!(scores, want, "run of {len}");
        }
        // An unknown key adds nothing.
        let mut scores = vec![0; N_LABELS];
        m.add_row(42, &mut scores);
        assert!(scores.iter().all(|&s| s == 0));
    }

    #[test]
    fn large_weights_are_requantized_with_the_scale() {
        let m = model_with_runs(&[1, 4, 20], |k, j| [32000, -9000, 64][(k + j) % 3]);
        let factor = 32000.0 / WEIGHT_MAX as f32;
        assert!((m.scale - 0.01 * factor).abs() < 1e-6);
        // Real values are kept to within half a step.
        for (k, len) in [1usize, 4, 20].into_iter().enumerate() {
            let mut scores = vec![0; N_LABELS];
            m.add_row(
                1000 + (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                &mut scores,
            );
            for j in 0..len {
                let real = f32::from([32000i16, -9000, 64][(k + j) % 3]) * 0.01;
                let got = scores[j * 3 % N_LABELS] as f32 * m.scale;
                assert!(
                    (got - real).abs() <= m.scale / 2.0 + 1e-4,
                    "{got} vs {real}"
                );
            }
        }
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
            names: vec![(15, 3)],
            english: false,
            info: "test".into(),
        };
        let bytes = data.to_bytes();
        let back = ModelData::from_bytes(&bytes).unwrap();
        assert!(!back.english);
        assert_eq!(back.rows[0].1.pairs, vec![(1, 3), (5, -2)]);
        // The English flag round-trips, with or without the word tables before it.
        for (clusters, names) in [(vec![], vec![]), (data.clusters.clone(), vec![])] {
            let english = ModelData {
                clusters,
                names,
                english: true,
                ..data.clone()
            };
            let back = ModelData::from_bytes(&english.to_bytes()).unwrap();
            assert!(back.english);
            assert!(Model::new(back).english());
        }
        assert_eq!(back.info, "test");
        assert_eq!(back.clusters, vec![(13, [1, 40, 65535])]);
        assert_eq!(back.names, vec![(15, 3)]);
        // Name flags without clusters round-trip (an empty cluster section comes first).
        let names_only = ModelData {
            clusters: Vec::new(),
            ..data.clone()
        };
        let round = ModelData::from_bytes(&names_only.to_bytes()).unwrap();
        assert!(round.clusters.is_empty());
        assert_eq!(round.names, vec![(15, 3)]);
        // A model written without clusters or names (the older format) still loads.
        let old = ModelData {
            clusters: Vec::new(),
            names: Vec::new(),
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
