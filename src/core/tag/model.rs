//! The statistical sequence model: a linear model over hashed features with BIOSE labels
//! for the 13 entity types, decoded with Viterbi under the BIOSE transition constraints.
//! Weights are i16-quantized and stored sparsely (only the labels a feature has a weight
//! for), so scoring is integer adds and decoding is integer max-plus.
//!
//! The same code scores during training (with `f32` weights, see `train.rs`) and at run
//! time, so the feature extraction and the decoder cannot drift apart.

use super::clusters::{WordClusters, LEVELS};
use super::features::{features, TokInfo};
use super::{EntityType, TagError};
use std::collections::HashMap;

/// Number of entity types the model knows (all of [`EntityType::ALL`]).
pub const N_TYPES: usize = 13;
/// Number of labels: `O` plus B, I, E, S for every type.
pub const N_LABELS: usize = 1 + 4 * N_TYPES;
/// Label of `O`.
pub const O: u8 = 0;

/// Position part of a BIOSE label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pos {
    /// Outside.
    O,
    /// Begin.
    B,
    /// Inside.
    I,
    /// End.
    E,
    /// Single.
    S,
}

/// The label for a position and type.
pub fn label(pos: Pos, kind: EntityType) -> u8 {
    let t = kind as u8;
    match pos {
        Pos::O => O,
        Pos::B => 1 + 4 * t,
        Pos::I => 2 + 4 * t,
        Pos::E => 3 + 4 * t,
        Pos::S => 4 + 4 * t,
    }
}

/// Position and type of a label.
pub fn split_label(l: u8) -> (Pos, Option<EntityType>) {
    if l == O {
        return (Pos::O, None);
    }
    let t = usize::from((l - 1) / 4);
    let pos = match (l - 1) % 4 {
        0 => Pos::B,
        1 => Pos::I,
        2 => Pos::E,
        _ => Pos::S,
    };
    (pos, Some(EntityType::ALL[t]))
}

/// Parses a BIOSE tag such as `B-PER` or `O` into a position and a type name.
pub fn parse_tag(tag: &str) -> Option<(Pos, &str)> {
    if tag == "O" {
        return Some((Pos::O, ""));
    }
    let (p, t) = tag.split_once('-')?;
    let pos = match p {
        "B" => Pos::B,
        "I" => Pos::I,
        "E" => Pos::E,
        "S" => Pos::S,
        _ => return None,
    };
    Some((pos, t))
}

/// The BIOSE tag string of a label.
pub fn tag_string(l: u8) -> String {
    match split_label(l) {
        (Pos::O, _) | (_, None) => "O".to_string(),
        (p, Some(t)) => {
            let c = match p {
                Pos::B => 'B',
                Pos::I => 'I',
                Pos::E => 'E',
                _ => 'S',
            };
            format!("{c}-{}", t.as_str())
        }
    }
}

/// Whether label `cur` may follow `prev` (`None` = sentence start).
pub fn allowed(prev: Option<u8>, cur: u8) -> bool {
    let open = |l: u8| matches!(split_label(l).0, Pos::B | Pos::I);
    match prev {
        Some(p) if open(p) => {
            let (cp, ct) = split_label(cur);
            matches!(cp, Pos::I | Pos::E) && ct == split_label(p).1
        }
        _ => matches!(split_label(cur).0, Pos::O | Pos::B | Pos::S),
    }
}

/// Whether a sequence may end with `l`.
pub fn can_end(l: u8) -> bool {
    matches!(split_label(l).0, Pos::O | Pos::E | Pos::S)
}

/// The BIOSE constraints in the form the decoder uses, precomputed once.
#[derive(Debug, Clone)]
pub struct Constraints {
    /// Labels after which a new entity (or O) may start: O, E-*, S-*.
    closed: Vec<u8>,
    /// For every label: `None` if it follows closed labels (O, B-*, S-*), else the two
    /// labels it may follow (B-t, I-t).
    inside_prev: Vec<Option<[u8; 2]>>,
}

impl Default for Constraints {
    fn default() -> Self {
        let closed: Vec<u8> = (0..N_LABELS as u8).filter(|&l| can_end(l)).collect();
        let inside_prev = (0..N_LABELS as u8)
            .map(|cur| match split_label(cur) {
                (Pos::I | Pos::E, Some(t)) => Some([label(Pos::B, t), label(Pos::I, t)]),
                _ => None,
            })
            .collect();
        let c = Constraints {
            closed,
            inside_prev,
        };
        debug_assert!((0..N_LABELS as u8).all(|cur| (0..N_LABELS as u8).all(|p| {
            let via = match c.inside_prev[usize::from(cur)] {
                Some(ps) => ps.contains(&p),
                None => c.closed.contains(&p),
            };
            via == allowed(Some(p), cur)
        })));
        c
    }
}

/// A score type for the decoder (i32 at run time, f32 in training).
pub trait Score:
    Copy + PartialOrd + std::ops::Add<Output = Self> + std::ops::Sub<Output = Self> + Default
{
    /// A very low score for forbidden labels.
    const NEG: Self;
}
impl Score for i32 {
    const NEG: i32 = i32::MIN / 4;
}
impl Score for f32 {
    const NEG: f32 = -1.0e30;
}

/// Reusable decoder buffers.
#[derive(Debug, Default, Clone)]
pub struct Scratch<S> {
    delta: Vec<S>,
    closed_prev: Vec<S>,
    trans_closed: Vec<S>,
    cand: Vec<u8>,
}

#[inline]
fn max_plus<S: Score>(a: &[S], b: &[S]) -> S {
    let mut m = S::NEG;
    for (&x, &y) in a.iter().zip(b) {
        let v = x + y;
        if v > m {
            m = v;
        }
    }
    m
}

/// Viterbi over `n = emis.len() / N_LABELS` positions with transition matrix `trans`
/// (`prev * N_LABELS + cur`) under the BIOSE constraints; writes the best labels to `out`.
/// The forward pass only takes maxima (vectorizable); back-pointers are recovered in the
/// backward pass from the stored scores.
pub fn viterbi<S: Score>(
    emis: &[S],
    trans: &[S],
    cons: &Constraints,
    scratch: &mut Scratch<S>,
    out: &mut Vec<u8>,
) {
    const L: usize = N_LABELS;
    let n = emis.len() / L;
    out.clear();
    if n == 0 {
        return;
    }
    let nc = cons.closed.len();
    // Transitions from closed labels, laid out per current label.
    scratch.trans_closed.clear();
    for cur in 0..L {
        for &p in &cons.closed {
            scratch.trans_closed.push(trans[usize::from(p) * L + cur]);
        }
    }
    // Exact pruning: a closed predecessor whose score is more than `range` below the best
    // one can never win, `range` being the largest spread of transition weights into any
    // label.
    let mut range = S::default();
    for cur in 0..L {
        if cons.inside_prev[cur].is_none() {
            let row = &scratch.trans_closed[cur * nc..(cur + 1) * nc];
            let (mut lo, mut hi) = (row[0], row[0]);
            for &x in row {
                if x < lo {
                    lo = x;
                }
                if x > hi {
                    hi = x;
                }
            }
            let spread = hi - lo;
            if spread > range {
                range = spread;
            }
        }
    }
    scratch.cand.clear();
    scratch.delta.clear();
    scratch.delta.resize(n * L, S::NEG);
    scratch.closed_prev.resize(nc, S::NEG);
    for (l, &e) in emis.iter().enumerate().take(L) {
        if allowed(None, l as u8) {
            scratch.delta[l] = e;
        }
    }
    for i in 1..n {
        let (prev_rows, cur_rows) = scratch.delta.split_at_mut(i * L);
        let prev = &prev_rows[(i - 1) * L..];
        let cur_row = &mut cur_rows[..L];
        let mut top = S::NEG;
        for (k, &p) in cons.closed.iter().enumerate() {
            let v = prev[usize::from(p)];
            scratch.closed_prev[k] = v;
            if v > top {
                top = v;
            }
        }
        scratch.cand.clear();
        for (k, &v) in scratch.closed_prev.iter().enumerate() {
            if v + range >= top {
                scratch.cand.push(k as u8);
            }
        }
        let e = &emis[i * L..(i + 1) * L];
        let few = scratch.cand.len() * 3 < nc;
        for cur in 0..L {
            let best = match cons.inside_prev[cur] {
                None if few => {
                    let t = &scratch.trans_closed[cur * nc..(cur + 1) * nc];
                    let mut m = S::NEG;
                    for &k in &scratch.cand {
                        let v = scratch.closed_prev[usize::from(k)] + t[usize::from(k)];
                        if v > m {
                            m = v;
                        }
                    }
                    m
                }
                None => max_plus(
                    &scratch.closed_prev,
                    &scratch.trans_closed[cur * nc..(cur + 1) * nc],
                ),
                Some([b, m]) => {
                    let x = prev[usize::from(b)] + trans[usize::from(b) * L + cur];
                    let y = prev[usize::from(m)] + trans[usize::from(m) * L + cur];
                    if y > x {
                        y
                    } else {
                        x
                    }
                }
            };
            cur_row[cur] = best + e[cur];
        }
    }
    let last = &scratch.delta[(n - 1) * L..];
    let mut best = S::NEG;
    let mut arg = 0u8;
    for (l, &v) in last.iter().enumerate() {
        if can_end(l as u8) && v > best {
            best = v;
            arg = l as u8;
        }
    }
    out.resize(n, 0);
    out[n - 1] = arg;
    for i in (1..n).rev() {
        let cur = usize::from(out[i]);
        let prev = &scratch.delta[(i - 1) * L..i * L];
        let cands: &[u8] = match &cons.inside_prev[cur] {
            Some(ps) => ps,
            None => &cons.closed,
        };
        let mut best = S::NEG;
        let mut arg = cands[0];
        for &p in cands {
            let v = prev[usize::from(p)] + trans[usize::from(p) * L + cur];
            if v > best {
                best = v;
                arg = p;
            }
        }
        out[i - 1] = arg;
    }
}

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

/// Model file magic.
const MAGIC: &[u8; 8] = b"NFNER\0\0\x02";

/// Sparse, i16-quantized weights of one feature.
#[derive(Debug, Clone, Default)]
pub struct SparseRow {
    /// (label, weight) pairs.
    pub pairs: Vec<(u8, i16)>,
}

/// The serializable content of a model (what training produces).
#[derive(Debug, Clone, Default)]
pub struct ModelData {
    /// Real value of one weight unit.
    pub scale: f32,
    /// Quantized transition weights, `prev * N_LABELS + cur`.
    pub trans: Vec<i16>,
    /// Feature key → weights.
    pub rows: Vec<(u64, SparseRow)>,
    /// Entity-initial token (hash) → number of prefix letters outside the entity.
    pub prefix_len: Vec<(u64, u8)>,
    /// Word (hash) → frequency in the training text (for prefix decisions).
    pub word_freq: Vec<(u64, u32)>,
    /// Word (hash) → cluster ids the features were trained with (an optional trailing
    /// section of the file: models without it load with no cluster features).
    pub clusters: Vec<(u64, [u16; LEVELS])>,
    /// Free-form description (training command, data, date, scores).
    pub info: String,
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], TagError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| TagError::Model("truncated model file".into()))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, TagError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, TagError> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn u16(&mut self) -> Result<u16, TagError> {
        let mut a = [0u8; 2];
        a.copy_from_slice(self.take(2)?);
        Ok(u16::from_le_bytes(a))
    }
    fn i16(&mut self) -> Result<i16, TagError> {
        Ok(i16::from_le_bytes(self.u16()?.to_le_bytes()))
    }
    fn u64(&mut self) -> Result<u64, TagError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn f32(&mut self) -> Result<f32, TagError> {
        Ok(f32::from_bits(self.u32()?))
    }
}

impl ModelData {
    /// Serializes to the binary model format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(N_LABELS as u32).to_le_bytes());
        out.extend_from_slice(&self.scale.to_bits().to_le_bytes());
        out.extend_from_slice(&(self.info.len() as u32).to_le_bytes());
        out.extend_from_slice(self.info.as_bytes());
        for &w in &self.trans {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&(self.rows.len() as u32).to_le_bytes());
        for (key, row) in &self.rows {
            out.extend_from_slice(&key.to_le_bytes());
            out.push(row.pairs.len() as u8);
            for &(l, w) in &row.pairs {
                out.push(l);
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        out.extend_from_slice(&(self.prefix_len.len() as u32).to_le_bytes());
        for &(k, n) in &self.prefix_len {
            out.extend_from_slice(&k.to_le_bytes());
            out.push(n);
        }
        out.extend_from_slice(&(self.word_freq.len() as u32).to_le_bytes());
        for &(k, n) in &self.word_freq {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&n.to_le_bytes());
        }
        if !self.clusters.is_empty() {
            out.extend_from_slice(&(self.clusters.len() as u32).to_le_bytes());
            for (k, ids) in &self.clusters {
                out.extend_from_slice(&k.to_le_bytes());
                for id in ids {
                    out.extend_from_slice(&id.to_le_bytes());
                }
            }
        }
        out
    }

    /// Parses the binary model format.
    pub fn from_bytes(b: &[u8]) -> Result<ModelData, TagError> {
        let mut r = Reader { b, pos: 0 };
        if r.take(8)? != MAGIC {
            return Err(TagError::Model(
                "not a newsflow NER model (bad magic)".into(),
            ));
        }
        if r.u32()? as usize != N_LABELS {
            return Err(TagError::Model("model has a different label set".into()));
        }
        let scale = r.f32()?;
        let info_len = r.u32()? as usize;
        let info = String::from_utf8_lossy(r.take(info_len)?).into_owned();
        let mut trans = Vec::with_capacity(N_LABELS * N_LABELS);
        for _ in 0..N_LABELS * N_LABELS {
            trans.push(r.i16()?);
        }
        let n_rows = r.u32()? as usize;
        let mut rows = Vec::with_capacity(n_rows);
        for _ in 0..n_rows {
            let key = r.u64()?;
            let n = usize::from(r.u8()?);
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let l = r.u8()?;
                if usize::from(l) >= N_LABELS {
                    return Err(TagError::Model("label out of range".into()));
                }
                pairs.push((l, r.i16()?));
            }
            rows.push((key, SparseRow { pairs }));
        }
        let n = r.u32()? as usize;
        let mut prefix_len = Vec::with_capacity(n);
        for _ in 0..n {
            prefix_len.push((r.u64()?, r.u8()?));
        }
        let n = r.u32()? as usize;
        let mut word_freq = Vec::with_capacity(n);
        for _ in 0..n {
            word_freq.push((r.u64()?, r.u32()?));
        }
        let mut clusters = Vec::new();
        if r.pos < b.len() {
            let n = r.u32()? as usize;
            clusters.reserve(n);
            for _ in 0..n {
                let k = r.u64()?;
                let mut ids = [0u16; LEVELS];
                for id in &mut ids {
                    *id = r.u16()?;
                }
                clusters.push((k, ids));
            }
        }
        if r.pos != b.len() {
            return Err(TagError::Model("trailing bytes after the model".into()));
        }
        Ok(ModelData {
            scale,
            trans,
            rows,
            prefix_len,
            word_freq,
            clusters,
            info,
        })
    }
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

    #[test]
    fn labels_round_trip() {
        for t in EntityType::ALL {
            for p in [Pos::B, Pos::I, Pos::E, Pos::S] {
                let l = label(p, t);
                assert_eq!(split_label(l), (p, Some(t)));
                let s = tag_string(l);
                let (pp, tt) = parse_tag(&s).unwrap();
                assert_eq!((pp, tt), (p, t.as_str()));
            }
        }
        assert_eq!(tag_string(O), "O");
        assert_eq!(N_LABELS, 53);
    }

    #[test]
    fn constraints_follow_biose() {
        let b = label(Pos::B, EntityType::PER);
        let e = label(Pos::E, EntityType::PER);
        let e_org = label(Pos::E, EntityType::ORG);
        assert!(allowed(None, b));
        assert!(!allowed(None, e));
        assert!(allowed(Some(b), e));
        assert!(!allowed(Some(b), e_org));
        assert!(!allowed(Some(b), O));
        assert!(allowed(Some(e), O));
        assert!(!can_end(b));
    }

    #[test]
    fn viterbi_respects_constraints() {
        // Emissions prefer B-PER then O, which is illegal: the decoder must pick a legal path.
        let b = usize::from(label(Pos::B, EntityType::PER));
        let e = usize::from(label(Pos::E, EntityType::PER));
        let s = usize::from(label(Pos::S, EntityType::PER));
        let mut emis = vec![0i32; 2 * N_LABELS];
        emis[b] = 10;
        emis[s] = 9;
        emis[N_LABELS] = 5; // O at position 1
        emis[N_LABELS + e] = 3;
        let trans = vec![0i32; N_LABELS * N_LABELS];
        let mut out = Vec::new();
        viterbi(
            &emis,
            &trans,
            &Constraints::default(),
            &mut Scratch::default(),
            &mut out,
        );
        // B-PER E-PER = 13, S-PER O = 14: the latter wins.
        assert_eq!(out, vec![s as u8, O]);
    }

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
