//! `ner-eval`: tags each sentence of a gold BIOSE file with the production tagger (the
//! same [`Tagger::tag_field_at`] the service runs), maps the entities back to the file's
//! tokens (a token takes an entity's tag when its stem overlaps the entity) and scores
//! with the NEMO rule.

use super::bmes::{self, Scheme, Scores, Sentence};
use super::{Entity, Field, Tagger};

/// Predicted tags of one sentence.
pub fn predict_sentence(tagger: &Tagger, sent: &Sentence, scheme: Scheme) -> Vec<String> {
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
    tags_from_entities(&spans, &ents, scheme)
}

/// BIOSE tags of tokens (character spans) from entities; entities whose type is outside
/// the scheme are ignored, and a token already taken keeps its first entity.
pub fn tags_from_entities(
    spans: &[(usize, usize)],
    ents: &[Entity],
    scheme: Scheme,
) -> Vec<String> {
    let mut tags = vec!["O".to_string(); spans.len()];
    let mut taken = vec![false; spans.len()];
    for e in ents {
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
    tags
}

/// Whether an entity is a bare deictic day (`אתמול`, `היום`, `מחר`, ...): a DATE for
/// newsflow (resolved against the article date), but never an entity in BMC, whose
/// annotators left them `O` throughout; the BMC mapping drops them like EVE or WOA.
pub fn is_deictic_day(e: &Entity) -> bool {
    e.kind == super::EntityType::DATE
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
}

/// Evaluates the tagger on gold sentences.
pub fn evaluate(tagger: &Tagger, gold: &[Sentence], scheme: Scheme) -> EvalResult {
    let t0 = std::time::Instant::now();
    let pred_tags: Vec<Vec<String>> = gold
        .iter()
        .map(|s| predict_sentence(tagger, s, scheme))
        .collect();
    let elapsed = t0.elapsed();
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
    }
}
