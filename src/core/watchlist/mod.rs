//! Watchlists: the user's own names (clients, brands, politicians), found in every article.
//!
//! A list is a file (`.jsonl` or `.tsv`, see [`load`]); its entries have an id, a type and
//! names in any spelling. Matching runs on the normalized text with one Aho-Corasick
//! automaton over every name of every list:
//! - names are normalized like article text (geresh/gershayim, dashes, niqqud);
//! - a match ends at a word boundary; it starts at one, or after Hebrew prefix letters
//!   (ו ה ב כ ל מ ש, up to three: `ובבנק הפועלים`) when the name is Hebrew;
//! - Latin letters match case-insensitively;
//! - overlapping matches: the longest wins (equal spans of several entries all hit);
//! - an entry's `exclude` word within [`EXCLUDE_WINDOW`] characters of a match drops it.
//!
//! [`SharedWatchlists`] holds the current lists; a reload swaps them atomically and an
//! article keeps the lists it started with.

mod load;

pub use load::{load, WatchlistError};

use crate::core::segment::is_word_char;
use crate::core::tag::{Entity, Field};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::Serialize;
use std::sync::{Arc, RwLock};

/// Characters either side of a match searched for the entry's `exclude` words.
pub const EXCLUDE_WINDOW: usize = 60;

/// Hebrew prefix letters that may precede a Hebrew name (ו ה ב כ ל מ ש).
const PREFIX_LETTERS: [char; 7] = ['ו', 'ה', 'ב', 'כ', 'ל', 'מ', 'ש'];

/// At most this many prefix letters (`ומהש…` is not Hebrew).
const MAX_PREFIX: usize = 3;

/// One entry of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The user's id.
    pub id: String,
    /// The user's type (`ORG`, `PER`, `BRAND`, …).
    pub kind: String,
    /// Names as listed (not normalized).
    pub names: Vec<String>,
    /// Words that drop a match near them.
    pub exclude: Vec<String>,
    /// Free tags, copied to every hit.
    pub tags: Vec<String>,
}

/// One list: a file's entries under the file's stem as its name.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    /// List name (the file name without its extension).
    pub name: String,
    /// The file it was read from.
    pub path: String,
    /// Entries in file order.
    pub entries: Vec<Entry>,
}

/// One watchlist match in an article.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// List name.
    pub list: Arc<str>,
    /// Entry id.
    pub id: Arc<str>,
    /// Entry type.
    #[serde(rename = "type")]
    pub kind: Arc<str>,
    /// The entry's name that matched, as listed.
    pub name: Arc<str>,
    /// Field the offsets refer to.
    pub field: Field,
    /// Start character offset into the normalized field (after any prefix letters).
    pub start: usize,
    /// End character offset (exclusive).
    pub end: usize,
    /// The matched text, exactly `field[start..end]`.
    pub text: String,
    /// Index in `entities` of the first tagger entity the hit overlaps, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<usize>,
    /// The entry's tags.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub tags: Arc<[String]>,
}

/// An entry as the matcher keeps it (shared strings, copied cheaply into hits).
#[derive(Debug)]
struct Target {
    list: Arc<str>,
    id: Arc<str>,
    kind: Arc<str>,
    tags: Arc<[String]>,
    names: Vec<Arc<str>>,
    has_exclude: bool,
}

/// A compiled automaton over distinct normalized strings, each with the (target, index)
/// pairs it stands for.
#[derive(Debug)]
struct Automaton {
    ac: AhoCorasick,
    owners: Vec<Vec<(u32, u32)>>,
    hebrew: Vec<bool>,
}

impl Automaton {
    fn build(strings: Vec<(String, (u32, u32))>) -> Result<Option<Automaton>, WatchlistError> {
        let mut index = std::collections::HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut owners: Vec<Vec<(u32, u32)>> = Vec::new();
        for (s, owner) in strings {
            let id = *index.entry(s.clone()).or_insert_with(|| {
                patterns.push(s);
                owners.push(Vec::new());
                patterns.len() - 1
            });
            owners[id].push(owner);
        }
        if patterns.is_empty() {
            return Ok(None);
        }
        let hebrew = patterns
            .iter()
            .map(|p| p.chars().next().is_some_and(is_hebrew))
            .collect();
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| WatchlistError::Build(e.to_string()))?;
        Ok(Some(Automaton { ac, owners, hebrew }))
    }

    /// Every match of a pattern in `text` that sits on word boundaries (Hebrew prefix
    /// letters allowed before Hebrew patterns): `(pattern, start, end)` in bytes, the
    /// start after the prefix letters.
    fn matches(&self, text: &str) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        for m in self.ac.find_overlapping_iter(text) {
            let p = m.pattern().as_usize();
            if ends_on_boundary(text, m.end())
                && starts_on_boundary(text, m.start(), self.hebrew[p])
            {
                out.push((p, m.start(), m.end()));
            }
        }
        out
    }
}

fn is_hebrew(c: char) -> bool {
    ('\u{05D0}'..='\u{05EA}').contains(&c)
}

fn ends_on_boundary(text: &str, end: usize) -> bool {
    !text[end..].chars().next().is_some_and(is_word_char)
}

/// Whether a match at `start` begins a word, or (Hebrew names) follows 1–3 prefix letters
/// that begin one.
fn starts_on_boundary(text: &str, start: usize, hebrew: bool) -> bool {
    let mut before = text[..start].chars().rev();
    match before.next() {
        None => true,
        Some(c) if !is_word_char(c) => true,
        Some(c) if hebrew && PREFIX_LETTERS.contains(&c) => {
            for (n, c) in (1..).zip(before) {
                if !is_word_char(c) {
                    return true;
                }
                if !PREFIX_LETTERS.contains(&c) || n == MAX_PREFIX {
                    return false;
                }
            }
            true
        }
        Some(_) => false,
    }
}

/// Normalizes a name or exclude word for matching (as article text is normalized, then
/// whitespace folded).
fn normalize_name(s: &str) -> String {
    crate::core::normalize::text::normalize_text(s)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Compiled lists, ready to match.
#[derive(Debug, Default)]
pub struct Watchlists {
    lists: Vec<List>,
    targets: Vec<Target>,
    names: Option<Automaton>,
    excludes: Option<Automaton>,
}

impl Watchlists {
    /// No lists (nothing ever hits).
    pub fn empty() -> Watchlists {
        Watchlists::default()
    }

    /// Compiles validated lists.
    pub fn compile(lists: Vec<List>) -> Result<Watchlists, WatchlistError> {
        let mut targets = Vec::new();
        let mut names = Vec::new();
        let mut excludes = Vec::new();
        for list in &lists {
            let list_name: Arc<str> = Arc::from(list.name.as_str());
            for e in &list.entries {
                let t = targets.len() as u32;
                for (k, n) in e.names.iter().enumerate() {
                    names.push((normalize_name(n), (t, k as u32)));
                }
                for x in &e.exclude {
                    excludes.push((normalize_name(x), (t, 0)));
                }
                targets.push(Target {
                    list: Arc::clone(&list_name),
                    id: Arc::from(e.id.as_str()),
                    kind: Arc::from(e.kind.as_str()),
                    tags: Arc::from(e.tags.clone()),
                    names: e.names.iter().map(|n| Arc::from(n.as_str())).collect(),
                    has_exclude: !e.exclude.is_empty(),
                });
            }
        }
        Ok(Watchlists {
            names: Automaton::build(names)?,
            excludes: Automaton::build(excludes)?,
            targets,
            lists,
        })
    }

    /// Reads, validates and compiles list files.
    pub fn from_files(paths: &[String]) -> Result<Watchlists, WatchlistError> {
        let lists = paths
            .iter()
            .map(|p| load(std::path::Path::new(p)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut seen = std::collections::HashSet::new();
        for l in &lists {
            if !seen.insert(l.name.as_str()) {
                return Err(WatchlistError::DuplicateList {
                    name: l.name.clone(),
                    path: l.path.clone(),
                });
            }
        }
        Watchlists::compile(lists)
    }

    /// The lists, as read.
    pub fn lists(&self) -> &[List] {
        &self.lists
    }

    /// Number of entries over all lists.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The hits in one normalized field, in text order; `entities` are the tagger's
    /// entities of the article (their index is recorded for overlapping hits).
    pub fn find_in(&self, text: &str, field: Field, entities: &[Entity], out: &mut Vec<Hit>) {
        let Some(names) = &self.names else { return };
        // Candidates: (start, end, target, name index), bytes.
        let mut cands: Vec<(usize, usize, u32, u32)> = Vec::new();
        for (p, s, e) in names.matches(text) {
            for &(t, k) in &names.owners[p] {
                cands.push((s, e, t, k));
            }
        }
        if cands.is_empty() {
            return;
        }
        // Exclude words found in the field, per target.
        let excluded: Vec<(usize, usize, u32)> = match &self.excludes {
            Some(x) => x
                .matches(text)
                .into_iter()
                .flat_map(|(p, s, e)| x.owners[p].iter().map(move |&(t, _)| (s, e, t)))
                .collect(),
            None => Vec::new(),
        };
        cands.retain(|&(s, e, t, _)| {
            !self.targets[t as usize].has_exclude
                || !excluded.iter().any(|&(xs, xe, xt)| {
                    xt == t
                        && char_distance(text, xe, s) <= EXCLUDE_WINDOW
                        && char_distance(text, e, xs) <= EXCLUDE_WINDOW
                })
        });
        // Longest first; a candidate overlapping a longer accepted span is dropped (the
        // same span for several entries is kept for each).
        cands.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0)));
        let mut kept: Vec<(usize, usize, u32, u32)> = Vec::new();
        for c in cands {
            let clash = kept
                .iter()
                .any(|k| c.0 < k.1 && k.0 < c.1 && (c.0, c.1) != (k.0, k.1));
            let dup = kept.iter().any(|k| (k.0, k.1, k.2) == (c.0, c.1, c.2));
            if !clash && !dup {
                kept.push(c);
            }
        }
        kept.sort_by_key(|k| (k.0, k.2));
        let mut chars = CharCounter::new(text);
        for (s, e, t, k) in kept {
            let start = chars.at(s);
            let end = start + text[s..e].chars().count();
            let target = &self.targets[t as usize];
            let entity = entities
                .iter()
                .position(|en| en.field == field && en.start < end && start < en.end);
            out.push(Hit {
                list: Arc::clone(&target.list),
                id: Arc::clone(&target.id),
                kind: Arc::clone(&target.kind),
                name: Arc::clone(&target.names[k as usize]),
                field,
                start,
                end,
                text: text[s..e].to_string(),
                entity,
                tags: Arc::clone(&target.tags),
            });
        }
    }

    /// The hits in an article's title and body.
    pub fn find(&self, title: &str, body: &str, entities: &[Entity]) -> Vec<Hit> {
        let mut out = Vec::new();
        if self.names.is_some() {
            self.find_in(title, Field::Title, entities, &mut out);
            self.find_in(body, Field::Body, entities, &mut out);
        }
        out
    }
}

/// Characters between byte offsets `a` and `b` (0 when `b <= a`).
fn char_distance(text: &str, a: usize, b: usize) -> usize {
    if b <= a {
        0
    } else {
        text[a..b].chars().count()
    }
}

/// Byte → character offsets for increasing byte positions, in one pass.
struct CharCounter<'a> {
    text: &'a str,
    byte: usize,
    chars: usize,
}

impl<'a> CharCounter<'a> {
    fn new(text: &'a str) -> Self {
        CharCounter {
            text,
            byte: 0,
            chars: 0,
        }
    }

    fn at(&mut self, byte: usize) -> usize {
        if byte < self.byte {
            self.byte = 0;
            self.chars = 0;
        }
        self.chars += self.text[self.byte..byte].chars().count();
        self.byte = byte;
        self.chars
    }
}

/// The current lists, shared by the workers and swapped by a reload. Readers take a
/// snapshot ([`SharedWatchlists::current`]) and keep it for the whole article.
#[derive(Debug, Clone, Default)]
pub struct SharedWatchlists(Arc<RwLock<Arc<Watchlists>>>);

impl SharedWatchlists {
    /// Shares `lists`.
    pub fn new(lists: Watchlists) -> Self {
        SharedWatchlists(Arc::new(RwLock::new(Arc::new(lists))))
    }

    /// The lists now in force.
    pub fn current(&self) -> Arc<Watchlists> {
        // A poisoned lock still holds a valid Arc (the writer only swaps it).
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Replaces the lists; articles already started keep the old ones.
    pub fn swap(&self, lists: Watchlists) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(lists);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, names: &[&str], exclude: &[&str]) -> Entry {
        Entry {
            id: id.into(),
            kind: "ORG".into(),
            names: names.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            tags: vec![],
        }
    }

    fn lists(entries: Vec<Entry>) -> Watchlists {
        Watchlists::compile(vec![List {
            name: "clients".into(),
            path: "clients.jsonl".into(),
            entries,
        }])
        .unwrap()
    }

    fn hits(w: &Watchlists, text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        w.find_in(text, Field::Body, &[], &mut out);
        out.into_iter()
            .map(|h| (h.id.to_string(), h.text))
            .collect()
    }

    #[test]
    fn hebrew_prefix_letters_are_allowed_before_a_hebrew_name() {
        let w = lists(vec![entry("c-17", &["בנק הפועלים"], &[])]);
        for text in [
            "בנק הפועלים דיווח",
            "דיווח ובבנק הפועלים אמרו",
            "מנכ\"ל שבבנק הפועלים.",
            "לבנק הפועלים",
        ] {
            assert_eq!(
                hits(&w, text),
                vec![("c-17".into(), "בנק הפועלים".into())],
                "{text}"
            );
        }
        // Not prefix letters, or too many of them, or a longer word.
        for text in [
            "תבנק הפועלים",
            "ובבובבנק הפועלים",
            "בנק הפועליםים",
            "ומשהבנק הפועלים",
        ] {
            assert!(hits(&w, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn offsets_are_characters_after_the_prefix() {
        let w = lists(vec![entry("c-17", &["בנק הפועלים"], &[])]);
        let mut out = Vec::new();
        let text = "אמש ובבנק הפועלים";
        w.find_in(text, Field::Title, &[], &mut out);
        let h = &out[0];
        assert_eq!((h.start, h.end, h.field), (6, 17, Field::Title));
        let got: String = text.chars().skip(h.start).take(h.end - h.start).collect();
        assert_eq!(got, h.text);
    }

    #[test]
    fn geresh_variants_match_as_normalization_maps_them() {
        // The list writes the Hebrew geresh; normalized text has an ASCII apostrophe.
        let w = lists(vec![entry("p-1", &["ג׳ו ביידן"], &[])]);
        assert_eq!(hits(&w, "הנשיא ג'ו ביידן אמר").len(), 1);
    }

    #[test]
    fn english_is_case_insensitive_on_word_boundaries() {
        let w = lists(vec![entry("c-17", &["Bank Hapoalim"], &[])]);
        assert_eq!(hits(&w, "BANK HAPOALIM shares rose").len(), 1);
        assert_eq!(hits(&w, "at bank hapoalim.").len(), 1);
        assert!(hits(&w, "Bank Hapoalimx").is_empty());
        assert!(hits(&w, "xBank Hapoalim").is_empty());
        // Hebrew prefix letters do not license a Latin name glued to them.
        assert!(hits(&w, "בBank Hapoalim").is_empty());
        assert_eq!(hits(&w, "ב-Bank Hapoalim").len(), 1);
    }

    #[test]
    fn the_longest_overlapping_match_wins() {
        let w = lists(vec![
            entry("bank", &["בנק"], &[]),
            entry("hapoalim", &["בנק הפועלים"], &[]),
            entry("poalim", &["הפועלים"], &[]),
        ]);
        assert_eq!(
            hits(&w, "בנק הפועלים ובנק"),
            vec![
                ("hapoalim".into(), "בנק הפועלים".into()),
                ("bank".into(), "בנק".into())
            ]
        );
    }

    #[test]
    fn equal_spans_of_several_entries_all_hit() {
        let w = lists(vec![
            entry("a", &["Apple"], &[]),
            entry("b", &["apple"], &[]),
        ]);
        let got = hits(&w, "Apple said");
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn an_exclude_word_nearby_drops_the_match() {
        let w = lists(vec![entry("apple", &["Apple"], &["pie", "עוגת"])]);
        assert!(hits(&w, "an apple pie recipe").is_empty());
        assert!(hits(&w, "עוגת Apple").is_empty());
        assert_eq!(hits(&w, "Apple shares rose").len(), 1);
        let far = format!("Apple shares rose{}pie", " and".repeat(20));
        assert_eq!(hits(&w, &far).len(), 1);
    }

    #[test]
    fn hits_name_the_overlapping_entity() {
        use crate::core::tag::{Component, EntityType};
        let w = lists(vec![entry("c-17", &["בנק הפועלים"], &[])]);
        let ent = |start, end| Entity {
            kind: EntityType::ORG,
            text: String::new(),
            field: Field::Body,
            start,
            end,
            canonical: String::new(),
            wikidata: None,
            confidence: 1.0,
            source: Component::Model,
            value: None,
        };
        let mut out = Vec::new();
        w.find_in(
            "אמש בנק הפועלים",
            Field::Body,
            &[ent(0, 3), ent(4, 15)],
            &mut out,
        );
        assert_eq!(out[0].entity, Some(1));
    }

    #[test]
    fn a_snapshot_outlives_a_swap() {
        let shared = SharedWatchlists::new(lists(vec![entry("old", &["Apple"], &[])]));
        let before = shared.current();
        shared.swap(lists(vec![entry("new", &["Apple"], &[])]));
        assert_eq!(hits(&before, "Apple")[0].0, "old");
        assert_eq!(hits(&shared.current(), "Apple")[0].0, "new");
    }
}
