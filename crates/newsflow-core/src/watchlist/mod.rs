//! Watchlists: the user's own names (clients, brands, politicians), found in every article.
//!
//! A list is a file (`.jsonl` or `.tsv`, see [`load`]); its entries have an id, a type and
//! names in any spelling. Matching runs on the normalized text with one automaton (a
//! finite-state transducer, `fst`) over every name of every list, walked from each word
//! start (so building it needs no failure links: a million entries compile in seconds):
//! - names are normalized like article text (geresh/gershayim, dashes, niqqud);
//! - a match ends at a word boundary; it starts at one, or after Hebrew prefix letters
//!   (ו ה ב כ ל מ ש, up to three: `ובבנק הפועלים`) when the name is Hebrew;
//! - Latin letters match case-insensitively;
//! - overlapping matches: the longest wins (equal spans of several entries all hit);
//! - an entry's `exclude` word within [`EXCLUDE_WINDOW`] characters of a match drops it.
//!
//! [`SharedWatchlists`] holds the current lists; a reload swaps them atomically and an
//! article keeps the lists it started with.

mod automaton;
mod load;
mod parallel;

use automaton::Automaton;
use load::Keys;
pub use load::{load, WatchlistError};
pub(crate) use parallel::in_parallel;
use parallel::release_freed_memory;

use crate::segment::is_word_char;
use crate::tag::{Entity, Field};
use serde::Serialize;
use std::sync::{Arc, RwLock};

/// Distinct strings from which the automaton is built in shards, one per core (up to 4):
/// building an `fst` is single-threaded, ~1 µs a string.
const SHARD_KEYS: usize = 500_000;

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

/// An entry as the matcher keeps it: strings live in the lists' arena, referenced by
/// (offset, length); hits build their own strings (hits are few, entries may be millions).
#[derive(Debug)]
struct Target {
    list: u32,
    kind: u32,
    id: (u32, u32),
    /// Range in `Watchlists::spans`: the names, then the tags.
    names: (u32, u32),
    tags: (u32, u32),
    has_exclude: bool,
}

/// The key a name is matched by: normalized, Latin letters lowercased.
fn match_key(s: &str) -> String {
    let normalized = crate::normalize::text::normalize_text(s);
    let mut key = String::with_capacity(normalized.len());
    for w in normalized.split_whitespace() {
        if !key.is_empty() {
            key.push(' ');
        }
        key.push_str(w);
    }
    key.make_ascii_lowercase();
    key
}

fn ends_on_boundary(text: &str, end: usize) -> bool {
    !text[end..].chars().next().is_some_and(is_word_char)
}

/// Normalizes a name or exclude word for matching (as article text is normalized, then
/// whitespace folded).
/// A list as loaded: its name, file and size (the entries themselves are compiled).
#[derive(Debug, Clone, PartialEq)]
pub struct ListInfo {
    /// List name (the file name without its extension).
    pub name: String,
    /// The file it was read from.
    pub path: String,
    /// Number of entries.
    pub entries: usize,
}

/// Compiled lists, ready to match.
#[derive(Debug, Default)]
pub struct Watchlists {
    infos: Vec<ListInfo>,
    /// Interned list names and types.
    list_names: Vec<Arc<str>>,
    kinds: Vec<Arc<str>>,
    /// Ids, names and tags of every entry, back to back.
    arena: String,
    /// (offset, length) in `arena` of names and tags.
    spans: Vec<(u32, u32)>,
    targets: Vec<Target>,
    names: Option<Automaton>,
    excludes: Option<Automaton>,
}

impl Watchlists {
    /// Compiles validated lists (consuming them: a million entries are not kept twice).
    pub fn compile(lists: Vec<List>) -> Result<Watchlists, WatchlistError> {
        let keyed = lists
            .into_iter()
            .map(|l| {
                let keys = l
                    .entries
                    .iter()
                    .map(|e| Keys {
                        names: e.names.iter().map(|n| match_key(n)).collect(),
                        exclude: e.exclude.iter().map(|x| match_key(x)).collect(),
                    })
                    .collect();
                (l, keys)
            })
            .collect();
        Watchlists::compile_keyed(keyed)
    }

    /// Compiles lists whose match keys are known (computed while validating them).
    fn compile_keyed(lists: Vec<(List, Vec<Keys>)>) -> Result<Watchlists, WatchlistError> {
        let mut w = Watchlists::default();
        let mut names = Vec::new();
        let mut excludes = Vec::new();
        let mut kind_ids = std::collections::HashMap::new();
        let put = |arena: &mut String, s: &str| -> Result<(u32, u32), WatchlistError> {
            let at = u32::try_from(arena.len())
                .map_err(|_| WatchlistError::Build("over 4 GB of names".into()))?;
            arena.push_str(s);
            Ok((at, s.len() as u32))
        };
        for (list, keys) in lists {
            w.infos.push(ListInfo {
                name: list.name.clone(),
                path: list.path,
                entries: list.entries.len(),
            });
            let list_id = w.list_names.len() as u32;
            w.list_names.push(Arc::from(list.name));
            for (e, k) in list.entries.into_iter().zip(keys) {
                let t = w.targets.len() as u32;
                let kind = match kind_ids.get(&e.kind) {
                    Some(&k) => k,
                    None => {
                        w.kinds.push(Arc::from(e.kind.as_str()));
                        let k = w.kinds.len() as u32 - 1;
                        kind_ids.insert(e.kind.clone(), k);
                        k
                    }
                };
                let id = put(&mut w.arena, &e.id)?;
                let first = w.spans.len() as u32;
                for (i, (n, key)) in e.names.iter().zip(k.names).enumerate() {
                    names.push((key, (t, i as u32)));
                    let span = put(&mut w.arena, n)?;
                    w.spans.push(span);
                }
                let first_tag = w.spans.len() as u32;
                for tag in &e.tags {
                    let span = put(&mut w.arena, tag)?;
                    w.spans.push(span);
                }
                for key in k.exclude {
                    excludes.push((key, (t, 0)));
                }
                w.targets.push(Target {
                    list: list_id,
                    kind,
                    id,
                    names: (first, e.names.len() as u32),
                    tags: (first_tag, e.tags.len() as u32),
                    has_exclude: !e.exclude.is_empty(),
                });
            }
        }
        w.names = Automaton::build(names)?;
        w.excludes = Automaton::build(excludes)?;
        Ok(w)
    }

    /// Reads, validates and compiles list files.
    pub fn from_files(paths: &[String]) -> Result<Watchlists, WatchlistError> {
        let lists = paths
            .iter()
            .map(|p| load::load_keyed(std::path::Path::new(p)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut seen = std::collections::HashSet::new();
        for (l, _) in &lists {
            if !seen.insert(l.name.clone()) {
                return Err(WatchlistError::DuplicateList {
                    name: l.name.clone(),
                    path: l.path.clone(),
                });
            }
        }
        let compiled = Watchlists::compile_keyed(lists);
        release_freed_memory();
        compiled
    }

    /// The lists: name, file, number of entries.
    pub fn lists(&self) -> &[ListInfo] {
        &self.infos
    }

    /// Number of entries over all lists.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Approximate heap size of the compiled lists in bytes.
    pub fn memory_bytes(&self) -> usize {
        let automaton = |a: &Option<Automaton>| a.as_ref().map_or(0, Automaton::memory_bytes);
        self.arena.len()
            + self.spans.len() * 8
            + self.targets.len() * std::mem::size_of::<Target>()
            + automaton(&self.names)
            + automaton(&self.excludes)
    }

    fn text(&self, (at, len): (u32, u32)) -> &str {
        &self.arena[at as usize..(at + len) as usize]
    }

    /// The hits in one normalized field, in text order; `entities` are the tagger's
    /// entities of the article (their index is recorded for overlapping hits).
    pub fn find_in(&self, text: &str, field: Field, entities: &[Entity], out: &mut Vec<Hit>) {
        let Some(names) = &self.names else { return };
        // Candidates: (start, end, target, name index), bytes.
        let mut cands: Vec<(usize, usize, u32, u32)> = Vec::new();
        for (p, s, e) in names.matches(text) {
            for &(t, k) in names.owners(p) {
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
                .flat_map(|(p, s, e)| x.owners(p).iter().map(move |&(t, _)| (s, e, t)))
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
            let (t0, tn) = target.tags;
            out.push(Hit {
                list: Arc::clone(&self.list_names[target.list as usize]),
                id: Arc::from(self.text(target.id)),
                kind: Arc::clone(&self.kinds[target.kind as usize]),
                name: Arc::from(self.text(self.spans[(target.names.0 + k) as usize])),
                field,
                start,
                end,
                text: text[s..e].to_string(),
                entity,
                tags: (t0..t0 + tn)
                    .map(|i| self.text(self.spans[i as usize]).to_string())
                    .collect(),
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
        use crate::tag::{Component, EntityType};
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
