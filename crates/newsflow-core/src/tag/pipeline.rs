//! The tagging pipeline both tiers share. Only the sequence labeller differs between the
//! fast and the accurate tier; the rest is common, so both emit the same entities for the
//! same reading: tokenize a window, scan the gazetteer, label each sentence-like chunk
//! (English chunks by capitalisation rules, others by the tier's [`Labeler`]), then merge
//! the model's, the gazetteer's and the rules' entities (`merge.rs`).

pub use super::entity::Span;
use super::entity::{Component, Entity, EntityType, Field};
use super::gazetteer::GazTag;
use super::gazetteer::{self, Gazetteer, GazetteerMatch};
use super::lexicon::Lexicon;
use super::names::is_title;
use super::window::{chunks, window_end, Window};
use super::{english, merge, Kernel, Tagger, Tier};
use crate::segment::tokenize;
use chrono::NaiveDate;
use std::sync::Arc;

/// The part of tagging that differs between tiers: reads the words of one sentence-like
/// chunk (with their gazetteer tags) and appends the entity spans it finds.
pub trait Labeler: Send + Sync + std::fmt::Debug {
    /// Labels one chunk; spans are chunk-relative token ranges.
    fn spans(&self, words: &[&str], gaz: &[GazTag], out: &mut Vec<Span>);

    /// How the labeller computes, for start-up logs.
    fn kernel(&self) -> Kernel;

    /// Its model in one line (size, features, training notes), for evaluations.
    fn describe(&self) -> String;
}

/// The shared pipeline around a tier's labeller.
#[derive(Debug)]
pub struct Pipeline<L> {
    tier: Tier,
    gazetteer: Gazetteer,
    /// Prefix and frequency tables (prefix letters of entity starts, and whether a
    /// gazetteer match behind a prefix is a real word).
    lexicon: Arc<Lexicon>,
    labeler: L,
    /// The labeller of the part of a field past `full_bytes` (a slow tier's bound on the
    /// work one huge field can cause), if any.
    fallback: Option<(usize, Box<dyn Labeler>)>,
}

impl<L: Labeler> Pipeline<L> {
    /// A pipeline from its resources.
    pub fn new(tier: Tier, gazetteer: Gazetteer, lexicon: Arc<Lexicon>, labeler: L) -> Self {
        Pipeline {
            tier,
            gazetteer,
            lexicon,
            labeler,
            fallback: None,
        }
    }

    /// Windows of a field that start at or after byte `full_bytes` are labelled by
    /// `fallback` instead of the tier's labeller.
    pub fn with_fallback(mut self, full_bytes: usize, fallback: Box<dyn Labeler>) -> Self {
        self.fallback = Some((full_bytes, fallback));
        self
    }

    /// The gazetteer.
    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }

    /// The tables used for prefix decisions.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// The tier's labeller.
    pub fn labeler(&self) -> &L {
        &self.labeler
    }

    /// Tags one window of a field (offsets relative to `text`) with `labeler`.
    fn tag_window(
        &self,
        labeler: &dyn Labeler,
        text: &str,
        field: Field,
        anchor: Option<NaiveDate>,
        out: &mut Vec<Entity>,
    ) {
        let tokens = tokenize(text);
        let w = Window {
            text,
            tokens: &tokens,
            field,
            lexicon: &self.lexicon,
        };
        let mut gtags = vec![0; tokens.len()];
        let gaz_matches = gazetteer::scan(&self.gazetteer, &tokens, &mut gtags);
        let first_new = out.len();
        self.label_chunks(labeler, &w, &gtags, &gaz_matches, out);
        merge::drop_spans_made_of_known_names(&w, &gaz_matches, first_new, out);
        merge::apply_gazetteer(&w, &self.gazetteer, &gaz_matches, first_new, out);
        merge::apply_rules(&w, anchor, first_new, out);
        merge::finish(first_new, out);
    }

    /// Model entities of every chunk: English chunks by capitalisation rules, the others
    /// by the tier's labeller (titles before a name are cut off the span).
    fn label_chunks(
        &self,
        labeler: &dyn Labeler,
        w: &Window<'_>,
        gtags: &[GazTag],
        gaz_matches: &[GazetteerMatch],
        out: &mut Vec<Entity>,
    ) {
        let tokens = w.tokens;
        let mut covered = vec![false; tokens.len()];
        let mut last_names: Vec<&str> = Vec::new();
        for m in gaz_matches {
            if !m.weak {
                covered[m.first..m.last].iter_mut().for_each(|c| *c = true);
            }
            if m.last - m.first >= 2 && self.gazetteer.entry(m.entry).kind == EntityType::PER {
                last_names.push(tokens[m.last - 1].text);
            }
        }
        let mut words: Vec<&str> = Vec::new();
        let mut spans: Vec<Span> = Vec::new();
        for (a, b) in chunks(w.text, tokens) {
            if english::is_english(&tokens[a..b]) {
                let title = w.field == Field::Title;
                for sp in english::spans(tokens, a, b, &covered, &last_names, title) {
                    if sp.kind == EntityType::PER && sp.last - sp.first >= 2 {
                        last_names.push(tokens[sp.last - 1].text);
                    }
                    let mut e = w.entity(sp.first, sp.last, sp.kind);
                    e.source = Component::Rule;
                    e.confidence = sp.confidence;
                    out.push(e);
                }
                continue;
            }
            words.clear();
            words.extend(tokens[a..b].iter().map(|t| t.text));
            spans.clear();
            labeler.spans(&words, &gtags[a..b], &mut spans);
            for sp in &spans {
                // Titles are not part of names: `גנרל ארה"ב` is ארה"ב after a title.
                let mut first = sp.first;
                if sp.last - first >= 2 && is_title(words[first]) {
                    first += 1;
                }
                let mut e = w.entity(a + first, a + sp.last, sp.kind);
                e.confidence = (sp.confidence * 100.0).round() / 100.0;
                out.push(e);
            }
        }
    }
}

impl<L: Labeler> Tagger for Pipeline<L> {
    fn tier(&self) -> Tier {
        self.tier
    }

    fn kernel(&self) -> Kernel {
        self.labeler().kernel()
    }

    fn describe(&self) -> String {
        self.labeler().describe()
    }

    fn tag_field_at(
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
            let labeler: &dyn Labeler = match &self.fallback {
                Some((limit, fallback)) if byte >= *limit => fallback.as_ref(),
                _ => &self.labeler,
            };
            self.tag_window(labeler, window, field, anchor, out);
            for e in &mut out[first..] {
                e.start += chars;
                e.end += chars;
            }
            chars += window.chars().count();
            byte = end;
        }
    }
}
