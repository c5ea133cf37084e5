//! Feature extraction for the sequence model: every feature is a 64-bit hash of a template
//! id and a value, computed incrementally over the token's bytes (no per-token allocation).
//!
//! Per token: the word, its lowercase form (Latin), every Hebrew prefix split (stem and
//! prefix, from [`prefix_splits`]), character prefixes and suffixes of length 1–4, a
//! compressed word shape, flags (digits, quotes, hyphen, capitalisation, length), the
//! character trigrams of the word (with `^`/`$` boundary marks), the first 2 and 3 letters
//! of its prefix-stripped stems, the gazetteer tag of the token (B/I/E/S + type), and the
//! same for the neighbours: words ±1 and ±2, stems ±1, shapes ±1, gazetteer tags ±1, and
//! the bigrams w-1|w0 and w0|w+1; and the word clusters (see `clusters.rs`) of the word,
//! of its first prefix-stripped stem that has one, and of the neighbours ±1 (or a
//! "no cluster" feature for a word outside the clusters' vocabulary).

use super::clusters::{name_flags, WordClusters, LEVELS};
use crate::segment::{is_letter, prefix_splits};
use crate::tag::gazetteer::GazTag;
use crate::tag::hash::{hash_bytes, mix, FNV_OFFSET, FNV_PRIME};

/// Per-token values shared by the features of the token and its neighbours.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokInfo {
    word: u64,
    lower: u64,
    has_upper: bool,
    stems: [u64; 3],
    prefixes: [u64; 3],
    n_stems: u8,
    pre: [u64; 4],
    suf: [u64; 4],
    n_affix: u8,
    shape: u64,
    flags: u32,
    gaz: GazTag,
    tri: [u64; 16],
    n_tri: u8,
    /// First 2 and 3 characters of the prefix-stripped stems.
    stem_starts: [u64; 4],
    /// Cluster ids + 1 of the word (0: not in the vocabulary).
    classes: [u16; LEVELS],
    /// Cluster ids + 1 of the first prefix-stripped stem in the vocabulary (0: none).
    stem_classes: [u16; LEVELS],
    /// Whether clusters were available (a model without them gets no cluster features).
    lex: bool,
    /// Name-list flags of the word, else of its first prefix-stripped stem in a list.
    names: u8,
}

impl TokInfo {
    /// Clusters of the word, else of its stem (for the neighbours' features).
    #[inline]
    fn any_cluster(&self) -> [u16; LEVELS] {
        if self.classes[0] != 0 {
            self.classes
        } else {
            self.stem_classes
        }
    }
}

fn plus_one(ids: [u16; LEVELS]) -> [u16; LEVELS] {
    ids.map(|c| c.saturating_add(1))
}

const F_DIGIT: u32 = 1;
const F_ALLDIGIT: u32 = 1 << 1;
const F_QUOTE: u32 = 1 << 2;
const F_HYPHEN: u32 = 1 << 3;
const F_INITCAP: u32 = 1 << 4;
const F_ALLCAP: u32 = 1 << 5;
const F_PUNCT: u32 = 1 << 6;
const F_HEBREW: u32 = 1 << 7;
const F_LATIN: u32 = 1 << 8;
const F_LEN1: u32 = 1 << 9;
const F_LEN2_3: u32 = 1 << 10;
const F_LEN_LONG: u32 = 1 << 11;
const F_YEAR: u32 = 1 << 12;
const F_GERESH_END: u32 = 1 << 13;
const N_FLAGS: u32 = 14;

fn shape_class(c: char) -> u8 {
    if ('\u{05D0}'..='\u{05EA}').contains(&c) {
        b'a'
    } else if c.is_ascii_digit() {
        b'd'
    } else if c.is_uppercase() {
        b'X'
    } else if c.is_lowercase() {
        b'x'
    } else if is_letter(c) {
        b'l'
    } else {
        // Punctuation keeps its own character (", ', -, ., %, ...), folded to one byte.
        (c as u32 & 0x7f) as u8
    }
}

/// Computes the per-token values of `word` (a token as it appears in the text), looking
/// the word and its stems up in `clusters`.
pub fn tok_info(word: &str, gaz: GazTag, clusters: &WordClusters) -> TokInfo {
    let mut t = TokInfo {
        word: hash_bytes(1, word.as_bytes()),
        gaz,
        lex: !clusters.is_empty(),
        ..TokInfo::default()
    };
    if t.lex {
        if let Some(ids) = clusters.get(t.word) {
            t.classes = plus_one(ids);
        }
    }
    if clusters.has_names() {
        t.names = clusters.name_flags(t.word);
    }
    let surface = SurfaceScan::of(word);
    t.lower = surface.lower;
    t.shape = surface.shape;
    t.flags = surface.flags;
    t.has_upper = surface.has_upper;
    add_stems(&mut t, word, clusters);
    add_affixes(&mut t, word);
    // Character trigrams (generalise to unseen transliterated names: מסצוסטס, נבראסקה).
    t.n_tri = ngrams(word, 3, 20, &mut t.tri, 0) as u8;
    add_stem_starts(&mut t, word);
    t
}

/// FNV-1a step over the UTF-8 bytes of `c`.
#[inline]
fn fnv_char(mut h: u64, c: char) -> u64 {
    let mut buf = [0u8; 4];
    for &b in c.encode_utf8(&mut buf).as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// One pass over a word's characters: its lowercase hash (Latin letters folded), its
/// compressed shape hash and its flags.
struct SurfaceScan {
    lower: u64,
    shape: u64,
    last_class: u8,
    n_chars: usize,
    all_digit: bool,
    all_upper: bool,
    any_alpha: bool,
    has_upper: bool,
    flags: u32,
}

impl SurfaceScan {
    #[inline]
    fn of(word: &str) -> SurfaceScan {
        let mut s = SurfaceScan {
            lower: FNV_OFFSET ^ 1,
            shape: FNV_OFFSET ^ 2,
            last_class: 0,
            n_chars: 0,
            all_digit: true,
            all_upper: true,
            any_alpha: false,
            has_upper: false,
            flags: 0,
        };
        for (i, c) in word.chars().enumerate() {
            s.n_chars += 1;
            let class = if ('\u{05D0}'..='\u{05EA}').contains(&c) {
                s.hebrew_letter(c)
            } else {
                s.other_char(i, c)
            };
            if class != s.last_class {
                s.shape ^= u64::from(class);
                s.shape = s.shape.wrapping_mul(FNV_PRIME);
                s.last_class = class;
            }
        }
        s.finish(word);
        s
    }

    /// A Hebrew letter: the common case, without Unicode table look-ups.
    #[inline]
    fn hebrew_letter(&mut self, c: char) -> u8 {
        self.lower = fnv_char(self.lower, c);
        self.all_upper = false;
        self.all_digit = false;
        self.any_alpha = true;
        self.flags |= F_HEBREW;
        b'a'
    }

    /// Any other character, at position `i`; returns its shape class.
    #[inline]
    fn other_char(&mut self, i: usize, c: char) -> u8 {
        if c.is_uppercase() {
            self.has_upper = true;
            if i == 0 {
                self.flags |= F_INITCAP;
            }
            for lc in c.to_lowercase() {
                self.lower = fnv_char(self.lower, lc);
            }
        } else {
            self.lower = fnv_char(self.lower, c);
            if is_letter(c) {
                self.all_upper = false;
            }
        }
        if c.is_ascii_digit() {
            self.flags |= F_DIGIT;
        } else {
            self.all_digit = false;
        }
        if is_letter(c) {
            self.any_alpha = true;
            if ('\u{05D0}'..='\u{05EA}').contains(&c) {
                self.flags |= F_HEBREW;
            } else if c.is_ascii_alphabetic() {
                self.flags |= F_LATIN;
            }
        }
        match c {
            '"' | '\'' => self.flags |= F_QUOTE,
            '-' => self.flags |= F_HYPHEN,
            _ => {}
        }
        shape_class(c)
    }

    /// The flags that need the whole word: geresh, all digits, year, all caps,
    /// punctuation, length.
    #[inline]
    fn finish(&mut self, word: &str) {
        if word.ends_with('\'') {
            self.flags |= F_GERESH_END;
        }
        if self.all_digit && self.n_chars > 0 {
            self.flags |= F_ALLDIGIT;
            if self.n_chars == 4 && (word.starts_with("19") || word.starts_with("20")) {
                self.flags |= F_YEAR;
            }
        }
        if self.any_alpha && self.all_upper && self.has_upper {
            self.flags |= F_ALLCAP;
        }
        if !self.any_alpha && self.flags & F_DIGIT == 0 {
            self.flags |= F_PUNCT;
        }
        self.flags |= match self.n_chars {
            0 | 1 => F_LEN1,
            2 | 3 => F_LEN2_3,
            4..=7 => 0,
            _ => F_LEN_LONG,
        };
    }
}

/// Prefix splits (the unsplit form is the word itself): up to three stems and their
/// prefixes, and the classes and name flags of the first stem that has them.
#[inline]
fn add_stems(t: &mut TokInfo, word: &str, clusters: &WordClusters) {
    let names = clusters.has_names();
    for (prefix, stem) in prefix_splits(word).skip(1) {
        let k = usize::from(t.n_stems);
        if k >= 3 {
            break;
        }
        t.stems[k] = hash_bytes(3, stem.as_bytes());
        t.prefixes[k] = hash_bytes(4, prefix.as_bytes());
        t.n_stems += 1;
        let need_cluster = t.stem_classes[0] == 0 && t.lex;
        if need_cluster || (names && t.names == 0) {
            let h = hash_bytes(1, stem.as_bytes());
            if need_cluster {
                if let Some(ids) = clusters.get(h) {
                    t.stem_classes = plus_one(ids);
                }
            }
            if names && t.names == 0 {
                t.names = clusters.name_flags(h);
            }
        }
    }
}

/// Character prefixes and suffixes of 1..=4 characters (shorter than the token).
#[inline]
fn add_affixes(t: &mut TokInfo, word: &str) {
    let mut n = 0;
    for (b, _) in word.char_indices().skip(1).take(4) {
        t.pre[n] = hash_bytes(5 + n as u64, &word.as_bytes()[..b]);
        n += 1;
    }
    let mut m = 0;
    for (b, _) in word.char_indices().rev().take(4) {
        if b == 0 {
            break;
        }
        t.suf[m] = hash_bytes(10 + m as u64, &word.as_bytes()[b..]);
        m += 1;
    }
    t.n_affix = n.max(m) as u8;
}

/// First 2 and 3 characters of the shortest and longest prefix-stripped stems (the start
/// of the word behind the prefix letters).
#[inline]
fn add_stem_starts(t: &mut TokInfo, word: &str) {
    let mut k = 0;
    let mut first: Option<&str> = None;
    let mut last: Option<&str> = None;
    for (_, st) in prefix_splits(word).skip(1) {
        if first.is_none() {
            first = Some(st);
        } else {
            last = Some(st);
        }
    }
    for st in first.into_iter().chain(last) {
        for (j, (b, _)) in st.char_indices().skip(2).take(2).enumerate() {
            t.stem_starts[k] = hash_bytes(30 + j as u64, &st.as_bytes()[..b]);
            k += 1;
        }
    }
}

/// Character n-grams of `s` with `^`/`$` boundary markers, hashed with `seed`, written to
/// `out[k..]`; returns the new fill count.
fn ngrams(s: &str, n: usize, seed: u64, out: &mut [u64], mut k: usize) -> usize {
    // Byte boundaries of the characters (at most 32 characters are used).
    let mut bounds = [0usize; 34];
    let mut m = 0;
    for (b, _) in s.char_indices().take(32) {
        bounds[m] = b;
        m += 1;
    }
    let end = if m == 0 {
        0
    } else if m < 32 {
        s.len()
    } else {
        bounds[31]
    };
    bounds[m] = end;
    // Positions -1 (^) .. m (inclusive: $): window [a, a + n) over m + 2 symbols.
    let total = m + 2;
    if total < n {
        return k;
    }
    for a in 0..=total - n {
        if k >= out.len() {
            break;
        }
        let mut h = FNV_OFFSET ^ seed;
        let mut push = |byte: u8| {
            h ^= u64::from(byte);
            h = h.wrapping_mul(FNV_PRIME);
        };
        let (lo, hi) = (a, a + n); // symbol indices; 0 = ^, total - 1 = $
        if lo == 0 {
            push(b'^');
        }
        let c_lo = lo.max(1) - 1;
        let c_hi = (hi.min(total - 1)).saturating_sub(1).max(c_lo);
        if c_hi > c_lo {
            for &b in &s.as_bytes()[bounds[c_lo]..bounds[c_hi]] {
                push(b);
            }
        }
        if hi == total {
            push(b'$');
        }
        out[k] = h;
        k += 1;
    }
    k
}

/// Template ids.
mod tpl {
    pub const BIAS: u64 = 1;
    pub const W0: u64 = 2;
    pub const LOWER0: u64 = 3;
    pub const STEM0: u64 = 4;
    pub const PFX0: u64 = 5;
    pub const PRE: u64 = 6;
    pub const SUF: u64 = 7;
    pub const SHAPE0: u64 = 8;
    pub const FLAG0: u64 = 9;
    pub const WM1: u64 = 10;
    pub const WP1: u64 = 11;
    pub const WM2: u64 = 12;
    pub const WP2: u64 = 13;
    pub const STEMM1: u64 = 14;
    pub const STEMP1: u64 = 15;
    pub const BIGRAM_L: u64 = 16;
    pub const BIGRAM_R: u64 = 17;
    pub const SHAPE_L: u64 = 18;
    pub const SHAPE_R: u64 = 19;
    pub const GAZ0: u64 = 20;
    pub const GAZM1: u64 = 21;
    pub const GAZP1: u64 = 22;
    pub const STEM0_GAZ: u64 = 23;
    pub const BOS: u64 = 24;
    pub const EOS: u64 = 25;
    pub const LOWERM1: u64 = 26;
    pub const FLAGM1: u64 = 27;
    pub const TRI: u64 = 30;
    pub const SPRE: u64 = 31;
    /// Word cluster, one template per level (40, 41, 42).
    pub const CL0: u64 = 40;
    /// The word is outside the clusters' vocabulary.
    pub const CL_NONE: u64 = 43;
    /// Stem cluster, one template per level (44, 45, 46).
    pub const CLS0: u64 = 44;
    /// Cluster of the previous token, per level (48, 49: the coarsest level is not used).
    pub const CLM1: u64 = 47;
    /// Cluster of the next token, per level (51, 52).
    pub const CLP1: u64 = 50;
    /// One name-list flag of the token (the flag's bit is the value).
    pub const NAME0: u64 = 53;
    /// All name-list flags of the token together.
    pub const NAMES0: u64 = 54;
    /// Name-list flags of the previous and of the next token.
    pub const NAMESM1: u64 = 55;
    pub const NAMESP1: u64 = 56;
    /// Flags of the previous token with the token's (a first name then a last name).
    pub const NAMES_PAIR: u64 = 57;
}

/// Calls `f` with every feature key of position `i` in `toks`.
#[inline]
pub fn features(toks: &[TokInfo], i: usize, mut f: impl FnMut(u64)) {
    let t = &toks[i];
    token_features(t, &mut f);
    left_context(toks, i, &mut f);
    right_context(toks, i, &mut f);
    if t.gaz != 0 && t.n_stems > 0 {
        f(mix(tpl::STEM0_GAZ, t.stems[0] ^ u64::from(t.gaz)));
    }
    for &h in &t.tri[..usize::from(t.n_tri)] {
        f(mix(tpl::TRI, h));
    }
    for &h in &t.stem_starts {
        if h != 0 {
            f(mix(tpl::SPRE, h));
        }
    }
    cluster_features(toks, i, &mut f);
    name_features(toks, i, &mut f);
}

/// The token's own features: word, lowercase form, stems and prefixes, affixes, shape,
/// flags, gazetteer tag.
#[inline]
fn token_features(t: &TokInfo, f: &mut impl FnMut(u64)) {
    f(mix(tpl::BIAS, 0));
    f(mix(tpl::W0, t.word));
    if t.has_upper {
        f(mix(tpl::LOWER0, t.lower));
    }
    for k in 0..usize::from(t.n_stems) {
        f(mix(tpl::STEM0, t.stems[k]));
        f(mix(tpl::PFX0, t.prefixes[k]));
    }
    for k in 0..4 {
        if t.pre[k] != 0 {
            f(mix(tpl::PRE, t.pre[k]));
        }
        if t.suf[k] != 0 {
            f(mix(tpl::SUF, t.suf[k]));
        }
    }
    f(mix(tpl::SHAPE0, t.shape));
    for b in 0..N_FLAGS {
        if t.flags & (1 << b) != 0 {
            f(mix(tpl::FLAG0, u64::from(b)));
        }
    }
    if t.gaz != 0 {
        f(mix(tpl::GAZ0, u64::from(t.gaz)));
    }
}

/// The previous tokens: word ±bigram, shape pair, lowercase form, stems, gazetteer tag,
/// some flags, and the word two back (or the sentence start).
#[inline]
fn left_context(toks: &[TokInfo], i: usize, f: &mut impl FnMut(u64)) {
    if i == 0 {
        f(mix(tpl::BOS, 0));
        return;
    }
    let (t, p) = (&toks[i], &toks[i - 1]);
    f(mix(tpl::WM1, p.word));
    f(mix(tpl::BIGRAM_L, p.word ^ t.word.rotate_left(17)));
    f(mix(tpl::SHAPE_L, p.shape ^ t.shape.rotate_left(7)));
    if p.has_upper {
        f(mix(tpl::LOWERM1, p.lower));
    }
    for k in 0..usize::from(p.n_stems) {
        f(mix(tpl::STEMM1, p.stems[k]));
    }
    if p.gaz != 0 {
        f(mix(tpl::GAZM1, u64::from(p.gaz)));
    }
    for b in [F_INITCAP, F_PUNCT, F_DIGIT] {
        if p.flags & b != 0 {
            f(mix(tpl::FLAGM1, u64::from(b)));
        }
    }
    f(mix(tpl::WM2, if i > 1 { toks[i - 2].word } else { 0 }));
}

/// The next tokens: word, bigram, shape pair, stems, gazetteer tag, and the word two on
/// (or the sentence end).
#[inline]
fn right_context(toks: &[TokInfo], i: usize, f: &mut impl FnMut(u64)) {
    if i + 1 >= toks.len() {
        f(mix(tpl::EOS, 0));
        return;
    }
    let (t, n) = (&toks[i], &toks[i + 1]);
    f(mix(tpl::WP1, n.word));
    f(mix(tpl::BIGRAM_R, t.word ^ n.word.rotate_left(29)));
    f(mix(tpl::SHAPE_R, t.shape ^ n.shape.rotate_left(11)));
    for k in 0..usize::from(n.n_stems) {
        f(mix(tpl::STEMP1, n.stems[k]));
    }
    if n.gaz != 0 {
        f(mix(tpl::GAZP1, u64::from(n.gaz)));
    }
    f(mix(tpl::WP2, toks.get(i + 2).map_or(0, |x| x.word)));
}

/// The name-list features of position `i`: soft evidence that the model weighs (a listed
/// first name is also a common word often enough). None for a token outside every list
/// whose neighbours are too.
#[inline]
fn name_features(toks: &[TokInfo], i: usize, f: &mut impl FnMut(u64)) {
    let t = &toks[i];
    let prev = i.checked_sub(1).map_or(0, |j| toks[j].names);
    let next = toks.get(i + 1).map_or(0, |n| n.names);
    if t.names != 0 {
        for b in 0..name_flags::COUNT {
            if t.names & (1 << b) != 0 {
                f(mix(tpl::NAME0, u64::from(b)));
            }
        }
        f(mix(tpl::NAMES0, u64::from(t.names)));
    }
    if prev != 0 {
        f(mix(tpl::NAMESM1, u64::from(prev)));
    }
    if next != 0 {
        f(mix(tpl::NAMESP1, u64::from(next)));
    }
    if t.names != 0 || prev != 0 {
        f(mix(
            tpl::NAMES_PAIR,
            u64::from(prev) << 8 | u64::from(t.names),
        ));
    }
}

/// The word-cluster features of position `i` (none when the model has no clusters: then
/// every `cl` is 0 and only `CL_NONE` would fire, so it is skipped too).
#[inline]
fn cluster_features(toks: &[TokInfo], i: usize, f: &mut impl FnMut(u64)) {
    let t = &toks[i];
    if !t.lex {
        return;
    }
    if t.classes[0] != 0 {
        for (k, &c) in t.classes.iter().enumerate() {
            f(mix(tpl::CL0 + k as u64, u64::from(c)));
        }
    } else if t.stem_classes[0] != 0 || t.flags & F_HEBREW != 0 {
        f(mix(tpl::CL_NONE, 0));
    }
    if t.stem_classes[0] != 0 {
        for (k, &c) in t.stem_classes.iter().enumerate() {
            f(mix(tpl::CLS0 + k as u64, u64::from(c)));
        }
    }
    for (tpl_base, j) in [(tpl::CLM1, i.checked_sub(1)), (tpl::CLP1, Some(i + 1))] {
        if let Some(n) = j.and_then(|j| toks.get(j)) {
            let c = n.any_cluster();
            if c[0] != 0 {
                for (k, &c) in c.iter().enumerate().skip(1) {
                    f(mix(tpl_base + k as u64, u64::from(c)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(words: &[&str], i: usize) -> Vec<u64> {
        keys_by_position(words, &WordClusters::empty()).swap_remove(i)
    }

    /// The feature keys of every position of `words`, with `clusters` (and its name flags).
    fn keys_by_position(words: &[&str], clusters: &WordClusters) -> Vec<Vec<u64>> {
        let toks: Vec<TokInfo> = words.iter().map(|w| tok_info(w, 0, clusters)).collect();
        (0..toks.len())
            .map(|i| {
                let mut out = Vec::new();
                features(&toks, i, |k| out.push(k));
                out
            })
            .collect()
    }

    #[test]
    fn prefixed_and_bare_forms_share_the_stem_feature() {
        let a = keys(&["בקייב"], 0);
        let b = keys(&["קייב"], 0);
        let w_bare = mix(tpl::W0, hash_bytes(1, "קייב".as_bytes()));
        let stem = mix(tpl::STEM0, hash_bytes(3, "קייב".as_bytes()));
        assert!(b.contains(&w_bare));
        assert!(a.contains(&stem));
        assert!(!a.contains(&w_bare));
    }

    #[test]
    fn features_are_deterministic_and_nonzero() {
        let a = keys(&["נשיא", "ארה\"ב", "דונלד", "טראמפ", "."], 2);
        let b = keys(&["נשיא", "ארה\"ב", "דונלד", "טראמפ", "."], 2);
        assert_eq!(a, b);
        assert!(a.iter().all(|&k| k != 0));
        assert!(a.len() > 15);
        let t = tok_info("U.S", 0, &WordClusters::empty());
        assert!(t.flags & F_INITCAP != 0 && t.flags & F_ALLCAP != 0);
        let y = tok_info("2023", 0, &WordClusters::empty());
        assert!(y.flags & F_YEAR != 0);
    }

    #[test]
    fn trigrams_have_boundary_marks() {
        let mut out = [0u64; 16];
        let n = ngrams("abcd", 3, 20, &mut out, 0);
        // ^ab abc bcd cd$
        assert_eq!(n, 4);
        assert_eq!(out[0], hash_bytes(20, b"^ab"));
        assert_eq!(out[1], hash_bytes(20, b"abc"));
        assert_eq!(out[3], hash_bytes(20, b"cd$"));
        assert_eq!(ngrams("a", 3, 20, &mut out, 0), 1); // ^a$
        assert_eq!(out[0], hash_bytes(20, b"^a$"));
        assert_eq!(ngrams("", 3, 20, &mut out, 0), 0);
        let t = tok_info("מסצוסטס", 0, &WordClusters::empty());
        assert_eq!(t.n_tri, 7);
    }

    #[test]
    fn cluster_features_follow_the_word_its_stem_and_neighbours() {
        let cl = WordClusters::parse_tsv("קייב\t1\t2\t3\nנסע\t4\t5\t6\n").unwrap();
        let by_pos = keys_by_position(&["נסע", "לקייב", "זלצבורג"], &cl);
        let keys_at = |i: usize| by_pos[i].clone();
        // The prefixed form is not in the vocabulary: no word cluster, but the stem's.
        let k1 = keys_at(1);
        assert!(k1.contains(&mix(tpl::CLS0 + 2, 4)));
        assert!(!k1.contains(&mix(tpl::CL0 + 2, 4)));
        assert!(k1.contains(&mix(tpl::CL_NONE, 0)));
        assert!(k1.contains(&mix(tpl::CLM1 + 1, 6))); // נסע: 5 + 1
        let k0 = keys_at(0);
        assert!(k0.contains(&mix(tpl::CL0, 5)) && k0.contains(&mix(tpl::CL0 + 2, 7)));
        assert!(k0.contains(&mix(tpl::CLP1 + 2, 4))); // the stem of לקייב
        let k2 = keys_at(2);
        assert!(k2.contains(&mix(tpl::CL_NONE, 0)));
        assert!(k2.contains(&mix(tpl::CLM1 + 2, 4)));
        // Without clusters nothing of this fires.
        let plain = keys(&["נסע", "לקייב", "זלצבורג"], 1);
        assert!(!plain.contains(&mix(tpl::CL_NONE, 0)));
    }

    #[test]
    fn name_flags_follow_the_word_its_stem_and_neighbours() {
        let h = |w: &str| hash_bytes(1, w.as_bytes());
        let cl = WordClusters::empty()
            .with_names([(h("דני"), name_flags::FIRST), (h("כהן"), name_flags::LAST)]);
        let by_pos = keys_by_position(&["אמר", "לדני", "כהן", "אתמול"], &cl);
        let keys_at = |i: usize| by_pos[i].clone();
        let first = u64::from(name_flags::FIRST);
        let last = u64::from(name_flags::LAST);
        // לדני: not listed itself, its stem דני is.
        let k1 = keys_at(1);
        assert!(k1.contains(&mix(tpl::NAME0, 0)) && k1.contains(&mix(tpl::NAMES0, first)));
        assert!(k1.contains(&mix(tpl::NAMESP1, last)));
        let k2 = keys_at(2);
        assert!(k2.contains(&mix(tpl::NAMES_PAIR, first << 8 | last)));
        assert!(k2.contains(&mix(tpl::NAMESM1, first)));
        // A word in no list beside words in none fires nothing of this.
        let k0 = keys_at(0);
        assert!(!k0
            .iter()
            .any(|&k| k == mix(tpl::NAMES0, 0) || k == mix(tpl::NAMES_PAIR, 0)));
        assert!(k0.contains(&mix(tpl::NAMESP1, first)));
        // Without lists nothing of this fires.
        let plain = keys(&["לדני", "כהן"], 1);
        assert!(!plain.contains(&mix(tpl::NAMESM1, first)));
    }

    #[test]
    fn affixes_are_bounded() {
        let t = tok_info("ירושלים", 0, &WordClusters::empty());
        assert_eq!(t.n_affix, 4);
        assert!(t.pre.iter().all(|&h| h != 0));
        let s = tok_info("א", 0, &WordClusters::empty());
        assert_eq!(s.n_affix, 0);
    }
}
