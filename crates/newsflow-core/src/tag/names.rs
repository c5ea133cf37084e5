//! Name heuristics shared by both tiers: titles and ranks that precede a name but are not
//! part of it, and how many Hebrew prefix letters (ו ה ב כ ל מ ש) of an entity's first token
//! lie outside the entity.

use super::hash::hash_bytes;
use super::lexicon::Lexicon;
use crate::segment::prefix_splits;

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

pub(crate) fn is_title(tok: &str) -> bool {
    TITLES.contains(&tok)
}

pub(crate) fn is_hebrew_letter(c: char) -> bool {
    ('\u{05D0}'..='\u{05EA}').contains(&c)
}

/// Characters of Hebrew prefix letters outside an entity that starts with `tok`, decided
/// from what the training data showed of the token and its stems (`lexicon`).
pub fn prefix_chars(lexicon: &Lexicon, tok: &str) -> usize {
    if !tok.chars().next().is_some_and(is_hebrew_letter) {
        return 0;
    }
    let splits: Vec<(&str, &str)> = prefix_splits(tok).skip(1).collect();
    if splits.is_empty() {
        return 0;
    }
    if let Some(k) = lexicon.known_prefix_len(hash_bytes(1, tok.as_bytes())) {
        return if k == 0 {
            0
        } else {
            splits
                .get(usize::from(k) - 1)
                .map_or(0, |(p, _)| p.chars().count())
        };
    }
    for (p, stem) in &splits {
        if lexicon.known_prefix_len(hash_bytes(1, stem.as_bytes())) == Some(0) {
            return p.chars().count();
        }
    }
    let f_tok = lexicon.word_freq(hash_bytes(1, tok.as_bytes()));
    for (p, stem) in &splits {
        let f = lexicon.word_freq(hash_bytes(1, stem.as_bytes()));
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
