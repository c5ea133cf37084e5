//! The lookup tables a model carries besides its weights, counted from the training data:
//! how many prefix letters precede entities, and how frequent each word is.

use super::bmes::Corpus;
use super::bmes::Sentence;
use newsflow_core::tag::hash::hash_bytes;
use std::collections::HashMap;

/// Statistics from the token-multi file: for entity-initial tokens, how many prefix
/// morphemes lie outside the entity.
pub fn prefix_lengths(multi: &[Sentence]) -> Vec<(u64, u8)> {
    let mut counts: HashMap<&str, [u32; 4]> = HashMap::new();
    for s in multi {
        for (tok, tag) in s.tokens.iter().zip(&s.tags) {
            let parts: Vec<&str> = tag.split('^').collect();
            let Some(k) = parts
                .iter()
                .position(|m| m.starts_with("B-") || m.starts_with("S-"))
            else {
                continue;
            };
            if k > 3 || parts[..k].iter().any(|m| *m != "O") {
                continue;
            }
            counts.entry(tok.as_str()).or_default()[k] += 1;
        }
    }
    let mut out: Vec<(u64, u8)> = counts
        .into_iter()
        .map(|(tok, c)| {
            let k = (0..4)
                .max_by_key(|&k| (c[k], std::cmp::Reverse(k)))
                .unwrap_or(0);
            (hash_bytes(1, tok.as_bytes()), k as u8)
        })
        .collect();
    out.sort_unstable();
    out
}

/// Word frequencies of the training text.
pub fn word_frequencies(corpora: &[Corpus]) -> Vec<(u64, u32)> {
    let mut m: HashMap<u64, u32> = HashMap::new();
    for c in corpora {
        for s in &c.sentences {
            for t in &s.tokens {
                *m.entry(hash_bytes(1, t.as_bytes())).or_default() += 1;
            }
        }
    }
    let mut v: Vec<(u64, u32)> = m.into_iter().collect();
    v.sort_unstable();
    v
}
