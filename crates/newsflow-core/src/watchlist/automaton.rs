//! The automaton of every list's names: an `fst` over the distinct match keys, built in
//! shards on all cores, walked from each word start.

use super::parallel::{in_parallel, par_sort};
use super::{ends_on_boundary, WatchlistError, MAX_PREFIX, PREFIX_LETTERS, SHARD_KEYS};
use crate::segment::{is_hebrew_letter, is_word_char};

/// An automaton over distinct normalized strings (Latin letters lowercased), each with the
/// (target, name index) pairs it stands for.
pub(super) struct Automaton {
    /// The strings in sorted order, split into shards built in parallel (one shard below
    /// [`SHARD_KEYS`] strings); a walk visits every shard.
    fsts: Vec<fst::raw::Fst<Vec<u8>>>,
    /// Owners of string `p`: `owners[start[p]..start[p + 1]]`.
    owners: Vec<(u32, u32)>,
    start: Vec<u32>,
}

impl std::fmt::Debug for Automaton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Automaton")
            .field("strings", &(self.start.len() - 1))
            .field("fst_bytes", &self.fst_bytes())
            .finish()
    }
}

impl Automaton {
    pub(super) fn build(
        mut strings: Vec<(String, (u32, u32))>,
    ) -> Result<Option<Automaton>, WatchlistError> {
        if strings.is_empty() {
            return Ok(None);
        }
        par_sort(&mut strings);
        let mut owners = Vec::with_capacity(strings.len());
        let mut start = Vec::new();
        // The first index in `strings` of each distinct string, in order.
        let mut distinct: Vec<usize> = Vec::new();
        for (i, (s, owner)) in strings.iter().enumerate() {
            if distinct.last().is_none_or(|&j| strings[j].0 != *s) {
                start.push(owners.len() as u32);
                distinct.push(i);
            }
            owners.push(*owner);
        }
        start.push(owners.len() as u32);
        let shards = if distinct.len() < SHARD_KEYS {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
        };
        let strings = &strings;
        // The shard starting at distinct string `base` holds `base..base + ids.len()`; the
        // value of each string is its index among all distinct strings.
        let build = |base: usize, ids: &[usize]| {
            fst::raw::Fst::from_iter_map(
                ids.iter()
                    .enumerate()
                    .map(|(k, &i)| (strings[i].0.as_bytes(), (base + k) as u64)),
            )
            .map_err(|e| WatchlistError::Build(e.to_string()))
        };
        let fsts = in_parallel(&distinct, shards, "an fst building", build)?
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Automaton {
            fsts,
            owners,
            start,
        }))
    }

    /// The (target, name index) pairs string `p` stands for.
    pub(super) fn owners(&self, p: usize) -> &[(u32, u32)] {
        &self.owners[self.start[p] as usize..self.start[p + 1] as usize]
    }

    /// Approximate heap size in bytes.
    pub(super) fn memory_bytes(&self) -> usize {
        self.fst_bytes() + self.owners.len() * 8 + self.start.len() * 4
    }

    fn fst_bytes(&self) -> usize {
        self.fsts.iter().map(|f| f.as_bytes().len()).sum()
    }

    /// Calls `f(string, end)` for every string of the automaton that `text` has at byte
    /// `at` (Latin letters compared case-insensitively).
    #[inline]
    pub(super) fn walk(&self, text: &[u8], at: usize, mut f: impl FnMut(usize, usize)) {
        for fst in &self.fsts {
            let mut node = fst.root();
            let mut out = fst::raw::Output::zero();
            for (i, &b) in text[at..].iter().enumerate() {
                let Some(t) = node.find_input(b.to_ascii_lowercase()) else {
                    break;
                };
                let t = node.transition(t);
                out = out.cat(t.out);
                node = fst.node(t.addr);
                if node.is_final() {
                    f(out.cat(node.final_output()).value() as usize, at + i + 1);
                }
            }
        }
    }

    /// Every match in `text` that sits on word boundaries (after up to three Hebrew prefix
    /// letters when it starts with a Hebrew letter): `(string, start, end)` in bytes, the
    /// start after the prefix letters.
    pub(super) fn matches(&self, text: &str) -> Vec<(usize, usize, usize)> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut prev_word = false;
        // Prefix letters read since the current word began (None: not a prefix run).
        let mut prefix_run: Option<usize> = None;
        for (at, c) in text.char_indices() {
            let word = is_word_char(c);
            let candidate = !prev_word || (prefix_run.is_some() && is_hebrew_letter(c));
            if candidate {
                self.walk(bytes, at, |p, end| {
                    if ends_on_boundary(text, end) {
                        out.push((p, at, end));
                    }
                });
            }
            prefix_run = match (prev_word, word) {
                (_, false) => None,
                (false, true) => PREFIX_LETTERS.contains(&c).then_some(1),
                (true, true) => prefix_run
                    .filter(|&n| n < MAX_PREFIX && PREFIX_LETTERS.contains(&c))
                    .map(|n| n + 1),
            };
            prev_word = word;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sharded_automaton_finds_what_one_finds() {
        let strings: Vec<(String, (u32, u32))> = (0..SHARD_KEYS as u32 + 10)
            .map(|i| (format!("name{i}"), (i, 0)))
            .collect();
        let a = Automaton::build(strings).unwrap().unwrap();
        if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
            assert!(a.fsts.len() > 1);
        }
        let text = "x name7 and name499999, NAME500009.";
        let found: Vec<u32> = a
            .matches(text)
            .into_iter()
            .flat_map(|(p, _, _)| a.owners(p).to_vec())
            .map(|(t, _)| t)
            .collect();
        assert_eq!(found, vec![7, 499_999, 500_009]);
    }
}
