//! The merge passes of a window, in the order the pipeline runs them: the labeller's
//! entities first, then what the gazetteer knows (canonical forms, Wikidata ids, names the
//! model missed or cut short), then the rules (dates, times, amounts, with values). Each
//! pass only touches the entities of the current window (`out[first_new..]`).

use super::entity::{Component, Entity, EntityType};
use super::gazetteer::{Gazetteer, GazetteerMatch};
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
    let (text, tokens) = (w.text, w.tokens);
    let slice = |a: usize, b: usize| {
        text[char_to_byte(text, tokens, a)..char_to_byte(text, tokens, b)].to_string()
    };
    for m in gaz_matches {
        let entry = gazetteer.entry(m.entry);
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
                || (m.prefix_chars > 0 && w.lexicon.word_freq(hash_bytes(1, tok.as_bytes())) >= 2)
                || (m.prefix_chars >= 2 && m.last - m.first == 1 && stem_chars <= 4)
            {
                continue;
            }
            let mut e = w.entity(m.first, m.last, entry.kind);
            // The gazetteer knows its prefix split.
            e.source = Component::Gazetteer;
            e.confidence = 0.9;
            e.start = g_start;
            e.end = g_end;
            e.text = slice(g_start, g_end);
            e.canonical = entry.canonical.clone();
            e.wikidata = entry.wikidata.clone();
            out.push(e);
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
            let replacement = Entity {
                kind: entry.kind,
                text: slice(g_start, g_end),
                field: w.field,
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
                    e.start = g_start;
                    e.text = slice(g_start, g_end);
                }
                e.canonical = entry.canonical.clone();
                e.wikidata = entry.wikidata.clone();
                e.confidence = e.confidence.max(0.95);
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
        let mut k = first_new;
        while k < out.len() {
            let e = &out[k];
            if e.source == Component::Model
                && !temporal(e.kind)
                && temporal(r.kind)
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
                if temporal(e.kind) && temporal(r.kind) {
                    // The rule's span and value win for dates and times.
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
