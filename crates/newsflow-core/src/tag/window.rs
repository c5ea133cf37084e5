//! Where tagging cuts text: fields into windows (so cost stays linear in length), windows
//! into sentence-like chunks (the unit both tiers label), and character offsets back to
//! bytes through the tokens; [`Window`] carries one window through the merge passes.

use super::entity::{Component, Entity, EntityType, Field};
use super::lexicon::Lexicon;
use super::names::prefix_chars;
use crate::segment::{is_abbreviation_before, Token};

/// Sentence-like chunks of a token sequence for decoding: a chunk ends after `.`, `!`,
/// `?` or before a line break, and is at most 250 tokens long. A `.` written against an
/// initial or a known abbreviation (`George W. Bush`, `U.S. President`, `Dr. White`) does
/// not end one, as it ends no sentence in [`crate::segment::sentences`]: cut there, a
/// name loses its surname or its title.
pub fn chunks(text: &str, tokens: &[Token<'_>]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..tokens.len() {
        let t = &tokens[i];
        let end_here = matches!(t.text, "!" | "?")
            || t.text == "." && !is_abbreviation_before(text, t.byte_start)
            || i + 1 - start >= 250
            || tokens
                .get(i + 1)
                .is_some_and(|n| text[t.byte_start + t.text.len()..n.byte_start].contains('\n'));
        if end_here {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < tokens.len() {
        out.push((start, tokens.len()));
    }
    out
}

/// Fields longer than this many bytes are tagged in windows that end at a paragraph break
/// (else a sentence end, else a space). Merging the model's, the gazetteer's and the rules'
/// entities compares the entities of a window with each other, which must not grow with
/// the square of a 10 MB body; ordinary articles fit one window.
pub const WINDOW_BYTES: usize = 32 * 1024;

/// End (byte offset) of the tagging window of `text` that starts at byte `from`.
pub(crate) fn window_end(text: &str, from: usize) -> usize {
    let limit = from + WINDOW_BYTES;
    if limit >= text.len() {
        return text.len();
    }
    let mut cut = limit;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let slice = &text[from..cut];
    for pat in ["\n", ". ", " "] {
        if let Some(i) = slice.rfind(pat) {
            if i >= slice.len() / 2 {
                return from + i + pat.len();
            }
        }
    }
    cut
}

/// Byte offset of character offset `chars` in `text`, found from the tokens (which carry
/// both offsets): a binary search and a scan within one token, not from the start of the
/// text (that made tagging quadratic in the text length).
pub(crate) fn char_to_byte(text: &str, tokens: &[Token<'_>], chars: usize) -> usize {
    let k = tokens.partition_point(|t| t.start <= chars);
    let (base_char, base_byte) = match k.checked_sub(1).map(|i| &tokens[i]) {
        Some(t) => (t.start, t.byte_start),
        None => (0, 0),
    };
    text[base_byte..]
        .char_indices()
        .nth(chars - base_char)
        .map_or(text.len(), |(b, _)| base_byte + b)
}

/// One window being tagged: its text, tokens and field, and the lexicon for prefixes.
pub(crate) struct Window<'a> {
    pub(crate) text: &'a str,
    pub(crate) tokens: &'a [Token<'a>],
    pub(crate) field: Field,
    pub(crate) lexicon: &'a Lexicon,
}

impl Window<'_> {
    /// An entity for tokens `[first, last)`, with the prefix letters of the first token
    /// outside the span.
    pub(crate) fn entity(&self, first: usize, last: usize, kind: EntityType) -> Entity {
        let t = &self.tokens[first];
        let pc = prefix_chars(self.lexicon, t.text);
        let byte_start = t.byte_start + t.text.char_indices().nth(pc).map_or(0, |(b, _)| b);
        let end_tok = &self.tokens[last - 1];
        let byte_end = end_tok.byte_start + end_tok.text.len();
        let surface = &self.text[byte_start..byte_end];
        Entity {
            kind,
            text: surface.to_string(),
            field: self.field,
            start: t.start + pc,
            end: end_tok.end,
            canonical: surface.to_string(),
            wikidata: None,
            confidence: 0.5,
            source: Component::Model,
            value: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::tokenize;

    fn chunk_texts(text: &str) -> Vec<String> {
        let tokens = tokenize(text);
        chunks(text, &tokens)
            .into_iter()
            .map(|(a, b)| {
                let (s, t) = (&tokens[a], &tokens[b - 1]);
                text[s.byte_start..t.byte_start + t.text.len()].to_string()
            })
            .collect()
    }

    #[test]
    fn initials_and_abbreviations_do_not_end_a_chunk() {
        assert_eq!(
            chunk_texts("U.S. President George W. Bush met Dr. White. Then he left! Why?"),
            [
                "U.S. President George W. Bush met Dr. White.",
                "Then he left!",
                "Why?"
            ]
        );
        assert_eq!(
            chunk_texts("הוא יצא. שורה\nשנייה"),
            ["הוא יצא.", "שורה", "שנייה"]
        );
        // A dot apart from the letter before it ends the chunk.
        assert_eq!(chunk_texts("Plan B . Next."), ["Plan B .", "Next."]);
    }
}
