//! The fast tier's model file: i16-quantized sparse weights, transitions, prefix and
//! frequency tables and the word clusters, in one little-endian binary (`models/ner.bin`).

use super::clusters::LEVELS;
use crate::tag::labels::N_LABELS;
use crate::tag::TagError;

/// Languages bits of the optional trailing word (as in the accurate tier's file).
const LANG_HEBREW: u32 = 1;
const LANG_ENGLISH: u32 = 2;

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
    /// Word (hash) → name-list flags (`clusters::name_flags`; an optional trailing section
    /// after the clusters).
    pub names: Vec<(u64, u8)>,
    /// Trained on English gold too (an optional trailing word after the names: 1 Hebrew |
    /// 2 English); English chunks go to the model then, not to the capitalisation rules.
    pub english: bool,
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
        if !self.clusters.is_empty() || !self.names.is_empty() || self.english {
            out.extend_from_slice(&(self.clusters.len() as u32).to_le_bytes());
            for (k, ids) in &self.clusters {
                out.extend_from_slice(&k.to_le_bytes());
                for id in ids {
                    out.extend_from_slice(&id.to_le_bytes());
                }
            }
        }
        if !self.names.is_empty() || self.english {
            out.extend_from_slice(&(self.names.len() as u32).to_le_bytes());
            for &(k, f) in &self.names {
                out.extend_from_slice(&k.to_le_bytes());
                out.push(f);
            }
        }
        if self.english {
            out.extend_from_slice(&(LANG_HEBREW | LANG_ENGLISH).to_le_bytes());
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
        let mut names = Vec::new();
        if r.pos < b.len() {
            let n = r.u32()? as usize;
            names.reserve(n);
            for _ in 0..n {
                names.push((r.u64()?, r.u8()?));
            }
        }
        let mut english = false;
        if r.pos < b.len() {
            english = r.u32()? & LANG_ENGLISH != 0;
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
            names,
            english,
            info,
        })
    }
}
