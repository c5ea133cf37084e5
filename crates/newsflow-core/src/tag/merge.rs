//! The merge passes of a window, in the order the pipeline runs them: the labeller's
//! entities first, then what the gazetteer knows (canonical forms, Wikidata ids, names the
//! model missed or cut short), then the rules (dates, times, amounts, with values). Each
//! pass only touches the entities of the current window (`out[first_new..]`).

use super::entity::{Component, Entity, EntityType};
use super::gazetteer::{Gazetteer, GazetteerEntry, GazetteerMatch};
use super::hash::hash_bytes;
use super::rules;
use super::window::{char_to_byte, Window};
use chrono::NaiveDate;

/// Model entities made of two or more known names (פוטין וזלנסקי) give way to the
/// gazetteer's entities.
pub(crate) fn drop_spans_made_of_known_names(
    w: &Window<'_>,
    gaz_matches: &[GazetteerMatch],
    first_new: usize,
    out: &mut Vec<Entity>,
) {
    let tokens = w.tokens;
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
}

/// Gazetteer: canonical forms for model entities, known names the model cut short, and
/// entities the model missed (unless the alias is ambiguous or the prefix reading of a
/// frequent word).
pub(crate) fn apply_gazetteer(
    w: &Window<'_>,
    gazetteer: &Gazetteer,
    gaz_matches: &[GazetteerMatch],
    first_new: usize,
    out: &mut Vec<Entity>,
) {
    for m in gaz_matches {
        let first = w.tokens[m.first].text;
        let stem = first
            .char_indices()
            .nth(m.prefix_chars)
            .map_or("", |(b, _)| &first[b..]);
        let known = KnownName {
            w,
            m,
            entry: gazetteer.entry(m.entry),
            vouched: m.prefix_chars == 1 && gazetteer.is_intrinsic_he(stem),
            start: w.tokens[m.first].start + m.prefix_chars,
            end: w.tokens[m.last - 1].end,
        };
        let overlapping: Vec<usize> = (first_new..out.len())
            .filter(|&i| out[i].start < known.end && known.start < out[i].end)
            .collect();
        if overlapping.is_empty() {
            out.extend(known.missed_entity());
            continue;
        }
        let inside = overlapping
            .iter()
            .all(|&i| known.start <= out[i].start && out[i].end <= known.end);
        let partial = overlapping
            .iter()
            .any(|&i| out[i].end < known.end || known.start < out[i].start);
        if inside && !m.weak && partial {
            // The model found part of a known name: the gazetteer span wins.
            let keep: Vec<Entity> = out
                .drain(first_new..)
                .filter(|e| !(e.start < known.end && known.start < e.end))
                .collect();
            out.extend(keep);
            out.push(known.entity());
            continue;
        }
        for i in overlapping {
            known.refine(&mut out[i]);
        }
    }
}

/// One gazetteer match in a window: characters `[start, end)` (prefix letters and
/// suffixes outside).
struct KnownName<'w, 'a> {
    w: &'w Window<'a>,
    m: &'w GazetteerMatch,
    entry: &'w GazetteerEntry,
    /// One prefix letter before a name whose ה is its own (`=האג`): the gazetteer vouches
    /// for the reading, so a frequent prefixed word does not hold it back.
    vouched: bool,
    start: usize,
    end: usize,
}

impl KnownName<'_, '_> {
    fn text(&self) -> String {
        let (text, tokens) = (self.w.text, self.w.tokens);
        text[char_to_byte(text, tokens, self.start)..char_to_byte(text, tokens, self.end)]
            .to_string()
    }

    /// The known name as an entity of its own.
    fn entity(&self) -> Entity {
        Entity {
            kind: self.entry.kind,
            text: self.text(),
            field: self.w.field,
            start: self.start,
            end: self.end,
            canonical: self.entry.canonical.clone(),
            wikidata: self.entry.wikidata.clone(),
            confidence: 0.9,
            source: Component::Gazetteer,
            value: None,
        }
    }

    /// The entity the model missed, unless the match needs the model's agreement:
    /// ambiguous aliases, and prefix readings of frequent words (מכיוון is not מ+כ+יוון).
    fn missed_entity(&self) -> Option<Entity> {
        let m = self.m;
        let tok = self.w.tokens[m.first].text;
        let stem_chars = tok.chars().count() - m.prefix_chars;
        if m.weak
            || (m.prefix_chars > 0
                && !self.vouched
                && self.w.lexicon.word_freq(hash_bytes(1, tok.as_bytes())) >= 2)
            || (m.prefix_chars >= 2 && m.last - m.first == 1 && stem_chars <= 4)
        {
            return None;
        }
        let mut e = self.w.entity(m.first, m.last, self.entry.kind);
        // The gazetteer knows its prefix split.
        e.source = Component::Gazetteer;
        e.confidence = 0.9;
        e.start = self.start;
        e.end = self.end;
        e.text = self.text();
        e.canonical = self.entry.canonical.clone();
        e.wikidata = self.entry.wikidata.clone();
        Some(e)
    }

    /// A model entity that is this name (same end, starting within its first token)
    /// takes its canonical form, id and prefix split, and its type unless the alias is
    /// ambiguous.
    fn refine(&self, e: &mut Entity) {
        if e.end == self.end
            && e.start <= self.start
            && e.start >= self.w.tokens[self.m.first].start
        {
            // Behind prefix letters the known name may be a misreading of a surname
            // (בושוויץ is a person, not ב + שוויץ): a person whose span keeps those letters
            // stays the model's.
            if !self.m.weak
                && e.start < self.start
                && e.kind == EntityType::PER
                && self.entry.kind != EntityType::PER
            {
                return;
            }
            if e.start < self.start {
                e.start = self.start;
                e.text = self.text();
            }
            e.canonical = self.entry.canonical.clone();
            e.wikidata = self.entry.wikidata.clone();
            e.confidence = e.confidence.max(0.95);
            if !self.m.weak {
                // An unambiguous known name has one type: Switzerland is a GPE wherever
                // the model read it as a person, Telegram an organisation.
                e.kind = self.entry.kind;
            }
        }
    }
}

/// Rules: dates, times, amounts and percentages, with resolved values. A rule's date or
/// time wins over a model entity it covers (a weekday read as a name: `אתמול (רביעי)`).
pub(crate) fn apply_rules(
    w: &Window<'_>,
    anchor: Option<NaiveDate>,
    first_new: usize,
    out: &mut Vec<Entity>,
) {
    let (text, tokens) = (w.text, w.tokens);
    let temporal = |k: EntityType| matches!(k, EntityType::DATE | EntityType::TIME);
    for r in rules::find(tokens, anchor) {
        let (bs, be) = (
            char_to_byte(text, tokens, r.start),
            char_to_byte(text, tokens, r.end),
        );
        let mut covered = false;
        // The first model date or time the rule overlaps takes the rule's span; any other
        // (the model's `Jan.` and `2021` of `Jan. 5, 2021`) would repeat it, and goes, as
        // does a model name inside a rule's date.
        let mut widened = false;
        let mut k = first_new;
        while k < out.len() {
            let e = &mut out[k];
            if !(e.start < r.end && r.start < e.end) {
                k += 1;
                continue;
            }
            let name_inside_date = e.source == Component::Model
                && !temporal(e.kind)
                && temporal(r.kind)
                && r.start <= e.start
                && e.end <= r.end;
            let repeat = temporal(e.kind) && temporal(r.kind) && widened;
            if name_inside_date || repeat {
                out.remove(k);
                continue;
            }
            covered = true;
            if temporal(e.kind) && temporal(r.kind) {
                // The rule's span and value win for dates and times.
                widened = true;
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
            k += 1;
        }
        if !covered {
            out.push(Entity {
                kind: r.kind,
                text: text[bs..be].to_string(),
                field: w.field,
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
}

/// Resolved values as canonical forms, and the window's entities in text order.
pub(crate) fn finish(first_new: usize, out: &mut [Entity]) {
    for e in &mut out[first_new..] {
        if let (Some(v), true) = (&e.value, e.canonical == e.text) {
            e.canonical = v.clone();
        }
    }
    out[first_new..].sort_by_key(|e| (e.start, e.end));
}
