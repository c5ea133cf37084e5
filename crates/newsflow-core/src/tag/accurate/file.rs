//! The accurate tier's model file (`models/ner-accurate.bin`, written by
//! `scripts/accurate/train.py`): little-endian, in this order:
//!
//! - magic `NFENC\0\0\x02` (or `\x01`); `u32` hidden size, layers, heads, feed-forward
//!   size, maximum positions, labels; `f32` layer-norm epsilon; in version 2, `u32`
//!   languages the model was trained on ([`LANG_HEBREW`] | [`LANG_ENGLISH`]; version 1
//!   files are Hebrew only);
//! - the unigram vocabulary: `u32` pieces, `u32` unknown-piece id, `f32` unknown score, then
//!   per piece `u16` byte length, UTF-8 bytes, `f32` log-probability (control pieces are
//!   empty); the normalization map: `u32` entries, each `u32` code point, `u8` n, n `u32`
//!   code points;
//! - `u32` tensors, each `u16` name length, name, `u8` kind (0 = f32, 1 = int8 with one f32
//!   scale per row), `u32` rows, `u32` columns, then the scales (kind 1) and the values.
//!
//! Every length is checked against what is left, so a truncated or corrupt file is an error
//! naming what could not be read, never a panic.

use crate::tag::TagError;
use std::collections::HashMap;

/// Magic bytes of the format, version 2 (with the languages word).
pub const MAGIC: &[u8; 8] = b"NFENC\0\0\x02";

/// Magic bytes of version 1 (Hebrew-only models, before the languages word).
pub const MAGIC_V1: &[u8; 8] = b"NFENC\0\0\x01";

/// Languages bit: trained on Hebrew.
pub const LANG_HEBREW: u32 = 1;

/// Languages bit: trained on English (English text goes to the encoder, not the
/// capitalisation rules).
pub const LANG_ENGLISH: u32 = 2;

/// Encoder sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Hidden size.
    pub hidden: usize,
    /// Transformer layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward size.
    pub ff: usize,
    /// Maximum positions.
    pub max_pos: usize,
    /// Output labels.
    pub labels: usize,
}

/// A matrix as stored: f32 values, or int8 values with one scale per row.
#[derive(Debug, Clone)]
pub enum Stored {
    /// Plain values.
    F32(Vec<f32>),
    /// Quantized values and their row scales.
    I8 {
        /// One scale per row.
        scales: Vec<f32>,
        /// Row-major values.
        values: Vec<i8>,
    },
}

/// One tensor of the file.
#[derive(Debug, Clone)]
pub struct Tensor {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Values.
    pub data: Stored,
}

impl Tensor {
    /// All values as f32 (int8 rows times their scale).
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            Stored::F32(v) => v.clone(),
            Stored::I8 { scales, values } => values
                .chunks(self.cols.max(1))
                .zip(scales)
                .flat_map(|(row, &s)| row.iter().map(move |&q| f32::from(q) * s))
                .collect(),
        }
    }
}

/// The unigram vocabulary.
#[derive(Debug, Clone, Default)]
pub struct Vocab {
    /// Piece strings (control pieces are empty).
    pub pieces: Vec<String>,
    /// Log-probabilities.
    pub scores: Vec<f32>,
    /// Id of `<unk>`.
    pub unk: u32,
    /// Score of an unknown character.
    pub unk_score: f32,
    /// Code point → replacement text.
    pub norm: HashMap<char, String>,
}

/// The parsed file.
#[derive(Debug, Clone)]
pub struct EncoderFile {
    /// Sizes.
    pub dims: Dims,
    /// Layer-norm epsilon.
    pub eps: f32,
    /// Languages trained on ([`LANG_HEBREW`], [`LANG_ENGLISH`] bits).
    pub languages: u32,
    /// Vocabulary.
    pub vocab: Vocab,
    /// Tensors by name.
    pub tensors: HashMap<String, Tensor>,
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], TagError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let Some(end) = end else {
            return Err(TagError::Model(format!(
                "truncated: {what} needs {n} bytes at offset {}, file has {}",
                self.at,
                self.b.len()
            )));
        };
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8, TagError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, TagError> {
        let s = self.take(2, what)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, TagError> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn usize(&mut self, what: &str, max: usize) -> Result<usize, TagError> {
        let v = self.u32(what)? as usize;
        if v > max {
            return Err(TagError::Model(format!("{what} = {v} is out of range")));
        }
        Ok(v)
    }
    fn f32(&mut self, what: &str) -> Result<f32, TagError> {
        Ok(f32::from_bits(self.u32(what)?))
    }
    fn f32s(&mut self, n: usize, what: &str) -> Result<Vec<f32>, TagError> {
        let s = self.take(n.saturating_mul(4), what)?;
        Ok(s.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

impl EncoderFile {
    /// Parses the bytes of a model file.
    pub fn parse(b: &[u8]) -> Result<EncoderFile, TagError> {
        let mut r = Reader { b, at: 0 };
        let version = match r.take(8, "magic")? {
            m if m == MAGIC => 2,
            m if m == MAGIC_V1 => 1,
            _ => {
                return Err(TagError::Model(
                    "not an accurate-tier model (bad magic)".into(),
                ))
            }
        };
        let mut dim = |what: &str| r.usize(what, 1 << 16);
        let dims = Dims {
            hidden: dim("hidden size")?,
            layers: dim("layers")?,
            heads: dim("heads")?,
            ff: dim("feed-forward size")?,
            max_pos: dim("positions")?,
            labels: dim("labels")?,
        };
        if dims.heads == 0 || !dims.hidden.is_multiple_of(dims.heads) || dims.hidden == 0 {
            return Err(TagError::Model(format!(
                "hidden size {} is not a multiple of {} heads",
                dims.hidden, dims.heads
            )));
        }
        let eps = r.f32("epsilon")?;
        let languages = if version >= 2 {
            r.u32("languages")?
        } else {
            LANG_HEBREW
        };
        let n = r.usize("pieces", 1 << 22)?;
        let unk = r.u32("unknown id")?;
        if unk as usize >= n {
            return Err(TagError::Model(format!("unknown id {unk} >= {n} pieces")));
        }
        let unk_score = r.f32("unknown score")?;
        let mut vocab = Vocab {
            pieces: Vec::with_capacity(n),
            scores: Vec::with_capacity(n),
            unk,
            unk_score,
            norm: HashMap::new(),
        };
        for i in 0..n {
            let len = usize::from(r.u16("piece length")?);
            let bytes = r.take(len, "piece")?;
            let s = std::str::from_utf8(bytes)
                .map_err(|_| TagError::Model(format!("piece {i} is not UTF-8")))?;
            vocab.pieces.push(s.to_string());
            vocab.scores.push(r.f32("piece score")?);
        }
        let n_norm = r.usize("normalization entries", 1 << 22)?;
        for _ in 0..n_norm {
            let cp = r.u32("code point")?;
            let k = usize::from(r.u8("replacement length")?);
            let mut rep = String::new();
            for _ in 0..k {
                let c = r.u32("replacement")?;
                rep.push(char::from_u32(c).ok_or_else(|| {
                    TagError::Model(format!("bad code point {c:#x} in normalization map"))
                })?);
            }
            let cp = char::from_u32(cp)
                .ok_or_else(|| TagError::Model(format!("bad code point {cp:#x}")))?;
            vocab.norm.insert(cp, rep);
        }
        let n_tensors = r.usize("tensors", 1 << 16)?;
        let mut tensors = HashMap::new();
        for _ in 0..n_tensors {
            let len = usize::from(r.u16("tensor name length")?);
            let name = String::from_utf8_lossy(r.take(len, "tensor name")?).into_owned();
            let kind = r.u8("tensor kind")?;
            let rows = r.usize("rows", 1 << 24)?;
            let cols = r.usize("columns", 1 << 24)?;
            let count = rows
                .checked_mul(cols)
                .ok_or_else(|| TagError::Model(format!("tensor {name}: size overflows")))?;
            let data = match kind {
                0 => Stored::F32(r.f32s(count, &name)?),
                1 => {
                    let scales = r.f32s(rows, &name)?;
                    let values = r.take(count, &name)?.iter().map(|&v| v as i8).collect();
                    Stored::I8 { scales, values }
                }
                k => return Err(TagError::Model(format!("tensor {name}: unknown kind {k}"))),
            };
            tensors.insert(name, Tensor { rows, cols, data });
        }
        if r.at != b.len() {
            return Err(TagError::Model(format!(
                "{} bytes of trailing data",
                b.len() - r.at
            )));
        }
        Ok(EncoderFile {
            dims,
            eps,
            languages,
            vocab,
            tensors,
        })
    }

    /// A tensor of the expected shape.
    pub fn tensor(&self, name: &str, rows: usize, cols: usize) -> Result<&Tensor, TagError> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| TagError::Model(format!("missing tensor {name}")))?;
        if t.rows != rows || t.cols != cols {
            return Err(TagError::Model(format!(
                "tensor {name} is {}x{}, expected {rows}x{cols}",
                t.rows, t.cols
            )));
        }
        Ok(t)
    }

    /// Serializes (the inverse of [`EncoderFile::parse`]; used by tests to build small
    /// models).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut o = MAGIC.to_vec();
        let d = self.dims;
        for v in [d.hidden, d.layers, d.heads, d.ff, d.max_pos, d.labels] {
            o.extend((v as u32).to_le_bytes());
        }
        o.extend(self.eps.to_le_bytes());
        o.extend(self.languages.to_le_bytes());
        let v = &self.vocab;
        o.extend((v.pieces.len() as u32).to_le_bytes());
        o.extend(v.unk.to_le_bytes());
        o.extend(v.unk_score.to_le_bytes());
        for (p, s) in v.pieces.iter().zip(&v.scores) {
            o.extend((p.len() as u16).to_le_bytes());
            o.extend(p.as_bytes());
            o.extend(s.to_le_bytes());
        }
        let mut norm: Vec<_> = v.norm.iter().collect();
        norm.sort();
        o.extend((norm.len() as u32).to_le_bytes());
        for (c, rep) in norm {
            o.extend(u32::from(*c).to_le_bytes());
            o.push(rep.chars().count() as u8);
            for r in rep.chars() {
                o.extend(u32::from(r).to_le_bytes());
            }
        }
        let mut names: Vec<_> = self.tensors.keys().collect();
        names.sort();
        o.extend((names.len() as u32).to_le_bytes());
        for name in names {
            let t = &self.tensors[name];
            o.extend((name.len() as u16).to_le_bytes());
            o.extend(name.as_bytes());
            match &t.data {
                Stored::F32(vals) => {
                    o.push(0);
                    o.extend((t.rows as u32).to_le_bytes());
                    o.extend((t.cols as u32).to_le_bytes());
                    vals.iter().for_each(|x| o.extend(x.to_le_bytes()));
                }
                Stored::I8 { scales, values } => {
                    o.push(1);
                    o.extend((t.rows as u32).to_le_bytes());
                    o.extend((t.cols as u32).to_le_bytes());
                    scales.iter().for_each(|x| o.extend(x.to_le_bytes()));
                    o.extend(values.iter().map(|&q| q as u8));
                }
            }
        }
        o
    }
}
