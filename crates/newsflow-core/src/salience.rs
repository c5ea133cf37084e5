//! Entity salience: how much an article is about an entity, in [0, 1], from where and how
//! often the article names it.
//!
//! A logistic regression over five features of an entity's mentions, fitted on the GUM
//! corpus's `salientEntities` gold (`scripts/fit-salience.py`; 96 documents, 4,773 named
//! entities, 5-fold cross-validation over documents: precision 0.77, recall 0.32 at 0.5).
//! The same features are computed here from newsflow's own mentions. Read it as a ranking
//! within one article: the entities above 0.5 are what the article is about; the scale is
//! not comparable across languages or tiers.

use crate::tag::{Entity, Field};

// Weights printed by `scripts/fit-salience.py` (GUM, all documents).
const W_BIAS: f32 = -2.6871;
const W_LN_MENTIONS: f32 = 1.7597;
const W_IN_TITLE: f32 = 1.5682;
const W_FIRST_POSITION: f32 = -1.4949;
const W_SPREAD: f32 = 1.1630;
const W_IS_VALUE: f32 = -0.5206;

/// Where an article's text is: its fields' lengths in characters.
#[derive(Debug, Clone, Copy)]
pub struct ArticleLength {
    /// Title characters.
    pub title: usize,
    /// Body characters.
    pub body: usize,
}

impl ArticleLength {
    /// Position of a mention as a fraction of the article (title first, then body).
    fn position(self, e: &Entity) -> f32 {
        let total = (self.title + self.body).max(1) as f32;
        let offset = match e.field {
            Field::Title => e.start,
            Field::Body => self.title + e.start,
        };
        (offset as f32 / total).clamp(0.0, 1.0)
    }
}

/// Salience of the entity whose mentions are `mentions` (at least one).
pub fn salience<'a>(mentions: impl IntoIterator<Item = &'a Entity>, len: ArticleLength) -> f32 {
    let (mut n, mut first, mut last, mut in_title, mut value) = (0usize, 1f32, 0f32, false, false);
    for e in mentions {
        n += 1;
        let p = len.position(e);
        first = first.min(p);
        last = last.max(p);
        in_title |= e.field == Field::Title;
        value |= !e.kind.is_name();
    }
    if n == 0 {
        return 0.0;
    }
    let z = W_BIAS
        + W_LN_MENTIONS * (n as f32).ln_1p()
        + W_IN_TITLE * f32::from(u8::from(in_title))
        + W_FIRST_POSITION * first
        + W_SPREAD * (last - first).max(0.0)
        + W_IS_VALUE * f32::from(u8::from(value));
    let s = 1.0 / (1.0 + (-z).exp());
    // Three decimals: the record stays stable and readable.
    (s * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tag::{Component, EntityType};

    fn at(field: Field, start: usize, kind: EntityType) -> Entity {
        Entity {
            kind,
            text: "x".into(),
            field,
            start,
            end: start + 1,
            canonical: "x".into(),
            wikidata: None,
            confidence: 0.9,
            source: Component::Model,
            value: None,
        }
    }

    const LEN: ArticleLength = ArticleLength {
        title: 50,
        body: 5000,
    };

    #[test]
    fn more_mentions_earlier_and_in_the_title_is_more_salient() {
        let once_late = salience(&[at(Field::Body, 4500, EntityType::PER)], LEN);
        let once_early = salience(&[at(Field::Body, 100, EntityType::PER)], LEN);
        let title = salience(
            &[
                at(Field::Title, 3, EntityType::PER),
                at(Field::Body, 100, EntityType::PER),
            ],
            LEN,
        );
        let many: Vec<Entity> = (0..8)
            .map(|i| at(Field::Body, 200 + i * 600, EntityType::PER))
            .collect();
        let many = salience(&many, LEN);
        assert!(once_late < once_early, "{once_late} {once_early}");
        assert!(once_early < title && title > 0.5, "{title}");
        assert!(many > 0.85 && many > title, "{many}");
        assert!((0.0..=1.0).contains(&once_late));
    }

    #[test]
    fn a_date_weighs_less_than_a_name_in_the_same_places() {
        let name = salience(&[at(Field::Body, 100, EntityType::GPE)], LEN);
        let date = salience(&[at(Field::Body, 100, EntityType::DATE)], LEN);
        assert!(date < name);
    }
}
