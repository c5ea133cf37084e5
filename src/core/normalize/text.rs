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
    let mut mapped = String::with_capacity(input.len());
    let mut after_cr = false;
    for c in input.chars() {
        // CRLF is one line break.
        if std::mem::replace(&mut after_cr, c == '\r') && c == '\n' {
            continue;
        }
        if ('\u{FB1D}'..='\u{FB4F}').contains(&c) {
            unicode_normalization::char::decompose_compatible(c, |d| map_char(d, &mut mapped));
        } else {
            map_char(c, &mut mapped);
        }
    }
    let composed = match is_nfc_quick(mapped.chars()) {
        IsNormalized::Yes => mapped,
        _ => mapped.nfc().collect(),
    };
    fold_whitespace(&composed)
}

/// Line-break class of a character after mapping.
const PARAGRAPH: char = '\u{2029}';

#[inline]
fn map_char(c: char, out: &mut String) {
    match c {
        // ASCII fast path.
        ' '..='~' => out.push(if c == '`' { '\'' } else { c }),
        '\n' => out.push('\n'),
        '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' => out.push('\n'),
        '\u{2029}' => out.push(PARAGRAPH),
        '\t'
        | '\u{A0}'
        | '\u{1680}'
        | '\u{2000}'..='\u{200A}'
        | '\u{202F}'
        | '\u{205F}'
        | '\u{3000}' => out.push(' '),
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

/// Folds whitespace runs; see rule 6 in the module docs.
fn fold_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    let mut pending_breaks = 0u8; // 0 none, 1 line, 2 paragraph
    for c in s.chars() {
        match c {
            ' ' => pending_space = true,
            '\n' => pending_breaks = (pending_breaks + 1).min(2),
            PARAGRAPH => pending_breaks = 2,
            _ => {
                if !out.is_empty() {
                    match pending_breaks {
                        0 if pending_space => out.push(' '),
                        0 => {}
                        1 => out.push('\n'),
                        _ => out.push_str("\n\n"),
                    }
                }
                pending_space = false;
                pending_breaks = 0;
                out.push(c);
            }
        }
    }
    out
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
