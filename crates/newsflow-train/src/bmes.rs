//! BIOSE (`.bmes`) files and the NEMO scoring rule.
//!
//! File format: one `token TAG` a line, a blank line between sentences. Scoring: a mention
//! is (sentence, surface string, category); strict BIOSE decoding (S makes a mention,
//! B…E a multi-token one, a broken sequence makes none, the category comes from B);
//! micro-averaged precision/recall/F1 over mention multisets.

use newsflow_core::tag::EntityType;
use std::collections::{BTreeMap, HashMap};

/// A training corpus: sentences and their scheme.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Sentences.
    pub sentences: Vec<Sentence>,
    /// Label scheme of the tags.
    pub scheme: Scheme,
}

/// One sentence of a BIOSE file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sentence {
    /// Tokens.
    pub tokens: Vec<String>,
    /// One tag per token (`O`, `B-PER`, ...); in token-multi files `O^B-ORG` style.
    pub tags: Vec<String>,
}

/// Parses a BIOSE file. Lines that are not `token TAG` are skipped.
pub fn parse(text: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut cur = Sentence::default();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !cur.tokens.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let Some((tok, tag)) = line.rsplit_once([' ', '\t']) else {
            continue;
        };
        let tok = tok.trim();
        if tok.is_empty() {
            continue;
        }
        cur.tokens.push(tok.to_string());
        cur.tags.push(tag.trim().to_string());
    }
    if !cur.tokens.is_empty() {
        out.push(cur);
    }
    out
}

/// Parses Universal NER's IOB2 files (`index token tag ...`, tab-separated, `#` comment
/// lines, a blank line between sentences) into BIOSE sentences; categories other than
/// PER, ORG and LOC (UNER's OTH) read as `O`. Lines with fewer than three columns are
/// skipped.
pub fn parse_iob2(text: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut cur = Sentence::default();
    let flush = |cur: &mut Sentence, out: &mut Vec<Sentence>| {
        if !cur.tokens.is_empty() {
            iob2_to_bioes(&mut cur.tags);
            out.push(std::mem::take(cur));
        }
    };
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            flush(&mut cur, &mut out);
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 || cols[1].trim().is_empty() {
            continue;
        }
        let tag = match cols[2].split_once('-') {
            Some((_, "PER" | "ORG" | "LOC")) => cols[2],
            _ => "O",
        };
        cur.tokens.push(cols[1].trim().to_string());
        cur.tags.push(tag.to_string());
    }
    flush(&mut cur, &mut out);
    out
}

/// IOB2 tags to BIOSE in place (an `I-` without a matching predecessor starts a mention).
fn iob2_to_bioes(tags: &mut [String]) {
    let cat = |t: &str| t.split_once('-').map(|(_, c)| c.to_string());
    let mut i = 0;
    while i < tags.len() {
        let Some(c) = cat(&tags[i]) else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while j < tags.len() && tags[j] == format!("I-{c}") {
            j += 1;
        }
        if j - i == 1 {
            tags[i] = format!("S-{c}");
        } else {
            tags[i] = format!("B-{c}");
            for t in &mut tags[i + 1..j - 1] {
                *t = format!("I-{c}");
            }
            tags[j - 1] = format!("E-{c}");
        }
        i = j;
    }
}

/// Writes sentences in the same format.
pub fn write(sentences: &[Sentence]) -> String {
    let mut s = String::new();
    for sent in sentences {
        for (t, g) in sent.tokens.iter().zip(&sent.tags) {
            s.push_str(t);
            s.push(' ');
            s.push_str(g);
            s.push('\n');
        }
        s.push('\n');
    }
    s
}

/// An annotation scheme of a gold file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// NEMO: PER ORG GPE LOC FAC EVE WOA DUC ANG.
    Nemo,
    /// BMC: PER ORG LOC (places and countries) DATE TIME MONEY PERCENT.
    Bmc,
    /// Universal NER (English Web Treebank, PUD): PER ORG LOC (any place).
    Uner,
    /// GUM's named mentions as `scripts/english-gold.py` writes them: PER ORG PLACE (any
    /// place) EVE.
    Gum,
}

impl Scheme {
    /// The scheme's category for a production type (`None`: not in the scheme).
    pub fn map(self, t: EntityType) -> Option<&'static str> {
        use EntityType::*;
        match self {
            Scheme::Nemo => match t {
                PER | ORG | GPE | LOC | FAC | EVE | WOA | DUC | ANG => Some(t.as_str()),
                DATE | TIME | MONEY | PERCENT => None,
            },
            Scheme::Bmc => match t {
                PER | ORG | DATE | TIME | MONEY | PERCENT => Some(t.as_str()),
                GPE | LOC | FAC => Some("LOC"),
                EVE | WOA | DUC | ANG => None,
            },
            Scheme::Uner => match t {
                PER | ORG => Some(t.as_str()),
                GPE | LOC | FAC => Some("LOC"),
                _ => None,
            },
            Scheme::Gum => match t {
                PER | ORG | EVE => Some(t.as_str()),
                GPE | LOC | FAC => Some("PLACE"),
                _ => None,
            },
        }
    }

    /// Whether a gold `O` of this scheme may hide an entity of type `t`: a type the scheme
    /// does not annotate, in the Hebrew schemes. In the English ones, none: no English
    /// gold marks dates, amounts, works, products or languages, so left open nothing would
    /// teach the linear model that an English word is not one (it called capitalised
    /// sentence starts WOA, and `said` a TIME); the rules find dates and amounts.
    pub fn open_in_o(self, t: EntityType) -> bool {
        self.map(t).is_none() && !self.is_english()
    }

    /// Whether the scheme's gold is English (Universal NER, GUM).
    pub fn is_english(self) -> bool {
        matches!(self, Scheme::Uner | Scheme::Gum)
    }

    /// Parses `nemo`, `bmc`, `uner` or `gum`.
    pub fn parse(s: &str) -> Option<Scheme> {
        match s.to_ascii_lowercase().as_str() {
            "nemo" => Some(Scheme::Nemo),
            "bmc" => Some(Scheme::Bmc),
            "uner" => Some(Scheme::Uner),
            "gum" => Some(Scheme::Gum),
            _ => None,
        }
    }

    /// Name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Nemo => "nemo",
            Scheme::Bmc => "bmc",
            Scheme::Uner => "uner",
            Scheme::Gum => "gum",
        }
    }
}

/// Gold tags whose category the scheme does not produce (IAHLT's TTL, TIMEX, MISC,
/// INFORMAL) read as `O`, so a NEMO-family file from another corpus scores on the shared
/// categories only.
pub fn keep_scheme_categories(sentences: &mut [Sentence], scheme: Scheme) {
    let cats: Vec<&str> = EntityType::ALL
        .iter()
        .filter_map(|&t| scheme.map(t))
        .collect();
    for s in sentences {
        for tag in &mut s.tags {
            if let Some((_, cat)) = tag.split_once('-') {
                if !cats.contains(&cat) {
                    *tag = "O".to_string();
                }
            }
        }
    }
}

/// Recall on the gold mentions that contain a word outside `seen` (names the tagger never
/// saw in training): (found, total).
pub fn unseen_recall(
    gold: &[Sentence],
    predicted: &[Sentence],
    seen: &std::collections::HashSet<String>,
) -> (usize, usize) {
    let (mut found, mut total) = (0, 0);
    for (g, p) in gold.iter().zip(predicted) {
        let pm = mentions(&p.tags);
        for m in mentions(&g.tags) {
            if g.tokens[m.start..m.end].iter().any(|w| !seen.contains(w)) {
                total += 1;
                found += usize::from(pm.contains(&m));
            }
        }
    }
    (found, total)
}

/// A decoded mention: token range and category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// First token.
    pub start: usize,
    /// One past the last token.
    pub end: usize,
    /// Category (from the B or S tag).
    pub category: String,
}

/// Strict BIOSE decoding of one sentence's tags.
pub fn mentions(tags: &[String]) -> Vec<Mention> {
    let mut out = Vec::new();
    let mut open: Option<(usize, &str)> = None;
    for (i, tag) in tags.iter().enumerate() {
        let (p, t) = match tag.split_once('-') {
            Some((p, t)) if matches!(p, "B" | "I" | "E" | "S") => (p, t),
            _ => ("O", ""),
        };
        match p {
            "S" => {
                open = None;
                out.push(Mention {
                    start: i,
                    end: i + 1,
                    category: t.to_string(),
                });
            }
            "B" => open = Some((i, t)),
            "I" => {}
            "E" => {
                if let Some((s, cat)) = open.take() {
                    out.push(Mention {
                        start: s,
                        end: i + 1,
                        category: cat.to_string(),
                    });
                }
            }
            _ => open = None,
        }
    }
    out
}

/// Precision, recall and F1 counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prf {
    /// Matched mentions.
    pub tp: usize,
    /// Predicted mentions.
    pub pred: usize,
    /// Gold mentions.
    pub gold: usize,
}

impl Prf {
    /// Precision.
    pub fn precision(&self) -> f64 {
        if self.pred == 0 {
            0.0
        } else {
            self.tp as f64 / self.pred as f64
        }
    }
    /// Recall.
    pub fn recall(&self) -> f64 {
        if self.gold == 0 {
            0.0
        } else {
            self.tp as f64 / self.gold as f64
        }
    }
    /// F1.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// Micro and per-category scores.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    /// Micro-averaged counts.
    pub micro: Prf,
    /// Per category.
    pub per_type: BTreeMap<String, Prf>,
}

/// Scores predicted tags against gold tags with the NEMO rule (sentences aligned).
pub fn score(gold: &[Sentence], pred_tags: &[Vec<String>]) -> Scores {
    let mut s = Scores::default();
    for (sent, ptags) in gold.iter().zip(pred_tags) {
        let key = |m: &Mention| (sent.tokens[m.start..m.end].join(" "), m.category.clone());
        let mut g: HashMap<(String, String), usize> = HashMap::new();
        for m in mentions(&sent.tags) {
            *g.entry(key(&m)).or_default() += 1;
            s.per_type.entry(m.category.clone()).or_default().gold += 1;
            s.micro.gold += 1;
        }
        for m in mentions(ptags) {
            let k = key(&m);
            s.per_type.entry(m.category.clone()).or_default().pred += 1;
            s.micro.pred += 1;
            if let Some(c) = g.get_mut(&k).filter(|c| **c > 0) {
                *c -= 1;
                s.micro.tp += 1;
                s.per_type.entry(m.category.clone()).or_default().tp += 1;
            }
        }
    }
    s
}

/// Formats scores as a table.
pub fn format_scores(s: &Scores) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<8} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}\n",
        "type", "gold", "pred", "tp", "P", "R", "F1"
    ));
    let mut line = |name: &str, p: &Prf| {
        out.push_str(&format!(
            "{:<8} {:>6} {:>6} {:>6} {:>6.2} {:>6.2} {:>6.2}\n",
            name,
            p.gold,
            p.pred,
            p.tp,
            100.0 * p.precision(),
            100.0 * p.recall(),
            100.0 * p.f1()
        ));
    };
    for (t, p) in &s.per_type {
        line(t, p);
    }
    line("micro", &s.micro);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn strict_decoding() {
        let m = mentions(&tags(
            "B-PER E-PER O S-GPE B-ORG O E-ORG I-ORG B-LOC I-LOC E-LOC",
        ));
        assert_eq!(m.len(), 3);
        assert_eq!(
            (m[0].start, m[0].end, m[0].category.as_str()),
            (0, 2, "PER")
        );
        assert_eq!((m[1].start, m[1].end), (3, 4));
        assert_eq!(
            (m[2].start, m[2].end, m[2].category.as_str()),
            (8, 11, "LOC")
        );
    }

    #[test]
    fn multiset_matching() {
        let gold = parse("א S-PER\nב O\nא S-PER\n\nג B-ORG\nד E-ORG\n");
        assert_eq!(gold.len(), 2);
        let pred = vec![tags("S-PER O O"), tags("B-ORG E-ORG")];
        let s = score(&gold, &pred);
        assert_eq!((s.micro.tp, s.micro.pred, s.micro.gold), (2, 2, 3));
        assert!((s.micro.precision() - 1.0).abs() < 1e-9);
        assert_eq!(s.per_type["PER"].gold, 2);
        let text = write(&gold);
        assert_eq!(parse(&text), gold);
    }

    #[test]
    fn iob2_reads_as_bioes() {
        let text = "# sent_id = a\n1\tin\tO\t-\t-\n2\ttampa\tB-LOC\t-\tx\n3\tbay\tI-LOC\t-\tx\n\
                    4\tby\tO\t-\t-\n5\tGoogle\tB-ORG\t-\tx\n6\tfoo\tB-OTH\t-\tx\n\n\
                    1\tAnn\tI-PER\t-\tx\n2\tLee\tI-PER\t-\tx\n";
        let s = parse_iob2(text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].tokens, ["in", "tampa", "bay", "by", "Google", "foo"]);
        assert_eq!(s[0].tags, ["O", "B-LOC", "E-LOC", "O", "S-ORG", "O"]);
        assert_eq!(s[1].tags, ["B-PER", "E-PER"]);
    }

    #[test]
    fn english_schemes_map_places_to_one_category() {
        assert_eq!(Scheme::Uner.map(EntityType::GPE), Some("LOC"));
        assert_eq!(Scheme::Uner.map(EntityType::EVE), None);
        assert_eq!(Scheme::Gum.map(EntityType::FAC), Some("PLACE"));
        assert_eq!(Scheme::Gum.map(EntityType::EVE), Some("EVE"));
        assert_eq!(Scheme::parse("UNER"), Some(Scheme::Uner));
    }

    #[test]
    fn scheme_maps_places_for_bmc() {
        assert_eq!(Scheme::Bmc.map(EntityType::GPE), Some("LOC"));
        assert_eq!(Scheme::Bmc.map(EntityType::WOA), None);
        assert_eq!(Scheme::Nemo.map(EntityType::DATE), None);
        assert_eq!(Scheme::Nemo.map(EntityType::FAC), Some("FAC"));
    }
}
