//! Training: an averaged structured perceptron over the features of `features.rs`, decoded
//! with the same constrained Viterbi as at run time.
//!
//! One model learns all 13 types from two corpora with different label sets. A gold tag
//! is turned into the set of production labels it allows: NEMO's `O` allows `O` and the
//! temporal/numeric types NEMO does not annotate; BMC's `LOC` allows GPE, LOC or FAC (same
//! B/I/E/S position), BMC's `O` allows `O` and the NEMO-only types (EVE, WOA, DUC, ANG).
//! The "gold" path of a partially labelled sentence is the best path the current weights
//! find inside the allowed sets (a latent-variable perceptron update).

use super::bmes::{self, Scheme, Sentence};
use super::crf::{Marginals, Transitions};
use newsflow_core::tag::decoder::{viterbi, Scratch};
use newsflow_core::tag::fast::clusters::WordClusters;
use newsflow_core::tag::fast::features::{features, TokInfo};
use newsflow_core::tag::fast::model_file::{ModelData, SparseRow};
use newsflow_core::tag::gazetteer::Gazetteer;
use newsflow_core::tag::labels::{label, parse_tag, Pos, N_LABELS, O};
use newsflow_core::tag::EntityType;
use std::collections::HashMap;

pub use super::bmes::Corpus;
pub use super::score::{labels_to_scheme, model_scores, sentence_infos};
use super::tables::{prefix_lengths, word_frequencies};

/// Training options.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// Passes over the data.
    pub epochs: usize,
    /// Shuffling seed.
    pub seed: u64,
    /// Averaged weights with a smaller magnitude are dropped from the shipped model.
    pub prune: f32,
    /// Features seen fewer times in the training data are dropped from the shipped model.
    pub min_count: u32,
    /// Independent runs (different shuffles) whose averaged weights are averaged.
    pub runs: usize,
    /// How the weights are learnt.
    pub learner: Learner,
}

/// The learning algorithm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Learner {
    /// Averaged structured perceptron (latent-variable updates on partial labels).
    Perceptron,
    /// Linear-chain CRF: stochastic gradient ascent on the log-likelihood of the allowed
    /// label sets (marginal likelihood on partial labels), with L1 regularization by the
    /// cumulative penalty (Tsuruoka et al., 2009), which keeps the model sparse.
    Crf {
        /// Initial learning rate; it decays as `rate / (1 + epoch_fraction)`.
        rate: f32,
        /// L1 strength over the whole corpus.
        l1: f32,
    },
}

/// A sentence ready for training: feature ids per token and allowed labels per token.
struct Prepared {
    feat_start: Vec<u32>,
    feats: Vec<u32>,
    allowed: Vec<u64>,
    exact: bool,
}

/// Allowed production labels for a gold tag in a scheme (bit set over labels).
pub fn allowed_labels(tag: &str, scheme: Scheme) -> u64 {
    let mut bits = 0u64;
    let (pos, cat) = parse_tag(tag).unwrap_or((Pos::O, ""));
    if pos == Pos::O {
        bits |= 1 << O;
        for t in EntityType::ALL {
            if scheme.open_in_o(t) {
                for p in [Pos::B, Pos::I, Pos::E, Pos::S] {
                    bits |= 1 << label(p, t);
                }
            }
        }
    } else {
        for t in EntityType::ALL {
            if scheme.map(t) == Some(cat) {
                bits |= 1 << label(pos, t);
            }
        }
        if bits == 0 {
            // A category outside the scheme (e.g. MISC): treat as unknown.
            bits = allowed_labels("O", scheme);
        }
    }
    bits
}

/// Small deterministic RNG (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Perceptron state: weights, sums for averaging, feature dictionary.
pub struct Trainer {
    dict: HashMap<u64, u32>,
    keys: Vec<u64>,
    counts: Vec<u32>,
    w: Vec<f32>,
    u: Vec<f64>,
    tw: Vec<f32>,
    tu: Vec<f64>,
    c: f64,
}

impl Trainer {
    fn new() -> Trainer {
        Trainer {
            dict: HashMap::new(),
            keys: Vec::new(),
            counts: Vec::new(),
            w: Vec::new(),
            u: Vec::new(),
            tw: vec![0.0; N_LABELS * N_LABELS],
            tu: vec![0.0; N_LABELS * N_LABELS],
            c: 1.0,
        }
    }

    fn prepare(
        &mut self,
        gaz: &Gazetteer,
        clusters: &WordClusters,
        sent: &Sentence,
        scheme: Scheme,
    ) -> Prepared {
        let words: Vec<&str> = sent.tokens.iter().map(String::as_str).collect();
        let infos = sentence_infos(gaz, clusters, &words);
        let mut p = Prepared {
            feat_start: vec![0],
            feats: Vec::new(),
            allowed: Vec::new(),
            exact: true,
        };
        for i in 0..infos.len() {
            features(&infos, i, |k| {
                let next = self.keys.len() as u32;
                let id = *self.dict.entry(k).or_insert(next);
                if id == next {
                    self.keys.push(k);
                    self.counts.push(0);
                }
                self.counts[id as usize] += 1;
                p.feats.push(id);
            });
            p.feat_start.push(p.feats.len() as u32);
            let a = allowed_labels(&sent.tags[i], scheme);
            p.exact &= a.count_ones() == 1;
            p.allowed.push(a);
        }
        p
    }

    fn emissions(&self, p: &Prepared, emis: &mut Vec<f32>) {
        emis.clear();
        emis.resize(p.allowed.len() * N_LABELS, 0.0);
        for i in 0..p.allowed.len() {
            let row = &mut emis[i * N_LABELS..(i + 1) * N_LABELS];
            for &f in &p.feats[p.feat_start[i] as usize..p.feat_start[i + 1] as usize] {
                let w = &self.w[f as usize * N_LABELS..(f as usize + 1) * N_LABELS];
                for (r, x) in row.iter_mut().zip(w) {
                    *r += x;
                }
            }
        }
    }

    fn update(&mut self, p: &Prepared, gold: &[u8], pred: &[u8]) {
        let c = self.c;
        for i in 0..gold.len() {
            if gold[i] != pred[i] {
                for &f in &p.feats[p.feat_start[i] as usize..p.feat_start[i + 1] as usize] {
                    let base = f as usize * N_LABELS;
                    self.w[base + usize::from(gold[i])] += 1.0;
                    self.u[base + usize::from(gold[i])] += c;
                    self.w[base + usize::from(pred[i])] -= 1.0;
                    self.u[base + usize::from(pred[i])] -= c;
                }
            }
            if i > 0 && (gold[i] != pred[i] || gold[i - 1] != pred[i - 1]) {
                let g = usize::from(gold[i - 1]) * N_LABELS + usize::from(gold[i]);
                let q = usize::from(pred[i - 1]) * N_LABELS + usize::from(pred[i]);
                self.tw[g] += 1.0;
                self.tu[g] += c;
                self.tw[q] -= 1.0;
                self.tu[q] -= c;
            }
        }
    }

    /// Zero weights and averages, for a new run over the same features.
    fn reset(&mut self) {
        self.w.iter_mut().for_each(|x| *x = 0.0);
        self.u.iter_mut().for_each(|x| *x = 0.0);
        self.tw.iter_mut().for_each(|x| *x = 0.0);
        self.tu.iter_mut().for_each(|x| *x = 0.0);
        self.c = 1.0;
    }

    fn averaged(&self) -> (Vec<f32>, Vec<f32>) {
        let w = self
            .w
            .iter()
            .zip(&self.u)
            .map(|(&w, &u)| (f64::from(w) - u / self.c) as f32)
            .collect();
        let tw = self
            .tw
            .iter()
            .zip(&self.tu)
            .map(|(&w, &u)| (f64::from(w) - u / self.c) as f32)
            .collect();
        (w, tw)
    }
}

/// CRF training state: the L1 penalty applied so far to every weight (cumulative penalty).
struct CrfState {
    /// Total penalty a weight could have received so far.
    penalty: f64,
    /// Penalty actually applied to each emission and transition weight.
    applied: Vec<f32>,
    applied_t: Vec<f32>,
    full: Marginals,
    gold: Marginals,
}

impl CrfState {
    fn new(nf: usize) -> CrfState {
        CrfState {
            penalty: 0.0,
            applied: vec![0.0; nf * N_LABELS],
            applied_t: vec![0.0; N_LABELS * N_LABELS],
            full: Marginals::default(),
            gold: Marginals::default(),
        }
    }

    /// Clips `w` toward zero by the penalty it has not received yet.
    #[inline]
    fn l1(w: &mut f32, applied: &mut f32, penalty: f64) {
        let z = *w;
        let u = penalty as f32;
        if *w > 0.0 {
            *w = (*w - (u + *applied)).max(0.0);
        } else if *w < 0.0 {
            *w = (*w + (u - *applied)).min(0.0);
        }
        *applied += *w - z;
    }

    /// One stochastic gradient step on sentence `p`; returns its negative log-likelihood.
    fn step(&mut self, tr: &mut Trainer, p: &Prepared, eta: f64, emis: &mut Vec<f32>) -> f64 {
        tr.emissions(p, emis);
        let t = Transitions::new(&tr.tw);
        let (Some(log_z), Some(log_zg)) = (
            self.full.compute(emis, &t, |_, _| true),
            self.gold
                .compute(emis, &t, |i, l| p.allowed[i] & (1 << l) != 0),
        ) else {
            return 0.0;
        };
        let n = p.allowed.len();
        for i in 0..n {
            let fs = &p.feats[p.feat_start[i] as usize..p.feat_start[i + 1] as usize];
            for l in 0..N_LABELS {
                let g = self.gold.node[i * N_LABELS + l] - self.full.node[i * N_LABELS + l];
                if g.abs() < 1e-7 {
                    continue;
                }
                let d = (eta * g) as f32;
                for &f in fs {
                    let k = f as usize * N_LABELS + l;
                    tr.w[k] += d;
                    Self::l1(&mut tr.w[k], &mut self.applied[k], self.penalty);
                }
            }
        }
        for k in 0..N_LABELS * N_LABELS {
            let g = self.gold.edge[k] - self.full.edge[k];
            if g.abs() >= 1e-7 {
                tr.tw[k] += (eta * g) as f32;
                Self::l1(&mut tr.tw[k], &mut self.applied_t[k], self.penalty);
            }
        }
        log_z - log_zg
    }
}

/// Dev F1 (model only, gold tokens) of weights `w`, `tw` on each dev corpus.
fn dev_scores(
    tr: &Trainer,
    w: &[f32],
    tw: &[f32],
    dev: &[Corpus],
    dev_infos: &[Vec<Vec<TokInfo>>],
) -> Vec<f64> {
    let mut emis = Vec::new();
    let mut pred = Vec::new();
    let mut scratch = Scratch::<f32>::default();
    let mut out = Vec::new();
    for (c, infos) in dev.iter().zip(dev_infos) {
        let mut pred_tags = Vec::new();
        for toks in infos {
            emis.clear();
            emis.resize(toks.len() * N_LABELS, 0.0);
            for i in 0..toks.len() {
                let row = &mut emis[i * N_LABELS..(i + 1) * N_LABELS];
                features(toks, i, |k| {
                    if let Some(&f) = tr.dict.get(&k) {
                        let wr = &w[f as usize * N_LABELS..(f as usize + 1) * N_LABELS];
                        for (r, x) in row.iter_mut().zip(wr) {
                            *r += x;
                        }
                    }
                });
            }
            viterbi(&emis, tw, &mut scratch, &mut pred);
            pred_tags.push(labels_to_scheme(&pred, c.scheme));
        }
        out.push(bmes::score(&c.sentences, &pred_tags).micro.f1());
    }
    out
}

/// Progress reported after every epoch (`run` 0: the final mean of all runs).
#[derive(Debug, Clone)]
pub struct EpochReport {
    /// Run number (1-based; 0 for the mean of the runs).
    pub run: usize,
    /// Epoch number (1-based).
    pub epoch: usize,
    /// How well the epoch fitted the training data.
    pub fit: Fit,
    /// Dev F1 per dev corpus (model alone, on gold tokens).
    pub dev_f1: Vec<f64>,
}

/// Training-data fit of an epoch, as each learner measures it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fit {
    /// Perceptron: sentences whose prediction differed from gold.
    Mistakes(usize),
    /// CRF: negative log-likelihood of the allowed label sets, summed over sentences.
    NegLogLikelihood(f64),
    /// The mean of the runs (no epoch of its own).
    Mean,
}

impl std::fmt::Display for Fit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fit::Mistakes(n) => write!(f, "{n} sentences wrong"),
            Fit::NegLogLikelihood(x) => write!(f, "negative log-likelihood {x:.0}"),
            Fit::Mean => f.write_str("mean of the runs"),
        }
    }
}

/// Trains a model. `dev` corpora are decoded after every epoch (model only, gold
/// tokenization) and reported through `progress`.
pub fn train(
    gaz: &Gazetteer,
    clusters: &WordClusters,
    corpora: &[Corpus],
    dev: &[Corpus],
    multi: &[Sentence],
    opts: &TrainOptions,
    mut progress: impl FnMut(&EpochReport),
) -> ModelData {
    let mut tr = Trainer::new();
    let mut data: Vec<Prepared> = Vec::new();
    for c in corpora {
        for s in &c.sentences {
            data.push(tr.prepare(gaz, clusters, s, c.scheme));
        }
    }
    let nf = tr.keys.len();
    tr.w = vec![0.0; nf * N_LABELS];
    tr.u = vec![0.0; nf * N_LABELS];
    let dev = DevSet {
        corpora: dev,
        infos: dev_token_infos(gaz, clusters, dev),
    };
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut bufs = Buffers::default();
    let runs = opts.runs.max(1);
    let mut sum_w = vec![0.0f32; nf * N_LABELS];
    let mut sum_tw = vec![0.0f32; N_LABELS * N_LABELS];
    for run in 0..runs {
        // Every run starts from zero weights with its own shuffling seed; the shipped
        // weights are the mean of the runs' averaged weights.
        tr.reset();
        let mut rng = Rng(opts.seed.wrapping_add(run as u64 * 7919).max(1));
        order.sort_unstable();
        let mut epoch_run = EpochRun {
            run: run + 1,
            order: &mut order,
            rng: &mut rng,
            bufs: &mut bufs,
            dev: &dev,
        };
        let (w, tw) = match opts.learner {
            Learner::Crf { rate, l1 } => {
                epoch_run.crf(&mut tr, &data, opts.epochs, rate, l1, &mut progress);
                // The final iterate (averaging the iterates measured no better).
                (tr.w.clone(), tr.tw.clone())
            }
            Learner::Perceptron => {
                let report_every_epoch = runs == 1;
                epoch_run.perceptron(
                    &mut tr,
                    &data,
                    opts.epochs,
                    report_every_epoch,
                    &mut progress,
                );
                tr.averaged()
            }
        };
        sum_w.iter_mut().zip(&w).for_each(|(s, x)| *s += x);
        sum_tw.iter_mut().zip(&tw).for_each(|(s, x)| *s += x);
    }
    let w: Vec<f32> = sum_w.iter().map(|x| x / runs as f32).collect();
    let tw: Vec<f32> = sum_tw.iter().map(|x| x / runs as f32).collect();
    if runs > 1 {
        progress(&EpochReport {
            run: 0,
            epoch: opts.epochs,
            fit: Fit::Mean,
            dev_f1: dev.scores(&tr, &w, &tw),
        });
    }
    let mut model = quantize(&tr, &w, &tw, opts);
    model.prefix_len = prefix_lengths(multi);
    model.word_freq = word_frequencies(corpora);
    model.clusters = clusters.to_pairs();
    model.names = clusters.names_to_pairs();
    model
}

/// The dev corpora and their tokens' feature inputs, computed once.
struct DevSet<'a> {
    corpora: &'a [Corpus],
    infos: Vec<Vec<Vec<TokInfo>>>,
}

impl DevSet<'_> {
    /// Model-only F1 of weights `w`, `tw` on each dev corpus.
    fn scores(&self, tr: &Trainer, w: &[f32], tw: &[f32]) -> Vec<f64> {
        dev_scores(tr, w, tw, self.corpora, &self.infos)
    }
}

fn dev_token_infos(
    gaz: &Gazetteer,
    clusters: &WordClusters,
    dev: &[Corpus],
) -> Vec<Vec<Vec<TokInfo>>> {
    dev.iter()
        .map(|c| {
            c.sentences
                .iter()
                .map(|s| {
                    let words: Vec<&str> = s.tokens.iter().map(String::as_str).collect();
                    sentence_infos(gaz, clusters, &words)
                })
                .collect()
        })
        .collect()
}

/// Reusable buffers of the training loops.
#[derive(Default)]
struct Buffers {
    emis: Vec<f32>,
    masked: Vec<f32>,
    scratch: Scratch<f32>,
    pred: Vec<u8>,
    gold: Vec<u8>,
}

/// The epochs of one training run.
struct EpochRun<'r, 'd> {
    /// 1-based run number (for reports).
    run: usize,
    order: &'r mut Vec<usize>,
    rng: &'r mut Rng,
    bufs: &'r mut Buffers,
    dev: &'r DevSet<'d>,
}

impl EpochRun<'_, '_> {
    /// CRF epochs: SGD with a decaying rate and cumulative L1 penalty.
    fn crf(
        &mut self,
        tr: &mut Trainer,
        data: &[Prepared],
        epochs: usize,
        rate: f32,
        l1: f32,
        progress: &mut impl FnMut(&EpochReport),
    ) {
        let mut crf = CrfState::new(tr.keys.len());
        for epoch in 1..=epochs {
            self.rng.shuffle(self.order);
            let mut nll = 0.0;
            for (k, &si) in self.order.iter().enumerate() {
                let frac = (epoch - 1) as f64 + k as f64 / self.order.len() as f64;
                let eta = f64::from(rate) / (1.0 + frac);
                crf.penalty += eta * f64::from(l1) / self.order.len() as f64;
                nll += crf.step(tr, &data[si], eta, &mut self.bufs.emis);
            }
            progress(&EpochReport {
                run: self.run,
                epoch,
                fit: Fit::NegLogLikelihood(nll),
                dev_f1: self.dev.scores(tr, &tr.w, &tr.tw),
            });
        }
    }

    /// Averaged-perceptron epochs; dev F1 after the last epoch (or every epoch when
    /// `every_epoch`).
    fn perceptron(
        &mut self,
        tr: &mut Trainer,
        data: &[Prepared],
        epochs: usize,
        every_epoch: bool,
        progress: &mut impl FnMut(&EpochReport),
    ) {
        for epoch in 1..=epochs {
            self.rng.shuffle(self.order);
            let mut mistakes = 0;
            for &si in self.order.iter() {
                if perceptron_step(tr, &data[si], self.bufs) {
                    mistakes += 1;
                }
            }
            let dev_f1 = if epoch == epochs || every_epoch {
                let (w, tw) = tr.averaged();
                self.dev.scores(tr, &w, &tw)
            } else {
                Vec::new()
            };
            progress(&EpochReport {
                run: self.run,
                epoch,
                fit: Fit::Mistakes(mistakes),
                dev_f1,
            });
        }
    }
}

/// One perceptron step on a sentence: decode, and update towards the gold path (the
/// best path the sentence's allowed labels admit) when they differ. Returns whether it
/// was a mistake.
fn perceptron_step(tr: &mut Trainer, p: &Prepared, b: &mut Buffers) -> bool {
    tr.emissions(p, &mut b.emis);
    viterbi(&b.emis, &tr.tw, &mut b.scratch, &mut b.pred);
    if p.exact {
        b.gold.clear();
        b.gold
            .extend(p.allowed.iter().map(|a| a.trailing_zeros() as u8));
    } else {
        b.masked.clone_from(&b.emis);
        for (i, a) in p.allowed.iter().enumerate() {
            for l in 0..N_LABELS {
                if a & (1 << l) == 0 {
                    b.masked[i * N_LABELS + l] = -1.0e30;
                }
            }
        }
        viterbi(&b.masked, &tr.tw, &mut b.scratch, &mut b.gold);
    }
    let mistake = b.gold != b.pred;
    if mistake {
        tr.update(p, &b.gold, &b.pred);
    }
    tr.c += 1.0;
    mistake
}

/// The model file's weights: features seen at least `min_count` times, weights of at
/// least `prune`, quantized to i16 with one scale. Word tables are left empty.
fn quantize(tr: &Trainer, w: &[f32], tw: &[f32], opts: &TrainOptions) -> ModelData {
    let max = w
        .iter()
        .chain(tw)
        .fold(0.0f32, |m, &x| m.max(x.abs()))
        .max(1e-6);
    let scale = max / 32000.0;
    let q = |x: f32| (x / scale).round().clamp(-32767.0, 32767.0) as i16;
    let mut rows = Vec::new();
    for (f, &key) in tr.keys.iter().enumerate() {
        if tr.counts[f] < opts.min_count {
            continue;
        }
        let pairs: Vec<(u8, i16)> = (0..N_LABELS)
            .filter_map(|l| {
                let x = w[f * N_LABELS + l];
                (x.abs() >= opts.prune && q(x) != 0).then(|| (l as u8, q(x)))
            })
            .collect();
        if !pairs.is_empty() {
            rows.push((key, SparseRow { pairs }));
        }
    }
    ModelData {
        scale,
        trans: tw.iter().map(|&x| q(x)).collect(),
        rows,
        prefix_len: Vec::new(),
        word_freq: Vec::new(),
        clusters: Vec::new(),
        names: Vec::new(),
        english: false,
        info: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_o_allows_no_entity() {
        // English gold marks only names of its categories, and nothing else in English
        // marks the rest: left open, any English word could be a TIME or a WOA unpunished.
        let o = allowed_labels("O", Scheme::Uner);
        assert_eq!(o & (1 << label(Pos::S, EntityType::TIME)), 0);
        assert_eq!(o & (1 << label(Pos::S, EntityType::WOA)), 0);
        assert_eq!(
            allowed_labels("O", Scheme::Gum) & (1 << label(Pos::B, EntityType::MONEY)),
            0
        );
        assert_ne!(
            allowed_labels("O", Scheme::Nemo) & (1 << label(Pos::S, EntityType::TIME)),
            0
        );
    }

    #[test]
    fn allowed_sets_bridge_the_schemes() {
        let a = allowed_labels("B-LOC", Scheme::Bmc);
        assert_eq!(a.count_ones(), 3);
        assert!(a & (1 << label(Pos::B, EntityType::GPE)) != 0);
        let o = allowed_labels("O", Scheme::Nemo);
        assert!(o & (1 << label(Pos::S, EntityType::DATE)) != 0);
        assert!(o & (1 << label(Pos::S, EntityType::PER)) == 0);
        assert_eq!(allowed_labels("S-PER", Scheme::Nemo).count_ones(), 1);
    }

    #[test]
    fn trains_on_a_tiny_corpus() {
        let gaz = Gazetteer::parse("GPE\tKyiv\t-\tקייב\n").unwrap();
        let text = "דני S-PER\nנסע O\nלקייב S-GPE\n.\tO\n\nדני S-PER\nאכל O\n.\tO\n";
        let corpus = Corpus {
            sentences: bmes::parse(text),
            scheme: Scheme::Nemo,
        };
        for learner in [
            Learner::Perceptron,
            Learner::Crf {
                rate: 0.5,
                l1: 0.01,
            },
        ] {
            let opts = TrainOptions {
                epochs: 5,
                seed: 1,
                prune: 0.0,
                min_count: 1,
                runs: 2,
                learner,
            };
            let data = train(
                &gaz,
                &WordClusters::empty(),
                std::slice::from_ref(&corpus),
                std::slice::from_ref(&corpus),
                &[],
                &opts,
                |_| {},
            );
            let model = newsflow_core::tag::fast::linear::Model::new(data);
            let infos = sentence_infos(&gaz, &WordClusters::empty(), &["דני", "נסע", "לקייב", "."]);
            let mut emis = Vec::new();
            model.emissions(&infos, &mut emis);
            let mut out = Vec::new();
            model.decode(&emis, &mut Scratch::default(), &mut out);
            assert_eq!(
                labels_to_scheme(&out, Scheme::Nemo),
                vec!["S-PER", "O", "S-GPE", "O"],
                "{learner:?}"
            );
        }
    }
}
