//! Silver training data for the fast tier (distillation, issue 13): running text (Hebrew,
//! or English with [`Language::English`]) normalized and cut into chunks exactly as the
//! service does, labelled by the accurate tier's encoder, written as BIOES sentences in the
//! NEMO scheme. The fast model then learns from gold + silver with
//! `newsflow train-ner --silver FILE`.
//!
//! Only the encoder's own spans are written (not the gazetteer's or the rules'): the fast
//! model replaces the encoder inside the same pipeline. Types outside the NEMO scheme
//! (dates, times, amounts) are written `O`, which the NEMO scheme reads as "not a NEMO
//! type" (the trainer's partial labels leave them open). A chunk with a span below
//! `min_confidence` is dropped whole, so no uncertain name is taught as a certain `O`.
//! English chunks keep only the types the English gold teaches (persons, organisations,
//! places, events): a chunk where the encoder finds a work, product or language is dropped,
//! since nothing taught it those in English.

use super::bmes::{Scheme, Sentence};
use newsflow_core::normalize::text::normalize_text;
use newsflow_core::segment::tokenize;
use newsflow_core::tag::accurate::EncoderLabeler;
use newsflow_core::tag::english::is_english;
use newsflow_core::tag::window::chunks;
use newsflow_core::tag::{EntityType, Labeler, Span};

/// Chunks shorter than this many tokens are not written (titles of a word or two teach
/// little and are mostly noise in the scraped lists).
const MIN_TOKENS: usize = 3;

/// Which chunks a silver run labels: the other language's are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Chunks the tagger does not take for English (the Hebrew silver of `scripts/fast-model.sh`).
    Hebrew,
    /// English chunks only.
    English,
}

impl Language {
    fn wants(self, english: bool) -> bool {
        english == (self == Language::English)
    }

    /// Types this language's silver may teach (English: those its gold schemes annotate);
    /// a chunk with another NEMO type is dropped.
    fn teaches(self, kind: EntityType) -> bool {
        match self {
            Language::Hebrew => true,
            Language::English => [Scheme::Uner, Scheme::Gum]
                .iter()
                .any(|s| s.map(kind).is_some()),
        }
    }
}

/// What one silver run kept and dropped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SilverStats {
    /// Input lines read.
    pub lines: usize,
    /// Chunks written.
    pub kept: usize,
    /// Chunks dropped for a span below the confidence threshold.
    pub uncertain: usize,
    /// Chunks dropped as the other language or too short.
    pub skipped: usize,
    /// English chunks dropped for a type the English gold does not teach.
    pub untaught: usize,
    /// Tokens written.
    pub tokens: usize,
    /// NEMO-type mentions written.
    pub mentions: usize,
}

impl SilverStats {
    fn add(&mut self, o: &SilverStats) {
        self.lines += o.lines;
        self.kept += o.kept;
        self.uncertain += o.uncertain;
        self.skipped += o.skipped;
        self.untaught += o.untaught;
        self.tokens += o.tokens;
        self.mentions += o.mentions;
    }
}

/// Labels the `language` chunks of `lines` (one paragraph or sentence each) on `threads`
/// threads; sentences come back in input order.
pub fn tag_lines(
    labeler: &EncoderLabeler,
    lines: &[&str],
    min_confidence: f32,
    threads: usize,
    language: Language,
) -> (Vec<Sentence>, SilverStats) {
    let threads = threads.max(1);
    let per = lines.len().div_ceil(threads).max(1);
    let parts: Vec<(Vec<Sentence>, SilverStats)> = std::thread::scope(|s| {
        let handles: Vec<_> = lines
            .chunks(per)
            .map(|part| s.spawn(move || tag_part(labeler, part, min_confidence, language)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut out = Vec::new();
    let mut stats = SilverStats::default();
    for (sents, st) in parts {
        out.extend(sents);
        stats.add(&st);
    }
    (out, stats)
}

fn tag_part(
    labeler: &EncoderLabeler,
    lines: &[&str],
    min_confidence: f32,
    language: Language,
) -> (Vec<Sentence>, SilverStats) {
    let mut out = Vec::new();
    let mut st = SilverStats::default();
    let mut spans: Vec<Span> = Vec::new();
    for line in lines {
        st.lines += 1;
        let text = normalize_text(line);
        let tokens = tokenize(&text);
        for (a, b) in chunks(&text, &tokens) {
            if b - a < MIN_TOKENS || !language.wants(is_english(&tokens[a..b])) {
                st.skipped += 1;
                continue;
            }
            let words: Vec<&str> = tokens[a..b].iter().map(|t| t.text).collect();
            spans.clear();
            labeler.spans(&words, &[], &mut spans);
            if spans.iter().any(|s| s.confidence < min_confidence) {
                st.uncertain += 1;
                continue;
            }
            if spans
                .iter()
                .any(|s| Scheme::Nemo.map(s.kind).is_some() && !language.teaches(s.kind))
            {
                st.untaught += 1;
                continue;
            }
            let mut tags = vec!["O".to_string(); words.len()];
            for sp in &spans {
                let Some(cat) = Scheme::Nemo.map(sp.kind) else {
                    continue;
                };
                st.mentions += 1;
                if sp.last - sp.first == 1 {
                    tags[sp.first] = format!("S-{cat}");
                    continue;
                }
                for (i, t) in tags[sp.first..sp.last].iter_mut().enumerate() {
                    let pos = match i {
                        0 => 'B',
                        i if i + 1 == sp.last - sp.first => 'E',
                        _ => 'I',
                    };
                    *t = format!("{pos}-{cat}");
                }
            }
            st.kept += 1;
            st.tokens += words.len();
            out.push(Sentence {
                tokens: words.iter().map(|w| w.to_string()).collect(),
                tags,
            });
        }
    }
    (out, st)
}

/// `count` lines spread evenly over `lines` (all of them when there are fewer): a cap per
/// source, so the 240,000 lines of laws do not drown the news-like sources.
pub fn spread<'a>(lines: &[&'a str], count: usize) -> Vec<&'a str> {
    if lines.len() <= count {
        return lines.to_vec();
    }
    (0..count).map(|i| lines[i * lines.len() / count]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_evenly_spaced_lines() {
        let lines: Vec<&str> = vec!["a", "b", "c", "d", "e", "f"];
        assert_eq!(spread(&lines, 3), vec!["a", "c", "e"]);
        assert_eq!(spread(&lines, 10), lines);
        assert!(spread(&lines, 0).is_empty());
    }

    #[test]
    fn each_language_takes_its_own_chunks_and_english_only_taught_types() {
        assert!(Language::Hebrew.wants(false) && !Language::Hebrew.wants(true));
        assert!(Language::English.wants(true) && !Language::English.wants(false));
        assert!(Language::Hebrew.teaches(EntityType::WOA));
        for kind in [
            EntityType::PER,
            EntityType::ORG,
            EntityType::GPE,
            EntityType::EVE,
        ] {
            assert!(Language::English.teaches(kind), "{kind:?}");
        }
        assert!(!Language::English.teaches(EntityType::WOA));
        assert!(!Language::English.teaches(EntityType::DUC));
        assert!(!Language::English.teaches(EntityType::ANG));
    }
}
