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
    let mut out = Folder::with_capacity(input.len());
    let mut after_cr = false;
    for c in input.chars() {
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
        out.text.nfc().collect()
    } else {
        out.text
    }
}

/// Output buffer that folds whitespace as characters arrive (rule 6).
struct Folder {
    text: String,
    pending_space: bool,
    /// 0 none, 1 line break, 2 paragraph break.
    pending_breaks: u8,
    /// Whether a character that NFC could change was written.
    may_need_nfc: bool,
}

impl Folder {
    fn with_capacity(n: usize) -> Folder {
        Folder {
            text: String::with_capacity(n),
            pending_space: false,
            pending_breaks: 0,
            may_need_nfc: false,
        }
    }

    #[inline]
    fn space(&mut self) {
        self.pending_space = true;
    }

    #[inline]
    fn line_break(&mut self) {
        self.pending_breaks = (self.pending_breaks + 1).min(2);
    }

    #[inline]
    fn paragraph_break(&mut self) {
        self.pending_breaks = 2;
    }

    #[inline]
    fn push(&mut self, c: char) {
        if self.pending_space || self.pending_breaks > 0 {
            if !self.text.is_empty() {
                match self.pending_breaks {
                    0 => self.text.push(' '),
                    1 => self.text.push('\n'),
                    _ => self.text.push_str("\n\n"),
                }
            }
            self.pending_space = false;
            self.pending_breaks = 0;
        }
        if c >= '\u{300}' && !('\u{05D0}'..='\u{05EA}').contains(&c) {
            self.may_need_nfc = true;
        }
        self.text.push(c);
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

    #[test]
    fn idempotent_on_tricky_samples() {
        for s in [
            "שָׁלוֹם \u{FB2A}\u{05B8} e\u{301}\u{0591}",
            "a \u{2029}\n b\r\r\nc",
            "\u{0301}\u{05B0}x",
            "ﭏ\u{05BC}\u{0301}",
        ] {
            let once = normalize_text(s);
            assert_eq!(normalize_text(&once), once, "{s:?}");
        }
    }
}
