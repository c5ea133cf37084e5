//! What the tiers know about words, apart from either labeller: how many prefix letters an
//! entity starting with a token leaves outside (learned from gold spans), and how often a
//! word occurs in the training text. The shared pipeline reads it to cut prefix letters
//! (`ובוושינגטון` → `וושינגטון`) and to tell a known name behind a prefix from a real word.
//! The tables travel in the fast model file, which the training writes, and are loaded once.

use super::hash::PrehashedMap;

/// Prefix and frequency tables, keyed by `hash_bytes(1, word)`.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    prefix_len: PrehashedMap<u8>,
    word_freq: PrehashedMap<u32>,
}

impl Lexicon {
    /// A lexicon from its tables: (token hash, prefix letters) and (word hash, count).
    pub fn new(prefix_len: Vec<(u64, u8)>, word_freq: Vec<(u64, u32)>) -> Lexicon {
        Lexicon {
            prefix_len: prefix_len.into_iter().collect(),
            word_freq: word_freq.into_iter().collect(),
        }
    }

    /// Learned number of prefix letters outside an entity starting with this token.
    pub fn known_prefix_len(&self, token_hash: u64) -> Option<u8> {
        self.prefix_len.get(&token_hash).copied()
    }

    /// Occurrences of a word in the training text (0 when unseen).
    pub fn word_freq(&self, word_hash: u64) -> u32 {
        self.word_freq.get(&word_hash).copied().unwrap_or(0)
    }

    /// Approximate resident size in bytes.
    pub fn memory_bytes(&self) -> usize {
        (self.prefix_len.len() + self.word_freq.len()) * 24
    }
}
