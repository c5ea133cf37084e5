//! The accurate tier: multilingual-e5-small fine-tuned for Hebrew entities
//! (`scripts/accurate/train.py`), run in Rust. Its labeller segments each chunk's words
//! into pieces, runs the encoder over windows of at most [`MAX_PIECES`] pieces that end at
//! word boundaries, reads the label scores at each word's first piece and decodes them with
//! the same constrained Viterbi as the fast tier (valid BIOES only). Everything around the
//! labeller (gazetteer, rules, merges, canonical forms) is the shared pipeline.

mod elementwise;
pub(crate) mod encoder;
pub mod file;
pub(crate) mod int8;
pub(crate) mod tokenizer;

pub use int8::{Int8Isa, KERNEL_ENV};

use super::decoder::{viterbi_with, Scratch, Transitions};
use super::fast::linear::Model;
use super::gazetteer::GazTag;
use super::gazetteer::Gazetteer;
use super::labels::{path_spans, N_LABELS};
use super::lexicon::Lexicon;
use super::pipeline::{Chunk, Labeler, Pipeline, Span};
use super::{Kernel, TagError, Tier};
use encoder::{Buffers, Encoder, Seq};
use file::EncoderFile;
use std::cell::RefCell;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use tokenizer::Tokenizer;

/// Pieces of one encoder window, besides `<s>` and `</s>` (as in training).
pub const MAX_PIECES: usize = 254;

/// Pieces of one word given to the encoder; the rest of a very long word (a URL, a run of
/// digits) is dropped, so one hostile token cannot fill a window.
pub const MAX_WORD_PIECES: usize = 16;

/// Id of `<s>` and `</s>` in the pruned vocabulary (kept from the original's).
const BOS: u32 = 0;
const EOS: u32 = 2;

/// Pieces of the windows the encoder runs together (the rows of its linear layers): a
/// field's sentences are short (about 35 pieces each in news), and alone they leave the
/// int8 kernel's register tiles part empty and fetch every weight block for a few rows.
/// One window longer than this runs alone.
pub const BATCH_PIECES: usize = 256;

/// Encoder pieces a field may cost; the chunks of a longer field past it are labelled by
/// the fast tier's model. A 5 KB Hebrew article is about 1,030 pieces (580 words), so the
/// budget holds about 20 KB of Hebrew prose: only very long or hostile fields reach it.
/// With at most [`MAX_WORD_PIECES`] a word and runs of symbols skipped
/// ([`super::pipeline::SYMBOL_RUN`]), no field costs the encoder more than about four
/// articles, whatever its bytes.
pub const ENCODER_FIELD_PIECES: usize = 4096;

/// The default location of the accurate tier's model file.
pub const DEFAULT_MODEL_PATH: &str = "models/ner-accurate.bin";

/// The encoder and its tokenizer as a [`Labeler`].
#[derive(Debug)]
pub struct EncoderLabeler {
    tokenizer: Tokenizer,
    encoder: Encoder,
    trans: Transitions<f32>,
    /// Trained on English too (model file version 2 with [`file::LANG_ENGLISH`]).
    english: bool,
    /// Size of the model file, for reports.
    pub file_bytes: usize,
}

/// One encoder window as the labeller runs it: `<s>`, the pieces of whole words, `</s>`,
/// and the position of each word's first piece (where the labels are read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Piece ids, `<s>` and `</s>` included.
    pub ids: Vec<u32>,
    /// Position in `ids` of each word's first piece.
    pub firsts: Vec<usize>,
}

/// Where one window of a labelling call lies: its chunk, its first word there, and its
/// ids and first-piece positions in [`Work`]'s flat buffers.
struct WindowRef {
    chunk: usize,
    word: usize,
    ids: Range<usize>,
    firsts: Range<usize>,
}

/// Reusable buffers of one thread's labelling calls.
#[derive(Default)]
struct Work {
    pieces: Vec<u32>,
    ids: Vec<u32>,
    firsts: Vec<usize>,
    /// Every window of the call: ids, first pieces, and where each lies.
    all_ids: Vec<u32>,
    all_firsts: Vec<usize>,
    windows: Vec<WindowRef>,
    per_word: Vec<(usize, usize)>,
    logp: Vec<f32>,
    labels: Vec<u8>,
    scratch: Scratch<f32>,
    enc: Buffers,
}

thread_local! {
    static WORK: RefCell<Work> = RefCell::new(Work::default());
}

impl EncoderLabeler {
    /// Parses a model file's bytes, with the kernel `NEWSFLOW_ENCODER_KERNEL` names or, by
    /// default, the fastest int8 kernel this CPU has ([`Int8Isa::from_env`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<EncoderLabeler, TagError> {
        Self::with_kernel(bytes, Int8Isa::from_env()?)
    }

    /// Parses a model file's bytes; the linear layers run the `int8` kernel where the CPU
    /// has it, and `None` keeps every product in f32 (the reference the training code
    /// computes).
    pub fn with_kernel(bytes: &[u8], int8: Option<Int8Isa>) -> Result<EncoderLabeler, TagError> {
        let f = EncoderFile::parse(bytes)?;
        if f.dims.labels != N_LABELS {
            return Err(TagError::Model(format!(
                "the model has {} labels, this build expects {N_LABELS}",
                f.dims.labels
            )));
        }
        if f.dims.max_pos < MAX_PIECES + 2 {
            return Err(TagError::Model(format!(
                "the model reads {} positions, fewer than {}",
                f.dims.max_pos,
                MAX_PIECES + 2
            )));
        }
        Ok(EncoderLabeler {
            tokenizer: Tokenizer::new(&f.vocab),
            encoder: Encoder::new(&f, int8)?,
            trans: Transitions::new(&[0.0; N_LABELS * N_LABELS]),
            english: f.languages & file::LANG_ENGLISH != 0,
            file_bytes: bytes.len(),
        })
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Bytes held by the weights.
    pub fn memory_bytes(&self) -> usize {
        self.encoder.memory_bytes()
    }

    /// The label log-probabilities at each word's first piece, `N_LABELS` a word, for words
    /// that fit one window (for reference checks against the training code).
    pub fn word_log_probs(&self, words: &[&str]) -> Vec<f32> {
        let mut w = Work::default();
        self.segment(words, &mut w);
        self.fill_window(&mut w, 0, words.len());
        self.encoder
            .forward(&w.ids, &w.firsts, &mut w.enc, &mut w.logp);
        w.logp
    }

    /// The encoder windows a labelling call of `chunks` runs, grouped in the batches it
    /// runs them in: for benchmarks and peer comparisons that must feed another runtime
    /// the very same input.
    pub fn batches(&self, chunks: &[&[&str]]) -> Vec<Vec<Window>> {
        let mut w = Work::default();
        self.collect_windows(chunks.iter().copied(), &mut w);
        let mut out = Vec::new();
        let mut a = 0;
        while a < w.windows.len() {
            let b = batch_end(&w.windows, a);
            out.push(
                w.windows[a..b]
                    .iter()
                    .map(|r| Window {
                        ids: w.all_ids[r.ids.clone()].to_vec(),
                        firsts: w.all_firsts[r.firsts.clone()].to_vec(),
                    })
                    .collect(),
            );
            a = b;
        }
        out
    }

    /// The label log-probabilities at the first pieces of a batch's windows, `N_LABELS` a
    /// word, the windows one after the other.
    pub fn batch_log_probs(&self, batch: &[Window]) -> Vec<f32> {
        WORK.with(|cell| {
            let mut guard = cell.borrow_mut();
            let seqs: Vec<Seq<'_>> = batch
                .iter()
                .map(|w| Seq {
                    ids: &w.ids,
                    read: &w.firsts,
                })
                .collect();
            let mut out = Vec::new();
            self.encoder.forward_batch(&seqs, &mut guard.enc, &mut out);
            out
        })
    }

    /// Every window of `chunks` into `w.windows` (whole words, at most [`MAX_PIECES`]
    /// pieces each), their ids and first pieces into `w.all_ids` and `w.all_firsts`.
    fn collect_windows<'a>(&self, chunks: impl Iterator<Item = &'a [&'a str]>, w: &mut Work) {
        w.windows.clear();
        w.all_ids.clear();
        w.all_firsts.clear();
        for (chunk, words) in chunks.enumerate() {
            self.segment(words, w);
            let mut a = 0;
            while a < words.len() {
                let b = window_end(&w.per_word, a);
                self.fill_window(w, a, b);
                let (i0, f0) = (w.all_ids.len(), w.all_firsts.len());
                w.all_ids.extend_from_slice(&w.ids);
                w.all_firsts.extend_from_slice(&w.firsts);
                w.windows.push(WindowRef {
                    chunk,
                    word: a,
                    ids: i0..w.all_ids.len(),
                    firsts: f0..w.all_firsts.len(),
                });
                a = b;
            }
        }
    }

    /// The pieces of `words` into `w.pieces`, with each word's range (at most
    /// [`MAX_WORD_PIECES`] pieces) in `w.per_word`.
    fn segment(&self, words: &[&str], w: &mut Work) {
        w.pieces.clear();
        w.per_word.clear();
        for word in words {
            let s = w.pieces.len();
            self.tokenizer.word(word, &mut w.pieces);
            w.pieces.truncate(s + MAX_WORD_PIECES);
            w.per_word.push((s, w.pieces.len()));
        }
    }

    /// The window of words `[a, b)` into `w.ids` and `w.firsts`.
    fn fill_window(&self, w: &mut Work, a: usize, b: usize) {
        w.ids.clear();
        w.firsts.clear();
        w.ids.push(BOS);
        for &(s, e) in &w.per_word[a..b] {
            w.firsts.push(w.ids.len());
            w.ids.extend_from_slice(&w.pieces[s..e]);
        }
        w.ids.push(EOS);
    }
}

/// The end of the window that starts at word `a`: whole words, at most [`MAX_PIECES`]
/// pieces (a first word longer than that is cut by [`MAX_WORD_PIECES`] already).
fn window_end(per_word: &[(usize, usize)], a: usize) -> usize {
    greedy_end(per_word.len(), a, MAX_PIECES, |b| {
        per_word[b].1 - per_word[b].0
    })
}

/// The end of the batch of windows that starts at `a`: at most [`BATCH_PIECES`] pieces in
/// all, and at least one window.
fn batch_end(windows: &[WindowRef], a: usize) -> usize {
    greedy_end(windows.len(), a, BATCH_PIECES, |b| windows[b].ids.len())
}

/// The end of the run of items from `a` (of `len`) whose sizes sum to at most `cap`, and
/// at least one item.
fn greedy_end(len: usize, a: usize, cap: usize, size: impl Fn(usize) -> usize) -> usize {
    let mut b = a;
    let mut n = 0;
    while b < len {
        let k = size(b);
        if b > a && n + k > cap {
            break;
        }
        n += k;
        b += 1;
    }
    b
}

/// Spans of a decoded window; confidence is the least probable token's probability of
/// its label.
fn spans_of(labels: &[u8], logp: &[f32], offset: usize, out: &mut Vec<Span>) {
    for (i, end, kind) in path_spans(labels) {
        let confidence = (i..end)
            .map(|j| logp[j * N_LABELS + usize::from(labels[j])].exp())
            .fold(1.0f32, f32::min);
        out.push(Span {
            first: offset + i,
            last: offset + end,
            kind,
            confidence,
        });
    }
}

impl Labeler for EncoderLabeler {
    fn spans(&self, words: &[&str], gaz: &[GazTag], out: &mut Vec<Span>) {
        let mut one = Vec::new();
        self.spans_batch(&[(words, gaz)], &mut one);
        out.extend(one.into_iter().flatten());
    }

    /// The windows of all chunks, run in batches of [`BATCH_PIECES`].
    fn spans_batch(&self, chunks: &[Chunk<'_>], out: &mut Vec<Vec<Span>>) {
        out.clear();
        out.resize_with(chunks.len(), Vec::new);
        WORK.with(|cell| {
            let mut guard = cell.borrow_mut();
            let w = &mut *guard;
            self.collect_windows(chunks.iter().map(|c| c.0), w);
            let mut a = 0;
            while a < w.windows.len() {
                let b = batch_end(&w.windows, a);
                let seqs: Vec<Seq<'_>> = w.windows[a..b]
                    .iter()
                    .map(|r| Seq {
                        ids: &w.all_ids[r.ids.clone()],
                        read: &w.all_firsts[r.firsts.clone()],
                    })
                    .collect();
                self.encoder.forward_batch(&seqs, &mut w.enc, &mut w.logp);
                let mut row = 0;
                for r in &w.windows[a..b] {
                    let n = r.firsts.len();
                    let logp = &w.logp[row * N_LABELS..(row + n) * N_LABELS];
                    viterbi_with(logp, &self.trans, &mut w.scratch, &mut w.labels);
                    spans_of(&w.labels, logp, r.word, &mut out[r.chunk]);
                    row += n;
                }
                a = b;
            }
        });
    }

    /// Encoder pieces of the words (what the encoder's time grows with).
    fn cost(&self, words: &[&str]) -> usize {
        let mut pieces = Vec::new();
        words
            .iter()
            .map(|word| {
                pieces.clear();
                self.tokenizer.word(word, &mut pieces);
                pieces.len().min(MAX_WORD_PIECES)
            })
            .sum()
    }

    fn english(&self) -> bool {
        self.english
    }

    /// The kernel of the linear layers.
    fn kernel(&self) -> Kernel {
        match self.encoder.int8_kernel() {
            Some(Int8Isa::Vnni) => Kernel::Int8Vnni,
            Some(Int8Isa::Avx2) => Kernel::Int8Avx2,
            None => Kernel::F32,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{:.1} MB file, {:.1} MB in memory, {}",
            self.file_bytes as f64 / 1e6,
            self.memory_bytes() as f64 / 1e6,
            if self.english {
                "Hebrew and English"
            } else {
                "Hebrew (English by capitalisation rules)"
            }
        )
    }
}

/// The accurate tier: the shared pipeline around the encoder.
pub type AccurateTagger = Pipeline<EncoderLabeler>;

impl AccurateTagger {
    /// The accurate tier from a model file's bytes and the shared resources; `fallback`
    /// (the fast tier's model) labels what lies past the encoder's share of a huge field.
    pub fn from_parts(
        gazetteer: Gazetteer,
        lexicon: Arc<Lexicon>,
        fallback: Arc<Model>,
        bytes: &[u8],
    ) -> Result<AccurateTagger, TagError> {
        let fallback = Box::new(super::LinearLabeler::new(fallback));
        Ok(Pipeline::new(
            Tier::Accurate,
            gazetteer,
            lexicon,
            EncoderLabeler::from_bytes(bytes)?,
        )
        .with_fallback(ENCODER_FIELD_PIECES, fallback))
    }

    /// The accurate tier with the model file at `path` and the built-in gazetteer and
    /// fast-model tables. Errors name the file.
    pub fn load(path: &Path) -> Result<AccurateTagger, TagError> {
        let bytes = std::fs::read(path).map_err(|source| TagError::Io {
            path: path.display().to_string(),
            source,
        })?;
        AccurateTagger::from_model_bytes(&bytes, &path.display().to_string())
    }

    /// The accurate tier from a model file's bytes (`origin` names where they came from, for
    /// errors) and the built-in gazetteer and fast-model tables.
    pub fn from_model_bytes(bytes: &[u8], origin: &str) -> Result<AccurateTagger, TagError> {
        let (gazetteer, fast) = super::builtin_resources()?;
        let lexicon = Arc::clone(fast.lexicon());
        AccurateTagger::from_parts(gazetteer, lexicon, fast, bytes).map_err(|e| match e {
            TagError::Model(message) => TagError::ModelFile {
                path: origin.to_string(),
                message,
            },
            other => other,
        })
    }
}
