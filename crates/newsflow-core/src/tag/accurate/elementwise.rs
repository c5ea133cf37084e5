//! The encoder's element-wise steps (softmax rows, GELU, layer norm, activation
//! quantization), written so that the compiler vectorizes them: no library call and no
//! saturating float→int cast per element, sums and maxima kept in [`LANES`] lanes. Each
//! step has a copy compiled for AVX2+FMA (or AVX-512), chosen at run time; the baseline
//! copy serves other CPUs. Before this, the scalar softmax, GELU and `roundf` calls took
//! 40% of the accurate tier's time (perf, `cargo bench --bench tagging`).

/// Lanes of the partial sums and maxima (one 512-bit register of f32).
const LANES: usize = 16;

/// 1.5 · 2²³: `x + ROUND` holds round-to-nearest-even(x) in its low mantissa bits for
/// |x| < 2²², so the rounded integer is `(x + ROUND).to_bits() - ROUND.to_bits()`.
const ROUND: f32 = 12_582_912.0;

/// round(x) as an integer, |x| < 2²² (ties to even).
#[inline(always)]
fn round_int(x: f32) -> i32 {
    ((x + ROUND).to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32)
}

/// `e^x` for x ≤ 88, branch-free (and call-free where the CPU has FMA): e^x = 2^r · e^y
/// with r = round(x·log2 e) and |y| ≤ ln2/2 by a degree-6 Taylor polynomial; relative error below 5e-6 for
/// |x| ≤ 30 (most of it the rounding of x·log2 e). Inputs below −80 give e^−80: small
/// enough to be nothing beside 1, large enough that a softmax weight or GELU tail made of
/// it stays a normal float (a denormal result costs a microcode assist of ~100 cycles, and
/// padded score rows are full of such weights).
#[inline(always)]
pub(super) fn fast_exp(x: f32) -> f32 {
    let t = x.clamp(-80.0, 88.0) * std::f32::consts::LOG2_E;
    let v = t + ROUND;
    let r = v - ROUND;
    let y = (t - r) * std::f32::consts::LN_2;
    let p = horner(
        y,
        &[
            1.0 / 720.0,
            1.0 / 120.0,
            1.0 / 24.0,
            1.0 / 6.0,
            0.5,
            1.0,
            1.0,
        ],
    );
    let ri = (v.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    p * f32::from_bits((ri.wrapping_add(127) << 23) as u32)
}

/// `c[0]·xⁿ + … + c[n]` by Horner's rule in fused multiply-adds: one instruction a step in
/// the AVX2 and AVX-512 copies (the baseline copy is for CPUs without FMA, where each step
/// is a library call).
#[inline(always)]
fn horner(x: f32, c: &[f32]) -> f32 {
    c[1..].iter().fold(c[0], |acc, &k| acc.mul_add(x, k))
}

/// GELU with erf from Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7),
/// branch-free.
#[inline(always)]
pub(super) fn gelu(x: f32) -> f32 {
    let z = (x * std::f32::consts::FRAC_1_SQRT_2).abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t * horner(
        t,
        &[
            1.061_405_4,
            -1.453_152_1,
            1.421_413_7,
            -0.284_496_74,
            0.254_829_6,
        ],
    );
    let erf_abs = 1.0 - poly * fast_exp(-z * z);
    let erf = erf_abs.copysign(x);
    0.5 * x * (1.0 + erf)
}

/// The largest of `f(v)` over `row` (−∞ when empty), in lanes.
#[inline(always)]
fn max_of(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            let v = f(c[i]);
            acc[i] = if v > acc[i] { v } else { acc[i] };
        }
    }
    let mut m = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |a, &v| a.max(f(v)));
    for a in acc {
        m = m.max(a);
    }
    m
}

/// The sum of `f(v)` over `row`, in lanes.
#[inline(always)]
fn sum_of(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            acc[i] += f(c[i]);
        }
    }
    let rest: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
    acc.iter().sum::<f32>() + rest
}

#[inline(always)]
fn softmax_rows_impl(scores: &mut [f32], t: usize) {
    for row in scores.chunks_exact_mut(t) {
        let m = max_of(row, |v| v);
        row.iter_mut().for_each(|v| *v = fast_exp(*v - m));
        let inv = 1.0 / sum_of(row, |v| v);
        row.iter_mut().for_each(|v| *v *= inv);
    }
}

#[inline(always)]
fn gelu_impl(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = gelu(*v));
}

#[inline(always)]
fn add_layer_norm_impl(x: &mut [f32], y: Option<&[f32]>, w: &[f32], b: &[f32], eps: f32) {
    let h = w.len();
    for (r, row) in x.chunks_exact_mut(h).enumerate() {
        if let Some(y) = y {
            for (v, a) in row.iter_mut().zip(&y[r * h..(r + 1) * h]) {
                *v += a;
            }
        }
        let mean = sum_of(row, |v| v) / h as f32;
        let var = sum_of(row, |v| (v - mean) * (v - mean)) / h as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), bb) in row.iter_mut().zip(w).zip(b) {
            *v = (*v - mean) * inv * g + bb;
        }
    }
}

#[inline(always)]
fn quantize_rows_impl(x: &[f32], k: usize, xq: &mut Vec<u8>, sx: &mut Vec<f32>) {
    for row in x.chunks_exact(k) {
        let m = max_of(row, f32::abs);
        let s = if m > 0.0 { m / 127.0 } else { 1.0 };
        let inv = 1.0 / s;
        sx.push(s);
        let start = xq.len();
        xq.resize(start + k, 0);
        for (q, &v) in xq[start..].iter_mut().zip(row) {
            *q = (round_int((v * inv).clamp(-127.0, 127.0)) + 128) as u8;
        }
    }
}

/// Which compiled copy of the steps runs. Holding one proves the CPU has its instructions:
/// the only constructors are [`Simd::best`] and [`Simd::at_most_avx2`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Simd(Level);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Baseline,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Simd {
    /// The widest copy this CPU runs.
    pub(super) fn best() -> Simd {
        use std::sync::OnceLock;
        static BEST: OnceLock<Level> = OnceLock::new();
        Simd(*BEST.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                if is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("fma")
                {
                    return Level::Avx512;
                }
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    return Level::Avx2;
                }
            }
            Level::Baseline
        }))
    }

    /// This copy, or the AVX2 one where this is wider: an encoder on the AVX2 int8 kernel
    /// runs AVX2 throughout, as it would on a CPU without AVX-512.
    pub(super) fn at_most_avx2(self) -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            Simd(self.0.min(Level::Avx2))
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self
        }
    }
}

/// Defines a public step that dispatches to copies of `$impl` compiled for each ISA.
macro_rules! dispatch {
    ($(#[$doc:meta])* $name:ident, $impl:ident, ($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        pub(super) fn $name(simd: Simd, $($arg: $ty),*) {
            #[cfg(not(target_arch = "x86_64"))]
            let _ = simd;
            #[cfg(target_arch = "x86_64")]
            {
                /// # Safety
                /// The CPU must have AVX2 and FMA.
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) {
                    $impl($($arg),*)
                }
                /// # Safety
                /// The CPU must have AVX-512 F and BW, AVX2 and FMA.
                #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) {
                    $impl($($arg),*)
                }
                match simd.0 {
                    // SAFETY: the CPU has the features (a `Simd` is made only by
                    // `Simd::best`, which checks them, or by lowering one).
                    Level::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    Level::Avx2 => return unsafe { avx2($($arg),*) },
                    Level::Baseline => {}
                }
            }
            $impl($($arg),*)
        }
    };
}

dispatch!(
    /// Each row of `scores` (rows of `t`) replaced by its softmax.
    softmax_rows, softmax_rows_impl, (scores: &mut [f32], t: usize)
);
dispatch!(
    /// `x` replaced by GELU(x).
    gelu_in_place, gelu_impl, (x: &mut [f32])
);
dispatch!(
    /// `x = LayerNorm(x + y)` row by row (`y` absent: `x = LayerNorm(x)`).
    add_layer_norm, add_layer_norm_impl,
    (x: &mut [f32], y: Option<&[f32]>, w: &[f32], b: &[f32], eps: f32)
);
dispatch!(
    /// Appends the rows of `x` (rows of `k`) quantized to unsigned bytes around 128,
    /// `v ≈ (q − 128)·s`, with each row's scale `s` in `sx`.
    quantize_rows, quantize_rows_impl, (x: &[f32], k: usize, xq: &mut Vec<u8>, sx: &mut Vec<f32>)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_and_gelu_match_the_library_functions() {
        let mut x = -30.0f32;
        while x < 30.0 {
            let e = x.exp();
            assert!((fast_exp(x) - e).abs() <= 5e-6 * e, "exp({x})");
            let g = 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2));
            assert!((gelu(x) - g).abs() < 1e-5 * (1.0 + g.abs()), "gelu({x})");
            x += 0.01;
        }
        assert_eq!(fast_exp(-200.0), fast_exp(-80.0));
        // Weights made of the smallest exp stay normal floats.
        assert!((fast_exp(-80.0) / 256.0).is_normal());
        assert!(fast_exp(88.0).is_finite());
    }

    #[test]
    fn every_compiled_copy_computes_the_same_bits() {
        let (wide, avx2) = (Simd::best(), Simd::best().at_most_avx2());
        let x: Vec<f32> = (0..3 * 40)
            .map(|i| ((i * 17 % 23) as f32 - 11.0) * 0.37)
            .collect();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        let run = |simd: Simd| {
            let mut soft = x.clone();
            softmax_rows(simd, &mut soft, 40);
            let mut g = x.clone();
            gelu_in_place(simd, &mut g);
            let mut ln = x.clone();
            add_layer_norm(simd, &mut ln, Some(&g), &x[..40], &x[40..80], 1e-12);
            let (mut q, mut s) = (Vec::new(), Vec::new());
            quantize_rows(simd, &x, 40, &mut q, &mut s);
            (bits(&soft), bits(&g), bits(&ln), q, bits(&s))
        };
        assert!(run(wide) == run(avx2));
    }

    #[test]
    fn softmax_rows_sum_to_one_and_keep_the_order() {
        let t = 37;
        let mut s: Vec<f32> = (0..2 * t).map(|i| ((i * 7 % 13) as f32) - 6.0).collect();
        let orig = s.clone();
        softmax_rows(Simd::best(), &mut s, t);
        for (row, o) in s.chunks(t).zip(orig.chunks(t)) {
            let sum: f32 = row.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5);
            let m = o.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            for (p, v) in row.iter().zip(o) {
                let exact = (v - m).exp() / o.iter().map(|u| (u - m).exp()).sum::<f32>();
                assert!((p - exact).abs() < 1e-5, "{p} vs {exact}");
            }
        }
    }

    #[test]
    fn layer_norm_centres_and_scales_each_row() {
        let h = 40;
        let mut x: Vec<f32> = (0..3 * h).map(|i| (i % 11) as f32 * 0.5).collect();
        let y: Vec<f32> = (0..3 * h).map(|i| (i % 5) as f32).collect();
        let (w, b) = (vec![1.0; h], vec![0.0; h]);
        add_layer_norm(Simd::best(), &mut x, Some(&y), &w, &b, 1e-12);
        for row in x.chunks(h) {
            let mean: f32 = row.iter().sum::<f32>() / h as f32;
            let var: f32 = row.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / h as f32;
            assert!(
                mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
                "{mean} {var}"
            );
        }
    }

    #[test]
    fn quantized_rows_round_to_nearest_and_span_the_range() {
        let k = 21;
        let x: Vec<f32> = (0..2 * k).map(|i| (i as f32 - 10.0) * 0.3).collect();
        let (mut q, mut s) = (Vec::new(), Vec::new());
        quantize_rows(Simd::best(), &x, k, &mut q, &mut s);
        assert_eq!((q.len(), s.len()), (2 * k, 2));
        for (r, row) in x.chunks(k).enumerate() {
            let m = row.iter().fold(0f32, |a, v| a.max(v.abs()));
            assert_eq!(s[r], m / 127.0);
            for (i, &v) in row.iter().enumerate() {
                let want = (v / s[r]).round_ties_even() as i32 + 128;
                assert!((i32::from(q[r * k + i]) - want).abs() <= 1, "{v}");
            }
            assert!(q[r * k..(r + 1) * k].iter().any(|&b| b == 1 || b == 255));
        }
        // An all-zero row quantizes to 128 with scale 1.
        let (mut q, mut s) = (Vec::new(), Vec::new());
        quantize_rows(Simd::best(), &[0.0; 8], 8, &mut q, &mut s);
        assert_eq!((q, s), (vec![128u8; 8], vec![1.0]));
    }
}
