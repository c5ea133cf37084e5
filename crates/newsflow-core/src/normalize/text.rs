//! Unicode and Hebrew clean-up of article text.
//!
//! Rules, applied in this order (documented in the README):
//! 1. Hebrew presentation forms (U+FB1D–U+FB4F) are replaced by their compatibility
//!    decomposition (`שׁ` → `ש` + mark, `ﬡ` → `א`, `ﭏ` → `אל`).
//! 2. Removed: Hebrew points and cantillation marks (combining marks in U+0591–U+05C7),
//!    bidi controls (U+200E/F, U+061C, U+202A–U+202E, U+2066–U+2069), zero-width characters
//!    (U+200B–U+200D, U+2060, U+FEFF), soft hyphen, and control characters.
//! 3. Quotes: geresh and look-alikes (`׳ ’ ‘ \` ´ ′`) become ASCII `'`; gershayim and
//!    look-alikes (`״ ” “ „ ″`) become ASCII `"` — the forms of the tagger's training data.
//! 4. Dashes: maqaf U+05BE and hyphen variants (U+2010, U+2011, U+2212, U+FE63, U+FF0D) become
//!    ASCII `-`; em dash and horizontal bar become en dash `–`.
//! 5. NFC.
//! 6. Whitespace: every horizontal space kind (tab, NBSP, U+2000–U+200A, …) becomes a space,
//!    runs fold to one, lines are trimmed; a single line break is kept as `\n`, two or more
//!    (a blank line, U+2029) as one paragraph break `\n\n`.
//!
//! Final letters are left as written. The function is idempotent.

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// Normalizes text with the rules in the module docs.
pub fn normalize_text(input: &str) -> String {
    normalize(input, false).0
}

/// Normalizes text and returns, beside it, the map from its character offsets back to the
/// character offsets of `input` (see [`OffsetMap`]).
pub fn normalize_text_mapped(input: &str) -> (String, OffsetMap) {
    let (text, map) = normalize(input, true);
    (text, map.unwrap_or_default())
}

/// Maps character offsets of normalized text to character offsets of the text it came from.
///
/// Stored as anchors `[normalized, source]`, one where the correspondence stops being
/// one-to-one (a removed or folded character, a decomposed presentation form): an offset `o`
/// maps to `source + (o - normalized)` of the last anchor with `normalized <= o`. Characters
/// composed by NFC map to their base character; inserted separators map to the first
/// whitespace character they replace.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct OffsetMap(pub Vec<[u32; 2]>);

impl OffsetMap {
    /// The source character offset of normalized character offset `offset`.
    pub fn to_source(&self, offset: usize) -> usize {
        let o = u32::try_from(offset).unwrap_or(u32::MAX);
        let i = self.0.partition_point(|a| a[0] <= o);
        match i.checked_sub(1).and_then(|i| self.0.get(i)) {
            Some([n, src]) => (*src + (o - *n)) as usize,
            None => offset,
        }
    }

    fn push(&mut self, out: u32, src: u32, last: &mut Option<(u32, u32)>) {
        if !matches!(*last, Some((lo, ls)) if out == lo + 1 && src == ls + 1) {
            self.0.push([out, src]);
        }
        *last = Some((out, src));
    }
}

fn normalize(input: &str, want_map: bool) -> (String, Option<OffsetMap>) {
    let (mut text, mut map, mut composed) = normalize_once(input, want_map);
    // NFC can produce characters that the mapping rules change (U+1FEF → '`' → '\''):
    // repeat until stable so the result is idempotent (rare; at most a few rounds).
    let mut rounds = 0;
    while composed && rounds < 4 {
        rounds += 1;
        let (next, next_map, again) = normalize_once(&text, want_map);
        if next == text {
            break;
        }
        map = match (map, next_map) {
            (Some(first), Some(second)) => Some(first.compose(&second, next.chars().count())),
            _ => None,
        };
        text = next;
        composed = again;
    }
    (text, map)
}

impl OffsetMap {
    /// The map of applying `self` after `later` (offsets of `later`'s output → `self`'s
    /// source), for `len` output characters.
    fn compose(&self, later: &OffsetMap, len: usize) -> OffsetMap {
        let mut out = OffsetMap::default();
        let mut last = None;
        for i in 0..len {
            let src = self.to_source(later.to_source(i));
            out.push(i as u32, src as u32, &mut last);
        }
        out
    }
}

fn normalize_once(input: &str, want_map: bool) -> (String, Option<OffsetMap>, bool) {
    let mut out = Folder::with_capacity(input.len(), want_map);
    let bytes = input.as_bytes();
    let mut after_cr = false;
    let mut src = 0u32;
    let mut i = 0;
    while i < bytes.len() {
        // Fast path: a run of characters that pass through unchanged (see [`pass_run`]) is
        // copied at once, with at most one offset-map anchor.
        let (end, chars) = pass_run(bytes, i);
        if chars > 0 {
            out.src = src;
            out.push_run(&input[i..end], chars);
            src += chars;
            i = end;
            after_cr = false;
            continue;
        }
        // Slow path: one character through the rules.
        let c = input[i..].chars().next().unwrap_or_default();
        i += c.len_utf8();
        out.src = src;
        src += 1;
        // CRLF is one line break.
        if std::mem::replace(&mut after_cr, c == '\r') && c == '\n' {
            continue;
        }
        if ('\u{FB1D}'..='\u{FB4F}').contains(&c) {
            unicode_normalization::char::decompose_compatible(c, |d| map_char(d, &mut out));
        } else {
            map_char(c, &mut out);
        }
    }
    // NFC never touches whitespace, so composing after folding gives the same result as
    // before it; most Hebrew and English text needs no composition at all.
    if out.may_need_nfc && is_nfc_quick(out.text.chars()) != IsNormalized::Yes {
        let (t, m) = segmented_nfc(&out.text, out.map.as_ref());
        (t, m, true)
    } else {
        (out.text, out.map, false)
    }
}

/// Whether NFC can never combine `c` with what precedes it nor change it (a safe place to
/// cut text into independently normalizable segments).
fn nfc_boundary(c: char) -> bool {
    (c.is_ascii() && c != '\u{0}') || ('\u{05D0}'..='\u{05EA}').contains(&c) || c == ' '
}

/// NFC applied segment by segment (cut before characters that never compose with what
/// precedes them: the same result as whole-text NFC), keeping the offset map: every output
/// character of a segment maps to the source of the segment's first character.
fn segmented_nfc(text: &str, map: Option<&OffsetMap>) -> (String, Option<OffsetMap>) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut new_map = map.map(|_| OffsetMap::default());
    let mut last = None;
    let mut out_len = 0u32;
    let mut i = 0;
    while i < chars.len() {
        let mut j = i + 1;
        while j < chars.len() && !nfc_boundary(chars[j]) {
            j += 1;
        }
        let src = map.map_or(0, |m| m.to_source(i) as u32);
        let seg = &chars[i..j];
        let simple = j == i + 1 && nfc_boundary(seg[0]);
        let mut emit = |c: char, s: u32| {
            out.push(c);
            if let Some(m) = new_map.as_mut() {
                m.push(out_len, s, &mut last);
            }
            out_len += 1;
        };
        if simple || is_nfc_quick(seg.iter().copied()) == IsNormalized::Yes {
            for (k, c) in seg.iter().enumerate() {
                let s = map.map_or(0, |m| m.to_source(i + k) as u32);
                emit(*c, s);
            }
        } else {
            for c in seg.iter().copied().nfc() {
                emit(c, src);
            }
        }
        i = j;
    }
    (out, new_map)
}

/// ASCII bytes that every rule leaves alone: printable characters except the space (folded
/// with its neighbours) and the backtick (a geresh look-alike).
const PASS_ASCII: [bool; 128] = {
    let mut t = [false; 128];
    let mut b = b'!';
    while b <= b'~' {
        t[b as usize] = b != b'`';
        b += 1;
    }
    t
};

/// Length in bytes of the pass-through character at `i` (a [`PASS_ASCII`] byte or a Hebrew
/// letter U+05D0–U+05EA, encoded D7 90–D7 AA), or 0 if there is none.
#[inline]
fn pass_char(bytes: &[u8], i: usize) -> usize {
    match bytes.get(i) {
        Some(&b) if b < 0x80 => usize::from(PASS_ASCII[b as usize]),
        Some(0xD7) if matches!(bytes.get(i + 1), Some(0x90..=0xAA)) => 2,
        _ => 0,
    }
}

/// The run of characters from byte `start` that normalization copies unchanged: pass-through
/// characters (printable ASCII and Hebrew letters, which NFC leaves alone too) and single
/// spaces between two of them. Returns the end byte and the number of characters (0 when
/// `start` is not a pass-through character). A space inside the run follows a copied
/// character, so no whitespace is pending and it is output as itself.
#[inline]
fn pass_run(bytes: &[u8], start: usize) -> (usize, u32) {
    let mut i = start;
    let mut chars = 0u32;
    if pass_char(bytes, i) == 0 {
        return (i, 0);
    }
    loop {
        // Whole blocks at once while they qualify, then up to a block's worth of characters
        // one at a time (the run may end there) before trying blocks again.
        while let Some((len, block_chars)) = pass_block(bytes, i) {
            chars += block_chars;
            i += len;
        }
        for _ in 0..PASS_BLOCK {
            let n = pass_char(bytes, i);
            if n > 0 {
                i += n;
                chars += 1;
            } else if bytes.get(i) == Some(&b' ') && pass_char(bytes, i + 1) > 0 {
                i += 1;
                chars += 1;
            } else {
                return (i, chars);
            }
        }
    }
}

/// Bytes per block in [`pass_block`].
const PASS_BLOCK: usize = 32;

/// The length in bytes and characters of the block of about [`PASS_BLOCK`] bytes from `i` (a
/// character boundary inside a run, i.e. after a pass-through character) if it continues the
/// run as a whole.
/// Checked without branches per byte: every byte of the block and the one after it is
/// printable ASCII other than the backtick, a space not followed by another space, or a byte
/// of a Hebrew letter (D7, or 90–AA). In valid UTF-8 whose only lead byte is D7 and whose
/// continuation bytes are 90–AA, every non-ASCII character is a Hebrew letter. The block ends
/// one byte early when a letter straddles its end, and a space at its end must be followed
/// by a pass-through character.
#[inline]
fn pass_block(bytes: &[u8], i: usize) -> Option<(usize, u32)> {
    let window = bytes.get(i..i + PASS_BLOCK + 1)?;
    let (block, next) = (&window[..PASS_BLOCK], &window[1..]);
    let block: &[u8; PASS_BLOCK] = block.try_into().ok()?;
    let next: &[u8; PASS_BLOCK] = next.try_into().ok()?;
    let bad = block.iter().zip(next).fold(0u8, |bad, (&b, &next)| {
        let ok = |b: u8| {
            (0x20..=0x7E).contains(&b) & (b != b'`') | (b == 0xD7) | (0x90..=0xAA).contains(&b)
        };
        let double_space = (b == b' ') & (next == b' ');
        bad | u8::from(!ok(b) | !ok(next) | double_space)
    });
    if bad != 0 {
        return None;
    }
    let len = if window[PASS_BLOCK] & 0xC0 == 0x80 {
        PASS_BLOCK - 1
    } else {
        PASS_BLOCK
    };
    // Continuation bytes of the first `len` bytes (the byte after `len`, if inside the
    // block, is a lead byte).
    let continuation = block
        .iter()
        .fold(0u32, |n, &b| n + u32::from(b & 0xC0 == 0x80));
    (window[len - 1] != b' ' || pass_char(bytes, i + len) > 0)
        .then_some((len, len as u32 - continuation))
}

/// Output buffer that folds whitespace as characters arrive (rule 6) and optionally records
/// the offset map.
struct Folder {
    text: String,
    pending_space: bool,
    /// 0 none, 1 line break, 2 paragraph break.
    pending_breaks: u8,
    /// Whether a character that NFC could change was written.
    may_need_nfc: bool,
    /// Source offset of the character being mapped.
    src: u32,
    /// Source offset of the first whitespace character of the pending run.
    pending_src: u32,
    out_chars: u32,
    last: Option<(u32, u32)>,
    map: Option<OffsetMap>,
}

impl Folder {
    fn with_capacity(n: usize, want_map: bool) -> Folder {
        Folder {
            text: String::with_capacity(n),
            pending_space: false,
            pending_breaks: 0,
            may_need_nfc: false,
            src: 0,
            pending_src: 0,
            out_chars: 0,
            last: None,
            map: want_map.then(OffsetMap::default),
        }
    }

    #[inline]
    fn mark_pending(&mut self) {
        if !self.pending_space && self.pending_breaks == 0 {
            self.pending_src = self.src;
        }
    }

    #[inline]
    fn space(&mut self) {
        self.mark_pending();
        self.pending_space = true;
    }

    #[inline]
    fn line_break(&mut self) {
        self.mark_pending();
        self.pending_breaks = (self.pending_breaks + 1).min(2);
    }

    #[inline]
    fn paragraph_break(&mut self) {
        self.mark_pending();
        self.pending_breaks = 2;
    }

    #[inline]
    fn record(&mut self, src: u32) {
        if let Some(m) = self.map.as_mut() {
            m.push(self.out_chars, src, &mut self.last);
        }
        self.out_chars += 1;
    }

    /// Appends `run`, `chars` characters that pass through unchanged and need no NFC, the
    /// first at source offset `self.src` and the rest following it one to one.
    #[inline]
    fn push_run(&mut self, run: &str, chars: u32) {
        self.flush_pending();
        self.text.push_str(run);
        if self.map.is_some() {
            self.record(self.src);
            // The rest continue the first character's anchor.
            self.out_chars += chars - 1;
            self.last = Some((self.out_chars - 1, self.src + chars - 1));
        } else {
            self.out_chars += chars;
        }
    }

    /// Writes the pending whitespace separator, if any (none at the start of the text).
    #[inline]
    fn flush_pending(&mut self) {
        if self.pending_space || self.pending_breaks > 0 {
            if !self.text.is_empty() {
                let sep = match self.pending_breaks {
                    0 => " ",
                    1 => "\n",
                    _ => "\n\n",
                };
                self.text.push_str(sep);
                if self.map.is_some() {
                    for k in 0..sep.len() as u32 {
                        self.record(self.pending_src + k);
                    }
                } else {
                    self.out_chars += sep.len() as u32;
                }
            }
            self.pending_space = false;
            self.pending_breaks = 0;
        }
    }

    #[inline]
    fn push(&mut self, c: char) {
        self.flush_pending();
        if c >= '\u{300}' && !('\u{05D0}'..='\u{05EA}').contains(&c) {
            self.may_need_nfc = true;
        }
        self.text.push(c);
        if self.map.is_some() {
            self.record(self.src);
        } else {
            self.out_chars += 1;
        }
    }
}

#[inline]
fn map_char(c: char, out: &mut Folder) {
    match c {
        // Fast paths: printable ASCII and Hebrew letters.
        '!'..='~' => out.push(if c == '`' { '\'' } else { c }),
        ' ' => out.space(),
        '\u{05D0}'..='\u{05EA}' => out.push(c),
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' => out.line_break(),
        '\u{2029}' => out.paragraph_break(),
        '\t'
        | '\u{A0}'
        | '\u{1680}'
        | '\u{2000}'..='\u{200A}'
        | '\u{202F}'
        | '\u{205F}'
        | '\u{3000}' => out.space(),
        // Hebrew combining marks: points, cantillation, and the dots of shin/sin, dagesh, etc.
        '\u{0591}'..='\u{05BD}'
        | '\u{05BF}'
        | '\u{05C1}'
        | '\u{05C2}'
        | '\u{05C4}'
        | '\u{05C5}'
        | '\u{05C7}' => {}
        // Bidi controls and zero-width characters.
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{061C}'
        | '\u{2060}'
        | '\u{FEFF}'
        | '\u{AD}' => {}
        // Geresh and look-alikes.
        '\u{05F3}' | '\u{2018}' | '\u{2019}' | '\u{B4}' | '\u{2032}' => out.push('\''),
        // Gershayim and look-alikes.
        '\u{05F4}' | '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{2033}' => out.push('"'),
        // Maqaf and hyphen variants.
        '\u{05BE}' | '\u{2010}' | '\u{2011}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' => {
            out.push('-')
        }
        '\u{2014}' | '\u{2015}' => out.push('\u{2013}'),
        c if c.is_control() => {}
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geresh_and_gershayim_variants_become_ascii() {
        let a = normalize_text("נאט\"ו");
        assert_eq!(normalize_text("נאט״ו"), a);
        assert_eq!(normalize_text("נאט”ו"), a);
        assert_eq!(normalize_text("נאט“ו"), a);
        assert_eq!(normalize_text("ג׳ון"), "ג'ון");
        assert_eq!(normalize_text("ג’ון"), "ג'ון");
    }

    #[test]
    fn niqqud_bidi_zero_width_and_controls_removed() {
        assert_eq!(normalize_text("שָׁלוֹם"), "שלום");
        assert_eq!(
            normalize_text("\u{200F}שלום\u{200E} \u{202B}עולם\u{202C}"),
            "שלום עולם"
        );
        assert_eq!(normalize_text("a\u{200B}b\u{FEFF}c\u{0007}d"), "abcd");
    }

    #[test]
    fn presentation_forms_fold_to_plain_letters() {
        assert_eq!(normalize_text("\u{FB2A}\u{FB4B}"), "שו"); // shin with shin dot, vav holam
        assert_eq!(normalize_text("\u{FB21}"), "א"); // wide alef
        assert_eq!(normalize_text("\u{FB4F}"), "אל"); // alef-lamed ligature
    }

    #[test]
    fn dashes_and_maqaf() {
        assert_eq!(normalize_text("בית\u{05BE}ספר"), "בית-ספר");
        assert_eq!(normalize_text("a\u{2011}b \u{2014} c"), "a-b – c");
    }

    #[test]
    fn whitespace_folds_and_paragraphs_survive() {
        assert_eq!(
            normalize_text("  one\u{A0}\u{2003} two \r\n three\n\n\n\n four \u{2029} five  "),
            "one two\nthree\n\nfour\n\nfive"
        );
        assert_eq!(normalize_text(" \n\t "), "");
    }

    #[test]
    fn final_letters_kept_and_nfc_applied() {
        assert_eq!(normalize_text("שלום ךםןףץ"), "שלום ךםןףץ");
        assert_eq!(normalize_text("e\u{301}"), "\u{e9}");
    }

    fn check_map(input: &str) {
        let (text, map) = normalize_text_mapped(input);
        assert_eq!(text, normalize_text(input), "mapped and plain agree");
        let src: Vec<char> = input.chars().collect();
        for (i, c) in text.chars().enumerate() {
            let s = map.to_source(i);
            assert!(s < src.len(), "{input:?}: offset {i} maps past the input");
            // Letters and digits map to the same letter (or to the base of a composition).
            if c.is_alphanumeric() && c.is_ascii() {
                assert_eq!(src[s], c, "{input:?}: offset {i} -> {s}");
            }
        }
    }

    #[test]
    fn offset_map_points_back_into_the_input() {
        check_map("  שָׁלוֹם\u{200F}  world\r\n\r\n  X\u{A0}Y e\u{301}z \u{FB2A}ab");
        let (text, map) = normalize_text_mapped("a\u{200B}b  c");
        assert_eq!(text, "ab c");
        assert_eq!(map.to_source(1), 2);
        assert_eq!(map.to_source(3), 5);
        let (_, identity) = normalize_text_mapped("plain text");
        assert_eq!(identity.0, vec![[0, 0]], "one anchor for unchanged text");
    }

    #[test]
    fn segmented_nfc_equals_whole_nfc() {
        let s = "e\u{301}\u{327} \u{1100}\u{1161}\u{11A8}a\u{30A}\u{316} שָׁ";
        let whole: String = s.nfc().collect();
        assert_eq!(segmented_nfc(s, None).0, whole);
    }

    #[test]
    fn pass_through_runs_keep_one_anchor_per_change() {
        let (text, map) = normalize_text_mapped("שלום עולם abc  def\u{200F}גה");
        assert_eq!(text, "שלום עולם abc defגה");
        // One-to-one up to the double space, then shifted by one, then by two.
        assert_eq!(map.0, vec![[0, 0], [14, 15], [17, 19]]);
        check_map("א ב  ג\u{A0}ד`ה a\tb c\r\nd e\u{05B8}f");
        assert_eq!(pass_run(b"ab c  d", 0), (4, 4));
        assert_eq!(pass_run(b" ab", 0), (0, 0));
        assert_eq!(pass_run("אב ג`".as_bytes(), 0), (7, 4));
    }

    /// The character-at-a-time loop that the pass-through fast path short-cuts (one NFC
    /// round, which is all these samples need).
    fn reference_once(input: &str) -> (String, OffsetMap) {
        let mut out = Folder::with_capacity(input.len(), true);
        let mut after_cr = false;
        for (src, c) in input.chars().enumerate() {
            out.src = src as u32;
            if std::mem::replace(&mut after_cr, c == '\r') && c == '\n' {
                continue;
            }
            map_char(c, &mut out);
        }
        (out.text, out.map.unwrap_or_default())
    }

    #[test]
    fn fast_path_equals_the_character_loop() {
        let pieces = [
            "א",
            "ב",
            "ת",
            "a",
            "Z",
            ".",
            "\"",
            " ",
            "  ",
            "\n",
            "`",
            "\u{05C3}",
            "\u{05B8}",
            "\u{A0}",
            "\u{200F}",
            "é",
            "ab",
            "שלום ",
            "עולם, ",
            "x y",
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in 0..3000 {
            let mut text = String::new();
            for _ in 0..len % 120 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly letters and single spaces, so that whole blocks take the fast path.
                let k = (x % 100) as usize;
                let piece = if k < 80 {
                    pieces[k % 3 + 3 * (k % 2)]
                } else {
                    pieces[k % pieces.len()]
                };
                text.push_str(piece);
                if k.is_multiple_of(5) {
                    text.push(' ');
                }
            }
            let (want, want_map) = reference_once(&text);
            let (got, got_map) = normalize_text_mapped(&text);
            assert_eq!(got, want, "{text:?}");
            assert_eq!(got_map, want_map, "{text:?}");
        }
    }

    #[test]
    fn idempotent_on_tricky_samples() {
        for s in [
            "שָׁלוֹם \u{FB2A}\u{05B8} e\u{301}\u{0591}",
            "a \u{2029}\n b\r\r\nc",
            "\u{0301}\u{05B0}x",
            "ﭏ\u{05BC}\u{0301}",
            "\u{1FEF}",
            "x\u{1FEE}\u{2000}y",
        ] {
            let once = normalize_text(s);
            assert_eq!(normalize_text(&once), once, "{s:?}");
        }
    }
}
