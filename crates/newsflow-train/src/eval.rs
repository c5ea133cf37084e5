//! `ner-eval`: tags each sentence of a gold BIOSE file with the production tagger (the
//! same [`Tagger::tag_field_at`] the service runs), maps the entities back to the file's
//! tokens (a token takes an entity's tag when its stem overlaps the entity) and scores
//! with the NEMO rule.

use super::bmes::{self, Scheme, Scores, Sentence};
use newsflow_core::tag::{Component, Entity, Field, Tagger};
use std::collections::BTreeMap;

/// Predicted tags of one sentence.
pub fn predict_sentence(tagger: &dyn Tagger, sent: &Sentence, scheme: Scheme) -> Vec<String> {
    let (spans, ents) = predict_entities(tagger, sent);
    tags_from_entities(&spans, &ents, scheme)
}

/// The tagger's entities for a sentence joined with spaces, and the character span of
/// every token in that text.
fn predict_entities(tagger: &dyn Tagger, sent: &Sentence) -> (Vec<(usize, usize)>, Vec<Entity>) {
    let text = sent.tokens.join(" ");
    let mut spans = Vec::with_capacity(sent.tokens.len());
    let mut pos = 0;
    for t in &sent.tokens {
        let n = t.chars().count();
        spans.push((pos, pos + n));
        pos += n + 1;
    }
    let mut ents: Vec<Entity> = Vec::new();
    tagger.tag_field_at(&text, Field::Body, None, &mut ents);
    (spans, ents)
}

/// BIOSE tags of tokens (character spans) from entities; entities whose type is outside
/// the scheme are ignored, and a token already taken keeps its first entity.
pub fn tags_from_entities(
    spans: &[(usize, usize)],
    ents: &[Entity],
    scheme: Scheme,
) -> Vec<String> {
    place_entities(spans, ents, scheme).0
}

/// Where an entity landed on the file's tokens: entity index, first and last token,
/// scheme category.
type Placement = (usize, usize, usize, &'static str);

/// [`tags_from_entities`], also returning the placement of every entity that got tokens.
fn place_entities(
    spans: &[(usize, usize)],
    ents: &[Entity],
    scheme: Scheme,
) -> (Vec<String>, Vec<Placement>) {
    let mut tags = vec!["O".to_string(); spans.len()];
    let mut taken = vec![false; spans.len()];
    let mut placed = Vec::new();
    for (idx, e) in ents.iter().enumerate() {
        let Some(cat) = scheme.map(e.kind) else {
            continue;
        };
        if scheme == Scheme::Bmc && is_deictic_day(e) {
            continue;
        }
        let covered: Vec<usize> = (0..spans.len())
            .filter(|&j| spans[j].0 < e.end && e.start < spans[j].1)
            .collect();
        if covered.is_empty() || covered.iter().any(|&j| taken[j]) {
            continue;
        }
        let (first, last) = (covered[0], covered[covered.len() - 1]);
        placed.push((idx, first, last, cat));
        for j in first..=last {
            taken[j] = true;
            let p = if first == last {
                "S"
            } else if j == first {
                "B"
            } else if j == last {
                "E"
            } else {
                "I"
            };
            tags[j] = format!("{p}-{cat}");
        }
    }
    (tags, placed)
}

/// Bins of the reliability table: predicted entities by `confidence`.
pub const CONFIDENCE_BINS: [(f32, f32); 5] = [
    (0.0, 0.05),
    (0.05, 0.5),
    (0.5, 0.9),
    (0.9, 0.95),
    (0.95, 1.01),
];

/// Predicted entities of one component in one confidence bin, and how many of them are
/// gold mentions (same tokens, same category).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConfidenceBin {
    /// Entities predicted.
    pub predicted: usize,
    /// Of which correct.
    pub correct: usize,
}

/// Whether an entity is a bare deictic day (`אתמול`, `היום`, `מחר`, ...): a DATE for
/// newsflow (resolved against the article date), but never an entity in BMC, whose
/// annotators left them `O` throughout; the BMC mapping drops them like EVE or WOA.
pub fn is_deictic_day(e: &Entity) -> bool {
    e.kind == newsflow_core::tag::EntityType::DATE
        && matches!(
            e.text.as_str(),
            "אתמול" | "היום" | "מחר" | "שלשום" | "מחרתיים" | "yesterday" | "today" | "tomorrow"
        )
}

/// Result of an evaluation.
#[derive(Debug, Clone)]
pub struct EvalResult {
    /// Scores.
    pub scores: Scores,
    /// Predicted sentences (same tokens as the gold file).
    pub predictions: Vec<Sentence>,
    /// Tokens tagged.
    pub tokens: usize,
    /// Tagging time.
    pub elapsed: std::time::Duration,
    /// Predicted entities by component and confidence bin (index into
    /// [`CONFIDENCE_BINS`]), with how many are correct: how far `confidence` can be
    /// trusted as a filter.
    pub reliability: BTreeMap<(Component, usize), ConfidenceBin>,
}

/// Evaluates the tagger on gold sentences.
pub fn evaluate(tagger: &dyn Tagger, gold: &[Sentence], scheme: Scheme) -> EvalResult {
    let t0 = std::time::Instant::now();
    let predicted: Vec<_> = gold.iter().map(|s| predict_entities(tagger, s)).collect();
    let elapsed = t0.elapsed();
    let mut reliability: BTreeMap<(Component, usize), ConfidenceBin> = BTreeMap::new();
    let mut pred_tags = Vec::with_capacity(gold.len());
    for (sent, (spans, ents)) in gold.iter().zip(&predicted) {
        let (tags, placed) = place_entities(spans, ents, scheme);
        let gold_mentions = bmes::mentions(&sent.tags);
        for (idx, first, last, cat) in placed {
            let e = &ents[idx];
            let bin = CONFIDENCE_BINS
                .iter()
                .position(|&(lo, hi)| e.confidence >= lo && e.confidence < hi)
                .unwrap_or(0);
            let b = reliability.entry((e.source, bin)).or_default();
            b.predicted += 1;
            if gold_mentions
                .iter()
                .any(|m| m.start == first && m.end == last + 1 && m.category == cat)
            {
                b.correct += 1;
            }
        }
        pred_tags.push(tags);
    }
    let scores = bmes::score(gold, &pred_tags);
    let predictions = gold
        .iter()
        .zip(pred_tags)
        .map(|(s, tags)| Sentence {
            tokens: s.tokens.clone(),
            tags,
        })
        .collect();
    EvalResult {
        scores,
        predictions,
        tokens: gold.iter().map(|s| s.tokens.len()).sum(),
        elapsed,
        reliability,
    }
}
