//! int8 products for the encoder's linear layers. The weights are the file's int8 rows (one
//! scale each), packed for the CPU's instructions; activations are quantized per token row
//! to bytes `q ∈ [−127, 127]` (stored as `q + 128`) at each call, and
//! `y = sw·sx·Σ w·q + b`. Two kernels give the same integers, so the same outputs bit for
//! bit:
//!
//! - **AVX-512 VNNI** (`vpdpbusd`, 64 multiply-adds an instruction): unsigned `q + 128`
//!   times signed weights, less `128·Σ w` per output;
//! - **AVX2** (CPUs without VNNI): `q` and the weights widened to 16 bits, `vpmaddwd`
//!   (16 multiply-adds an instruction), weights twice the bytes. The byte route,
//!   `vpmaddubsw`, either saturates its 16-bit pair sums (255·127·2 > 32,767) or needs a
//!   sign flip per product (`vpsignb`); the flip made it slower than this on an Intel Xeon
//!   (896 against 1,253 encoder tokens per CPU-second).
//!
//! The f32 path (`matrixmultiply`) serves other CPUs and `NEWSFLOW_ENCODER_KERNEL=f32`.

use super::elementwise::{quantize_rows, Simd};
use crate::tag::TagError;

/// The environment variable that overrides the kernel choice (`auto`, `vnni`, `avx2`, `f32`).
pub const KERNEL_ENV: &str = "NEWSFLOW_ENCODER_KERNEL";

/// The instructions an int8 kernel uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Int8Isa {
    /// AVX-512 F, BW and VNNI: 16 outputs a register.
    Vnni,
    /// AVX2 and FMA, 16-bit products: 8 outputs a register.
    Avx2,
}

impl Int8Isa {
    /// Whether this CPU has the kernel's instructions.
    pub fn supported(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            match self {
                Int8Isa::Vnni => {
                    is_x86_feature_detected!("avx512f")
                        && is_x86_feature_detected!("avx512bw")
                        && is_x86_feature_detected!("avx512vnni")
                        && is_x86_feature_detected!("fma")
                }
                Int8Isa::Avx2 => {
                    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// The fastest kernel this CPU has (`None`: f32 products).
    pub fn best() -> Option<Int8Isa> {
        [Int8Isa::Vnni, Int8Isa::Avx2]
            .into_iter()
            .find(|isa| isa.supported())
    }

    /// The kernel [`KERNEL_ENV`] asks for, where this CPU has it: unset or `auto` the best
    /// one, `vnni` or `avx2` that one (f32 where the CPU lacks it), `f32` none. Any other
    /// value is an error rather than a silent default.
    pub fn from_env() -> Result<Option<Int8Isa>, TagError> {
        Self::from_choice(std::env::var(KERNEL_ENV).ok().as_deref())
    }

    /// [`Int8Isa::from_env`] of a given value.
    pub fn from_choice(value: Option<&str>) -> Result<Option<Int8Isa>, TagError> {
        let wanted = match value.map(str::trim) {
            None | Some("") | Some("auto") => return Ok(Self::best()),
            Some("f32") => return Ok(None),
            Some("vnni") => Int8Isa::Vnni,
            Some("avx2") => Int8Isa::Avx2,
            Some(other) => {
                return Err(TagError::Kernel(format!(
                    "{KERNEL_ENV}={other:?}: expected auto, vnni, avx2 or f32"
                )))
            }
        };
        Ok(Some(wanted).filter(|isa| isa.supported()))
    }

    /// Outputs of one packed block (one register of i32 accumulators).
    fn block(self) -> usize {
        match self {
            Int8Isa::Vnni => 16,
            Int8Isa::Avx2 => 8,
        }
    }
}

/// The weights laid out for one kernel, `B` outputs a block ([`Int8Isa::block`]).
#[derive(Debug, Clone)]
enum Blocks {
    /// `[n/16][k/4][16][4]` bytes, and 128 · Σ_k w per output: the correction for the
    /// unsigned activations `vpdpbusd` multiplies.
    Vnni { bytes: Vec<i8>, corr: Vec<i32> },
    /// `[n/8][k/2][8][2]` 16-bit words.
    Avx2 { words: Vec<i16> },
}

/// A weight matrix `[n, k]` packed for one kernel.
///
/// Holding one proves what its kernel assumes: the CPU has the kernel's instructions, `n`
/// is a multiple of the kernel's block, `k` of 4, the blocks hold `n × k` values, and the
/// scales, bias and VNNI corrections `n` values each. [`PackedI8::new`] checks all of it
/// and is the only constructor.
#[derive(Debug, Clone)]
pub struct PackedI8 {
    n: usize,
    k: usize,
    blocks: Blocks,
    /// The copy of the activation quantization that goes with the kernel.
    simd: Simd,
    scales: Vec<f32>,
    bias: Vec<f32>,
}

/// Reusable buffers of [`PackedI8::apply`]: the quantized activations and their row scales.
#[derive(Debug, Default)]
pub struct Scratch {
    /// `q + 128` per activation.
    bytes: Vec<u8>,
    /// `q` per activation, widened for the AVX2 kernel.
    words: Vec<i16>,
    /// Each row's scale.
    scales: Vec<f32>,
}

impl PackedI8 {
    /// Packs `values` (`[n, k]` row-major int8) with their row scales and bias for `isa`;
    /// `None` when this CPU lacks its instructions or the data do not fit it (see the
    /// type's invariants).
    pub fn new(
        isa: Int8Isa,
        values: &[i8],
        scales: &[f32],
        bias: &[f32],
        n: usize,
        k: usize,
    ) -> Option<Self> {
        let block = isa.block();
        if !isa.supported()
            || !n.is_multiple_of(block)
            || !k.is_multiple_of(4)
            || values.len() != n * k
            || scales.len() != n
            || bias.len() != n
        {
            return None;
        }
        let blocks = match isa {
            Int8Isa::Vnni => Blocks::Vnni {
                bytes: interleave(values, n, k, block, 4),
                corr: values
                    .chunks_exact(k)
                    .map(|row| 128 * row.iter().map(|&v| i32::from(v)).sum::<i32>())
                    .collect(),
            },
            Int8Isa::Avx2 => Blocks::Avx2 {
                words: interleave(values, n, k, block, 2)
                    .into_iter()
                    .map(i16::from)
                    .collect(),
            },
        };
        let simd = match isa {
            Int8Isa::Vnni => Simd::best(),
            Int8Isa::Avx2 => Simd::best().at_most_avx2(),
        };
        Some(PackedI8 {
            n,
            k,
            blocks,
            simd,
            scales: scales.to_vec(),
            bias: bias.to_vec(),
        })
    }

    /// The kernel the weights are packed for.
    pub fn isa(&self) -> Int8Isa {
        match self.blocks {
            Blocks::Vnni { .. } => Int8Isa::Vnni,
            Blocks::Avx2 { .. } => Int8Isa::Avx2,
        }
    }

    /// Bytes held.
    pub fn memory_bytes(&self) -> usize {
        let blocks = match &self.blocks {
            Blocks::Vnni { bytes, corr } => bytes.len() + 4 * corr.len(),
            Blocks::Avx2 { words } => 2 * words.len(),
        };
        blocks + 4 * (self.scales.len() + self.bias.len())
    }

    /// `y[t, n] = x[t, k] · wᵀ + b`.
    pub fn apply(&self, x: &[f32], t: usize, y: &mut Vec<f32>, scratch: &mut Scratch) {
        assert!(x.len() >= t * self.k, "int8 linear: shapes");
        let Scratch {
            bytes,
            words,
            scales,
        } = scratch;
        bytes.clear();
        scales.clear();
        quantize_rows(self.simd, &x[..t * self.k], self.k, bytes, scales);
        // The kernels write every element: no clearing of what an earlier call left.
        y.resize(t * self.n, 0.0);
        match &self.blocks {
            #[cfg(target_arch = "x86_64")]
            Blocks::Vnni { bytes: w, corr } => {
                // SAFETY: a `PackedI8` exists only where the CPU has its kernel's features
                // and its vectors have the kernel's shapes (`new`); `run` checks the
                // buffers it is given.
                unsafe { vnni::run(self, w, corr, bytes, scales, t, y) }
            }
            #[cfg(target_arch = "x86_64")]
            Blocks::Avx2 { words: w } => {
                words.clear();
                words.extend(bytes.iter().map(|&b| i16::from(b) - 128));
                // SAFETY: as above.
                unsafe { avx2::run(self, w, words, scales, t, y) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("no int8 kernel is supported off x86_64"),
        }
    }
}

/// `values` (`[n, k]` row-major) regrouped as `[n/block][k/group][block][group]`: each
/// register load then holds `group` consecutive inputs of `block` outputs.
fn interleave(values: &[i8], n: usize, k: usize, block: usize, group: usize) -> Vec<i8> {
    let mut out = vec![0i8; n * k];
    for nb in 0..n / block {
        for g in 0..k / group {
            for r in 0..block {
                for b in 0..group {
                    out[((nb * (k / group) + g) * block + r) * group + b] =
                        values[(nb * block + r) * k + g * group + b];
                }
            }
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::PackedI8;
    use std::arch::x86_64::*;

    /// Outputs of one block (one 512-bit register of i32 accumulators).
    const BLOCK: usize = 16;
    /// Activation rows of one register tile.
    const ROWS: usize = 6;
    // `columns` finishes the rows past the last full tile with one tile of 1 to 5 rows.
    const _: () = assert!(ROWS == 6);
    /// Weight blocks (of 16 outputs) of one register tile: `ROWS × COLS` accumulators,
    /// `COLS` weight registers and one broadcast fit the 32 vector registers, and each
    /// step loads `ROWS + COLS` vectors for `ROWS × COLS` multiply-adds.
    const COLS: usize = 4;

    /// The weights with their checked blocks and corrections.
    struct Packed<'a> {
        w: &'a PackedI8,
        blocks: &'a [i8],
        corr: &'a [i32],
    }

    /// `y[t, n] = dequantize(xq[t, k] · wᵀ) + b`.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F, BW and VNNI and FMA (true of every `PackedI8`, whose
    /// constructor checks it). The buffer lengths are checked here.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,fma")]
    pub(super) unsafe fn run(
        w: &PackedI8,
        blocks: &[i8],
        corr: &[i32],
        xq: &[u8],
        sx: &[f32],
        t: usize,
        y: &mut [f32],
    ) {
        assert!(xq.len() == t * w.k && sx.len() == t && y.len() == t * w.n);
        assert!(blocks.len() == w.n * w.k && corr.len() == w.n);
        let p = Packed { w, blocks, corr };
        let nblocks = w.n / BLOCK;
        let mut nb = 0;
        // SAFETY: the features are enabled here (this function's contract); `nb + C`
        // blocks stay within `w.n / BLOCK` and the buffers were checked above.
        unsafe {
            while nb + COLS <= nblocks {
                columns::<COLS>(&p, nb, xq, sx, t, y);
                nb += COLS;
            }
            while nb < nblocks {
                columns::<1>(&p, nb, xq, sx, t, y);
                nb += 1;
            }
        }
    }

    /// Outputs of the blocks `[nb, nb + C)` for every row.
    ///
    /// # Safety
    /// As [`run`]: the CPU features, buffers of `run`'s checked lengths, and
    /// `(nb + C) * BLOCK <= w.w.n`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,fma")]
    unsafe fn columns<const C: usize>(
        w: &Packed<'_>,
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
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,fma")]
    unsafe fn tile<const R: usize, const C: usize>(
        p: &Packed<'_>,
        nb: usize,
        xq: &[u8],
        sx: &[f32],
        ti: usize,
        y: &mut [f32],
    ) {
        let w = p.w;
        // SAFETY: this function's contract (see # Safety).
        unsafe {
            let kg = w.k / 4;
            let mut acc = [[_mm512_setzero_si512(); C]; R];
            let xp = xq.as_ptr().add(ti * w.k);
            let wp = p.blocks.as_ptr().add(nb * kg * BLOCK * 4);
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
                let corr = _mm512_loadu_si512(p.corr.as_ptr().add(o).cast());
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

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::PackedI8;
    use std::arch::x86_64::*;

    /// Outputs of one block (one 256-bit register of i32 accumulators).
    const BLOCK: usize = 8;
    /// Activation rows of one register tile.
    const ROWS: usize = 4;
    // `columns` finishes the rows past the last full tile with one tile of 1 to 3 rows.
    const _: () = assert!(ROWS == 4);
    /// Weight blocks of one register tile: `ROWS × COLS` accumulators, `COLS` weights, an
    /// activation pair and a product fit the 16 vector registers.
    const COLS: usize = 2;

    /// The weights with their checked words.
    struct Packed<'a> {
        w: &'a PackedI8,
        words: &'a [i16],
    }

    /// `y[t, n] = dequantize(xw[t, k] · wᵀ) + b`, `xw` the activations `q` as 16 bits.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA (true of every AVX2 `PackedI8`, whose constructor
    /// checks it). The buffer lengths are checked here.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run(
        w: &PackedI8,
        words: &[i16],
        xw: &[i16],
        sx: &[f32],
        t: usize,
        y: &mut [f32],
    ) {
        assert!(xw.len() == t * w.k && sx.len() == t && y.len() == t * w.n);
        assert!(words.len() == w.n * w.k);
        let p = Packed { w, words };
        let nblocks = w.n / BLOCK;
        let mut nb = 0;
        // SAFETY: the features are enabled here (this function's contract); `nb + C`
        // blocks stay within `w.n / BLOCK` and the buffers were checked above.
        unsafe {
            while nb + COLS <= nblocks {
                columns::<COLS>(&p, nb, xw, sx, t, y);
                nb += COLS;
            }
            while nb < nblocks {
                columns::<1>(&p, nb, xw, sx, t, y);
                nb += 1;
            }
        }
    }

    /// Outputs of the blocks `[nb, nb + C)` for every row.
    ///
    /// # Safety
    /// As [`run`]: the CPU features, buffers of `run`'s checked lengths, and
    /// `(nb + C) * BLOCK <= p.w.n`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn columns<const C: usize>(
        p: &Packed<'_>,
        nb: usize,
        xw: &[i16],
        sx: &[f32],
        t: usize,
        y: &mut [f32],
    ) {
        let mut ti = 0;
        // SAFETY: this function's contract, and `ti + R <= t` for every tile.
        unsafe {
            while ti + ROWS <= t {
                tile::<ROWS, C>(p, nb, xw, sx, ti, y);
                ti += ROWS;
            }
            match t - ti {
                3 => tile::<3, C>(p, nb, xw, sx, ti, y),
                2 => tile::<2, C>(p, nb, xw, sx, ti, y),
                1 => tile::<1, C>(p, nb, xw, sx, ti, y),
                _ => {}
            }
        }
    }

    /// Rows `[ti, ti + R)` × blocks `[nb, nb + C)`, accumulated in registers.
    ///
    /// # Safety
    /// As [`columns`], and `ti + R <= t`: every load and store below then stays inside
    /// `xw` (`t × k`), the packed words, the `n`-long scale and bias vectors, and `y`
    /// (`t × n`).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile<const R: usize, const C: usize>(
        p: &Packed<'_>,
        nb: usize,
        xw: &[i16],
        sx: &[f32],
        ti: usize,
        y: &mut [f32],
    ) {
        let w = p.w;
        // SAFETY: this function's contract (see # Safety).
        unsafe {
            let kp = w.k / 2;
            let mut acc = [[_mm256_setzero_si256(); C]; R];
            let xp = xw.as_ptr().add(ti * w.k);
            let wp = p.words.as_ptr().add(nb * kp * BLOCK * 2);
            for g in 0..kp {
                let mut wv = [_mm256_setzero_si256(); C];
                for (c, v) in wv.iter_mut().enumerate() {
                    *v = _mm256_loadu_si256(wp.add((c * kp + g) * BLOCK * 2).cast());
                }
                for (j, row) in acc.iter_mut().enumerate() {
                    // Two consecutive activations, in every 32-bit lane.
                    let pair = std::ptr::read_unaligned(xp.add(j * w.k + g * 2).cast::<i32>());
                    let xv = _mm256_set1_epi32(pair);
                    for (a, v) in row.iter_mut().zip(&wv) {
                        *a = _mm256_add_epi32(*a, _mm256_madd_epi16(xv, *v));
                    }
                }
            }
            for c in 0..C {
                let o = (nb + c) * BLOCK;
                let scale = _mm256_loadu_ps(w.scales.as_ptr().add(o));
                let bias = _mm256_loadu_ps(w.bias.as_ptr().add(o));
                for (j, row) in acc.iter().enumerate() {
                    let v = _mm256_cvtepi32_ps(row[c]);
                    let s = _mm256_mul_ps(scale, _mm256_set1_ps(sx[ti + j]));
                    let out = _mm256_fmadd_ps(v, s, bias);
                    _mm256_storeu_ps(y.as_mut_ptr().add((ti + j) * w.n + o), out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tile heights each kernel meets: full tiles and every height of the last one.
    const HEIGHTS: [usize; 10] = [1, 2, 3, 4, 5, 6, 7, 11, 13, 16];

    #[test]
    fn every_kernel_matches_the_float_product_of_the_dequantized_weights() {
        for isa in [Int8Isa::Vnni, Int8Isa::Avx2] {
            if !isa.supported() {
                eprintln!("skipped {isa:?}: not on this CPU");
                continue;
            }
            for t in HEIGHTS {
                check_against_reference(isa, t);
            }
        }
    }

    #[test]
    fn the_kernels_agree_bit_for_bit() {
        if !(Int8Isa::Vnni.supported() && Int8Isa::Avx2.supported()) {
            eprintln!("skipped: needs both AVX-512 VNNI and AVX2");
            return;
        }
        let (n, k) = (48, 36);
        let (values, scales, bias) = weights(n, k);
        for t in HEIGHTS {
            let x = activations(t, k);
            let run = |isa| {
                let p = PackedI8::new(isa, &values, &scales, &bias, n, k).unwrap();
                let (mut y, mut scratch) = (Vec::new(), Scratch::default());
                p.apply(&x, t, &mut y, &mut scratch);
                y.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            };
            assert_eq!(run(Int8Isa::Vnni), run(Int8Isa::Avx2), "t = {t}");
        }
    }

    #[test]
    fn shapes_a_kernel_cannot_take_are_refused() {
        for isa in [Int8Isa::Vnni, Int8Isa::Avx2] {
            if !isa.supported() {
                continue;
            }
            let (n, k) = (16, 8);
            let ok = PackedI8::new(isa, &[1; 128], &[1.0; 16], &[0.0; 16], n, k);
            assert!(ok.is_some_and(|p| p.isa() == isa));
            // k not a multiple of 4, n not of the block, too few values, scales or biases.
            assert!(PackedI8::new(isa, &[1; 96], &[1.0; 16], &[0.0; 16], 16, 6).is_none());
            assert!(PackedI8::new(isa, &[1; 28], &[1.0; 7], &[0.0; 7], 7, 4).is_none());
            assert!(PackedI8::new(isa, &[1; 127], &[1.0; 16], &[0.0; 16], n, k).is_none());
            assert!(PackedI8::new(isa, &[1; 128], &[1.0; 15], &[0.0; 16], n, k).is_none());
            assert!(PackedI8::new(isa, &[1; 128], &[1.0; 16], &[0.0; 15], n, k).is_none());
        }
    }

    #[test]
    fn the_environment_names_a_kernel_or_is_an_error() {
        assert_eq!(Int8Isa::from_choice(None).unwrap(), Int8Isa::best());
        assert_eq!(Int8Isa::from_choice(Some("auto")).unwrap(), Int8Isa::best());
        assert_eq!(Int8Isa::from_choice(Some("f32")).unwrap(), None);
        let avx2 = Int8Isa::from_choice(Some(" avx2 ")).unwrap();
        assert_eq!(avx2, Some(Int8Isa::Avx2).filter(|i| i.supported()));
        let err = Int8Isa::from_choice(Some("int4")).unwrap_err().to_string();
        assert!(
            err.contains("NEWSFLOW_ENCODER_KERNEL=\"int4\"") && err.contains("avx2"),
            "{err}"
        );
    }

    fn weights(n: usize, k: usize) -> (Vec<i8>, Vec<f32>, Vec<f32>) {
        // Every weight from −128 to 127, the extremes included.
        let values = (0..n * k)
            .map(|i| ((i * 37 % 256) as i32 - 128) as i8)
            .collect();
        let scales = (0..n).map(|i| 0.01 + i as f32 * 0.001).collect();
        let bias = (0..n).map(|i| i as f32 * 0.1).collect();
        (values, scales, bias)
    }

    fn activations(t: usize, k: usize) -> Vec<f32> {
        (0..t * k)
            .map(|i| ((i * 13 % 29) as f32 - 14.0) / 7.0)
            .collect()
    }

    fn check_against_reference(isa: Int8Isa, t: usize) {
        // Seven blocks of 16 (VNNI: one tile of 4 and three single blocks) or fifteen of 8
        // (AVX2: seven pairs and one single).
        let n = match isa {
            Int8Isa::Vnni => 112,
            Int8Isa::Avx2 => 120,
        };
        let k = 40;
        let (values, scales, bias) = weights(n, k);
        let x = activations(t, k);
        let p = PackedI8::new(isa, &values, &scales, &bias, n, k).unwrap();
        let (mut y, mut scratch) = (Vec::new(), Scratch::default());
        p.apply(&x, t, &mut y, &mut scratch);
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
                    "{isa:?} {r},{c}: {got} vs {exact}"
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
