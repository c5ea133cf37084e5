//! Case variants of English training sentences (`train-ner --case-variants`).
//!
//! English gold is almost all in sentence case, so a model trained on it leans on capital
//! letters: an all-capitals headline or dateline ("LONDON 1996-08-30"), a Title Case
//! headline or a lower-case post loses most of its names. A copy of each English sentence
//! in another casing teaches the model to find names by the words themselves. The tags
//! do not change; Hebrew has no case and is left alone.

use crate::bmes::Sentence;
use newsflow_core::tag::english::HEADLINE_SMALL_WORDS as SMALL_WORDS;

/// A way to re-case a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Casing {
    /// ALL CAPITALS (wire headlines, datelines).
    Upper,
    /// all lower case (chat, comments).
    Lower,
    /// Headline Title Case: every word capitalised but short function words inside.
    Title,
}

impl Casing {
    /// Parses `upper`, `lower` or `title`.
    pub fn parse(s: &str) -> Option<Casing> {
        match s {
            "upper" => Some(Casing::Upper),
            "lower" => Some(Casing::Lower),
            "title" => Some(Casing::Title),
            _ => None,
        }
    }
}

/// The casings, in the order [`variant`] takes them in turn.
pub const CASINGS: [Casing; 3] = [Casing::Upper, Casing::Lower, Casing::Title];

/// The `n`-th sentence's variant: casings taken in turn, so each is a third of the copies.
pub fn variant(sentence: &Sentence, n: usize) -> Sentence {
    recase(sentence, CASINGS[n % CASINGS.len()])
}

/// `sentence` in `casing`; the tags stay as they are.
pub fn recase(sentence: &Sentence, casing: Casing) -> Sentence {
    let tokens = sentence
        .tokens
        .iter()
        .enumerate()
        .map(|(i, w)| match casing {
            Casing::Upper => w.to_uppercase(),
            Casing::Lower => w.to_lowercase(),
            Casing::Title if i > 0 && SMALL_WORDS.contains(&w.to_lowercase().as_str()) => {
                w.to_lowercase()
            }
            Casing::Title => capitalised(w),
        })
        .collect();
    Sentence {
        tokens,
        tags: sentence.tags.clone(),
    }
}

/// `word` with its first letter in upper case and the rest as it was ("iPhone" → "IPhone").
fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(words: &[&str]) -> Sentence {
        Sentence {
            tokens: words.iter().map(|w| w.to_string()).collect(),
            tags: words.iter().map(|_| "O".to_string()).collect(),
        }
    }

    #[test]
    fn each_casing_rewrites_the_words_and_keeps_the_tags() {
        let mut s = sentence(&["The", "minister", "of", "Defence", "visited", "Paris", "."]);
        s.tags[5] = "S-GPE".to_string();
        let up = recase(&s, Casing::Upper);
        assert_eq!(
            up.tokens.join(" "),
            "THE MINISTER OF DEFENCE VISITED PARIS ."
        );
        assert_eq!(up.tags, s.tags);
        let low = recase(&s, Casing::Lower);
        assert_eq!(
            low.tokens.join(" "),
            "the minister of defence visited paris ."
        );
        let title = recase(&s, Casing::Title);
        assert_eq!(
            title.tokens.join(" "),
            "The Minister of Defence Visited Paris ."
        );
    }

    #[test]
    fn title_case_capitalises_a_small_word_that_opens_the_sentence() {
        let s = sentence(&["of", "mice", "and", "men"]);
        assert_eq!(
            recase(&s, Casing::Title).tokens,
            ["Of", "Mice", "and", "Men"]
        );
    }

    #[test]
    fn variants_take_the_casings_in_turn() {
        let s = sentence(&["Rome"]);
        let got: Vec<String> = (0..4).map(|n| variant(&s, n).tokens[0].clone()).collect();
        assert_eq!(got, ["ROME", "rome", "Rome", "ROME"]);
    }
}
