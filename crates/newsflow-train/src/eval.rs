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
    let spans = token_spans(sent);
    let mut ents: Vec<Entity> = Vec::new();
    tagger.tag_field_at(&text, Field::Body, None, &mut ents);
    (spans, ents)
}

/// Character span of every token of a sentence in its tokens joined with single spaces.
fn token_spans(sent: &Sentence) -> Vec<(usize, usize)> {
    let mut spans = Vec::with_capacity(sent.tokens.len());
    let mut pos = 0;
    for t in &sent.tokens {
        let n = t.chars().count();
        spans.push((pos, pos + n));
        pos += n + 1;
    }
    spans
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

/// Scores of consecutive gold sentences read as documents, with and without the
/// article-level coherence step (`Tagger::tag_article`).
#[derive(Debug, Clone)]
pub struct DocumentEval {
    /// Sentences a document.
    pub sentences_per_document: usize,
    /// Documents read.
    pub documents: usize,
    /// Each document's body tagged field by field, no article-level step.
    pub without: Scores,
    /// The same documents through `tag_article` (coherence included).
    pub with: Scores,
    /// Names (canonical forms) tagged with two or more types in one document, without
    /// and with the article-level step.
    pub two_types: (usize, usize),
}

/// Names with more than one type among `ents`.
fn names_with_two_types(ents: &[Entity]) -> usize {
    let mut types: BTreeMap<&str, std::collections::BTreeSet<_>> = BTreeMap::new();
    for e in ents {
        if !matches!(
            e.kind,
            newsflow_core::tag::EntityType::DATE
                | newsflow_core::tag::EntityType::TIME
                | newsflow_core::tag::EntityType::MONEY
                | newsflow_core::tag::EntityType::PERCENT
        ) {
            types
                .entry(e.canonical.as_str())
                .or_default()
                .insert(e.kind);
        }
    }
    types.values().filter(|t| t.len() > 1).count()
}

/// Evaluates the tagger on runs of `k` consecutive gold sentences taken as one document
/// body each (one sentence a line): once field by field, once as an article.
pub fn evaluate_documents(
    tagger: &dyn Tagger,
    gold: &[Sentence],
    scheme: Scheme,
    k: usize,
) -> DocumentEval {
    let k = k.max(1);
    let mut tags_without = Vec::with_capacity(gold.len());
    let mut tags_with = Vec::with_capacity(gold.len());
    let mut two_types = (0, 0);
    for doc in gold.chunks(k) {
        let texts: Vec<String> = doc.iter().map(|s| s.tokens.join(" ")).collect();
        let body = texts.join("\n");
        let mut plain = Vec::new();
        tagger.tag_field_at(&body, Field::Body, None, &mut plain);
        let coherent = tagger.tag_article("", &body, None);
        two_types.0 += names_with_two_types(&plain);
        two_types.1 += names_with_two_types(&coherent);
        let mut base = 0;
        for (sent, text) in doc.iter().zip(&texts) {
            let len = text.chars().count();
            let spans = token_spans(sent);
            let local = |ents: &[Entity]| -> Vec<Entity> {
                ents.iter()
                    .filter(|e| e.field == Field::Body && e.start >= base && e.end <= base + len)
                    .map(|e| Entity {
                        start: e.start - base,
                        end: e.end - base,
                        ..e.clone()
                    })
                    .collect()
            };
            tags_without.push(tags_from_entities(&spans, &local(&plain), scheme));
            tags_with.push(tags_from_entities(&spans, &local(&coherent), scheme));
            base += len + 1;
        }
    }
    DocumentEval {
        sentences_per_document: k,
        documents: gold.len().div_ceil(k),
        without: bmes::score(gold, &tags_without),
        with: bmes::score(gold, &tags_with),
        two_types,
    }
}
