//! Article-level canonical forms: once a full person name appears (`ולדימיר פוטין`), other
//! mentions of the last name alone (`פוטין`) take the same canonical form and Wikidata id.
//! Applied to the whole article (title included), when the last name points to one full
//! name only.

use super::{Entity, EntityType};
use std::collections::HashMap;

/// Unifies person names across an article's entities.
pub fn unify(entities: &mut [Entity]) {
    // Last word of a multi-word person name → (canonical, wikidata); None when ambiguous.
    let mut full: HashMap<String, Option<(String, Option<String>)>> = HashMap::new();
    for e in entities.iter().filter(|e| e.kind == EntityType::PER) {
        let words: Vec<&str> = e.text.split_whitespace().collect();
        if words.len() < 2 {
            continue;
        }
        let Some(last) = words.last() else { continue };
        let v = (e.canonical.clone(), e.wikidata.clone());
        full.entry((*last).to_string())
            .and_modify(|x| {
                if x.as_ref().is_some_and(|x| x.0 != v.0) {
                    *x = None;
                }
            })
            .or_insert(Some(v));
    }
    for e in entities.iter_mut().filter(|e| e.kind == EntityType::PER) {
        if e.text.split_whitespace().count() != 1 {
            continue;
        }
        if let Some(Some((canonical, wikidata))) = full.get(e.text.as_str()) {
            if e.wikidata.is_none() || e.wikidata == *wikidata {
                e.canonical.clone_from(canonical);
                e.wikidata.clone_from(wikidata);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tag::{Component, Field};

    fn per(text: &str) -> Entity {
        Entity {
            kind: EntityType::PER,
            text: text.into(),
            field: Field::Body,
            start: 0,
            end: text.chars().count(),
            canonical: text.into(),
            wikidata: None,
            confidence: 0.9,
            source: Component::Model,
            value: None,
        }
    }

    #[test]
    fn last_name_takes_the_full_name() {
        let mut v = vec![per("סרגיי לברוב"), per("לברוב"), per("קיין")];
        unify(&mut v);
        assert_eq!(v[1].canonical, "סרגיי לברוב");
        assert_eq!(v[2].canonical, "קיין");
    }

    #[test]
    fn ambiguous_last_names_stay() {
        let mut v = vec![per("דני כהן"), per("רונית כהן"), per("כהן")];
        unify(&mut v);
        assert_eq!(v[2].canonical, "כהן");
    }
}
