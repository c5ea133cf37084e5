//! Document-level coherence: what one article says about its own names, applied after both
//! fields are tagged and before the summary, the same for both tiers and deterministic.
//!
//! 1. Descriptor nouns are not part of a name: `ברשת X` is the network X, `חברת Acme` the
//!    company Acme (the prefix letter goes with the noun).
//! 2. A lone word with the article ה, found by the model alone, not known to the gazetteer
//!    and with low confidence, is a common noun or adjective (`שר [החוץ]`, `המפקד
//!    [העליון]`): dropped.
//! 3. A name that is the start of a longer name found in the article (`בית הדין הפלילי` in
//!    an article about `בית הדין הפלילי הבינלאומי`) is that entity; a person's last name
//!    alone is the full name found (`canonical::unify`).
//! 4. One type per entity: the gazetteer's type when it knows the entity unambiguously,
//!    else the type with the most confidence over the mentions.
//! 5. A confidently found name is found wherever it occurs in the article, behind Hebrew
//!    prefix letters too (`לפוטין`); in English a person's surname alone is found as that
//!    person (`Dragone` after `Giuseppe Cavo Dragone`) when no other person shares it.

use super::entity::{Component, Entity, EntityType, Field};
use super::gazetteer::Gazetteer;
use super::names::is_hebrew_letter;
use std::collections::HashMap;

/// Nouns that introduce a name without being part of it.
const DESCRIPTORS: &[&str] = &[
    "רשת",
    "הרשת",
    "חברת",
    "החברה",
    "ארגון",
    "הארגון",
    "עיתון",
    "העיתון",
    "אתר",
    "האתר",
    "אפליקציית",
    "האפליקציה",
    "פלטפורמת",
    "הפלטפורמה",
];

/// Hebrew letters that attach to the next word as prefixes.
const PREFIX_LETTERS: &[char] = &['ו', 'ב', 'ל', 'מ', 'ש', 'כ', 'ה'];

/// Below this confidence a lone ה-word the gazetteer does not know is not kept.
const COMMON_WORD_CONFIDENCE: f32 = 0.7;

/// At or above this confidence (or when linked to the gazetteer) a name is looked for
/// elsewhere in the article.
const PROPAGATE_CONFIDENCE: f32 = 0.9;

/// Confidence given to a mention found by propagation.
const PROPAGATED_CONFIDENCE: f32 = 0.6;

/// Applies the article-level rules to the entities of `title` and `body`.
pub(crate) fn cohere(entities: &mut Vec<Entity>, gazetteer: &Gazetteer, title: &str, body: &str) {
    strip_descriptors(entities);
    entities.retain(|e| !is_unlinked_common_word(e));
    resolve_partial_names(entities);
    super::canonical::unify(entities);
    one_type_per_entity(entities, gazetteer);
    propagate(entities, title, body);
    entities.sort_by_key(|e| (e.field == Field::Body, e.start, e.end));
}

fn strip_hebrew_prefix(word: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(word);
    let mut taken = 0;
    std::iter::from_fn(move || {
        let w = rest?;
        let out = w;
        let next = w.strip_prefix(PREFIX_LETTERS).filter(|r| !r.is_empty());
        taken += 1;
        rest = next.filter(|_| taken <= 2);
        Some(out)
    })
}

/// Rule 1: `ברשת X` → `X`.
fn strip_descriptors(entities: &mut [Entity]) {
    for e in entities.iter_mut().filter(|e| e.kind.is_name()) {
        let Some((first, rest)) = e.text.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        // Only before a name in Latin script (`ברשת X`, `חברת Google`): a Hebrew name
        // often begins with its noun (`ארגון הבריאות העולמי`).
        let latin = rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if !latin || !strip_hebrew_prefix(first).any(|w| DESCRIPTORS.contains(&w)) {
            continue;
        }
        let cut = e.text.chars().count() - rest.chars().count();
        let linked = e.canonical != e.text;
        e.start += cut;
        e.text = rest.to_string();
        if !linked {
            e.canonical = e.text.clone();
        }
    }
}

/// Rule 2: a lone ה-word that only the model found, unsure and unknown.
fn is_unlinked_common_word(e: &Entity) -> bool {
    e.kind.is_name()
        && e.source == Component::Model
        && e.wikidata.is_none()
        && e.canonical == e.text
        && e.confidence < COMMON_WORD_CONFIDENCE
        && !e.text.contains(' ')
        && e.text.starts_with('ה')
        && e.text.chars().all(is_hebrew_letter)
}

/// Rule 3: a name that is the start of exactly one longer name of the article takes its
/// canonical form, id and type.
fn resolve_partial_names(entities: &mut [Entity]) {
    let words = |e: &Entity| e.text.split(' ').filter(|w| !w.is_empty()).count();
    let multi: Vec<(usize, usize)> = entities
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind.is_name() && e.text.contains(' '))
        .map(|(i, e)| (i, words(e)))
        .filter(|&(_, n)| n >= 2)
        .collect();
    let mut updates: Vec<(usize, usize)> = Vec::new();
    for &(i, n) in &multi {
        // One word is the persons' last-name rule (`canonical::unify`).
        let short = &entities[i];
        let mut found: Option<usize> = None;
        let mut ambiguous = false;
        for &(j, m) in &multi {
            let long = &entities[j];
            if m > n
                && long.text.starts_with(short.text.as_str())
                && long.text[short.text.len()..].starts_with(' ')
            {
                if found.is_some_and(|f| entities[f].canonical != long.canonical) {
                    ambiguous = true;
                }
                found = Some(j);
            }
        }
        if let (Some(j), false) = (found, ambiguous) {
            updates.push((i, j));
        }
    }
    for (i, j) in updates {
        let (canonical, wikidata, kind) = (
            entities[j].canonical.clone(),
            entities[j].wikidata.clone(),
            entities[j].kind,
        );
        let e = &mut entities[i];
        e.canonical = canonical;
        e.wikidata = wikidata;
        e.kind = kind;
    }
}

/// Rule 4: every mention of an entity (same canonical form) gets one type.
fn one_type_per_entity(entities: &mut [Entity], gazetteer: &Gazetteer) {
    let mut votes: HashMap<&str, HashMap<EntityType, f32>> = HashMap::new();
    for e in entities.iter().filter(|e| e.kind.is_name()) {
        *votes
            .entry(e.canonical.as_str())
            .or_default()
            .entry(e.kind)
            .or_default() += e.confidence.max(0.01);
    }
    let decided: HashMap<String, EntityType> = votes
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(canonical, v)| {
            let known = gazetteer
                .by_canonical(canonical)
                .map(|g| g.kind)
                .filter(|k| k.is_name());
            let voted = v
                .into_iter()
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|(k, _)| k);
            (canonical.to_string(), known.or(voted))
        })
        .filter_map(|(c, k)| k.map(|k| (c, k)))
        .collect();
    for e in entities.iter_mut().filter(|e| e.kind.is_name()) {
        if let Some(k) = decided.get(&e.canonical) {
            e.kind = *k;
        }
    }
}

/// Rule 5: other occurrences of confidently found names in the title and the body. One
/// pass over the words of each field: a word (behind up to two prefix letters) whose first
/// letter begins a known form is compared with the forms that begin with it.
fn propagate(entities: &mut Vec<Entity>, title: &str, body: &str) {
    let surnames = english_surnames(entities);
    // Surface form → the mention it copies (the most confident one).
    let mut forms: Vec<(&str, &Entity)> = Vec::new();
    for e in entities
        .iter()
        .filter(|e| is_propagatable(e))
        .chain(surnames.iter())
    {
        match forms.iter_mut().find(|(f, _)| *f == e.text) {
            Some(best) if e.confidence > best.1.confidence => best.1 = e,
            Some(_) => {}
            None => forms.push((e.text.as_str(), e)),
        }
    }
    if forms.is_empty() {
        return;
    }
    // Longest first: a full name wins over a shorter form inside it.
    forms.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
    // Forms by first letter (a handful of letters, a few forms each).
    let mut by_initial: Vec<(char, Vec<(&str, &Entity)>)> = Vec::new();
    for &(f, e) in &forms {
        let Some(c) = f.chars().next() else { continue };
        match by_initial.iter_mut().find(|(i, _)| *i == c) {
            Some((_, v)) => v.push((f, e)),
            None => by_initial.push((c, vec![(f, e)])),
        }
    }
    let mut added = Vec::new();
    for (field, text) in [(Field::Title, title), (Field::Body, body)] {
        let mut taken: Vec<(usize, usize)> = entities
            .iter()
            .filter(|e| e.field == field)
            .map(|e| (e.start, e.end))
            .collect();
        for (start_char, start_byte, word) in words(text) {
            for skip in 0..=2 {
                let Some((skip_bytes, stem)) = behind_prefix(word, skip) else {
                    break;
                };
                let initial = stem.chars().next();
                let Some((_, candidates)) = by_initial.iter().find(|(i, _)| Some(*i) == initial)
                else {
                    continue;
                };
                let at = start_byte + skip_bytes;
                let found = candidates.iter().find(|(f, _)| {
                    text[at..].starts_with(f)
                        && (at + f.len() == text.len() || !char_at(text, at + f.len()).0)
                });
                let Some((form, model)) = found else {
                    continue;
                };
                let start = start_char + skip;
                let end = start + form.chars().count();
                if !taken.iter().any(|&(s, e)| s < end && start < e) {
                    taken.push((start, end));
                    added.push(Entity {
                        start,
                        end,
                        field,
                        confidence: PROPAGATED_CONFIDENCE.min(model.confidence),
                        ..(*model).clone()
                    });
                }
                break;
            }
        }
    }
    entities.extend(added);
}

/// For each confidently found English person of two or more words, a mention of the surname
/// alone that stands for them; none for a surname two different people share. A
/// capitalised Latin surname of three letters or more is rarely a common word; Hebrew
/// surnames often are (`ברק`, `כהן`), so they are left to the model.
fn english_surnames(entities: &[Entity]) -> Vec<Entity> {
    let mut out: Vec<Entity> = Vec::new();
    let mut shared: Vec<String> = Vec::new();
    for e in entities
        .iter()
        .filter(|e| e.kind == EntityType::PER && is_propagatable(e))
    {
        let Some((_, last)) = e.text.rsplit_once(' ') else {
            continue;
        };
        let latin_name = last.chars().count() >= 3
            && last.starts_with(|c: char| c.is_ascii_uppercase())
            && last
                .chars()
                .all(|c| c.is_alphabetic() && !is_hebrew_letter(c) || c == '-');
        if !latin_name {
            continue;
        }
        match out.iter().find(|s| s.text == last) {
            Some(s) if s.canonical != e.canonical => shared.push(last.to_string()),
            Some(_) => {}
            None => out.push(Entity {
                text: last.to_string(),
                ..e.clone()
            }),
        }
    }
    out.retain(|s| !shared.contains(&s.text));
    out
}

/// The words of `text` (maximal runs of letters and digits, quotes inside Hebrew acronyms
/// included): (character offset, byte offset, word). A byte-level scan: this runs over
/// every article, and most of its characters are ASCII or Hebrew letters.
fn words(text: &str) -> impl Iterator<Item = (usize, usize, &str)> {
    let bytes = text.as_bytes();
    let (mut i, mut chars) = (0usize, 0usize);
    std::iter::from_fn(move || {
        // Skip to the next word character.
        loop {
            if i >= bytes.len() {
                return None;
            }
            let (word, len) = char_at(text, i);
            if word {
                break;
            }
            i += len;
            chars += 1;
        }
        let (start, start_chars) = (i, chars);
        while i < bytes.len() {
            let (word, len) = char_at(text, i);
            let inner_quote = !word
                && matches!(bytes[i], b'"' | b'\'')
                && i + 1 < bytes.len()
                && char_at(text, i + 1).0;
            if !(word || inner_quote) {
                break;
            }
            i += len;
            chars += 1;
        }
        Some((start_chars, start, &text[start..i]))
    })
}

/// Whether the character at byte `i` is a word character, and its length in bytes.
fn char_at(text: &str, i: usize) -> (bool, usize) {
    let b = text.as_bytes()[i];
    if b < 0x80 {
        return (b.is_ascii_alphanumeric(), 1);
    }
    // Hebrew letters are U+05D0..=U+05EA: D7 90..=D7 AA.
    if b == 0xD7 {
        if let Some(&c) = text.as_bytes().get(i + 1) {
            if (0x90..=0xAA).contains(&c) {
                return (true, 2);
            }
        }
    }
    match text[i..].chars().next() {
        Some(c) => (c.is_alphanumeric(), c.len_utf8()),
        None => (false, 1),
    }
}

/// `word` without its first `skip` characters, when those are Hebrew prefix letters before
/// a Hebrew stem: (bytes skipped, stem).
fn behind_prefix(word: &str, skip: usize) -> Option<(usize, &str)> {
    if skip == 0 {
        return Some((0, word));
    }
    let mut bytes = 0;
    for c in word.chars().take(skip) {
        if !PREFIX_LETTERS.contains(&c) {
            return None;
        }
        bytes += c.len_utf8();
    }
    let stem = &word[bytes..];
    stem.chars()
        .next()
        .is_some_and(is_hebrew_letter)
        .then_some((bytes, stem))
}

/// A mention worth finding elsewhere: a name, linked to the gazetteer or found with high
/// confidence, long enough not to be a fragment of other words.
fn is_propagatable(e: &Entity) -> bool {
    e.kind.is_name()
        && e.text.chars().count() >= 3
        && (e.source == Component::Gazetteer
            || e.wikidata.is_some()
            || e.confidence >= PROPAGATE_CONFIDENCE)
        && (e.text.contains(' ') || e.canonical != e.text || e.text.chars().count() >= 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(kind: EntityType, text: &str, start: usize, conf: f32, source: Component) -> Entity {
        Entity {
            kind,
            text: text.into(),
            field: Field::Body,
            start,
            end: start + text.chars().count(),
            canonical: text.into(),
            wikidata: None,
            confidence: conf,
            source,
            value: None,
        }
    }

    fn gazetteer() -> Gazetteer {
        Gazetteer::parse("GPE\tSwitzerland\tQ39\tשווייץ|Switzerland\nORG\tKremlin\t-\tהקרמלין\n")
            .unwrap()
    }

    #[test]
    fn one_entity_gets_one_type_the_gazetteer_first() {
        let mut v = vec![
            ent(EntityType::PER, "שווייץ", 0, 0.99, Component::Model),
            ent(EntityType::PER, "שווייץ", 20, 0.99, Component::Model),
            ent(EntityType::GPE, "שווייץ", 40, 0.9, Component::Gazetteer),
        ];
        for e in &mut v {
            e.canonical = "Switzerland".into();
        }
        cohere(&mut v, &gazetteer(), "", "");
        assert!(v.iter().all(|e| e.kind == EntityType::GPE), "{v:?}");
        // Unknown to the gazetteer: the most confident type wins.
        let mut v = vec![
            ent(EntityType::PER, "קייב", 0, 0.6, Component::Model),
            ent(EntityType::GPE, "קייב", 10, 0.9, Component::Model),
            ent(EntityType::GPE, "קייב", 20, 0.8, Component::Model),
        ];
        cohere(&mut v, &gazetteer(), "", "");
        assert!(v.iter().all(|e| e.kind == EntityType::GPE), "{v:?}");
    }

    #[test]
    fn descriptors_and_common_words_are_not_names() {
        let body = "כתב ברשת X. שר החוץ הרוסי";
        let mut v = vec![
            ent(EntityType::ORG, "ברשת X", 4, 0.73, Component::Model),
            ent(EntityType::ORG, "החוץ", 15, 0.57, Component::Model),
        ];
        cohere(&mut v, &gazetteer(), "", body);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!((v[0].text.as_str(), v[0].canonical.as_str()), ("X", "X"));
        assert_eq!(v[0].start, 9);
        // A confident or known ה-name stays.
        let mut v = vec![ent(EntityType::ORG, "הקרמלין", 0, 0.95, Component::Model)];
        cohere(&mut v, &gazetteer(), "", "הקרמלין");
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn the_start_of_a_longer_name_is_that_name() {
        let mut full = ent(
            EntityType::ORG,
            "בית הדין הפלילי הבינלאומי",
            0,
            0.9,
            Component::Gazetteer,
        );
        full.canonical = "International Criminal Court".into();
        full.wikidata = Some("Q47488".into());
        let mut v = vec![
            full,
            ent(
                EntityType::ORG,
                "בית הדין הפלילי",
                40,
                0.96,
                Component::Model,
            ),
        ];
        cohere(&mut v, &gazetteer(), "", "");
        assert_eq!(v[1].canonical, "International Criminal Court");
        assert_eq!(v[1].wikidata.as_deref(), Some("Q47488"));
    }

    #[test]
    fn confident_names_are_found_again_behind_prefix_letters() {
        let body = "פוטין נפגש. לפוטין אין. ופוטין אמר. הפוטיניזם ספוטין";
        let mut v = vec![ent(EntityType::PER, "פוטין", 0, 0.99, Component::Model)];
        cohere(&mut v, &gazetteer(), "", body);
        let mut nato = vec![ent(EntityType::ORG, "נאט\"ו", 0, 0.99, Component::Model)];
        cohere(&mut nato, &gazetteer(), "", "נאט\"ו אמרה. בנאט\"ו שתקו.");
        assert_eq!(nato.len(), 2, "acronyms with quotes: {nato:?}");
        assert_eq!(nato[1].start, 13);
        let found: Vec<(usize, &str)> = v.iter().map(|e| (e.start, e.text.as_str())).collect();
        // לפוטין and ופוטין, not inside הפוטיניזם; ספוטין is not a prefix reading.
        assert_eq!(found, vec![(0, "פוטין"), (13, "פוטין"), (25, "פוטין")]);
        assert!(v[1..].iter().all(|e| e.confidence <= PROPAGATED_CONFIDENCE));
    }

    #[test]
    fn an_english_surname_alone_is_the_person_unless_shared() {
        let body = "Giuseppe Cavo Dragone spoke. Dragone left. Dragonet stayed.";
        let mut v = vec![ent(
            EntityType::PER,
            "Giuseppe Cavo Dragone",
            0,
            0.95,
            Component::Model,
        )];
        cohere(&mut v, &gazetteer(), "", body);
        let found: Vec<(usize, &str, &str)> = v
            .iter()
            .map(|e| (e.start, e.text.as_str(), e.canonical.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (0, "Giuseppe Cavo Dragone", "Giuseppe Cavo Dragone"),
                (29, "Dragone", "Giuseppe Cavo Dragone")
            ]
        );
        // Two Smiths: a lone Smith is neither.
        let body = "John Smith and Anna Smith met. Smith spoke.";
        let mut v = vec![
            ent(EntityType::PER, "John Smith", 0, 0.95, Component::Model),
            ent(EntityType::PER, "Anna Smith", 15, 0.95, Component::Model),
        ];
        cohere(&mut v, &gazetteer(), "", body);
        assert_eq!(v.len(), 2, "{v:?}");
        // Hebrew surnames are often common words: not spread this way.
        let body = "אהוד ברק אמר. ברק היכה.";
        let mut v = vec![ent(EntityType::PER, "אהוד ברק", 0, 0.95, Component::Model)];
        cohere(&mut v, &gazetteer(), "", body);
        assert_eq!(v.len(), 1, "{v:?}");
    }

    #[test]
    fn unsure_names_and_values_do_not_spread() {
        let body = "Smith said. Smith left. 2025 and 2025";
        let mut v = vec![
            ent(EntityType::PER, "Smith", 0, 0.7, Component::Model),
            ent(EntityType::DATE, "2025", 24, 0.99, Component::Rule),
        ];
        cohere(&mut v, &gazetteer(), "", body);
        assert_eq!(v.len(), 2);
    }
}
