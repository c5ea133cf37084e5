//! The transformer encoder (BERT layout, post-layer-norm, exact GELU) and the token
//! classification head, run on one sequence at a time on the calling thread: matrix
//! products go to `matrixmultiply`'s single-threaded SIMD kernels, so a worker pool of one
//! thread per core uses every core without oversubscription.
//!
//! Weights are stored as int8 rows with a scale in the file and expanded to f32 at load
//! (the word embeddings stay int8 and are expanded per looked-up row).

use super::elementwise::{add_layer_norm, gelu_in_place, softmax_rows, Simd};
use super::file::{EncoderFile, Stored};
use super::int8::{Int8Isa, PackedI8, Scratch};
use crate::tag::TagError;

/// A linear layer: f32 weights for `matrixmultiply`, or packed int8 for an int8 kernel.
#[derive(Debug, Clone)]
enum Linear {
    F32 {
        w: Vec<f32>,
        b: Vec<f32>,
        nin: usize,
    },
    I8(PackedI8),
}

impl Linear {
    /// The layer made of the row-stacked weight tensors `weights` (each `[rows, nin]`)
    /// and their biases.
    fn load(
        f: &EncoderFile,
        weights: &[String],
        biases: &[String],
        rows: usize,
        nin: usize,
        int8: Option<Int8Isa>,
    ) -> Result<Linear, TagError> {
        let mut b = Vec::new();
        for name in biases {
            b.extend(f.tensor(name, 1, rows)?.to_f32());
        }
        let mut q = Vec::new();
        let mut sc = Vec::new();
        let mut all_i8 = true;
        for name in weights {
            match &f.tensor(name, rows, nin)?.data {
                Stored::I8 { scales, values } => {
                    q.extend_from_slice(values);
                    sc.extend_from_slice(scales);
                }
                Stored::F32(_) => all_i8 = false,
            }
        }
        if let (Some(isa), true) = (int8, all_i8) {
            if let Some(p) = PackedI8::new(isa, &q, &sc, &b, rows * weights.len(), nin) {
                return Ok(Linear::I8(p));
            }
        }
        let mut w = Vec::new();
        for name in weights {
            w.extend(f.tensor(name, rows, nin)?.to_f32());
        }
        Ok(Linear::F32 { w, b, nin })
    }

    fn apply(&self, x: &[f32], t: usize, y: &mut Vec<f32>, scratch: &mut Scratch) {
        match self {
            Linear::F32 { w, b, nin } => linear(x, t, *nin, w, b, y),
            Linear::I8(p) => p.apply(x, t, y, scratch),
        }
    }

    fn memory_bytes(&self) -> usize {
        match self {
            Linear::F32 { w, b, .. } => 4 * (w.len() + b.len()),
            Linear::I8(p) => p.memory_bytes(),
        }
    }
}

/// One transformer layer's weights (matrices `[out, in]`, row-major).
#[derive(Debug, Clone)]
struct Layer {
    /// Q, K and V stacked: `[3 * hidden, hidden]`.
    qkv: Linear,
    /// Attention output projection.
    attn_out: Linear,
    /// Layer norm after attention: weight and bias.
    attn_norm_w: Vec<f32>,
    attn_norm_b: Vec<f32>,
    /// Feed-forward block: up projection (then GELU) and down projection.
    ffn_in: Linear,
    ffn_out: Linear,
    /// Layer norm after the feed-forward block: weight and bias.
    ffn_norm_w: Vec<f32>,
    ffn_norm_b: Vec<f32>,
}

/// The loaded encoder and head.
#[derive(Debug, Clone)]
pub struct Encoder {
    /// The compiled copy of the element-wise steps: AVX2 with the AVX2 kernel, else the
    /// widest.
    simd: Simd,
    hidden: usize,
    heads: usize,
    max_pos: usize,
    labels: usize,
    eps: f32,
    vocab_size: usize,
    word_q: Vec<i8>,
    word_scale: Vec<f32>,
    pos: Vec<f32>,
    tok_type: Vec<f32>,
    eln_w: Vec<f32>,
    eln_b: Vec<f32>,
    layers: Vec<Layer>,
    head_w: Vec<f32>,
    head_b: Vec<f32>,
}

/// Score rows are padded to a multiple of this (one 512-bit register of f32).
const SCORE_LANES: usize = 16;

/// One sequence of a batch: its piece ids and the positions whose labels are read.
#[derive(Debug, Clone, Copy)]
pub struct Seq<'a> {
    /// Piece ids, `<s>` and `</s>` included.
    pub ids: &'a [u32],
    /// Positions in `ids` whose label scores are returned.
    pub read: &'a [usize],
}

/// Reusable activation buffers of one thread.
#[derive(Debug, Default)]
pub struct Buffers {
    /// Rows `[start, start + len)` of each sequence of the batch.
    segs: Vec<(usize, usize)>,
    x: Vec<f32>,
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    tmp: Vec<f32>,
    mid: Vec<f32>,
    scores: Vec<f32>,
    rows: Vec<f32>,
    quant: Scratch,
}

/// `y[t, nout] = x[t, nin] · w[nout, nin]ᵀ + b`.
fn linear(x: &[f32], t: usize, nin: usize, w: &[f32], b: &[f32], y: &mut Vec<f32>) {
    let nout = b.len();
    assert!(
        x.len() >= t * nin && w.len() == nout * nin,
        "linear: shapes"
    );
    y.clear();
    for _ in 0..t {
        y.extend_from_slice(b);
    }
    if t == 0 {
        return;
    }
    // SAFETY: the pointers cover `t * nin`, `nout * nin` and `t * nout` elements (checked
    // above and by construction of `y`), with the strides given.
    unsafe {
        matrixmultiply::sgemm(
            t,
            nin,
            nout,
            1.0,
            x.as_ptr(),
            nin as isize,
            1,
            w.as_ptr(),
            1,
            nin as isize,
            1.0,
            y.as_mut_ptr(),
            nout as isize,
            1,
        );
    }
}

impl Encoder {
    /// Builds the encoder from a parsed file, checking every tensor's shape; the linear
    /// layers use the `int8` kernel where the CPU has it (f32 products otherwise).
    pub fn new(f: &EncoderFile, int8: Option<Int8Isa>) -> Result<Encoder, TagError> {
        let d = f.dims;
        let (h, ff) = (d.hidden, d.ff);
        let word = f
            .tensors
            .get("word.weight")
            .ok_or_else(|| TagError::Model("missing tensor word.weight".into()))?;
        if word.cols != h || word.rows != f.vocab.pieces.len() {
            return Err(TagError::Model(format!(
                "word.weight is {}x{}, expected {}x{h}",
                word.rows,
                word.cols,
                f.vocab.pieces.len()
            )));
        }
        let (word_q, word_scale) = match &word.data {
            Stored::I8 { scales, values } => (values.clone(), scales.clone()),
            Stored::F32(v) => {
                // Quantize a plain table the same way the training script exports it.
                let mut q = Vec::with_capacity(v.len());
                let mut s = Vec::with_capacity(word.rows);
                for row in v.chunks(h) {
                    let m = row.iter().fold(0f32, |a, x| a.max(x.abs()));
                    let sc = if m > 0.0 { m / 127.0 } else { 1.0 };
                    s.push(sc);
                    q.extend(
                        row.iter()
                            .map(|x| (x / sc).round().clamp(-127.0, 127.0) as i8),
                    );
                }
                (q, s)
            }
        };
        let get = |name: &str, rows: usize, cols: usize| -> Result<Vec<f32>, TagError> {
            Ok(f.tensor(name, rows, cols)?.to_f32())
        };
        let int8 = int8.filter(|isa| isa.supported());
        let mut layers = Vec::with_capacity(d.layers);
        for i in 0..d.layers {
            let p = |s: &str| format!("layers.{i}.{s}");
            let lin = |parts: &[&str], rows: usize, nin: usize| {
                let w: Vec<String> = parts.iter().map(|s| p(&format!("{s}.weight"))).collect();
                let b: Vec<String> = parts.iter().map(|s| p(&format!("{s}.bias"))).collect();
                Linear::load(f, &w, &b, rows, nin, int8)
            };
            layers.push(Layer {
                qkv: lin(&["q", "k", "v"], h, h)?,
                attn_out: lin(&["ao"], h, h)?,
                attn_norm_w: get(&p("aln.weight"), 1, h)?,
                attn_norm_b: get(&p("aln.bias"), 1, h)?,
                ffn_in: lin(&["fi"], ff, h)?,
                ffn_out: lin(&["fo"], h, ff)?,
                ffn_norm_w: get(&p("oln.weight"), 1, h)?,
                ffn_norm_b: get(&p("oln.bias"), 1, h)?,
            });
        }
        let simd = match int8 {
            Some(Int8Isa::Avx2) => Simd::best().at_most_avx2(),
            _ => Simd::best(),
        };
        Ok(Encoder {
            simd,
            hidden: h,
            heads: d.heads,
            max_pos: d.max_pos,
            labels: d.labels,
            eps: f.eps,
            vocab_size: word.rows,
            word_q,
            word_scale,
            pos: get("pos.weight", d.max_pos, h)?,
            tok_type: get("tok_type", 1, h)?,
            eln_w: get("eln.weight", 1, h)?,
            eln_b: get("eln.bias", 1, h)?,
            layers,
            head_w: get("head.weight", d.labels, h)?,
            head_b: get("head.bias", 1, d.labels)?,
        })
    }

    /// The int8 kernel the linear layers run (`None`: f32 products).
    pub fn int8_kernel(&self) -> Option<Int8Isa> {
        match self.layers.first().map(|l| &l.qkv) {
            Some(Linear::I8(p)) => Some(p.isa()),
            _ => None,
        }
    }

    /// Bytes held in memory by the weights.
    pub fn memory_bytes(&self) -> usize {
        let layer: usize = self
            .layers
            .iter()
            .map(|l| {
                l.qkv.memory_bytes()
                    + l.attn_out.memory_bytes()
                    + l.ffn_in.memory_bytes()
                    + l.ffn_out.memory_bytes()
                    + 16 * self.hidden
            })
            .sum();
        self.word_q.len() + 4 * (self.word_scale.len() + self.pos.len() + self.head_w.len()) + layer
    }

    /// Label scores (log-probabilities) at positions `read` of the sequence `ids`:
    /// `out[i * labels + l]`. `ids` must fit [`Encoder::max_len`].
    pub fn forward(&self, ids: &[u32], read: &[usize], buf: &mut Buffers, out: &mut Vec<f32>) {
        self.forward_batch(&[Seq { ids, read }], buf, out);
    }

    /// [`Encoder::forward`] of several sequences at once, their label rows one after the
    /// other in `out`. The linear layers run on the rows of all of them together (full
    /// register tiles, each weight block fetched once a batch rather than once a sequence);
    /// attention stays within each sequence. Every row's result is the same as alone: the
    /// activations are quantized row by row.
    pub fn forward_batch(&self, seqs: &[Seq<'_>], buf: &mut Buffers, out: &mut Vec<f32>) {
        let h = self.hidden;
        buf.segs.clear();
        let mut t = 0;
        for s in seqs {
            let n = s.ids.len().min(self.max_pos);
            buf.segs.push((t, n));
            t += n;
        }
        self.embed(seqs, buf);
        for l in &self.layers {
            self.attention(l, t, buf);
            l.attn_out.apply(&buf.ctx, t, &mut buf.tmp, &mut buf.quant);
            add_layer_norm(
                self.simd,
                &mut buf.x,
                Some(&buf.tmp),
                &l.attn_norm_w,
                &l.attn_norm_b,
                self.eps,
            );
            l.ffn_in.apply(&buf.x, t, &mut buf.mid, &mut buf.quant);
            gelu_in_place(self.simd, &mut buf.mid);
            l.ffn_out.apply(&buf.mid, t, &mut buf.tmp, &mut buf.quant);
            add_layer_norm(
                self.simd,
                &mut buf.x,
                Some(&buf.tmp),
                &l.ffn_norm_w,
                &l.ffn_norm_b,
                self.eps,
            );
        }
        buf.rows.clear();
        let mut reads = 0;
        for (s, &(start, n)) in seqs.iter().zip(&buf.segs) {
            for &r in s.read {
                let r = start + r.min(n.saturating_sub(1));
                buf.rows.extend_from_slice(&buf.x[r * h..(r + 1) * h]);
            }
            reads += s.read.len();
        }
        linear(&buf.rows, reads, h, &self.head_w, &self.head_b, out);
        for row in out.chunks_exact_mut(self.labels) {
            let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f32>().ln();
            row.iter_mut().for_each(|v| *v -= lse);
        }
    }

    /// Token embeddings (int8 rows with a scale each) plus position and token-type
    /// embeddings, layer-normed, into `buf.x`: the rows of every sequence (as cut to
    /// `buf.segs`), positions counted from each one's start.
    fn embed(&self, seqs: &[Seq<'_>], buf: &mut Buffers) {
        let h = self.hidden;
        buf.x.clear();
        for (s, &(_, n)) in seqs.iter().zip(&buf.segs) {
            for (p, &id) in s.ids[..n].iter().enumerate() {
                let id = (id as usize).min(self.vocab_size - 1);
                let sc = self.word_scale[id];
                let row = &self.word_q[id * h..(id + 1) * h];
                let pos = &self.pos[p * h..(p + 1) * h];
                buf.x.extend(
                    row.iter()
                        .zip(pos)
                        .zip(&self.tok_type)
                        .map(|((&q, &pe), &te)| f32::from(q) * sc + pe + te),
                );
            }
        }
        add_layer_norm(
            self.simd,
            &mut buf.x,
            None,
            &self.eln_w,
            &self.eln_b,
            self.eps,
        );
    }

    /// Multi-head self-attention of layer `l` over the `t` rows of `buf.x`, each sequence
    /// of `buf.segs` attending to itself only, into `buf.ctx` (before the output projection).
    fn attention(&self, l: &Layer, t: usize, buf: &mut Buffers) {
        let h = self.hidden;
        let hd = h / self.heads;
        let scale = 1.0 / (hd as f32).sqrt();
        l.qkv.apply(&buf.x, t, &mut buf.qkv, &mut buf.quant);
        // Every element of ctx is written below (beta = 0 reads nothing).
        buf.ctx.resize(t * h, 0.0);
        for &(start, n) in &buf.segs {
            if n == 0 {
                continue;
            }
            // Score rows padded to whole registers with −∞ (a weight of e^−87 after the
            // softmax, and never read by the product with V): no scalar tail per row.
            let np = n.div_ceil(SCORE_LANES) * SCORE_LANES;
            buf.scores.clear();
            buf.scores.resize(n * np, f32::NEG_INFINITY);
            let qkv = &buf.qkv[start * 3 * h..(start + n) * 3 * h];
            let ctx = &mut buf.ctx[start * h..(start + n) * h];
            for head in 0..self.heads {
                let q = &qkv[head * hd..];
                let k = &qkv[h + head * hd..];
                let v = &qkv[2 * h + head * hd..];
                // SAFETY: q/k/v rows are `3h` apart within this sequence's `n` rows of
                // `qkv`, the score matrix is n rows of `np ≥ n` and ctx holds its n rows
                // of h values; strides match.
                unsafe {
                    matrixmultiply::sgemm(
                        n,
                        hd,
                        n,
                        scale,
                        q.as_ptr(),
                        (3 * h) as isize,
                        1,
                        k.as_ptr(),
                        1,
                        (3 * h) as isize,
                        0.0,
                        buf.scores.as_mut_ptr(),
                        np as isize,
                        1,
                    );
                }
                softmax_rows(self.simd, &mut buf.scores, np);
                // SAFETY: as above; ctx columns [head*hd, head*hd + hd) of each row.
                unsafe {
                    matrixmultiply::sgemm(
                        n,
                        n,
                        hd,
                        1.0,
                        buf.scores.as_ptr(),
                        np as isize,
                        1,
                        v.as_ptr(),
                        (3 * h) as isize,
                        1,
                        0.0,
                        ctx.as_mut_ptr().add(head * hd),
                        h as isize,
                        1,
                    );
                }
                // The next head's scores start from −∞ padding again.
                if np > n {
                    for row in buf.scores.chunks_exact_mut(np) {
                        row[n..].iter_mut().for_each(|v| *v = f32::NEG_INFINITY);
                    }
                }
            }
        }
    }
}
