//! int8 products for the encoder's linear layers on CPUs with AVX-512 VNNI: the weights are
//! the file's int8 rows (one scale each), packed for `vpdpbusd`; activations are quantized
//! per token row to unsigned bytes around 128 at each call. `y = sw·sx·(Σ w·xq − 128·Σ w) + b`.
//! Four times the multiply-adds of an f32 FMA per instruction; the f32 path
//! (`matrixmultiply`) serves other CPUs and `NEWSFLOW_ENCODER_KERNEL=f32`.

/// Rows of one packed block (one 512-bit register of i32 accumulators).
const BLOCK: usize = 16;

/// A weight matrix `[n, k]` packed for the kernel: `[n/16][k/4][16][4]` bytes.
///
/// Holding one proves what the kernel assumes: the CPU has AVX-512 F, BW and VNNI, `n` is
/// a multiple of 16, `k` of 4, and the scales, corrections and bias hold `n` values each
/// ([`PackedI8::new`] checks all of it and is the only constructor).
#[derive(Debug, Clone)]
pub struct PackedI8 {
    n: usize,
    k: usize,
    blocks: Vec<i8>,
    scales: Vec<f32>,
    /// 128 · Σ_k w, the correction for the unsigned activations.
    corr: Vec<i32>,
    bias: Vec<f32>,
}

/// Whether this CPU runs the int8 kernel and the environment does not forbid it
/// (`NEWSFLOW_ENCODER_KERNEL=f32`).
pub fn available() -> bool {
    !std::env::var("NEWSFLOW_ENCODER_KERNEL").is_ok_and(|v| v == "f32") && cpu_supports()
}

/// Whether this CPU has the instructions the kernel uses.
fn cpu_supports() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl PackedI8 {
    /// Packs `values` (`[n, k]` row-major int8) with their row scales and bias; `None`
    /// when this CPU lacks the kernel's instructions or the shapes do not fit it (n a
    /// multiple of 16, k of 4, `n × k` values, `n` scales and `n` biases).
    pub fn new(values: &[i8], scales: &[f32], bias: &[f32], n: usize, k: usize) -> Option<Self> {
        if !cpu_supports()
            || !n.is_multiple_of(BLOCK)
            || !k.is_multiple_of(4)
            || values.len() != n * k
            || scales.len() != n
            || bias.len() != n
        {
            return None;
        }
        let mut blocks = vec![0i8; n * k];
        for nb in 0..n / BLOCK {
            for g in 0..k / 4 {
                for r in 0..BLOCK {
                    for b in 0..4 {
                        blocks[((nb * (k / 4) + g) * BLOCK + r) * 4 + b] =
                            values[(nb * BLOCK + r) * k + g * 4 + b];
                    }
                }
            }
        }
        let corr = values
            .chunks_exact(k)
            .map(|row| 128 * row.iter().map(|&v| i32::from(v)).sum::<i32>())
            .collect();
        Some(PackedI8 {
            n,
            k,
            blocks,
            scales: scales.to_vec(),
            corr,
            bias: bias.to_vec(),
        })
    }

    /// Bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.blocks.len() + 4 * (self.scales.len() + self.corr.len() + self.bias.len())
    }

    /// `y[t, n] = x[t, k] · wᵀ + b`; `xq` and `sx` are scratch.
    pub fn apply(
        &self,
        x: &[f32],
        t: usize,
        y: &mut Vec<f32>,
        xq: &mut Vec<u8>,
        sx: &mut Vec<f32>,
    ) {
        assert!(x.len() >= t * self.k, "int8 linear: shapes");
        xq.clear();
        sx.clear();
        super::elementwise::quantize_rows(&x[..t * self.k], self.k, xq, sx);
        // The kernel writes every element: no clearing of what an earlier call left.
        y.resize(t * self.n, 0.0);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a `PackedI8` exists only where the CPU has the kernel's features and its
        // vectors have the kernel's shapes (`new`); `run` checks the buffers it is given.
        unsafe {
            kernel::run(self, xq, sx, t, y)
        };
    }
}

#[cfg(target_arch = "x86_64")]
mod kernel {
    use super::{PackedI8, BLOCK};
    use std::arch::x86_64::*;

    /// Activation rows of one register tile.
    const ROWS: usize = 6;
    // `columns` finishes the rows past the last full tile with one tile of 1 to 5 rows.
    const _: () = assert!(ROWS == 6);
    /// Weight blocks (of 16 outputs) of one register tile: `ROWS × COLS` accumulators,
    /// `COLS` weight registers and one broadcast fit the 32 vector registers, and each
    /// step loads `ROWS + COLS` vectors for `ROWS × COLS` multiply-adds.
    const COLS: usize = 4;

    /// `y[t, n] = dequantize(xq[t, k] · wᵀ) + b`.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F, BW and VNNI (true of every `PackedI8`, whose
    /// constructor checks it). The buffer lengths are checked here.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn run(w: &PackedI8, xq: &[u8], sx: &[f32], t: usize, y: &mut [f32]) {
        assert!(xq.len() == t * w.k && sx.len() == t && y.len() == t * w.n);
        let blocks = w.n / BLOCK;
        let mut nb = 0;
        // SAFETY: the features are enabled here (this function's contract); `nb + C`
        // blocks stay within `w.n / BLOCK` and the buffers were checked above.
        unsafe {
            while nb + COLS <= blocks {
                columns::<COLS>(w, nb, xq, sx, t, y);
                nb += COLS;
            }
            while nb < blocks {
                columns::<1>(w, nb, xq, sx, t, y);
                nb += 1;
            }
        }
    }

    /// Outputs of the blocks `[nb, nb + C)` for every row.
    ///
    /// # Safety
    /// As [`run`]: the CPU features, buffers of `run`'s checked lengths, and
    /// `(nb + C) * BLOCK <= w.n`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn columns<const C: usize>(
        w: &PackedI8,
        nb: usize,
        xq: &[u8],
        sx: &[f32],
        t: usize,
        y: &mut [f32],
    ) {
        let mut ti = 0;
        // SAFETY: this function's contract, and `ti + R <= t` for every tile.
        unsafe {
            while ti + ROWS <= t {
                tile::<ROWS, C>(w, nb, xq, sx, ti, y);
                ti += ROWS;
            }
            // The last rows in one tile of their own height: a one-row tile per row would
            // keep only C chains of dependent `vpdpbusd` in flight.
            match t - ti {
                5 => tile::<5, C>(w, nb, xq, sx, ti, y),
                4 => tile::<4, C>(w, nb, xq, sx, ti, y),
                3 => tile::<3, C>(w, nb, xq, sx, ti, y),
                2 => tile::<2, C>(w, nb, xq, sx, ti, y),
                1 => tile::<1, C>(w, nb, xq, sx, ti, y),
                _ => {}
            }
        }
    }

    /// Rows `[ti, ti + R)` × blocks `[nb, nb + C)`, accumulated in registers.
    ///
    /// # Safety
    /// As [`columns`], and `ti + R <= t`: every load and store below then stays inside
    /// `xq` (`t × k`), the packed blocks, the `n`-long scale, correction and bias vectors,
    /// and `y` (`t × n`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn tile<const R: usize, const C: usize>(
        w: &PackedI8,
        nb: usize,
        xq: &[u8],
        sx: &[f32],
        ti: usize,
        y: &mut [f32],
    ) {
        // SAFETY: this function's contract (see # Safety).
        unsafe {
            let kg = w.k / 4;
            let mut acc = [[_mm512_setzero_si512(); C]; R];
            let xp = xq.as_ptr().add(ti * w.k);
            let wp = w.blocks.as_ptr().add(nb * kg * BLOCK * 4);
            for g in 0..kg {
                let mut wv = [_mm512_setzero_si512(); C];
                for (c, v) in wv.iter_mut().enumerate() {
                    *v = _mm512_loadu_si512(wp.add((c * kg + g) * BLOCK * 4).cast());
                }
                for (j, row) in acc.iter_mut().enumerate() {
                    let xv = _mm512_set1_epi32(std::ptr::read_unaligned(
                        xp.add(j * w.k + g * 4).cast::<i32>(),
                    ));
                    for (a, v) in row.iter_mut().zip(&wv) {
                        *a = _mm512_dpbusd_epi32(*a, xv, *v);
                    }
                }
            }
            for c in 0..C {
                let o = (nb + c) * BLOCK;
                let scale = _mm512_loadu_ps(w.scales.as_ptr().add(o));
                let corr = _mm512_loadu_si512(w.corr.as_ptr().add(o).cast());
                let bias = _mm512_loadu_ps(w.bias.as_ptr().add(o));
                for (j, row) in acc.iter().enumerate() {
                    let v = _mm512_cvtepi32_ps(_mm512_sub_epi32(row[c], corr));
                    let s = _mm512_mul_ps(scale, _mm512_set1_ps(sx[ti + j]));
                    let out = _mm512_fmadd_ps(v, s, bias);
                    _mm512_storeu_ps(y.as_mut_ptr().add((ti + j) * w.n + o), out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_float_product_of_the_dequantized_weights() {
        if !available() {
            eprintln!("skipped: no AVX-512 VNNI on this CPU");
            return;
        }
        // Every height of the last tile (1 to 5 rows past full tiles of 6) and none.
        for t in [1, 2, 3, 4, 5, 6, 11, 13] {
            check_against_reference(t);
        }
    }

    fn check_against_reference(t: usize) {
        let (n, k) = (96, 40);
        let values: Vec<i8> = (0..n * k)
            .map(|i| ((i * 37 % 255) as i32 - 127) as i8)
            .collect();
        let scales: Vec<f32> = (0..n).map(|i| 0.01 + i as f32 * 0.001).collect();
        let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.1).collect();
        let x: Vec<f32> = (0..t * k)
            .map(|i| ((i * 13 % 29) as f32 - 14.0) / 7.0)
            .collect();
        let p = PackedI8::new(&values, &scales, &bias, n, k).unwrap();
        let (mut y, mut xq, mut sx) = (Vec::new(), Vec::new(), Vec::new());
        p.apply(&x, t, &mut y, &mut xq, &mut sx);
        for r in 0..t {
            // The reference: the same per-row activation quantization, products in i64.
            let row = &x[r * k..(r + 1) * k];
            let m = row.iter().fold(0f32, |a, v| a.max(v.abs()));
            let sxr = m / 127.0;
            let q: Vec<i64> = row
                .iter()
                .map(|v| (v / sxr).round_ties_even() as i64)
                .collect();
            for c in 0..n {
                let dot: i64 = (0..k).map(|i| q[i] * i64::from(values[c * k + i])).sum();
                let exact = dot as f32 * sxr * scales[c] + bias[c];
                let got = y[r * n + c];
                assert!(
                    (got - exact).abs() < 1e-3 * (1.0 + exact.abs()),
                    "{r},{c}: {got} vs {exact}"
                );
                // And close to the unquantized product: each activation is off by at most
                // half a quantization step.
                let terms = (0..k).map(|i| row[i] * f32::from(values[c * k + i]) * scales[c]);
                let float: f32 = terms.clone().sum::<f32>() + bias[c];
                let bound: f32 = (0..k)
                    .map(|i| 0.5 * sxr * (f32::from(values[c * k + i]) * scales[c]).abs())
                    .sum();
                assert!((got - float).abs() <= bound + 1e-3, "{r},{c}");
            }
        }
    }
}
