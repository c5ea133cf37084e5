//! Linear-chain CRF marginals under the BIOSE constraints, for training (`train.rs`).
//!
//! The forward-backward pass runs in probability space with one scaling factor per
//! position (numerically safe for any sentence length), in `f64`. Emission rows may forbid
//! labels (a zero after exponentiation): this is how a partially labelled sentence is
//! restricted to the label sets its gold tags allow.

// The recurrences read best with explicit label indices into several arrays at once.
#![allow(clippy::needless_range_loop)]

use newsflow_core::tag::labels::{allowed, can_end, N_LABELS};

const L: usize = N_LABELS;

/// Exponentiated transition weights with the BIOSE constraints applied (forbidden = 0), and
/// the labels allowed at the start and the end of a sentence.
pub struct Transitions {
    m: Vec<f64>,
    start: [f64; L],
    end: [f64; L],
}

impl Transitions {
    /// From transition weights `trans` (`prev * N_LABELS + cur`).
    pub fn new(trans: &[f32]) -> Transitions {
        let mut m = vec![0.0; L * L];
        for p in 0..L {
            for c in 0..L {
                if allowed(Some(p as u8), c as u8) {
                    m[p * L + c] = f64::from(trans[p * L + c]).exp();
                }
            }
        }
        let mut start = [0.0; L];
        let mut end = [0.0; L];
        for l in 0..L {
            start[l] = if allowed(None, l as u8) { 1.0 } else { 0.0 };
            end[l] = if can_end(l as u8) { 1.0 } else { 0.0 };
        }
        Transitions { m, start, end }
    }
}

/// Buffers of one forward-backward pass.
#[derive(Default)]
pub struct Marginals {
    /// Exponentiated emissions, each row divided by its maximum.
    e: Vec<f64>,
    /// Scaled forward and backward variables.
    a: Vec<f64>,
    b: Vec<f64>,
    /// Scaling factors.
    c: Vec<f64>,
    /// Node marginals: `node[i * N_LABELS + l]` = P(label l at position i).
    pub node: Vec<f64>,
    /// Edge marginals summed over positions: `edge[p * N_LABELS + c]`.
    pub edge: Vec<f64>,
}

impl Marginals {
    /// Runs forward-backward over `emis` (`n * N_LABELS` scores); `allow(i, l)` false
    /// forbids label `l` at position `i`. Returns `ln Z`, or `None` when no label sequence
    /// is possible.
    pub fn compute(
        &mut self,
        emis: &[f32],
        t: &Transitions,
        allow: impl Fn(usize, usize) -> bool,
    ) -> Option<f64> {
        let n = emis.len() / L;
        self.reset(n);
        if n == 0 {
            return None;
        }
        let emission_log = self.exponentiate(emis, n, &allow)?;
        let (log_z, z_end) = self.forward(t, n, emission_log)?;
        self.backward(t, n);
        self.marginals(t, n, z_end);
        Some(log_z)
    }

    /// Buffers sized for `n` positions, zeroed (scales at 1).
    fn reset(&mut self, n: usize) {
        for v in [&mut self.e, &mut self.a, &mut self.b, &mut self.node] {
            v.clear();
            v.resize(n * L, 0.0);
        }
        self.c.clear();
        self.c.resize(n, 1.0);
        self.edge.clear();
        self.edge.resize(L * L, 0.0);
    }

    /// `e = exp(emission - row max)` over the allowed labels; returns the sum of the row
    /// maxima, or `None` when a position allows no label.
    fn exponentiate(
        &mut self,
        emis: &[f32],
        n: usize,
        allow: &impl Fn(usize, usize) -> bool,
    ) -> Option<f64> {
        let mut log_sum = 0.0;
        for i in 0..n {
            let row = &emis[i * L..(i + 1) * L];
            let mx = (0..L)
                .filter(|&l| allow(i, l))
                .map(|l| row[l])
                .fold(f32::NEG_INFINITY, f32::max);
            if mx == f32::NEG_INFINITY {
                return None;
            }
            log_sum += f64::from(mx);
            for l in 0..L {
                if allow(i, l) {
                    self.e[i * L + l] = f64::from(row[l] - mx).exp();
                }
            }
        }
        Some(log_sum)
    }

    /// Scaled forward pass: `a` rows normalised to sum 1, scales in `c`. Returns `ln Z`
    /// (`log_z` plus the logs of the scales and of the end mass) and the end-weighted mass
    /// of the last row.
    fn forward(&mut self, t: &Transitions, n: usize, mut log_z: f64) -> Option<(f64, f64)> {
        for l in 0..L {
            self.a[l] = t.start[l] * self.e[l];
        }
        for i in 0..n {
            if i > 0 {
                let (prev, cur) = self.a.split_at_mut(i * L);
                let prev = &prev[(i - 1) * L..];
                let cur = &mut cur[..L];
                for (p, &ap) in prev.iter().enumerate() {
                    if ap == 0.0 {
                        continue;
                    }
                    let mrow = &t.m[p * L..(p + 1) * L];
                    for (x, &m) in cur.iter_mut().zip(mrow) {
                        *x += ap * m;
                    }
                }
                for (x, &e) in cur.iter_mut().zip(&self.e[i * L..(i + 1) * L]) {
                    *x *= e;
                }
            }
            let s: f64 = self.a[i * L..(i + 1) * L].iter().sum();
            if s <= 0.0 || !s.is_finite() {
                return None;
            }
            self.c[i] = s;
            self.a[i * L..(i + 1) * L].iter_mut().for_each(|x| *x /= s);
            log_z += s.ln();
        }
        let z_end: f64 = (0..L).map(|l| self.a[(n - 1) * L + l] * t.end[l]).sum();
        if z_end <= 0.0 || !z_end.is_finite() {
            return None;
        }
        log_z += z_end.ln();
        Some((log_z, z_end))
    }

    /// Backward pass with the forward pass's scales.
    fn backward(&mut self, t: &Transitions, n: usize) {
        self.b[(n - 1) * L..].copy_from_slice(&t.end);
        let mut tmp = [0.0f64; L];
        for i in (0..n - 1).rev() {
            for l in 0..L {
                tmp[l] = self.e[(i + 1) * L + l] * self.b[(i + 1) * L + l];
            }
            let ci = self.c[i + 1];
            for p in 0..L {
                let mrow = &t.m[p * L..(p + 1) * L];
                let v: f64 = mrow.iter().zip(&tmp).map(|(m, x)| m * x).sum();
                self.b[i * L + p] = v / ci;
            }
        }
    }

    /// Node marginals per position, and edge marginals summed over positions.
    fn marginals(&mut self, t: &Transitions, n: usize, z_end: f64) {
        for i in 0..n {
            for l in 0..L {
                self.node[i * L + l] = self.a[i * L + l] * self.b[i * L + l] / z_end;
            }
        }
        let mut tmp = [0.0f64; L];
        for i in 1..n {
            let k = 1.0 / (self.c[i] * z_end);
            for l in 0..L {
                tmp[l] = self.e[i * L + l] * self.b[i * L + l] * k;
            }
            for p in 0..L {
                let ap = self.a[(i - 1) * L + p];
                if ap == 0.0 {
                    continue;
                }
                let mrow = &t.m[p * L..(p + 1) * L];
                let erow = &mut self.edge[p * L..(p + 1) * L];
                for ((x, &m), &v) in erow.iter_mut().zip(mrow).zip(&tmp) {
                    *x += ap * m * v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use newsflow_core::tag::labels::{label, Pos, O};
    use newsflow_core::tag::EntityType;

    /// Every label sequence of length `n` that the constraints allow.
    fn paths(n: usize) -> Vec<Vec<u8>> {
        let mut out = vec![Vec::new()];
        for _ in 0..n {
            let mut next = Vec::new();
            for p in &out {
                for l in 0..L as u8 {
                    if allowed(p.last().copied(), l) {
                        let mut q = p.clone();
                        q.push(l);
                        next.push(q);
                    }
                }
            }
            out = next;
        }
        out.retain(|p| can_end(*p.last().unwrap()));
        out
    }

    #[test]
    fn marginals_match_brute_force_enumeration() {
        let n = 3;
        let mut emis = vec![0.0f32; n * L];
        let mut trans = vec![0.0f32; L * L];
        let mut x = 1u64;
        let mut r = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) as f32 / (1u64 << 31) as f32) * 4.0 - 2.0
        };
        emis.iter_mut().for_each(|v| *v = r());
        trans.iter_mut().for_each(|v| *v = r());
        let t = Transitions::new(&trans);
        let mut m = Marginals::default();
        let log_z = m.compute(&emis, &t, |_, _| true).unwrap();
        let score = |p: &[u8]| {
            let mut s = 0.0f64;
            for (i, &l) in p.iter().enumerate() {
                s += f64::from(emis[i * L + usize::from(l)]);
                if i > 0 {
                    s += f64::from(trans[usize::from(p[i - 1]) * L + usize::from(l)]);
                }
            }
            s
        };
        let all = paths(n);
        let z: f64 = all.iter().map(|p| score(p).exp()).sum();
        assert!((z.ln() - log_z).abs() < 1e-6, "{} vs {log_z}", z.ln());
        let per = label(Pos::B, EntityType::PER) as usize;
        let brute: f64 = all
            .iter()
            .filter(|p| usize::from(p[1]) == per)
            .map(|p| score(p).exp() / z)
            .sum();
        assert!((m.node[L + per] - brute).abs() < 1e-9);
        let total: f64 = m.node[L..2 * L].iter().sum();
        assert!((total - 1.0).abs() < 1e-9);
        let edges: f64 = m.edge.iter().sum();
        assert!((edges - (n - 1) as f64).abs() < 1e-9);
        // Restricting position 0 to O gives the sum over those paths only.
        let log_zo = m
            .compute(&emis, &t, |i, l| i != 0 || l == usize::from(O))
            .unwrap();
        let zo: f64 = all
            .iter()
            .filter(|p| p[0] == O)
            .map(|p| score(p).exp())
            .sum();
        assert!((zo.ln() - log_zo).abs() < 1e-6);
        assert!((m.node[usize::from(O)] - 1.0).abs() < 1e-9);
    }
}
