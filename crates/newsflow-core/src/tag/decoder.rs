//! The constrained Viterbi decoder: the best label path under the BIOSE constraints, for
//! integer scores (run time) and float scores (training, the accurate tier).

use super::labels::{allowed, can_end, Constraints, N_LABELS};

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

/// A transition matrix with the tables the decoder derives from it, built once per model
/// (rebuilding them for every short window cost a fifth of the decoder's time).
#[derive(Debug, Clone)]
pub struct Transitions<S> {
    /// `prev * N_LABELS + cur`.
    trans: Vec<S>,
    /// Transitions from closed labels, laid out per current label.
    closed: Vec<S>,
    /// The largest spread of the transition weights from closed labels into any label
    /// that follows closed labels: a closed predecessor more than this below the best one
    /// can never win (exact pruning).
    range: S,
    cons: Constraints,
    /// Labels that follow closed labels (O, B-*, S-*).
    open: Vec<u8>,
    /// Labels inside an entity (I-*, E-*): (label, B-t, I-t, trans from B-t, from I-t).
    inside: Vec<(u8, u8, u8, S, S)>,
}

impl<S: Score> Transitions<S> {
    /// Prepares `trans` (`prev * N_LABELS + cur`) for decoding under the BIOSE constraints.
    pub fn new(trans: &[S]) -> Transitions<S> {
        const L: usize = N_LABELS;
        let cons = Constraints::default();
        let nc = cons.closed.len();
        let mut closed = Vec::with_capacity(L * nc);
        for cur in 0..L {
            for &p in &cons.closed {
                closed.push(trans[usize::from(p) * L + cur]);
            }
        }
        let mut range = S::default();
        for cur in 0..L {
            if cons.inside_prev[cur].is_none() {
                let row = &closed[cur * nc..(cur + 1) * nc];
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
        let open = (0..L as u8)
            .filter(|&l| cons.inside_prev[usize::from(l)].is_none())
            .collect();
        let inside = (0..L as u8)
            .filter_map(|l| {
                cons.inside_prev[usize::from(l)].map(|[b, i]| {
                    (
                        l,
                        b,
                        i,
                        trans[usize::from(b) * L + usize::from(l)],
                        trans[usize::from(i) * L + usize::from(l)],
                    )
                })
            })
            .collect();
        Transitions {
            trans: trans.to_vec(),
            closed,
            range,
            cons,
            open,
            inside,
        }
    }

    /// Transition weight.
    #[inline]
    pub fn get(&self, prev: u8, cur: u8) -> S {
        self.trans[usize::from(prev) * N_LABELS + usize::from(cur)]
    }
}

/// Viterbi over `n = emis.len() / N_LABELS` positions with transition matrix `trans`
/// (`prev * N_LABELS + cur`) under the BIOSE constraints; writes the best labels to `out`.
/// For a matrix used more than once, prepare it with [`Transitions::new`] and call
/// [`viterbi_with`].
pub fn viterbi<S: Score>(emis: &[S], trans: &[S], scratch: &mut Scratch<S>, out: &mut Vec<u8>) {
    viterbi_with(emis, &Transitions::new(trans), scratch, out);
}

/// Viterbi with prepared transitions. The forward pass only takes maxima (vectorizable);
/// back-pointers are recovered in the backward pass from the stored scores.
pub fn viterbi_with<S: Score>(
    emis: &[S],
    tr: &Transitions<S>,
    scratch: &mut Scratch<S>,
    out: &mut Vec<u8>,
) {
    const L: usize = N_LABELS;
    let n = emis.len() / L;
    out.clear();
    if n == 0 {
        return;
    }
    debug_assert_eq!(tr.open.len() + tr.inside.len(), L);
    scratch.cand.clear();
    scratch.delta.clear();
    scratch.delta.resize(n * L, S::NEG);
    scratch.closed_prev.resize(tr.cons.closed.len(), S::NEG);
    for (l, &e) in emis.iter().enumerate().take(L) {
        if allowed(None, l as u8) {
            scratch.delta[l] = e;
        }
    }
    for i in 1..n {
        let (prev_rows, cur_rows) = scratch.delta.split_at_mut(i * L);
        forward_step(
            tr,
            &prev_rows[(i - 1) * L..],
            &mut cur_rows[..L],
            &emis[i * L..(i + 1) * L],
            &mut scratch.closed_prev,
            &mut scratch.cand,
        );
    }
    backtrack(tr, &scratch.delta, n, out);
}

/// One position of the forward pass: the best score of each label given the previous
/// row. Labels that may follow any closed label (`open`) take the maximum over the
/// closed previous labels, pruned to those within the transitions' spread of the best;
/// labels inside an entity (`inside`) have just two possible predecessors.
#[inline]
fn forward_step<S: Score>(
    tr: &Transitions<S>,
    prev: &[S],
    cur_row: &mut [S],
    e: &[S],
    closed_prev: &mut [S],
    cand: &mut Vec<u8>,
) {
    let nc = tr.cons.closed.len();
    let mut top = S::NEG;
    for (k, &p) in tr.cons.closed.iter().enumerate() {
        let v = prev[usize::from(p)];
        closed_prev[k] = v;
        if v > top {
            top = v;
        }
    }
    cand.clear();
    for (k, &v) in closed_prev.iter().enumerate() {
        if v + tr.range >= top {
            cand.push(k as u8);
        }
    }
    if cand.len() * 3 < nc {
        for &cur in &tr.open {
            let cur = usize::from(cur);
            let t = &tr.closed[cur * nc..(cur + 1) * nc];
            let mut m = S::NEG;
            for &k in cand.iter() {
                let v = closed_prev[usize::from(k)] + t[usize::from(k)];
                if v > m {
                    m = v;
                }
            }
            cur_row[cur] = m + e[cur];
        }
    } else {
        for &cur in &tr.open {
            let cur = usize::from(cur);
            cur_row[cur] = max_plus(closed_prev, &tr.closed[cur * nc..(cur + 1) * nc]) + e[cur];
        }
    }
    for &(cur, b, m, tb, tm) in &tr.inside {
        let x = prev[usize::from(b)] + tb;
        let y = prev[usize::from(m)] + tm;
        let cur = usize::from(cur);
        cur_row[cur] = if y > x { y } else { x } + e[cur];
    }
}

/// The best label path: the best label that may end a sentence, then back through the
/// stored scores (each label's best allowed predecessor).
fn backtrack<S: Score>(tr: &Transitions<S>, delta: &[S], n: usize, out: &mut Vec<u8>) {
    const L: usize = N_LABELS;
    let last = &delta[(n - 1) * L..];
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
        let prev = &delta[(i - 1) * L..i * L];
        let cands: &[u8] = match &tr.cons.inside_prev[cur] {
            Some(ps) => ps,
            None => &tr.cons.closed,
        };
        let mut best = S::NEG;
        let mut arg = cands[0];
        for &p in cands {
            let v = prev[usize::from(p)] + tr.trans[usize::from(p) * L + cur];
            if v > best {
                best = v;
                arg = p;
            }
        }
        out[i - 1] = arg;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tag::labels::{label, Pos, O};
    use crate::tag::EntityType;

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
        viterbi(&emis, &trans, &mut Scratch::default(), &mut out);
        // B-PER E-PER = 13, S-PER O = 14: the latter wins.
        assert_eq!(out, vec![s as u8, O]);
    }
}
