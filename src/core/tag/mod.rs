//! Entity-tagging stage: finds persons, organisations, places and other entities in the
//! normalized title and body, with character offsets, canonical forms and provenance.

pub mod bmes;
pub mod canonical;
pub mod clusters;
pub mod crf;
pub mod dates;
pub mod english;
pub mod eval;
pub mod features;
pub mod gazetteer;
pub mod model;
pub mod train;

use crate::core::segment::{prefix_splits, tokenize, Token};
use chrono::NaiveDate;
use features::{gaz_tag, hash_bytes, tok_info, GazTag, TokInfo};
use gazetteer::{Gazetteer, GazetteerMatch};
use model::{split_label, Model, Pos, Scratch, N_LABELS};
use serde::Serialize;
use std::path::Path;

/// Errors loading tagger resources.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    /// A gazetteer line is malformed.
    #[error("gazetteer line {line}: {message}")]
    Gazetteer {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A resource file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The model file is malformed.
    #[error("NER model: {0}")]
    Model(String),
    /// A word-cluster line is malformed.
    #[error("word clusters line {line}: {message}")]
    Clusters {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Entity types: the NEMO scheme plus BMC's temporal and numeric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub enum EntityType {
    /// Person.
    PER,
    /// Organisation.
    ORG,
    /// Geo-political entity (country, city, state).
    GPE,
    /// Non-GPE location (region, river, mountain).
    LOC,
    /// Facility (building, airport, road).
    FAC,
    /// Event.
    EVE,
    /// Work of art (book, film, song).
    WOA,
    /// Product ("DUC").
    DUC,
    /// Language ("ANG").
    ANG,
    /// Date expression.
    DATE,
    /// Time of day.
    TIME,
    /// Monetary amount.
    MONEY,
    /// Percentage.
    PERCENT,
}

impl EntityType {
    /// All types, for metrics and docs.
    pub const ALL: [EntityType; 13] = [
        EntityType::PER,
        EntityType::ORG,
        EntityType::GPE,
        EntityType::LOC,
        EntityType::FAC,
        EntityType::EVE,
        EntityType::WOA,
        EntityType::DUC,
        EntityType::ANG,
        EntityType::DATE,
        EntityType::TIME,
        EntityType::MONEY,
        EntityType::PERCENT,
    ];

    /// The type's code.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::PER => "PER",
            EntityType::ORG => "ORG",
            EntityType::GPE => "GPE",
            EntityType::LOC => "LOC",
            EntityType::FAC => "FAC",
            EntityType::EVE => "EVE",
            EntityType::WOA => "WOA",
            EntityType::DUC => "DUC",
            EntityType::ANG => "ANG",
            EntityType::DATE => "DATE",
            EntityType::TIME => "TIME",
            EntityType::MONEY => "MONEY",
            EntityType::PERCENT => "PERCENT",
        }
    }

    /// Parses a type code.
    pub fn parse(s: &str) -> Option<EntityType> {
        EntityType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Which component found an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// The statistical sequence model.
    Model,
    /// A gazetteer lookup.
    Gazetteer,
    /// A hand-written rule (dates, amounts, titles).
    Rule,
}

/// Which text field an entity's offsets refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The normalized `title`.
    Title,
    /// The normalized `body`.
    Body,
}

/// One entity mention.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    /// Entity type.
    #[serde(rename = "type")]
    pub kind: EntityType,
    /// Surface text, exactly `field[start..end]` (characters).
    pub text: String,
    /// Field the offsets refer to.
    pub field: Field,
    /// Start character offset (Unicode scalar values) into the normalized field.
    pub start: usize,
    /// End character offset (exclusive).
    pub end: usize,
    /// Canonical form shared by spelling variants and aliases.
    pub canonical: String,
    /// Wikidata id when the gazetteer knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wikidata: Option<String>,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// Component that found it.
    pub source: Component,
    /// Resolved value: ISO 8601 date (`2025-08-20`) or month (`2023-03`) for dates;
    /// absent when the expression is ambiguous or has no anchor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The tagger with its loaded resources, shared read-only by all workers.
#[derive(Debug)]
pub struct Tagger {
    gazetteer: Gazetteer,
    model: Model,
}

/// The gazetteer shipped in the binary.
pub const BUILTIN_GAZETTEER: &str = include_str!("../../../models/gazetteer.tsv");

/// The sequence model shipped in the binary (`newsflow train-ner` writes it).
pub const BUILTIN_MODEL: &[u8] = include_bytes!("../../../models/ner.bin");

/// Gazetteer tags (B/I/E/S + type) of pre-split words, longest match first.
pub fn gaz_tags_for_words(gaz: &Gazetteer, words: &[&str]) -> Vec<GazTag> {
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
    gaz_scan(gaz, &tokens, &mut tags);
    tags
}

/// Longest-match gazetteer scan; fills `tags` and returns the matches.
fn gaz_scan(gaz: &Gazetteer, tokens: &[Token<'_>], tags: &mut [GazTag]) -> Vec<GazetteerMatch> {
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

/// Sentence-like chunks of a token sequence for decoding: a chunk ends after `.`, `!`,
/// `?` or before a line break, and is at most 250 tokens long.
pub fn chunks(text: &str, tokens: &[Token<'_>]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..tokens.len() {
        let end_here = matches!(tokens[i].text, "." | "!" | "?")
            || i + 1 - start >= 250
            || tokens.get(i + 1).is_some_and(|n| {
                text[tokens[i].byte_start + tokens[i].text.len()..n.byte_start].contains('\n')
            });
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

/// Hebrew titles and ranks that precede names but are not part of them.
const TITLES: &[&str] = &[
    "נשיא",
    "הנשיא",
    "שר",
    "השר",
    "גנרל",
    "הגנרל",
    "אדמירל",
    "האדמירל",
    "יו\"ר",
    "מזכ\"ל",
    "ח\"כ",
    "עו\"ד",
    "ד\"ר",
    "פרופ'",
    "מנכ\"ל",
    "הרב",
    "השופט",
    "אלוף",
    "האלוף",
    "תא\"ל",
    "רא\"ל",
    "ניצב",
    "המלך",
    "הנסיך",
];

fn is_title(tok: &str) -> bool {
    TITLES.contains(&tok)
}

fn is_hebrew_letter(c: char) -> bool {
    ('\u{05D0}'..='\u{05EA}').contains(&c)
}

/// Reusable buffers of one `tag_field` call.
#[derive(Default)]
struct Buffers {
    infos: Vec<TokInfo>,
    emis: Vec<i32>,
    labels: Vec<u8>,
    scratch: Scratch<i32>,
}

impl Tagger {
    /// The tagger with the resources compiled into the binary.
    pub fn builtin() -> Result<Tagger, TagError> {
        Ok(Tagger {
            gazetteer: Gazetteer::parse(BUILTIN_GAZETTEER)?,
            model: Model::from_bytes(BUILTIN_MODEL)?,
        })
    }

    /// A tagger from explicit resources.
    pub fn new(gazetteer: Gazetteer, model: Model) -> Tagger {
        Tagger { gazetteer, model }
    }

    /// A tagger whose gazetteer is read from a file (and the built-in model).
    pub fn with_gazetteer_file(path: &Path) -> Result<Tagger, TagError> {
        let text = std::fs::read_to_string(path).map_err(|source| TagError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Tagger::new(
            Gazetteer::parse(&text)?,
            Model::from_bytes(BUILTIN_MODEL)?,
        ))
    }

    /// Number of gazetteer entries (for start-up logs).
    pub fn gazetteer_len(&self) -> usize {
        self.gazetteer.len()
    }

    /// The gazetteer.
    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }

    /// The sequence model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Characters of Hebrew prefix letters outside an entity that starts with `tok`.
    pub fn prefix_chars(&self, tok: &str) -> usize {
        if !tok.chars().next().is_some_and(is_hebrew_letter) {
            return 0;
        }
        let splits: Vec<(&str, &str)> = prefix_splits(tok).skip(1).collect();
        if splits.is_empty() {
            return 0;
        }
        if let Some(k) = self.model.known_prefix_len(hash_bytes(1, tok.as_bytes())) {
            return if k == 0 {
                0
            } else {
                splits
                    .get(usize::from(k) - 1)
                    .map_or(0, |(p, _)| p.chars().count())
            };
        }
        for (p, stem) in &splits {
            if self.model.known_prefix_len(hash_bytes(1, stem.as_bytes())) == Some(0) {
                return p.chars().count();
            }
        }
        let f_tok = self.model.word_freq(hash_bytes(1, tok.as_bytes()));
        for (p, stem) in &splits {
            let f = self.model.word_freq(hash_bytes(1, stem.as_bytes()));
            if f >= 3 && f >= 4 * f_tok {
                return p.chars().count();
            }
        }
        if f_tok >= 3 {
            return 0;
        }
        // Unknown word: ו, ב and ל at the start of an entity token are prefixes more often
        // than not (65–80% in NEMO train); מ, ש, כ, ה are not.
        let mut k = 0;
        for (p, stem) in &splits {
            let last = p.chars().last().unwrap_or(' ');
            if matches!(last, 'ו' | 'ב' | 'ל')
                && stem.chars().count() >= 3
                && p.chars().count() == k + 1
            {
                k += 1;
            } else {
                break;
            }
        }
        k
    }

    /// Tags one normalized field, appending entities to `out`. `anchor` is the article's
    /// date for resolving relative dates. Long fields are tagged in windows (see
    /// [`WINDOW_BYTES`]) so the cost stays linear in the length of the text.
    pub fn tag_field_at(
        &self,
        text: &str,
        field: Field,
        anchor: Option<NaiveDate>,
        out: &mut Vec<Entity>,
    ) {
        let mut byte = 0;
        let mut chars = 0;
        while byte < text.len() {
            let end = window_end(text, byte);
            let window = &text[byte..end];
            let first = out.len();
            self.tag_window(window, field, anchor, out);
            for e in &mut out[first..] {
                e.start += chars;
                e.end += chars;
            }
            chars += window.chars().count();
            byte = end;
        }
    }

    /// Tags one window of a field (offsets relative to `text`).
    fn tag_window(
        &self,
        text: &str,
        field: Field,
        anchor: Option<NaiveDate>,
        out: &mut Vec<Entity>,
    ) {
        let tokens = tokenize(text);
        let mut gtags = vec![0; tokens.len()];
        let gaz_matches = gaz_scan(&self.gazetteer, &tokens, &mut gtags);
        let mut buf = Buffers::default();
        let first_new = out.len();
        // Model entities (English chunks: capitalisation rules instead of the model).
        let mut covered = vec![false; tokens.len()];
        for m in &gaz_matches {
            if !m.weak {
                covered[m.first..m.last].iter_mut().for_each(|c| *c = true);
            }
        }
        let mut last_names: Vec<&str> = Vec::new();
        for m in &gaz_matches {
            if m.last - m.first >= 2 && self.gazetteer.entry(m.entry).kind == EntityType::PER {
                last_names.push(tokens[m.last - 1].text);
            }
        }
        for (a, b) in chunks(text, &tokens) {
            if english::is_english(&tokens[a..b]) {
                for sp in
                    english::spans(&tokens, a, b, &covered, &last_names, field == Field::Title)
                {
                    if sp.kind == EntityType::PER && sp.last - sp.first >= 2 {
                        last_names.push(tokens[sp.last - 1].text);
                    }
                    self.push_span(text, &tokens, sp.first, sp.last, sp.kind, field, out);
                    if let Some(e) = out.last_mut() {
                        e.source = Component::Rule;
                        e.confidence = sp.confidence;
                    }
                }
                continue;
            }
            buf.infos.clear();
            buf.infos.extend(
                tokens[a..b]
                    .iter()
                    .zip(&gtags[a..b])
                    .map(|(t, &g)| tok_info(t.text, g, self.model.clusters())),
            );
            self.model.emissions(&buf.infos, &mut buf.emis);
            self.model
                .decode(&buf.emis, &mut buf.scratch, &mut buf.labels);
            let mut i = 0;
            while i < buf.labels.len() {
                let (pos, kind) = split_label(buf.labels[i]);
                let Some(kind) = kind else {
                    i += 1;
                    continue;
                };
                let start = i;
                let mut end = i + 1;
                if pos == Pos::B {
                    while end < buf.labels.len() && split_label(buf.labels[end - 1]).0 != Pos::E {
                        end += 1;
                    }
                }
                let margin = (start..end)
                    .map(|j| {
                        let row = &buf.emis[j * N_LABELS..(j + 1) * N_LABELS];
                        // Margin over the best label of another type (or O): how sure
                        // the model is of the entity and its type, not of B vs S.
                        let l = usize::from(buf.labels[j]);
                        let kind_of = |k: usize| split_label(k as u8).1;
                        let other = row
                            .iter()
                            .enumerate()
                            .filter(|&(k, _)| kind_of(k) != kind_of(l))
                            .map(|(_, &v)| v)
                            .max()
                            .unwrap_or(0);
                        row[l] - other
                    })
                    .min()
                    .unwrap_or(0);
                // Confidence: the mean of the least certain token's margin and the path
                // margin of the whole span (ner-eval prints how precision follows it).
                let path = self.model.span_margin(&buf.emis, &buf.labels, start, end);
                let margin = (margin + path) / 2;
                let confidence = 1.0 / (1.0 + (-(margin as f32) * self.model.scale).exp());
                // Titles are not part of names: `גנרל ארה"ב` is ארה"ב after a title.
                let mut start = start;
                if end - start >= 2 && is_title(tokens[a + start].text) {
                    start += 1;
                }
                self.push_span(text, &tokens, a + start, a + end, kind, field, out);
                if let Some(e) = out.last_mut() {
                    e.confidence = (confidence * 100.0).round() / 100.0;
                }
                i = end;
            }
        }
        // Model entities made of two or more known names (פוטין וזלנסקי) give way to the
        // gazetteer's entities.
        let mut j = first_new;
        while j < out.len() {
            let (s0, e0) = (out[j].start, out[j].end);
            let inside: Vec<&GazetteerMatch> = gaz_matches
                .iter()
                .filter(|m| {
                    !m.weak
                        && tokens[m.first].start >= s0.saturating_sub(3)
                        && tokens[m.first].start < e0
                        && tokens[m.last - 1].end <= e0
                })
                .collect();
            let first_tok = tokens.partition_point(|t| t.end <= s0);
            let last_tok = tokens.partition_point(|t| t.start < e0);
            let words = (first_tok..last_tok).filter(|&k| tokens[k].is_word).count();
            let covered: usize = inside
                .iter()
                .map(|m| (m.first..m.last).filter(|&k| tokens[k].is_word).count())
                .sum();
            let split = inside.len() >= 2 && covered == words;
            if out[j].source == Component::Model && split {
                out.remove(j);
                continue;
            }
            j += 1;
        }
        // Gazetteer: canonical forms for model entities, and entities the model missed.
        for m in &gaz_matches {
            let entry = self.gazetteer.entry(m.entry);
            let g_start = tokens[m.first].start + m.prefix_chars;
            let g_end = tokens[m.last - 1].end - m.suffix_chars;
            let overlapping = out[first_new..]
                .iter_mut()
                .filter(|e| e.start < g_end && g_start < e.end)
                .collect::<Vec<_>>();
            if overlapping.is_empty() {
                // Ambiguous aliases, and prefix readings of frequent words (מכיוון is not
                // מ+כ+יוון), need the model's agreement.
                let tok = tokens[m.first].text;
                let stem_chars = tok.chars().count() - m.prefix_chars;
                if m.weak
                    || (m.prefix_chars > 0
                        && self.model.word_freq(hash_bytes(1, tok.as_bytes())) >= 2)
                    || (m.prefix_chars >= 2 && m.last - m.first == 1 && stem_chars <= 4)
                {
                    continue;
                }
                self.push_span(text, &tokens, m.first, m.last, entry.kind, field, out);
                if let Some(e) = out.last_mut() {
                    e.source = Component::Gazetteer;
                    e.confidence = 0.9;
                    e.end = g_end;
                    // The gazetteer knows its prefix split.
                    let byte_start = char_to_byte(text, &tokens, g_start);
                    e.start = g_start;
                    e.text = text[byte_start..char_to_byte(text, &tokens, g_end)].to_string();
                    e.canonical = entry.canonical.clone();
                    e.wikidata = entry.wikidata.clone();
                }
                continue;
            }
            let inside = overlapping
                .iter()
                .all(|e| g_start <= e.start && e.end <= g_end);
            if inside
                && !m.weak
                && overlapping
                    .iter()
                    .any(|e| e.end < g_end || g_start < e.start)
            {
                // The model found part of a known name: the gazetteer span wins.
                let bs = char_to_byte(text, &tokens, g_start);
                let replacement = Entity {
                    kind: entry.kind,
                    text: text[bs..char_to_byte(text, &tokens, g_end)].to_string(),
                    field,
                    start: g_start,
                    end: g_end,
                    canonical: entry.canonical.clone(),
                    wikidata: entry.wikidata.clone(),
                    confidence: 0.9,
                    source: Component::Gazetteer,
                    value: None,
                };
                let keep: Vec<Entity> = out
                    .drain(first_new..)
                    .filter(|e| !(e.start < g_end && g_start < e.end))
                    .collect();
                out.extend(keep);
                out.push(replacement);
                continue;
            }
            for e in overlapping {
                if e.end == g_end && e.start <= g_start && e.start >= tokens[m.first].start {
                    // Same entity (the gazetteer may know the prefix split better).
                    if e.start < g_start {
                        let byte_start = char_to_byte(text, &tokens, g_start);
                        e.start = g_start;
                        e.text = text[byte_start..char_to_byte(text, &tokens, g_end)].to_string();
                    }
                    e.canonical = entry.canonical.clone();
                    e.wikidata = entry.wikidata.clone();
                    e.confidence = e.confidence.max(0.95);
                }
            }
        }
        // Rules: dates, times, amounts, with resolved values.
        for r in dates::find(text, &tokens, anchor) {
            // A model entity of another type inside a date expression (a weekday read as a
            // name: `אתמול (רביעי)`) gives way to the rule.
            let mut k = first_new;
            while k < out.len() {
                let e = &out[k];
                if e.source == Component::Model
                    && !matches!(e.kind, EntityType::DATE | EntityType::TIME)
                    && matches!(r.kind, EntityType::DATE | EntityType::TIME)
                    && r.start <= e.start
                    && e.end <= r.end
                {
                    out.remove(k);
                } else {
                    k += 1;
                }
            }
            let mut covered = false;
            for e in out[first_new..].iter_mut() {
                if e.start < r.end && r.start < e.end {
                    covered = true;
                    let temporal = matches!(e.kind, EntityType::DATE | EntityType::TIME);
                    if temporal && matches!(r.kind, EntityType::DATE | EntityType::TIME) {
                        // The rule's span and value win for dates and times.
                        let bs = char_to_byte(text, &tokens, r.start);
                        let be = char_to_byte(text, &tokens, r.end);
                        e.start = r.start;
                        e.end = r.end;
                        e.text = text[bs..be].to_string();
                        e.canonical.clone_from(&e.text);
                        e.kind = r.kind;
                        e.value.clone_from(&r.value);
                        e.confidence = e.confidence.max(0.8);
                    } else if e.kind == r.kind && e.value.is_none() {
                        e.value.clone_from(&r.value);
                    }
                }
            }
            if !covered {
                let bs = char_to_byte(text, &tokens, r.start);
                let be = char_to_byte(text, &tokens, r.end);
                out.push(Entity {
                    kind: r.kind,
                    text: text[bs..be].to_string(),
                    field,
                    start: r.start,
                    end: r.end,
                    canonical: r.value.clone().unwrap_or_else(|| text[bs..be].to_string()),
                    wikidata: None,
                    confidence: 0.8,
                    source: Component::Rule,
                    value: r.value,
                });
            }
        }
        for e in &mut out[first_new..] {
            if let (Some(v), true) = (&e.value, e.canonical == e.text) {
                e.canonical = v.clone();
            }
        }
        out[first_new..].sort_by_key(|e| (e.start, e.end));
    }

    /// Pushes an entity for tokens `[first, last)` with the prefix of the first token
    /// outside the span.
    #[allow(clippy::too_many_arguments)]
    fn push_span(
        &self,
        text: &str,
        tokens: &[Token<'_>],
        first: usize,
        last: usize,
        kind: EntityType,
        field: Field,
        out: &mut Vec<Entity>,
    ) {
        let t = &tokens[first];
        let pc = self.prefix_chars(t.text);
        let byte_start = t.byte_start + t.text.char_indices().nth(pc).map_or(0, |(b, _)| b);
        let end_tok = &tokens[last - 1];
        let byte_end = end_tok.byte_start + end_tok.text.len();
        let surface = &text[byte_start..byte_end];
        out.push(Entity {
            kind,
            text: surface.to_string(),
            field,
            start: t.start + pc,
            end: end_tok.end,
            canonical: surface.to_string(),
            wikidata: None,
            confidence: 0.5,
            source: Component::Model,
            value: None,
        });
    }

    /// Tags one normalized field without a date anchor.
    pub fn tag_field(&self, text: &str, field: Field, out: &mut Vec<Entity>) {
        self.tag_field_at(text, field, None, out);
    }

    /// Tags title and body (no date anchor).
    pub fn tag(&self, title: &str, body: &str) -> Vec<Entity> {
        self.tag_article(title, body, None)
    }

    /// Tags title and body; relative dates are resolved against `published` (the
    /// article's date), and person names are unified across the article.
    pub fn tag_article(
        &self,
        title: &str,
        body: &str,
        published: Option<NaiveDate>,
    ) -> Vec<Entity> {
        let mut out = Vec::new();
        self.tag_field_at(title, Field::Title, published, &mut out);
        self.tag_field_at(body, Field::Body, published, &mut out);
        canonical::unify(&mut out);
        out
    }
}

/// Fields longer than this many bytes are tagged in windows that end at a paragraph break
/// (else a sentence end, else a space). Merging the model's, the gazetteer's and the rules'
/// entities compares the entities of a window with each other, which must not grow with
/// the square of a 10 MB body; ordinary articles fit one window.
pub const WINDOW_BYTES: usize = 32 * 1024;

/// End (byte offset) of the tagging window of `text` that starts at byte `from`.
fn window_end(text: &str, from: usize) -> usize {
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
fn char_to_byte(text: &str, tokens: &[Token<'_>], chars: usize) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn tagger() -> Tagger {
        Tagger::builtin().expect("builtin gazetteer parses")
    }

    fn chars(s: &str, start: usize, end: usize) -> String {
        s.chars().skip(start).take(end - start).collect()
    }

    #[test]
    fn char_to_byte_matches_a_scan_from_the_start() {
        let text = "ראש הממשלה, נפגש  עם Macron ב-Paris!  e\u{301}x ";
        let tokens = tokenize(text);
        for c in 0..=text.chars().count() {
            let naive = text.char_indices().nth(c).map_or(text.len(), |(b, _)| b);
            assert_eq!(char_to_byte(text, &tokens, c), naive, "char {c}");
        }
    }

    #[test]
    fn long_fields_are_tagged_in_windows_with_offsets_into_the_field() {
        let t = tagger();
        let para = "ראש הממשלה נפגש היום בירושלים עם שר החוץ של צרפת ועם נציגי נאט\"ו.\n";
        let text = para.repeat(2 * WINDOW_BYTES / para.len() + 7);
        assert!(text.len() > 2 * WINDOW_BYTES);
        let mut alone = Vec::new();
        t.tag_field_at(para, Field::Body, None, &mut alone);
        assert!(alone.len() >= 2, "{alone:?}");
        let mut out = Vec::new();
        t.tag_field_at(&text, Field::Body, None, &mut out);
        assert_eq!(out.len(), alone.len() * text.matches(para).count());
        for e in &out {
            assert_eq!(chars(&text, e.start, e.end), e.text);
        }
        let canon: BTreeSet<&str> = out.iter().map(|e| e.canonical.as_str()).collect();
        let canon_alone: BTreeSet<&str> = alone.iter().map(|e| e.canonical.as_str()).collect();
        assert_eq!(canon, canon_alone);
    }

    #[test]
    fn window_ends_prefer_paragraphs_then_sentences_then_spaces() {
        let p = "a".repeat(WINDOW_BYTES - 100) + "\n" + &"b ".repeat(200);
        assert_eq!(window_end(&p, 0), WINDOW_BYTES - 99);
        let s = "c. ".repeat(WINDOW_BYTES);
        assert_eq!(&s[..window_end(&s, 0)].chars().last(), &Some(' '));
        let w = "ש".repeat(WINDOW_BYTES);
        let end = window_end(&w, 0);
        assert!(w.is_char_boundary(end) && end <= WINDOW_BYTES && end > 0);
    }

    #[test]
    fn prefix_letters_are_outside_the_span() {
        let text = "השר נסע לקייב, ובוושינגטון דיברו על נאט\"ו";
        let ents = tagger().tag("", text);
        let kyiv = ents
            .iter()
            .find(|e| e.canonical == "Kyiv")
            .expect("Kyiv found");
        assert_eq!(kyiv.text, "קייב");
        assert_eq!(chars(text, kyiv.start, kyiv.end), "קייב");
        assert_eq!(kyiv.kind, EntityType::GPE);
        let dc = ents
            .iter()
            .find(|e| e.canonical == "Washington, D.C.")
            .unwrap();
        assert_eq!(dc.text, "וושינגטון");
        let nato = ents.iter().find(|e| e.canonical == "NATO").unwrap();
        assert_eq!(nato.wikidata.as_deref(), Some("Q7184"));
    }

    #[test]
    fn aliases_share_a_canonical_form() {
        let t = tagger();
        let a = t.tag("", "ארה\"ב");
        let b = t.tag("", "ארצות הברית");
        let c = t.tag("", "the United States");
        assert_eq!(a[0].canonical, "United States");
        assert_eq!(b[0].canonical, "United States");
        assert_eq!(c[0].canonical, "United States");
        assert_eq!(b[0].text, "ארצות הברית");
    }

    #[test]
    fn every_gazetteer_line_is_valid() {
        assert!(tagger().gazetteer_len() > 50);
        assert!(Gazetteer::parse("PER\tX\t-\n").is_err());
        assert!(Gazetteer::parse("XXX\tX\t-\tx\n").is_err());
    }
}
