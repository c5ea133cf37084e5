//! Word clusters: classes of words learned outside the NER training data, so that the
//! tagger can generalise from the names it was trained on to names it has never seen
//! (a US state it never saw tagged lands in the cluster of the ones it did).
//!
//! Each word of a large general vocabulary (the 200,000 most frequent Hebrew words, plus
//! the training tokens and their prefix-stripped stems) carries its cluster at
//! [`LEVELS`] granularities (coarse to fine). `scripts/word-clusters.py` builds the table
//! (`models/word_clusters.tsv`) from a multilingual sentence encoder; `train-ner` stores
//! it inside the model file, so a model always travels with the clusters it was trained
//! on.
//!
//! The same table carries each word's name-list flags ([`name_flags`]): whether it occurs
//! in a list of first names, last names, Knesset members or organisation names
//! (`train-ner --name-lists`). They are soft features, never matches: the model learns how
//! much a listed word says.

use crate::tag::TagError;
use std::collections::HashMap;

/// Number of granularities of every word's cluster.
pub const LEVELS: usize = 3;

/// Cluster ids of one word, coarse to fine.
pub type ClusterIds = [u16; LEVELS];

/// Name-list flags of a word: the lists that contain it (one bit a kind of list).
pub mod name_flags {
    /// A first name (or the first word of a listed person's name).
    pub const FIRST: u8 = 1;
    /// A last name (or the last word of a listed person's name).
    pub const LAST: u8 = 1 << 1;
    /// A word of a listed public person's name (Knesset members).
    pub const PUBLIC_PERSON: u8 = 1 << 2;
    /// A word of a listed organisation's name (parties, ministries).
    pub const ORG: u8 = 1 << 3;
    /// Number of flags.
    pub const COUNT: u32 = 4;
}

pub use crate::tag::hash::PrehashedHasher;
use crate::tag::hash::PrehashedMap;

/// Word hash (`hash::hash_bytes(1, word)`) → cluster ids and name-list flags.
#[derive(Debug, Clone, Default)]
pub struct WordClusters {
    map: PrehashedMap<ClusterIds>,
    names: PrehashedMap<u8>,
}

impl WordClusters {
    /// An empty table (no cluster features fire).
    pub fn empty() -> WordClusters {
        WordClusters::default()
    }

    /// Builds the table from (word hash, ids) pairs.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (u64, ClusterIds)>) -> WordClusters {
        WordClusters {
            map: pairs.into_iter().collect(),
            names: PrehashedMap::default(),
        }
    }

    /// Adds name-list flags: (word hash, [`name_flags`] bits) pairs, or-ed into any present.
    pub fn with_names(mut self, pairs: impl IntoIterator<Item = (u64, u8)>) -> WordClusters {
        for (k, f) in pairs {
            *self.names.entry(k).or_default() |= f;
        }
        self
    }

    /// The name-list flags of a word, by its hash (0: in no list).
    #[inline]
    pub fn name_flags(&self, word_hash: u64) -> u8 {
        if self.names.is_empty() {
            return 0;
        }
        self.names.get(&word_hash).copied().unwrap_or(0)
    }

    /// Whether any name-list flags are loaded.
    pub fn has_names(&self) -> bool {
        !self.names.is_empty()
    }

    /// The name-list flags sorted by hash (the serialized form is deterministic).
    pub fn names_to_pairs(&self) -> Vec<(u64, u8)> {
        let mut v: Vec<(u64, u8)> = self.names.iter().map(|(&k, &v)| (k, v)).collect();
        v.sort_unstable();
        v
    }

    /// Parses the TSV form: `word<TAB>c1<TAB>c2<TAB>c3` a line (`#` comments allowed).
    pub fn parse_tsv(text: &str) -> Result<WordClusters, TagError> {
        let mut map = HashMap::default();
        for (n, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |message: &str| TagError::Clusters {
                line: n + 1,
                message: message.to_string(),
            };
            let mut parts = line.split('\t');
            let word = parts.next().filter(|w| !w.is_empty());
            let word = word.ok_or_else(|| bad("empty word"))?;
            let mut ids = [0u16; LEVELS];
            for id in &mut ids {
                let field = parts.next().ok_or_else(|| bad("expected 3 cluster ids"))?;
                *id = field
                    .parse()
                    .map_err(|_| bad(&format!("cluster id {field:?} is not a number")))?;
            }
            if parts.next().is_some() {
                return Err(bad("more than 3 cluster ids"));
            }
            map.insert(crate::tag::hash::hash_bytes(1, word.as_bytes()), ids);
        }
        Ok(WordClusters {
            map,
            names: PrehashedMap::default(),
        })
    }

    /// The clusters of a word, by its hash.
    #[inline]
    pub fn get(&self, word_hash: u64) -> Option<ClusterIds> {
        self.map.get(&word_hash).copied()
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// All entries sorted by hash (the serialized form is deterministic).
    pub fn to_pairs(&self) -> Vec<(u64, ClusterIds)> {
        let mut v: Vec<(u64, ClusterIds)> = self.map.iter().map(|(&k, &v)| (k, v)).collect();
        v.sort_unstable();
        v
    }

    /// Approximate resident size in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.map.capacity() * (8 + 2 * LEVELS + 2) + self.names.capacity() * (8 + 1 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tag::hash::hash_bytes;

    #[test]
    fn parses_and_looks_up_by_word_hash() {
        let c = WordClusters::parse_tsv("# comment\nקייב\t3\t17\t402\nלונדון\t3\t17\t9\n").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(hash_bytes(1, "קייב".as_bytes())), Some([3, 17, 402]));
        assert_eq!(c.get(hash_bytes(1, "פריז".as_bytes())), None);
        let round = WordClusters::from_pairs(c.to_pairs());
        assert_eq!(
            round.get(hash_bytes(1, "לונדון".as_bytes())),
            Some([3, 17, 9])
        );
    }

    #[test]
    fn rejects_malformed_lines_with_their_number() {
        let e = WordClusters::parse_tsv("a\t1\t2\t3\nb\t1\tx\t3\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(WordClusters::parse_tsv("a\t1\t2\n").is_err());
        assert!(WordClusters::parse_tsv("a\t1\t2\t3\t4\n").is_err());
        assert!(WordClusters::parse_tsv("\t1\t2\t3\n").is_err());
    }
}
