//! Gazetteer: known names (Hebrew and English aliases) with a type, a canonical form and a
//! Wikidata id, matched longest-first over tokens, with Hebrew prefix letters stripped.
//!
//! File format (`models/gazetteer.tsv`), one entity a line, `#` comments:
//! `TYPE <TAB> CANONICAL <TAB> WIKIDATA-or-"-" <TAB> alias|alias|...`; an alias ending in
//! `?` is ambiguous (weak); one starting with `=` begins with a ה that is part of the name,
//! not the article, so it stays written after ב, ל, כ (`=האג`: `בהאג` is "in The Hague").

use super::{EntityType, TagError};
use crate::segment::{prefix_splits, Token};
use std::collections::HashMap;

/// Gazetteer position of a token, as a feature value (0 = none).
pub type GazTag = u16;

/// Encodes a gazetteer tag: position (1 = B, 2 = I, 3 = E, 4 = S; +4 for an ambiguous
/// alias) and type index.
pub fn gaz_tag(pos: u8, kind: usize) -> GazTag {
    (u16::from(pos) << 8) | (kind as u16 + 1)
}

/// One gazetteer entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GazetteerEntry {
    /// Entity type.
    pub kind: EntityType,
    /// Canonical name (English).
    pub canonical: String,
    /// Wikidata id (`Q30`), when known.
    pub wikidata: Option<String>,
}

/// A match of a gazetteer alias in a token sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GazetteerMatch {
    /// Index of the first token.
    pub first: usize,
    /// Index one past the last token.
    pub last: usize,
    /// Characters of Hebrew prefix on the first token, outside the entity.
    pub prefix_chars: usize,
    /// Entry index.
    pub entry: usize,
    /// Whether the matched alias is ambiguous (marked `?`): it informs the model and gives
    /// canonical forms, but does not make an entity on its own.
    pub weak: bool,
}

/// The loaded gazetteer.
#[derive(Debug, Default)]
pub struct Gazetteer {
    entries: Vec<GazetteerEntry>,
    /// First alias token → (remaining alias tokens, entry index, weak), longest first.
    index: HashMap<String, Vec<(Vec<String>, usize, bool)>>,
    /// The same for aliases starting with the article ה, keyed without it: after ב, ל, כ
    /// the article is not written (בבית הלבן = ב + הבית הלבן).
    hidden_he: HashMap<String, Vec<(Vec<String>, usize, bool)>>,
    /// Canonical form → entry, for entries with at least one unambiguous alias (the type
    /// that decides an article's mentions of that entity).
    by_canonical: HashMap<String, usize>,
    /// First tokens of aliases whose leading ה is part of the name (`=` in the file).
    intrinsic_he: std::collections::HashSet<String>,
}

impl Gazetteer {
    /// Whether `stem` is the first word of a name whose ה is part of it (`=האג`): the
    /// gazetteer's author vouches that a prefix letter before it reads as that name
    /// (בהאג is "in The Hague"), however frequent the prefixed word is.
    pub(crate) fn is_intrinsic_he(&self, stem: &str) -> bool {
        self.intrinsic_he.contains(stem)
    }

    /// Parses the TSV format described in the module docs.
    pub fn parse(text: &str) -> Result<Gazetteer, TagError> {
        let mut g = Gazetteer::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let bad = |m: &str| TagError::Gazetteer {
                line: n + 1,
                message: m.to_string(),
            };
            let [kind, canonical, wikidata, aliases] = cols[..] else {
                return Err(bad("expected 4 tab-separated columns"));
            };
            let kind = EntityType::parse(kind).ok_or_else(|| bad("unknown entity type"))?;
            let entry = g.entries.len();
            g.entries.push(GazetteerEntry {
                kind,
                canonical: canonical.to_string(),
                wikidata: (wikidata != "-" && !wikidata.is_empty()).then(|| wikidata.to_string()),
            });
            for alias in aliases.split('|').map(str::trim).filter(|a| !a.is_empty()) {
                let (alias, weak) = match alias.strip_suffix('?') {
                    Some(a) => (a, true),
                    None => (alias, false),
                };
                let (alias, intrinsic) = match alias.strip_prefix('=') {
                    Some(a) => (a, true),
                    None => (alias, false),
                };
                let normalized = crate::normalize::text::normalize_text(alias);
                let toks: Vec<String> = crate::segment::tokenize(&normalized)
                    .iter()
                    .map(|t| t.text.to_string())
                    .collect();
                let Some((first, rest)) = toks.split_first() else {
                    continue;
                };
                if intrinsic {
                    g.intrinsic_he.insert(first.clone());
                }
                if !weak {
                    g.by_canonical.entry(canonical.to_string()).or_insert(entry);
                }
                if let Some(caps) = capitals(&toks) {
                    // A one-word name in capitals may be a common word in a headline
                    // (LABOUR COSTS): it is left to the model, as an ambiguous alias is.
                    let weak = weak || caps.len() == 1;
                    g.index.entry(caps[0].clone()).or_default().push((
                        caps[1..].to_vec(),
                        entry,
                        weak,
                    ));
                }
                g.index
                    .entry(first.clone())
                    .or_default()
                    .push((rest.to_vec(), entry, weak));
                if let Some(bare) = first.strip_prefix('ה').filter(|b| b.chars().count() >= 2) {
                    g.hidden_he.entry(bare.to_string()).or_default().push((
                        rest.to_vec(),
                        entry,
                        weak,
                    ));
                }
            }
        }
        for alts in g.index.values_mut().chain(g.hidden_he.values_mut()) {
            alts.sort_by_key(|a| std::cmp::Reverse(a.0.len()));
        }
        Ok(g)
    }

    /// The entry at `i`.
    pub fn entry(&self, i: usize) -> &GazetteerEntry {
        &self.entries[i]
    }

    /// The entry whose canonical form is `canonical`, if one of its aliases is unambiguous.
    pub fn by_canonical(&self, canonical: &str) -> Option<&GazetteerEntry> {
        self.by_canonical.get(canonical).map(|&i| &self.entries[i])
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the gazetteer is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Longest alias match starting at token `i`, trying the token with and without Hebrew
    /// prefix letters (the unprefixed reading wins on equal length).
    pub fn match_at(&self, tokens: &[Token<'_>], i: usize) -> Option<GazetteerMatch> {
        let mut best: Option<GazetteerMatch> = None;
        for (prefix, stem) in prefix_splits(tokens[i].text) {
            let hidden = prefix.ends_with(['ב', 'ל', 'כ']);
            // After ב, ל, כ the article ה is not written: ולהכנסת is "and to insert", not
            // "and to the Knesset" (ולכנסת).
            if hidden && stem.starts_with('ה') && !self.intrinsic_he.contains(stem) {
                continue;
            }
            let direct = self.index.get(stem).into_iter().flatten();
            let via_article = hidden
                .then(|| self.hidden_he.get(stem))
                .flatten()
                .into_iter()
                .flatten();
            for (rest, entry, weak) in direct.chain(via_article) {
                let end = i + 1 + rest.len();
                if end > tokens.len() {
                    continue;
                }
                let fits = rest
                    .iter()
                    .zip(&tokens[i + 1..end])
                    .all(|(a, t)| a == t.text);
                if fits && best.is_none_or(|b| end > b.last) {
                    best = Some(GazetteerMatch {
                        first: i,
                        last: end,
                        prefix_chars: prefix.chars().count(),
                        entry: *entry,
                        weak: *weak,
                    });
                }
            }
        }
        best
    }
}
/// A Latin-script alias in capitals (`New York` → `NEW YORK`), for all-capitals headlines
/// and datelines; `None` when it has no lower-case letter or any non-Latin letter.
fn capitals(toks: &[String]) -> Option<Vec<String>> {
    let letters = || {
        toks.iter()
            .flat_map(|t| t.chars())
            .filter(|c| c.is_alphabetic())
    };
    let latin =
        letters().all(|c| c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c));
    (latin && letters().any(char::is_lowercase))
        .then(|| toks.iter().map(|t| t.to_uppercase()).collect())
}

/// Gazetteer tags (B/I/E/S + type) of pre-split words, longest match first.
pub fn tags_for_words(gaz: &Gazetteer, words: &[&str]) -> Vec<GazTag> {
    let mut pos = 0;
    let tokens: Vec<Token<'_>> = words
        .iter()
        .map(|w| {
            let n = w.chars().count();
            let t = Token {
                text: w,
                byte_start: 0,
                start: pos,
                end: pos + n,
                is_word: w.chars().next().is_some_and(char::is_alphanumeric),
            };
            pos += n + 1;
            t
        })
        .collect();
    let mut tags = vec![0; tokens.len()];
    scan(gaz, &tokens, &mut tags);
    tags
}

/// Longest-match gazetteer scan; fills `tags` and returns the matches.
pub fn scan(gaz: &Gazetteer, tokens: &[Token<'_>], tags: &mut [GazTag]) -> Vec<GazetteerMatch> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !tokens[i].is_word {
            i += 1;
            continue;
        }
        if let Some(m) = gaz.match_at(tokens, i) {
            let kind = gaz.entry(m.entry).kind as usize;
            // Weak (ambiguous) aliases get their own feature values.
            let w = if m.weak { 4 } else { 0 };
            if m.last - m.first == 1 {
                tags[m.first] = gaz_tag(4 + w, kind);
            } else {
                tags[m.first] = gaz_tag(1 + w, kind);
                for t in &mut tags[m.first + 1..m.last - 1] {
                    *t = gaz_tag(2 + w, kind);
                }
                tags[m.last - 1] = gaz_tag(3 + w, kind);
            }
            out.push(m);
            i = m.last;
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(g: &Gazetteer, text: &str) -> Vec<(String, bool)> {
        let words: Vec<&str> = text.split(' ').collect();
        let tokens: Vec<Token<'_>> = words
            .iter()
            .map(|w| Token {
                text: w,
                byte_start: 0,
                start: 0,
                end: 0,
                is_word: true,
            })
            .collect();
        let mut tags = vec![0; tokens.len()];
        scan(g, &tokens, &mut tags)
            .iter()
            .map(|m| (g.entry(m.entry).canonical.clone(), m.weak))
            .collect()
    }

    #[test]
    fn latin_names_are_found_in_capitals_one_word_names_as_ambiguous() {
        let g = Gazetteer::parse(
            "GPE\tNew York City\tQ60\tNew York|ניו יורק\nGPE\tLondon\tQ84\tLondon\nORG\tNATO\tQ7184\tNATO\n",
        )
        .unwrap();
        assert_eq!(matches(&g, "NEW YORK"), [("New York City".into(), false)]);
        assert_eq!(matches(&g, "LONDON"), [("London".into(), true)]);
        assert_eq!(matches(&g, "London"), [("London".into(), false)]);
        assert_eq!(matches(&g, "NATO"), [("NATO".into(), false)]);
        // Only Latin aliases get a capitals copy, and lower case never matches.
        assert!(matches(&g, "london").is_empty());
        assert_eq!(g.index.len(), 6);
    }
}
